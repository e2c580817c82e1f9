// `wasmcloud up` as a user runs it: HOME and XDG_DATA_HOME in a temp dir, non-default NATS and
// registry ports, then the operator CLI (`ctl`, `call`) against it, then Ctrl-C. Also a second
// `wasmcloud host` joining up's lattice through its data directory (#17.1), one `up` per data
// directory, up restarting its nats-server, and a remote stop of up's host (#17.7).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "lattice/nats.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kBinary = std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud";
constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";

/// Runs a shell command and returns its stdout and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {"", -1};
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

/// Removes a temporary directory when the test ends (declare it before the processes).
struct TempDirGuard {
  std::string dir;
  ~TempDirGuard() { testing::remove_temp_dir(dir); }
};

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

TEST(WasmcloudUp, StartsNatsRegistryAndHostThenStopsOnCtrlC) {
  const auto home = testing::make_temp_dir("wc-up-home");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  const int dash_port = testing::free_port();
  const int ws_port = testing::free_port();
  // No cluster seed configured: up makes the local lattice's seed, and `call` below finds it
  // through the same data directory.
  const std::string env =
      "env -u WASMCLOUD_CLUSTER_SEED HOME=" + home + " XDG_DATA_HOME=" + home + "/data ";
  testing::ChildProcess up(
      {"env", "-u", "WASMCLOUD_CLUSTER_SEED", kBinary, "up", "--nats-port",
       std::to_string(nats_port), "--registry-port", std::to_string(reg_port), "--dashboard-port",
       std::to_string(dash_port), "--websocket-port", std::to_string(ws_port), "--no-native"},
      home + "/up.log", {"HOME=" + home, "XDG_DATA_HOME=" + home + "/data"});
  ASSERT_TRUE(testing::wait_port(nats_port, 15s)) << "see " << home << "/up.log";
  ASSERT_TRUE(testing::wait_port(reg_port, 15s)) << "see " << home << "/up.log";
  EXPECT_TRUE(is_dir(home + "/data/wasmcloud-cpp/nats"));
  EXPECT_TRUE(is_dir(home + "/data/wasmcloud-cpp/registry/storage"));

  // Issue #15: its nats-server speaks NATS over WebSocket on --websocket-port: the HTTP upgrade
  // is answered 101, and the first WebSocket frame is the server's INFO.
  ASSERT_TRUE(testing::wait_port(ws_port, 15s)) << "see " << home << "/up.log";
  auto [upgrade, upgrade_rc] =
      run("curl -s -i -N -m 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
          "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "
          "http://127.0.0.1:" +
          std::to_string(ws_port) + "/ | head -c 4096");
  EXPECT_EQ(upgrade.rfind("HTTP/1.1 101 Switching Protocols", 0), 0u) << upgrade;
  EXPECT_NE(upgrade.find("INFO {"), std::string::npos) << upgrade;

  // The dashboard is served too.
  ASSERT_TRUE(testing::wait_port(dash_port, 15s)) << "see " << home << "/up.log";
  auto [page, page_rc] = run("curl -s http://127.0.0.1:" + std::to_string(dash_port) + "/");
  EXPECT_EQ(page_rc, 0);
  EXPECT_NE(page.find("<title>wasmCloud Dashboard</title>"), std::string::npos) << page;

  // Ping the host.
  lattice::ConnectOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(nats_port)};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc) << nc.error().message;
  std::string host_id;
  for (int i = 0; i < 100 && host_id.empty(); ++i) {
    auto r = (*nc)->request("wasmbus.ctl.default.ping.hosts", "", 500ms);
    if (r) host_id = json::parse(r->text(), nullptr, false).value("id", "");
    if (host_id.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(host_id.empty()) << "host never answered; see " << home << "/up.log";
  EXPECT_EQ(host_id[0], 'N');

  // The operator CLI against it.
  const std::string port = std::to_string(nats_port);
  auto [hosts, rc] = run(kBinary + " ctl -p " + port + " -o json get hosts");
  EXPECT_EQ(rc, 0) << hosts;
  EXPECT_NE(hosts.find(host_id), std::string::npos) << hosts;
  auto [table, rc2] = run(kBinary + " ctl -p " + port + " get hosts");
  EXPECT_EQ(rc2, 0);
  EXPECT_NE(table.find("Host ID"), std::string::npos) << table;

  // up allows file loading: start the fixture from disk and call it.
  auto [started, rc3] = run(kBinary + " ctl -p " + port + " start actor file://" +
                            std::string(WC_FIXTURES_DIR) + "/echo.wasm --host-id " + host_id);
  EXPECT_EQ(rc3, 0) << started;
  std::string reply;
  for (int i = 0; i < 50; ++i) {
    auto [out, rc4] = run(env + kBinary + " call -p " + port + " -o json " + kEcho +
                          " HttpServer.HandleRequest "
                          "'{\"method\":\"GET\",\"path\":\"/\",\"queryString\":\"\",\"header\":{},"
                          "\"body\":\"hello\"}' 2>&1");
    if (rc4 == 0) {
      reply = out;
      break;
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(reply.empty()) << "call never succeeded";
  auto j = json::parse(reply, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << reply;
  EXPECT_EQ(j["response"]["statusCode"], 200);
  EXPECT_EQ(j["response"]["body"],
            R"({"body":[104,101,108,108,111],"method":"GET","path":"/","query_string":""})");

  auto [inv, rc5] = run(kBinary + " ctl -p " + port + " -o json get inventory " + host_id);
  EXPECT_EQ(rc5, 0);
  EXPECT_NE(inv.find(kEcho), std::string::npos) << inv;

  // lattice.json names the WebSocket URL for clients on this machine.
  const json ctx =
      json::parse(std::ifstream(home + "/data/wasmcloud-cpp/lattice.json"), nullptr, false);
  EXPECT_EQ(ctx.value("websocket_url", ""), "ws://127.0.0.1:" + std::to_string(ws_port))
      << ctx.dump();

  nc->reset();
  // Ctrl-C: exit 0, and the children are gone (their ports closed).
  EXPECT_EQ(up.interrupt_and_wait(20s), 0) << "see " << home << "/up.log";
  EXPECT_FALSE(testing::port_open(ws_port));
  EXPECT_FALSE(testing::port_open(nats_port));
  EXPECT_FALSE(testing::port_open(reg_port));
  EXPECT_FALSE(testing::port_open(dash_port));
}

/// Child pids of `pid` (every thread's children, from /proc).
std::set<pid_t> children_of(pid_t pid) {
  std::set<pid_t> out;
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "children");
    pid_t child = 0;
    while (in >> child) out.insert(child);
  }
  return out;
}

/// True while `pid` exists and is not a zombie.
bool process_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

/// A TCP listener on 127.0.0.1:port that accepts nothing and says nothing (a foreign program).
class Squatter {
 public:
  explicit Squatter(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 16) == 0;
  }
  ~Squatter() { ::close(fd_); }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

/// `wasmcloud up` with HOME/XDG_DATA_HOME in `home` and `args`; stdout+stderr, exit code.
std::pair<std::string, int> run_up(const std::string& home, const std::string& args) {
  // A free WebSocket port unless `args` names one: the default, 4223, is shared by every test.
  return run("env -u WASMCLOUD_CLUSTER_SEED -u WASMCLOUD_DASHBOARD_PORT WASMCLOUD_WEBSOCKET_PORT=" +
             std::to_string(testing::free_port()) + " HOME=" + home + " XDG_DATA_HOME=" + home +
             "/data timeout 60 " + kBinary + " up --no-native " + args + " 2>&1");
}

// kill -9 of `up` leaves no orphans: nats-server and the registry get SIGTERM from the kernel
// (PR_SET_PDEATHSIG) and exit.
TEST(WasmcloudUp, KillNineTakesItsChildrenAlong) {
  const auto home = testing::make_temp_dir("wc-up-kill");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  testing::ChildProcess up(
      {kBinary, "up", "--nats-port", std::to_string(nats_port), "--registry-port",
       std::to_string(reg_port), "--no-dashboard", "--no-native", "--no-websocket"},
      home + "/up.log",
      {"HOME=" + home, "XDG_DATA_HOME=" + home + "/data", "WASMCLOUD_CLUSTER_SEED="});
  ASSERT_TRUE(testing::wait_port(nats_port, 15s)) << "see " << home << "/up.log";
  ASSERT_TRUE(testing::wait_port(reg_port, 15s)) << "see " << home << "/up.log";
  std::set<pid_t> children;
  for (int i = 0; i < 50 && children.size() < 2; ++i) {
    children = children_of(up.pid());
    if (children.size() < 2) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(children.size(), 2u) << "expected nats-server and docker-registry";

  ASSERT_EQ(::kill(up.pid(), SIGKILL), 0);
  const auto until = std::chrono::steady_clock::now() + 5s;
  bool any_alive = true;
  while (any_alive && std::chrono::steady_clock::now() < until) {
    any_alive = false;
    for (pid_t c : children) any_alive = any_alive || process_alive(c);
    if (any_alive) std::this_thread::sleep_for(50ms);
  }
  EXPECT_FALSE(any_alive) << "children outlived kill -9 of up";
  EXPECT_FALSE(testing::port_open(nats_port));
  EXPECT_FALSE(testing::port_open(reg_port));
  up.stop(9);  // reaps `up` itself
}

TEST(WasmcloudUp, PortFlagsOutOfRangeAreRefused) {
  const auto home = testing::make_temp_dir("wc-up-ports");
  TempDirGuard guard{home};
  struct Case {
    std::string args, expected;
  };
  const std::vector<Case> cases = {
      {"--nats-port 0", "--nats-port/--ctl-port 0 is not a valid port (1-65535)"},
      {"--nats-port 70000", "--nats-port/--ctl-port 70000 is not a valid port (1-65535)"},
      {"--ctl-port -1", "--nats-port/--ctl-port -1 is not a valid port (1-65535)"},
      {"--rpc-port 65536", "--rpc-port 65536 is not a valid port (1-65535)"},
      {"--registry-port 0", "--registry-port"},
      {"--dashboard-port 65536", "--dashboard-port"},
      {"--websocket-port 70000", "--websocket-port"},
  };
  for (const auto& c : cases) {
    auto [out, rc] = run_up(home, c.args);
    EXPECT_NE(rc, 0) << c.args;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.args << ": " << out;
  }
  // The environment variable path is checked too.
  auto [out, rc] = run("env WASMCLOUD_DASHBOARD_PORT=99999 HOME=" + home +
                       " XDG_DATA_HOME=" + home + "/data timeout 60 " + kBinary + " up 2>&1");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("--dashboard-port 99999 is not a valid port (1-65535)"), std::string::npos)
      << out;
  auto [ws_out, ws_rc] = run("env WASMCLOUD_WEBSOCKET_PORT=abc HOME=" + home +
                             " XDG_DATA_HOME=" + home + "/data timeout 60 " + kBinary + " up 2>&1");
  EXPECT_EQ(ws_rc, 1);
  EXPECT_NE(ws_out.find("WASMCLOUD_WEBSOCKET_PORT='abc' is not a valid port (1-65535)"),
            std::string::npos)
      << ws_out;
}

// A port held by another program: the message names the service and the port, and nothing that
// up would have started is left running (it checks every port before starting anything).
TEST(WasmcloudUp, PortsInUseAreReportedAndNothingIsLeftRunning) {
  const auto home = testing::make_temp_dir("wc-up-busy");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  const int dash_port = testing::free_port();
  const std::string ports = "--nats-port " + std::to_string(nats_port) + " --registry-port " +
                            std::to_string(reg_port) + " --dashboard-port " +
                            std::to_string(dash_port);
  {
    Squatter s(dash_port);
    ASSERT_TRUE(s.ok());
    auto [out, rc] = run_up(home, ports);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("Port " + std::to_string(dash_port) +
                       " (dashboard, --dashboard-port) is already in use"),
              std::string::npos)
        << out;
  }
  {
    Squatter s(reg_port);
    ASSERT_TRUE(s.ok());
    auto [out, rc] = run_up(home, ports);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("Port " + std::to_string(reg_port) +
                       " (OCI registry, --registry-port) is in use by a program that is not an "
                       "OCI registry"),
              std::string::npos)
        << out;
  }
  {
    Squatter s(nats_port);
    ASSERT_TRUE(s.ok());
    auto [out, rc] = run_up(home, ports);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("Port " + std::to_string(nats_port) +
                       " on 127.0.0.1 (NATS, --nats-port) is in use by a program that is not a "
                       "NATS server"),
              std::string::npos)
        << out;
  }
  // Nothing was started: no NATS server or registry is listening, no nats-server log was made.
  EXPECT_FALSE(testing::port_open(nats_port));
  EXPECT_FALSE(testing::port_open(reg_port));
  EXPECT_FALSE(testing::port_open(dash_port));
  EXPECT_FALSE(std::filesystem::exists(home + "/data/wasmcloud-cpp/nats-server.log"));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Polls until `pred` holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

