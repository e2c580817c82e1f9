// `wasmcloud up`: the one command a new user runs (DESIGN.md "Processes").
//
// 1. NATS: when nothing answers on the configured control NATS address (default 127.0.0.1:4222)
//    and that address is on this machine, starts `nats-server` as a child: JetStream on, bound to
//    127.0.0.1, store under the data directory ($XDG_DATA_HOME/wasmcloud-cpp or
//    ~/.local/share/wasmcloud-cpp).
// 2. OCI registry: unless --no-registry, when nothing answers on 127.0.0.1:<registry port>
//    (default 5000) starts `docker-registry` with a configuration written here (storage in the
//    data directory); the registry is added to the insecure (plain HTTP) list either way.
// 3. Runs a host with file loading allowed, configured like `wasmcloud host`; without a configured
//    cluster seed it uses the local lattice's (<data dir>/cluster.nk, made on first use), which
//    `wasmcloud call` reads too.
// 4. Serves the dashboard on 127.0.0.1:4000 (--dashboard-port, --no-dashboard).
// Ctrl-C (SIGINT) or SIGTERM stops the host (actors stopped, host_stopped published), then the
// children (SIGTERM, SIGKILL after 5 s), and exits 0.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/local_lattice.h"
#include "common/log.h"
#include "host/config.h"
#include "host/host.h"
#include "host/runner.h"
#include "web/dashboard.h"

