#include "web/dashboard.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <sstream>
#include <thread>

#include "common/encoding.h"
#include "common/json.h"
#include "lattice/cloudevent.h"
#include "lattice/ctl_client.h"
#include "lattice/topics.h"
#include "oci/client.h"
#include "oci/reference.h"
#include "wascap/claims.h"
#include "wascap/jwt.h"
#include "web/forms.h"
#include "web/guard.h"
#include "web/messages.h"
#include "web/requests.h"
#include "web/state.h"

#ifndef WC_WEB_UI_DIR
#define WC_WEB_UI_DIR ""
#endif

namespace wc::web {
namespace {

using nlohmann::json;
namespace topics = lattice::topics;

constexpr std::size_t kMaxLog = 500;
/// Idle keep-alive connections are closed after this long; it bounds how long stop() waits for
/// a browser's idle connection (httplib's default is 5 s).
constexpr time_t kKeepAliveSeconds = 1;
/// How long stop() lets NATS flush before closing the connection.
constexpr std::chrono::milliseconds kDrainTimeout{1000};
constexpr std::string_view kVersion = "0.1.0";
/// Worker threads of the HTTP server. Every event stream holds one for its whole life.
constexpr std::size_t kHttpThreads = 32;
/// Workers never given to event streams, so pages, the API and health checks are always served
/// (DashboardConfig::max_streams is clamped to kHttpThreads - kReservedThreads).
constexpr std::size_t kReservedThreads = 8;
/// An idle event stream writes a comment this often; a write is the only way a stream notices
/// that its client went away (and frees its slot).
constexpr std::chrono::seconds kStreamPing{5};

/// An action outcome: HTTP status and the reply body.
struct Reply {
  int status = 200;
  json body;
};

Reply accepted(json details = json::object()) {
  details["accepted"] = true;
  details["error"] = "";
  return {200, std::move(details)};
}

Reply refused(int status, std::string message) {
  return {status, json{{"accepted", false}, {"error", std::move(message)}}};
}

/// Lattice request failures in the original's words: no responders / timeout texts per form.
Reply lattice_failure(const Error& e, std::string_view no_responders, std::string_view timeout) {
  if (e.code == Code::kUnavailable) return refused(502, std::string(no_responders));
  if (e.code == Code::kDeadlineExceeded) return refused(502, std::string(timeout));
  return refused(502, e.message);
}

/// Sends one of the dashboard's control requests (requests.h) and parses the acknowledgement.
/// Errors as CtlClient::request, kInvalidArgument for a reply that is not an ack.
Result<lattice::CtlAck> command(lattice::CtlClient& client, const CtlRequest& r) {
  auto reply = client.request(r.operation, r.body);
  if (!reply) return fail(reply.error());
  return lattice::parse_ack(*reply);
}

bool is_loopback_registry(std::string_view registry) {
  auto host =
      registry.substr(0, registry.rfind(':') == std::string_view::npos || registry.starts_with("[")
                             ? registry.find(']') + 1
                             : registry.rfind(':'));
  if (host.empty()) host = registry;
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

std::string ext_of(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(dot + 1);
}

std::string mime_of(const std::string& path) {
  auto e = ext_of(path);
  if (e == "html") return "text/html; charset=utf-8";
  if (e == "js" || e == "mjs") return "text/javascript; charset=utf-8";
  if (e == "css") return "text/css; charset=utf-8";
  if (e == "svg") return "image/svg+xml";
  if (e == "png") return "image/png";
  if (e == "ico") return "image/x-icon";
  return "";
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace_all(std::string s, std::string_view what, std::string_view with) {
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
  return s;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// Lower-case letters, digits, `-`, `_`, `.` only (an OCI path component).
std::string repo_component(std::string_view s) {
  std::string out;
  for (char c : s) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "upload" : out;
}

/// The first 12 characters of a module hash, lower-cased (an OCI tag component).
std::string short_hash(std::string_view hash) {
  std::string out(hash.substr(0, 12));
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct FileStamp {
  std::int64_t mtime_ns = 0;
  std::int64_t size = -1;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size)};
}

/// One hot-reload watch (7.2 "From File (Hot Reload)").
struct Watch {
  std::string path;
  std::string host_id;
  std::string actor_id;
  int count = 1;
  FileStamp stamp;
  std::string hash;  // sha256 hex of the last bytes sent
  FileStamp pending;
  std::string last_error;
};

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
class DashboardImpl {
 public:
  explicit DashboardImpl(DashboardConfig cfg)
      : cfg_(std::move(cfg)), state_(cfg_.lattice), guard_({}, "") {}

  ~DashboardImpl() { stop(); }

  Status start();
  void stop();

  /// One server-sent event stream being served; destroying it frees its slot.
  struct StreamSlot {
    StreamSlot(DashboardImpl* o, std::string c) : owner(o), client(std::move(c)) {}
    StreamSlot(const StreamSlot&) = delete;
    StreamSlot& operator=(const StreamSlot&) = delete;
    ~StreamSlot() { owner->release_stream(client); }
    DashboardImpl* owner;
    std::string client;
  };
  /// A stream slot for `client` (its address), or null when the total or the client's limit is
  /// reached or the dashboard is stopping.
  std::shared_ptr<StreamSlot> take_stream(const std::string& client);
  void release_stream(const std::string& client);

  DashboardConfig cfg_;
  LatticeState state_;
  InvocationMetrics metrics_{60};
  RequestGuard guard_;
  int port_ = 0;

 private:
  // --- plumbing
  void routes();
  void serve_static(const std::string& rel, httplib::Response& res);
  GuardHeaders guard_headers(const httplib::Request& req) const;
  /// Registers a POST route behind RequestGuard::check_write (403 + log entry when refused).
  void guarded_post(const std::string& path, std::function<Reply(const httplib::Request&)> handler);
  /// A guarded POST route with a JSON object body (400 kBadJsonBody otherwise).
  void post(const std::string& path, std::function<Reply(const json&)> handler);
  /// A guarded POST route with a multipart body.
  void post_multipart(const std::string& path,
                      std::function<Reply(const httplib::Request&)> handler);
  void send(httplib::Response& res, const Reply& r, const std::string& action);
  void log(std::string type, std::string level, std::string summary, json data = json::object());
  void on_event(lattice::Message m, bool rpc);
  void refresh();
  void refresher_loop();
  /// True once stop() began (the refresher and watcher give up between requests).
  bool is_stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  void watcher_loop();
  void check_watch(Watch& w);
  json state_json() const;

  // --- actions
  Reply start_actor(const StartActorForm& f, std::string known_actor_id = {});
  Reply upload_actor(const httplib::Request& req);
  Reply hot_reload(const HotReloadForm& f);
  Reply stop_watch(const json& body);
  Reply scale(const ScaleForm& f);
  Reply start_provider(const StartProviderForm& f);
  Reply upload_provider(const httplib::Request& req);
  Reply stop_provider(const StopProviderForm& f);
  Reply put_link(const LinkForm& f);
  Reply delete_link(const LinkForm& f);

  /// Claims of the module behind `ref` (file:// read locally, else pulled from the registry).
  Result<wascap::ModuleClaims> claims_for(const std::string& ref);
  std::vector<std::string> insecure_for(std::string_view reference) const;
  /// Pushes an uploaded artifact to `ref` (messages::kRegistryPushFailedPrefix on failure).
  Status push(const std::string& ref, std::span<const std::uint8_t> data, oci::ArtifactKind kind);
  /// Sends an auction request and returns the first bidder's host ID.
  Result<std::string> auction_host(const CtlRequest& auction, std::string_view no_responders);

  std::unique_ptr<lattice::Connection> nc_;
  std::unique_ptr<lattice::CtlClient> ctl_;
  std::unique_ptr<lattice::CtlClient> ctl_slow_;
  std::unique_ptr<lattice::CtlClient> ctl_ping_;
  lattice::Subscription evt_sub_, rpcevt_sub_;
  httplib::Server server_;
  std::thread server_thread_, refresher_, watcher_;
  std::string ui_dir_;

  mutable std::mutex mu_;  // log_, watches_, stopping_, streams_*
  std::condition_variable cv_;
  std::deque<LogEntry> log_;
  std::uint64_t next_seq_ = 1;
  std::map<std::string, Watch> watches_;
  bool stopping_ = false;
  bool refresh_now_ = false;
  std::atomic<bool> stopped_{false};
  std::size_t max_streams_ = 0;  // cfg_.max_streams, clamped
  std::size_t streams_ = 0;
  std::map<std::string, std::size_t> streams_by_client_;
  int listen_fd_ = -1;  // the listening socket, as last seen by the socket-options hook
};

std::shared_ptr<DashboardImpl::StreamSlot> DashboardImpl::take_stream(const std::string& client) {
  std::lock_guard lock(mu_);
  if (stopping_ || streams_ >= max_streams_) return nullptr;
  auto it = streams_by_client_.find(client);
  const std::size_t mine = it == streams_by_client_.end() ? 0 : it->second;
  if (mine >= cfg_.max_streams_per_client) return nullptr;
  ++streams_;
  streams_by_client_[client] = mine + 1;
  return std::make_shared<StreamSlot>(this, client);
}

void DashboardImpl::release_stream(const std::string& client) {
  std::lock_guard lock(mu_);
  --streams_;
  if (auto it = streams_by_client_.find(client);
      it != streams_by_client_.end() && --it->second == 0)
    streams_by_client_.erase(it);
}

Status DashboardImpl::start() {
  ui_dir_ = cfg_.ui_dir;
  if (ui_dir_.empty())
    if (const char* e = std::getenv("WASMCLOUD_DASHBOARD_UI_DIR"); e && *e) ui_dir_ = e;
  if (ui_dir_.empty()) ui_dir_ = WC_WEB_UI_DIR;
  if (!std::filesystem::exists(ui_dir_ + "/index.html"))
    return fail(Code::kNotFound, "Dashboard UI not found: " + ui_dir_ + "/index.html");

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

  max_streams_ = std::min(cfg_.max_streams, kHttpThreads - kReservedThreads);
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
  routes();
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
  watcher_ = std::thread([this] { watcher_loop(); });
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
  cv_.notify_all();
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
  if (watcher_.joinable()) watcher_.join();
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
// Event log, lattice events, refresh.

void DashboardImpl::log(std::string type, std::string level, std::string summary, json data) {
  LogEntry e;
  e.time = lattice::rfc3339_micros(std::chrono::system_clock::now());
  e.type = std::move(type);
  e.source = "dashboard";
  e.level = std::move(level);
  // Refusal texts may carry what a client or host sent: held to the lattice's text cap.
  e.summary = cap_texts(json(std::move(summary))).get<std::string>();
  e.data = cap_texts(data);
  {
    std::lock_guard lock(mu_);
    e.seq = next_seq_++;
    log_.push_back(std::move(e));
    if (log_.size() > kMaxLog) log_.pop_front();
  }
  cv_.notify_all();
}

void DashboardImpl::on_event(lattice::Message m, bool rpc) {
  json ev = json::parse(m.text(), nullptr, false);
  if (ev.is_discarded()) return;
  if (rpc) {
    metrics_.record(ev, wascap::now_seconds());
    cv_.notify_all();
    return;
  }
  auto entry = state_.apply_event(ev);
  if (!entry) return;
  {
    std::lock_guard lock(mu_);
    entry->seq = next_seq_++;
    log_.push_back(std::move(*entry));
    if (log_.size() > kMaxLog) log_.pop_front();
  }
  cv_.notify_all();
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
  cv_.notify_all();
}

void DashboardImpl::refresher_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    refresh();
    lock.lock();
    cv_.wait_for(lock, cfg_.refresh_interval, [this] { return stopping_ || refresh_now_; });
    refresh_now_ = false;
  }
}

// ------------------------------------------------------------------------------------------
// Hot reload.

void DashboardImpl::watcher_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, cfg_.watch_interval, [this] { return stopping_; });
    if (stopping_) break;
    std::vector<Watch> snapshot;
    for (const auto& [p, w] : watches_) snapshot.push_back(w);
    lock.unlock();
    for (auto& w : snapshot) check_watch(w);
    lock.lock();
    for (auto& w : snapshot)
      if (auto it = watches_.find(w.path); it != watches_.end()) {
        it->second.stamp = w.stamp;
        it->second.pending = w.pending;
        it->second.hash = w.hash;
        it->second.last_error = w.last_error;
      }
  }
}

