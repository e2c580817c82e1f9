// wc::host::ProviderSupervisor: the capability providers one host runs as child processes
// (control-interface.md 3.6, 6.2, 6.3; actor-rpc-providers.md 5.3-5.6).
//
// Owned by Host::Impl. It extracts the native binary of a loaded provider archive to the
// executable cache, spawns it with the host-data line on stdin (kept open), logs its stdout,
// health-checks it (first check after `health_first`, then every `health_interval` counted from
// start), restarts it with exponential backoff when it exits unexpectedly, and stops it with a
// shutdown request followed by SIGKILL. One supervisor thread reaps children (waitpid WNOHANG)
// and runs the health checks; a reader thread per child logs its stdout.
//
// Thread-safety: every public method is thread-safe. Callbacks are invoked without the
// supervisor's lock held, from the caller's thread or the supervisor thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "host/control.h"
#include "host/inventory.h"
#include "lattice/nats.h"
#include "par/par.h"
#include "rpc/host_data.h"

namespace wc::host {

/// What the supervisor needs from its host.
struct ProviderSupervisorDeps {
  /// Publishes a lattice event (type, data) on the control connection.
  std::function<void(std::string_view, const nlohmann::json&)> emit;
  /// The RPC connection (health and shutdown requests); not owned, outlives the supervisor.
  lattice::Connection* rpc = nullptr;
  /// Link definitions of (provider key, link name) currently cached by the host.
  std::function<std::vector<LinkDefinition>(const std::string&, const std::string&)> links_for;
  /// Host data with every host-wide field set (host_id, prefix, url, jwt/seed, tls,
  /// invocation_seed, cluster_issuers, timeouts, logging); the supervisor fills link_name,
  /// provider_key, instance_id, link_definitions and config_json.
  rpc::HostData base_host_data;
  /// Lattice prefix (subjects).
  std::string lattice_prefix;
  std::chrono::milliseconds rpc_timeout{2000};
  std::chrono::milliseconds health_first{5000};      ///< 6.2: first check after start
  std::chrono::milliseconds health_interval{30000};  ///< 6.2: then every interval from start
  std::chrono::milliseconds restart_backoff_min{500};
  std::chrono::milliseconds restart_backoff_max{30000};
  /// Executable cache root ("" = $TMPDIR or /tmp), par::extract_to_cache's tmp_dir.
  std::string cache_dir;
};

/// What to start.
struct ProviderStart {
  par::ProviderArchive archive;  ///< loaded for the native target
  std::string image_ref;
  std::string link_name = "default";
  std::string configuration;  ///< config_json of the host data
  StringMap annotations;
};

class ProviderSupervisor {
 public:
  explicit ProviderSupervisor(ProviderSupervisorDeps deps);
  /// stop_all().
  ~ProviderSupervisor();
  ProviderSupervisor(const ProviderSupervisor&) = delete;
  ProviderSupervisor& operator=(const ProviderSupervisor&) = delete;

  /// Extracts, spawns and registers the provider, then publishes provider_started (3.6.1 step
  /// 5). Errors: kAlreadyExists errors::kProviderAlreadyRunningOnHost when (key, link) is already
  /// supervised; kUnavailable (cache write, spawn, pipe). No event is published on error (the
  /// caller publishes provider_start_failed).
  Result<ProviderInfo> start(ProviderStart spec);

  /// Stops every instance with this key and link name (3.6.3): shutdown request (2 s), SIGKILL,
  /// provider_stopped reason "normal". Returns how many were stopped.
  std::size_t stop(const std::string& public_key, const std::string& link_name);

  /// Stops every provider (host shutdown, 6.3 step 2). Idempotent.
  void stop_all();

  /// True when (key, link) is supervised (running or waiting for a restart).
  bool supervised(const std::string& public_key, const std::string& link_name) const;

  /// Providers whose process is alive (a crashed one waiting for its restart is not listed).
  std::vector<ProviderInfo> running() const;

  /// OS process id of (key, link), or -1 when not running (tests, fault injection).
  int pid_of(const std::string& public_key, const std::string& link_name) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wc::host
