// HTTP <-> HttpServer.HandleRequest bridge (see server.h).
#include "httpserver/server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <thread>

namespace wc::httpserver {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::size_t default_threads() {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  return std::max<std::size_t>(64, 16 * static_cast<std::size_t>(hw));
}

namespace {

/// Method a body-carrying GET/OPTIONS request had before `reroute_body` rewrote it (empty when
/// not rewritten). httplib runs pre-routing, body reading and the handler of one request on one
/// thread, so a thread-local carries it from the pre-routing hook to the handler.
thread_local std::string t_original_method;  // NOLINT(cert-err58-cpp)

/// True when the request announces a body (non-zero Content-Length or chunked framing).
bool announces_body(const httplib::Request& req) {
  const std::string te = req.get_header_value("Transfer-Encoding");
  if (te.find("chunked") != std::string::npos) return true;
  const std::string cl = req.get_header_value("Content-Length");
  return !cl.empty() && cl.find_first_not_of('0') != std::string::npos;
}

/// httplib 0.11 only reads a request body for POST/PUT/PATCH/DELETE; a GET or OPTIONS body would
/// be left unread (dropped, and parsed as the next keep-alive request). The HTTP server provider
/// passes every body through (spec 7.2), so such requests are routed as POST — httplib then reads
/// the body, enforcing the payload limit (413) — and `handle` restores the original method.
/// `req` is httplib's own non-const request object handed to the hook by const reference.
void reroute_body(const httplib::Request& creq) {
  t_original_method.clear();
  if ((creq.method != "GET" && creq.method != "OPTIONS") || !announces_body(creq)) return;
  auto& req = const_cast<httplib::Request&>(creq);  // NOLINT: object is not const
  t_original_method = req.method;
  req.method = "POST";
}

}  // namespace

struct LinkServer::Impl {
  HttpConfig cfg;
  ActorCaller caller;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  int listen_fd = -1;  // the listening socket, as last seen by the socket-options hook
  bool stopped = false;
  /// steady_clock ticks of the last warn line about a failed actor call (0 = none yet), and the
  /// failures since then (logged at debug only).
  std::atomic<std::int64_t> last_failure_warn_{0};
  std::atomic<std::int64_t> failures_since_warn_{0};

  void add_cors(const httplib::Request& req, httplib::Response& res) const {
    for (const auto& [name, value] : httpd::cors_response_headers(cfg.cors, origin_of(req)))
      res.set_header(name, value);
  }

  /// CORS preflight answered by the provider itself; true when handled.
  bool preflight(const httplib::Request& req, httplib::Response& res) const {
    auto headers = httpd::cors_preflight(cfg.cors, req.method, origin_of(req),
                                         req.has_header("Access-Control-Request-Method"));
    if (!headers) return false;
    res.status = 204;
    for (const auto& [name, value] : *headers) res.set_header(name, value);
    return true;
  }

  static std::string origin_of(const httplib::Request& req) {
    return req.has_header("Origin") ? req.get_header_value("Origin") : std::string();
  }

  void handle(const httplib::Request& creq, httplib::Response& res) {
    // Undo the method rewrite of `reroute_body` (same thread, same request object).
    auto& req = const_cast<httplib::Request&>(creq);  // NOLINT: object is not const
    if (!t_original_method.empty()) {
      req.method = std::move(t_original_method);
      t_original_method.clear();
    }
    if (preflight(req, res)) return;
    HttpRequest r;
    r.method = req.method;
    const auto q = req.target.find('?');
    r.path = req.target.substr(0, q);
    r.query_string = q == std::string::npos ? std::string() : req.target.substr(q + 1);
    for (const auto& [name, value] : req.headers) {
      // httplib adds these for its own bookkeeping; they were not sent by the client.
      if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
          name == "LOCAL_PORT") {
        continue;
      }
      r.header[lower(name)].push_back(value);
    }
    r.body.assign(req.body.begin(), req.body.end());
    auto out = caller(encode_http_request(r));
    if (!out) {
      const Code c = out.error().code;
      if (c == Code::kDeadlineExceeded || c == Code::kUnavailable) {
        res.status = 503;
      } else {
        res.status = 500;
      }
      // A failed call is visible at the default log level (a new user saw 500/503 with no clue),
      // at most one warn line per 10 s so that a failing actor under load does not flood the log;
      // every one at debug.
      const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
      auto last = last_failure_warn_.load(std::memory_order_relaxed);
      const auto suppressed = failures_since_warn_.fetch_add(1, std::memory_order_relaxed);
      if ((last == 0 ||
           now - last >= std::chrono::steady_clock::duration(std::chrono::seconds(10)).count()) &&
          last_failure_warn_.compare_exchange_strong(last, now)) {
        failures_since_warn_.store(0, std::memory_order_relaxed);
        spdlog::warn("{} {} -> {}: {}{}", req.method, req.target, res.status,
                     out.error().message.substr(0, 1024),
                     suppressed > 0
                         ? " (" + std::to_string(suppressed) + " earlier failure(s) not logged)"
                         : std::string());
      } else {
        spdlog::debug("{} {} -> {}: {}", req.method, req.target, res.status, out.error().message);
      }
      return;
    }
    auto resp = decode_http_response(*out);
    if (!resp) {
      spdlog::warn("undecodable HttpResponse: {}", resp.error().message);
      res.status = 500;
      return;
    }
    res.status = resp->status_code;
    for (const auto& [name, values] : resp->header) {
      // Framing headers are the server's business (the body length is known).
      const std::string l = lower(name);
      if (l == "content-length" || l == "transfer-encoding" || l == "connection") continue;
      for (const auto& v : values) res.set_header(name, v);
    }
    add_cors(req, res);
    res.body.assign(resp->body.begin(), resp->body.end());
  }
};