/// A change is acted on once the file's stamp stayed the same for one poll (debounce), and only
/// when the bytes differ from the last version sent.
void DashboardImpl::check_watch(Watch& w) {
  FileStamp now = stamp_of(w.path);
  if (now == w.stamp) return;
  if (!(now == w.pending)) {
    w.pending = now;
    return;
  }
  w.stamp = now;
  auto bytes = read_file(w.path);
  if (!bytes) {
    w.last_error = bytes.error().message;
    log("hot_reload", "error", "Hot reload of " + w.path + " failed: " + w.last_error);
    return;
  }
  auto hash = hex_lower(sha256(*bytes));
  if (hash == w.hash) return;
  w.hash = hash;
  auto ref = "file://" + w.path;
  auto mc = wascap::extract_claims(*bytes, wascap::now_seconds());
  if (!mc) {
    w.last_error = std::string(messages::kClaimsRefusedPrefix) + mc.error().message;
    log("hot_reload", "error", "Hot reload of " + w.path + " failed: " + w.last_error);
    return;
  }
  auto ack = command(*ctl_slow_, update_request(w.host_id, w.actor_id, ref));
  if (!ack || !ack->accepted) {
    w.last_error = !ack ? (ack.error().code == Code::kUnavailable
                               ? std::string(messages::kNoRespondersActorStart)
                               : ack.error().message)
                        : ack->error;
    log("hot_reload", "error", "Hot reload of " + w.path + " failed: " + w.last_error,
        json{{"path", w.path}, {"host_id", w.host_id}});
    return;
  }
  w.last_error.clear();
  auto rev = wascap::effective_revision(mc->claims);
  state_.remember_actor(ref, mc->claims.sub, mc->claims.name.value_or(""), rev);
  log("hot_reload", "info", "Hot reload: " + w.path + " updated to revision " + std::to_string(rev),
      json{{"path", w.path},
           {"host_id", w.host_id},
           {"actor_id", mc->claims.sub},
           {"revision", rev}});
}

