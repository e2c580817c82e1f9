// The command-line flags of a lattice host (`wasmcloud host`, `wasmcloud up`): each overrides
// the HostConfig field loaded from host_config.json and the WASMCLOUD_* environment
// (control-interface.md 1.4, 1.5). Flag parsing belongs to the CLI, so CLI11 stays out of
// src/host (issue 13.1); header-only because both subcommands and the host configuration tests
// use it.
//
// Owned by src/cli. Not thread-safe (configure before starting the host).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/config.h"

namespace wc::cli {

/// Registers `--lattice-prefix`, `--host-seed`, `--cluster-seed`, `--cluster-issuers`,
/// `--nats-host/--nats-port` (both connections), `--rpc-*`, `--ctl-*`, `--allow-latest`,
/// `--allowed-insecure`, `--allow-file-load`, `--policy-topic`, `--structured-logging`,
/// `--log-level`, `--label k=v`, ... on `app`, each overriding the field in `cfg` when given.
/// `cfg` must outlive parsing; call host::finish_flags() after parsing.
inline void add_host_flags(CLI::App& app, host::HostConfig& cfg) {
  app.add_option("--lattice-prefix,-x", cfg.lattice_prefix,
                 "Lattice prefix (WASMCLOUD_LATTICE_PREFIX)");
  app.add_option("--ctl-topic-prefix", cfg.ctl_topic_prefix,
                 "Control topic prefix (WASMCLOUD_CTL_TOPIC_PREFIX)");
  app.add_option("--host-seed", cfg.host_seed, "Host server seed SN... (WASMCLOUD_HOST_SEED)");
  app.add_option("--cluster-seed", cfg.cluster_seed, "Cluster seed SC... (WASMCLOUD_CLUSTER_SEED)");
  app.add_option_function<std::string>(
      "--cluster-issuers",
      [&cfg](const std::string& v) {
        cfg.cluster_issuers.clear();
        for (auto& s : host::split_commas(v))
          if (!s.empty()) cfg.cluster_issuers.push_back(s);
      },
      "Comma-separated accepted cluster issuers (WASMCLOUD_CLUSTER_ISSUERS)");
  app.add_option_function<std::string>(
      "--nats-host",
      [&cfg](const std::string& v) { cfg.rpc.host = cfg.ctl.host = cfg.prov_rpc.host = v; },
      "NATS host for both connections; a comma-separated list of host[:port] or URLs names "
      "several servers of one cluster, the first preferred");
  app.add_option_function<int>(
      "--nats-port", [&cfg](int v) { cfg.rpc.port = cfg.ctl.port = cfg.prov_rpc.port = v; },
      "NATS port for both connections");
  auto endpoint = [&app](host::NatsEndpoint& ep, const std::string& name, const std::string& env) {
    app.add_option("--" + name + "-host", ep.host,
                   "NATS host or comma-separated server list (" + env + "_HOST)");
    app.add_option("--" + name + "-port", ep.port, "NATS port (" + env + "_PORT)");
    app.add_option("--" + name + "-seed", ep.seed, "NATS nkey seed (" + env + "_SEED)");
    app.add_option("--" + name + "-jwt", ep.jwt, "NATS user JWT (" + env + "_JWT)");
    app.add_flag("--" + name + "-tls", ep.tls, "TLS on this connection (" + env + "_TLS)");
  };
  endpoint(cfg.rpc, "rpc", "WASMCLOUD_RPC");
  endpoint(cfg.ctl, "ctl", "WASMCLOUD_CTL");
  endpoint(cfg.prov_rpc, "prov-rpc", "WASMCLOUD_PROV_RPC");
  app.add_option("--rpc-timeout-ms", cfg.rpc_timeout_ms,
                 "Outbound RPC timeout in ms (WASMCLOUD_RPC_TIMEOUT_MS)");
  app.add_option("--max-execution-time-ms", cfg.max_execution_time_ms,
                 "Execution budget of one actor invocation in ms, not counting time blocked in "
                 "host calls; 0 = max(rpc timeout, 15000) + 15000 "
                 "(WASMCLOUD_MAX_EXECUTION_TIME_MS)");
  app.add_option("--invocation-replay-window-s", cfg.invocation_replay_window_s,
                 "Seconds after its issue time an invocation is accepted and its id remembered "
                 "to refuse replays; 0 = no replay check (WASMCLOUD_INVOCATION_REPLAY_WINDOW_S, "
                 "default 300)");
  app.add_option_function<std::string>(
      "--js-domain",
      [&cfg](const std::string& v) {
        if (v.empty())
          cfg.js_domain.reset();
        else
          cfg.js_domain = v;
      },
      "JetStream domain (WASMCLOUD_JS_DOMAIN)");
  app.add_flag("--allow-latest", cfg.allow_latest,
               "Allow OCI references tagged latest (WASMCLOUD_OCI_ALLOW_LATEST)");
  app.add_option_function<std::string>(
      "--allowed-insecure",
      [&cfg](const std::string& v) { cfg.allowed_insecure = host::split_commas(v); },
      "Comma-separated registries reached over plain HTTP (WASMCLOUD_OCI_ALLOWED_INSECURE)");
  app.add_flag("--allow-file-load", cfg.allow_file_load,
               "Allow file:// references (WASMCLOUD_ALLOW_FILE_LOAD)");
  app.add_option("--policy-topic", cfg.policy_topic,
                 "Policy service subject (WASMCLOUD_POLICY_TOPIC)");
  app.add_option("--policy-changes-topic", cfg.policy_changes_topic,
                 "Policy decision override subject (WASMCLOUD_POLICY_CHANGES_TOPIC)");
  app.add_option("--policy-timeout-ms", cfg.policy_timeout_ms,
                 "Policy request timeout in ms (WASMCLOUD_POLICY_TIMEOUT)");
  app.add_flag("--structured-logging", cfg.structured_logging,
               "JSON log lines (WASMCLOUD_STRUCTURED_LOGGING_ENABLED)");
  app.add_option("--log-level", cfg.log_level, "trace|debug|info|warn|error (WASMCLOUD_LOG_LEVEL)");
  app.add_flag("--enable-ipv6", cfg.enable_ipv6, "IPv6 sockets for NATS (WASMCLOUD_ENABLE_IPV6)");
  app.add_flag("--config-service", cfg.config_service_enabled,
               "Query the configuration service at start (WASMCLOUD_CONFIG_SERVICE)");
  app.add_option("--friendly-name", cfg.friendly_name, "Friendly name (default: random)");
  app.add_option("--oci-cache-dir", cfg.oci_cache_dir, "OCI artifact cache directory");
  app.add_option("--oci-ca-file", cfg.oci_ca_file,
                 "PEM CA bundle trusted for HTTPS registries (WASMCLOUD_OCI_CA_FILE)");
  app.add_option("--max-actor-size", cfg.max_actor_size,
                 "Largest actor module accepted, bytes (WASMCLOUD_MAX_ACTOR_SIZE, default 50 MiB)")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-provider-size", cfg.max_provider_size,
                 "Largest provider archive accepted, bytes (WASMCLOUD_MAX_PROVIDER_SIZE, default "
                 "256 MiB)")
      ->check(CLI::PositiveNumber);
  app.add_flag("!--no-native", cfg.native_tier,
               "Run actors on the interpreter only (no background native compilation)");
  app.add_option("--native-cache-dir", cfg.native_cache_dir, "Native-code cache directory");
  app.add_flag("--builtin-http-inline", cfg.builtin_http_inline,
               "Run known-fast actors' builtin HTTP requests on its event loops "
               "(WASMCLOUD_BUILTIN_HTTP_INLINE; off: a request whose host call then waits holds "
               "its loop)");
  app.add_option("--metrics-port", cfg.metrics_port,
                 "Serve Prometheus metrics on this port at /metrics; 0 = off "
                 "(WASMCLOUD_METRICS_PORT)");
  app.add_option("--metrics-host", cfg.metrics_host,
                 "Address the metrics endpoint binds (WASMCLOUD_METRICS_HOST, default 127.0.0.1)");
  app.add_option("--max-instances", cfg.max_instances,
                 "Most actor instances on this host, all actors together; 0 = no limit "
                 "(WASMCLOUD_MAX_INSTANCES, default 1000)");
  app.add_option("--heartbeat-interval-ms", cfg.heartbeat_interval_ms,
                 "Heartbeat period in ms (default 30000)");
  app.add_option_function<std::vector<std::string>>(
      "--label,-l",
      [&cfg](const std::vector<std::string>& kvs) {
        for (const auto& kv : kvs) {
          auto eq = kv.find('=');
          if (eq == std::string::npos || eq == 0) continue;
          cfg.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
      },
      "Host label key=value (repeatable; also HOST_* and WASMCLOUD_LABEL_*)");
}

}  // namespace wc::cli
