#include "web/guard.h"

#include <sodium.h>

#include <array>

#include "common/encoding.h"
#include "web/messages.h"

namespace wc::web {

RequestGuard::RequestGuard(std::set<std::string> allowed_hosts, std::string token)
    : hosts_(std::move(allowed_hosts)), token_(std::move(token)) {}

std::string RequestGuard::new_token() {
  if (sodium_init() < 0) std::abort();  // cannot happen once libsodium is linked correctly
  std::array<std::uint8_t, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  return hex_lower(bytes);
}

std::set<std::string> RequestGuard::default_hosts(std::string_view bind, int port) {
  const std::string p = ":" + std::to_string(port);
  std::set<std::string> out{"127.0.0.1" + p, "localhost" + p, "[::1]" + p};
  if (!bind.empty() && bind != "0.0.0.0" && bind != "::") {
    std::string b(bind);
    if (b.find(':') != std::string::npos && b.front() != '[') b = "[" + b + "]";
    out.insert(b + p);
  }
  return out;
}

Status RequestGuard::check_read(const GuardHeaders& h) const {
  if (!hosts_.contains(h.host))
    return fail(Code::kPermissionDenied, std::string(messages::kBadHost));
  return ok();
}

Status RequestGuard::check_write(const GuardHeaders& h) const {
  if (auto st = check_read(h); !st) return st;
  if (!h.origin.empty()) {
    constexpr std::string_view kHttp = "http://";
    if (h.origin.substr(0, kHttp.size()) != kHttp ||
        !hosts_.contains(h.origin.substr(kHttp.size())))
      return fail(Code::kPermissionDenied, std::string(messages::kCrossSiteRefused));
  }
  if (!h.sec_fetch_site.empty() && h.sec_fetch_site != "same-origin" && h.sec_fetch_site != "none")
    return fail(Code::kPermissionDenied, std::string(messages::kCrossSiteRefused));
  if (h.csrf_token.size() != token_.size() || token_.empty() ||
      sodium_memcmp(h.csrf_token.data(), token_.data(), token_.size()) != 0)
    return fail(Code::kPermissionDenied, std::string(messages::kBadCsrfToken));
  return ok();
}

}  // namespace wc::web
