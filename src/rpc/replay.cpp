// Replay refusal of received invocations (see replay.h).
#include "rpc/replay.h"

#include <sodium.h>

#include <algorithm>
#include <functional>
#include <string>

#include "rpc/errors.h"
#include "wascap/nkeys.h"

namespace wc::rpc {

ReplayGuard::ReplayGuard(std::int64_t window_seconds, std::size_t max_ids)
    : window_(std::max<std::int64_t>(1, window_seconds)),
      max_ids_(std::max<std::size_t>(1, max_ids)) {
  wascap::ensure_sodium();
  static_assert(sizeof(hash_key_) == crypto_shorthash_KEYBYTES);
  randombytes_buf(hash_key_, sizeof(hash_key_));
}

std::uint64_t ReplayGuard::key(std::string_view id) const {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, reinterpret_cast<const unsigned char*>(id.data()), id.size(), hash_key_);
  std::uint64_t k = 0;
  for (unsigned char b : out) k = (k << 8) | b;
  return k;
}

Status ReplayGuard::check(std::string_view id, std::int64_t iat, std::int64_t now) {
  const std::int64_t expires = iat > INT64_MAX - window_ ? INT64_MAX : iat + window_;
  const std::uint64_t k = key(id);
  std::lock_guard lock(mu_);
  while (!expiry_.empty() && expiry_.top().first <= now) {
    seen_.erase(expiry_.top().second);
    expiry_.pop();
  }
  if (expires <= now || expires <= horizon_)
    return fail(Code::kPermissionDenied, std::string(errors::kTokenTooOld));
  if (seen_.count(k) != 0)
    return fail(Code::kPermissionDenied, std::string(errors::kReplayedInvocation));
  while (seen_.size() >= max_ids_ && !expiry_.empty()) {
    // Full: forget the ids that expire first; tokens expiring no later are refused from now on.
    horizon_ = std::max(horizon_, expiry_.top().first);
    seen_.erase(expiry_.top().second);
    expiry_.pop();
  }
  if (expires <= horizon_) return fail(Code::kPermissionDenied, std::string(errors::kTokenTooOld));
  seen_.insert(k);
  expiry_.emplace(expires, k);
  return ok();
}

std::size_t ReplayGuard::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

}  // namespace wc::rpc