/// Waits for `proc` to exit by itself and returns its exit status (-1 on timeout).
int wait_exit(testing::ChildProcess& proc, std::chrono::milliseconds timeout) {
  if (!eventually([&] { return !process_alive(proc.pid()); }, timeout)) return -1;
  return proc.interrupt_and_wait(2s);  // reaps the zombie; the signal goes nowhere
}

/// The environment of a user whose data directory is under `home`.
std::vector<std::string> user_env(const std::string& home) {
  // A free NATS WebSocket port: the default, 4223, is shared by every test (issue #15).
  return {"HOME=" + home, "XDG_DATA_HOME=" + home + "/data",
          "WASMCLOUD_CLUSTER_SEED=", "WASMCLOUD_DASHBOARD_PORT=",
          "WASMCLOUD_WEBSOCKET_PORT=" + std::to_string(testing::free_port())};
}

/// Waits (up to 15 s) until `up` has written <data>/lattice.json, i.e. until its host runs.
bool lattice_json_written(const std::string& data) {
  return eventually([&] { return std::filesystem::exists(data + "/lattice.json"); }, 15s);
}

/// The host id `up` recorded in <data>/lattice.json ("" when it is missing or unreadable).
std::string recorded_host_id(const std::string& data) {
  return json::parse(slurp(data + "/lattice.json"), nullptr, false).value("host_id", "");
}

