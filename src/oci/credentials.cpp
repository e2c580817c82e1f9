// Registry credential map and selection (claims-oci-par.md 4.5, control-interface.md 3.1.3).
#include "oci/credentials.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "oci/reference.h"

namespace wc::oci {
namespace {

std::optional<std::string> string_member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

EnvCredentials EnvCredentials::from_environment() {
  return {env_or_empty("OCI_REGISTRY"), env_or_empty("OCI_REGISTRY_USER"),
          env_or_empty("OCI_REGISTRY_PASSWORD")};
}

std::optional<BasicAuth> EnvCredentials::match(std::string_view reference) const {
  if (registry.empty() || user.empty() || password.empty()) return std::nullopt;
  if (!to_lower(reference).starts_with(registry)) return std::nullopt;
  return BasicAuth{user, password};
}

std::string normalize_server_key(std::string_view key, std::string_view registry_type) {
  std::string_view s = strip_scheme(key);
  if (registry_type == "bindle") {
    std::size_t at = s.rfind('@');
    return std::string(at == std::string_view::npos ? s : s.substr(at + 1));
  }
  return std::string(s.substr(0, s.find('/')));
}

Status CredentialStore::merge_json(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return fail(Code::kInvalidArgument, "registry credentials must be a JSON object");
  std::map<std::string, RegistryCredential> entries;
  for (const auto& [key, value] : j.items()) {
    if (!value.is_object())
      return fail(Code::kInvalidArgument, "registry credential not an object");
    // A field that is present must be a string (null counts as absent): {"username":1} is a
    // client's mistake to report, not an entry to drop silently (issue #17.8).
    for (const char* field : {"registryType", "username", "password", "token"}) {
      auto it = value.find(field);
      if (it != value.end() && !it->is_null() && !it->is_string())
        return fail(Code::kInvalidArgument, "registry credential field `" + std::string(field) +
                                                "` of `" + key + "` must be a string");
    }
    RegistryCredential cred;
    auto type = string_member(value, "registryType");
    if (!type) continue;
    cred.registry_type = *type;
    cred.username = string_member(value, "username");
    cred.password = string_member(value, "password");
    cred.token = string_member(value, "token");
    if (!cred.username && !cred.password && !cred.token) continue;
    entries[normalize_server_key(key, cred.registry_type)] = std::move(cred);
  }
  merge(entries);
  return ok();
}

void CredentialStore::merge(const std::map<std::string, RegistryCredential>& entries) {
  std::lock_guard lock(mu_);
  for (const auto& [k, v] : entries) map_[k] = v;
}

void CredentialStore::replace(std::map<std::string, RegistryCredential> entries) {
  std::lock_guard lock(mu_);
  map_ = std::move(entries);
}

std::optional<RegistryCredential> CredentialStore::find(const std::string& server) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(server);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, RegistryCredential> CredentialStore::snapshot() const {
  std::lock_guard lock(mu_);
  return map_;
}

std::optional<BasicAuth> CredentialStore::resolve_oci(std::string_view reference,
                                                      const EnvCredentials* env) const {
  if (auto entry = find(credential_server(reference)); entry && entry->registry_type == "oci") {
    if (entry->username && entry->password) return BasicAuth{*entry->username, *entry->password};
    return std::nullopt;
  }
  if (env) return env->match(reference);
  return std::nullopt;
}

}  // namespace wc::oci
