// wc::httpd::Server on libmicrohttpd 0.9.75 (see server.h for the contract).
//
// Per request: the URI log callback (called once per request, with the raw request target)
// creates an Exchange and makes it the request's `con_cls`; the access handler's first call
// (headers parsed) collects the header map and refuses an announced Content-Length above the
// limit with 413 (MHD then discards the body and closes the connection); the body calls append
// to Exchange::body (bounded by max_content_len; a chunked body that passes it is answered 413
// at once by answer_too_large_mid_body(), see there); the final call hands the Request to the
// Handler. An answer given inside the handler is queued at once; otherwise the connection is
// suspended (MHD_suspend_connection) and the Respond resumes it from any thread; the resumed
// access-handler call queues the stored answer. The completion callback marks the Exchange done,
// after which a Respond is a no-op.
//
// Locks: Impl::mu guards `stopping` and the set of suspended exchanges; Exchange::mu guards
// its phase and stored answer. Order: Impl::mu before Exchange::mu, never the reverse (Respond
// takes only Exchange::mu, so it never waits for the server's lock).
#include "httpd/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>

#include <spdlog/spdlog.h>

namespace wc::httpd {

namespace {

/// MHD's per-connection pool: request line, headers and the response header block live
/// there (bodies do not). 32 KiB holds the usual 8 KiB header limits of proxies with room.
constexpr std::size_t kConnectionMemory = std::size_t{32} * 1024;
/// Up to this much of an announced body is reserved up front (the rest grows on demand), so a
/// client announcing a large body and sending nothing does not cost the whole limit.
constexpr std::size_t kMaxReserve = std::size_t{64} * 1024;
/// After the 413 of a chunked body that passed max_content_len, up to this much more of the
/// body is read and dropped (a lingering close: a client that sends its whole body before
/// reading its answer keeps sending while the 413 travels; closing with its data unread would
/// reset the connection, and some TCP stacks then drop the answer the client has not read
/// yet); past it, or when the body ends, the connection is closed.
constexpr std::size_t kDrainAfter413 = 1u << 20;
/// Body of the 413 answer.
constexpr const char* kTooLargeBody = "Payload Too Large";

void log_mhd(void* /*cls*/, const char* fmt, va_list ap) {
  char text[512];
  int n = std::vsnprintf(text, sizeof text, fmt, ap);
  if (n < 0) return;
  std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(n), sizeof text - 1);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) --len;
  spdlog::debug("httpd: {}", std::string_view(text, len));
}

[[noreturn]] void panic_mhd(void* /*cls*/, const char* file, unsigned int line,
                            const char* reason) {
  spdlog::critical("httpd: libmicrohttpd panic at {}:{}: {}", file ? file : "?", line,
                   reason ? reason : "");
  std::abort();
}

/// MHD_OPTION_UNESCAPE_CALLBACK: keep the request target as the client sent it.
std::size_t unescape_none(void* /*cls*/, MHD_Connection* /*connection*/, char* s) {
  return std::strlen(s);
}

bool is_framing_header(std::string_view name) {
  auto eq = [&](std::string_view want) {
    return name.size() == want.size() && std::equal(name.begin(), name.end(), want.begin(),
                                                    [](char a, char b) { return (a | 0x20) == b; });
  };
  return eq("content-length") || eq("transfer-encoding") || eq("connection");
}

}  // namespace

/// One request from its request line to its completion. Owned by itself (`self`, released by
/// the completion callback) and by the Respond of the handler.
struct Exchange {
  enum class Stage { kHeaders, kBody, kHandled };      // event-loop thread only
  enum class Phase { kInHandler, kSuspended, kDone };  // guarded by mu

