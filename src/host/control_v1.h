// wc::host::V1ControlServer: the host's side of the wasmCloud 1.x ("v1") control interface beside
// the OTP one (control_server.h), on the same state (issue #15; ../shared/spec/v1-and-wadm.md 3-4;
// facts from wasmCloud 1.9 crates/host/src/nats/ctl.rs, wasmbus/ctl.rs, event.rs and
// crates/control-interface/src/types/*.rs, and @wasmcloud/lattice-client-core 0.2.3).
//
// Subjects `{ctl}.v1.{lattice}.` + host.get.{H}, host.ping, host.stop.{H}, label.put|del.{H},
// component.scale|update.{H}, component.auction, provider.start[.{H}], provider.stop.{H},
// provider.auction, claims.get, registry.put (link.* and config.* are control_v1_links' / A2's).
// Replies are `{success, message, response?}`. Under v1 an actor is a "component": its id is its
// module public key unless a v1 request named another id, which is then recorded on this host
// (id_of) and lattice-wide (MetadataCache::put_v1_alias, `V1ID_{id}`). A provider started
// through v1 runs under link name "default"; its v1 id is recorded the same way.
//
// The v1 events (events.h `v1`) are derived from the OTP events the host publishes (on_event,
// called by Host::Impl::emit after every OTP event), so they appear whichever protocol caused the
// change: `component_scaled` whenever an actor's instance count on this host changes (and
// after a live update, with the new reference),
// `component_scale_failed`, provider_started / _start_failed / _stopped, health checks,
// host_started / _stopped / _heartbeat; labels_changed from label.put / label.del.
//
// Owned by Host::Impl. Lifecycle work (scale, update, provider start/stop) goes to the host's
// lifecycle thread in request order and reuses the ActorSupervisor and provider functions.
// Thread-safety: handle() runs on control-pool threads, on_event() on any thread that emits;
// one mutex (`mu_`, a leaf: nothing is called while it is held) guards the id maps.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/thread_annotations.h"
#include "host/actor_supervisor.h"
#include "host/bus.h"
#include "host/control.h"
#include "host/control_server.h"
#include "host/inventory.h"
#include "host/metadata_cache.h"
#include "lattice/nats.h"
#include "oci/credentials.h"

