// Test harness for provider executables: launches a provider as the host would (no arguments,
// host data as one base64 line on stdin, stdin left open, stderr to a log file) and plays the
// host/actor side over NATS (link puts, signed invocations, health, shutdown). Test-only.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "lattice/nats.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "sdk/host_data.h"
#include "sdk/link.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"

namespace wc::provider::testing {

/// A provider child process. SIGKILLs it on destruction if still running.
class ProviderProcess {
 public:
  ProviderProcess(const std::string& exe, const HostData& hd, const std::string& log_path) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[0], 0);
      ::close(fds[0]);
      ::close(fds[1]);
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      ::execl(exe.c_str(), exe.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[0]);
    stdin_fd_ = fds[1];
    const std::string line = encode_line(hd);
    (void)!::write(stdin_fd_, line.data(), line.size());
  }
  ~ProviderProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
  }
  ProviderProcess(const ProviderProcess&) = delete;
  ProviderProcess& operator=(const ProviderProcess&) = delete;

  /// Exit code once the process exited within `timeout`; -1 on timeout, -2 if killed by a signal.
  int wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -2;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  /// Sends `sig` to the provider.
  void send_signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  bool running() {
    if (pid_ <= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Host data for a provider started by a test "host".
inline HostData make_host_data(const std::string& nats_url, const wascap::KeyPair& cluster,
                               const std::string& provider_key, const std::string& lattice,
                               std::vector<LinkDefinition> links = {}) {
  HostData hd;
  hd.host_id = wascap::KeyPair::generate(wascap::KeyType::kServer).public_key();
  hd.lattice_rpc_prefix = lattice;
  hd.link_name = "default";
  hd.lattice_rpc_url = nats_url.substr(nats_url.find("://") + 3);  // as hosts send it
  hd.provider_key = provider_key;
  hd.invocation_seed = cluster.seed();
  hd.instance_id = "9f0c1e5a-7b3d-4e2f-8a61-0d2c4b6e8f10";
  hd.link_definitions = std::move(links);
  hd.cluster_issuers = {cluster.public_key()};
  hd.config_json = "";
  hd.default_rpc_timeout_ms = 2000;
  hd.log_level = "debug";
  return hd;
}

/// Publishes a link put/del as the host does and waits for the provider's (non-protocol) ack so
/// the link is in effect when this returns.
inline Status send_link(lattice::Connection& nc, const HostData& hd, const LinkDefinition& ld,
                        bool put = true) {
  namespace topics = lattice::topics;
  const std::string subject =
      put ? topics::rpc_linkdefs_put(hd.lattice_rpc_prefix, hd.provider_key, hd.link_name)
          : topics::rpc_linkdefs_del(hd.lattice_rpc_prefix, hd.provider_key, hd.link_name);
  auto r = nc.request(subject, encode_linkdef(ld), std::chrono::seconds(5));
  if (!r) return fail(r.error());
  return ok();
}

/// Waits until the provider answers health checks (it is subscribed).
inline bool wait_healthy(lattice::Connection& nc, const HostData& hd,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const Bytes placeholder{0x81, 0xab, 'p', 'l', 'a', 'c', 'e', 'h', 'o', 'l', 'd', 'e', 'r', 0xc3};
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = nc.request(
        lattice::topics::rpc_health(hd.lattice_rpc_prefix, hd.provider_key, hd.link_name),
        placeholder, std::chrono::milliseconds(500));
    if (r) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace wc::provider::testing
