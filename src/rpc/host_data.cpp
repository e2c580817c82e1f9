// Host data parsing and encoding (see host_data.h).
#include "rpc/host_data.h"

#include <cctype>

#include "common/encoding.h"
#include "rpc/errors.h"

namespace wc::rpc {
namespace {

tl::unexpected<Error> bad(std::string detail) {
  return fail(Code::kInvalidArgument, std::string(errors::kHostDataPrefix) + detail);
}

}  // namespace

std::string HostData::nats_url() const {
  if (lattice_rpc_url.find("://") != std::string::npos) return lattice_rpc_url;
  return (lattice_rpc_tls ? "tls://" : "nats://") + lattice_rpc_url;
}

Result<HostData> parse_host_data(std::string_view json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  HostData hd;
  auto req_string = [&](const char* key, std::string& dst) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return bad(std::string("missing field `") + key + "`");
    dst = it->get<std::string>();
    return ok();
  };
  auto opt_string = [&](const char* key, std::string& dst) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return ok();
    if (!it->is_string()) return bad(std::string("field `") + key + "` must be a string");
    dst = it->get<std::string>();
    return ok();
  };
  for (auto [key, dst] :
       {std::pair{"host_id", &hd.host_id}, std::pair{"lattice_rpc_prefix", &hd.lattice_rpc_prefix},
        std::pair{"link_name", &hd.link_name}, std::pair{"provider_key", &hd.provider_key},
        std::pair{"invocation_seed", &hd.invocation_seed}}) {
    if (auto s = req_string(key, *dst); !s) return fail(s.error());
  }
  for (auto [key, dst] :
       {std::pair{"lattice_rpc_user_jwt", &hd.lattice_rpc_user_jwt},
        std::pair{"lattice_rpc_user_seed", &hd.lattice_rpc_user_seed},
        std::pair{"lattice_rpc_url", &hd.lattice_rpc_url},
        std::pair{"instance_id", &hd.instance_id}, std::pair{"log_level", &hd.log_level}}) {
    if (auto s = opt_string(key, *dst); !s) return fail(s.error());
  }
  if (hd.lattice_rpc_url.empty()) hd.lattice_rpc_url = "127.0.0.1:4222";
  if (auto it = j.find("lattice_rpc_tls"); it != j.end()) {
    if (it->is_boolean()) {
      hd.lattice_rpc_tls = it->get<bool>();
    } else if (it->is_number_integer()) {  // quirk 14: the reference may send the integer 0
      hd.lattice_rpc_tls = it->get<std::int64_t>() != 0;
    }
  }
  auto env = j.find("env_values");
  if (env == j.end() || !env->is_object()) return bad("missing field `env_values`");
  for (auto it = env->begin(); it != env->end(); ++it) {
    if (it.value().is_string()) hd.env_values[it.key()] = it.value().get<std::string>();
  }
  auto links = j.find("link_definitions");
  if (links == j.end() || !links->is_array()) return bad("missing field `link_definitions`");
  for (const auto& l : *links) {
    auto ld = linkdef_from_json(l);
    if (!ld) return bad(ld.error().message);
    hd.link_definitions.push_back(std::move(*ld));
  }
  auto issuers = j.find("cluster_issuers");
  if (issuers == j.end() || !issuers->is_array()) return bad("missing field `cluster_issuers`");
  for (const auto& i : *issuers) {
    if (!i.is_string()) return bad("`cluster_issuers` must be strings");
    hd.cluster_issuers.push_back(i.get<std::string>());
  }
  if (auto it = j.find("config_json"); it != j.end() && it->is_string()) {
    hd.config_json = it->get<std::string>();
  }
  if (auto it = j.find("js_domain"); it != j.end() && it->is_string()) {
    hd.js_domain = it->get<std::string>();
  }
  if (auto it = j.find("default_rpc_timeout_ms"); it != j.end() && it->is_number_unsigned()) {
    hd.default_rpc_timeout_ms = it->get<std::uint64_t>();
  }
  if (auto it = j.find("structured_logging"); it != j.end() && it->is_boolean()) {
    hd.structured_logging = it->get<bool>();
  }
  return hd;
}

Result<HostData> decode_host_data_line(std::string_view line) {
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
    line.remove_prefix(1);
  }
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
    line.remove_suffix(1);
  }
  auto raw = base64_decode(line);
  if (!raw) return bad("the stdin line is not base64");
  return parse_host_data(to_string(*raw));
}

nlohmann::json to_json(const HostData& hd) {
  nlohmann::json j = nlohmann::json::object();
  j["host_id"] = hd.host_id;
  j["lattice_rpc_prefix"] = hd.lattice_rpc_prefix;
  j["link_name"] = hd.link_name;
  j["lattice_rpc_user_jwt"] = hd.lattice_rpc_user_jwt;
  j["lattice_rpc_user_seed"] = hd.lattice_rpc_user_seed;
  j["lattice_rpc_url"] = hd.lattice_rpc_url;
  j["lattice_rpc_tls"] = hd.lattice_rpc_tls;
  j["provider_key"] = hd.provider_key;
  j["invocation_seed"] = hd.invocation_seed;
  j["env_values"] = hd.env_values;
  j["instance_id"] = hd.instance_id;
  j["link_definitions"] = nlohmann::json::array();
  for (const auto& ld : hd.link_definitions) j["link_definitions"].push_back(linkdef_to_json(ld));
  j["cluster_issuers"] = hd.cluster_issuers;
  j["config_json"] = hd.config_json ? nlohmann::json(*hd.config_json) : nlohmann::json(nullptr);
  j["default_rpc_timeout_ms"] = hd.default_rpc_timeout_ms;
  j["js_domain"] = hd.js_domain ? nlohmann::json(*hd.js_domain) : nlohmann::json(nullptr);
  j["structured_logging"] = hd.structured_logging;
  j["log_level"] = hd.log_level;
  return j;
}

std::string encode_line(const HostData& hd) {
  return base64_encode(as_bytes(to_json(hd).dump())) + "\n";
}

}  // namespace wc::rpc