/// Pings the lattice until a host other than those in `not` answers; returns its id or "".
std::string find_host(lattice::Connection& nc, const std::set<std::string>& not_these,
                      std::chrono::milliseconds timeout) {
  std::string found;
  eventually(
      [&] {
        auto inbox = nc.new_inbox();
        std::mutex mu;
        std::vector<std::string> ids;
        auto sub = nc.subscribe(inbox, [&](lattice::Message m) {
          std::lock_guard lock(mu);
          auto j = json::parse(m.text(), nullptr, false);
          if (j.is_object()) ids.push_back(j.value("id", ""));
        });
        if (!sub) return false;
        (void)nc.publish("wasmbus.ctl.default.ping.hosts", "", {}, inbox);
        std::this_thread::sleep_for(300ms);
        sub->unsubscribe();
        std::lock_guard lock(mu);
        for (const auto& id : ids)
          if (!id.empty() && !not_these.count(id)) found = id;
        return !found.empty();
      },
      timeout);
  return found;
}

// Issue #15: a WebSocket port held by another program stops `up` before anything starts, with
// a message naming the flag; with a NATS server already running, `up` starts none and says
// whether a WebSocket listener answers on the port (lattice.json records it only when one does).
TEST(WasmcloudUp, WebSocketPortInUseOrFoundOnAnExistingNatsServer) {
  const auto home = testing::make_temp_dir("wc-up-ws");
  TempDirGuard guard{home};
  {
    const int nats_port = testing::free_port();
    const int ws_port = testing::free_port();
    Squatter s(ws_port);
    ASSERT_TRUE(s.ok());
    auto [out, rc] =
        run_up(home, "--nats-port " + std::to_string(nats_port) + " --websocket-port " +
                         std::to_string(ws_port) + " --no-registry --no-dashboard");
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("Port " + std::to_string(ws_port) +
                       " (NATS WebSocket, --websocket-port) is already in use; choose another "
                       "port with --websocket-port or pass --no-websocket"),
              std::string::npos)
        << out;
    EXPECT_FALSE(testing::port_open(nats_port)) << "up started nats-server anyway";
    auto [bad, bad_rc] = run_up(home, "--websocket-port 0 --no-registry --no-dashboard");
    EXPECT_NE(bad_rc, 0);
    EXPECT_NE(bad.find("--websocket-port"), std::string::npos) << bad;
  }
  testing::NatsServer nats(0, {}, /*websocket=*/true);
  const std::string data = home + "/data/wasmcloud-cpp";
  auto user = user_env(home);
  for (const auto& [ws_port, expected] :
       {std::pair{nats.websocket_port(), std::string("WebSocket: ") + nats.websocket_url() +
                                             " answers (NATS over WebSocket, not started by "
                                             "wasmcloud up)"},
        std::pair{testing::free_port(), std::string("WebSocket: nothing answers a WebSocket "
                                                    "handshake on ws://127.0.0.1:")}}) {
    const std::string log = home + "/up-" + std::to_string(ws_port) + ".log";
    testing::ChildProcess up(
        {kBinary, "up", "--nats-port", std::to_string(nats.port()), "--websocket-port",
         std::to_string(ws_port), "--no-registry", "--no-dashboard", "--no-native"},
        log, user);
    ASSERT_TRUE(lattice_json_written(data)) << slurp(log);
    EXPECT_NE(slurp(log).find(expected), std::string::npos) << slurp(log);
    const json ctx = json::parse(slurp(data + "/lattice.json"), nullptr, false);
    EXPECT_EQ(ctx.value("websocket_url", "?"),
              ws_port == nats.websocket_port() ? nats.websocket_url() : std::string())
        << ctx.dump();
    EXPECT_EQ(up.interrupt_and_wait(20s), 0) << slurp(log);
  }
  EXPECT_TRUE(testing::port_open(nats.port())) << "up stopped a NATS server it did not start";
}

