// `wasmcloud up` as a user runs it: HOME and XDG_DATA_HOME in a temp dir, non-default NATS and
// registry ports, then the operator CLI (`ctl`, `call`) against it, then Ctrl-C.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

TEST(WasmcloudUp, StartsNatsRegistryAndHostThenStopsOnCtrlC) {
  const auto home = testing::make_temp_dir("wc-up-home");
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  const int dash_port = testing::free_port();
  // No cluster seed configured: up makes the local lattice's seed, and `call` below finds it
  // through the same data directory.
  const std::string env =
      "env -u WASMCLOUD_CLUSTER_SEED HOME=" + home + " XDG_DATA_HOME=" + home + "/data ";
  testing::ChildProcess up({"env", "-u", "WASMCLOUD_CLUSTER_SEED", kBinary, "up", "--nats-port",
                            std::to_string(nats_port), "--registry-port", std::to_string(reg_port),
                            "--dashboard-port", std::to_string(dash_port), "--no-native"},
                           home + "/up.log", {"HOME=" + home, "XDG_DATA_HOME=" + home + "/data"});
  ASSERT_TRUE(testing::wait_port(nats_port, 15s)) << "see " << home << "/up.log";
  ASSERT_TRUE(testing::wait_port(reg_port, 15s)) << "see " << home << "/up.log";
  EXPECT_TRUE(is_dir(home + "/data/wasmcloud-cpp/nats"));
  EXPECT_TRUE(is_dir(home + "/data/wasmcloud-cpp/registry/storage"));

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

  nc->reset();
  // Ctrl-C: exit 0, and the children are gone (their ports closed).
  EXPECT_EQ(up.interrupt_and_wait(20s), 0) << "see " << home << "/up.log";
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
  return run("env -u WASMCLOUD_CLUSTER_SEED -u WASMCLOUD_DASHBOARD_PORT HOME=" + home +
             " XDG_DATA_HOME=" + home + "/data timeout 60 " + kBinary + " up --no-native " + args +
             " 2>&1");
}

// kill -9 of `up` leaves no orphans: nats-server and the registry get SIGTERM from the kernel
// (PR_SET_PDEATHSIG) and exit.
TEST(WasmcloudUp, KillNineTakesItsChildrenAlong) {
  const auto home = testing::make_temp_dir("wc-up-kill");
  const int nats_port = testing::free_port();
  const int reg_port = testing::free_port();
  testing::ChildProcess up(
      {kBinary, "up", "--nats-port", std::to_string(nats_port), "--registry-port",
       std::to_string(reg_port), "--no-dashboard", "--no-native"},
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
}

// A port held by another program: the message names the service and the port, and nothing that
// up would have started is left running (it checks every port before starting anything).
TEST(WasmcloudUp, PortsInUseAreReportedAndNothingIsLeftRunning) {
  const auto home = testing::make_temp_dir("wc-up-busy");
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
