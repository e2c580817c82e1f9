#include "web/forms.h"

#include <charconv>
#include <optional>

#include "web/messages.h"

namespace wc::web {
namespace {

using nlohmann::json;

tl::unexpected<Error> invalid(std::string_view message) {
  return fail(Code::kInvalidArgument, std::string(message));
}

/// A string field ("" when absent, null or not a string), surrounding spaces removed.
std::string text(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return "";
  std::string s = it->get<std::string>();
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

/// An integer field given as a JSON integer or a decimal string; `fallback` when absent or "".
/// nullopt when present but not a whole number.
std::optional<long long> integer(const json& body, const char* key, long long fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    // Outside long long's range (1e300, or inf from 1e400) the conversion is undefined.
    if (!(d > -9.2e18 && d < 9.2e18)) return std::nullopt;
    if (d != static_cast<double>(static_cast<long long>(d))) return std::nullopt;
    return static_cast<long long>(d);
  }
  if (!it->is_string()) return std::nullopt;
  std::string s = text(body, key);
  if (s.empty()) return fallback;
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<int> count_field(const json& body, long long fallback, long long min,
                        std::string_view message) {
  auto n = integer(body, "count", fallback);
  if (!n || *n < min || *n > 100000) return invalid(message);
  return static_cast<int>(*n);
}

/// An object whose strings and keys are all UTF-8. A JSON body always is (the parser checks);
/// multipart fields are raw bytes the server copies in, and a form value that is not UTF-8
/// would make the control request built from it unwritable (json::dump throws).
Status object_body(const json& body) {
  if (!body.is_object()) return invalid(messages::kBadJsonBody);
  // `replace` writes U+FFFD for a bad byte, `ignore` drops it: equal only when there is none.
  if (body.dump(-1, ' ', false, json::error_handler_t::replace) !=
      body.dump(-1, ' ', false, json::error_handler_t::ignore))
    return invalid(messages::kFormNotUtf8);
  return ok();
}

}  // namespace

Result<StartActorForm> parse_start_actor(const json& body) {
  if (auto st = object_body(body); !st) return fail(st.error());
  StartActorForm f;
  f.actor_ref = text(body, "actor_ref");
  if (f.actor_ref.empty()) return invalid(messages::kEnterOciReference);
  auto c = count_field(body, 1, 1, messages::kReplicasAtLeastOne);
  if (!c) return fail(c.error());
  f.count = *c;
  f.host_id = text(body, "host_id");
  return f;
}

Result<StartActorForm> parse_upload_actor(const json& fields) {
  if (auto st = object_body(fields); !st) return fail(st.error());
  StartActorForm f;
  auto c = count_field(fields, 1, 1, messages::kReplicasAtLeastOne);
  if (!c) return fail(c.error());
  f.count = *c;
  f.host_id = text(fields, "host_id");
  return f;
}

Status check_actor_upload(std::size_t size) {
  if (size == 0) return invalid(messages::kPleaseSelectFile);
  if (size > kMaxActorUpload) return invalid(messages::kUploadTooLarge);
  return ok();
}

Result<HotReloadForm> parse_hot_reload(const json& body) {
  if (auto st = object_body(body); !st) return fail(st.error());
  HotReloadForm f;
  f.path = text(body, "path");
  if (f.path.rfind("file://", 0) == 0) f.path = f.path.substr(7);
  if (f.path.empty() || f.path.front() != '/') return invalid(messages::kEnterAbsolutePath);
  auto c = count_field(body, 1, 1, messages::kReplicasAtLeastOne);
  if (!c) return fail(c.error());
  f.count = *c;
  f.host_id = text(body, "host_id");
  if (f.host_id.empty()) return invalid(messages::kSelectHost);
  return f;
}

Result<ScaleForm> parse_scale(const json& body) {
  if (auto st = object_body(body); !st) return fail(st.error());
  ScaleForm f;
  f.host_id = text(body, "host_id");
  if (f.host_id.empty()) return invalid(messages::kSelectHost);
  f.actor_id = text(body, "actor_id");
  if (f.actor_id.empty()) return invalid(messages::kSelectActor);
  f.actor_ref = text(body, "actor_ref");
  auto c = count_field(body, -1, 0, messages::kReplicasAtLeastZero);
  if (!c) return fail(c.error());
  f.count = *c;
  return f;
}

namespace {
Result<StartProviderForm> provider_fields(const json& body, bool need_ref) {
  if (auto st = object_body(body); !st) return fail(st.error());
  StartProviderForm f;
  f.provider_ref = text(body, "provider_ref");
  if (need_ref && f.provider_ref.empty()) return invalid(messages::kEnterOciReference);
  if (auto l = text(body, "link_name"); !l.empty()) f.link_name = l;
  f.configuration = text(body, "configuration");
  f.host_id = text(body, "host_id");
  return f;
}
}  // namespace

Result<StartProviderForm> parse_start_provider(const json& body) {
  return provider_fields(body, true);
}

Result<StartProviderForm> parse_upload_provider(const json& fields) {
  return provider_fields(fields, false);
}

Status check_provider_upload(std::size_t size) {
  if (size == 0) return invalid(messages::kPleaseSelectProviderFile);
  if (size > kMaxProviderUpload) return invalid(messages::kProviderTooLarge);
  return ok();
}

Result<StopProviderForm> parse_stop_provider(const json& body) {
  if (auto st = object_body(body); !st) return fail(st.error());
  StopProviderForm f;
  f.host_id = text(body, "host_id");
  if (f.host_id.empty()) return invalid(messages::kSelectHost);
  f.provider_id = text(body, "provider_id");
  if (f.provider_id.empty()) return invalid(messages::kSelectProvider);
  if (auto l = text(body, "link_name"); !l.empty()) f.link_name = l;
  f.contract_id = text(body, "contract_id");
  return f;
}

Result<std::map<std::string, std::string>> parse_link_values(const std::string& input) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos <= input.size()) {
    auto comma = input.find(',', pos);
    std::string entry =
        input.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? input.size() + 1 : comma + 1;
    if (entry.find_first_not_of(" \t") == std::string::npos) continue;
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) return invalid(messages::kBadLinkValues);
    out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

std::string format_link_values(const std::map<std::string, std::string>& values) {
  std::string out;
  for (const auto& [k, v] : values) {
    if (!out.empty()) out += ',';
    out += k + "=" + v;
  }
  return out;
}

Result<LinkForm> parse_link(const json& body) {
  if (auto st = object_body(body); !st) return fail(st.error());
  LinkForm f;
  f.actor_id = text(body, "actor_id");
  if (f.actor_id.empty()) return invalid(messages::kSelectActorToLink);
  f.provider_id = text(body, "provider_id");
  if (f.provider_id.empty()) return invalid(messages::kSelectProviderToLink);
  if (auto l = text(body, "link_name"); !l.empty()) f.link_name = l;
  f.contract_id = text(body, "contract_id");
  if (f.contract_id.empty()) return invalid(messages::kEnterContractId);
  auto it = body.find("values");
  if (it != body.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string() || k.empty()) return invalid(messages::kBadLinkValues);
      f.values[k] = v.get<std::string>();
    }
  } else if (it != body.end() && it->is_string()) {
    auto vals = parse_link_values(it->get<std::string>());
    if (!vals) return fail(vals.error());
    f.values = std::move(*vals);
  } else if (it != body.end() && !it->is_null()) {
    return invalid(messages::kBadLinkValues);
  }
  return f;
}

Result<LinkForm> parse_delete_link(const json& body) {
  if (auto st = object_body(body); !st) return fail(st.error());
  LinkForm f;
  f.actor_id = text(body, "actor_id");
  if (f.actor_id.empty()) return invalid(messages::kSelectActorToLink);
  f.contract_id = text(body, "contract_id");
  if (f.contract_id.empty()) return invalid(messages::kEnterContractId);
  f.link_name = text(body, "link_name");
  if (f.link_name.empty()) return invalid(messages::kEnterLinkName);
  return f;
}

}  // namespace wc::web