// #17.1: a second `wasmcloud host` with no flags, next to `up`, joins up's lattice through up's
// data directory: same NATS server, up's plain-HTTP registry allowed, up's cluster seed. The
// actor runs on the second host only, pulled from up's registry, and answers an invocation that
// `wasmcloud call` signs with the shared cluster seed.
TEST(WasmcloudUp, SecondHostJoinsUpsLatticeFromItsDataDirectory) {
  const auto home = testing::make_temp_dir("wc-up-join");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  const std::string data = home + "/data/wasmcloud-cpp";
  testing::ChildProcess up(
      {kBinary, "up", "--nats-port", std::to_string(nats_port), "--registry-port",
       std::to_string(reg_port), "--no-dashboard", "--no-native"},
      home + "/up.log", user_env(home));
  ASSERT_TRUE(testing::wait_port(nats_port, 15s)) << slurp(home + "/up.log");
  ASSERT_TRUE(testing::wait_port(reg_port, 15s)) << slurp(home + "/up.log");
  ASSERT_TRUE(lattice_json_written(data)) << slurp(home + "/up.log");
  const json ctx = json::parse(slurp(data + "/lattice.json"), nullptr, false);
  ASSERT_TRUE(ctx.is_object()) << slurp(data + "/lattice.json");
  EXPECT_EQ(ctx.value("pid", 0), up.pid());
  EXPECT_EQ(ctx["ctl_nats"].value("port", 0), nats_port);
  EXPECT_EQ(ctx.value("cluster_seed_file", ""), data + "/cluster.nk");
  EXPECT_EQ(ctx.value("lattice_prefix", ""), "default");
  const std::string registry = "127.0.0.1:" + std::to_string(reg_port);
  EXPECT_NE(ctx["allowed_insecure"].dump().find(registry), std::string::npos) << ctx.dump();
  // No cluster seed (SC + 56 base32 characters) anywhere; a bare "SC" can occur by chance in a
  // host id or a temporary path (it did, one CI run in several).
  EXPECT_FALSE(std::regex_search(ctx.dump(), std::regex("SC[A-Z2-7]{56}")))
      << "a seed in lattice.json: " << ctx.dump();
  const std::string up_host = ctx.value("host_id", "");
  ASSERT_FALSE(up_host.empty());

  // One command, no flags: the same data directory (XDG_DATA_HOME) is all it shares with up.
  testing::ChildProcess second({kBinary, "host", "--no-native"}, home + "/host.log",
                               user_env(home));
  lattice::ConnectOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(nats_port)};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc) << nc.error().message;
  const std::string host_id = find_host(**nc, {up_host}, 20s);
  ASSERT_FALSE(host_id.empty()) << "the second host never answered; its log:\n"
                                << slurp(home + "/host.log");
  const std::string host_log = slurp(home + "/host.log");
  EXPECT_NE(host_log.find("Joining the lattice of wasmcloud up (pid " + std::to_string(up.pid()) +
                          "): NATS nats://127.0.0.1:" + std::to_string(nats_port) +
                          ", lattice prefix default, cluster seed " + data +
                          "/cluster.nk, allowed-insecure registries " + registry),
            std::string::npos)
      << host_log;
  EXPECT_EQ(host_log.find("ad-hoc cluster key"), std::string::npos) << host_log;

  // Push to up's registry, start on the second host by id, see its actor_started.
  const std::string ref = registry + "/echo:0.3.4";
  auto [pushed, push_rc] = run(kBinary + " reg push " + ref + " " + std::string(WC_FIXTURES_DIR) +
                               "/echo.wasm --insecure 2>&1");
  ASSERT_EQ(push_rc, 0) << pushed;
  std::mutex mu;
  std::vector<json> events;
  auto sub = (*nc)->subscribe("wasmbus.evt.default", [&](lattice::Message m) {
    std::lock_guard lock(mu);
    events.push_back(json::parse(m.text(), nullptr, false));
  });
  ASSERT_TRUE(sub);
  const std::string port = std::to_string(nats_port);
  auto [started, start_rc] =
      run(kBinary + " ctl -p " + port + " start actor " + ref + " --host-id " + host_id + " 2>&1");
  ASSERT_EQ(start_rc, 0) << started << "\nhost log:\n" << slurp(home + "/host.log");
  EXPECT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mu);
        for (const auto& e : events)
          if (e.is_object() && e.value("type", "") == "com.wasmcloud.lattice.actor_started" &&
              e.value("source", "") == host_id)
            return true;
        return false;
      },
      10s))
      << "no actor_started from the second host";

  // Invoke through the lattice: only the second host runs echo; `call` signs with up's seed.
  const std::string env =
      "env -u WASMCLOUD_CLUSTER_SEED HOME=" + home + " XDG_DATA_HOME=" + home + "/data ";
  std::string reply;
  for (int i = 0; i < 50 && reply.empty(); ++i) {
    auto [out, rc] = run(env + kBinary + " call -p " + port + " -o json " + kEcho +
                         " HttpServer.HandleRequest "
                         "'{\"method\":\"GET\",\"path\":\"/joined\",\"queryString\":\"\","
                         "\"header\":{},\"body\":\"hi\"}' 2>&1");
    if (rc == 0)
      reply = out;
    else
      std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(reply.empty()) << "call never succeeded; host log:\n" << slurp(home + "/host.log");
  auto j = json::parse(reply, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << reply;
  EXPECT_EQ(j["response"]["statusCode"], 200) << reply;
  auto [inv, inv_rc] = run(kBinary + " ctl -p " + port + " -o json get inventory " + host_id);
  EXPECT_EQ(inv_rc, 0);
  EXPECT_NE(inv.find(kEcho), std::string::npos) << inv;

  // --no-context: the same command, given up's NATS port, runs with an ad-hoc cluster key.
  {
    testing::ChildProcess lone(
        {kBinary, "host", "--no-native", "--no-context", "--nats-port", port}, home + "/lone.log",
        user_env(home));
    EXPECT_TRUE(eventually(
        [&] { return slurp(home + "/lone.log").find("ad-hoc cluster key") != std::string::npos; },
        15s))
        << slurp(home + "/lone.log");
    EXPECT_EQ(slurp(home + "/lone.log").find("Joining the lattice"), std::string::npos);
    EXPECT_EQ(lone.interrupt_and_wait(20s), 0);
  }

  // A WASMCLOUD_* variable wins over up's setting; the others still come from up.
  {
    auto other_env = user_env(home);
    other_env.push_back("WASMCLOUD_LATTICE_PREFIX=elsewhere");
    testing::ChildProcess other({kBinary, "host", "--no-native"}, home + "/other.log", other_env);
    EXPECT_TRUE(eventually(
        [&] {
          return slurp(home + "/other.log").find("on lattice 'elsewhere'") != std::string::npos;
        },
        15s))
        << slurp(home + "/other.log");
    const std::string text = slurp(home + "/other.log");
    EXPECT_NE(text.find("Joining the lattice of wasmcloud up (pid " + std::to_string(up.pid()) +
                        "): NATS nats://127.0.0.1:" + port + ", cluster seed " + data +
                        "/cluster.nk, allowed-insecure"),
              std::string::npos)
        << text;
    EXPECT_EQ(other.interrupt_and_wait(20s), 0);
  }

  sub->unsubscribe();
  nc->reset();
  EXPECT_EQ(second.interrupt_and_wait(20s), 0) << slurp(home + "/host.log");
  EXPECT_EQ(up.interrupt_and_wait(20s), 0) << slurp(home + "/up.log");
  EXPECT_FALSE(std::filesystem::exists(data + "/lattice.json")) << "up leaves no lattice.json";
}

// #17.7: one `up` per data directory. The pid file of an `up` killed with -9 does not block the
// next one; a second `up` while one runs says so, with its pid, and exits 1 without starting
// anything; a lattice.json left by the killed `up` is ignored by `wasmcloud host`.
TEST(WasmcloudUp, OneUpPerDataDirectoryAndStalePidFileDoesNotBlock) {
  const auto home = testing::make_temp_dir("wc-up-lock");
  TempDirGuard guard{home};
  const std::string data = home + "/data/wasmcloud-cpp";
  const int nats_port = testing::free_port();
  const std::vector<std::string> args = {
      kBinary,          "up",         "--nats-port", std::to_string(nats_port), "--no-registry",
      "--no-dashboard", "--no-native"};
  pid_t killed = 0;
  {
    testing::ChildProcess first(args, home + "/up1.log", user_env(home));
    ASSERT_TRUE(lattice_json_written(data)) << slurp(home + "/up1.log");
    killed = first.pid();
    EXPECT_EQ(slurp(data + "/up.pid"), std::to_string(killed) + "\n");
    first.stop(9);
    ASSERT_TRUE(eventually([&] { return !testing::port_open(nats_port); }, 10s));
  }
  // What the killed up left: its pid file and lattice.json.
  EXPECT_EQ(slurp(data + "/up.pid"), std::to_string(killed) + "\n");
  ASSERT_TRUE(std::filesystem::exists(data + "/lattice.json"));
  {
    // A host started now does not take the dead up's settings (it would try its NATS port).
    auto env = user_env(home);
    std::string cmd = "env";
    for (const auto& e : env) cmd += " " + e;
    auto [out, rc] =
        run(cmd + " timeout 20 " + kBinary + " host --no-native --log-level debug --nats-port " +
            std::to_string(testing::free_port()) + " 2>&1");
    EXPECT_NE(rc, 0);
    EXPECT_EQ(out.find("Joining the lattice"), std::string::npos) << out;
  }

  testing::ChildProcess second(args, home + "/up2.log", user_env(home));
  ASSERT_TRUE(testing::wait_port(nats_port, 15s)) << slurp(home + "/up2.log");
  ASSERT_TRUE(eventually(
      [&] {
        return json::parse(slurp(data + "/lattice.json"), nullptr, false).value("pid", 0) ==
               second.pid();
      },
      15s))
      << slurp(home + "/up2.log");
  EXPECT_EQ(slurp(data + "/up.pid"), std::to_string(second.pid()) + "\n");

  const int other_nats = testing::free_port();
  auto [out, rc] =
      run_up(home, "--nats-port " + std::to_string(other_nats) + " --no-registry --no-dashboard");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("wasmcloud up is already running (pid " + std::to_string(second.pid()) + ")"),
            std::string::npos)
      << out;
  EXPECT_FALSE(testing::port_open(other_nats)) << "the refused up started a NATS server";
  auto [jout, jrc] = run_up(
      home, "--nats-port " + std::to_string(other_nats) + " --no-registry --no-dashboard -o json");
  EXPECT_EQ(jrc, 1);
  EXPECT_NE(jout.find("\"success\":false"), std::string::npos) << jout;

  EXPECT_EQ(second.interrupt_and_wait(20s), 0) << slurp(home + "/up2.log");
  EXPECT_FALSE(std::filesystem::exists(data + "/lattice.json"));
  EXPECT_FALSE(testing::port_open(nats_port));
}