  std::shared_ptr<Exchange> self;
  MHD_Connection* connection = nullptr;
  Stage stage = Stage::kHeaders;
  std::string target;  // raw request target
  HeaderMap header;
  Bytes body;
  /// A chunked body passed the limit: its 413 is sent, the rest of the body is drained.
  bool too_large = false;
  /// In Impl::suspended (event-loop thread only: inserted and erased on the connection's loop),
  /// so that only exchanges that were suspended take the server's lock at their completion.
  bool listed = false;
  std::size_t drained = 0;  // body bytes dropped since the 413

  std::mutex mu;
  Phase phase = Phase::kInHandler;
  bool answered = false;
  std::optional<Response> response;
  /// The answer being sent: MHD reads its body from here (MHD_RESPMEM_PERSISTENT) until the
  /// completion callback, which runs before MHD drops the response.
  Response sending;
};

namespace {

/// Stores the answer; resumes the connection if it waits. Once per exchange; later calls and
/// calls after the completion (closed connection, stopped server) do nothing.
void deliver(Exchange& ex, Response response) {
  std::lock_guard lock(ex.mu);
  if (ex.answered) return;
  ex.answered = true;
  switch (ex.phase) {
    case Exchange::Phase::kInHandler:
      ex.response = std::move(response);
      break;
    case Exchange::Phase::kSuspended:
      ex.response = std::move(response);
      ex.phase = Exchange::Phase::kDone;
      MHD_resume_connection(ex.connection);
      break;
    case Exchange::Phase::kDone:
      break;
  }
}

/// Shared by every copy of one Respond: answers 500 when the last copy goes without a call.
struct Answer {
  std::shared_ptr<Exchange> ex;
  explicit Answer(std::shared_ptr<Exchange> e) : ex(std::move(e)) {}
  Answer(const Answer&) = delete;
  Answer& operator=(const Answer&) = delete;
  ~Answer() {
    Response r;
    r.status = 500;
    deliver(*ex, std::move(r));
  }
};

MHD_Result queue(MHD_Connection* connection, unsigned status, MHD_Response* response) {
  if (response == nullptr) return MHD_NO;
  MHD_Result r = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return r;
}

MHD_Result queue_too_large(MHD_Connection* connection) {
  MHD_Response* response = MHD_create_response_from_buffer(
      std::strlen(kTooLargeBody), const_cast<char*>(kTooLargeBody), MHD_RESPMEM_PERSISTENT);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
  return queue(connection, MHD_HTTP_CONTENT_TOO_LARGE, response);
}

/// The 413 of a chunked body that passed the limit, written by us: MHD 0.9.75 queues an answer
/// only once the headers or the whole request are in (MHD_queue_response refuses one in the
/// middle of a body), and waiting for the end of a body of unbounded length cannot be bounded.
/// The event-loop thread that runs this access-handler call owns the connection, and MHD
/// writes nothing while it reads a body (the answer to the previous request and any
/// "100 Continue" are fully sent before the first body call), so the 413 goes straight to the
/// socket, followed by our FIN (shutdown(SHUT_WR), which also flushes a corked socket). MHD
/// keeps the connection in its body state afterwards: the caller drains the rest (bounded by
/// kDrainAfter413) and then has MHD close it. Returns false when the socket did not take the
/// whole answer at once (a full send buffer, a closed peer): the caller closes without one.
bool answer_too_large_mid_body(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) return false;
  const int fd = info->connect_fd;
  const char* reason = MHD_get_reason_phrase_for(MHD_HTTP_CONTENT_TOO_LARGE);
  std::string answer = "HTTP/1.1 413 ";
  answer += reason != nullptr && *reason != '\0' ? reason : "Content Too Large";
  answer += "\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ";
  answer += std::to_string(std::strlen(kTooLargeBody));
  answer += "\r\n\r\n";
  answer += kTooLargeBody;
  const ssize_t n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(answer.size())) {
    spdlog::debug("httpd: the 413 of an oversized chunked body was not sent ({})",
                  n < 0 ? std::strerror(errno) : "partial write");
    return false;
  }
  ::shutdown(fd, SHUT_WR);
  return true;
}

