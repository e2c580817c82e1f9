// PolicyManager: asks an external policy service whether an action may happen
// (control-interface.md 2.8, actor-rpc-providers.md 8).
//
// Owned by src/host. Off (every action permitted, errors::kPolicyDisabled) when no topic is
// configured. Otherwise a JSON request/reply on the topic with a timeout; no responders, timeout
// and undecodable replies deny (fail closed) and are not cached; real decisions are cached for
// the life of the process per (source, target, action) and can be replaced by a policy-change
// message naming their request id. Thread-safe (one mutex, `mu_`, around the cache; never held
// while asking the service).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/thread_annotations.h"

namespace wc::host {

/// A policy decision (8.3): `permitted`, `message`, `requestId`.
struct PolicyDecision {
  bool permitted = false;
  std::string message;
  std::string request_id;
};

/// Sends `body` on `subject` and returns the reply body. Errors: kDeadlineExceeded (timeout),
/// kUnavailable (no responders), anything else counts as no responders too.
using PolicyRequester = std::function<Result<std::string>(
    const std::string& subject, const std::string& body, std::chrono::milliseconds timeout)>;

class PolicyManager {
 public:
  /// `topic` empty = disabled. `host` is the request's `host` object (8.2).
  PolicyManager(std::string topic, std::chrono::milliseconds timeout, nlohmann::json host,
                PolicyRequester requester);

  /// True when a policy topic is configured.
  bool enabled() const { return !topic_.empty(); }

  /// Evaluates `action` ("start_actor", "start_provider", "perform_invocation") for `source` and
  /// `target` (8.1 maps). Blocks up to the timeout; call from a worker thread. The answer must
  /// hold a boolean `permitted` (else denied with errors::kPolicyDecodeFailed, not cached);
  /// `message` and `requestId` may be null, absent or mistyped ("" and the sent id). Never
  /// throws.
  PolicyDecision evaluate(const std::string& action, const nlohmann::json& source,
                          const nlohmann::json& target) EXCLUDES(mu_);

  /// The default source of starts (8.1): empty strings, capabilities [], expiresAt now + 60 s.
  static nlohmann::json default_source();

  /// Applies a policy-change message `{"request_id", "permitted", "message"}` (8.4; `message`
  /// may be null or absent, meaning ""): the cached
  /// decision made for that request id (the id sent in the request; also the reply's requestId
  /// when the service answered with a different one) is replaced, unknown ids are ignored.
  /// Returns the reply body `{"success": true|false}`.
  std::string apply_change(std::string_view body) EXCLUDES(mu_);

 private:
  std::string topic_;
  std::chrono::milliseconds timeout_;
  nlohmann::json host_;
  PolicyRequester requester_;
  Mutex mu_;
  std::map<std::string, PolicyDecision> cache_ GUARDED_BY(mu_);        // cache key -> decision
  std::map<std::string, std::string> request_to_key_ GUARDED_BY(mu_);  // request id -> cache key
};

}  // namespace wc::host
