// wc::host::BuiltinHttpServer: the host's builtin `wasmcloud:httpserver` capability provider
// (issue #14.4). It is started, shown, linked and stopped like any capability provider: `lp`
// with the reference `builtin://httpserver` (kBuiltinHttpServerRef), inventory and heartbeat
// list it, an ordinary wasmcloud:httpserver link definition from an actor to its key
// (builtin_http_server_key(): one fixed key, the same on every host) with the provider's
// `values` (port / address / config_json ...; httpd/link_config.h) opens a listener, `sp` stops
// it. Each request becomes an `HttpServer.HandleRequest` invocation with the provider's
// HttpRequest / HttpResponse msgpack (rpc/http.h):
//   * when the linked actor has an instance on this host, it runs there in-process
//     (RpcDispatcher::invoke_local): no NATS hop and no token, the same slots, authorization,
//     guest deadline, metrics and rpc events as a lattice invocation. Who runs the guest:
//       - by default an RPC pool worker (ActorSupervisor::admit_local): a slow guest, or one
//         waiting in a host call, holds its slot and never an event loop;
//       - only when the host runs with `builtin_http_inline` (--builtin-http-inline, off by
//         default; deps.try_run_here set): the event-loop thread that parsed the request, when
//         the actor is known fast, one of its slots is free and nothing of it is queued
//         (ActorSupervisor::try_run_here: each of its last 16 observed in-process runs took
//         < 200 µs of wall time and waited in no host call, and no inline run of it has been
//         running for 200 µs or more); the answer is written at once, no hand-off. A guest
//         that turns slow then stalls its event loop (every connection of that loop) at most
//         once per observation window of 16 runs, for up to the guest's execution budget plus
//         its host-call waits (each bounded by its own timeout: 2 s for a lattice call by
//         default); the runs after it go to the pool until 16 in a row were fast again;
//   * otherwise it goes to the lattice as a signed invocation from this provider
//     (RpcDispatcher::call_actor) on an RPC pool thread.
// A request sent to the RPC pool is answered at the latest at the link's `timeout_ms` (else the
// host's RPC timeout) after it arrived, as the httpserver provider's RPC timeout bounds it: a
// timer thread (`wc-http-dl`) answers 503 then; a request still queued never runs (the
// supervisor skips it when it reaches a slot), a running one runs to its end (its execution
// budget) and its result is dropped. A full queue answers 503 at once. An inline run is bounded
// by the guest's execution budget and its host calls' timeouts only (its event loop is the
// thread running it).
// The HTTP side is httpd::Server (event loops, keep-alive, body limit, idle timeout, bounded
// connections). Failed calls answer 503 (deadline, unavailable, not running) or 500.
//
// Owned by Host::Impl. Thread-safety: every public method is thread-safe; one mutex (`mu_`)
// guards the started link names and listeners and is never held while a listener starts or
// stops, an event is published or an actor is called (lock order: taken after nothing, before
// nothing of the other components). The deadline timer's own mutex guards its queue only and is
// a leaf (never held while a request is answered).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/thread_annotations.h"
#include "host/actor_supervisor.h"
#include "host/bus.h"
#include "host/inventory.h"
#include "httpd/link_config.h"
#include "httpd/server.h"
#include "rpc/messages.h"