// #17.7: the nats-server `up` started dies: `up` says so at warn level naming it and starts it
// again on the same port and store, and its host is back on the lattice; after 3 restarts within
// 10 minutes the next death ends `up` with exit status 1 and nothing left running.
TEST(WasmcloudUp, RestartsItsNatsServerThenGivesUp) {
  const auto home = testing::make_temp_dir("wc-up-natsdies");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const std::string log = home + "/up.log";
  testing::ChildProcess up({kBinary, "up", "--nats-port", std::to_string(nats_port),
                            "--no-registry", "--no-dashboard", "--no-native"},
                           log, user_env(home));
  ASSERT_TRUE(testing::wait_port(nats_port, 15s)) << slurp(log);
  lattice::ConnectOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(nats_port)};
  o.retry_initial_connect = true;
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc) << nc.error().message;
  const std::string host_id = find_host(**nc, {}, 15s);
  ASSERT_FALSE(host_id.empty()) << slurp(log);

  auto nats_child = [&]() -> pid_t {
    auto kids = children_of(up.pid());
    return kids.size() == 1 ? *kids.begin() : 0;
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 1; round <= 3; ++round) {
    const pid_t old = nats_child();
    ASSERT_GT(old, 0) << "round " << round;
    ASSERT_EQ(::kill(old, SIGKILL), 0);
    ASSERT_TRUE(eventually(
        [&] {
          const pid_t now = nats_child();
          return now > 0 && now != old && testing::port_open(nats_port);
        },
        15s))
        << "round " << round << ": nats-server not restarted\n"
        << slurp(log);
    // up has seen it answer (the next kill must not hit it while up waits for its port).
    ASSERT_TRUE(eventually(
        [&] {
          return slurp(log).find("Restarted nats-server on 127.0.0.1:" + std::to_string(nats_port) +
                                 " (pid " + std::to_string(nats_child()) + ")") !=
                 std::string::npos;
        },
        15s))
        << slurp(log);
    EXPECT_NE(slurp(log).find("nats-server (pid " + std::to_string(old) +
                              ") on 127.0.0.1:" + std::to_string(nats_port) +
                              ", started by wasmcloud up, exited (killed by signal 9"),
              std::string::npos)
        << slurp(log);
    if (round == 1) {
      // The host reconnects and answers again.
      EXPECT_EQ(find_host(**nc, {}, 15s), host_id) << slurp(log);
    }
  }
  EXPECT_NE(slurp(log).find("restart 3 of at most 3 within 10 minutes"), std::string::npos);
  const auto restarts = std::chrono::steady_clock::now() - t0;
  std::cout << "3 restarts (with one host reconnect) took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(restarts).count() << " ms\n";

  const pid_t last = nats_child();
  ASSERT_GT(last, 0);
  ASSERT_EQ(::kill(last, SIGKILL), 0);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(wait_exit(up, 30s), 1) << slurp(log);
  std::cout << "up exited "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t1)
                   .count()
            << " ms after the 4th death\n";
  EXPECT_NE(slurp(log).find("giving up after 3 restarts within 10 minutes"), std::string::npos)
      << slurp(log);
  EXPECT_FALSE(testing::port_open(nats_port));
  EXPECT_FALSE(std::filesystem::exists(home + "/data/wasmcloud-cpp/lattice.json"));
  nc->reset();
}

