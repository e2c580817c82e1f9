// BuiltinHttpServer (builtin_http.h): the host's in-process wasmcloud:httpserver provider.
#include "host/builtin_http.h"

#include <spdlog/spdlog.h>

#include <pthread.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "common/encoding.h"
#include "host/errors.h"
#include "lattice/cloudevent.h"
#include "lattice/event_data.h"
#include "lattice/events.h"
#include "rpc/errors.h"
#include "rpc/http.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

namespace ev = lattice::events;
namespace ed = lattice::event_data;
using json = nlohmann::json;

/// Name the builtin's inventory entry and claims carry.
constexpr std::string_view kBuiltinName = "HTTP Server (builtin)";

bool framing_header(std::string_view name) {
  std::string l(name);
  for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return l == "content-length" || l == "transfer-encoding" || l == "connection";
}

}  // namespace

const std::string& builtin_http_server_key() {
  // The public half of a key pair whose seed is the SHA-256 of a fixed name: a real Ed25519
  // point, so every key check accepts it. Nothing is ever signed with it (the builtin's
  // invocations are signed with the cluster key, like any provider's).
  static const std::string key = [] {
    const std::string name = "wasmcloud-cpp builtin wasmcloud:httpserver";
    auto kp = wascap::KeyPair::from_raw_seed(wascap::KeyType::kService, sha256(as_bytes(name)));
    if (!kp) std::abort();  // cannot happen: any 32 bytes are an Ed25519 seed
    return kp->public_key();
  }();
  return key;
}

/// One open listener: the HTTP server of one link (actor, link name).
struct BuiltinHttpServer::Listener {
  rpc::LinkDefinition link;
  httpd::HttpConfig cfg;
  rpc::WasmCloudEntity origin;  ///< this provider as the invocations' origin
  std::unique_ptr<httpd::Server> server;
  /// steady_clock ticks of the last warn line about a failed call (0 = none): at most one per
  /// 10 s per listener, the rest at debug.
  std::atomic<std::int64_t> last_warn{0};
};

/// The deadline timer of requests sent to the RPC pool: one thread that, at a request's
/// deadline, takes it back from the supervisor (a queued one then never runs) and answers it
/// kDeadlineExceeded (503) unless it was answered already (a running one's result is then
/// dropped when it ends). An answered request cancels its entry. Entries hold the invocation
/// weakly.
class BuiltinHttpServer::Deadlines {
 public:
  using Key = std::pair<std::chrono::steady_clock::time_point, std::uint64_t>;

  Deadlines() : thread_([this] { run(); }) {}
  ~Deadlines() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    // The last owner may be a request's answer running on this very thread (host shutdown).
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
  Deadlines(const Deadlines&) = delete;
  Deadlines& operator=(const Deadlines&) = delete;

