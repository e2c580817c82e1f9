// Registry credentials: the host's per-server credential map filled by the control interface's
// `registries.put` (control-interface.md 2.4.6 / 3.1.3, claims-oci-par.md 4.5) and the
// OCI_REGISTRY* environment fallback. CredentialStore is shared by the host's control-interface
// handler (writer) and every fetch (readers); all members are thread-safe (one mutex).
// Credentials are never logged: nothing here formats a password or token into a message.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace wc::oci {

/// One entry of the credential map: `{"registryType": "oci"|"bindle", "username", "password",
/// "token"}` (4.5). Absent JSON members are nullopt.
struct RegistryCredential {
  std::string registry_type;  ///< "oci" or "bindle" (other strings are kept but never match)
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> token;
};

/// HTTP Basic credentials.
struct BasicAuth {
  std::string username;
  std::string password;
};

/// The OCI_REGISTRY / OCI_REGISTRY_USER / OCI_REGISTRY_PASSWORD fallback (4.5 step 2).
struct EnvCredentials {
  std::string registry, user, password;
  /// Reads the three variables now; members stay empty when unset.
  static EnvCredentials from_environment();
  /// Basic auth when all three are set and the lowercased `reference` starts with `registry`.
  [[nodiscard]] std::optional<BasicAuth> match(std::string_view reference) const;
};

/// Thread-safe credential map keyed by server ("localhost:5000"; bindle: text after the last '@').
class CredentialStore {
 public:
  /// Merges a `registries.put` body (a JSON object server -> credential) into the map: keys are
  /// normalized (4.5), entries without `registryType` or without any of username/password/token
  /// are dropped, same keys replaced, others kept. Errors: kInvalidArgument when the body is not
  /// such JSON (the caller replies "Failed to update registry credential map"); the map is then
  /// unchanged.
  Status merge_json(std::string_view body);
  /// Merges already-normalized entries (same key replaced).
  void merge(const std::map<std::string, RegistryCredential>& entries);
  /// Replaces the whole map (config-service `registryCredentials`, keys as given).
  void replace(std::map<std::string, RegistryCredential> entries);
  /// The entry stored under `server`, if any.
  [[nodiscard]] std::optional<RegistryCredential> find(const std::string& server) const;
  /// Copy of the whole map.
  [[nodiscard]] std::map<std::string, RegistryCredential> snapshot() const;

  /// Credential selection for an OCI fetch of `reference` (as given, not lowercased) per 4.5 /
  /// control-interface 3.1.3: an `oci` entry for its server decides (Basic when username and
  /// password both exist, else anonymous, environment not consulted); otherwise `env` (if any);
  /// otherwise anonymous (nullopt).
  [[nodiscard]] std::optional<BasicAuth> resolve_oci(std::string_view reference,
                                                     const EnvCredentials* env) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, RegistryCredential> map_;
};

/// Normalizes a `registries.put` key: scheme stripped, then for "oci" cut at the first '/', for
/// "bindle" the text after the last '@' (4.5).
std::string normalize_server_key(std::string_view key, std::string_view registry_type);

}  // namespace wc::oci
