// Test support: real servers on free 127.0.0.1 ports, started and stopped by the test.
//
// ChildProcess runs a program (fork/exec, own process group) and kills the group when destroyed.
// NatsServer, RegistryServer (Debian docker-registry) and RedisServer wrap the real binaries with a
// temporary data directory each. Not thread-safe; one owner (a test or fixture).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace wc::testing {

/// A port that was free on 127.0.0.1 a moment ago (bind to port 0, read, close).
int free_port();

/// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);

/// Waits until 127.0.0.1:port accepts connections; false on timeout.
bool wait_port(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// Makes a fresh temporary directory (mkdtemp under $TMPDIR or /tmp) and returns its path.
std::string make_temp_dir(const std::string& prefix);

/// Removes a directory made by make_temp_dir() with everything in it, unless the environment
/// sets WC_KEEP_TEST_DIRS=1 (then its logs and stores stay for diagnosis). Never throws.
void remove_temp_dir(const std::string& dir);

/// A child process in its own process group; SIGKILLs the group on destruction.
class ChildProcess {
 public:
  ChildProcess() = default;
  /// Starts argv[0] (searched in PATH) with argv; stdout/stderr go to `log_path` when not empty.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path = {},
               const std::vector<std::string>& extra_env = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  /// Sends `sig` to the group and reaps the child (SIGKILL = kill -9).
  void stop(int sig = 15);
  /// Sends SIGINT (Ctrl-C) and waits up to `timeout` for exit; returns the exit status or -1.
  int interrupt_and_wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
};

/// nats-server with JetStream on 127.0.0.1:port (store in a temp dir); with `websocket`, also a
/// plain NATS-over-WebSocket listener on a free 127.0.0.1 port (a config-file block, as
/// `wasmcloud up` writes; issue #15).
class NatsServer {
 public:
  explicit NatsServer(int port = 0, const std::vector<std::string>& extra_args = {},
                      bool websocket = false);
  /// Kills the server and removes its store and log (remove_temp_dir).
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  /// The WebSocket listener's port; 0 without one.
  int websocket_port() const { return ws_port_; }
  /// "ws://127.0.0.1:PORT"; "" without a WebSocket listener.
  std::string websocket_url() const {
    return ws_port_ ? "ws://127.0.0.1:" + std::to_string(ws_port_) : std::string();
  }
  void kill9() { proc_.stop(9); }
  /// Starts again on the same port and store (after kill9).
  void restart();

 private:
  int port_;
  int ws_port_ = 0;
  std::string dir_;
  std::vector<std::string> extra_args_;
  ChildProcess proc_;
  void start();
};

/// Debian docker-registry (distribution v2) on 127.0.0.1:port, plain HTTP, filesystem storage.
/// `extra_config` is YAML appended under the top level (for auth: htpasswd, token, tls).
class RegistryServer {
 public:
  explicit RegistryServer(const std::string& extra_config = {});
  /// Kills the registry and removes its storage and log (remove_temp_dir).
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;
  int port() const { return port_; }
  /// "127.0.0.1:PORT"
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  /// Root of the registry's storage on disk (to corrupt blobs in tests).
  const std::string& storage_dir() const { return storage_; }
  void stop() { proc_.stop(9); }

 private:
  int port_;
  std::string dir_, storage_;
  ChildProcess proc_;
};

/// redis-server on 127.0.0.1:port, no persistence.
class RedisServer {
 public:
  RedisServer();
  /// Kills the server and removes its directory (remove_temp_dir).
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/"; }
  void stop() { proc_.stop(9); }
  void restart();

 private:
  int port_;
  std::string dir_;
  ChildProcess proc_;
  void start();
};

}  // namespace wc::testing
