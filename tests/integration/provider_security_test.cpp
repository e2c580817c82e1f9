// Provider archives that must not start, and the claims a started provider leaves behind, through
// a real `wasmcloud host` process and a real nats-server (tests/support/servers.h):
// - issue #11.1: an archive whose claims subject is a path ("V/../../..") is refused with
//   provider_start_failed; nothing is written outside the executable cache and nothing runs;
// - issue #12.2: `get.claims` lists the started httpserver provider with its name, issuer,
//   version and contract id (build/providers/httpserver.par.gz);
// - issue #12.6 (host level): one `lp` gives exactly one provider process.
// The tests share one host and run in declaration order (one ctest entry).
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "lattice/nats.h"
#include "par/errors.h"
#include "par/par.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Live (non-zombie) processes whose command line mentions `needle` (an executable path).
int count_processes(const std::string& needle) {
  int n = 0;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    if (cmd.find(needle) != std::string::npos) ++n;
  }
  ::closedir(d);
  return n;
}

class ProviderSecurity : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<testing::EventLog> events;
  static inline lattice::Subscription events_sub;
  static inline std::string host_id, dir;

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-prov-sec");
    fs::create_directories(dir + "/tmp");
    nats = std::make_unique<testing::NatsServer>();
    const auto host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    const auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    host_id = host_key.public_key();
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allow-file-load",
                                 "--no-native", "--log-level", "debug"},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key.seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster.seed(),
                                 "TMPDIR=" + dir + "/tmp"});
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    events = std::make_unique<testing::EventLog>();
    auto sub = testing::record_events(*nc, *events);
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    ASSERT_TRUE(testing::wait_host_answers(*nc, host_id)) << "host did not answer; log in " << dir;
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    if (host_proc) host_proc->stop(15);
    host_proc.reset();
    nc.reset();
    nats.reset();
    // The work directory (host log, archives) stays only for diagnosing a failure.
    if (::testing::UnitTest::GetInstance()->failed_test_count() == 0) fs::remove_all(dir);
  }

  /// Writes <dir>/<name>.par.gz: a provider archive whose one native binary is `script`, with
  /// claims subject `sub` (whatever it is) signed by a fresh account key. Returns its file://
  /// reference, "" when it could not be written.
  static std::string write_script_archive(const std::string& name, const std::string& sub,
                                          const std::string& script) {
    const Bytes binary(script.begin(), script.end());
    const auto issuer = wascap::KeyPair::generate(wascap::KeyType::kAccount);
    wascap::ProviderClaims c;
    c.jti = wascap::new_jti();
    c.iat = static_cast<std::uint64_t>(wascap::now_seconds());
    c.iss = issuer.public_key();
    c.sub = sub;
    c.wascap_revision = 3;
    c.name = name;
    c.capid = "wasmcloud:testing";
    c.vendor = "evil";
    c.rev = 1;
    c.target_hashes[par::native_target()] = hex_upper(sha256(binary));
    auto archive = par::write_archive(wascap::sign_provider_claims(c, issuer),
                                      {{par::native_target(), binary}}, true);
    const std::string path = dir + "/" + name + ".par.gz";
    if (!archive || !write_file(path, *archive)) return "";
    return "file://" + path;
  }

  static json cmd(const std::string& op, const json& body) {
    return testing::host_cmd(*nc, host_id, op, body.dump());
  }
};

