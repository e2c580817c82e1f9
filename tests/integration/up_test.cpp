// `wasmcloud up` as a user runs it: HOME and XDG_DATA_HOME in a temp dir, non-default NATS and
// registry ports, then the operator CLI (`ctl`, `call`) against it, then Ctrl-C.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <array>
#include <cstdio>
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
