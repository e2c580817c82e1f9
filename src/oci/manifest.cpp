// Manifest and image-index parsing (see manifest.h).
#include "oci/manifest.h"

#include <nlohmann/json.hpp>

#include "common/json.h"
#include "oci/client.h"
#include "oci/errors.h"

namespace wc::oci {
namespace {

using nlohmann::json;

Result<Descriptor> descriptor(const json& j) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string())
    return fail(Code::kInvalidArgument, "Failed to parse manifest: descriptor without digest");
  Descriptor d;
  d.digest = j["digest"].get<std::string>();
  if (auto it = j.find("mediaType"); it != j.end() && it->is_string()) d.media_type = *it;
  if (auto it = j.find("size"); it != j.end() && it->is_number_integer()) d.size = *it;
  return d;
}

const char* go_os() {
#if defined(__APPLE__)
  return "darwin";
#else
  return "linux";
#endif
}
const char* go_arch() {
#if defined(__aarch64__)
  return "arm64";
#elif defined(__x86_64__)
  return "amd64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#else
  return "unknown";
#endif
}

}  // namespace

Result<ParsedManifest> parse_manifest(std::string_view body, bool allow_index) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::kInvalidArgument, "Failed to parse manifest: not a JSON object");
  if (!j.contains("schemaVersion") || !j["schemaVersion"].is_number_integer() ||
      j["schemaVersion"].get<std::int64_t>() != 2)
    return fail(Code::kUnsupported, std::string(errors::kUnsupportedSchemaPrefix) +
                                        (j.contains("schemaVersion") ? j["schemaVersion"].dump()
                                                                     : std::string("none")));
  if (auto it = j.find("mediaType"); it != j.end()) {
    std::string mt = it->is_string() ? it->get<std::string>() : it->dump();
    if (mt != media::kDockerManifest && mt != media::kOciManifest &&
        mt != media::kDockerManifestList)
      return fail(Code::kUnsupported, std::string(errors::kUnsupportedMediaTypePrefix) + mt);
  }
  ParsedManifest out;
  if (j.contains("manifests")) {
    if (!allow_index || !j["manifests"].is_array())
      return fail(Code::kUnsupported, "Failed to parse manifest: nested image index");
    for (const auto& e : j["manifests"]) {
      if (!e.is_object() || !e.contains("platform") || !e["platform"].is_object()) continue;
      const json& p = e["platform"];
      if (json_string(p, "os") == go_os() && json_string(p, "architecture") == go_arch()) {
        auto d = descriptor(e);
        if (!d) return fail(d.error());
        out.platform_manifest = std::move(*d);
        return out;
      }
    }
    return fail(Code::kNotFound, std::string(errors::kNoPlatformMatch));
  }
  if (!j.contains("config") || !j.contains("layers") || !j["layers"].is_array())
    return fail(Code::kInvalidArgument, "Failed to parse manifest: missing config or layers");
  auto c = descriptor(j["config"]);
  if (!c) return fail(c.error());
  out.config = std::move(*c);
  for (const auto& l : j["layers"]) {
    auto d = descriptor(l);
    if (!d) return fail(d.error());
    out.layers.push_back(std::move(*d));
  }
  return out;
}

}  // namespace wc::oci
