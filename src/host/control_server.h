// wc::host::ControlServer: the host's side of the control interface (control-interface.md 2):
// the subscriptions (commands and inventory for this host, ping, get, linkdefs, registries and
// auctions for the lattice, the policy-changes topic), routing each subject to its handler,
// the acknowledgements and replies, and the supplemental configuration service (2.7).
//
// Owned by Host::Impl. A handler only parses (control.h), answers from the components' views
// and queues lifecycle work: actor work goes to the ActorSupervisor and provider work to the
// provider functions, both on the lifecycle thread (`post_lifecycle`), in request order. It
// talks to NATS through the Bus seam. The auction decisions are pure functions (below).
//
// Thread-safety: no state of its own beyond the subscriptions (set up by subscribe() before any
// delivery, dropped by close()); handle() may run on several control-pool threads at once.
// Called from: libnats delivery threads (hand-off only), the control pool (handle), the start
// thread (subscribe, query_config_service), the stopping thread (close).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "host/actor_supervisor.h"
#include "host/bus.h"
#include "host/control.h"
#include "host/inventory.h"
#include "host/metadata_cache.h"
#include "host/policy.h"
#include "lattice/nats.h"
#include "oci/credentials.h"

namespace wc::host {

/// One control request as views into a delivered message (valid while it is handled).
struct ControlRequest {
  std::string_view subject;
  std::string_view reply;  ///< "" = no reply expected
  std::span<const std::uint8_t> data;
  std::string_view text() const {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
  }
};

/// What the control server needs from its host. Pointers are not owned and outlive it.
struct ControlServerDeps {
  Bus* ctl = nullptr;  ///< the control connection: subscriptions, replies
  ActorSupervisor* actors = nullptr;
  MetadataCache* metadata = nullptr;
  PolicyManager* policy = nullptr;        ///< policy-change messages (8.4)
  oci::CredentialStore* creds = nullptr;  ///< registries.put, config service credentials
  Poster post_control;                    ///< the control pool (handlers)
  Poster post_lifecycle;                  ///< the lifecycle thread (starts, stops, updates)
  EventEmitter emit;
  /// Host facts for inventory, ping and heartbeats (uptime now).
  std::function<HostFacts()> facts;
  /// Running providers (inventory).
  std::function<std::vector<ProviderInfo>()> providers;
  /// True when (provider key, link name) is supervised here.
  std::function<bool(const std::string& key, const std::string& link)> provider_supervised;
  /// Stops (provider key, link name) (3.6.3); blocks up to the shutdown timeout.
  std::function<void(const std::string& key, const std::string& link)> stop_provider;
  /// Starts a provider (3.6.1) on the lifecycle thread; reports its own failures.
  std::function<void(const StartProviderRequest& req)> launch_provider;
  /// 2.3.6 resolution of a provider reference to its key (unknown: nullopt).
  std::function<std::optional<std::string>(const std::string& ref)> resolve_provider_key;
  /// Publishes a heartbeat now (after a ping, 2.4.1).
  std::function<void()> heartbeat;
  /// Asks the host to stop (cmd.{host}.stop, after the ack).
  std::function<void()> request_stop;
  std::string host_id;
  std::string lattice_prefix;
  std::string ctl_topic_prefix;      ///< "wasmbus.ctl" unless configured
  std::string policy_changes_topic;  ///< "" = not subscribed
  StringMap labels;                  ///< labels at start (config service query)
  /// The current labels (auctions); empty function = `labels`. They change at runtime through
  /// the v1 label.put / label.del (control_v1.h).
  std::function<StringMap()> current_labels;
  bool allow_file_load = false;
};

class ControlServer {
 public:
  explicit ControlServer(ControlServerDeps deps);
  /// close().
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Subscribes every control subject (queue group for get/linkdefs) and the policy-changes
  /// topic, then flushes. Errors: the subscription's or the flush's.
  Status subscribe();
  /// Drops the subscriptions (waits for running delivery handlers). Idempotent.
  void close();

  /// Handles one request (control pool): size limit, topic, then the handler; every request
  /// with a reply subject gets its ack or reply (lifecycle commands after their work where
  /// 2.3 says so).
  void handle(const ControlRequest& request);
  /// Handles one policy-change message (8.4) and replies `{"success":...}`.
  void handle_policy_change(const ControlRequest& request);

  /// Asks `wasmbus.cfg.{prefix}.req` for supplemental configuration (2.7) and applies it:
  /// registry credentials, auto-started providers and actors (queued on the lifecycle thread).
  /// Failures are logged. Blocks up to 2 s.
  void query_config_service();

  /// 2.4.7 (and ours for file://): whether this host bids in an actor auction.
  static bool bids_for_actor(const StringMap& labels, bool allow_file_load,
                             const ActorAuctionRequest& request);
  /// 2.4.8: whether this host bids in a provider auction; `running_here` = the provider (key
  /// resolved from the reference) already runs here under that link name.
  static bool bids_for_provider(const StringMap& labels, bool allow_file_load,
                                const ProviderAuctionRequest& request, bool running_here);

 private:
  void emit(std::string_view type, const nlohmann::json& data) const;
  StringMap labels_now() const;
  void reply(const ControlRequest& m, const std::string& body);
  void ack(const ControlRequest& m, bool accepted, std::string_view error = {});
  void handle_command(const ControlRequest& m, const std::string& op, const std::string& body);
  void guarded_launch(const LaunchActorRequest& req, std::int64_t reserved);
  void guarded_launch_provider(const StartProviderRequest& req);
  void linkdef_put(const ControlRequest& m, const std::string& body);
  void linkdef_del(const ControlRequest& m, const std::string& body);

  ControlServerDeps deps_;
  std::vector<lattice::Subscription> subs_;
};

}  // namespace wc::host
