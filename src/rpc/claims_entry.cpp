// Claims entry codec (see claims_entry.h).
#include "rpc/claims_entry.h"

#include <utility>

namespace wc::rpc {
namespace {

tl::unexpected<Error> claims_error(const std::string& detail) {
  return fail(Code::kInvalidArgument, "claims entry: " + detail);
}

/// Reads string field `key` into `dst`: absent or null leave `dst` unchanged.
Status read_string(const nlohmann::json& j, const char* key, std::string& dst) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if (!it->is_string()) return claims_error(std::string("`") + key + "` is not a string");
  dst = it->get<std::string>();
  return ok();
}

/// Reads optional string field `key` into `dst`: absent or null -> nullopt.
Status read_optional(const nlohmann::json& j, const char* key, std::optional<std::string>& dst) {
  std::string value;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ok();
  if (auto st = read_string(j, key, value); !st) return st;
  dst = std::move(value);
  return ok();
}

}  // namespace

nlohmann::json claims_entry_to_json(const ClaimsEntry& c) {
  nlohmann::json j = {{"sub", c.sub},
                      {"iss", c.iss},
                      {"name", c.name},
                      {"call_alias", c.call_alias},
                      {"caps", c.caps},
                      {"tags", c.tags},
                      {"rev", c.rev},
                      {"version", c.version ? nlohmann::json(*c.version) : nlohmann::json(nullptr)},
                      {"contract_id", c.contract_id}};
  if (c.config_schema) j["config_schema"] = *c.config_schema;
  return j;
}

Result<ClaimsEntry> claims_entry_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return claims_error("expected an object");
  ClaimsEntry c;
  if (auto st = read_string(j, "sub", c.sub); !st) return fail(st.error());
  if (c.sub.empty()) return claims_error("missing field `sub`");
  for (auto [key, dst] : {std::pair{"iss", &c.iss}, std::pair{"name", &c.name},
                          std::pair{"call_alias", &c.call_alias}, std::pair{"caps", &c.caps},
                          std::pair{"tags", &c.tags}, std::pair{"rev", &c.rev},
                          std::pair{"contract_id", &c.contract_id}}) {
    if (auto st = read_string(j, key, *dst); !st) return fail(st.error());
  }
  if (auto st = read_optional(j, "version", c.version); !st) return fail(st.error());
  if (auto st = read_optional(j, "config_schema", c.config_schema); !st) return fail(st.error());
  return c;
}

}  // namespace wc::rpc