// ------------------------------------------------------------------------------------------
// Actions.

std::vector<std::string> DashboardImpl::insecure_for(std::string_view reference) const {
  std::vector<std::string> out = cfg_.allowed_insecure;
  if (is_loopback_registry(cfg_.registry)) out.push_back(cfg_.registry);
  if (auto r = oci::parse_reference(reference, true); r && is_loopback_registry(r->registry))
    out.push_back(r->registry);
  return out;
}

Result<wascap::ModuleClaims> DashboardImpl::claims_for(const std::string& ref) {
  Bytes bytes;
  if (ref.starts_with("file://")) {
    auto b = read_file(ref.substr(7));
    if (!b) return fail(b.error());
    bytes = std::move(*b);
  } else {
    oci::PullOptions o;
    o.allow_latest = true;  // the host decides whether :latest may run
    o.allowed_insecure = insecure_for(ref);
    o.cache = oci::CachePolicy::kNone;
    auto r = oci::pull(ref, o);
    if (!r)
      return fail(r.error().code,
                  std::string(messages::kRegistryPullFailedPrefix) + r.error().message);
    bytes = std::move(r->bytes);
  }
  auto mc = wascap::extract_claims(bytes, wascap::now_seconds());
  if (!mc)
    return fail(Code::kPermissionDenied,
                std::string(messages::kClaimsRefusedPrefix) + mc.error().message);
  return mc;
}

