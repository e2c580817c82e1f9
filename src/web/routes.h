// The dashboard's HTTP surface: every route of the table in dashboard.h registered on the
// cpp-httplib server — security headers and RequestGuard checks, the page and its assets, the
// JSON API, the event stream (web/sse.h) and the POST actions (web/actions.h, web/uploads.h),
// with refused or failed actions also written to the event log. Owned by the Dashboard
// (src/web). Thread-safety: the handlers run on the server's worker threads at once; Router
// holds only references to components that lock internally, and reads its settings only.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "web/actions.h"
#include "web/applications.h"
#include "web/event_log.h"
#include "web/guard.h"
#include "web/hot_reload.h"
#include "web/sse.h"
#include "web/state.h"
#include "web/uploads.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace wc::web {

/// The Content-Type a UI asset is served with, from its extension (html, js, mjs, css, svg,
/// png, ico); "" for any other file, which is not served.
std::string mime_type(std::string_view path);

/// `s` with `&`, `<`, `>`, `"` and `'` as HTML character references.
std::string html_escape(std::string_view s);

/// index.html with `{{CSRF_TOKEN}}` replaced by `token` and `{{LATTICE}}` by the HTML-escaped
/// lattice name (every occurrence).
std::string render_index(std::string page, std::string_view token, std::string_view lattice);

/// The routes (see the file comment).
class Router {
 public:
  /// What the handlers use; every reference must outlive the server's workers.
  struct Deps {
    std::string ui_dir;    ///< index.html, app.js, ... (and node_modules/chart.js)
    std::string lattice;   ///< shown on the page and in /api/session
    std::string registry;  ///< the upload registry, in /api/session
    const RequestGuard& guard;
    EventLog& log;
    StreamSlots& slots;
    const LatticeState& state;
    const InvocationMetrics& metrics;
    const HotReloadWatcher& watcher;
    Actions& actions;
    Uploads& uploads;
    Applications& apps;
  };
  explicit Router(Deps deps) : d_(std::move(deps)) {}

  /// Registers every route and the pre-routing handler on `server`.
  void install(httplib::Server& server);

  /// GET /api/state: LatticeState::snapshot() + `"watches"` (HotReloadWatcher::to_json()) +
  /// `"applications"` (Applications::snapshot()).
  nlohmann::json state_json() const;

 private:
  using Handler = std::function<Reply(const httplib::Request&)>;
  /// A POST route behind RequestGuard::check_write (403 + log entry when refused).
  void guarded_post(httplib::Server& server, const std::string& path, Handler handler);
  /// A guarded POST route with a JSON object body (400 kBadJsonBody otherwise).
  void post(httplib::Server& server, const std::string& path,
            std::function<Reply(const nlohmann::json&)> handler);
  /// A guarded POST route with a multipart body (400 kPleaseSelectFile otherwise).
  void post_multipart(httplib::Server& server, const std::string& path, Handler handler);
  /// Writes `r`; a reply other than 200 is also logged as an `error` entry of type `action`.
  void send(httplib::Response& res, const Reply& r, const std::string& action);
  void serve_static(const std::string& rel, httplib::Response& res) const;
  void serve_events(const httplib::Request& req, httplib::Response& res);

  Deps d_;
};

}  // namespace wc::web
