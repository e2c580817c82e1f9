#include "support/servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace wc::testing {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool wait_port(int port, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (port_open(port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void remove_temp_dir(const std::string& dir) {
  const char* keep = std::getenv("WC_KEEP_TEST_DIRS");
  if (dir.empty() || (keep != nullptr && std::strcmp(keep, "1") == 0)) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::vector<std::string>& extra_env) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (!log_path.empty()) {
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
    }
    for (const auto& kv : extra_env) ::putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop(9);
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { stop(9); }

void ChildProcess::stop(int sig) {
  if (pid_ <= 0) return;
  ::kill(-pid_, sig);
  ::kill(pid_, sig);
  int status = 0;
  if (sig != 9) {
    // Give a graceful signal up to 5 s, then force.
    for (int i = 0; i < 250; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid_, 9);
  }
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ChildProcess::interrupt_and_wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGINT);
  auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

NatsServer::NatsServer(int port, const std::vector<std::string>& extra_args, bool websocket)
    : port_(port ? port : free_port()),
      ws_port_(websocket ? free_port() : 0),
      dir_(make_temp_dir("wc-nats")),
      extra_args_(extra_args) {
  if (ws_port_ != 0)
    std::ofstream(dir_ + "/nats.conf")
        << "websocket {\n  listen: \"127.0.0.1:" << ws_port_ << "\"\n  no_tls: true\n}\n";
  start();
}

NatsServer::~NatsServer() {
  proc_.stop(9);
  remove_temp_dir(dir_);
}

void NatsServer::start() {
  std::vector<std::string> argv = {"nats-server",         "-a",  "127.0.0.1", "-p",
                                   std::to_string(port_), "-js", "-sd",       dir_ + "/js"};
  if (ws_port_ != 0) argv.insert(argv.begin() + 1, {"-c", dir_ + "/nats.conf"});
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  proc_ = ChildProcess(argv, dir_ + "/nats.log");
  if (!wait_port(port_)) throw std::runtime_error("nats-server did not start; see " + dir_);
  if (ws_port_ != 0 && !wait_port(ws_port_))
    throw std::runtime_error("nats-server's WebSocket listener did not start; see " + dir_);
}

void NatsServer::restart() {
  proc_.stop(9);
  start();
}

RegistryServer::RegistryServer(const std::string& extra_config)
    : port_(free_port()), dir_(make_temp_dir("wc-registry")), storage_(dir_ + "/storage") {
  const std::string config = dir_ + "/config.yml";
  std::ofstream(config) << "version: 0.1\n"
                        << "log:\n  level: warn\n"
                        << "storage:\n  filesystem:\n    rootdirectory: " << storage_ << "\n"
                        << "  delete:\n    enabled: true\n"
                        << "http:\n  addr: 127.0.0.1:" << port_ << "\n"
                        << extra_config;
  proc_ = ChildProcess({"docker-registry", "serve", config}, dir_ + "/registry.log");
  if (!wait_port(port_)) throw std::runtime_error("docker-registry did not start; see " + dir_);
}

RegistryServer::~RegistryServer() {
  proc_.stop(9);
  remove_temp_dir(dir_);
}

RedisServer::RedisServer() : port_(free_port()), dir_(make_temp_dir("wc-redis")) { start(); }

RedisServer::~RedisServer() {
  proc_.stop(9);
  remove_temp_dir(dir_);
}

void RedisServer::start() {
  proc_ = ChildProcess({"redis-server", "--bind", "127.0.0.1", "--port", std::to_string(port_),
                        "--save", "", "--appendonly", "no", "--dir", dir_},
                       dir_ + "/redis.log");
  if (!wait_port(port_)) throw std::runtime_error("redis-server did not start; see " + dir_);
}

void RedisServer::restart() {
  proc_.stop(9);
  start();
}

}  // namespace wc::testing
