// wc::httpd::Server: the in-process, event-driven HTTP/1.1 server of the host's builtin
// `wasmcloud:httpserver` capability (issue #14.4), on Debian's libmicrohttpd.
//
// One Server listens on one address. A small, fixed set of event-loop threads (epoll) own every
// connection: they accept, read and parse requests, enforce the body limit and the idle timeout,
// and write responses; no thread is tied to a connection, so slow or idle clients cost memory
// (bounded: at most Options::max_connections connections, each with a bounded buffer) and never
// a thread. A complete request is handed to the Handler on an event-loop thread; the handler
// must not block: it answers through its Respond callback, at once or later from any thread
// (the connection is suspended meanwhile and resumed when the answer comes).
//
// Ownership: the caller owns the Server; stop() (or the destructor) closes the listener and
// every connection and joins the event-loop threads. A Respond called after stop() is a no-op.
//
// Thread-safety: start/stop/port from one owner thread; Respond from any thread, exactly once
// per request (a second call is ignored, a Respond destroyed without a call answers 500).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::httpd {

/// Request header map: lower-case name -> values in arrival order (the shape of HttpRequest's
/// `header`, actor-rpc-providers.md 7.2).
using HeaderMap = std::map<std::string, std::vector<std::string>>;

/// One complete request. `path` and `query_string` are the request target as the client sent
/// it (not percent-decoded), split at its first '?' (`query_string` without the '?', empty when
/// there is none); `body` the whole (de-chunked) body, for every method (GET and OPTIONS too).
struct Request {
  std::string method;
  std::string path;
  std::string query_string;
  HeaderMap header;
  Bytes body;
};

/// The answer to one request. Framing headers (content-length, transfer-encoding, connection)
/// given here are ignored: the server frames the body itself.
struct Response {
  /// HTTP status, 200..999 (anything else is sent as 500: a 1xx cannot end an exchange).
  std::uint16_t status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  Bytes body;
};

/// Answers one request. Call once, from any thread.
using Respond = std::function<void(Response)>;
/// Receives each complete request on an event-loop thread. Must not block.
using Handler = std::function<void(Request request, Respond respond)>;

/// Where a Server listens and how it bounds its clients; every limit applies per Server.
struct Options {
  std::string host = "127.0.0.1";  ///< IPv4 or IPv6 literal to bind
  int port = 0;                    ///< 0 = any free port (port() tells which)
  /// Largest request body in bytes; a larger announced Content-Length, or a chunked body as
  /// soon as it grows past it, is answered 413 without calling the handler, and the connection
  /// closes after the 413 (the rest of the body is not read; up to 1 MiB more of a chunked one
  /// is drained first, so that a client still sending does not lose the answer to a reset).
  std::size_t max_content_len = 10u << 20;
  /// Event-loop threads (0 = one per CPU).
  unsigned threads = 0;
  /// Connections open at once. At the limit the event loops stop accepting: further
  /// connections wait in the kernel's listen queue (at most `backlog`, beyond it the kernel
  /// drops them) and are served when a connection closes. With several threads the limit is
  /// split evenly between the event loops (libmicrohttpd), so one loop may refuse a little early.
  unsigned max_connections = 16384;
  /// Connections open at once from one client address (IPv4 address, or whole IPv6 address);
  /// one more is accepted and closed at once, unanswered. Counted across all event loops.
  /// 0 (the default) = no per-address limit: one address often carries many legitimate
  /// clients (a reverse proxy or load balancer in front, a NAT, a benchmark from loopback),
  /// and max_connections with idle_timeout already bound what idle clients cost. Set it when
  /// the server faces its clients directly, above the connections one client may need.
  unsigned max_connections_per_ip = 0;
  /// A connection that sends or receives nothing for this long is closed (idle keep-alive
  /// connections, and slow clients that stall mid-request); whole seconds, 0 = never. A
  /// connection waiting for its answer (suspended) is not timed out.
  std::chrono::seconds idle_timeout{30};
  /// listen() backlog: connections the kernel completes before the server accepts them
  /// (capped by net.core.somaxconn).
  int backlog = 4096;
};

/// Counters of one Server (monotonic since start, except `open_connections`).
struct Stats {
  std::uint64_t requests = 0;            ///< complete requests handed to the handler
  std::uint64_t rejected_too_large = 0;  ///< answered 413
  std::uint64_t open_connections = 0;    ///< connections open now
};

class Server {
 public:
  /// Binds `options.host:options.port` with the listen backlog and starts the event loops.
  /// Errors: kAlreadyExists when the address is in use, kInvalidArgument for an unparsable
  /// host (names are not resolved), a port outside 0..65535, max_connections 0 or no handler,
  /// kPermissionDenied for a privileged port, kUnavailable when libmicrohttpd cannot start.
  static Result<std::unique_ptr<Server>> start(const Options& options, Handler handler);
  /// Stops listening, closes every connection (suspended ones included, their pending answers
  /// are dropped), joins the threads. Idempotent. Not from a Handler (an event-loop thread).
  void stop();
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound port.
  int port() const;
  Stats stats() const;

  struct Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace wc::httpd
