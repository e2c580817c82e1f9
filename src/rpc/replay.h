// wc::rpc::ReplayGuard: refuses a signed invocation that was already received (issue #11.6).
//
// Owned by src/rpc; one per host (src/host/rpc_dispatcher.cpp asks it after the anti-forgery check
// of actor-rpc-providers.md 3.5 succeeded). Ours, beyond the reference: 0.63 accepts the same
// signed invocation any number of times. Invocation tokens carry no `exp` (3.4), so the guard gives
// each token a validity window of `window` seconds after its `iat`: an id is remembered until
// `iat + window`, and a token issued longer ago is refused as too old (so a forgotten id can
// never be replayed). Memory is bounded by `max_ids`: when full, the ids that expire first are
// dropped and the window's start moves past them (tokens issued before are refused as too old).
// Thread-safe (one mutex; each check is O(log n)).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/error.h"

namespace wc::rpc {

/// Default validity window of an invocation token after its `iat`, in seconds.
inline constexpr std::int64_t kReplayWindowSeconds = 300;
/// Default bound on remembered invocation ids (about 56 bytes each: some 14 MB when full).
inline constexpr std::size_t kReplayMaxIds = 250000;

/// Remembers the invocation ids seen within their token's validity window. Thread-safe.
class ReplayGuard {
 public:
  /// `window_seconds` > 0; `max_ids` > 0.
  explicit ReplayGuard(std::int64_t window_seconds = kReplayWindowSeconds,
                       std::size_t max_ids = kReplayMaxIds);

  /// Accepts the invocation whose signed token is identified by `id` (TokenFacts::replay_key():
  /// the signed invocation id and the token id), issued at `iat` (Unix seconds), when it arrives
  /// at `now` (Unix seconds), and remembers `id` until `iat + window`. Errors (kPermissionDenied,
  /// texts of rpc/errors.h, to be wrapped with anti_forgery_message()): kTokenTooOld when
  /// `iat + window <= now` or the token expires before ids already dropped for space;
  /// kReplayedInvocation when `id` was accepted before and is still remembered.
  Status check(std::string_view id, std::int64_t iat, std::int64_t now);

  /// Ids remembered now (tests).
  [[nodiscard]] std::size_t size() const;

 private:
  using Entry = std::pair<std::int64_t, std::uint64_t>;  // expiry (Unix s), id hash
  std::uint64_t key(std::string_view id) const;

  const std::int64_t window_;
  const std::size_t max_ids_;
  std::uint8_t hash_key_[16];  // random SipHash key: ids cannot be chosen to collide
  mutable std::mutex mu_;
  std::unordered_set<std::uint64_t> seen_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> expiry_;
  std::int64_t horizon_ = 0;  // tokens expiring at or before this were possibly forgotten
};

}  // namespace wc::rpc
