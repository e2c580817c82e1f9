// Bad settings are refused with one clear error and exit 1, never replaced by something else
// behind the user's back (issue #17.8): WASMCLOUD_CTL_PORT=abc (was: warned twice, then
// nats://127.0.0.1:0), a `call` to a string that is no actor key (was: sent), and a version
// that names both this program's and the host protocol's version.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

using testing::count_lines;
using testing::run_cli;
using testing::ScratchDir;

/// Occurrences of `needle` in `text`.
int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

constexpr const char* kClusterSeed = "SCAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2CRY";

TEST(CliEnvErrors, CtlRefusesANonNumericCtlPortOnce) {
  ScratchDir home;
  auto r = run_cli({"ctl", "get", "hosts"}, home, "WASMCLOUD_CTL_PORT=abc");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(occurrences(r.err, "WASMCLOUD_CTL_PORT='abc' is not a valid port"), 1) << r.err;
  EXPECT_EQ(r.err.find(":0"), std::string::npos) << r.err;
  // JSON too.
  auto j = run_cli({"ctl", "-o", "json", "get", "hosts"}, home, "WASMCLOUD_CTL_PORT=abc");
  EXPECT_EQ(j.exit_code, 1);
  auto parsed = nlohmann::json::parse(j.err, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << j.err;
  EXPECT_EQ(parsed["error"], "WASMCLOUD_CTL_PORT='abc' is not a valid port (1-65535)");
}

TEST(CliEnvErrors, CtlPortFlagReplacesTheBadVariable) {
  ScratchDir home;
  // Port 1 on loopback: nothing listens, so the connection fails -- but on the flag's port.
  auto r = run_cli({"ctl", "--ctl-port", "1", "get", "hosts"}, home, "WASMCLOUD_CTL_PORT=abc");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.find("WASMCLOUD_CTL_PORT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
}

TEST(CliEnvErrors, OtherSubcommandsIgnoreIt) {
  ScratchDir home;
  auto r = run_cli({"keys", "gen", "module"}, home, "WASMCLOUD_CTL_PORT=abc");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(CliEnvErrors, HostRefusesANonNumericCtlPortOnce) {
  ScratchDir home;
  // `timeout`: the old code started a host on the default port and ran until killed.
  auto r = run_cli({"host", "--no-native"}, home, "WASMCLOUD_CTL_PORT=abc timeout 20");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(occurrences(r.err + r.out, "WASMCLOUD_CTL_PORT='abc' is not an integer"), 1)
      << r.err << r.out;
}

TEST(CliEnvErrors, CallRefusesANonNumericRpcPort) {
  ScratchDir home;
  auto r = run_cli({"call", "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", "Op", "{}",
                    "--cluster-seed", kClusterSeed},
                   home, "WASMCLOUD_RPC_PORT=abc");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("WASMCLOUD_RPC_PORT='abc' is not a valid port"), std::string::npos) << r.err;
}

TEST(CliEnvErrors, CallChecksTheActorKey) {
  ScratchDir home;
  // A server key where an actor key belongs, and a typo; the NATS port is closed, so an
  // unchecked key would fail later with a connection error instead.
  auto r = run_cli({"call", "NBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", "Op", "{}",
                    "--cluster-seed", kClusterSeed, "-p", "1"},
                   home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("actor id"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("connect"), std::string::npos) << r.err;
  auto typo =
      run_cli({"call", "echo", "Op", "{}", "--cluster-seed", kClusterSeed, "-p", "1"}, home);
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.err.find("invalid actor id 'echo'"), std::string::npos) << typo.err;
}

TEST(CliEnvErrors, CallTakesAClusterSeedFile) {
  // As `up` keeps it (cluster.nk, newline at the end); found by a fresh-user trial (#17).
  ScratchDir home;
  const std::string file = home / "cluster.nk";
  std::ofstream(file) << wascap::KeyPair::generate(wascap::KeyType::kCluster).seed() << "\n";
  auto r = run_cli({"call", "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", "Op", "{}",
                    "-c", file, "-p", "1"},
                   home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.find("cluster seed"), std::string::npos) << r.err;  // the seed was accepted
  EXPECT_NE(r.err.find("connect"), std::string::npos) << r.err;       // and NATS was tried
  const std::string junk = home / "junk.nk";
  std::ofstream(junk) << "not a seed\n";
  auto bad = run_cli({"call", "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", "Op",
                      "{}", "-c", junk, "-p", "1"},
                     home);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("Invalid cluster seed"), std::string::npos) << bad.err;
}

TEST(CliEnvErrors, VersionNamesBothVersions) {
  ScratchDir home;
  auto r = run_cli({"--version"}, home);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("wasmcloud-cpp 0.1.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.63.2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wc::cli