namespace wc::host {

// ------------------------------------------------------------------ parsing (pure)

/// A v1 subject after `{ctl}.v1.{lattice}.`: `resource.op[.arg]` (arg: a host id or "").
struct V1Subject {
  std::string resource;
  std::string op;
  std::string arg;
};
/// Errors: kInvalidArgument errors::kV1UnsupportedSubject when the prefix does not match or the
/// rest is not 2 or 3 non-empty tokens.
Result<V1Subject> parse_v1_subject(std::string_view subject, std::string_view lattice,
                                   std::string_view ctl_prefix);

/// `component.scale.{H}` (ScaleComponentCommand): the desired instance count comes from
/// `max_instances` (client 0.2.3) or `count` (1.x hosts); both given must agree; absent = 0.
struct V1ScaleComponent {
  std::string host_id;  ///< "" when absent
  std::string component_ref;
  std::string component_id;
  std::int64_t count = 0;
  StringMap annotations;
  std::vector<std::string> config;  ///< named configs; validated, not used by actors
};
/// Errors (kInvalidArgument, errors.h v1 texts): not a JSON object, mistyped fields, missing or
/// invalid `component_id` (topics::is_valid_v1_id), missing `component_ref` when count > 0,
/// count over kMaxInstancesPerActor (errors::kTooManyInstances), the length limits of control.h.
Result<V1ScaleComponent> parse_v1_scale_component(std::string_view body);

/// `component.update.{H}` (UpdateComponentCommand).
struct V1UpdateComponent {
  std::string host_id;
  std::string component_id;
  std::string new_component_ref;
  StringMap annotations;
};
/// Errors as parse_v1_scale_component; `new_component_ref` is required.
Result<V1UpdateComponent> parse_v1_update_component(std::string_view body);

/// `provider.start[.{H}]` (StartProviderCommand).
struct V1StartProvider {
  std::string host_id;
  std::string provider_ref;
  std::string provider_id;
  StringMap annotations;
  std::vector<std::string> config;
};
/// Errors as above; `provider_ref` and a valid `provider_id` are required.
Result<V1StartProvider> parse_v1_start_provider(std::string_view body);

/// `provider.stop.{H}` (StopProviderCommand; `provider_ref` is accepted for `provider_id`).
struct V1StopProvider {
  std::string host_id;
  std::string provider_id;
};
Result<V1StopProvider> parse_v1_stop_provider(std::string_view body);

/// `label.put.{H}` `{key, value}` / `label.del.{H}` `{key}` (with_value false).
struct V1Label {
  std::string key;
  std::string value;
};
/// Errors: not an object, `key` missing/empty/not a string, `value` not a string (put), lengths.
Result<V1Label> parse_v1_label(std::string_view body, bool with_value);

/// `host.stop.{H}`: `{}`, `{timeout}` or `{host_id, timeout}`; an empty body is accepted.
struct V1StopHost {
  std::string host_id;
  std::optional<std::uint64_t> timeout_ms;
};
Result<V1StopHost> parse_v1_stop_host(std::string_view body);

/// `component.auction` / `provider.auction`: `{component_ref|provider_ref, component_id|
/// provider_id, constraints}`.
struct V1Auction {
  std::string ref;
  std::string id;
  StringMap constraints;
};
/// `provider` selects the field names. Errors as above.
Result<V1Auction> parse_v1_auction(std::string_view body, bool provider);

/// "1d 2h 3m 4s" (zero parts omitted, "0s" for 0), the 1.x `uptime_human` style.
std::string v1_uptime_human(std::uint64_t seconds);

// ------------------------------------------------------------------ the server

/// What the v1 server needs from its host. Pointers are not owned and outlive it.
struct V1ControlServerDeps {
  Bus* ctl = nullptr;  ///< control connection: subscriptions, replies, v1 events
  ActorSupervisor* actors = nullptr;
  MetadataCache* metadata = nullptr;
  oci::CredentialStore* creds = nullptr;
  Poster post_control;    ///< the control pool (handlers, coalesced stop announcements)
  Poster post_lifecycle;  ///< the lifecycle thread (scale, update, provider start/stop)
  /// Host facts with the current labels (inventory, ping, auctions).
  std::function<HostFacts()> facts;
  /// Running providers.
  std::function<std::vector<ProviderInfo>()> providers;
  std::function<bool(const std::string& key, const std::string& link)> provider_supervised;
  /// Stops (key, link); blocks up to the shutdown timeout.
  std::function<void(const std::string& key, const std::string& link)> stop_provider;
  /// Starts a provider on the calling (lifecycle) thread; reports its own failures as events.
  std::function<void(const StartProviderRequest& req)> launch_provider;
  std::function<std::optional<std::string>(const std::string& ref)> resolve_provider_key;
  /// Applies `change` to the host's labels under its lock and returns the labels after it.
  std::function<StringMap(const std::function<void(StringMap&)>& change)> update_labels;
  std::function<void()> heartbeat;     ///< publishes a heartbeat now
  std::function<void()> request_stop;  ///< asks the host to stop
  std::string host_id;
  std::string lattice_prefix;
  std::string ctl_topic_prefix = "wasmbus.ctl";
  std::string version;
  bool allow_file_load = false;
  /// How long `provider.start` without a host waits for the named host's answer.
  std::chrono::milliseconds relay_timeout{5000};
};

class V1ControlServer {
 public:
  explicit V1ControlServer(V1ControlServerDeps deps);
  /// close().
  ~V1ControlServer();
  V1ControlServer(const V1ControlServer&) = delete;
  V1ControlServer& operator=(const V1ControlServer&) = delete;

  /// Subscribes the v1 subjects (claims.get and the host-less provider.start in queue groups
  /// `{root}.claims` / `{root}.provider.start`), then flushes.
  Status subscribe();
  /// Drops the subscriptions. Idempotent.
  void close();