  /// Queues `inv` for `at`; its entry's key is written to `*key` under the timer's lock, where
  /// cancel() reads it (the timer may answer the request, whose answer cancels, before arm()
  /// returns).
  void arm(std::chrono::steady_clock::time_point at, std::weak_ptr<LocalInvocation> inv, Key* key) {
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      *key = {at, next_++};
      queue_.emplace(*key, std::move(inv));
      // The thread wakes by itself at wake_at_ (an entry cancelled since costs one spurious
      // wake-up): with one timeout for every request, about one wake-up per timeout period
      // rather than one per request.
      wake = at < wake_at_;
    }
    if (wake) cv_.notify_one();
  }
  void cancel(const Key* key) {
    std::lock_guard lock(mu_);
    queue_.erase(*key);
  }

 private:
  void run() {
    pthread_setname_np(pthread_self(), "wc-http-dl");
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (queue_.empty()) {
        wake_at_ = std::chrono::steady_clock::time_point::max();
        cv_.wait(lock);
        continue;
      }
      const auto at = queue_.begin()->first.first;
      if (std::chrono::steady_clock::now() < at) {
        wake_at_ = at;
        cv_.wait_until(lock, at);
        continue;
      }
      wake_at_ = std::chrono::steady_clock::time_point::min();  // busy: no notification needed
      auto weak = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      lock.unlock();
      if (auto inv = weak.lock()) {
        inv->claim->exchange(true);  // still queued: it never runs
        inv->done(fail(Code::kDeadlineExceeded, std::string(rpc::errors::kRequestTimeout)));
      }
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, std::weak_ptr<LocalInvocation>> queue_;
  std::uint64_t next_ = 0;
  /// When the thread wakes by itself next (max: only when notified; min: it is not waiting).
  std::chrono::steady_clock::time_point wake_at_ = std::chrono::steady_clock::time_point::min();
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

BuiltinHttpServer::BuiltinHttpServer(BuiltinHttpDeps deps)
    : deps_(std::move(deps)), deadlines_(std::make_shared<Deadlines>()) {}

BuiltinHttpServer::~BuiltinHttpServer() {
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Listener>> listeners;
  {
    MutexLock lock(mu_);
    listeners.swap(listeners_);
    started_.clear();
  }
  for (auto& [k, l] : listeners) l->server->stop();
}

Result<ProviderInfo> BuiltinHttpServer::start(const std::string& link_name,
                                              const StringMap& annotations) {
  ProviderInfo info;
  info.public_key = builtin_http_server_key();
  info.link_name = link_name;
  info.contract_id = std::string(kHttpServerContract);
  info.image_ref = std::string(kBuiltinHttpServerRef);
  info.name = std::string(kBuiltinName);
  info.instance_id = lattice::uuid_v4();
  info.annotations = annotations;
  {
    MutexLock lock(mu_);
    if (started_.count(link_name) != 0)
      return fail(Code::kAlreadyExists, std::string(errors::kProviderAlreadyRunningOnHost));
    started_[link_name] = info;
  }
  spdlog::info("Started builtin provider {} ({}, link {})", info.public_key, info.contract_id,
               link_name);
  const json claims{{"issuer", ""},
                    {"tags", nullptr},
                    {"name", info.name},
                    {"version", nullptr},
                    {"not_before_human", "never"},
                    {"expires_human", "never"}};
  if (deps_.emit) {
    deps_.emit(ev::kProviderStarted,
               ed::provider_started({info.public_key, link_name, info.contract_id}, info.image_ref,
                                    info.instance_id, annotations, claims),
               false);
    // In-process, it is healthy as soon as it runs (the dashboard shows a provider's health from
    // these events; a process provider gets its first after the first health check).
    deps_.emit(ev::kHealthCheckPassed,
               ed::health_check({info.public_key, link_name, info.contract_id}), false);
  }
  if (deps_.links_for) {
    for (const auto& ld : deps_.links_for(info.public_key, link_name)) open(ld);
  }
  return info;
}

bool BuiltinHttpServer::supervised(const std::string& key, const std::string& link_name) const {
  if (key != builtin_http_server_key()) return false;
  MutexLock lock(mu_);
  return started_.count(link_name) != 0;
}

bool BuiltinHttpServer::stop(const std::string& link_name) {
  ProviderInfo info;
  std::vector<std::shared_ptr<Listener>> closing;
  {
    MutexLock lock(mu_);
    auto it = started_.find(link_name);
    if (it == started_.end()) return false;
    info = std::move(it->second);
    started_.erase(it);
    for (auto l = listeners_.begin(); l != listeners_.end();) {
      if (l->first.first == link_name) {
        closing.push_back(std::move(l->second));
        l = listeners_.erase(l);
      } else {
        ++l;
      }
    }
  }
  for (auto& l : closing) l->server->stop();
  spdlog::info("Stopped builtin provider {} (link {})", info.public_key, link_name);
  if (deps_.emit) {
    deps_.emit(ev::kProviderStopped,
               ed::provider_stopped({info.public_key, link_name, info.contract_id},
                                    info.instance_id, info.annotations, ed::kStopNormal),
               false);
  }
  return true;
}

void BuiltinHttpServer::stop_all() {
  std::vector<std::string> names;
  {
    MutexLock lock(mu_);
    for (const auto& [name, info] : started_) names.push_back(name);
  }
  for (const auto& n : names) stop(n);
}

std::vector<ProviderInfo> BuiltinHttpServer::running() const {
  MutexLock lock(mu_);
  std::vector<ProviderInfo> out;
  out.reserve(started_.size());
  for (const auto& [name, info] : started_) out.push_back(info);
  return out;
}

int BuiltinHttpServer::port_of(const std::string& actor_key, const std::string& link_name) const {
  MutexLock lock(mu_);
  auto it = listeners_.find({link_name, actor_key});
  return it == listeners_.end() ? 0 : it->second->server->port();
}

void BuiltinHttpServer::link_changed(const rpc::LinkDefinition& link, bool set) {
  if (link.provider_id != builtin_http_server_key()) return;
  if (set) return open(link);
  close({link.link_name, link.actor_id});
}

void BuiltinHttpServer::close(const std::pair<std::string, std::string>& id) {
  std::shared_ptr<Listener> closing;
  {
    MutexLock lock(mu_);
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    closing = std::move(it->second);
    listeners_.erase(it);
  }
  closing->server->stop();
  spdlog::info("Builtin HTTP server: listener for {} on {}:{} closed", id.second, closing->cfg.host,
               closing->server->port());
}

void BuiltinHttpServer::open(const rpc::LinkDefinition& link) {
  const std::pair<std::string, std::string> id{link.link_name, link.actor_id};
  auto cfg = httpd::parse_link_config(link);
  if (!cfg || cfg->tls) {
    spdlog::warn("Builtin HTTP server: link to {}: {}", link.actor_id,
                 !cfg ? cfg.error().message
                      : std::string("TLS is not supported by the builtin server (the httpserver "
                                    "provider serves TLS)"));
    {
      MutexLock lock(mu_);
      if (started_.count(link.link_name) == 0) return;
    }
    return close(id);  // the lattice holds these values now, not the old listener's
  }
  std::shared_ptr<Listener> previous;
  {
    MutexLock lock(mu_);
    if (started_.count(link.link_name) == 0) return;  // not running under this link name
    auto it = listeners_.find(id);
    if (it != listeners_.end()) {
      if (it->second->link == link) return;  // the same link again
      previous = std::move(it->second);
      listeners_.erase(it);
    }
  }
  // A changed link re-opens its listener: the old one closes first (it may hold the port).
  if (previous) previous->server->stop();
  auto listener = std::make_shared<Listener>();
  listener->link = link;
  listener->cfg = *cfg;
  listener->origin = rpc::provider_entity(builtin_http_server_key(),
                                          std::string(kHttpServerContract), link.link_name);
  httpd::Options opts;
  opts.host = cfg->host;
  opts.port = cfg->port;
  opts.max_content_len = cfg->max_content_len;
  opts.threads = deps_.loop_threads;
  std::weak_ptr<Listener> weak = listener;
  auto server = httpd::Server::start(opts, [this, weak](httpd::Request req, httpd::Respond res) {
    auto l = weak.lock();
    if (!l) return res(httpd::Response{503, {}, {}});
    handle(l, std::move(req), std::move(res));
  });
  if (!server) {
    spdlog::warn("Builtin HTTP server: link to {}: {}", link.actor_id, server.error().message);
    return;  // any earlier listener of this link was closed above
  }
  listener->server = std::move(*server);
  spdlog::info("Builtin HTTP server listening on {}:{} for actor {}", cfg->host,
               listener->server->port(), link.actor_id);
  std::shared_ptr<Listener> displaced;
  {
    MutexLock lock(mu_);
    if (started_.count(link.link_name) != 0) {
      auto& slot = listeners_[id];
      displaced = std::move(slot);
      slot = listener;
    } else {
      displaced = listener;  // stopped meanwhile
    }
  }
  if (displaced) displaced->server->stop();
}

void BuiltinHttpServer::handle(const std::shared_ptr<Listener>& l, httpd::Request req,
                               httpd::Respond respond) {
  const auto origin_hdr = req.header.find("origin");
  const std::string origin =
      origin_hdr != req.header.end() && !origin_hdr->second.empty() ? origin_hdr->second[0] : "";
  if (auto pre = httpd::cors_preflight(l->cfg.cors, req.method, origin,
                                       req.header.count("access-control-request-method") != 0)) {
    return respond(httpd::Response{204, std::move(*pre), {}});
  }
  rpc::HttpRequest hr;
  hr.method = std::move(req.method);
  hr.path = std::move(req.path);
  hr.query_string = std::move(req.query_string);
  hr.header = std::move(req.header);
  hr.body = std::move(req.body);
  const std::string target = hr.method + " " + hr.path;
  // The answer, from the actor's reply or its failure; runs on the thread that finished the call.
  auto finish = [l, origin, target, respond](Result<Bytes> out) {
    httpd::Response r;
    if (out) {
      auto resp = rpc::decode_http_response(*out);
      if (resp) {
        r.status = resp->status_code;
        for (auto& [name, values] : resp->header) {
          if (framing_header(name)) continue;
          for (auto& v : values) r.headers.emplace_back(name, std::move(v));
        }
        r.body = std::move(resp->body);
      } else {
        out = fail(resp.error());
      }
    }
    if (!out) {
      const Code c = out.error().code;
      r.status =
          c == Code::kDeadlineExceeded || c == Code::kUnavailable || c == Code::kResourceExhausted
              ? 503
              : 500;
      // Visible at the default level (at most one line per 10 s per listener), all at debug.
      const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
      auto last = l->last_warn.load(std::memory_order_relaxed);
      if ((last == 0 ||
           now - last >= std::chrono::steady_clock::duration(std::chrono::seconds(10)).count()) &&
          l->last_warn.compare_exchange_strong(last, now)) {
        spdlog::warn("{} -> {}: {}", target, r.status, out.error().message.substr(0, 1024));
      } else {
        spdlog::debug("{} -> {}: {}", target, r.status, out.error().message);
      }
    }
    for (auto& h : httpd::cors_response_headers(l->cfg.cors, origin))
      r.headers.push_back(std::move(h));
    respond(std::move(r));
  };
  auto inv = std::make_shared<LocalInvocation>();
  inv->origin = l->origin;
  inv->operation = std::string(rpc::kHttpHandleRequest);
  inv->payload = rpc::encode_http_request(hr);
  inv->done = finish;
  inv->deadline = std::chrono::steady_clock::now() + l->cfg.timeout.value_or(deps_.default_timeout);
  const std::string& actor = l->link.actor_id;
  // A known-fast actor with a free slot runs right here on the event loop and the answer is
  // written without suspending the connection (ActorSupervisor::try_run_here has the rule).
  if (deps_.try_run_here && deps_.try_run_here(actor, *inv)) return;
  // Otherwise the RPC pool, bounded by the deadline timer: at the deadline a request still
  // queued is answered 503 and never runs; one running is answered 503 and its result dropped.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto key = std::make_shared<Deadlines::Key>();
  std::weak_ptr<Deadlines> timer = deadlines_;
  inv->claim = std::make_shared<std::atomic<bool>>(false);
  inv->done = [finish, answered, key, timer](Result<Bytes> out) {
    if (answered->exchange(true)) return;  // answered at the deadline already
    if (auto t = timer.lock()) t->cancel(key.get());
    finish(std::move(out));
  };
  deadlines_->arm(inv->deadline, inv, key.get());
  if (deps_.invoke_local && deps_.invoke_local(actor, inv)) return;
  deadlines_->cancel(key.get());
  // No local instance: a signed invocation through the lattice, off the event loop.
  auto remote = [this, l, inv, finish] {
    finish(deps_.invoke_remote ? deps_.invoke_remote(l->origin, l->link.actor_id, inv->operation,
                                                     std::move(inv->payload))
                               : fail(Code::kUnavailable, "no lattice connection"));
  };
  if (!deps_.post_rpc || !deps_.post_rpc(remote))
    finish(fail(Code::kUnavailable, "the host is shutting down"));
}

}  // namespace wc::host