MHD_Result queue_bad_framing(MHD_Connection* connection) {
  static constexpr char kBody[] = "ambiguous request framing";
  MHD_Response* response = MHD_create_response_from_buffer(
      sizeof kBody - 1, const_cast<char*>(kBody), MHD_RESPMEM_PERSISTENT);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
  return queue(connection, MHD_HTTP_BAD_REQUEST, response);
}

/// Queues ex.sending (moved there from the stored answer).
MHD_Result queue_answer(Exchange& ex, Response answer) {
  ex.sending = std::move(answer);
  Response& a = ex.sending;
  MHD_Response* response = MHD_create_response_from_buffer(
      a.body.size(), a.body.empty() ? nullptr : a.body.data(), MHD_RESPMEM_PERSISTENT);
  if (response == nullptr) return MHD_NO;
  for (const auto& [name, value] : a.headers) {
    if (is_framing_header(name)) continue;
    if (MHD_add_response_header(response, name.c_str(), value.c_str()) != MHD_YES) {
      spdlog::debug("httpd: response header '{}' refused", name);
    }
  }
  unsigned status = a.status;
  if (status < 200 || status > 999) {
    spdlog::debug("httpd: handler answered invalid status {}; sending 500", status);
    status = 500;
  }
  return queue(ex.connection, status, response);
}

MHD_Result add_header(void* cls, MHD_ValueKind /*kind*/, const char* key, std::size_t key_size,
                      const char* value, std::size_t value_size) {
  auto& header = *static_cast<HeaderMap*>(cls);
  std::string name(key, key_size);
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  }
  header[std::move(name)].emplace_back(value != nullptr ? value : "", value_size);
  return MHD_YES;
}

}  // namespace

struct Server::Impl {
  Options options;
  Handler handler;
  MHD_Daemon* daemon = nullptr;
  int port = 0;

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> rejected_too_large{0};
  std::atomic<std::uint64_t> open_connections{0};

  std::mutex mu;
  bool stopping = false;                    // guarded by mu
  std::unordered_set<Exchange*> suspended;  // guarded by mu

  static void* on_uri(void* cls, const char* uri, MHD_Connection* connection);
  static MHD_Result on_access(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* version, const char* upload_data,
                              std::size_t* upload_data_size, void** con_cls);
  static void on_completed(void* cls, MHD_Connection* connection, void** con_cls,
                           MHD_RequestTerminationCode code);
  static void on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                            MHD_ConnectionNotificationCode code);

  MHD_Result first_call(Exchange& ex, MHD_Connection* connection);
  MHD_Result body_call(Exchange& ex, const char* data, std::size_t* size);
  MHD_Result final_call(Exchange& ex, const char* method);
  MHD_Result resumed_call(Exchange& ex);
  void stop();
};

void* Server::Impl::on_uri(void* /*cls*/, const char* uri, MHD_Connection* connection) {
  auto ex = std::make_shared<Exchange>();
  ex->connection = connection;
  ex->target = uri != nullptr ? uri : "";
  Exchange* raw = ex.get();
  raw->self = std::move(ex);
  return raw;
}

void Server::Impl::on_completed(void* cls, MHD_Connection* /*connection*/, void** con_cls,
                                MHD_RequestTerminationCode /*code*/) {
  auto* ex = static_cast<Exchange*>(*con_cls);
  if (ex == nullptr) return;
  *con_cls = nullptr;
  if (ex->listed) {
    // A resumed connection can end (the client went away) without another access call, so
    // resumed_call() never erased it: stop() must not find it after `self` is released below.
    auto* impl = static_cast<Impl*>(cls);
    std::lock_guard server_lock(impl->mu);
    impl->suspended.erase(ex);
    ex->listed = false;
  }
  {
    std::lock_guard lock(ex->mu);
    ex->phase = Exchange::Phase::kDone;
    ex->response.reset();
  }
  std::shared_ptr<Exchange> last = std::move(ex->self);
}

