#include "cli/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

namespace wc::cli {
namespace {

/// A connected socket to host:port (IPv4), or -1.
int connect_to(const std::string& host, int port) {
  if (port < 1 || port > 65535) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Reads what arrives on `fd` until `want` bytes, EOF, or `timeout`.
std::string read_some(int fd, std::size_t want, std::chrono::milliseconds timeout) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  char buf[1024];
  while (out.size() < want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

Status check_port_range(std::string_view flag, int port) {
  if (port >= 1 && port <= 65535) return ok();
  return fail(Code::kInvalidArgument,
              std::string(flag) + " " + std::to_string(port) + " is not a valid port (1-65535)");
}

Result<int> port_from_env(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  const std::string text(v);
  if (text.size() <= 5 && text.find_first_not_of("0123456789") == std::string::npos) {
    const int port = std::stoi(text);
    if (port >= 1 && port <= 65535) return port;
  }
  return fail(Code::kInvalidArgument,
              std::string(name) + "='" + text + "' is not a valid port (1-65535)");
}

bool port_open(const std::string& host, int port) {
  int fd = connect_to(host, port);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

bool wait_port(int port, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (port_open("127.0.0.1", port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool port_bindable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool is_nats_server(const std::string& host, int port, std::chrono::milliseconds timeout) {
  int fd = connect_to(host, port);
  if (fd < 0) return false;
  std::string greeting = read_some(fd, 5, timeout);
  ::close(fd);
  return greeting.rfind("INFO ", 0) == 0;
}

bool is_websocket_listener(const std::string& host, int port, std::chrono::milliseconds timeout) {
  int fd = connect_to(host, port);
  if (fd < 0) return false;
  // RFC 6455 section 1.3's sample key; the server's Sec-WebSocket-Accept is not checked.
  const std::string req = "GET / HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  bool sent = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  std::string reply = sent ? read_some(fd, 12, timeout) : std::string();
  ::close(fd);
  return reply.rfind("HTTP/1.1 101", 0) == 0;
}

bool is_oci_registry(int port, std::chrono::milliseconds timeout) {
  int fd = connect_to("127.0.0.1", port);
  if (fd < 0) return false;
  const std::string req = "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n\r\n";
  bool sent = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  std::string reply = sent ? read_some(fd, 4096, timeout) : std::string();
  ::close(fd);
  if (reply.rfind("HTTP/1.", 0) != 0) return false;
  auto sp = reply.find(' ');
  std::string status = sp == std::string::npos ? "" : reply.substr(sp + 1, 3);
  std::string lower = reply;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return status == "200" || status == "401" ||
         lower.find("docker-distribution-api-version") != std::string::npos;
}

}  // namespace wc::cli
