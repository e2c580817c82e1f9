// `wasmcloud up`: the one command a new user runs (DESIGN.md "Processes").
//
// 1. NATS: when nothing answers on the configured control NATS address (default 127.0.0.1:4222)
//    and that address is on this machine, starts `nats-server` as a child: JetStream on, bound to
//    127.0.0.1, store under the data directory ($XDG_DATA_HOME/wasmcloud-cpp or
//    ~/.local/share/wasmcloud-cpp), with a WebSocket listener on 127.0.0.1:4223 (issue #15:
//    NATS over WebSocket for wasmCloud's own lattice client and washboard; --websocket-port /
//    WASMCLOUD_WEBSOCKET_PORT, off with --no-websocket). The listener is configured in
//    <data>/nats-server.conf (`websocket { listen, no_tls }`: nats-server has no flag for it).
//    When a NATS server already answers, `up` does not start one and logs whether a NATS
//    WebSocket listener answers on the WebSocket port.
// 2. OCI registry: unless --no-registry, when nothing answers on 127.0.0.1:<registry port>
//    (default 5000) starts `docker-registry` with a configuration written here (storage in the
//    data directory); the registry is added to the insecure (plain HTTP) list either way.
// 3. Runs a host with file loading allowed, configured like `wasmcloud host`; without a configured
//    cluster seed it uses the local lattice's (<data dir>/cluster.nk, made on first use), which
//    `wasmcloud call` reads too.
// 4. Serves the dashboard on 127.0.0.1:4000 (--dashboard-port, --no-dashboard).
// 5. Runs the declarative-application service in-process (issue #16, src/wadm: wadm's API and
//    reconciler on the same NATS server, like `wasmcloud wadm`; --no-wadm). Without JetStream on
//    that server it logs a warning and `up` runs without it.
// Ctrl-C (SIGINT) or SIGTERM stops the host (actors stopped, host_stopped published), then the
// children (SIGTERM, SIGKILL after 5 s), and exits 0.
//
// One `up` per data directory: <data>/up.pid holds its pid under a fcntl lock, so a second `up`
// says "wasmcloud up is already running (pid N)" and exits 1, while the file left by a killed
// `up` (whose lock the kernel dropped) never blocks the next one (issue #17.7). Once its host
// runs, `up` writes its lattice's settings to <data>/lattice.json (local_lattice.h) for
// `wasmcloud host` on this machine to join (issue #17.1); it removes the file when it stops.
//
// Supervision (issue #17.7): when a nats-server or docker-registry that `up` started exits, `up`
// says so at warn level (server, pid, address, exit status) and starts it again on the same port
// and store (the host's NATS connections reconnect on their own); after 3 restarts of one child
// within 10 minutes, or when a restart fails, it stops everything and exits 1. A remote
// `cmd.{host}.stop` stops `up`'s host, and with it the whole of `up`: it logs at warn level who
// asked (the request's reply inbox and payload, all that NATS tells about the sender), then stops
// the dashboard, the registry and nats-server as Ctrl-C does, and exits 0 (an `up` without its
// host would be a lattice nobody asked for).
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/host_flags.h"
#include "cli/keyfiles.h"
#include "cli/local_lattice.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "common/log.h"
#include "host/config.h"
#include "host/host.h"
#include "host/runner.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "wadm/api_server.h"
#include "web/dashboard.h"