void Server::Impl::on_connection(void* cls, MHD_Connection* /*connection*/,
                                 void** /*socket_context*/, MHD_ConnectionNotificationCode code) {
  auto* impl = static_cast<Impl*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    impl->open_connections.fetch_add(1, std::memory_order_relaxed);
  } else {
    impl->open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
}

MHD_Result Server::Impl::first_call(Exchange& ex, MHD_Connection* connection) {
  MHD_get_connection_values_n(connection, MHD_HEADER_KIND, &add_header, &ex.header);
  ex.stage = Exchange::Stage::kBody;
  auto it = ex.header.find("content-length");
  // RFC 9112 6.3: more than one Content-Length, or one beside Transfer-Encoding, makes the
  // framing ambiguous (libmicrohttpd 0.9.75 frames by the first and would read the rest of the
  // body as the next request: request smuggling behind a proxy that framed it otherwise).
  // Answered 400 and the connection closed, without calling the handler.
  if (it != ex.header.end() &&
      (it->second.size() > 1 || ex.header.count("transfer-encoding") != 0)) {
    ex.stage = Exchange::Stage::kHandled;
    {
      std::lock_guard lock(ex.mu);
      ex.phase = Exchange::Phase::kDone;
    }
    return queue_bad_framing(connection);
  }
  if (it != ex.header.end() && !it->second.empty()) {
    // MHD has validated the value (a malformed one is answered 400 before this call).
    unsigned long long announced = std::strtoull(it->second.front().c_str(), nullptr, 10);
    if (announced > options.max_content_len) {
      rejected_too_large.fetch_add(1, std::memory_order_relaxed);
      ex.stage = Exchange::Stage::kHandled;
      {
        std::lock_guard lock(ex.mu);
        ex.phase = Exchange::Phase::kDone;
      }
      return queue_too_large(connection);
    }
    ex.body.reserve(std::min<std::size_t>(static_cast<std::size_t>(announced), kMaxReserve));
  }
  return MHD_YES;
}

MHD_Result Server::Impl::body_call(Exchange& ex, const char* data, std::size_t* size) {
  std::size_t n = *size;
  *size = 0;
  if (ex.too_large) {  // answered: drain (MHD_NO = MHD closes the connection)
    ex.drained += n;
    return ex.drained > kDrainAfter413 ? MHD_NO : MHD_YES;
  }
  if (n > options.max_content_len - ex.body.size()) {
    // Only a chunked body gets here: an announced length above the limit was refused by
    // first_call(), and MHD passes no more than the announced length.
    rejected_too_large.fetch_add(1, std::memory_order_relaxed);
    ex.too_large = true;
    Bytes().swap(ex.body);
    {
      std::lock_guard lock(ex.mu);
      ex.phase = Exchange::Phase::kDone;
    }
    return answer_too_large_mid_body(ex.connection) ? MHD_YES : MHD_NO;
  }
  ex.body.insert(ex.body.end(), reinterpret_cast<const std::uint8_t*>(data),
                 reinterpret_cast<const std::uint8_t*>(data) + n);
  return MHD_YES;
}

