// The output rule of every subcommand (src/cli/output.h, issue #17.2): `-o/--output text|json`,
// JSON results on stdout, failures on stderr (JSON with `-o json`) with exit code 1 -- usage
// errors included -- and output files named with `-d/--destination` (never `-o`).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "common/encoding.h"

namespace wc::cli {
namespace {

using testing::count_lines;
using testing::run_cli;
using testing::ScratchDir;
namespace fs = std::filesystem;

Bytes tiny_module() {
  return {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00};
}

/// Exit 1, nothing on stdout, exactly one stderr line: {"success":false,"error":...}; returns
/// the error text.
std::string expect_json_failure(const testing::RunResult& r) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  auto j = nlohmann::json::parse(r.err, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.err;
  if (!j.is_object()) return "";
  EXPECT_EQ(j["success"], false);
  EXPECT_TRUE(j["error"].is_string()) << r.err;
  return j.value("error", "");
}

TEST(CliOutputRule, ClaimsSignDashOJsonPrintsJsonAndWritesNoFileNamedJson) {
  ScratchDir home;
  ASSERT_TRUE(write_file(home / "tiny.wasm", tiny_module()));
  auto r = run_cli({"claims", "sign", home / "tiny.wasm", "-n", "tiny", "--keys-dir", home / "keys",
                    "-o", "json"},
                   home, "", home.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["destination"], home / "tiny_s.wasm");
  EXPECT_TRUE(fs::exists(home / "tiny_s.wasm"));
  EXPECT_FALSE(fs::exists(home / "json"));
}

TEST(CliOutputRule, ClaimsSignDestinationIsDashD) {
  ScratchDir home;
  ASSERT_TRUE(write_file(home / "tiny.wasm", tiny_module()));
  auto r = run_cli({"claims", "sign", home / "tiny.wasm", "-n", "tiny", "--keys-dir", home / "keys",
                    "-d", home / "signed.wasm"},
                   home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(home / "signed.wasm"));
  // `-o FILE` is an output format now: refused as a usage error, nothing written.
  auto old = run_cli({"claims", "sign", home / "tiny.wasm", "-n", "tiny", "--keys-dir",
                      home / "keys", "-o", home / "other.wasm"},
                     home);
  EXPECT_EQ(old.exit_code, 1);
  EXPECT_NE(old.err.find("--output"), std::string::npos) << old.err;
  EXPECT_FALSE(fs::exists(home / "other.wasm"));
}

TEST(CliOutputRule, ParCreateDashOJsonAndDashD) {
  ScratchDir home;
  ASSERT_TRUE(write_file(home / "prov.bin", as_bytes("#!/bin/sh\n")));
  auto r = run_cli({"par", "create", "--capid", "wasmcloud:httpserver", "--vendor", "a", "--name",
                    "n", "--arch", "x86_64-linux", "--binary", home / "prov.bin", "--keys-dir",
                    home / "keys", "-d", home / "p.par", "-o", "json"},
                   home, "", home.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["file"], home / "p.par");
  EXPECT_TRUE(fs::exists(home / "p.par"));
  EXPECT_FALSE(fs::exists(home / "json"));
}

TEST(CliOutputRule, RegPullDashOJsonFailureIsJsonOnStderr) {
  ScratchDir home;
  auto r = run_cli({"reg", "pull", "127.0.0.1:1/echo:0.1.0", "--insecure", "-o", "json"}, home, "",
                   home.path().string());
  expect_json_failure(r);
  EXPECT_FALSE(fs::exists(home / "json"));
}

TEST(CliOutputRule, UsageErrorsExitOneAndAreJsonWithDashOJson) {
  ScratchDir home;
  EXPECT_NE(expect_json_failure(run_cli({"keys", "gen", "nonsense", "-o", "json"}, home))
                .find("nonsense"),
            std::string::npos);
  EXPECT_NE(expect_json_failure(run_cli({"ctl", "-o", "json", "get", "hosts", "--bogus"}, home))
                .find("--bogus"),
            std::string::npos);
  EXPECT_NE(expect_json_failure(run_cli({"claims", "sign", "-o", "json"}, home)).find("file"),
            std::string::npos);
}

TEST(CliOutputRule, UsageErrorsExitOneWithOneClearTextError) {
  ScratchDir home;
  auto r = run_cli({"ctl", "get", "hosts", "--bogus"}, home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.starts_with("Error: ")) << r.err;
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
  auto missing = run_cli({"claims", "sign"}, home);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(missing.err.starts_with("Error: ")) << missing.err;
}

TEST(CliOutputRule, MissingSubcommandNamesTheCommandAndItsChoices) {
  ScratchDir home;
  auto r = run_cli({"ctl", "update"}, home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("`wasmcloud ctl update` needs a subcommand: actor"), std::string::npos)
      << r.err;
  auto top = run_cli({"ctl"}, home);
  EXPECT_EQ(top.exit_code, 1);
  EXPECT_NE(top.err.find("`wasmcloud ctl` needs a subcommand: get, start, scale, stop, update, "
                         "link"),
            std::string::npos)
      << top.err;
  // `ctl update actor` exists and asks for its arguments.
  auto args = run_cli({"ctl", "update", "actor"}, home);
  EXPECT_EQ(args.exit_code, 1);
  EXPECT_NE(args.err.find("host_id"), std::string::npos) << args.err;
}

TEST(CliOutputRule, HelpAndVersionExitZero) {
  ScratchDir home;
  EXPECT_EQ(run_cli({"--help"}, home).exit_code, 0);
  EXPECT_EQ(run_cli({"ctl", "--help"}, home).exit_code, 0);
  EXPECT_EQ(run_cli({"--version"}, home).exit_code, 0);
}

TEST(CliOutputRule, EverySubcommandTakesDashOOutput) {
  ScratchDir home;
  const std::vector<std::vector<std::string>> commands = {{"keys", "gen"},
                                                          {"claims", "inspect"},
                                                          {"claims", "sign"},
                                                          {"par", "create"},
                                                          {"par", "insert"},
                                                          {"par", "inspect"},
                                                          {"reg", "push"},
                                                          {"reg", "pull"},
                                                          {"call"},
                                                          {"ctl"},
                                                          {"host"},
                                                          {"up"},
                                                          {"dashboard"},
                                                          {"keys", "list"},
                                                          {"keys", "get"},
                                                          {"reg", "ping"},
                                                          {"drain"},
                                                          {"get"},
                                                          {"link"}};
  for (auto cmd : commands) {
    cmd.push_back("--help");
    auto r = run_cli(cmd, home);
    EXPECT_EQ(r.exit_code, 0) << cmd[0];
    EXPECT_NE(r.out.find("-o,--output"), std::string::npos) << cmd[0] << " " << cmd[1] << r.out;
  }
}

}  // namespace
}  // namespace wc::cli