Result<std::string> DashboardImpl::auction_host(const CtlRequest& auction,
                                                std::string_view no_responders) {
  auto reply = ctl_->request(auction.operation, auction.body);
  if (!reply) {
    if (reply.error().code == Code::kUnavailable)
      return fail(Code::kUnavailable, std::string(no_responders));
    if (reply.error().code == Code::kDeadlineExceeded)
      return fail(Code::kDeadlineExceeded, std::string(messages::kAuctionTimedOut));
    return fail(reply.error());
  }
  if (!reply->is_object() || !reply->contains("host_id") || !(*reply)["host_id"].is_string() ||
      (*reply)["host_id"].get<std::string>().empty())
    return fail(Code::kInvalidArgument, std::string(messages::kAuctionNoHostId));
  return (*reply)["host_id"].get<std::string>();
}

Reply DashboardImpl::start_actor(const StartActorForm& f, std::string actor_id) {
  if (actor_id.empty()) {
    if (auto known = state_.actor_for_ref(f.actor_ref)) {
      actor_id = *known;
    } else {
      auto mc = claims_for(f.actor_ref);
      if (!mc) return refused(502, mc.error().message);
      actor_id = mc->claims.sub;
      state_.remember_actor(f.actor_ref, actor_id, mc->claims.name.value_or(""),
                            wascap::effective_revision(mc->claims));
    }
  }
  std::string host = f.host_id;
  if (host.empty()) {
    auto h = auction_host(actor_auction_request(f.actor_ref), messages::kNoRespondersActorAuction);
    if (!h) return refused(502, h.error().message);
    host = *h;
  }
  auto ack = command(*ctl_, scale_request(host, actor_id, f.actor_ref, f.count));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersActorStart,
                           messages::kActorStartTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(json{
      {"host_id", host}, {"actor_id", actor_id}, {"actor_ref", f.actor_ref}, {"count", f.count}});
}

