// The registry authentication handshake pieces (claims-oci-par.md 4.6): WWW-Authenticate
// parsing and the token-endpoint URL. Pure functions; thread-safe. The HTTP side lives in
// transport.cpp.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace wc::oci {

/// One challenge of a WWW-Authenticate header: scheme ("Bearer", "Basic", case as sent) and its
/// auth-params with lowercased names ("realm", "service", "scope", ...), values unquoted.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

/// Parses a WWW-Authenticate value into its challenges (RFC 7235: `scheme k=v, k="v", scheme2
/// ...`; quoted strings may contain commas and backslash escapes). Never fails: unparsable tails
/// are dropped.
std::vector<Challenge> parse_www_authenticate(std::string_view header);

/// The token request URL of 4.6 step 3: `<realm>?scope=repository%3A<repo>%3Apull[%2Cpush]`
/// `[&service=<service>]` ('&' instead of '?' when the realm already has a query).
std::string token_url(std::string_view realm, std::string_view service, std::string_view repository,
                      bool push);

/// Percent-encodes everything except unreserved characters (RFC 3986).
std::string url_encode(std::string_view text);

/// Extracts the token from a token-endpoint body: `token` if present, else `access_token`.
/// Errors: kPermissionDenied "Failed to decode registry token: <detail>".
Result<std::string> parse_token_response(std::string_view body);

}  // namespace wc::oci
