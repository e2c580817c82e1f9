// Test support: private docker-registry setups for host-level tests (claims-oci-par.md 4.4-4.6).
//
// Files for the Debian docker-registry (tests/support/servers.h RegistryServer): an htpasswd file
// with a bcrypt entry made by `htpasswd -B` (apache2-utils), a self-signed certificate for
// 127.0.0.1 made by the openssl CLI (subjectAltName IP:127.0.0.1, so it is also its own CA), and
// the YAML snippets that turn them on. Header-only; every function runs a command and returns an
// Error when it fails. Not thread-safe beyond what the commands are; call from the test thread.
#pragma once

#include <cstdlib>
#include <string>

#include "common/error.h"

namespace wc::testing {

namespace detail {
/// Runs `command` with /bin/sh; kInternal with the command when its exit status is not 0.
inline Status run_shell(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc != 0)
    return fail(Code::kInternal, "command failed (" + std::to_string(rc) + "): " + command);
  return ok();
}
}  // namespace detail

/// Writes `<dir>/htpasswd` with one bcrypt (`htpasswd -B`) entry for `user`:`password` and
/// returns its path. `dir`, `user` and `password` must not contain shell metacharacters or
/// spaces (test values only). Errors: kInternal when htpasswd is missing or fails.
inline Result<std::string> write_htpasswd(const std::string& dir, const std::string& user,
                                          const std::string& password) {
  const std::string path = dir + "/htpasswd";
  auto st = detail::run_shell("htpasswd -B -b -c '" + path + "' '" + user + "' '" + password +
                              "' >/dev/null 2>&1");
  if (!st) return fail(st.error());
  return path;
}

/// A certificate and its private key (PEM files).
struct TlsFiles {
  std::string certificate;  ///< self-signed; also the CA file clients must trust
  std::string key;
};

/// Makes a self-signed RSA-2048 certificate for 127.0.0.1 (CN and subjectAltName IP:127.0.0.1,
/// valid 2 days) in `dir` (`cert.pem`, `key.pem`). Errors: kInternal when openssl fails.
inline Result<TlsFiles> make_self_signed_cert(const std::string& dir) {
  TlsFiles f{dir + "/cert.pem", dir + "/key.pem"};
  auto st = detail::run_shell(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" +
      f.key + "' -out '" + f.certificate + "' >/dev/null 2>&1");
  if (!st) return fail(st.error());
  return f;
}

/// RegistryServer extra_config for htpasswd Basic auth with realm "basic-realm".
inline std::string htpasswd_registry_config(const std::string& htpasswd_path) {
  return "auth:\n  htpasswd:\n    realm: basic-realm\n    path: " + htpasswd_path + "\n";
}

/// RegistryServer extra_config that serves HTTPS with `tls`. RegistryServer writes
/// `http:\n  addr: ...\n` last before appending extra_config, so these lines (indented two
/// spaces) land under `http:` as `http.tls.certificate` / `http.tls.key`.
inline std::string tls_registry_config(const TlsFiles& tls) {
  return "  tls:\n    certificate: " + tls.certificate + "\n    key: " + tls.key + "\n";
}

}  // namespace wc::testing
