// HostConfig: everything a lattice host is configured with, and where it comes from.
//
// Owned by src/host. Sources, lowest precedence first (control-interface 1.4, 1.5): built-in
// defaults, `./host_config.json` (if present), the WASMCLOUD_* / HOST_* / WASMCLOUD_LABEL_*
// environment, then command-line flags (src/cli/host_flags.h). resolve_identity() turns the seeds
// into key pairs (control-interface 1.1). Plain values; not synchronised (configure before
// starting). Secrets (seeds, JWTs, registry passwords) are never logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "lattice/topics.h"
#include "wascap/nkeys.h"

namespace wc::host {

/// The host version reported in pings, heartbeats and `host_started` (control-interface 1.1).
inline constexpr const char* kHostVersion = "0.63.2";

/// One NATS server and its credentials (control-interface 1.6).
struct NatsEndpoint {
  std::string host = "127.0.0.1";  ///< one server, or a comma-separated list (see urls())
  int port = 4222;
  std::string seed;  ///< nkey seed (secret)
  std::string jwt;   ///< user JWT (with seed)
  bool tls = false;

  /// Server URLs of this endpoint. `host` may list several servers of one NATS cluster,
  /// comma-separated, each `host`, `host:port` or a full URL (`nats://h:p`, `tls://h:p`); an
  /// entry without a port takes `port`, one without a scheme gets "nats://" ("tls://" when tls).
  /// The first entry is the preferred server (the host connects with no randomization); an
  /// empty `host` means 127.0.0.1. Never empty.
  [[nodiscard]] std::vector<std::string> urls() const;
  /// The first of urls() ("nats://host:port", or "tls://..." when tls).
  [[nodiscard]] std::string url() const;
  /// The first server as "host:port" without scheme (what providers get as lattice_rpc_url).
  [[nodiscard]] std::string address() const;
};

/// Host configuration (control-interface 1.5; field = JSON key of host_config.json).
struct HostConfig {
  std::string lattice_prefix = "default";
  std::string ctl_topic_prefix{lattice::topics::kDefaultCtlPrefix};
  std::string host_seed;     ///< server seed "SN..."; empty = generate
  std::string cluster_seed;  ///< cluster seed "SC..."; empty = ad-hoc cluster
  std::vector<std::string> cluster_issuers;
  /// Actor RPC: subscriptions, replies, outbound host calls (WASMCLOUD_RPC_*). Ours: 0.63
  /// subscribes actors on the control connection (actor-rpc-providers 4.1), issue #12.3.
  NatsEndpoint rpc;
  NatsEndpoint ctl;       ///< control interface, events, metadata, policy (WASMCLOUD_CTL_*)
  NatsEndpoint prov_rpc;  ///< given to providers (WASMCLOUD_PROV_RPC_*)
  int rpc_timeout_ms = 2000;
  /// Execution budget of one actor invocation in ms: guest time from its start, not counting
  /// time blocked in host calls (providers, other actors); a guest over it fails with
  /// "invocation deadline exceeded" (WASMCLOUD_MAX_EXECUTION_TIME_MS, `max_execution_time_ms`,
  /// `--max-execution-time-ms`). 0 (default) = execution_budget()'s automatic value. Ours: 0.63
  /// has no such setting (its actors wait at most 5 s, actor-rpc-providers 4.5).
  int max_execution_time_ms = 0;
  /// How long after its `iat` an invocation token is accepted, in seconds; its invocation id is
  /// remembered that long and a second delivery is refused (rpc/replay.h, issue #11.6)
  /// (WASMCLOUD_INVOCATION_REPLAY_WINDOW_S, `invocation_replay_window_s`,
  /// `--invocation-replay-window-s`). 0 = no replay check (0.63 behaviour). Ours.
  int invocation_replay_window_s = 300;
  std::optional<std::string> js_domain;  ///< "" is treated as unset
  bool allow_latest = false;
  std::vector<std::string> allowed_insecure;
  bool config_service_enabled = false;
  bool structured_logging = false;
  std::string log_level = "info";
  bool enable_ipv6 = false;
  bool allow_file_load = false;
  int provider_shutdown_delay_ms = 400;
  std::string policy_topic;          ///< empty = policy evaluation disabled
  std::string policy_changes_topic;  ///< empty = no override subscription
  int policy_timeout_ms = 1000;
  std::map<std::string, std::string> labels;  ///< final labels incl. hostcore.* (see make_labels)
  std::string friendly_name;                  ///< empty = random at start
  std::string oci_cache_dir;                  ///< empty = the OCI library's default
  /// PEM CA bundle trusted for HTTPS registries (WASMCLOUD_OCI_CA_FILE, `oci_ca_file`,
  /// `--oci-ca-file`); empty = the system CA store (claims-oci-par 4.4). Ours: the reference
  /// host has no such option.
  std::string oci_ca_file;
  /// Largest actor module accepted, bytes (WASMCLOUD_MAX_ACTOR_SIZE, `max_actor_size`,
  /// `--max-actor-size`; default 50 MiB as wasmCloud 1.x): an OCI manifest declaring more is
  /// refused before download, a longer download is cut off, a larger file:// module is refused
  /// (actor_start_failed, oci::errors::artifact_too_large). Ours: 0.63 has no such limit.
  std::uint64_t max_actor_size = 50u << 20;
  /// Largest provider archive accepted, bytes (WASMCLOUD_MAX_PROVIDER_SIZE,
  /// `max_provider_size`, `--max-provider-size`; default 256 MiB); as max_actor_size, failing
  /// with provider_start_failed.
  std::uint64_t max_provider_size = 256u << 20;
  /// Fallback OCI credentials (OCI_REGISTRY, OCI_REGISTRY_USER, OCI_REGISTRY_PASSWORD).
  std::string oci_registry, oci_registry_user, oci_registry_password;
  int heartbeat_interval_ms = 30000;  ///< control-interface 6.1
  int executor_threads = 8;           ///< invocation executor pool size
  /// Most actor instances this host runs at once, all actors together (WASMCLOUD_MAX_INSTANCES,
  /// `max_instances`, `--max-instances`); a start past it is refused (failure ack and
  /// actor_start_failed, errors::host_instance_limit). 0 = no limit. Ours: the reference host
  /// has no such limit.
  int max_instances = 1000;
  bool native_tier = true;  ///< compile actors to native code in the background
  /// Lets the builtin HTTP server run a known-fast actor's request on its event loop instead
  /// of the RPC pool (WASMCLOUD_BUILTIN_HTTP_INLINE, `builtin_http_inline`,
  /// `--builtin-http-inline`; ActorSupervisor::try_run_here has the rule). Off by default: an
  /// actor known fast whose next request waits in a host call (a lattice request, a policy
  /// request, a busy same-host callee) holds that loop, and every connection on it, for up to
  /// that call's timeout once. Ours (issue #14.4); docs/PERFORMANCE.md has what it gains.
  bool builtin_http_inline = false;
  std::string native_cache_dir;  ///< empty = the engine's default cache directory
  /// Prometheus endpoint (src/metrics): `GET http://{metrics_host}:{metrics_port}/metrics`.
  /// 0 (default) = not served (WASMCLOUD_METRICS_PORT, `metrics_port`, `--metrics-port`); the
  /// counters are kept either way. Ours: the reference host has no metrics endpoint.
  int metrics_port = 0;
  /// Address the metrics endpoint binds (WASMCLOUD_METRICS_HOST, `metrics_host`,
  /// `--metrics-host`); loopback by default, "0.0.0.0" to let a remote Prometheus scrape.
  std::string metrics_host = "127.0.0.1";
  /// Values of the environment or host_config.json that load_config() could not use (a port
  /// that is not an integer, a size that is not a positive byte count), one text each naming
  /// the variable and its value, e.g. "WASMCLOUD_CTL_PORT='abc' is not an integer"; the field
  /// keeps its default. `wasmcloud host` and `up` refuse to start when any is present (#17.8).
  std::vector<std::string> config_errors;
  /// The WASMCLOUD_* variables for which load_config() found a non-empty value, in the
  /// environment or as their host_config.json key (named by the variable either way), so that a
  /// caller can tell a setting the user gave from a default (`wasmcloud host` takes only the
  /// others from `up`'s lattice, issue #17.1).
  std::set<std::string> given;
};

/// The invocation budget the host gives the wasm engine (Limits::deadline):
/// `cfg.max_execution_time_ms` when > 0, else max(rpc_timeout_ms, 15 s) + 15 s, which outlasts
/// the longest wait of any caller (the RPC timeout, 15 s for payloads over 900 KiB, +13 s when
/// chunked, actor-rpc-providers 4.5), so the default never ends a call its caller still awaits.
std::chrono::milliseconds execution_budget(const HostConfig& cfg);

/// The environment as a name -> value map (a copy of `environ`).
std::map<std::string, std::string> process_environment();

/// Host labels (control-interface 1.3): every `HOST_<NAME>` -> `<name lower-cased>`, every
/// `WASMCLOUD_LABEL_<NAME>` -> `<name lower-cased>`, then hostcore.arch/os/osfamily (which win).
std::map<std::string, std::string> make_labels(const std::map<std::string, std::string>& env);

/// Builds a configuration from defaults, `json_file` (when non-empty and readable; unreadable or
/// non-JSON files count as empty, spec 1.4) and the environment `env`. Never fails; bad numbers
/// keep the default and are listed in `config_errors` (not logged: the caller decides).
HostConfig load_config(const std::map<std::string, std::string>& env,
                       const std::string& json_file = "host_config.json");

/// Splits a comma-separated list ("a,,b" -> {"a", "", "b"}; "" -> {}); no trimming. Used for
/// WASMCLOUD_CLUSTER_ISSUERS, WASMCLOUD_OCI_ALLOWED_INSECURE, server lists and their flags.
std::vector<std::string> split_commas(const std::string& s);

/// Applies the flag values collected by the command-line flags (src/cli/host_flags.h) that need
/// post-processing (labels, comma lists, the shared --nats-* options).
void finish_flags(HostConfig& cfg);

/// The host's keys (control-interface 1.1).
struct HostIdentity {
  wascap::KeyPair host_key;                  ///< server key "N..."
  wascap::KeyPair cluster_key;               ///< cluster key "C..."
  std::vector<std::string> cluster_issuers;  ///< own cluster key first unless already listed
  bool adhoc_cluster = false;                ///< the cluster seed was generated here
};

/// Resolves seeds: invalid or missing host seed -> fresh server key (logged); invalid or missing
/// cluster seed -> fresh cluster key and issuers = exactly [that key] (warning logged); otherwise
/// the cluster key is prepended to `cluster_issuers` if absent. Never fails.
HostIdentity resolve_identity(const HostConfig& cfg);

}  // namespace wc::host