// #17.7: a remote `cmd.{host}.stop` for up's host stops the whole `up` cleanly (registry and
// nats-server too, exit 0), and `up` logs at warn level who asked: the reply subject.
TEST(WasmcloudUp, RemoteStopOfItsHostStopsUpAndSaysWhoAsked) {
  const auto home = testing::make_temp_dir("wc-up-remote-stop");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  const std::string log = home + "/up.log";
  const std::string data = home + "/data/wasmcloud-cpp";
  testing::ChildProcess up(
      {kBinary, "up", "--nats-port", std::to_string(nats_port), "--registry-port",
       std::to_string(reg_port), "--no-dashboard", "--no-native"},
      log, user_env(home));
  ASSERT_TRUE(lattice_json_written(data)) << slurp(log);
  const std::string host_id = recorded_host_id(data);
  ASSERT_FALSE(host_id.empty());
  lattice::ConnectOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(nats_port)};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc) << nc.error().message;
  const std::string inbox = "_INBOX.remote-stopper-17-7";
  std::mutex mu;
  std::string ack;
  auto sub = (*nc)->subscribe(inbox, [&](lattice::Message m) {
    std::lock_guard lock(mu);
    ack = std::string(m.text());
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE((*nc)->publish("wasmbus.ctl.default.cmd." + host_id + ".stop", R"({"timeout":500})",
                             {}, inbox));
  EXPECT_EQ(wait_exit(up, 30s), 0) << slurp(log);
  {
    std::lock_guard lock(mu);
    EXPECT_NE(ack.find("\"accepted\":true"), std::string::npos) << ack;
  }
  const std::string text = slurp(log);
  EXPECT_NE(text.find("Host " + host_id + " was stopped by a control-interface request (cmd." +
                      host_id + ".stop, reply to " + inbox + ", payload '{\"timeout\":500}')"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" warning Host " + host_id + " was stopped"), std::string::npos) << text;
  sub->unsubscribe();
  nc->reset();
  EXPECT_FALSE(testing::port_open(nats_port));
  EXPECT_FALSE(testing::port_open(reg_port));
  EXPECT_FALSE(std::filesystem::exists(data + "/lattice.json"));
}

/// `env VAR=... ` for a shell command line with the environment of user_env(home).
std::string user_env_prefix(const std::string& home) {
  std::string cmd = "env";
  for (const auto& e : user_env(home)) cmd += " " + e;
  return cmd + " ";
}

// #17.9: `wasmcloud down` stops the `up` of the data directory (SIGTERM, waits for it): up exits
// 0, its nats-server and docker-registry are gone; a second `down` says nothing runs, exit 1.
TEST(WasmcloudUp, DownStopsUpAndItsChildren) {
  const auto home = testing::make_temp_dir("wc-up-down");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  const std::string log = home + "/up.log";
  const std::string data = home + "/data/wasmcloud-cpp";
  testing::ChildProcess up(
      {kBinary, "up", "--nats-port", std::to_string(nats_port), "--registry-port",
       std::to_string(reg_port), "--no-dashboard", "--no-native"},
      log, user_env(home));
  ASSERT_TRUE(lattice_json_written(data)) << slurp(log);
  std::set<pid_t> children;
  ASSERT_TRUE(eventually(
      [&] {
        children = children_of(up.pid());
        return children.size() >= 2;
      },
      10s))
      << "expected nats-server and docker-registry; " << slurp(log);

  auto [out, rc] = run(user_env_prefix(home) + kBinary + " down 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Stopped wasmcloud up (pid " + std::to_string(up.pid()) + ")"),
            std::string::npos)
      << out;
  // `down` returned once up exited: nothing of it is left running.
  EXPECT_FALSE(process_alive(up.pid())) << slurp(log);
  for (pid_t c : children) EXPECT_FALSE(process_alive(c)) << "child " << c << " outlived down";
  EXPECT_FALSE(testing::port_open(nats_port));
  EXPECT_FALSE(testing::port_open(reg_port));
  EXPECT_EQ(wait_exit(up, 5s), 0) << slurp(log);
  EXPECT_FALSE(std::filesystem::exists(data + "/lattice.json"));

  auto [again, rc2] = run(user_env_prefix(home) + kBinary + " down --data-dir " + data + " 2>&1");
  EXPECT_EQ(rc2, 1) << again;
  EXPECT_NE(again.find("wasmcloud up is not running (data directory " + data + ")"),
            std::string::npos)
      << again;
  auto [jout, jrc] = run(user_env_prefix(home) + kBinary + " down -o json 2>&1");
  EXPECT_EQ(jrc, 1);
  EXPECT_NE(jout.find("\"success\":false"), std::string::npos) << jout;
}