LinkServer::LinkServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LinkServer::~LinkServer() { stop(); }

int LinkServer::port() const { return impl_->port; }

Result<std::unique_ptr<LinkServer>> LinkServer::start(const HttpConfig& cfg, ActorCaller caller) {
  auto impl = std::make_unique<Impl>();
  impl->cfg = cfg;
  impl->caller = std::move(caller);
  if (cfg.tls) {
    auto ssl = std::make_unique<httplib::SSLServer>(cfg.tls->cert_file.c_str(),
                                                    cfg.tls->priv_key_file.c_str());
    if (!ssl->is_valid()) {
      return fail(Code::kInvalidArgument, "Cannot load TLS certificate or key (" +
                                              cfg.tls->cert_file + ", " + cfg.tls->priv_key_file +
                                              ")");
    }
    impl->server = std::move(ssl);
  } else {
    impl->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl->server;
  const std::size_t threads = cfg.threads != 0 ? cfg.threads : default_threads();
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(cfg.max_content_len);
  s.set_keep_alive_max_count(100000);
  // Exclusive bind (no SO_REUSEPORT): a second link on a port in use must fail. TCP_NODELAY
  // (inherited by accepted sockets): httplib writes headers and body separately, and Nagle plus
  // the client's delayed ACK would add ~40 ms to every keep-alive response. The hook sees each
  // candidate socket before its bind; the last one seen is the one that got bound.
  Impl* p = impl.get();
  s.set_socket_options([p](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    p->listen_fd = sock;
  });
  auto handler = [p](const httplib::Request& req, httplib::Response& res) { p->handle(req, res); };
  const std::string all = ".*";
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    reroute_body(req);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.Get(all, handler);
  s.Post(all, handler);
  s.Put(all, handler);
  s.Delete(all, handler);
  s.Patch(all, handler);
  s.Options(all, handler);
  if (cfg.port == 0) {
    impl->port = s.bind_to_any_port(cfg.host);
    if (impl->port < 0) return fail(Code::kUnavailable, "Cannot bind " + cfg.host);
  } else {
    if (!s.bind_to_port(cfg.host, cfg.port)) {
      return fail(Code::kAlreadyExists, "Cannot listen on " + cfg.host + ":" +
                                            std::to_string(cfg.port) +
                                            " (address in use or not available)");
    }
    impl->port = cfg.port;
  }
  // cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into
  // Debian's libcpp-httplib): under a burst of connections the kernel drops SYNs (clients retry
  // after 1 s, 3 s, ...; `ab -c 200` saw resets). listen() again on the bound socket raises the
  // backlog to SOMAXCONN (Linux caps it at net.core.somaxconn).
  if (impl->listen_fd < 0 || ::listen(impl->listen_fd, SOMAXCONN) != 0) {
    return fail(Code::kUnavailable,
                "Cannot set the listen backlog on " + cfg.host + ":" + std::to_string(impl->port));
  }
  impl->thread = std::thread([p] { p->server->listen_after_bind(); });
  spdlog::info("HTTP server listening on {}:{}{}", cfg.host, impl->port, cfg.tls ? " (TLS)" : "");
  return std::unique_ptr<LinkServer>(new LinkServer(std::move(impl)));
}

void LinkServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace wc::httpserver
