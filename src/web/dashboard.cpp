// The dashboard's lifecycle (see dashboard.h): the environment, the NATS connection and its
// control clients, the two event subscriptions, the refresher thread, the HTTP server, and the
// components it wires together — the event log (event_log.h), event-stream slots (sse.h), the
// hot-reload watcher (hot_reload.h), the actions (actions.h), uploads (uploads.h) and the
// routes (routes.h).
#include "web/dashboard.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "lattice/ctl_client.h"
#include "lattice/topics.h"
#include "wascap/jwt.h"
#include "web/actions.h"
#include "web/applications.h"
#include "web/event_log.h"
#include "web/forms.h"
#include "web/guard.h"
#include "web/hot_reload.h"
#include "web/routes.h"
#include "web/sse.h"
#include "web/state.h"
#include "web/uploads.h"

#ifndef WC_WEB_UI_DIR
#define WC_WEB_UI_DIR ""
#endif

namespace wc::web {
namespace {

using nlohmann::json;
namespace topics = lattice::topics;

/// Idle keep-alive connections are closed after this long; it bounds how long stop() waits for
/// a browser's idle connection (httplib's default is 5 s).
constexpr time_t kKeepAliveSeconds = 1;
/// How long stop() lets NATS flush before closing the connection.
constexpr std::chrono::milliseconds kDrainTimeout{1000};
/// Worker threads of the HTTP server. Every event stream holds one for its whole life.
constexpr std::size_t kHttpThreads = 32;
/// Workers never given to event streams, so pages, the API and health checks are always served
/// (DashboardConfig::max_streams is clamped to kHttpThreads - kReservedThreads).
constexpr std::size_t kReservedThreads = 8;

}  // namespace

// ------------------------------------------------------------------------------------------
Status apply_environment(DashboardConfig& cfg, const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) -> const std::string* {
    auto it = env.find(k);
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (auto* p = get("WASMCLOUD_DASHBOARD_PORT")) {
    try {
      std::size_t used = 0;
      int v = std::stoi(*p, &used);
      if (used != p->size() || v < 0 || v > 65535) throw std::out_of_range("port");
      cfg.port = v;
    } catch (...) {
      return fail(Code::kInvalidArgument, "WASMCLOUD_DASHBOARD_PORT is not a port: " + *p);
    }
  }
  if (auto* b = get("WASMCLOUD_DASHBOARD_BIND")) cfg.bind = *b;
  if (auto* l = get("WASMCLOUD_LATTICE_PREFIX")) cfg.lattice = *l;
  if (auto* c = get("WASMCLOUD_CTL_TOPIC_PREFIX")) cfg.ctl_prefix = *c;
  if (auto* r = get("WASMCLOUD_DASHBOARD_REGISTRY")) cfg.registry = *r;
  if (auto* u = get("WASMCLOUD_DASHBOARD_UI_DIR")) cfg.ui_dir = *u;
  const std::string* h = get("WASMCLOUD_CTL_HOST");
  const std::string* port = get("WASMCLOUD_CTL_PORT");
  if (h || port)
    cfg.nats.servers = {"nats://" + (h ? *h : std::string("127.0.0.1")) + ":" +
                        (port ? *port : std::string("4222"))};
  return ok();
}

// ------------------------------------------------------------------------------------------
Result<std::string> find_ui_dir(const std::string& explicit_dir, const std::string& exe_path,
                                const std::string& build_tree_dir) {
  namespace fs = std::filesystem;
  auto has_index = [](const fs::path& dir) {
    std::error_code ec;
    return fs::is_regular_file(dir / "index.html", ec);
  };
  if (!explicit_dir.empty()) {
    if (has_index(explicit_dir)) return fs::path(explicit_dir).lexically_normal().string();
    return fail(Code::kNotFound, "Dashboard UI not found: " + explicit_dir +
                                     "/index.html (from --ui-dir or WASMCLOUD_DASHBOARD_UI_DIR)");
  }
  std::vector<fs::path> candidates;
  if (!exe_path.empty())
    candidates.push_back((fs::path(exe_path).parent_path() / ".." / "share" / "wasmcloud" / "ui")
                             .lexically_normal());
  if (!build_tree_dir.empty()) candidates.push_back(fs::path(build_tree_dir).lexically_normal());
  std::string tried;
  for (const auto& c : candidates) {
    if (has_index(c)) return c.string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  return fail(Code::kNotFound,
              "Dashboard UI not found (no index.html in " + (tried.empty() ? "-" : tried) +
                  "); name its directory with --ui-dir or WASMCLOUD_DASHBOARD_UI_DIR");
}

Result<std::string> find_ui_dir(const std::string& explicit_dir) {
  std::string dir = explicit_dir;
  if (dir.empty())
    if (const char* e = std::getenv("WASMCLOUD_DASHBOARD_UI_DIR"); e && *e) dir = e;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return find_ui_dir(dir, ec ? std::string() : exe.string(), WC_WEB_UI_DIR);
}

// ------------------------------------------------------------------------------------------
// The running dashboard: owns every component; threads as dashboard.h lists them.
class DashboardImpl {
 public:
  explicit DashboardImpl(DashboardConfig cfg)
      : cfg_(std::move(cfg)), state_(cfg_.lattice), guard_({}, "") {}

  ~DashboardImpl() { stop(); }

  Status start();
  void stop();

  DashboardConfig cfg_;
  LatticeState state_;
  InvocationMetrics metrics_{60};
  RequestGuard guard_;
  int port_ = 0;

 private:
  void on_event(lattice::Message m, bool rpc);
  /// ping.hosts, then each host's inventory, the links and the claims into state_.
  void refresh();
  void refresher_loop();
  /// True once stop() began (the refresher gives up between requests).
  bool is_stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  std::unique_ptr<lattice::Connection> nc_;
  std::unique_ptr<lattice::CtlClient> ctl_;
  std::unique_ptr<lattice::CtlClient> ctl_slow_;
  std::unique_ptr<lattice::CtlClient> ctl_ping_;
  lattice::Subscription evt_sub_, rpcevt_sub_;
  EventLog log_;
  std::unique_ptr<StreamSlots> slots_;
  std::unique_ptr<HotReloadWatcher> watcher_;
  std::unique_ptr<Actions> actions_;
  std::unique_ptr<Uploads> uploads_;
  std::unique_ptr<Applications> apps_;
  std::unique_ptr<Router> router_;
  httplib::Server server_;
  std::thread server_thread_, refresher_;
  std::string ui_dir_;

  mutable std::mutex mu_;  // stopping_ (the refresher's wake-up)
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> stopped_{false};
  int listen_fd_ = -1;  // the listening socket, as last seen by the socket-options hook
};

Status DashboardImpl::start() {
  auto ui = find_ui_dir(cfg_.ui_dir);
  if (!ui) return fail(ui.error());
  ui_dir_ = std::move(*ui);

  auto opts = cfg_.nats;
  if (opts.name.empty()) opts.name = "wasmcloud-dashboard";
  auto nc = lattice::Connection::connect(opts);
  if (!nc) return fail(nc.error());
  nc_ = std::move(*nc);
  ctl_ = std::make_unique<lattice::CtlClient>(*nc_, cfg_.lattice, cfg_.ctl_prefix, cfg_.ctl_timeout,
                                              cfg_.ctl_timeout);
  ctl_slow_ = std::make_unique<lattice::CtlClient>(*nc_, cfg_.lattice, cfg_.ctl_prefix,
                                                   cfg_.update_timeout, cfg_.ctl_timeout);
  ctl_ping_ = std::make_unique<lattice::CtlClient>(*nc_, cfg_.lattice, cfg_.ctl_prefix,
                                                   cfg_.ctl_timeout, cfg_.ping_wait);
  auto evt = nc_->subscribe(topics::events(cfg_.lattice),
                            [this](lattice::Message m) { on_event(std::move(m), false); });
  if (!evt) return fail(evt.error());
  evt_sub_ = std::move(*evt);
  auto rpcevt = nc_->subscribe(topics::rpc_events(cfg_.lattice),
                               [this](lattice::Message m) { on_event(std::move(m), true); });
  if (!rpcevt) return fail(rpcevt.error());
  rpcevt_sub_ = std::move(*rpcevt);

  slots_ = std::make_unique<StreamSlots>(
      std::min(cfg_.max_streams, kHttpThreads - kReservedThreads), cfg_.max_streams_per_client);
  watcher_ = std::make_unique<HotReloadWatcher>(
      [this](const CtlRequest& r) { return command(*ctl_slow_, r); }, state_, log_,
      cfg_.watch_interval);
  actions_ =
      std::make_unique<Actions>(*ctl_, state_, *watcher_, cfg_.registry, cfg_.allowed_insecure);
  uploads_ = std::make_unique<Uploads>(*actions_, state_);
  apps_ = std::make_unique<Applications>(
      cfg_.lattice,
      [this](const std::string& subject, const std::string& body) -> Result<std::string> {
        auto m = nc_->request(subject, body, cfg_.ctl_timeout);
        if (!m) return fail(m.error());
        return std::string(m->text());
      });
  router_ = std::make_unique<Router>(Router::Deps{ui_dir_, cfg_.lattice, cfg_.registry, guard_,
                                                  log_, *slots_, state_, metrics_, *watcher_,
                                                  *actions_, *uploads_, *apps_});
  server_.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // dashboard share a port that is already in use. The hook sees each candidate socket before
  // its bind; the last one seen is the one that got bound.
  server_.set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  server_.set_payload_max_length(kMaxProviderUpload + (1u << 20));
  server_.set_read_timeout(30, 0);
  server_.set_keep_alive_timeout(kKeepAliveSeconds);
  router_->install(server_);
  if (cfg_.port == 0) {
    port_ = server_.bind_to_any_port(cfg_.bind);
    if (port_ < 0) return fail(Code::kUnavailable, "Cannot listen on " + cfg_.bind);
  } else {
    if (!server_.bind_to_port(cfg_.bind, cfg_.port))
      return fail(Code::kUnavailable,
                  "Cannot listen on " + cfg_.bind + ":" + std::to_string(cfg_.port));
    port_ = cfg_.port;
  }
  // cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into
  // Debian's libcpp-httplib): a burst of connections overflows the accept queue and the kernel
  // drops SYNs (the client retries after 1 s, 3 s, ...). listen() again on the bound socket
  // raises the backlog (Linux caps it at net.core.somaxconn).
  if (listen_fd_ < 0 || ::listen(listen_fd_, SOMAXCONN) != 0)
    return fail(Code::kUnavailable, "Cannot set the listen backlog on " + cfg_.bind);
  guard_ = RequestGuard(RequestGuard::default_hosts(cfg_.bind, port_), RequestGuard::new_token());
  server_thread_ = std::thread([this] { server_.listen_after_bind(); });
  refresher_ = std::thread([this] { refresher_loop(); });
  watcher_->start();
  spdlog::info("Dashboard for lattice '{}' at http://{}:{}/", cfg_.lattice, cfg_.bind, port_);
  return ok();
}

void DashboardImpl::stop() {
  if (stopped_.exchange(true)) return;
  const auto began = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  // Wakes the SSE streams (they end their response), the refresher and the watcher.
  log_.close();
  if (slots_) slots_->close();
  cv_.notify_all();
  if (watcher_) watcher_->request_stop();
  // Closes the listener; workers finish their request, idle keep-alive connections end within
  // kKeepAliveSeconds.
  server_.stop();
  evt_sub_.unsubscribe();
  rpcevt_sub_.unsubscribe();
  // Drains NATS: pending publishes are flushed, then the connection closes, so a control request
  // still in flight in the refresher, the watcher or a POST handler fails at once instead of
  // running to its timeout.
  if (nc_) {
    if (auto st = nc_->drain(kDrainTimeout); !st)
      spdlog::debug("Dashboard: NATS drain: {}", st.error().message);
    nc_->close();
  }
  if (refresher_.joinable()) refresher_.join();
  if (watcher_) watcher_->join();
  if (server_thread_.joinable()) server_thread_.join();
  ctl_.reset();
  ctl_slow_.reset();
  ctl_ping_.reset();
  nc_.reset();
  spdlog::info("Dashboard stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - began)
                                                 .count());
}

// ------------------------------------------------------------------------------------------
// Lattice events and refresh.

void DashboardImpl::on_event(lattice::Message m, bool rpc) {
  json ev = json::parse(m.text(), nullptr, false);
  if (ev.is_discarded()) return;
  if (rpc) {
    metrics_.record(ev, wascap::now_seconds());
    log_.notify();
    return;
  }
  auto entry = state_.apply_event(ev);
  if (!entry) return;
  log_.append(std::move(*entry));
}

void DashboardImpl::refresh() {
  auto replies = ctl_ping_->ping_hosts();
  if (!replies) return;
  for (const auto& r : *replies) state_.apply_ping(r);
  for (const auto& r : *replies) {
    if (is_stopping()) return;
    if (!r.contains("id") || !r["id"].is_string()) continue;
    if (auto inv = ctl_->host_inventory(r["id"].get<std::string>()); inv)
      state_.apply_inventory(*inv);
  }
  if (is_stopping()) return;
  if (auto links = ctl_->get_links(); links) state_.apply_links(*links);
  if (auto claims = ctl_->get_claims(); claims) state_.apply_claims(*claims);
  auto max_age = std::max<std::chrono::seconds>(
      std::chrono::seconds(35),
      std::chrono::duration_cast<std::chrono::seconds>(cfg_.refresh_interval * 3));
  state_.expire_hosts(max_age);
  log_.notify();  // the state changed: wake the event streams
}

void DashboardImpl::refresher_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    refresh();
    if (!is_stopping() && apps_->refresh()) {
      state_.mark_changed();
      log_.notify();
    }
    lock.lock();
    cv_.wait_for(lock, cfg_.refresh_interval, [this] { return stopping_; });
  }
}

// ------------------------------------------------------------------------------------------
Result<std::unique_ptr<Dashboard>> Dashboard::start(const DashboardConfig& config) {
  auto impl = std::make_unique<DashboardImpl>(config);
  if (auto st = impl->start(); !st) {
    impl->stop();
    return fail(st.error());
  }
  return std::unique_ptr<Dashboard>(new Dashboard(std::move(impl)));
}

Dashboard::Dashboard(std::unique_ptr<DashboardImpl> impl) : impl_(std::move(impl)) {}
Dashboard::~Dashboard() { stop(); }
int Dashboard::port() const { return impl_->port_; }
std::string Dashboard::url() const {
  std::string host = impl_->cfg_.bind;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(impl_->port_) + "/";
}
const std::string& Dashboard::csrf_token() const { return impl_->guard_.token(); }
void Dashboard::stop() {
  if (impl_) impl_->stop();
}

}  // namespace wc::web