// #17.9: `wasmcloud ctl` (and its short forms) without NATS or lattice flags uses the lattice of
// the running `up` (its lattice.json), as `wasmcloud host` does; --no-context ignores it.
TEST(WasmcloudUp, CtlUsesUpsLatticeWhenNoFlagSaysOtherwise) {
  const auto home = testing::make_temp_dir("wc-up-ctlctx");
  TempDirGuard guard{home};
  const int nats_port = testing::free_port();
  const std::string log = home + "/up.log";
  const std::string data = home + "/data/wasmcloud-cpp";
  testing::ChildProcess up(
      {kBinary, "up", "--nats-port", std::to_string(nats_port), "--lattice-prefix", "ctx179",
       "--no-registry", "--no-dashboard", "--no-native"},
      log, user_env(home));
  ASSERT_TRUE(lattice_json_written(data)) << slurp(log);
  const std::string host_id = recorded_host_id(data);
  ASSERT_FALSE(host_id.empty());
  std::string env =
      "env -u WASMCLOUD_CTL_HOST -u WASMCLOUD_CTL_PORT -u WASMCLOUD_LATTICE_PREFIX "
      "-u WASMCLOUD_CTL_TOPIC_PREFIX";
  for (const auto& e : user_env(home)) env += " " + e;
  env += " ";
  for (const std::string cmd : {" ctl get hosts", " get hosts", " ctl -o json get hosts"}) {
    auto [out, rc] = run(env + kBinary + cmd + " 2>&1");
    EXPECT_EQ(rc, 0) << cmd << ": " << out;
    EXPECT_NE(out.find(host_id), std::string::npos) << cmd << ": " << out;
  }
  // The lattice prefix comes from up too unless given: another prefix finds no host there.
  auto [other, orc] = run(env + kBinary + " ctl -x elsewhere -o json get hosts 2>&1");
  EXPECT_EQ(other.find(host_id), std::string::npos) << other;
  // --no-context: the default NATS server (127.0.0.1:4222), not up's.
  auto [nocx, nrc] = run(env + kBinary + " ctl --no-context -o json get hosts 2>&1");
  EXPECT_EQ(nocx.find(host_id), std::string::npos) << nocx;
  EXPECT_EQ(up.interrupt_and_wait(20s), 0) << slurp(log);
}

TEST(WasmcloudCli, CtlFailsClearlyWithoutNats) {
  auto [out, rc] =
      run(kBinary + " ctl -p " + std::to_string(testing::free_port()) + " get hosts 2>&1");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("Failed to connect to NATS"), std::string::npos) << out;
}

TEST(WasmcloudCli, CallNeedsClusterSeed) {
  auto [out, rc] =
      run("env -u WASMCLOUD_CLUSTER_SEED HOME=/nonexistent XDG_DATA_HOME=/nonexistent " + kBinary +
          " call " + kEcho + " Op.Name '{}' 2>&1");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("cluster seed"), std::string::npos) << out;
}

}  // namespace
}  // namespace wc