namespace wc::cli {
namespace {

struct UpArgs {
  int registry_port = 5000;
  bool no_registry = false;
  int dashboard_port = 4000;  ///< WASMCLOUD_DASHBOARD_PORT
  bool no_dashboard = false;
  std::string data_dir;  ///< empty = XDG default
};

bool port_open(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    return false;
  }
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool wait_port(int port, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (port_open("127.0.0.1", port)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

/// Finds an executable: PATH first, then the Debian locations.
std::string find_program(const std::string& name) {
  if (const char* path = std::getenv("PATH")) {
    std::string p(path);
    size_t start = 0;
    while (start <= p.size()) {
      auto end = p.find(':', start);
      std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
      std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/usr/local/bin/", "/usr/local/sbin/"}) {
    std::string candidate = std::string(dir) + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

/// A child process in its own process group, stopped gracefully by stop().
class Child {
 public:
  Child(std::string name, const std::vector<std::string>& argv, const std::string& log_path)
      : name_(std::move(name)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_UNBLOCK, &all, nullptr);  // the parent blocks SIGINT/SIGTERM
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    if (pid_ > 0) ::setpgid(pid_, pid_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  bool started() const { return pid_ > 0; }
  /// True while the process has not exited.
  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  /// SIGTERM, up to 5 s for a clean exit, then SIGKILL.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        spdlog::info("{} stopped", name_);
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    spdlog::warn("{} killed after 5 s", name_);
    pid_ = -1;
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

bool is_local(const std::string& host) { return host == "127.0.0.1" || host == "localhost"; }

void run_up(host::HostConfig cfg, const UpArgs& args) {
  host::finish_flags(cfg);
  init_logging(cfg.structured_logging, cfg.log_level);
  host::block_termination_signals();
  const std::string data = args.data_dir.empty() ? default_data_dir() : args.data_dir;
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) {
    std::cerr << "Cannot create data directory " << data << ": " << ec.message() << "\n";
    throw CLI::RuntimeError(1);
  }

  std::unique_ptr<Child> nats, registry;
  if (!port_open(cfg.ctl.host, cfg.ctl.port)) {
    if (!is_local(cfg.ctl.host)) {
      std::cerr << "No NATS server answers on " << cfg.ctl.host << ":" << cfg.ctl.port << "\n";
      throw CLI::RuntimeError(1);
    }
    auto bin = find_program("nats-server");
    if (bin.empty()) {
      std::cerr << "nats-server not found (install the Debian package nats-server)\n";
      throw CLI::RuntimeError(1);
    }
    std::filesystem::create_directories(data + "/nats", ec);
    nats = std::make_unique<Child>(
        "nats-server",
        std::vector<std::string>{bin, "-a", "127.0.0.1", "-p", std::to_string(cfg.ctl.port), "-js",
                                 "-sd", data + "/nats"},
        data + "/nats-server.log");
    if (!nats->started() || !wait_port(cfg.ctl.port, std::chrono::seconds(10))) {
      std::cerr << "nats-server did not start; see " << data << "/nats-server.log\n";
      throw CLI::RuntimeError(1);
    }
    spdlog::info("Started nats-server on 127.0.0.1:{} (JetStream store {}/nats)", cfg.ctl.port,
                 data);
  } else {
    spdlog::info("Using the NATS server on {}:{}", cfg.ctl.host, cfg.ctl.port);
  }

  if (!args.no_registry) {
    const std::string reg = "127.0.0.1:" + std::to_string(args.registry_port);
    if (!port_open("127.0.0.1", args.registry_port)) {
      auto bin = find_program("docker-registry");
      if (bin.empty()) {
        spdlog::warn("docker-registry not found; continuing without a local registry");
      } else {
        std::filesystem::create_directories(data + "/registry/storage", ec);
        const std::string config = data + "/registry/config.yml";
        std::ofstream(config) << "version: 0.1\n"
                              << "log:\n  level: warn\n"
                              << "storage:\n  filesystem:\n    rootdirectory: " << data
                              << "/registry/storage\n"
                              << "  delete:\n    enabled: true\n"
                              << "http:\n  addr: " << reg << "\n";
        registry = std::make_unique<Child>("docker-registry",
                                           std::vector<std::string>{bin, "serve", config},
                                           data + "/registry.log");
        if (!registry->started() || !wait_port(args.registry_port, std::chrono::seconds(10))) {
          std::cerr << "docker-registry did not start; see " << data << "/registry.log\n";
          throw CLI::RuntimeError(1);
        }
        spdlog::info("Started docker-registry on {}", reg);
      }
    }
    for (const auto& r : {reg, "localhost:" + std::to_string(args.registry_port)})
      if (std::find(cfg.allowed_insecure.begin(), cfg.allowed_insecure.end(), r) ==
          cfg.allowed_insecure.end())
        cfg.allowed_insecure.push_back(r);
  }

  cfg.allow_file_load = true;
  // The local lattice keeps one cluster seed, so `wasmcloud call` on this machine signs
  // invocations this host accepts (it reads the same file).
  if (cfg.cluster_seed.empty()) {
    auto seed = load_or_create_cluster_seed(data);
    if (!seed) {
      std::cerr << "Cluster seed: " << seed.error().message << "\n";
      throw CLI::RuntimeError(1);
    }
    cfg.cluster_seed = *seed;
    spdlog::info("Cluster seed of this lattice: {} (read by `wasmcloud call`)",
                 cluster_seed_path(data));
  }
  auto h = host::Host::start(cfg);
  if (!h) {
    std::cerr << "Failed to start host: " << h.error().message << "\n";
    throw CLI::RuntimeError(1);  // children are stopped by their destructors
  }
  std::cout << "wasmCloud host " << (*h)->host_id() << " (" << (*h)->friendly_name()
            << ") is running on lattice '" << (*h)->lattice() << "'. Press Ctrl-C to stop."
            << std::endl;
  auto& hostp = *h;

  // The dashboard: a lattice client on the same NATS server.
  std::unique_ptr<web::Dashboard> dashboard;
  if (!args.no_dashboard) {
    web::DashboardConfig d;
    d.port = args.dashboard_port;
    d.nats.servers = {"nats://" + cfg.ctl.host + ":" + std::to_string(cfg.ctl.port)};
    d.lattice = cfg.lattice_prefix;
    d.ctl_prefix = cfg.ctl_topic_prefix;
    d.registry = "127.0.0.1:" + std::to_string(args.registry_port);
    d.allowed_insecure = cfg.allowed_insecure;
    auto dash = web::Dashboard::start(d);
    if (dash) {
      dashboard = std::move(*dash);
      std::cout << "Dashboard: " << dashboard->url() << std::endl;
    } else {
      spdlog::warn("Dashboard not started: {}", dash.error().message);
    }
  }

  int sig = host::wait_for_termination([&] { return hostp->stopping(); });
  if (sig != 0) spdlog::info("Received signal {}, shutting down", sig);
  if (dashboard) dashboard->stop();
  dashboard.reset();
  hostp->stop();
  h->reset();
  nats_CloseAndWait(2000);  // libnats callback threads end before static destructors run
  registry.reset();
  nats.reset();
}

}  // namespace

void register_up(CLI::App& app) {
  auto cfg = std::make_shared<host::HostConfig>(host::load_config(host::process_environment()));
  auto args = std::make_shared<UpArgs>();
  auto* cmd = app.add_subcommand(
      "up", "Start NATS and a local OCI registry if needed, then a host (Ctrl-C stops all)");
  host::add_host_flags(*cmd, *cfg);
  cmd->add_option("--registry-port", args->registry_port,
                  "Port of the local OCI registry on 127.0.0.1 (default 5000)")
      ->check(CLI::Range(1, 65535));
  cmd->add_flag("--no-registry", args->no_registry, "Do not start or use a local OCI registry");
  if (const char* p = std::getenv("WASMCLOUD_DASHBOARD_PORT"); p && *p) {
    args->dashboard_port = std::atoi(p);
  }
  cmd->add_option("--dashboard-port", args->dashboard_port,
                  "Port of the dashboard on 127.0.0.1 (default 4000; WASMCLOUD_DASHBOARD_PORT)")
      ->check(CLI::Range(1, 65535));
  cmd->add_flag("--no-dashboard", args->no_dashboard, "Do not serve the dashboard");
  cmd->add_option("--data-dir", args->data_dir,
                  "Where nats-server and the registry keep data (default "
                  "$XDG_DATA_HOME/wasmcloud-cpp or ~/.local/share/wasmcloud-cpp)");
  cmd->callback([cfg, args] { run_up(*cfg, *args); });
}

}  // namespace wc::cli
