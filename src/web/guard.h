// Cross-site request protection for the dashboard's HTTP API: Host allow-list (DNS rebinding),
// Origin / Sec-Fetch-Site checks and a per-process CSRF token.
//
// Owned by src/web. A RequestGuard is built once when the server starts and is immutable
// afterwards, so it may be used from every HTTP worker thread at once.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "common/error.h"

namespace wc::web {

/// The request headers the guard looks at; an absent header is "" (HTTP header values cannot
/// be empty in practice, so "" means absent).
struct GuardHeaders {
  std::string host;            ///< `Host`
  std::string origin;          ///< `Origin`
  std::string sec_fetch_site;  ///< `Sec-Fetch-Site`
  std::string csrf_token;      ///< `X-CSRF-Token`
};

/// Decides whether a request may be served.
class RequestGuard {
 public:
  /// `allowed_hosts` are `host:port` values the server answers to (e.g. `127.0.0.1:4000`,
  /// `localhost:4000`); `token` is the CSRF token pages send back in `X-CSRF-Token`.
  RequestGuard(std::set<std::string> allowed_hosts, std::string token);

  /// A fresh random token (32 bytes from libsodium, lower-case hex).
  static std::string new_token();
  /// The allowed `host:port` names for a server bound to `bind` on `port`: loopback names
  /// (`127.0.0.1`, `localhost`, `[::1]`) plus `bind` itself when it is another address.
  static std::set<std::string> default_hosts(std::string_view bind, int port);

  /// Any request (GET included): refuses an unknown Host header with kPermissionDenied
  /// messages::kBadHost (DNS rebinding would otherwise expose the lattice state).
  Status check_read(const GuardHeaders& h) const;
  /// A state-changing request (POST): check_read(), then an Origin that is not
  /// `http://<allowed host>` or a Sec-Fetch-Site other than `same-origin`/`none` is refused
  /// with messages::kCrossSiteRefused, then a missing or different token with
  /// messages::kBadCsrfToken (compared in constant time). All kPermissionDenied.
  Status check_write(const GuardHeaders& h) const;

  /// The token pages must echo.
  const std::string& token() const { return token_; }

 private:
  std::set<std::string> hosts_;
  std::string token_;
};

}  // namespace wc::web