MHD_Result Server::Impl::final_call(Exchange& ex, const char* method) {
  ex.stage = Exchange::Stage::kHandled;
  if (ex.too_large) return MHD_NO;  // the body ended while drained after its 413: close
  requests.fetch_add(1, std::memory_order_relaxed);

  Request request;
  request.method = method != nullptr ? method : "";
  std::string_view target = ex.target;
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) {
    request.path = std::move(ex.target);
  } else {
    request.path.assign(target.substr(0, q));
    request.query_string.assign(target.substr(q + 1));
  }
  request.header = std::move(ex.header);
  request.body = std::move(ex.body);
  try {
    handler(std::move(request),
            Respond([answer = std::make_shared<Answer>(ex.self)](Response response) {
              deliver(*answer->ex, std::move(response));
            }));
  } catch (const std::exception& e) {
    spdlog::warn("httpd: handler threw: {}", e.what());
  } catch (...) {
    spdlog::warn("httpd: handler threw a non-standard exception");
  }

  // Answered inside the handler (the usual case): queue it without suspending.
  {
    std::unique_lock lock(ex.mu);
    if (ex.response) {
      Response answer = std::move(*ex.response);
      ex.response.reset();
      ex.phase = Exchange::Phase::kDone;
      lock.unlock();
      return queue_answer(ex, std::move(answer));
    }
  }
  // The answer comes later: suspend unless the server is stopping.
  std::lock_guard server_lock(mu);
  std::unique_lock lock(ex.mu);
  if (ex.response) {  // arrived meanwhile
    Response answer = std::move(*ex.response);
    ex.response.reset();
    ex.phase = Exchange::Phase::kDone;
    lock.unlock();
    return queue_answer(ex, std::move(answer));
  }
  if (stopping) {
    ex.phase = Exchange::Phase::kDone;
    return MHD_NO;
  }
  suspended.insert(&ex);
  ex.listed = true;
  ex.phase = Exchange::Phase::kSuspended;
  MHD_suspend_connection(ex.connection);
  return MHD_YES;
}

MHD_Result Server::Impl::resumed_call(Exchange& ex) {
  {
    std::lock_guard server_lock(mu);
    suspended.erase(&ex);
    ex.listed = false;
  }
  std::unique_lock lock(ex.mu);
  ex.phase = Exchange::Phase::kDone;
  if (!ex.response) return MHD_NO;  // resumed by stop(): close
  Response answer = std::move(*ex.response);
  ex.response.reset();
  lock.unlock();
  return queue_answer(ex, std::move(answer));
}

MHD_Result Server::Impl::on_access(void* cls, MHD_Connection* connection, const char* /*url*/,
                                   const char* method, const char* /*version*/,
                                   const char* upload_data, std::size_t* upload_data_size,
                                   void** con_cls) {
  auto* impl = static_cast<Impl*>(cls);
  auto* ex = static_cast<Exchange*>(*con_cls);
  if (ex == nullptr) return MHD_NO;  // the URI callback always sets it
  switch (ex->stage) {
    case Exchange::Stage::kHeaders:
      return impl->first_call(*ex, connection);
    case Exchange::Stage::kBody:
      if (*upload_data_size != 0) return impl->body_call(*ex, upload_data, upload_data_size);
      return impl->final_call(*ex, method);
    case Exchange::Stage::kHandled:
      return impl->resumed_call(*ex);
  }
  return MHD_NO;
}

void Server::Impl::stop() {
  if (daemon == nullptr) return;
  {
    std::lock_guard server_lock(mu);
    stopping = true;
    for (Exchange* ex : suspended) {
      std::lock_guard lock(ex->mu);
      if (ex->phase == Exchange::Phase::kSuspended) {
        ex->phase = Exchange::Phase::kDone;
        MHD_resume_connection(ex->connection);
      }
    }
  }
  MHD_stop_daemon(daemon);  // closes the listening socket and every connection
  daemon = nullptr;
}

namespace {

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;
  bool v6 = false;
};

Result<Address> parse_address(const std::string& host, int port) {
  if (port < 0 || port > 65535) {
    return fail(Code::kInvalidArgument, "port out of range: " + std::to_string(port));
  }
  Address a;
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    a.len = sizeof(sockaddr_in6);
    a.v6 = true;
  } else {
    return fail(Code::kInvalidArgument, "not an IPv4 or IPv6 address: " + host);
  }
  return a;
}

