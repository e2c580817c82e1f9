// Test support: a NATS cluster of real nats-server processes with JetStream, on free 127.0.0.1
// ports, started and stopped by the test (header-only; builds on support/servers.h).
//
// NatsCluster(n) writes one config file per node into a fresh temporary directory:
// `server_name: n<i>`, client `listen`, monitoring `http` port, `jetstream { store_dir, domain }`
// and (for n > 1) `cluster { name, listen, routes [every other node] }`. The constructor returns
// once every node accepts clients, sees a route to every other node and reports JetStream healthy
// (`/healthz` = ok, i.e. the JetStream meta leader is elected and the node is current with it), so
// hosts can create replicated streams right away. kill9(i) / restart(i) simulate losing a node
// (restart keeps its ports and store). The destructor SIGKILLs every node.
//
// Not thread-safe; one owner (a test fixture).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/servers.h"

namespace wc::testing {

/// GET http://127.0.0.1:port{path}; returns the body ("" on any failure). 1 s socket timeouts.
inline std::string http_get_local(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : out.substr(body + 4);
}

/// Options of a NatsCluster.
struct NatsClusterOptions {
  /// JetStream domain of every node (`jetstream { domain }`); empty = none.
  std::string js_domain;
  /// How long the constructor waits for routes and the JetStream meta leader.
  std::chrono::milliseconds ready_timeout{20000};
};

/// `n` routed nats-server processes with JetStream (n = 1: a single server, no cluster block).
class NatsCluster {
 public:
  explicit NatsCluster(int n = 3, NatsClusterOptions options = {})
      : options_(std::move(options)), dir_(make_temp_dir("wc-natscluster")) {
    if (n < 1) throw std::invalid_argument("NatsCluster: n must be >= 1");
    nodes_.resize(static_cast<size_t>(n));
    for (auto& node : nodes_) {
      node.client_port = free_port();
      node.cluster_port = free_port();
      node.http_port = free_port();
    }
    for (size_t i = 0; i < nodes_.size(); ++i) write_config(i);
    for (size_t i = 0; i < nodes_.size(); ++i) start(i);
    if (!wait_ready(options_.ready_timeout))
      throw std::runtime_error("NATS cluster did not form; logs in " + dir_);
  }
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;
  /// SIGKILLs every node, then removes configs, logs and stores (remove_temp_dir).
  ~NatsCluster() {
    for (auto& node : nodes_) node.proc.stop(9);
    remove_temp_dir(dir_);
  }

  /// Number of nodes.
  size_t size() const { return nodes_.size(); }
  /// Client URL of node i ("nats://127.0.0.1:PORT").
  std::string url(size_t i) const {
    return "nats://127.0.0.1:" + std::to_string(nodes_.at(i).client_port);
  }
  /// Client port of node i.
  int port(size_t i) const { return nodes_.at(i).client_port; }
  /// Monitoring (HTTP) port of node i.
  int http_port(size_t i) const { return nodes_.at(i).http_port; }
  /// Every client URL, starting at node `first` and wrapping around (node `first` is the
  /// preferred server of whoever connects with this list).
  std::vector<std::string> urls_from(size_t first) const {
    std::vector<std::string> out;
    for (size_t k = 0; k < nodes_.size(); ++k) out.push_back(url((first + k) % nodes_.size()));
    return out;
  }
  /// Directory holding configs, logs (n<i>.log) and JetStream stores.
  const std::string& dir() const { return dir_; }
  /// SIGKILLs node i (no lame-duck, no goodbye to clients or routes).
  void kill9(size_t i) { nodes_.at(i).proc.stop(9); }
  /// Starts node i again with the same ports and store; waits for its client port.
  void restart(size_t i) {
    nodes_.at(i).proc.stop(9);
    start(i);
  }
  /// True while node i's process runs.
  bool running(size_t i) const { return nodes_.at(i).proc.running(); }

  /// Polls until every running node sees a route to every other running node and answers
  /// `/healthz` with status ok (JetStream current with an elected meta leader).
  bool wait_ready(std::chrono::milliseconds timeout) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (ready()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  struct Node {
    int client_port = 0, cluster_port = 0, http_port = 0;
    ChildProcess proc;
  };

  bool ready() const {
    size_t alive = 0;
    for (const auto& node : nodes_) alive += node.proc.running() ? 1 : 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].proc.running()) continue;
      if (nodes_.size() > 1) {
        // Each distinct remote server appears once per route; count "remote_id" entries.
        std::string routez = http_get_local(nodes_[i].http_port, "/routez");
        size_t routes = 0;
        for (size_t p = routez.find("\"remote_id\""); p != std::string::npos;
             p = routez.find("\"remote_id\"", p + 1))
          ++routes;
        if (routes + 1 < alive) return false;
      }
      std::string health = http_get_local(nodes_[i].http_port, "/healthz");
      if (health.find("\"ok\"") == std::string::npos) return false;
    }
    return true;
  }

  void write_config(size_t i) const {
    const auto& node = nodes_[i];
    const std::string name = "n" + std::to_string(i);
    std::ofstream f(dir_ + "/" + name + ".conf");
    f << "server_name: " << name << "\n"
      << "listen: 127.0.0.1:" << node.client_port << "\n"
      << "http: 127.0.0.1:" << node.http_port << "\n"
      << "jetstream {\n  store_dir: \"" << dir_ << "/" << name << "-js\"\n";
    if (!options_.js_domain.empty()) f << "  domain: " << options_.js_domain << "\n";
    f << "}\n";
    if (nodes_.size() > 1) {
      f << "cluster {\n  name: wc-test\n  listen: 127.0.0.1:" << node.cluster_port
        << "\n  routes: [\n";
      for (size_t k = 0; k < nodes_.size(); ++k)
        if (k != i) f << "    nats-route://127.0.0.1:" << nodes_[k].cluster_port << "\n";
      f << "  ]\n}\n";
    }
  }

  void start(size_t i) {
    const std::string name = "n" + std::to_string(i);
    nodes_[i].proc = ChildProcess({"nats-server", "-c", dir_ + "/" + name + ".conf"},
                                  dir_ + "/" + name + ".log");
    if (!wait_port(nodes_[i].client_port))
      throw std::runtime_error("nats-server " + name + " did not start; see " + dir_);
  }

  NatsClusterOptions options_;
  std::string dir_;
  std::vector<Node> nodes_;
};

}  // namespace wc::testing