namespace wc::host {

/// Scheme of the host's builtin provider references.
inline constexpr std::string_view kBuiltinScheme = "builtin://";
/// The provider reference that starts the builtin HTTP server (`lp` provider_ref).
inline constexpr std::string_view kBuiltinHttpServerRef = "builtin://httpserver";
/// Its contract id.
inline constexpr std::string_view kHttpServerContract = "wasmcloud:httpserver";

/// The builtin HTTP server's provider key: the service key (V...) of the key pair whose seed is
/// SHA-256("wasmcloud-cpp builtin wasmcloud:httpserver"), the same on every host, so one link
/// definition serves every host of the lattice that runs the builtin.
const std::string& builtin_http_server_key();

/// What the builtin server needs from its host.
struct BuiltinHttpDeps {
  /// In-process invocation of a local instance (ActorSupervisor::admit_local): false when the
  /// actor has no instance here.
  std::function<bool(const std::string& actor_key, std::shared_ptr<LocalInvocation>)> invoke_local;
  /// Runs it on the calling event-loop thread when the actor is known fast and a slot is free
  /// (ActorSupervisor::try_run_here): true = ran, `done` called. Empty = always invoke_local.
  std::function<bool(const std::string& actor_key, LocalInvocation& invocation)> try_run_here;
  /// Signed invocation through the lattice (RpcDispatcher::call_actor); blocks.
  std::function<Result<Bytes>(const rpc::WasmCloudEntity& origin, const std::string& actor_key,
                              std::string_view operation, Bytes payload)>
      invoke_remote;
  /// Runs a blocking lattice call off the event loops; false when shut down.
  Poster post_rpc;
  /// Links of (provider key, link name) cached by the host, at start.
  std::function<std::vector<rpc::LinkDefinition>(const std::string&, const std::string&)> links_for;
  /// Publishes provider_started, health_check_passed, provider_stopped.
  EventEmitter emit;
  /// How long a request may wait for its actor when its link sets no `timeout_ms` (the host's
  /// RPC timeout, as providers get it in their host data).
  std::chrono::milliseconds default_timeout{2000};
  /// Event-loop threads per listener (httpd::Options::threads; 0 = one per CPU).
  unsigned loop_threads = 0;
};

class BuiltinHttpServer {
 public:
  explicit BuiltinHttpServer(BuiltinHttpDeps deps);
  /// stop_all() without events.
  ~BuiltinHttpServer();
  BuiltinHttpServer(const BuiltinHttpServer&) = delete;
  BuiltinHttpServer& operator=(const BuiltinHttpServer&) = delete;

  /// Starts the provider under `link_name`: provider_started, then a listener for every cached
  /// link of it. Errors: kAlreadyExists errors::kProviderAlreadyRunningOnHost.
  Result<ProviderInfo> start(const std::string& link_name, const StringMap& annotations)
      EXCLUDES(mu_);
  /// True when running under `link_name` and `key` is builtin_http_server_key().
  bool supervised(const std::string& key, const std::string& link_name) const EXCLUDES(mu_);
  /// Stops the provider under `link_name` (its listeners close, provider_stopped "normal").
  /// Returns false when it was not running.
  bool stop(const std::string& link_name) EXCLUDES(mu_);
  /// Stops every link name (host shutdown), with events.
  void stop_all() EXCLUDES(mu_);
  /// Inventory entries, one per running link name.
  std::vector<ProviderInfo> running() const EXCLUDES(mu_);

  /// A link definition was set (`set`) or deleted in the host's cache. Links of another provider
  /// key, or of a link name not running here, are ignored. A set opens (or re-opens, when it
  /// changed) the actor's listener; bad values or a busy port are logged and leave no listener
  /// (an earlier one of that link is closed: the lattice now holds the new values).
  void link_changed(const rpc::LinkDefinition& link, bool set) EXCLUDES(mu_);

  /// The bound port of the listener for `actor_key` under `link_name`, 0 when none (tests).
  int port_of(const std::string& actor_key, const std::string& link_name) const EXCLUDES(mu_);

 private:
  struct Listener;
  class Deadlines;
  void open(const rpc::LinkDefinition& link) EXCLUDES(mu_);
  /// Closes the listener of (link name, actor), if any.
  void close(const std::pair<std::string, std::string>& id) EXCLUDES(mu_);
  void handle(const std::shared_ptr<Listener>& listener, httpd::Request request,
              httpd::Respond respond);

  BuiltinHttpDeps deps_;
  mutable Mutex mu_;
  std::map<std::string, ProviderInfo> started_ GUARDED_BY(mu_);  ///< link name -> inventory
  /// (link name, actor key) -> its listener.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Listener>> listeners_
      GUARDED_BY(mu_);
  /// Answers requests sent to the RPC pool at their deadline (its own thread, `wc-http-dl`).
  std::shared_ptr<Deadlines> deadlines_;
};

}  // namespace wc::host
