// Waiting for the outcome of a control-interface command on the lattice event stream, as wash
// does: the host acks `la`, `scale` and `lp` before the work is done and reports the result as an
// event on `wasmbus.evt.{lattice}` (control-interface.md 2.3.2, 2.3.4, 2.3.6, 4.4). `wasmcloud ctl`
// opens an EventStream BEFORE it sends the command (so no event can be missed), then feeds every
// event to one of the judge_* functions below until one says succeeded or failed, or a deadline
// passes. Also: operator-input checks for the ids the commands take.
//
// Owned by src/cli. EventStream is filled on the libnats delivery thread and read by one other
// thread (the CLI's main thread); the judge_* functions are pure.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/nats.h"
#include "wascap/nkeys.h"

namespace wc::cli {

/// Every CloudEvent published on `wasmbus.evt.{lattice}` from open() on, parsed, in arrival order.
/// Payloads that are not JSON objects are dropped. Destroy it before its Connection.
class EventStream {
 public:
  /// Subscribes and flushes, so that the server knows the subscription before the caller sends a
  /// command. Errors: those of Connection::subscribe / flush (kUnavailable, kDeadlineExceeded).
  static Result<std::unique_ptr<EventStream>> open(lattice::Connection& nc,
                                                   std::string_view lattice);
  /// The next event received, waiting until `deadline`; nullopt when none came in time.
  std::optional<nlohmann::json> next(std::chrono::steady_clock::time_point deadline);

  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  ~EventStream() { sub_.unsubscribe(); }

 private:
  EventStream() = default;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<nlohmann::json> queue_;
  lattice::Subscription sub_;
};

/// What one event says about the command being waited for.
struct Verdict {
  enum class Kind {
    kUnrelated,  ///< not about this command (other host, actor, reference, or event type)
    kSucceeded,  ///< the success event (its `data` is in `event`)
    kFailed,     ///< a failure event; `error` holds the host's error text (un-inspected)
  };
  Kind kind = Kind::kUnrelated;
  std::string error;
  nlohmann::json event;  ///< the whole CloudEvent when kind != kUnrelated
};

/// `cmd.{host}.la` of `ref`: actors_started from `host` with image_ref == ref succeeds;
/// actor_start_failed (actor_ref == ref) or actors_start_failed (image_ref == ref) from `host`
/// fails (control-interface.md 2.3.2, 3.2).
Verdict judge_start_actor(const nlohmann::json& event, std::string_view host, std::string_view ref);

/// `cmd.{host}.scale` of `actor_id` upwards from reference `ref` (the effective one of 3.3 step
/// 2): actors_started from `host` with public_key == actor_id or image_ref == ref succeeds;
/// actor_start_failed with actor_ref == ref or == actor_id, or actors_start_failed with
/// image_ref == ref or public_key == actor_id, from `host`, fails.
Verdict judge_scale_up(const nlohmann::json& event, std::string_view host,
                       std::string_view actor_id, std::string_view ref);

/// A stop of instances of `actor_id` (`sa`, or `scale` downwards): each actor_stopped from `host`
/// with that public_key is a success (callers count them). No failure event exists (2.6).
Verdict judge_actor_stopped(const nlohmann::json& event, std::string_view host,
                            std::string_view actor_id);

/// `cmd.{host}.lp` of `ref` with `link_name`: provider_started from `host` with image_ref == ref
/// and that link_name succeeds; provider_start_failed with provider_ref == ref and that link_name
/// fails (2.3.6).
Verdict judge_start_provider(const nlohmann::json& event, std::string_view host,
                             std::string_view ref, std::string_view link_name);

/// `cmd.{host}.sp`: provider_stopped from `host` with that public_key and link_name succeeds.
Verdict judge_stop_provider(const nlohmann::json& event, std::string_view host,
                            std::string_view provider_id, std::string_view link_name);

/// `cmd.{host}.upd` of `actor_id` (2.3.5): actor_updated from `host` with that public_key
/// succeeds; actor_update_failed with that public_key fails (its `reason` is the error).
Verdict judge_update_actor(const nlohmann::json& event, std::string_view host,
                           std::string_view actor_id);

/// `cmd.{host}.stop` (2.3.8, 6.3): host_stopped from `host` succeeds (published after the host
/// stopped its actors and providers). No failure event exists.
Verdict judge_host_stopped(const nlohmann::json& event, std::string_view host);

/// The link a `linkdefs.put` / `linkdefs.del` is about (control-interface.md 2.4.4-2.4.5).
struct LinkKey {
  std::string actor_id;
  std::string contract_id;
  std::string link_name;
  std::string provider_id;                    ///< empty: any provider (del)
  std::map<std::string, std::string> values;  ///< compared only by judge_linkdef_set
};

/// `linkdefs.put` of `link`: a linkdef_set event (source "n/a", from whichever host stored it,
/// 4.4.15) with the same actor_id, contract_id, link_name, provider_id and values succeeds. There
/// is no failure event: the provider validates the values when it receives them and reports a
/// refusal only in its log.
Verdict judge_linkdef_set(const nlohmann::json& event, const LinkKey& link);

/// `linkdefs.del` of `link`: a linkdef_deleted event with the same actor_id, contract_id and
/// link_name succeeds (and provider_id, when `link.provider_id` is set).
Verdict judge_linkdef_deleted(const nlohmann::json& event, const LinkKey& link);

/// The text inside an Elixir-`inspect`ed string ("\"x\\\"y\"" -> "x\"y"); other text unchanged.
std::string uninspect(std::string_view text);

/// Checks an id typed by the operator: a public nkey of `type` (host ids 'N', actor ids 'M',
/// provider ids 'V'). `what` names it in the error ("host id"). Errors (kInvalidArgument) say
/// what was given and what is expected, e.g. "host id is empty: ...", "invalid host id 'x': ...".
Status check_public_key(std::string_view text, wascap::KeyType type, std::string_view what);

}  // namespace wc::cli
