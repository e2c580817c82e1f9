// The dashboard's picture of one lattice: hosts, actors per host, providers, link definitions,
// claims and the reference map, built from control-interface replies (ping.hosts,
// get.{host}.inv, get.links, get.claims) and lattice events (wasmbus.evt.{lattice}); plus
// invocation metrics from wasmbus.rpcevt.{lattice}.
//
// Owned by src/web. Event effects follow control-interface.md 7.3 (the original state monitor),
// extended with image_ref / revision / name so that the actors table can show them. Every
// string taken from the lattice is first cut to kMaxLatticeText bytes (cap_texts). Both
// classes lock internally: every method may be called from any thread (NATS delivery threads,
// HTTP workers, the refresher).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

namespace wc::web {

/// One line of the live event log.
struct LogEntry {
  std::uint64_t seq = 0;  ///< assigned by the Dashboard's broadcaster
  std::string time;       ///< the event's `time` (RFC 3339), or now
  std::string type;       ///< short event name (`actor_started`) or a dashboard action name
  std::string source;     ///< emitting host id, `n/a`, or `dashboard`
  std::string level;      ///< `info` or `error` (`*_failed` events, refused actions)
  std::string summary;    ///< one human line
  nlohmann::json data;    ///< the event's `data` object

  /// `{"seq","time","type","source","level","summary","data"}`.
  nlohmann::json to_json() const;
};

/// Lattice state (see the file comment).
class LatticeState {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LatticeState(std::string lattice);

  /// Adds or refreshes a host from one `ping.hosts` reply (2.4.1: id, friendly_name, labels,
  /// uptime_seconds, version, lattice_prefix). Replies without a string `id` are ignored.
  void apply_ping(const nlohmann::json& reply, Clock::time_point now = Clock::now());
  /// Replaces the actors and providers of `inv.host_id` with a `get.{host}.inv` reply (2.3.1);
  /// provider health states of known providers are kept.
  void apply_inventory(const nlohmann::json& inv);
  /// Replaces the link definitions with a `get.links` reply `{"links": [...]}`.
  void apply_links(const nlohmann::json& reply);
  /// Merges a `get.claims` reply `{"claims": [...]}` (entries keyed by `sub`).
  void apply_claims(const nlohmann::json& reply);
  /// Applies one CloudEvent (4.2 envelope) as 7.3 says and returns its log line; nullopt when
  /// `event` is not an object with a string `type`.
  std::optional<LogEntry> apply_event(const nlohmann::json& event,
                                      Clock::time_point now = Clock::now());
  /// Hosts not seen (ping, heartbeat, event) for `max_age` are dropped (a host that died
  /// without host_stopped). Returns how many were dropped.
  int expire_hosts(std::chrono::seconds max_age, Clock::time_point now = Clock::now());

  /// Records reference → actor key (as refmap_set does), with the claims name and revision.
  void remember_actor(const std::string& ref, const std::string& key, const std::string& name,
                      std::int64_t revision);
  /// The actor key a reference is known to map to.
  std::optional<std::string> actor_for_ref(const std::string& ref) const;
  /// The reference the actor runs from on `host_id` ("" if unknown).
  std::string actor_ref_on(const std::string& host_id, const std::string& actor_id) const;
  /// Current instance count of `actor_id` on `host_id` (0 if none).
  int instances_on(const std::string& host_id, const std::string& actor_id) const;
  /// True when the host is known.
  bool has_host(const std::string& host_id) const;

  /// `{"lattice", "hosts": [...], "actors": [...], "providers": [...], "links": [...],
  /// "claims": [...]}`; shapes in the README of src/web (docs in dashboard.h). Actor and
  /// provider rows carry `"managed_by"` ("wadm" or "") and `"app"` (the application name), from
  /// the `wasmcloud.dev/managed-by` / `wasmcloud.dev/appspec` annotations of the inventory
  /// (an actor: its first instance that has them) and of actor_started / provider_started.
  nlohmann::json snapshot(Clock::time_point now = Clock::now()) const;
  /// Bumped on every change (for the server-sent-events stream).
  std::uint64_t version() const;
  /// Bumps version() without a change here: something else /api/state shows changed (the
  /// Applications view), so that the event streams send the state again.
  void mark_changed();