namespace wc::cli {
namespace {

struct UpArgs {
  int registry_port = 5000;
  bool no_registry = false;
  int dashboard_port = 4000;  ///< WASMCLOUD_DASHBOARD_PORT
  bool no_dashboard = false;
  bool no_wadm = false;       ///< do not run the declarative-application service (issue #16)
  int websocket_port = 4223;  ///< NATS over WebSocket (WASMCLOUD_WEBSOCKET_PORT; issue #15)
  bool no_websocket = false;
  std::string env_error;        ///< a bad WASMCLOUD_WEBSOCKET_PORT, reported by run_up
  std::string data_dir;         ///< empty = XDG default
  std::string output = "text";  ///< -o: failures as JSON on stderr with "json"
};

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

/// A child process in its own process group, stopped gracefully by stop(). The kernel sends it
/// SIGTERM when the thread that made it dies (PR_SET_PDEATHSIG), so a `kill -9` of `up` takes
/// nats-server and the registry along instead of leaving them orphaned; construct Child objects
/// on the main thread (the death signal follows the forking thread, not the process).
class Child {
 public:
  Child(std::string name, const std::vector<std::string>& argv, const std::string& log_path)
      : name_(std::move(name)) {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Die with the parent; if it already died between fork and prctl, no signal would come.
      if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(126);
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
    last_pid_ = pid_;
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  bool started() const { return pid_ > 0; }
  /// The process id (the last one once it has exited).
  pid_t pid() const { return last_pid_; }
  /// True while the process has not exited (reaps it when it has).
  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_text_ = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                   : WIFSIGNALED(status)
                       ? "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                             std::string(::strsignal(WTERMSIG(status))) + ")"
                       : "status " + std::to_string(status);
      return false;
    }
    return true;
  }
  /// How the process ended ("exit status 1", "killed by signal 9 (Killed)"), after alive()
  /// returned false; "" before.
  const std::string& exit_text() const { return exit_text_; }
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
  pid_t last_pid_ = -1;
  std::string exit_text_;
};

/// A server `up` started and restarts when it exits (issue #17.7).
struct Supervised {
  std::string name;               ///< "nats-server"
  std::vector<std::string> argv;  ///< how to start it
  std::string log;                ///< its log file
  int port = 0;                   ///< 127.0.0.1:port answers once it runs
  std::unique_ptr<Child> child;   ///< null when `up` did not start it
  std::deque<std::chrono::steady_clock::time_point> restarts;  ///< within kRestartWindow

  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  /// Starts the server (again); true once it listens on its port and is still running.
  bool start() {
    child = std::make_unique<Child>(name, argv, log);
    if (!child->started()) return false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!wait_port(port, std::chrono::milliseconds(100)))
      if (!child->alive() || std::chrono::steady_clock::now() > until) return false;
    // Another program answering on the port while ours failed to bind exits at once.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return child->alive();
  }
};

constexpr int kMaxRestarts = 3;
constexpr auto kRestartWindow = std::chrono::minutes(10);

/// What `up` saw of a `cmd.{host}.stop` request for its host.
struct StopRequest {
  std::mutex mu;
  bool seen = false;
  std::string reply;  ///< the requester's reply subject (its inbox)
  std::string body;   ///< the payload, capped
};

bool is_local(const std::string& host) { return host == "127.0.0.1" || host == "localhost"; }