Status DashboardImpl::push(const std::string& ref, std::span<const std::uint8_t> data,
                           oci::ArtifactKind kind) {
  oci::PushOptions po;
  po.kind = kind;
  po.allowed_insecure = insecure_for(ref);
  auto pushed = oci::Client().push(ref, data, po);
  if (!pushed)
    return fail(pushed.error().code,
                std::string(messages::kRegistryPushFailedPrefix) + pushed.error().message);
  return ok();
}

Reply DashboardImpl::upload_actor(const httplib::Request& req) {
  json fields = json::object();
  for (const char* k : {"count", "host_id"})
    if (req.has_file(k)) fields[k] = req.get_file_value(k).content;
  auto f = parse_upload_actor(fields);
  if (!f) return refused(400, f.error().message);
  std::string bytes = req.has_file("file") ? req.get_file_value("file").content : "";
  if (auto st = check_actor_upload(bytes.size()); !st) return refused(400, st.error().message);
  auto data = as_bytes(bytes);
  auto mc = wascap::extract_claims(data, wascap::now_seconds());
  if (!mc) return refused(400, std::string(messages::kClaimsRefusedPrefix) + mc.error().message);
  const auto& c = mc->claims;
  auto rev = wascap::effective_revision(c);
  std::string tag = "r" + std::to_string(rev) + "-" + short_hash(c.hash);
  f->actor_ref = cfg_.registry + "/dashboard/" + oci::to_lower(c.sub) + ":" + tag;
  if (auto st = push(f->actor_ref, data, oci::ArtifactKind::kActor); !st)
    return refused(502, st.error().message);
  state_.remember_actor(f->actor_ref, c.sub, c.name.value_or(""), rev);
  auto r = start_actor(*f, c.sub);
  r.body["actor_ref"] = f->actor_ref;
  return r;
}

Reply DashboardImpl::hot_reload(const HotReloadForm& f) {
  const std::string ref = "file://" + f.path;
  auto bytes = read_file(f.path);
  if (!bytes)
    return refused(400, std::string(messages::kUnableToStartActorPrefix) + bytes.error().message);
  auto mc = wascap::extract_claims(*bytes, wascap::now_seconds());
  if (!mc)
    return refused(400, std::string(messages::kUnableToStartActorPrefix) +
                            std::string(messages::kClaimsRefusedPrefix) + mc.error().message);
  const auto& c = mc->claims;
  state_.remember_actor(ref, c.sub, c.name.value_or(""), wascap::effective_revision(c));
  auto ack = command(*ctl_, scale_request(f.host_id, c.sub, ref, f.count));
  if (!ack) {
    auto r = lattice_failure(ack.error(), messages::kNoRespondersActorStart,
                             messages::kActorStartTimedOut);
    r.body["error"] =
        std::string(messages::kUnableToStartActorPrefix) + r.body["error"].get<std::string>();
    return r;
  }
  if (!ack->accepted)
    return refused(502, std::string(messages::kUnableToStartActorPrefix) + ack->error);
  Watch w;
  w.path = f.path;
  w.host_id = f.host_id;
  w.actor_id = c.sub;
  w.count = f.count;
  w.stamp = w.pending = stamp_of(f.path);
  w.hash = hex_lower(sha256(*bytes));
  {
    std::lock_guard lock(mu_);
    watches_[f.path] = w;
  }
  return accepted(json{{"host_id", f.host_id},
                       {"actor_id", c.sub},
                       {"actor_ref", ref},
                       {"count", f.count},
                       {"watching", f.path}});
}

Reply DashboardImpl::stop_watch(const json& body) {
  std::string path = body.is_object() && body.contains("path") && body["path"].is_string()
                         ? body["path"].get<std::string>()
                         : "";
  std::lock_guard lock(mu_);
  if (watches_.erase(path) == 0) return refused(400, std::string(messages::kNotWatched));
  return accepted(json{{"path", path}});
}