 private:
  struct Host {
    std::string friendly_name;
    std::map<std::string, std::string> labels;
    std::int64_t uptime_seconds = 0;
    Clock::time_point uptime_at{};
    Clock::time_point seen{};
    std::string lattice_prefix;
    std::string version;
  };
  struct Actor {
    int count = 0;
    std::string image_ref;
    std::int64_t revision = 0;
    std::string name;
    std::string app;  ///< wadm_app_of(an instance's annotations): "" when not wadm's
  };
  struct Provider {
    std::string contract_id;
    std::string status = "Awaiting";
    std::string name;
    std::string image_ref;
    std::string app;  ///< wadm_app_of(the provider's annotations)
  };
  struct Link {
    std::string actor_id, provider_id, link_name, contract_id;
    std::map<std::string, std::string> values;
  };
  struct Claim {
    std::string name;
    std::int64_t revision = 0;
  };
  void touch_host_locked(const std::string& id, Clock::time_point now);
  void drop_host_rows_locked(const std::string& id);
  std::string name_of_locked(const std::string& key) const;
  void set_link_locked(const nlohmann::json& d);

  mutable std::mutex mu_;
  std::string lattice_;
  std::uint64_t version_ = 1;
  std::map<std::string, Host> hosts_;
  std::map<std::pair<std::string, std::string>, Actor> actors_;  // (host, key)
  std::map<std::tuple<std::string, std::string, std::string>, Provider>
      providers_;                        // (host, key, link)
  std::map<std::string, Link> links_;    // id
  std::map<std::string, Claim> claims_;  // key
  std::map<std::string, std::string> refmap_;
};

/// Invocation counts, errors and latency per actor over the last `window` seconds, one bucket
/// per second, from `invocation_succeeded` / `invocation_failed` events (4.4.17). An event
/// counts for `dest.public_key` when that is an actor (`M…`), else for `source.public_key`.
/// Latency is taken from an optional numeric `data.duration_ms` / `latency_ms` / `elapsed_ms`
/// (the OTP event has none; the series is null then).
class InvocationMetrics {
 public:
  explicit InvocationMetrics(int window_seconds = 60);
  /// Records one rpcevt CloudEvent at wall-clock second `now_s`. Returns false (nothing
  /// recorded) when it is not an invocation event with an actor key.
  bool record(const nlohmann::json& event, std::int64_t now_s);
  /// `{"window_seconds", "now", "actors": [{"id", "total", "errors", "per_second": [N...],
  /// "errors_per_second": [N...], "latency_ms": [x|null...]}]}` (series oldest first, one value
  /// per second ending at `now_s`).
  nlohmann::json snapshot(std::int64_t now_s) const;
  /// Bumped on every recorded event.
  std::uint64_t version() const;

 private:
  struct Bucket {
    std::int64_t second = 0;
    int ok = 0, err = 0;
    double latency_sum = 0;
    int latency_n = 0;
  };
  struct Series {
    std::uint64_t total = 0, errors = 0;
    std::deque<Bucket> buckets;
  };
  mutable std::mutex mu_;
  int window_;
  std::uint64_t version_ = 0;
  std::map<std::string, Series> actors_;
};

/// Longest string, in bytes, the dashboard keeps from the lattice (event fields, control replies,
/// object keys): 4096, the host's own limit for a reference (src/host/control.h). One client on
/// NATS could otherwise send a 500 KB reference that ends up, whole, in every open page
/// (issue #17.3).
inline constexpr std::size_t kMaxLatticeText = 4096;

/// A copy of `j` in which every string value and object key longer than `max_bytes` is cut to
/// at most `max_bytes` bytes (at a UTF-8 character boundary) followed by "…". Numbers, arrays
/// and nesting are kept. LatticeState and InvocationMetrics apply it to everything they take in.
nlohmann::json cap_texts(const nlohmann::json& j, std::size_t max_bytes = kMaxLatticeText);

/// `1h 2m 3s`-style uptime text (days shown when non-zero; seconds always).
std::string uptime_human(std::int64_t seconds);

}  // namespace wc::web