void run_up(host::HostConfig cfg, const UpArgs& args) {
  const bool json = args.output == "json";
  host::finish_flags(cfg);
  for (const auto& e : cfg.config_errors) die(e, json);
  init_logging(cfg.structured_logging, cfg.log_level);
  host::block_termination_signals();
  std::error_code ec;
  // Absolute: lattice.json names files in it for processes started elsewhere.
  const std::string data =
      std::filesystem::absolute(args.data_dir.empty() ? default_data_dir() : args.data_dir, ec)
          .lexically_normal()
          .string();
  std::filesystem::create_directories(data, ec);
  if (ec) {
    die("Cannot create data directory " + data + ": " + ec.message(), json);
  }
  // One `up` per data directory, checked before anything else (a second `up` would otherwise
  // take the first one's NATS server for its own and fail on the dashboard port).
  auto up_lock = UpLock::acquire(data);
  if (!up_lock) die(up_lock.error().message, json);

  // Every port is checked before anything starts, so that a bad one leaves nothing running.
  std::vector<std::pair<std::string, int>> ports = {{"--nats-port/--ctl-port", cfg.ctl.port},
                                                    {"--rpc-port", cfg.rpc.port},
                                                    {"--prov-rpc-port", cfg.prov_rpc.port}};
  if (!args.no_registry) ports.emplace_back("--registry-port", args.registry_port);
  if (!args.no_dashboard) ports.emplace_back("--dashboard-port", args.dashboard_port);
  if (!args.no_websocket) ports.emplace_back("--websocket-port", args.websocket_port);
  if (!args.env_error.empty()) die(args.env_error, json);
  for (const auto& [flag, port] : ports)
    if (auto st = check_port_range(flag, port); !st) die(st.error().message, json);
  const std::string nats_port = std::to_string(cfg.ctl.port);
  const bool nats_running = port_open(cfg.ctl.host, cfg.ctl.port);
  if (nats_running && !is_nats_server(cfg.ctl.host, cfg.ctl.port))
    die("Port " + nats_port + " on " + cfg.ctl.host +
            " (NATS, --nats-port) is in use by a program that is not a NATS server; stop it or "
            "choose another port with --nats-port",
        json);
  if (!nats_running && !is_local(cfg.ctl.host))
    die("No NATS server answers on " + cfg.ctl.host + ":" + nats_port +
            " (up starts one only on 127.0.0.1)",
        json);
  const bool registry_running = !args.no_registry && port_open("127.0.0.1", args.registry_port);
  if (!args.no_registry) {
    const std::string p = std::to_string(args.registry_port);
    if (is_local(cfg.ctl.host) && args.registry_port == cfg.ctl.port)
      die("--registry-port " + p + " is the NATS port too; choose another port", json);
    if (registry_running && !is_oci_registry(args.registry_port))
      die("Port " + p +
              " (OCI registry, --registry-port) is in use by a program that is not an OCI "
              "registry; stop it, choose another port with --registry-port, or pass --no-registry",
          json);
  }
  if (!args.no_dashboard) {
    const std::string p = std::to_string(args.dashboard_port);
    if ((is_local(cfg.ctl.host) && args.dashboard_port == cfg.ctl.port) ||
        (!args.no_registry && args.dashboard_port == args.registry_port))
      die("--dashboard-port " + p + " is also the NATS or registry port; choose another port",
          json);
    if (!port_bindable(args.dashboard_port))
      die("Port " + p +
              " (dashboard, --dashboard-port) is already in use; choose another port with "
              "--dashboard-port or pass --no-dashboard",
          json);
  }

  // The WebSocket listener belongs to the nats-server `up` starts: its port must be free then.
  // A NATS server found on another machine is asked on that machine's address.
  const std::string ws_host = is_local(cfg.ctl.host) ? "127.0.0.1" : cfg.ctl.host;
  const std::string ws_url = "ws://" + ws_host + ":" + std::to_string(args.websocket_port);
  if (!args.no_websocket && !nats_running) {
    const std::string p = std::to_string(args.websocket_port);
    if ((is_local(cfg.ctl.host) && args.websocket_port == cfg.ctl.port) ||
        (!args.no_registry && args.websocket_port == args.registry_port) ||
        (!args.no_dashboard && args.websocket_port == args.dashboard_port))
      die("--websocket-port " + p +
              " is also the NATS, registry or dashboard port; choose another port",
          json);
    if (!port_bindable(args.websocket_port))
      die("Port " + p +
              " (NATS WebSocket, --websocket-port) is already in use; choose another port with "
              "--websocket-port or pass --no-websocket",
          json);
  }

  // Destroyed last (declared first): the children stop after the host and the dashboard.
  Supervised nats, registry;
  bool ws_available = false;  // recorded in lattice.json: a listener this `up` started or found
  if (!nats_running) {
    auto bin = find_program("nats-server");
    if (bin.empty()) {
      die("nats-server not found (install the Debian package nats-server)", json);
    }
    std::filesystem::create_directories(data + "/nats", ec);
    nats.name = "nats-server";
    nats.argv = {bin,   "-a",  "127.0.0.1",   "-p", std::to_string(cfg.ctl.port),
                 "-js", "-sd", data + "/nats"};
    if (!args.no_websocket) {
      // nats-server 2.9 configures WebSocket only in a config file; the flags above still apply.
      const std::string conf = data + "/nats-server.conf";
      std::ofstream(conf) << "# Written by wasmcloud up at each start: NATS over WebSocket for "
                             "browser and v1 clients.\n"
                          << "websocket {\n  listen: \"127.0.0.1:" << args.websocket_port
                          << "\"\n  no_tls: true\n}\n";
      nats.argv.insert(nats.argv.begin() + 1, {"-c", conf});
    }
    nats.log = data + "/nats-server.log";
    nats.port = cfg.ctl.port;
    if (!nats.start()) {
      die("nats-server did not start on port " + nats_port + "; see " + nats.log, json);
    }
    if (!args.no_websocket && !wait_port(args.websocket_port, std::chrono::seconds(5)))
      die("nats-server started without its WebSocket listener on 127.0.0.1:" +
              std::to_string(args.websocket_port) + "; see " + nats.log,
          json);  // the nats child stops in its destructor
    ws_available = !args.no_websocket;
    spdlog::info(
        "Started nats-server on 127.0.0.1:{} (JetStream store {}/nats){}", cfg.ctl.port, data,
        args.no_websocket ? ", no WebSocket listener (--no-websocket)"
                          : ", WebSocket " + ws_url + " (wasmCloud's lattice client, washboard)");
  } else {
    spdlog::info("Using the NATS server on {}:{}", cfg.ctl.host, cfg.ctl.port);
    if (args.no_websocket) {
      spdlog::info("WebSocket not checked (--no-websocket)");
    } else if (is_websocket_listener(ws_host, args.websocket_port)) {
      ws_available = true;
      spdlog::info("WebSocket: {} answers (NATS over WebSocket, not started by wasmcloud up)",
                   ws_url);
    } else {
      spdlog::warn(
          "WebSocket: nothing answers a WebSocket handshake on {}; wasmCloud's lattice client "
          "and washboard need that NATS server to listen there (its config file: websocket {{ "
          "listen: \"{}:{}\", no_tls: true }})",
          ws_url, ws_host, args.websocket_port);
    }
  }

  if (!args.no_registry) {
    const std::string reg = "127.0.0.1:" + std::to_string(args.registry_port);
    if (!registry_running) {
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
        registry.name = "docker-registry";
        registry.argv = {bin, "serve", config};
        registry.log = data + "/registry.log";
        registry.port = args.registry_port;
        if (!registry.start()) {
          die("docker-registry did not start on port " + std::to_string(args.registry_port) +
                  "; see " + registry.log,
              json);
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
  std::string seed_file;  // recorded in lattice.json when this host uses it
  if (cfg.cluster_seed.empty()) {
    seed_file = cluster_seed_path(data);
    auto seed = load_or_create_cluster_seed(data);
    if (!seed) {
      die("Cluster seed: " + seed.error().message, json);
    }
    cfg.cluster_seed = *seed;
    spdlog::info("Cluster seed of this lattice: {} (read by `wasmcloud call`)",
                 cluster_seed_path(data));
  }
  auto h = host::Host::start(cfg);
  if (!h) {
    die("Failed to start host: " + h.error().message, json);  // children stop in destructors
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
      // Checked free above; taken since. Stop everything rather than run half of what was asked.
      hostp->stop();
      h->reset();
      nats_CloseAndWait(2000);
      die("Dashboard not started on port " + std::to_string(args.dashboard_port) + ": " +
              dash.error().message +
              " (choose another port with --dashboard-port or pass --no-dashboard)",
          json);  // children stop in their destructors
    }
  }

  // The declarative-application service: its own NATS connection, wadm's API and reconciler.
  std::unique_ptr<lattice::Connection> wadm_nc;
  std::unique_ptr<wadm::ApiServer> wadm_server;
  if (!args.no_wadm) {
    lattice::ConnectOptions o;
    o.servers = {"nats://" + cfg.ctl.host + ":" + std::to_string(cfg.ctl.port)};
    o.name = "wasmcloud up (wadm)";
    auto c = lattice::Connection::connect(o);
    Status started = c ? ok() : Status(fail(c.error()));
    if (c) {
      wadm_nc = std::move(*c);
      wadm::ApiServerOptions w;
      w.lattice = cfg.lattice_prefix;
      w.reconcile = true;
      w.reconciler.ctl_prefix = cfg.ctl_topic_prefix;
      auto s = wadm::ApiServer::start(*wadm_nc, w);
      if (s)
        wadm_server = std::move(*s);
      else
        started = fail(s.error());
    }
    if (wadm_server)
      spdlog::info("wadm: application API on {} (`wasmcloud app`)", wadm_server->subject());
    else
      spdlog::warn("wadm not started ({}); `wasmcloud app` needs `wasmcloud wadm` on this lattice",
                   started ? std::string("no server") : started.error().message);
  }

  // Who asks this host to stop: the host acts on `cmd.{host}.stop` itself; this subscription
  // only lets `up` say who asked (issue #17.7).
  auto stop_request = std::make_shared<StopRequest>();
  std::unique_ptr<lattice::Connection> watch;
  lattice::Subscription stop_watch;
  {
    lattice::ConnectOptions o;
    o.servers = cfg.ctl.urls();
    o.no_randomize = true;
    o.name = "wasmcloud up " + hostp->host_id();
    o.seed = cfg.ctl.seed;
    o.jwt = cfg.ctl.jwt;
    o.tls = cfg.ctl.tls;
    auto conn = lattice::Connection::connect(o);
    if (conn) {
      watch = std::move(*conn);
      auto sub = watch->subscribe(
          lattice::topics::ctl_cmd(cfg.lattice_prefix, hostp->host_id(),
                                   lattice::topics::kCmdStopHost, cfg.ctl_topic_prefix),
          [stop_request](lattice::Message m) {
            std::lock_guard lock(stop_request->mu);
            stop_request->seen = true;
            stop_request->reply = std::string(m.reply());
            stop_request->body = std::string(m.text().substr(0, 200));
          });
      if (sub) stop_watch = std::move(*sub);
      (void)watch->flush(std::chrono::seconds(1));  // subscribed before lattice.json names the host
    }
    if (!stop_watch.valid())
      spdlog::warn(
          "Cannot watch for stop requests to the host; a remote stop will not say who "
          "asked");
  }

  // The lattice's settings, for `wasmcloud host` on this machine (issue #17.1).
  LatticeContext ctx;
  ctx.pid = ::getpid();
  ctx.host_id = hostp->host_id();
  ctx.ctl = cfg.ctl;
  ctx.rpc = cfg.rpc;
  ctx.prov_rpc = cfg.prov_rpc;
  ctx.lattice_prefix = cfg.lattice_prefix;
  ctx.ctl_topic_prefix = cfg.ctl_topic_prefix;
  ctx.cluster_seed_file = seed_file;
  if (!args.no_registry) {
    ctx.allowed_insecure = {"127.0.0.1:" + std::to_string(args.registry_port),
                            "localhost:" + std::to_string(args.registry_port)};
  }
  ctx.js_domain = cfg.js_domain.value_or("");
  if (ws_available) ctx.websocket_url = ws_url;
  if (auto st = write_lattice_context(data, ctx); st) {
    spdlog::info("Lattice settings for `wasmcloud host` on this machine: {}",
                 lattice_context_path(data));
  } else {
    spdlog::warn("Cannot write {}: {} (`wasmcloud host` will not join this lattice by itself)",
                 lattice_context_path(data), st.error().message);
  }

  std::string failure;  // set when `up` gives up on a child: exit 1 after stopping the rest
  for (;;) {
    Supervised* died = nullptr;
    int sig = host::wait_for_termination([&] {
      if (hostp->stopping()) return true;
      for (Supervised* s : {&nats, &registry})
        if (s->child && !s->child->alive()) {
          died = s;
          return true;
        }
      return false;
    });
    if (sig != 0) {
      spdlog::info("{} received, stopping", signal_text(sig));
      break;
    }
    if (died == nullptr) {
      // The host stopped itself: a `cmd.{host}.stop` request. The watch sees it at about the
      // same time as the host; give it a moment.
      for (int i = 0; i < 20; ++i) {
        if (std::lock_guard lock(stop_request->mu); stop_request->seen) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::lock_guard lock(stop_request->mu);
      if (stop_request->seen)
        spdlog::warn(
            "Host {} was stopped by a control-interface request (cmd.{}.stop, reply to {}, "
            "payload '{}'); wasmcloud up stops the dashboard, the registry and nats-server it "
            "started too, and exits",
            hostp->host_id(), hostp->host_id(),
            stop_request->reply.empty() ? "none" : stop_request->reply, stop_request->body);
      else
        spdlog::warn(
            "Host {} stopped by itself; wasmcloud up stops the dashboard, the registry "
            "and nats-server it started too, and exits",
            hostp->host_id());
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    while (!died->restarts.empty() && now - died->restarts.front() > kRestartWindow)
      died->restarts.pop_front();
    if (static_cast<int>(died->restarts.size()) >= kMaxRestarts) {
      failure = died->name + " on " + died->address() + " exited (" + died->child->exit_text() +
                ") after " + std::to_string(kMaxRestarts) + " restarts within 10 minutes; see " +
                died->log + ". Stopped wasmcloud up";
      spdlog::error(
          "{} (pid {}) on {} exited again ({}); giving up after {} restarts within "
          "10 minutes, stopping wasmcloud up",
          died->name, died->child->pid(), died->address(), died->child->exit_text(), kMaxRestarts);
      break;
    }
    died->restarts.push_back(now);
    spdlog::warn(
        "{} (pid {}) on {}, started by wasmcloud up, exited ({}); restarting it "
        "(restart {} of at most {} within 10 minutes; its log: {})",
        died->name, died->child->pid(), died->address(), died->child->exit_text(),
        died->restarts.size(), kMaxRestarts, died->log);
    if (!died->start()) {
      failure = died->name + " did not restart on " + died->address() + "; see " + died->log +
                ". Stopped wasmcloud up";
      spdlog::error("{} did not restart on {}; stopping wasmcloud up", died->name, died->address());
      break;
    }
    spdlog::info("Restarted {} on {} (pid {})", died->name, died->address(), died->child->pid());
  }
  remove_lattice_context(data);
  stop_watch.unsubscribe();
  watch.reset();
  wadm_server.reset();  // its reconciler hands the lease over
  wadm_nc.reset();
  if (dashboard) dashboard->stop();
  dashboard.reset();
  hostp->stop();
  h->reset();
  nats_CloseAndWait(2000);  // libnats callback threads end before static destructors run
  registry.child.reset();
  nats.child.reset();
  if (!failure.empty()) die(failure, json);
}

}  // namespace

void register_up(CLI::App& app) {
  auto cfg = std::make_shared<host::HostConfig>(host::load_config(host::process_environment()));
  auto args = std::make_shared<UpArgs>();
  auto* cmd = app.add_subcommand(
      "up", "Start NATS and a local OCI registry if needed, then a host (Ctrl-C stops all)");
  add_host_flags(*cmd, *cfg);
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
  cmd->add_flag("--no-wadm", args->no_wadm,
                "Do not run the declarative-application service (wadm's API and reconciler)");
  if (auto p = port_from_env("WASMCLOUD_WEBSOCKET_PORT", args->websocket_port); p)
    args->websocket_port = *p;
  else
    args->env_error = p.error().message;
  cmd->add_option("--websocket-port", args->websocket_port,
                  "Port of the NATS WebSocket listener on 127.0.0.1, for wasmCloud's lattice "
                  "client and washboard (default 4223; WASMCLOUD_WEBSOCKET_PORT)")
      ->check(CLI::Range(1, 65535));
  cmd->add_flag("--no-websocket", args->no_websocket,
                "Start nats-server without a WebSocket listener");
  cmd->add_option("--data-dir", args->data_dir,
                  "Where nats-server and the registry keep data (default "
                  "$XDG_DATA_HOME/wasmcloud-cpp or ~/.local/share/wasmcloud-cpp)");
  add_output_option(cmd, args->output);
  cmd->callback([cfg, args] { run_up(*cfg, *args); });
}

}  // namespace wc::cli
