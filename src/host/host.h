// wc::host::Host: one wasmCloud lattice host (OTP 0.63 wire-compatible).
//
// Owns two NATS connections (control and RPC, control-interface.md 1.6), the control server
// (2.1-2.5), the actor supervisor (3.2-3.5), one queue-group RPC subscription per running actor
// (actor-rpc-providers.md 4.3-4.4), outbound host-call routing (2.1-2.5), the policy hook (8),
// lattice events and heartbeats (control-interface.md 4, 6.1). NATS delivery threads only hand
// work to executor pools; guest code and registry pulls never run on them.
//
// "count" is concurrency: an actor with N instances serves at most N invocations at once (one
// compiled module shared by all instances, an instance-slot semaphore in front of it).
//
// Thread-safety: every public method is thread-safe. Lifetime: Host::start() returns a running
// host; stop() (or the destructor, or a `cmd.{host}.stop` request) halts every actor, publishes
// host_stopped and closes the connections.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "host/config.h"
#include "host/inventory.h"

namespace wc::host {

class Host {
 public:
  /// Resolves the identity, connects both NATS connections (retrying in the background when
  /// the server is not up yet is NOT done: a missing server fails with kUnavailable), subscribes
  /// the control interface and publishes `host_started`. Errors: kUnavailable (NATS), kInternal
  /// (wasm engine).
  static Result<std::unique_ptr<Host>> start(HostConfig config);

  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// Halts every actor (actor_stopped per instance), publishes host_stopped, closes NATS.
  /// Idempotent.
  void stop();
  /// Blocks until the host has stopped (by stop() or a `cmd.{host}.stop` request) or `timeout`
  /// passes; returns true when stopped.
  bool wait_stopped(std::chrono::milliseconds timeout);
  /// True once the host has begun stopping.
  bool stopping() const;

  /// Host public key ("N...").
  const std::string& host_id() const;
  /// Cluster public key ("C...").
  const std::string& cluster_key() const;
  /// Lattice prefix.
  const std::string& lattice() const;
  /// Friendly name.
  const std::string& friendly_name() const;
  /// Snapshot of running actors (registry order).
  std::vector<ActorInfo> actors() const;

  struct Impl;

 private:
  explicit Host(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wc::host