TEST_F(ProviderSecurity, PathInClaimsSubjectIsRefusedAndNothingRuns) {
  // The host's cache root is <dir>/tmp/wasmcloudcache; this subject climbs three levels out of
  // it to <dir>/outside/evil.
  const std::string ran = dir + "/ran";
  const std::string script = "#!/bin/sh\ntouch " + ran + "\nexec sleep 30\n";
  const std::string ref = write_script_archive("evil", "V/../../../outside/evil", script);
  ASSERT_FALSE(ref.empty());

  const auto mark = events->mark();
  auto ack = cmd("lp", {{"provider_ref", ref}, {"link_name", "default"}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  auto failed = events->wait(
      mark, "provider_start_failed", [&](const json& d) { return d["provider_ref"] == ref; }, 20s);
  ASSERT_TRUE(failed) << "no provider_start_failed; log in " << dir;
  EXPECT_NE(failed->at("data")["error"].get<std::string>().find(par::errors::kSubjectNotService),
            std::string::npos)
      << failed->dump();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(events->count(mark, "provider_started"), 0u);
  EXPECT_FALSE(fs::exists(dir + "/outside")) << "written outside the executable cache";
  EXPECT_FALSE(fs::exists(ran)) << "the archive's binary ran";
  EXPECT_EQ(count_processes(dir + "/outside"), 0);
  const json inv = testing::host_inventory(*nc, host_id);
  EXPECT_TRUE(inv["providers"].empty()) << inv.dump();
}

TEST_F(ProviderSecurity, ProviderSubjectOfTheWrongKeyTypeIsRefused) {
  // A correctly formed key of the wrong type (a Module key) as the provider's subject.
  const std::string script = "#!/bin/sh\nexec sleep 30\n";
  const std::string sub = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  const std::string ref = write_script_archive("module-key", sub, script);
  ASSERT_FALSE(ref.empty());
  const auto mark = events->mark();
  ASSERT_EQ(cmd("lp", {{"provider_ref", ref}, {"link_name", "default"}})["accepted"], true);
  auto failed = events->wait(
      mark, "provider_start_failed", [&](const json& d) { return d["provider_ref"] == ref; }, 20s);
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->at("data")["error"].get<std::string>().find(par::errors::kSubjectNotService),
            std::string::npos)
      << failed->dump();
  EXPECT_FALSE(fs::exists(dir + "/tmp/wasmcloudcache/" + sub));
}

TEST_F(ProviderSecurity, GetClaimsListsTheStartedProvidersClaims) {
  const std::string par_path = std::string(WC_BINARY_DIR) + "/providers/httpserver.par.gz";
  auto archive = par::load_archive_file(par_path);
  ASSERT_TRUE(archive) << archive.error().message;
  const auto& want = archive->claims;
  ASSERT_TRUE(want.name.has_value());
  const std::string ref = "file://" + par_path;
  const auto mark = events->mark();
  ASSERT_EQ(cmd("lp", {{"provider_ref", ref}, {"link_name", "default"}})["accepted"], true);
  auto started = events->wait(
      mark, "provider_started", [&](const json& d) { return d["public_key"] == want.sub; }, 20s);
  ASSERT_TRUE(started) << "no provider_started; log in " << dir;

  const json reply = testing::ctl_request(*nc, "wasmbus.ctl.default.get.claims", "", 5s);
  ASSERT_TRUE(reply.contains("claims")) << reply.dump();
  const json* entry = nullptr;
  for (const auto& e : reply["claims"])
    if (e.value("sub", "") == want.sub) entry = &e;
  ASSERT_NE(entry, nullptr) << reply.dump();
  EXPECT_EQ((*entry)["iss"], want.iss);
  EXPECT_EQ((*entry)["name"], *want.name);
  EXPECT_EQ((*entry)["version"], want.ver.value_or(""));
  EXPECT_EQ((*entry)["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ((*entry)["contract_id"], want.capid);
  EXPECT_EQ((*entry)["rev"], std::to_string(par::effective_revision(want)));
  EXPECT_FALSE((*entry)["iss"].get<std::string>().empty());
  EXPECT_FALSE((*entry)["version"].get<std::string>().empty());

  // One lp, one process (issue #12.6), even after the monitor has looked at it many times.
  const std::string exe = par::cache_path(want, "default", dir + "/tmp");
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(count_processes(exe), 1) << exe;
  const auto stop_mark = events->mark();
  ASSERT_EQ(cmd("sp", {{"provider_ref", want.sub}, {"link_name", "default"}})["accepted"], true);
  ASSERT_TRUE(events->wait(
      stop_mark, "provider_stopped", [&](const json& d) { return d["public_key"] == want.sub; },
      20s));
  auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until && count_processes(exe) != 0)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(count_processes(exe), 0);
}

}  // namespace
}  // namespace wc
