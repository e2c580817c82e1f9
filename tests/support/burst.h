// Test helpers for connection bursts against a local TCP server: the listen backlog the kernel
// holds for a listening port (NETLINK_SOCK_DIAG, what `ss -lt` shows as Send-Q), and many
// simultaneous raw HTTP/1.1 connections driven by one poll() loop.
//
// Owned by tests/support (header-only; used by tests/web, tests/providers, tests/metrics). Linux
// only. Not thread-safe: one Burst per thread.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace wc::testing {

/// The accept-queue limit (backlog) of the TCP socket listening on `port` (IPv4 or IPv6), as
/// the kernel reports it (idiag_wqueue of a LISTEN socket); -1 when none listens there or the
/// query fails.
inline int listen_backlog(int port) {
  for (int family : {AF_INET, AF_INET6}) {
    const int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) return -1;
    struct {
      nlmsghdr nlh;
      inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.req.sdiag_family = static_cast<std::uint8_t>(family);
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = 1u << 10;  // TCP_LISTEN
    if (::send(nl, &msg, sizeof(msg), 0) < 0) {
      ::close(nl);
      return -1;
    }
    int found = -1;
    bool done = false;
    std::vector<char> buf(1 << 16);
    while (!done) {
      const ssize_t n = ::recv(nl, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      const auto total = static_cast<std::size_t>(n);
      for (std::size_t off = 0; off + sizeof(nlmsghdr) <= total;) {
        const auto* h = reinterpret_cast<const nlmsghdr*>(buf.data() + off);
        if (h->nlmsg_len < sizeof(nlmsghdr) || off + h->nlmsg_len > total) break;
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        const auto* d = reinterpret_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        if (ntohs(d->id.idiag_sport) == port) found = static_cast<int>(d->idiag_wqueue);
        off += NLMSG_ALIGN(h->nlmsg_len);
      }
    }
    ::close(nl);
    if (found >= 0) return found;
  }
  return -1;
}

/// `n` raw TCP connections to 127.0.0.1:`port` opened at once (non-blocking connects), then
/// one HTTP request each; the responses are read to the end (the request should say
/// `Connection: close`).
class Burst {
 public:
  /// Starts the connects. Connection i comes from local address sources[i % size] (e.g.
  /// "127.0.0.7": every 127/8 address is loopback); none given = any.
  Burst(int port, int n, const std::vector<std::string>& sources = {}) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; ++i) {
      Conn c;
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd >= 0 && !sources.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        const auto& source = sources[static_cast<std::size_t>(i) % sources.size()];
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        if (::bind(c.fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) c.failed = true;
      }
      if (c.fd < 0 || (::connect(c.fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 &&
                       errno != EINPROGRESS))
        c.failed = true;
      conns_.push_back(c);
    }
  }
  ~Burst() {
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
  }
  Burst(const Burst&) = delete;
  Burst& operator=(const Burst&) = delete;

  /// Waits until every connection is established (or failed) or `timeout` passed; returns how
  /// many are established. A connect stays pending while the server's accept queue is full.
  int wait_connected(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::vector<pollfd> p;
      std::vector<Conn*> who;
      for (auto& c : conns_)
        if (!c.failed && !c.connected) {
          p.push_back({c.fd, POLLOUT, 0});
          who.push_back(&c);
        }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (p.empty() || left.count() <= 0) break;
      if (::poll(p.data(), p.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i].revents == 0) continue;
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0)
          who[i]->connected = true;
        else
          who[i]->failed = true;
      }
    }
    int n = 0;
    for (const auto& c : conns_) n += c.connected ? 1 : 0;
    return n;
  }

  /// Sends `request` on every connection (once established) and reads each response until the
  /// server closes it or `timeout` passed; with `until_status`, stops as soon as every open
  /// connection has its status line (for responses that do not end, like event streams).
  /// Returns each connection's HTTP status (0: no complete status line: connect failed, reset,
  /// or no answer in time).
  std::vector<int> exchange(const std::string& request, std::chrono::milliseconds timeout,
                            bool until_status = false) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::vector<pollfd> p;
      std::vector<Conn*> who;
      for (auto& c : conns_) {
        if (c.failed || c.closed || (until_status && status_of(c.response) != 0)) continue;
        p.push_back({c.fd, static_cast<short>(c.sent ? POLLIN : POLLOUT), 0});
        who.push_back(&c);
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (p.empty() || left.count() <= 0) break;
      if (::poll(p.data(), p.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
      for (std::size_t i = 0; i < p.size(); ++i) {
        Conn& c = *who[i];
        if (p[i].revents == 0) continue;
        if (!c.sent) {
          int err = 0;
          socklen_t len = sizeof(err);
          ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0 || ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                              static_cast<ssize_t>(request.size())) {
            c.failed = true;
            continue;
          }
          c.connected = c.sent = true;
          continue;
        }
        char buf[4096];
        const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
        if (n > 0) {
          c.response.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
          c.closed = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          c.failed = true;
        }
      }
    }
    std::vector<int> out;
    for (const auto& c : conns_) out.push_back(status_of(c.response));
    return out;
  }

  /// The bytes received on connection `i` so far.
  const std::string& response(std::size_t i) const { return conns_.at(i).response; }

  /// The status code of an HTTP/1.x response text; 0 without a complete status line.
  static int status_of(const std::string& r) {
    if (r.rfind("HTTP/1.", 0) != 0 || r.size() < 12 || r.find("\r\n") == std::string::npos)
      return 0;
    return std::atoi(r.substr(9, 3).c_str());
  }

 private:
  struct Conn {
    int fd = -1;
    bool failed = false;
    bool connected = false;
    bool sent = false;
    bool closed = false;
    std::string response;
  };
  std::vector<Conn> conns_;
};

}  // namespace wc::testing
