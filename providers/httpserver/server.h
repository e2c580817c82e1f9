// One HTTP server per link of the httpserver provider: every request becomes an
// `HttpServer.HandleRequest` invocation of the linked actor (actor-rpc-providers.md 7.2) and the
// actor's HttpResponse is written back.
//
// Owned by providers/httpserver. A LinkServer owns a cpp-httplib server and its accept thread;
// requests run on the server's worker threads (HttpConfig::threads), each blocking on its own
// actor call, so slow actors never block other connections. start()/stop() from one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "httpd/link_config.h"
#include "rpc/http.h"

namespace wc::httpserver {

/// The link settings (httpd/link_config.h, shared with the host's builtin server).
using httpd::HttpConfig;

/// The contract's payloads and their one codec (rpc/http.h).
using HeaderMap = rpc::HttpHeaderMap;
using rpc::decode_http_request;
using rpc::decode_http_response;
using rpc::encode_http_request;
using rpc::encode_http_response;
using rpc::HttpRequest;
using rpc::HttpResponse;

/// Sends an HttpServer.HandleRequest payload to the linked actor and returns the response
/// payload. Error codes decide the HTTP status: kDeadlineExceeded / kUnavailable -> 503, others
/// (kActorError, ...) -> 500.
using ActorCaller = std::function<Result<Bytes>(Bytes payload)>;

/// Default worker threads per link when HttpConfig::threads is 0.
std::size_t default_threads();

/// A running HTTP server for one link.
class LinkServer {
 public:
  /// Binds cfg.host:cfg.port (plain or TLS) and starts serving. Errors: kAlreadyExists when the
  /// address is in use, kInvalidArgument for bad TLS files, kUnavailable otherwise.
  static Result<std::unique_ptr<LinkServer>> start(const HttpConfig& cfg, ActorCaller caller);
  /// Stops accepting, closes connections, joins the threads. Idempotent.
  void stop();
  ~LinkServer();
  /// The bound port (useful with port 0).
  int port() const;

  struct Impl;

 private:
  explicit LinkServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wc::httpserver
