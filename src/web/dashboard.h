// The web dashboard: an HTTP server (cpp-httplib) that shows one lattice and manages it as a
// LATTICE CLIENT - every action is a control-interface request over NATS (CtlClient), never a
// call into a host's internals, so it manages every host of the lattice. Served by
// `wasmcloud dashboard` and embedded by `wasmcloud up`.
//
// Owned by src/web. Original behaviour: control-interface.md section 7 (pages, modals, messages,
// state monitor); requests: sections 2.3-2.4; events: section 4.
//
// HTTP surface (all JSON replies; POST bodies are JSON except the multipart uploads):
//   GET  /                        the single page (index.html with the CSRF token filled in)
//   GET  /static/<file>           UI assets from the UI directory (html, js, css, svg)
//   GET  /vendor/chart.umd.js     chart.js from the UI directory's node_modules (npm)
//   GET  /api/readyz | /api/livez {"ready": true} | {"live": true} (7.1)
//   GET  /api/session             {"csrf_token", "lattice", "version", "registry"}
//   GET  /api/state               LatticeState::snapshot() + {"watches": [{"path","host_id",
//                                 "actor_id","count","last_error"}]}
//   GET  /api/metrics             InvocationMetrics::snapshot()
//   GET  /api/log                 {"entries": [LogEntry...]} (most recent last, at most 500)
//   GET  /api/events              server-sent events: `state` (snapshot), `log` (LogEntry),
//                                 `metrics` (snapshot); a fresh stream starts with all three,
//                                 its first `log` entries (the history) marked "history": true.
//                                 Every lattice string is capped (web/state.h kMaxLatticeText).
//                                 503 {"accepted": false, "error"} (connection closed) past
//                                 DashboardConfig::max_streams / max_streams_per_client
//   POST /api/actors/start        StartActorForm → auction.actor (host "" = any), then
//                                 cmd.{host}.scale {"actor_id","actor_ref","count"}
//   POST /api/actors/upload       multipart `file` + `count`, `host_id`: push to the registry,
//                                 then as /api/actors/start with the pushed reference
//   POST /api/actors/hotreload    HotReloadForm: scale from file://path, then cmd.{host}.upd on
//                                 every change of the file
//   POST /api/hotwatch/stop       {"path"}: stop watching
//   POST /api/actors/scale        ScaleForm → cmd.{host}.scale (count 0 stops the actor)
//   POST /api/providers/start     StartProviderForm → auction.provider (host "" = any), lp
//   POST /api/providers/upload    multipart `file` + link_name, configuration, host_id: push, lp
//   POST /api/providers/stop      StopProviderForm → cmd.{host}.sp
//   POST /api/links/put           LinkForm → linkdefs.put
//   POST /api/links/delete        {"actor_id","contract_id","link_name"} → linkdefs.del
//   POST /api/apps/deploy         {"name","version"?} → wadm.api.{lattice}.model.deploy.{name}
//   POST /api/apps/undeploy       {"name"} → wadm.api.{lattice}.model.undeploy.{name}
//                                 (web/applications.h; /api/state's "applications" is the
//                                 Applications view, from model.list + model.status.{name})
// Every POST reply is {"accepted": bool, "error": string, ...details}; status 200 when the
// lattice accepted, 400 for validation messages, 403 for refused cross-site requests
// (RequestGuard), 502 for lattice / registry failures. Refusals and failures are also written
// to the live event log (level `error`), so nothing is swallowed.
//
// Threads: the HTTP server's pool (32 workers; each SSE stream holds one, at most
// max_streams of them), one refresher
// (ping.hosts + get.{host}.inv + get.links + get.claims, then the wadm API's model.list and
// model.status.{name}, every refresh_interval), one file
// watcher (hot reload), and the NATS delivery threads of the two event subscriptions. All
// public methods are thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "lattice/nats.h"
#include "lattice/topics.h"