Reply DashboardImpl::scale(const ScaleForm& f) {
  std::string ref = f.actor_ref.empty() ? state_.actor_ref_on(f.host_id, f.actor_id) : f.actor_ref;
  auto ack = command(*ctl_, scale_request(f.host_id, f.actor_id, ref, f.count));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersScale, messages::kRequestTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(json{
      {"host_id", f.host_id}, {"actor_id", f.actor_id}, {"actor_ref", ref}, {"count", f.count}});
}

Reply DashboardImpl::start_provider(const StartProviderForm& f) {
  std::string host = f.host_id;
  if (host.empty()) {
    auto h = auction_host(provider_auction_request(f.provider_ref, f.link_name),
                          messages::kNoRespondersProviderAuction);
    if (!h) return refused(502, h.error().message);
    host = *h;
  }
  auto ack =
      command(*ctl_, launch_provider_request(host, f.provider_ref, f.link_name, f.configuration));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersProviderStart,
                           messages::kProviderStartTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(
      json{{"host_id", host}, {"provider_ref", f.provider_ref}, {"link_name", f.link_name}});
}

Reply DashboardImpl::upload_provider(const httplib::Request& req) {
  json fields = json::object();
  for (const char* k : {"link_name", "configuration", "host_id"})
    if (req.has_file(k)) fields[k] = req.get_file_value(k).content;
  auto f = parse_upload_provider(fields);
  if (!f) return refused(400, f.error().message);
  const auto file =
      req.has_file("file") ? req.get_file_value("file") : httplib::MultipartFormData{};
  if (auto st = check_provider_upload(file.content.size()); !st)
    return refused(400, st.error().message);
  auto data = as_bytes(file.content);
  std::string stem = std::filesystem::path(file.filename).stem().string();
  f->provider_ref = cfg_.registry + "/dashboard/providers/" + repo_component(stem) + ":u" +
                    hex_lower(sha256(data)).substr(0, 12);
  if (auto st = push(f->provider_ref, data, oci::ArtifactKind::kProvider); !st)
    return refused(502, st.error().message);
  return start_provider(*f);
}

Reply DashboardImpl::stop_provider(const StopProviderForm& f) {
  auto ack = command(*ctl_, stop_provider_request(f.host_id, f.provider_id, f.link_name));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersStopProvider,
                           messages::kRequestTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(json{{"host_id", f.host_id}, {"provider_id", f.provider_id}});
}

Reply DashboardImpl::put_link(const LinkForm& f) {
  auto ack = command(
      *ctl_, put_link_request(f.actor_id, f.provider_id, f.contract_id, f.link_name, f.values));
  if (!ack) {
    auto detail = ack.error().code == Code::kUnavailable ? std::string(messages::kNoRespondersLink)
                                                         : ack.error().message;
    return refused(502, std::string(messages::kErrorPublishingLink) + ": " + detail);
  }
  if (!ack->accepted)
    return refused(502, std::string(messages::kErrorPublishingLink) + ": " + ack->error);
  return accepted(json{{"actor_id", f.actor_id},
                       {"provider_id", f.provider_id},
                       {"contract_id", f.contract_id},
                       {"link_name", f.link_name},
                       {"values", f.values}});
}

Reply DashboardImpl::delete_link(const LinkForm& f) {
  auto ack = command(*ctl_, delete_link_request(f.actor_id, f.contract_id, f.link_name));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersLink, messages::kRequestTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(
      json{{"actor_id", f.actor_id}, {"contract_id", f.contract_id}, {"link_name", f.link_name}});
}

// ------------------------------------------------------------------------------------------
// HTTP.

GuardHeaders DashboardImpl::guard_headers(const httplib::Request& req) const {
  return GuardHeaders{req.get_header_value("Host"), req.get_header_value("Origin"),
                      req.get_header_value("Sec-Fetch-Site"), req.get_header_value("X-CSRF-Token")};
}

void DashboardImpl::send(httplib::Response& res, const Reply& r, const std::string& action) {
  res.status = r.status;
  res.set_content(r.body.dump(), "application/json");
  if (r.status != 200) {
    log(action, "error", action + ": " + json_string(r.body, "error"), json{{"status", r.status}});
  }
}

