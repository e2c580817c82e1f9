// wc::host::RpcDispatcher: runs invocations of this host's actors and routes their host calls
// (actor-rpc-providers.md 2-4, 8; control-interface.md 4.6).
//
// One invocation: decode the msgpack Invocation, validate its anti-forgery token (3.5) and
// refuse a replay (rpc/replay.h), authorize it (InvocationAuthorizer: capability claim, then the
// perform_invocation policy), read a chunked payload from the object store (3.6), run the guest
// (wasm::Module::invoke), store a large result as `<id>-r`, reply with an InvocationResponse,
// count it in the actor's metrics and publish the invocation rpc event. A host call from the
// guest goes to a builtin, a linked provider (authorized: the actor must claim the contract) or
// another actor (by key or call alias), signed with the cluster key and chunked above 700 KiB.
//
// Owned by Host::Impl. Which instance runs and how many run at once is the actor supervisor's
// business (the dispatcher gets an InvocationTarget snapshot); the dispatcher holds no actor
// state. Talks to NATS and the object store only through the seams of bus.h.
//
// Thread-safety: every method is thread-safe and takes no lock of its own (the replay guard,
// policy manager and metadata cache lock internally). Called from the host RPC pool: guest code
// and blocking host-call requests run on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"
#include "host/authorization.h"
#include "host/bus.h"
#include "host/metadata_cache.h"
#include "host/policy.h"
#include "metrics/metrics.h"
#include "rpc/replay.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wasm/engine.h"

namespace wc::host {

/// What the dispatcher needs from its host. Pointers are not owned and outlive the dispatcher.
struct RpcDispatcherDeps {
  /// RPC connection: invocation replies and outbound host calls.
  Bus* rpc = nullptr;
  /// Chunked payloads (3.6).
  PayloadStore* objects = nullptr;
  /// Links and call aliases (host-call routing), claims (policy requests).
  const MetadataCache* metadata = nullptr;
  /// perform_invocation policy; null = none.
  PolicyManager* policy = nullptr;
  /// Replay refusal; null = off (invocation_replay_window_s = 0).
  rpc::ReplayGuard* replay = nullptr;
  /// Signs outbound invocations (3.4).
  const wascap::KeyPair* cluster_key = nullptr;
  /// Its public key: the `host_id` of outbound invocations (3.2).
  std::string cluster_public_key;
  /// Issuers whose invocation tokens are accepted (3.5 step 9).
  std::vector<std::string> cluster_issuers;
  std::string lattice_prefix;
  /// rpc_timeout_ms of host calls (rpc::rpc_timeout_for raises it for large payloads).
  std::chrono::milliseconds rpc_timeout{2000};
  /// Publishes an invocation_succeeded (`ok`) / invocation_failed rpc event with `data`.
  std::function<void(bool ok, const nlohmann::json& data)> rpc_event;
  /// Same-host calls (issue #14.5): runs `operation` of actor `actor_key` in this host from
  /// `origin` and returns its reply or error, or nullopt when the actor has no instance here
  /// (ActorSupervisor::call_local). Empty = every actor call goes through the lattice.
  std::function<std::optional<Result<Bytes>>(
      const std::string& actor_key, const rpc::WasmCloudEntity& origin, std::string_view operation,
      std::span<const std::uint8_t> payload)>
      call_local;
  /// Unix seconds for token validation (the clock seam).
  std::function<std::int64_t()> now_seconds = wascap::now_seconds;
};

/// The actor and instance one invocation runs against: a snapshot the actor supervisor takes
/// under its lock when it assigns the instance slot.
struct InvocationTarget {
  std::string actor_key;
  std::string instance_id;
  wascap::ActorClaims claims;
  std::shared_ptr<wasm::Module> module;
  metrics::ActorMetrics* metrics = nullptr;  ///< null = not counted
};

class RpcDispatcher {
 public:
  explicit RpcDispatcher(RpcDispatcherDeps deps);

  /// Handles one invocation message (`data` = msgpack Invocation) for `target` and replies on
  /// `reply_subject` ("" = no reply). Never throws; every failure is an error
  /// InvocationResponse (texts of rpc/errors.h) and, once the invocation decoded, an
  /// invocation_failed rpc event. Returns the response it sent (for tests).
  rpc::InvocationResponse handle(const InvocationTarget& target, std::span<const std::uint8_t> data,
                                 std::string_view reply_subject);

  /// Replies `Invocation received for actor <key> that is not running` (4.4 step 2) on
  /// `reply_subject` (nothing when "").
  void reply_not_running(const std::string& actor_key, std::string_view reply_subject);

  /// Runs `operation` on `target` for an in-process caller `origin` (a builtin capability of
  /// this host, issue #14.4): no anti-forgery token (nothing crossed a trust boundary), and
  /// otherwise as handle(): authorize_inbound (capability claim, perform_invocation policy), the
  /// guest call with host-call routing, the actor's metrics and the invocation rpc event. Returns
  /// the guest's reply bytes; errors carry the InvocationResponse error texts (kPermissionDenied
  /// for authorization, the guest's Error otherwise).
  Result<Bytes> invoke_local(const InvocationTarget& target, const rpc::WasmCloudEntity& origin,
                             std::string_view operation, std::span<const std::uint8_t> payload);

  /// Sends `operation` to actor `actor_key` anywhere in the lattice as a signed invocation from
  /// `origin` (a builtin capability whose actor has no local instance): cluster-key token (3.4),
  /// payload chunked above 700 KiB, reply chunk read, rpc event. Blocks up to the RPC timeout.
  /// Errors: kUnavailable with rpc::errors::kHostCallFailedPrefix + reason (timeout, undecodable
  /// reply, the remote error text).
  Result<Bytes> call_actor(const rpc::WasmCloudEntity& origin, const std::string& actor_key,
                           std::string_view operation, Bytes payload);

  /// A host call of actor `actor_key` claiming `caps` (2.1-2.5). Errors: kTrap for unknown
  /// builtins / builtin operations and undecodable builtin payloads; kUnavailable with
  /// rpc::errors::kHostCallFailedPrefix + reason for a missing link, a missing claim, a
  /// timeout, an undecodable or failed response or a chunk read/write failure.
  Result<Bytes> host_call(const std::string& actor_key, const std::vector<std::string>& caps,
                          const wasm::HostCall& call);

  /// The authorization decisions (shared with nothing else: this is the only one).
  const InvocationAuthorizer& authorizer() const { return authorizer_; }

 private:
  void rpc_event(bool ok, const nlohmann::json& data) const;
  /// The guest call of one invocation of `target` (host calls routed through host_call()).
  Result<wasm::InvokeOutput> run_guest(const InvocationTarget& target, std::string_view operation,
                                       std::span<const std::uint8_t> payload);
  /// Signs and sends one invocation `origin` -> `target` on `subject` and returns the reply
  /// bytes (host_call() and call_actor()); publishes the rpc event.
  Result<Bytes> request(const rpc::WasmCloudEntity& origin, const rpc::WasmCloudEntity& target,
                        const std::string& subject, std::string_view operation, Bytes payload);

  RpcDispatcherDeps deps_;
  InvocationAuthorizer authorizer_;
};

}  // namespace wc::host