namespace wc::web {

/// Dashboard settings. Defaults are those of the original (7.1): port 4000, loopback only.
struct DashboardConfig {
  /// Listen address; loopback unless told otherwise.
  std::string bind = "127.0.0.1";
  /// Listen port; 0 picks a free one (see Dashboard::port()).
  int port = 4000;
  /// NATS connection of the lattice (the control connection).
  lattice::ConnectOptions nats;
  /// Lattice prefix and control topic prefix.
  std::string lattice = "default";
  std::string ctl_prefix = std::string(lattice::topics::kDefaultCtlPrefix);
  /// Registry uploads are pushed to (`host[:port]`); plain HTTP when it is a loopback address.
  std::string registry = "127.0.0.1:5000";
  /// Further registries reached over plain HTTP (pull of claims, push).
  std::vector<std::string> allowed_insecure;
  /// Directory with index.html, app.js, style.css (and node_modules/chart.js); "" = looked up
  /// by find_ui_dir ($WASMCLOUD_DASHBOARD_UI_DIR, beside the executable, the source tree).
  std::string ui_dir;
  /// Timeout of control requests (original: 2 s).
  std::chrono::milliseconds ctl_timeout{2000};
  /// Timeout of cmd.{host}.upd, which the host answers only after swapping the module.
  std::chrono::milliseconds update_timeout{10000};
  /// How long ping.hosts collects replies.
  std::chrono::milliseconds ping_wait{1000};
  /// Period of the ping.hosts / inventory refresh.
  std::chrono::milliseconds refresh_interval{10000};
  /// Poll period of hot-reload files.
  std::chrono::milliseconds watch_interval{300};
  /// Event streams (`/api/events`) served at once; each holds one of the 32 HTTP workers, so
  /// this is clamped to 24 (8 workers stay for pages and the API). Past it: 503.
  std::size_t max_streams = 16;
  /// Event streams one client address may hold at once (a browser opens one per tab and at
  /// most 6 connections per server). Past it: 503.
  std::size_t max_streams_per_client = 4;
};

/// Applies the environment: WASMCLOUD_DASHBOARD_PORT (port), WASMCLOUD_DASHBOARD_BIND (listen
/// address), WASMCLOUD_LATTICE_PREFIX, WASMCLOUD_CTL_TOPIC_PREFIX, WASMCLOUD_CTL_HOST /
/// WASMCLOUD_CTL_PORT (NATS, 1.5), WASMCLOUD_DASHBOARD_REGISTRY, WASMCLOUD_DASHBOARD_UI_DIR.
/// kInvalidArgument for a port that is not a number in 0..65535.
Status apply_environment(DashboardConfig& cfg, const std::map<std::string, std::string>& env);

/// Where the dashboard's UI files are (a directory holding index.html), in this order:
/// 1. `explicit_dir` when not empty (DashboardConfig::ui_dir: `--ui-dir` or
///    WASMCLOUD_DASHBOARD_UI_DIR): it must hold index.html, else kNotFound — an explicit choice
///    never falls back to another directory;
/// 2. `<directory of exe_path>/../share/wasmcloud/ui` (an installed binary: /usr/bin/wasmcloud
///    finds /usr/share/wasmcloud/ui, /opt/x/bin/wasmcloud finds /opt/x/share/wasmcloud/ui);
///    skipped when `exe_path` is empty;
/// 3. `build_tree_dir`, the source tree's src/web/ui compiled into a build (skipped when empty).
/// Returns the first of 2–3 holding index.html, lexically normalised; kNotFound naming every
/// directory looked at when none does. Ours (issue #18): the original serves embedded assets.
Result<std::string> find_ui_dir(const std::string& explicit_dir, const std::string& exe_path,
                                const std::string& build_tree_dir);

/// find_ui_dir for this process: `explicit_dir`, else $WASMCLOUD_DASHBOARD_UI_DIR, then this
/// executable (/proc/self/exe) and the source tree's src/web/ui this build was configured from.
Result<std::string> find_ui_dir(const std::string& explicit_dir);

class DashboardImpl;

/// A running dashboard. Destroying it stops the server, the threads and the NATS connection.
class Dashboard {
 public:
  /// Connects to NATS, subscribes to the lattice's events, binds the HTTP listener and starts
  /// serving. Errors: kUnavailable (NATS unreachable, port in use), kInvalidArgument (bad bind
  /// address), kNotFound (UI directory without index.html).
  static Result<std::unique_ptr<Dashboard>> start(const DashboardConfig& config);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  /// The bound port.
  int port() const;
  /// `http://<bind>:<port>/`.
  std::string url() const;
  /// The CSRF token POST requests must send in `X-CSRF-Token`.
  const std::string& csrf_token() const;
  /// Stops serving (idempotent); called by the destructor.
  void stop();

 private:
  explicit Dashboard(std::unique_ptr<DashboardImpl> impl);
  std::unique_ptr<DashboardImpl> impl_;
};

}  // namespace wc::web