void DashboardImpl::guarded_post(const std::string& path,
                                 std::function<Reply(const httplib::Request&)> handler) {
  server_.Post(path, [this, path, handler](const httplib::Request& req, httplib::Response& res) {
    const std::string action = path.substr(5);  // without "/api/"
    if (auto st = guard_.check_write(guard_headers(req)); !st)
      return send(res, refused(403, st.error().message), action);
    send(res, handler(req), action);
  });
}

void DashboardImpl::post(const std::string& path, std::function<Reply(const json&)> handler) {
  guarded_post(path, [handler](const httplib::Request& req) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return refused(400, std::string(messages::kBadJsonBody));
    return handler(body);
  });
}

void DashboardImpl::post_multipart(const std::string& path,
                                   std::function<Reply(const httplib::Request&)> handler) {
  guarded_post(path, [handler](const httplib::Request& req) {
    if (!req.is_multipart_form_data())
      return refused(400, std::string(messages::kPleaseSelectFile));
    return handler(req);
  });
}

void DashboardImpl::serve_static(const std::string& rel, httplib::Response& res) {
  if (rel.find("..") != std::string::npos || mime_of(rel).empty()) {
    res.status = 404;
    return;
  }
  auto body = slurp(ui_dir_ + "/" + rel);
  if (!body) {
    res.status = 404;
    return;
  }
  res.set_content(std::move(*body), mime_of(rel));
  res.set_header("Cache-Control", "no-cache");
}

json DashboardImpl::state_json() const {
  json s = state_.snapshot();
  json w = json::array();
  std::lock_guard lock(mu_);
  for (const auto& [p, x] : watches_)
    w.push_back({{"path", p},
                 {"host_id", x.host_id},
                 {"actor_id", x.actor_id},
                 {"count", x.count},
                 {"last_error", x.last_error}});
  s["watches"] = std::move(w);
  return s;
}

