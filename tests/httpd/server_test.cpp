// Tests of wc::httpd::Server against real sockets: a small HTTP/1.1 client written here (no
// mocks), and a forked child for the 10,000 idle connections. Each test asserts what a client
// observes (status, headers, body, timing, closed connections) and the server's Stats.
#include "httpd/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace wc::httpd {
/// True in an ASan or TSan build (gcc defines __SANITIZE_*__; clang answers __has_feature).
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string to_string(const Bytes& b) { return std::string(b.begin(), b.end()); }
Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// Polls `pred` every 5 ms until it holds or `timeout` passes.
template <class Pred>
bool wait_until(Pred pred, milliseconds timeout = milliseconds(3000)) {
  auto end = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

/// A blocking HTTP/1.1 client on one connection (receive timeout 5 s), from the IPv4 address
/// `source` when given (any 127.x.y.z is this machine's loopback on Linux).
class Client {
 public:
  explicit Client(int port, const char* host = "127.0.0.1", const char* source = nullptr) {
    bool v6 = std::strchr(host, ':') != nullptr;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (source != nullptr && !v6) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      inet_pton(AF_INET, source, &from.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
      }
    }
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<std::uint16_t>(port));
      inet_pton(AF_INET6, host, &a->sin6_addr);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<std::uint16_t>(port));
      inet_pton(AF_INET, host, &a->sin_addr);
      len = sizeof *a;
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads one response (Content-Length framed; none for HEAD). nullopt on close or timeout.
  std::optional<ClientResponse> read(bool head = false) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    ClientResponse r;
    std::string block = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    std::size_t line_end = block.find("\r\n");
    std::string status_line = block.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::atoi(status_line.c_str() + 9);
    std::size_t pos = line_end + 2;
    while (pos < block.size()) {
      std::size_t e = block.find("\r\n", pos);
      std::string line = block.substr(pos, e - pos);
      pos = e + 2;
      std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    std::size_t length = 0;
    if (!head && r.headers.count("content-length")) {
      length = std::strtoull(r.headers["content-length"].c_str(), nullptr, 10);
    }
    while (buf_.size() < length) {
      if (!fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  std::optional<ClientResponse> request(std::string_view text, bool head = false) {
    if (!send(text)) return std::nullopt;
    return read(head);
  }

  /// True when the server closes the connection (EOF or reset) within `timeout`.
  bool closed_within(milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      int left =
          static_cast<int>(std::chrono::duration_cast<milliseconds>(end - Clock::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
      char c[256];
      ssize_t n = ::recv(fd_, c, sizeof c, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
    }
    return false;
  }

  int fd() const { return fd_; }

 private:
  bool fill() {
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

/// Echoes the request: status 200, `x-method`, `x-path`, `x-query` and `x-header-<name>` (values
/// joined by '|'), body = request body.
void echo(Request req, const Respond& respond) {
  Response r;
  r.headers.emplace_back("x-method", req.method);
  r.headers.emplace_back("x-path", req.path);
  r.headers.emplace_back("x-query", req.query_string);
  for (const auto& [name, values] : req.header) {
    std::string joined;
    for (const auto& v : values) joined += (joined.empty() ? "" : "|") + v;
    r.headers.emplace_back("x-header-" + name, joined);
  }
  r.body = std::move(req.body);
  respond(std::move(r));
}

std::unique_ptr<Server> start_or_die(const Options& options, Handler handler) {
  auto s = Server::start(options, std::move(handler));
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().to_string());
  return s ? std::move(*s) : nullptr;
}

TEST(HttpdServer, GetAndPostRoundTripWithHeadersBodyAndStatus) {
  Options o;
  auto server = start_or_die(o, [](Request req, const Respond& respond) {
    if (req.method == "POST") {
      Response r;
      r.status = 201;
      r.headers.emplace_back("x-echo",
                             req.header["x-multi"].at(0) + "," + req.header["x-multi"].at(1));
      r.headers.emplace_back("Content-Length", "999");  // framing: ignored by the server
      r.body = to_bytes("got:" + to_string(req.body));
      respond(std::move(r));
      return;
    }
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  Client c(server->port());
  ASSERT_TRUE(c.connected());

  auto r = c.request(get("/a/b?x=1&y=two", "X-Multi: one\r\nx-MULTI: two\r\nAccept: */*\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["x-method"], "GET");
  EXPECT_EQ(r->headers["x-path"], "/a/b");
  EXPECT_EQ(r->headers["x-query"], "x=1&y=two");
  EXPECT_EQ(r->headers["x-header-x-multi"], "one|two");  // lower-cased, order kept
  EXPECT_EQ(r->headers["x-header-accept"], "*/*");
  EXPECT_EQ(r->headers["x-header-host"], "t");
  EXPECT_EQ(r->body, "");

  r = c.request(
      "POST /submit HTTP/1.1\r\nHost: t\r\nX-Multi: a\r\nX-Multi: b\r\nContent-Length: 5\r\n\r\n"
      "hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->headers["x-echo"], "a,b");
  EXPECT_EQ(r->headers["content-length"], "9");
  EXPECT_EQ(r->body, "got:hello");
  EXPECT_EQ(server->stats().requests, 2u);
}

TEST(HttpdServer, RawPathAndQueryAsTheClientSentThem) {
  auto server = start_or_die(Options{}, echo);
  ASSERT_TRUE(server);
  Client c(server->port());
  auto r = c.request(get("/files/a%2Fb%20c?q=x%2Fy&e=%3D"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/files/a%2Fb%20c");
  EXPECT_EQ(r->headers["x-query"], "q=x%2Fy&e=%3D");
  r = c.request(get("/only?"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/only");
  EXPECT_EQ(r->headers["x-query"], "");
  r = c.request(get("/two?a=1?b=2"));  // split at the first '?'
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/two");
  EXPECT_EQ(r->headers["x-query"], "a=1?b=2");
}

TEST(HttpdServer, EveryMethodReachesTheHandlerWithItsBody) {
  auto server = start_or_die(Options{}, echo);
  ASSERT_TRUE(server);
  Client c(server->port());
  for (std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"}) {
    auto r = c.request(method + " /m HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody");
    ASSERT_TRUE(r) << method;
    EXPECT_EQ(r->status, 200) << method;
    EXPECT_EQ(r->headers["x-method"], method);
    EXPECT_EQ(r->body, "body") << method;
  }
  // Chunked body on GET, de-chunked.
  auto r = c.request(
      "GET /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n"
      "\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcde");
  // HEAD: the handler sees it; the answer has the length but no body.
  r = c.request("HEAD /h HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", /*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["x-method"], "HEAD");
  EXPECT_EQ(r->headers["content-length"], "2");
  // The connection is still in sync: nothing of HEAD's body was sent.
  r = c.request(get("/after"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/after");
}

TEST(HttpdServer, HandlerAnsweringSynchronouslyIsQueuedAtOnce) {
  std::atomic<int> calls{0};
  Options o;
  o.threads = 1;
  auto server = start_or_die(o, [&](const Request&, const Respond& respond) {
    ++calls;
    Response r;
    r.status = 204;
    respond(std::move(r));
  });
  ASSERT_TRUE(server);
  Client c(server->port());
  auto t0 = Clock::now();
  auto r = c.request(get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_LT(ms_since(t0), 500.0);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpdServer, AsyncAnswerFromAnotherThreadWhileOtherConnectionsAreServed) {
  std::mutex mu;
  std::vector<std::thread> threads;
  std::atomic<bool> others_done{false};
  Options o;
  o.threads = 1;  // one event loop: a blocked loop would show at once
  auto server = start_or_die(o, [&](Request req, Respond respond) {
    if (req.path == "/slow") {
      std::lock_guard lock(mu);
      threads.emplace_back([&others_done, respond = std::move(respond)] {
        std::this_thread::sleep_for(milliseconds(50));
        // Answer only once the other connection's requests are through (or after 5 s), so the
        // test does not depend on how fast a loaded machine runs them.
        wait_until([&] { return others_done.load(); }, milliseconds(5000));
        Response r;
        r.status = 202;
        r.body = to_bytes("late");
        respond(std::move(r));
      });
      return;
    }
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  Client slow(server->port());
  Client fast(server->port());
  auto t0 = Clock::now();
  ASSERT_TRUE(slow.send(get("/slow")));
  for (int i = 0; i < 20; ++i) {
    auto r = fast.request(get("/fast" + std::to_string(i)));
    ASSERT_TRUE(r) << "request " << i << " on another connection waited for the pending one";
    EXPECT_EQ(r->headers["x-path"], "/fast" + std::to_string(i));
  }
  pollfd p{slow.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "the pending answer came before its Respond was called";
  others_done = true;
  auto r = slow.read();
  double slow_done = ms_since(t0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "late");
  EXPECT_GE(slow_done, 50.0);
  // The suspended connection is resumed into keep-alive: it serves the next request.
  r = slow.request(get("/again"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/again");
  std::lock_guard lock(mu);
  for (auto& t : threads) t.join();
}

TEST(HttpdServer, KeepAliveServesOneHundredRequestsOnOneConnectionWithoutNagleDelays) {
  auto server = start_or_die(Options{}, echo);
  ASSERT_TRUE(server);
  Client c(server->port());
  auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) {
    auto r = c.request("POST /k HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->body, "abc");
    ASSERT_EQ(r->headers.count("connection") ? r->headers["connection"] : "", "");
  }
  double total = ms_since(t0);
  // A 40 ms delayed-ACK/Nagle stall per request would take ~4 s.
  EXPECT_LT(total, 1000.0);
  EXPECT_EQ(server->stats().requests, 100u);
  EXPECT_EQ(server->stats().open_connections, 1u);
}

TEST(HttpdServer, OversizedContentLengthIs413WithoutCallingTheHandler) {
  std::atomic<int> calls{0};
  Options o;
  o.max_content_len = 1024;
  auto server = start_or_die(o, [&](Request req, const Respond& respond) {
    ++calls;
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  Client c(server->port());
  // Announce 1 GB and send nothing of it: the 413 comes at once.
  auto r = c.request("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(milliseconds(2000)));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(server->stats().rejected_too_large, 1u);

  // Exactly at the limit is fine.
  Client ok(server->port());
  r = ok.request("POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" +
                 std::string(1024, 'x'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 1024u);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpdServer, ExpectContinueGetsA100BeforeTheBodyOrA413InsteadOfIt) {
  Options o;
  o.max_content_len = 16;
  auto server = start_or_die(o, echo);
  ASSERT_TRUE(server);
  Client c(server->port());
  auto r =
      c.request("PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 100);
  r = c.request("data");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "data");
  r = c.request("PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(server->stats().rejected_too_large, 1u);
}

TEST(HttpdServer, ChunkedBodyGrowingPastTheLimitIs413) {
  std::atomic<int> calls{0};
  Options o;
  o.max_content_len = 1024;
  auto server = start_or_die(o, [&](Request req, const Respond& respond) {
    ++calls;
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  std::string chunk = "200\r\n" + std::string(512, 'y') + "\r\n";  // 512 bytes each
  Client c(server->port());
  ASSERT_TRUE(c.send("POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c.send(chunk));
  ASSERT_TRUE(c.send("0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(server->stats().rejected_too_large, 1u);

  // Two chunks (1024 bytes) fit.
  Client ok(server->port());
  r = ok.request("POST /chunks HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk +
                 chunk + "0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string(1024, 'y'));

  // An endless chunked body gets its 413 too, and is cut off (connection closed) instead of
  // read forever: 64 MiB offered, the server stops reading long before.
  Client endless(server->port());
  ASSERT_TRUE(endless.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string big = "10000\r\n" + std::string(0x10000, 'z') + "\r\n";
  bool cut = false;
  for (int i = 0; i < 1024 && !cut; ++i) cut = !endless.send(big);
  EXPECT_TRUE(cut) << "the server read 64 MiB of a body it had refused";
  r = endless.read();
  ASSERT_TRUE(r) << "cut off without its 413";
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(endless.closed_within(milliseconds(2000)));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(server->stats().rejected_too_large, 2u);

  // With "Expect: 100-continue": the 100 first, then the 413 once the body passes the limit.
  Client expect(server->port());
  r = expect.request(
      "POST /e HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 100);
  r = expect.request(chunk + chunk + chunk + "0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(expect.closed_within(milliseconds(2000)));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(server->stats().rejected_too_large, 3u);
}

/// Sends `total` bytes of chunked body (64 KiB chunks, then the last chunk) on `c` from another
/// thread, stopping at the first failed send (the server closed) or a send stuck for 5 s;
/// counts the body bytes sent in `sent`. Joined when the returned thread is destroyed.
std::jthread send_chunked_body(Client& c, std::size_t total, std::atomic<std::size_t>& sent) {
  timeval tv{5, 0};
  ::setsockopt(c.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return std::jthread([&c, total, &sent] {
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'c') + "\r\n";
    for (std::size_t n = 0; n < total; n += 0x10000) {
      if (!c.send(chunk)) return;
      sent += 0x10000;
    }
    c.send("0\r\n\r\n");
  });
}

TEST(HttpdServer, ChunkedBodyPastALargeLimitIs413AtOnceThenTheConnectionCloses) {
  // A limit above 1 MiB, like the default 10 MiB: the 413 comes as soon as the body passes it,
  // while the client is still sending; the connection closes after it (the rest of the body
  // is never read) and the handler is not called.
  std::atomic<int> calls{0};
  Options o;
  o.threads = 1;
  o.max_content_len = 2u << 20;
  auto server = start_or_die(o, [&](Request req, const Respond& respond) {
    ++calls;
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  for (std::size_t total : {std::size_t{3} << 20, std::size_t{64} << 20}) {
    Client c(server->port());
    ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::atomic<std::size_t> sent{0};
    std::jthread sender = send_chunked_body(c, total, sent);
    auto r = c.read();
    ASSERT_TRUE(r) << total << ": no answer (reset) after " << sent.load() << " bytes";
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_EQ(r->body, "Payload Too Large");
    EXPECT_TRUE(c.closed_within(milliseconds(3000)));
    sender.join();
    if (total > (std::size_t{8} << 20)) {
      EXPECT_LT(sent.load(), total) << "the server read all of a 64 MiB body it had refused";
    }
  }
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(server->stats().rejected_too_large, 2u);
  // Another client is served, and a body at the limit still fits.
  Client other(server->port());
  auto r = other.request(get("/other"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/other");
  std::atomic<std::size_t> sent{0};
  ASSERT_TRUE(other.send("POST /fits HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  send_chunked_body(other, o.max_content_len, sent).join();
  r = other.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), o.max_content_len);
  EXPECT_EQ(calls.load(), 2);
  EXPECT_TRUE(wait_until([&] { return server->stats().open_connections == 1; }));
}

TEST(HttpdServer, SlowClientDoesNotDelayOthersAndIsClosedAfterIdleTimeoutWhenItStalls) {
  Options o;
  o.threads = 1;
  o.idle_timeout = std::chrono::seconds(1);
  auto server = start_or_die(o, echo);
  ASSERT_TRUE(server);
  Client slow(server->port());
  std::string header = "GET /slowloris HTTP/1.1\r\nHost: t\r\nX-Pad: aaaaaaaaaaaaaaa\r\n";
  std::atomic<bool> sending_done{false};
  // 15 bytes at one per 100 ms: 1.5 s of activity, longer than the idle timeout.
  std::thread trickle([&] {
    for (std::size_t i = 0; i < 15; ++i) {
      slow.send(header.substr(i, 1));
      std::this_thread::sleep_for(milliseconds(100));
    }
    sending_done = true;
  });
  double worst = 0;
  int served = 0;
  while (!sending_done) {
    Client c(server->port());
    auto t0 = Clock::now();
    auto r = c.request(get("/other"));
    ASSERT_TRUE(r);
    worst = std::max(worst, ms_since(t0));
    ++served;
    std::this_thread::sleep_for(milliseconds(20));
  }
  trickle.join();
  EXPECT_GT(served, 5);
  EXPECT_LT(worst, 250.0);  // a loop stuck on the slow header would take 1.5 s
  // Still open after 1.5 s of trickling (activity resets the timeout), closed once it stalls.
  auto stall = Clock::now();
  EXPECT_TRUE(slow.closed_within(milliseconds(4000)));
  double closed_after = ms_since(stall);
  EXPECT_GE(closed_after, 700.0);
  EXPECT_LE(closed_after, 3500.0);
}

TEST(HttpdServer, ClientClosingMidBodyIsForgottenAndTheServerKeepsServing) {
  std::atomic<int> calls{0};
  Options o;
  o.threads = 1;
  auto server = start_or_die(o, [&](Request req, const Respond& respond) {
    ++calls;
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  {
    Client half(server->port());
    ASSERT_TRUE(half.send("POST /half HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
                          std::string(500, 'h')));
    std::this_thread::sleep_for(milliseconds(50));
  }  // closes with half of the body sent
  EXPECT_TRUE(wait_until([&] { return server->stats().open_connections == 0; }));
  EXPECT_EQ(calls.load(), 0);
  Client c(server->port());
  auto r = c.request(get("/still"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/still");
}

TEST(HttpdServer, ClientClosingWhileItsAnswerIsPendingThenRespondIsHarmless) {
  std::mutex mu;
  std::vector<Respond> pending;
  Options o;
  o.threads = 1;
  auto server = start_or_die(o, [&](Request req, Respond respond) {
    if (req.path == "/pending") {
      std::lock_guard lock(mu);
      pending.push_back(std::move(respond));
      return;
    }
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  {
    Client gone(server->port());
    ASSERT_TRUE(gone.send(get("/pending")));
    ASSERT_TRUE(wait_until([&] {
      std::lock_guard lock(mu);
      return pending.size() == 1;
    }));
  }  // the client closes while its answer is pending
  std::this_thread::sleep_for(milliseconds(50));
  Response r;
  r.body = to_bytes("too late");
  {
    std::lock_guard lock(mu);
    pending[0](r);
    pending[0](r);  // second call ignored
  }
  EXPECT_TRUE(wait_until([&] { return server->stats().open_connections == 0; }));
  Client c(server->port());
  auto answer = c.request(get("/fine"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->headers["x-path"], "/fine");

  // Again, ten times, with a resetting close (SO_LINGER 0): the resumed connection may then end
  // without another access call; stop() afterwards must not touch its freed request (ASan).
  for (int i = 0; i < 10; ++i) {
    {
      Client gone(server->port());
      ASSERT_TRUE(gone.send(get("/pending")));
      ASSERT_TRUE(wait_until([&] {
        std::lock_guard lock(mu);
        return pending.size() == static_cast<std::size_t>(i) + 2;
      }));
      linger l{1, 0};
      ::setsockopt(gone.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    std::this_thread::sleep_for(milliseconds(10));
    std::lock_guard lock(mu);
    pending.back()(r);
  }
  EXPECT_TRUE(wait_until([&] { return server->stats().open_connections == 1; }));
  server->stop();
  EXPECT_EQ(server->stats().open_connections, 0u);
  pending.clear();
}

TEST(HttpdServer, RespondCalledTwiceKeepsTheFirstAndDroppedRespondAnswers500) {
  auto server = start_or_die(Options{}, [](const Request& req, const Respond& respond) {
    if (req.path == "/drop") return;  // the Respond goes without a call
    Response first;
    first.status = 201;
    first.body = to_bytes("first");
    Response second;
    second.status = 409;
    second.body = to_bytes("second");
    auto copy = respond;
    std::thread([copy, second] { copy(second); }).detach();
    respond(first);
  });
  ASSERT_TRUE(server);
  Client c(server->port());
  auto r = c.request(get("/drop"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  for (int i = 0; i < 20; ++i) {
    r = c.request(get("/twice"));
    ASSERT_TRUE(r);
    // Either call may win the race, but exactly one answer is sent per request.
    EXPECT_TRUE((r->status == 201 && r->body == "first") ||
                (r->status == 409 && r->body == "second"));
  }
  r = c.request(get("/drop"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(HttpdServer, StopWithSuspendedRequestsClosesThemAndLaterRespondIsANoOp) {
  std::mutex mu;
  std::vector<Respond> pending;
  Options o;
  o.threads = 2;
  auto server = start_or_die(o, [&](const Request&, Respond respond) {
    std::lock_guard lock(mu);
    pending.push_back(std::move(respond));
  });
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->send(get("/wait")));
  }
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return pending.size() == 8;
  }));
  // Answer one of them concurrently with stop().
  std::thread racer([&] {
    Response r;
    std::lock_guard lock(mu);
    pending[0](r);
  });
  auto t0 = Clock::now();
  server->stop();
  racer.join();
  EXPECT_LT(ms_since(t0), 2000.0);
  int closed = 0;
  for (auto& c : clients) {
    // Each either got its answer (the racer's) or was closed; none hangs.
    auto r = c->read();
    if (!r) ++closed;
  }
  EXPECT_GE(closed, 7);
  {
    std::lock_guard lock(mu);
    Response r;
    r.body = to_bytes("after stop");
    for (auto& respond : pending) respond(r);  // no-op
  }
  server->stop();  // idempotent
  EXPECT_EQ(server->stats().open_connections, 0u);
  server.reset();
  {
    std::lock_guard lock(mu);
    Response r;
    for (auto& respond : pending) respond(r);  // after the Server is gone: still a no-op
    pending.clear();                           // dropping them: no 500 to send, no crash
  }
}

TEST(HttpdServer, AmbiguousFramingIs400AndTheConnectionCloses) {
  std::atomic<int> calls{0};
  auto server = start_or_die(Options{}, [&](Request req, Respond respond) {
    ++calls;
    echo(std::move(req), respond);
  });
  ASSERT_TRUE(server);
  // Two Content-Length headers: without the check the second request would be smuggled in the
  // body the first length leaves unread.
  Client twice(server->port());
  auto a = twice.request(
      "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\n"
      "helloGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 400);
  EXPECT_TRUE(twice.closed_within(milliseconds(2000)));
  Client both(server->port());
  auto b = both.request(
      "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
      "\r\n5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 400);
  EXPECT_EQ(calls.load(), 0);
  Client fine(server->port());
  auto c = fine.request(get("/ok"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, 200);
  EXPECT_EQ(calls.load(), 1);
}

TEST(HttpdServer, MaxConnectionsIsEnforced) {
  Options o;
  o.threads = 1;  // the limit is split across event loops; one loop makes it exact
  o.max_connections = 3;
  auto server = start_or_die(o, echo);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(held.back()->request(get("/held")));
  }
  EXPECT_EQ(server->stats().open_connections, 3u);
  // A fourth waits in the listen queue, unanswered, while three are open...
  Client extra(server->port());
  ASSERT_TRUE(extra.connected());  // completed by the kernel, not accepted by the server
  ASSERT_TRUE(extra.send(get("/extra")));
  EXPECT_FALSE(extra.closed_within(milliseconds(300)));  // no answer, no close
  EXPECT_EQ(server->stats().open_connections, 3u);
  // ...and is served as soon as one of them closes.
  held.pop_back();
  auto r = extra.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/extra");
  EXPECT_EQ(server->stats().open_connections, 3u);
}

TEST(HttpdServer, PerAddressLimitClosesTheConnectionBeyondItAndServesTheOthers) {
  Options o;
  o.threads = 2;  // the count is the server's, not split between event loops
  o.max_connections_per_ip = 3;
  auto server = start_or_die(o, echo);
  ASSERT_TRUE(server);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server->port()));
    auto r = held.back()->request(get("/held" + std::to_string(i)));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->headers["x-path"], "/held" + std::to_string(i));
  }
  // The fourth from 127.0.0.1 is accepted and closed at once, unanswered.
  Client extra(server->port());
  ASSERT_TRUE(extra.connected());
  extra.send(get("/extra"));
  EXPECT_TRUE(extra.closed_within(milliseconds(2000)));
  EXPECT_FALSE(extra.read());
  EXPECT_EQ(server->stats().open_connections, 3u);
  // The three are still served, on keep-alive.
  for (auto& c : held) {
    auto r = c->request(get("/again"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->headers["x-path"], "/again");
  }
  // Another address (from 127.0.0.2, also loopback) has its own count.
  {
    Client other(server->port(), "127.0.0.1", "127.0.0.2");
    ASSERT_TRUE(other.connected());
    auto r = other.request(get("/other-address"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->headers["x-path"], "/other-address");
  }
  // A closed connection gives its place back (MHD frees it just after the close notification
  // that open_connections counts: a new client may still be turned away for a moment).
  held.pop_back();
  ASSERT_TRUE(wait_until([&] { return server->stats().open_connections == 2; }));
  std::optional<ClientResponse> r;
  auto until = Clock::now() + milliseconds(2000);
  while (!r && Clock::now() < until) {
    Client next(server->port());
    r = next.request(get("/next"));
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/next");

  // 0 (the default) = no per-address limit: ten from one address are all served.
  auto unlimited = start_or_die(Options{}, echo);
  ASSERT_TRUE(unlimited);
  std::vector<std::unique_ptr<Client>> many;
  for (int i = 0; i < 10; ++i) {
    many.push_back(std::make_unique<Client>(unlimited->port()));
    ASSERT_TRUE(many.back()->request(get("/many"))) << i;
  }
  EXPECT_EQ(unlimited->stats().open_connections, 10u);
}

TEST(HttpdServer, BindsExclusivelyAndParsesIpv4AndIpv6Literals) {
  auto first = start_or_die(Options{}, echo);
  ASSERT_TRUE(first);
  Options same;
  same.port = first->port();
  auto second = Server::start(same, echo);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::kAlreadyExists);

  Options bad;
  bad.host = "localhost";  // a name, not a literal
  auto third = Server::start(bad, echo);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, Code::kInvalidArgument);

  Options no_room;
  no_room.max_connections = 0;
  auto fourth = Server::start(no_room, echo);
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code, Code::kInvalidArgument);

  Options v6;
  v6.host = "::1";
  auto six = Server::start(v6, echo);
  if (!six) {
    GTEST_SKIP() << "intentionally skipped: no IPv6 loopback here (" << six.error().to_string()
                 << ")";
  }
  Client c((*six)->port(), "::1");
  ASSERT_TRUE(c.connected());
  auto r = c.request(get("/six"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/six");
}

TEST(HttpdServer, LibmicrohttpdPrintsNothingToStderr) {
  std::fflush(stderr);
  char path[] = "/tmp/httpd_stderr_XXXXXX";
  int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  int saved = ::dup(2);
  ::dup2(file, 2);
  Options o;
  o.threads = 1;  // options MHD warns about go to the logger too
  auto server = start_or_die(o, echo);
  Options taken;
  taken.port = server ? server->port() : 0;
  EXPECT_FALSE(Server::start(taken, echo));  // a failing start
  if (server) {
    Client a(server->port());
    a.send("BLAH\r\n\r\n");
    a.closed_within(milliseconds(500));
    Client b(server->port());
    b.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    b.closed_within(milliseconds(500));
    Client c(server->port());
    c.send("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
    c.closed_within(milliseconds(500));
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  off_t size = ::lseek(file, 0, SEEK_END);
  ::close(file);
  ::unlink(path);
  EXPECT_EQ(size, 0);
  ASSERT_TRUE(server);
  Client ok(server->port());
  EXPECT_TRUE(ok.request(get("/")));
}

long rss_kib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

TEST(HttpdServer, TenThousandIdleConnectionsCostBoundedMemoryAndDoNotSlowARequest) {
  // Server side in this process, client side in a forked child: each needs one fd per connection.
  int wanted = 10000;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  rlim_t need = static_cast<rlim_t>(wanted) + 256;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
    wanted = static_cast<int>(lim.rlim_max) - 256;
    std::printf("RLIMIT_NOFILE hard limit %llu: testing %d idle connections instead of 10000\n",
                static_cast<unsigned long long>(lim.rlim_max), wanted);
    if (wanted < 1000) {
      GTEST_SKIP() << "intentionally skipped: RLIMIT_NOFILE hard limit " << lim.rlim_max
                   << " allows too few connections";
    }
  }
  if (lim.rlim_cur < need) {
    lim.rlim_cur = std::min(need, lim.rlim_max);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
  }
  Options o;
  o.threads = 2;
  auto server = start_or_die(o, echo);
  ASSERT_TRUE(server);
  // Warm up the event loops and allocator so the baseline includes them.
  for (int i = 0; i < 50; ++i) {
    Client w(server->port());
    ASSERT_TRUE(w.request(get("/warm")));
  }
  ASSERT_TRUE(wait_until([&] { return server->stats().open_connections == 0; }));
  long before = rss_kib();

  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  int port = server->port();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // only system calls from here on
    ::close(ready[0]);
    ::close(release[1]);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int opened = 0;
    for (int i = 0; i < wanted; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) break;
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) break;
      ++opened;
    }
    ssize_t w = ::write(ready[1], &opened, sizeof opened);
    char c;
    ssize_t n = ::read(release[0], &c, 1);  // hold them until the parent is done
    ::_exit(w == sizeof opened && n >= 0 ? 0 : 1);
  }
  ::close(ready[1]);
  ::close(release[0]);
  int opened = 0;
  ASSERT_EQ(::read(ready[0], &opened, sizeof opened), static_cast<ssize_t>(sizeof opened));
  EXPECT_EQ(opened, wanted);
  bool all_open = wait_until(
      [&] { return server->stats().open_connections == static_cast<std::uint64_t>(opened); },
      milliseconds(10000));
  EXPECT_TRUE(all_open) << server->stats().open_connections << " of " << opened;

  auto t0 = Clock::now();
  Client c(server->port());
  auto r = c.request(get("/busy"));
  double took = ms_since(t0);
  long after = rss_kib();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["x-path"], "/busy");
  EXPECT_LT(took, 500.0);
  double per_connection = static_cast<double>(after - before) * 1024.0 / opened;
  std::printf("%d idle connections: RSS +%ld KiB, %.0f bytes each; a request took %.2f ms\n",
              opened, after - before, per_connection, took);
  // A sanitizer's shadow memory multiplies RSS (TSan measured 135 KiB per connection): the bound
  // is the product's, checked in the normal build only.
  if (!kSanitized) {
    EXPECT_LT(per_connection, 64.0 * 1024);
  }

  ASSERT_EQ(::write(release[1], "x", 1), 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(release[1]);
  EXPECT_TRUE(wait_until([&] { return server->stats().open_connections == 1; },
                         milliseconds(kSanitized ? 120000 : 10000)));
}

/// For `wrk`: serves a 68-byte answer synchronously on WC_HTTPD_BENCH_PORT (default 18080) for
/// WC_HTTPD_BENCH_SECONDS (default 10) with WC_HTTPD_BENCH_THREADS event loops (default 0: one per
/// CPU). Run with --gtest_also_run_disabled_tests.
TEST(HttpdServer, DISABLED_ServeForWrk) {
  Options o;
  const char* port = std::getenv("WC_HTTPD_BENCH_PORT");
  const char* seconds = std::getenv("WC_HTTPD_BENCH_SECONDS");
  o.port = port ? std::atoi(port) : 18080;
  const char* threads = std::getenv("WC_HTTPD_BENCH_THREADS");
  o.threads = threads ? static_cast<unsigned>(std::atoi(threads)) : 0;
  const Bytes body = to_bytes(std::string(68, 'x'));
  auto server = start_or_die(o, [&body](const Request&, const Respond& respond) {
    Response r;
    r.headers.emplace_back("content-type", "text/plain");
    r.body = body;
    respond(std::move(r));
  });
  ASSERT_TRUE(server);
  std::this_thread::sleep_for(std::chrono::seconds(seconds ? std::atoi(seconds) : 10));
  std::printf("served %llu requests\n", static_cast<unsigned long long>(server->stats().requests));
}

}  // namespace
}  // namespace wc::httpd