  /// Handles one request (control pool); every request with a reply subject gets exactly one
  /// reply, except auctions this host does not bid in.
  void handle(const ControlRequest& request) EXCLUDES(mu_);

  /// Derives and publishes the v1 events of one OTP event (`type` = full CloudEvent type of
  /// events.h, `data` its data). Any thread; never called with a component lock held.
  void on_event(std::string_view type, const nlohmann::json& data) EXCLUDES(mu_);

  /// The v1 component id of actor `key` on this host (its recorded id, else the key).
  std::string component_id_of(const std::string& key) const EXCLUDES(mu_);
  /// The v1 provider id of (key, link): the recorded id for link "default", else the key.
  std::string provider_id_of(const std::string& key, const std::string& link) const EXCLUDES(mu_);
  /// The 1.x HostInventory (host.get response, host_heartbeat data): `{components: [{id,
  /// image_ref, name?, annotations, revision, max_instances}], providers: [{id, image_ref, name?,
  /// revision, annotations}], host_id, friendly_name, labels, version, uptime_human,
  /// uptime_seconds}`.
  nlohmann::json inventory() const;
  /// The 1.x `Host` of a host.ping reply: `{id, friendly_name, labels, lattice, uptime_human,
  /// uptime_seconds, version, ctl_host, rpc_host[, js_domain]}`.
  nlohmann::json host() const;

 private:
  struct Pending {  // a v1 scale / start accepted and not yet finished, by reference
    std::string id;
    StringMap annotations;
    std::int64_t count = 0;
  };
  void reply(const ControlRequest& m, bool success, std::string_view message,
             const nlohmann::json* response = nullptr);
  void publish(std::string_view name, const nlohmann::json& data);
  std::optional<std::string> resolve_component(const std::string& id, const std::string& ref) const
      EXCLUDES(mu_);
  std::optional<std::string> resolve_provider(const std::string& id) const EXCLUDES(mu_);
  void scale_component(const ControlRequest& m, const std::string& body) EXCLUDES(mu_);
  void scale_task(const V1ScaleComponent& req) EXCLUDES(mu_);
  void update_component(const ControlRequest& m, const std::string& body) EXCLUDES(mu_);
  void start_provider(const ControlRequest& m, const std::string& body, bool host_in_subject)
      EXCLUDES(mu_);
  void stop_provider(const ControlRequest& m, const std::string& body) EXCLUDES(mu_);
  void labels(const ControlRequest& m, const std::string& body, bool put);
  void auction(const ControlRequest& m, const std::string& body, bool provider);
  void announce_scale(const std::string& key, bool force) EXCLUDES(mu_);
  void scale_failed(const std::string& key, const std::string& id, const std::string& ref,
                    const StringMap& annotations, std::int64_t count, const std::string& error);

  V1ControlServerDeps deps_;
  std::vector<lattice::Subscription> subs_;

  mutable Mutex mu_;
  std::map<std::string, std::string> component_ids_ GUARDED_BY(mu_);   // key -> v1 id
  std::map<std::string, std::string> provider_ids_ GUARDED_BY(mu_);    // key -> v1 id
  std::map<std::string, Pending> pending_components_ GUARDED_BY(mu_);  // ref -> request
  std::map<std::string, Pending> pending_providers_ GUARDED_BY(mu_);   // ref -> request
  /// Instance count and reference last announced in component_scaled, per actor key.
  std::map<std::string, std::pair<std::int64_t, std::string>> announced_ GUARDED_BY(mu_);
  /// image_ref, 1.x claims and annotations of actors seen starting (for the events of a stop).
  std::map<std::string, nlohmann::json> component_meta_ GUARDED_BY(mu_);
  /// Keys with a component_scaled announcement queued after actor_stopped / actor_updated.
  std::set<std::string> queued_announce_ GUARDED_BY(mu_);
  /// public key of an actors_start_failed, by reference (joined with actor_start_failed).
  std::map<std::string, std::string> failed_keys_ GUARDED_BY(mu_);
};

}  // namespace wc::host
