// A directory where a file is expected: every subcommand that reads or writes a file says
// "<path> is a directory" (from common/encoding.h read_file / write_file) instead of "no such
// file", with exit code 1 and one stderr line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.h"

namespace wc::cli {
namespace {

using testing::count_lines;
using testing::run_cli;
using testing::ScratchDir;

/// A directory named `name` inside `home`.
std::string make_dir(const ScratchDir& home, const std::string& name) {
  std::filesystem::create_directories(home / name);
  return home / name;
}

void expect_is_directory(const testing::RunResult& r, const std::string& dir) {
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(dir + " is a directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("no such file"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
}

TEST(CliInputErrors, ClaimsInspectDirectory) {
  ScratchDir home;
  const std::string dir = make_dir(home, "actors");
  expect_is_directory(run_cli({"claims", "inspect", dir}, home), dir);
}

TEST(CliInputErrors, ClaimsInspectMissingFileStillSaysNoSuchFile) {
  ScratchDir home;
  auto r = run_cli({"claims", "inspect", home / "missing.wasm"}, home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no such file: " + (home / "missing.wasm")), std::string::npos) << r.err;
}

TEST(CliInputErrors, ClaimsSignDirectory) {
  ScratchDir home;
  const std::string dir = make_dir(home, "module");
  expect_is_directory(run_cli({"claims", "sign", dir, "--name", "x"}, home), dir);
}

TEST(CliInputErrors, RegPushDirectory) {
  ScratchDir home;
  const std::string dir = make_dir(home, "artifact");
  expect_is_directory(run_cli({"reg", "push", "127.0.0.1:1/echo:0.1.0", dir, "--insecure"}, home),
                      dir);
}

TEST(CliInputErrors, ParCreateBinaryDirectory) {
  ScratchDir home;
  const std::string dir = make_dir(home, "bin");
  expect_is_directory(
      run_cli({"par", "create", "--capid", "wasmcloud:httpserver", "--vendor", "a", "--name", "n",
               "--arch", "x86_64-linux", "--binary", dir, "--destination", home / "out.par"},
              home),
      dir);
}

TEST(CliInputErrors, ParCreateDestinationDirectory) {
  ScratchDir home;
  const std::string bin = home / "provider.bin";
  std::ofstream(bin) << "#!/bin/sh\n";
  const std::string dir = make_dir(home, "out");
  expect_is_directory(
      run_cli({"par", "create", "--capid", "wasmcloud:httpserver", "--vendor", "a", "--name", "n",
               "--arch", "x86_64-linux", "--binary", bin, "--destination", dir},
              home),
      dir);
}

TEST(CliInputErrors, ParInspectDirectory) {
  ScratchDir home;
  const std::string dir = make_dir(home, "archive");
  expect_is_directory(run_cli({"par", "inspect", dir}, home), dir);
}

}  // namespace
}  // namespace wc::cli