/// A listening socket bound exclusively (SO_REUSEADDR only lets a restart reuse a port whose
/// old connections linger in TIME_WAIT; Linux still refuses a second listener).
Result<int> listen_on(const Address& a, int backlog, int* bound_port) {
  int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(Code::kUnavailable, std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (a.v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.len) != 0) {
    int err = errno;
    ::close(fd);
    std::string what = std::string("bind: ") + std::strerror(err);
    if (err == EADDRINUSE) return fail(Code::kAlreadyExists, what);
    if (err == EACCES) return fail(Code::kPermissionDenied, what);
    if (err == EADDRNOTAVAIL) return fail(Code::kInvalidArgument, what);
    return fail(Code::kUnavailable, what);
  }
  if (::listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
    int err = errno;
    ::close(fd);
    std::string what = std::string("listen: ") + std::strerror(err);
    return fail(err == EADDRINUSE ? Code::kAlreadyExists : Code::kUnavailable, what);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  *bound_port = ntohs(a.v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

/// True when `fd` is still the listening socket on `port` (MHD_start_daemon closes the socket
/// it was given on most of its failure paths, not on all).
bool still_ours(int fd, int port) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (::fcntl(fd, F_GETFD) < 0) return false;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return false;
  int p = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return p == port;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(const Options& options, Handler handler) {
  static std::once_flag panic_once;
  std::call_once(panic_once, [] { MHD_set_panic_func(&panic_mhd, nullptr); });
  if (!handler) return fail(Code::kInvalidArgument, "httpd: no handler");
  if (options.max_connections == 0) {
    return fail(Code::kInvalidArgument, "httpd: max_connections must be at least 1");
  }

  auto address = parse_address(options.host, options.port);
  if (!address) return fail(address.error());
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  auto fd = listen_on(*address, options.backlog, &impl->port);
  if (!fd) return fail(fd.error());

  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  // MHD splits the connection limit evenly; a loop with a share of 0 would never accept.
  threads = std::min(threads, options.max_connections);
  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (address->v6) flags |= MHD_USE_IPv6;
  auto timeout = static_cast<unsigned>(std::max<std::int64_t>(0, options.idle_timeout.count()));
  // An option array (MHD casts each value to the option's type); the logger comes first so
  // that MHD's warnings about later options reach it too. MHD_OPTION_LISTEN_BACKLOG_SIZE is not
  // passed: the socket is ours and already listens with options.backlog.
  std::vector<MHD_OptionItem> opts;
  auto add = [&opts](MHD_OPTION option, intptr_t value, void* ptr = nullptr) {
    opts.push_back(MHD_OptionItem{option, value, ptr});
  };
  add(MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&log_mhd), nullptr);
  add(MHD_OPTION_LISTEN_SOCKET, *fd);  // bound and listening with options.backlog (listen_on)
  if (threads > 1) add(MHD_OPTION_THREAD_POOL_SIZE, threads);
  add(MHD_OPTION_CONNECTION_LIMIT, options.max_connections);
  // Counted by the master daemon for the whole pool (0 = none).
  add(MHD_OPTION_PER_IP_CONNECTION_LIMIT, options.max_connections_per_ip);
  add(MHD_OPTION_CONNECTION_TIMEOUT, timeout);
  add(MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory));
  add(MHD_OPTION_UNESCAPE_CALLBACK, reinterpret_cast<intptr_t>(&unescape_none), nullptr);
  add(MHD_OPTION_URI_LOG_CALLBACK, reinterpret_cast<intptr_t>(&Impl::on_uri), impl.get());
  add(MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::on_completed), impl.get());
  add(MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&Impl::on_connection), impl.get());
  add(MHD_OPTION_END, 0);
  impl->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::on_access, impl.get(),
                                  MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    if (still_ours(*fd, impl->port)) ::close(*fd);
    return fail(Code::kUnavailable, "httpd: libmicrohttpd could not start (see debug log)");
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

void Server::stop() {
  if (impl_) impl_->stop();
}

int Server::port() const { return impl_->port; }

Stats Server::stats() const {
  Stats s;
  s.requests = impl_->requests.load(std::memory_order_relaxed);
  s.rejected_too_large = impl_->rejected_too_large.load(std::memory_order_relaxed);
  s.open_connections = impl_->open_connections.load(std::memory_order_relaxed);
  return s;
}

}  // namespace wc::httpd