void DashboardImpl::routes() {
  // Every response: no framing by other sites, no sniffing, scripts only from here.
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                   "frame-ancestors 'none'");
    if (auto st = guard_.check_read(guard_headers(req)); !st) {
      res.status = 403;
      res.set_content(json{{"accepted", false}, {"error", st.error().message}}.dump(),
                      "application/json");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server_.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    auto page = slurp(ui_dir_ + "/index.html");
    if (!page) {
      res.status = 404;
      return;
    }
    std::string html = replace_all(*page, "{{CSRF_TOKEN}}", guard_.token());
    html = replace_all(html, "{{LATTICE}}", html_escape(cfg_.lattice));
    res.set_content(html, "text/html; charset=utf-8");
    res.set_header("Cache-Control", "no-store");
  });
  server_.Get(R"(/static/([A-Za-z0-9_./-]+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                serve_static(req.matches[1].str(), res);
              });
  // The tab icon: one SVG, also under the name browsers ask for unprompted.
  server_.Get("/favicon.ico", [this](const httplib::Request&, httplib::Response& res) {
    serve_static("favicon.svg", res);
  });
  server_.Get("/favicon.svg", [this](const httplib::Request&, httplib::Response& res) {
    serve_static("favicon.svg", res);
  });
  server_.Get("/vendor/chart.umd.js", [this](const httplib::Request&, httplib::Response& res) {
    serve_static("node_modules/chart.js/dist/chart.umd.js", res);
  });
  server_.Get("/api/readyz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"ready":true})", "application/json");
  });
  server_.Get("/api/livez", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"live":true})", "application/json");
  });
  server_.Get("/api/session", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"csrf_token", guard_.token()},
                         {"lattice", cfg_.lattice},
                         {"version", kVersion},
                         {"registry", cfg_.registry}}
                        .dump(),
                    "application/json");
    res.set_header("Cache-Control", "no-store");
  });
  server_.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(state_json().dump(), "application/json");
  });
  server_.Get("/api/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.snapshot(wascap::now_seconds()).dump(), "application/json");
  });
  server_.Get("/api/log", [this](const httplib::Request&, httplib::Response& res) {
    json entries = json::array();
    {
      std::lock_guard lock(mu_);
      for (const auto& e : log_) entries.push_back(e.to_json());
    }
    res.set_content(json{{"entries", entries}}.dump(), "application/json");
  });

  // Server-sent events: one long chunked response per browser tab, each holding a worker thread;
  // past DashboardConfig::max_streams (in total) or max_streams_per_client (per client
  // address) the request is answered 503 and its connection closed.
  server_.Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) {
    auto slot = take_stream(req.remote_addr);
    if (!slot) {
      res.status = 503;
      res.set_header("Retry-After", "5");
      res.set_header("Cache-Control", "no-store");
      std::string body =
          json{{"accepted", false}, {"error", std::string(messages::kTooManyStreams)}}.dump();
      // httplib 0.11 keeps a connection open after a handler's response until the client sends
      // nothing for the keep-alive timeout, holding a worker meanwhile; a content provider that
      // ends the response and then reports failure makes it close the connection at once.
      res.set_chunked_content_provider("application/json",
                                       [body](std::size_t, httplib::DataSink& sink) {
                                         sink.write(body.data(), body.size());
                                         sink.done();
                                         return false;
                                       });
      return;
    }
    struct Cursor {
      std::uint64_t log_seq = 0;
      std::uint64_t state_version = 0;
      std::uint64_t metrics_version = 0;
      std::chrono::steady_clock::time_point metrics_sent{};
      std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
      bool first = true;
    };
    auto cur = std::make_shared<Cursor>();
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream", [this, cur, slot](std::size_t, httplib::DataSink& sink) {
          (void)slot;  // held while the stream lives
          std::string out;
          {
            std::unique_lock lock(mu_);
            if (!cur->first)
              cv_.wait_for(lock, std::chrono::milliseconds(500), [&] {
                return stopping_ || (!log_.empty() && log_.back().seq > cur->log_seq) ||
                       state_.version() != cur->state_version;
              });
            if (stopping_) return false;
            // The first batch of a stream is the log's history ("history": true): the page
            // lists it but raises no notice for it (issue #17.3).
            for (const auto& e : log_)
              if (e.seq > cur->log_seq) {
                json j = e.to_json();
                if (cur->first) j["history"] = true;
                out += "event: log\ndata: " + j.dump() + "\n\n";
                cur->log_seq = e.seq;
              }
          }
          auto now = std::chrono::steady_clock::now();
          if (auto v = state_.version(); v != cur->state_version || cur->first) {
            cur->state_version = v;
            out += "event: state\ndata: " + state_json().dump() + "\n\n";
          }
          if (auto v = metrics_.version();
              cur->first ||
              (v != cur->metrics_version &&
               now - cur->metrics_sent >= std::chrono::milliseconds(1000)) ||
              now - cur->metrics_sent >= std::chrono::seconds(5)) {
            cur->metrics_version = v;
            cur->metrics_sent = now;
            out +=
                "event: metrics\ndata: " + metrics_.snapshot(wascap::now_seconds()).dump() + "\n\n";
          }
          if (out.empty() && now - cur->last_write >= kStreamPing) out = ": ping\n\n";
          cur->first = false;
          if (out.empty()) return true;
          cur->last_write = now;
          return sink.write(out.data(), out.size());
        });
  });

  post("/api/actors/start", [this](const json& b) {
    auto f = parse_start_actor(b);
    return f ? start_actor(*f) : refused(400, f.error().message);
  });
  post_multipart("/api/actors/upload",
                 [this](const httplib::Request& r) { return upload_actor(r); });
  post("/api/actors/hotreload", [this](const json& b) {
    auto f = parse_hot_reload(b);
    return f ? hot_reload(*f) : refused(400, f.error().message);
  });
  post("/api/hotwatch/stop", [this](const json& b) { return stop_watch(b); });
  post("/api/actors/scale", [this](const json& b) {
    auto f = parse_scale(b);
    return f ? scale(*f) : refused(400, f.error().message);
  });
  post("/api/providers/start", [this](const json& b) {
    auto f = parse_start_provider(b);
    return f ? start_provider(*f) : refused(400, f.error().message);
  });
  post_multipart("/api/providers/upload",
                 [this](const httplib::Request& r) { return upload_provider(r); });
  post("/api/providers/stop", [this](const json& b) {
    auto f = parse_stop_provider(b);
    return f ? stop_provider(*f) : refused(400, f.error().message);
  });
  post("/api/links/put", [this](const json& b) {
    auto f = parse_link(b);
    return f ? put_link(*f) : refused(400, f.error().message);
  });
  post("/api/links/delete", [this](const json& b) {
    auto f = parse_delete_link(b);
    return f ? delete_link(*f) : refused(400, f.error().message);
  });
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
