// `wasmcloud drain native|oci|all` (#17.9): empties the host's cache directories (their defaults
// follow $TMPDIR and $XDG_CACHE_HOME, pointed here at scratch directories) and says what it
// removed; the directories stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace wc::cli {
namespace {

using testing::run_cli;
using testing::ScratchDir;
using testing::shell_quote;
namespace fs = std::filesystem;

void write(const std::string& path, std::size_t bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << std::string(bytes, 'x');
}

TEST(DrainCli, EmptiesTheDefaultCachesAndSaysWhatWasRemoved) {
  ScratchDir home, tmp, xdg;
  const std::string env =
      "TMPDIR=" + shell_quote(tmp.path()) + " XDG_CACHE_HOME=" + shell_quote(xdg.path());
  const std::string oci = tmp / "wasmcloud_ocicache";
  const std::string native = xdg / "wasmcloud-cpp/native";
  write(oci + "/a.bin", 1000);
  write(oci + "/a.digest", 71);
  write(native + "/k1.so", 2048);
  write(native + "/sub/k2.c", 10);

  auto r = run_cli({"drain", "oci"}, home, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Removed 2 file(s), 1.0 KiB, from the OCI cache " + oci + "\n");
  EXPECT_TRUE(fs::is_directory(oci));
  EXPECT_TRUE(fs::is_empty(oci));
  EXPECT_TRUE(fs::exists(native + "/k1.so")) << "drain oci left the native cache alone";

  write(oci + "/b.bin", 5);
  auto all = run_cli({"drain", "all", "-o", "json"}, home, env);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto j = nlohmann::json::parse(all.out, nullptr, false);
  EXPECT_EQ(j["success"], true) << all.out;
  ASSERT_EQ(j["drained"].size(), 2u) << all.out;
  EXPECT_EQ(j["drained"][0]["cache"], "oci");
  EXPECT_EQ(j["drained"][0]["files"], 1);
  EXPECT_EQ(j["drained"][1]["cache"], "native");
  EXPECT_EQ(j["drained"][1]["path"], native);
  EXPECT_EQ(j["drained"][1]["files"], 2);
  EXPECT_EQ(j["drained"][1]["bytes"], 2058);
  EXPECT_TRUE(fs::is_empty(native));

  auto again = run_cli({"drain", "native"}, home, env);
  EXPECT_EQ(again.out, "Removed 0 file(s), 0 bytes, from the native-code cache " + native + "\n");
}

TEST(DrainCli, NamedDirectoriesMissingDirectoriesAndRefusals) {
  ScratchDir home, dir;
  write(dir / "cache/x.bin", 3);
  auto named = run_cli({"drain", "oci", "--oci-cache-dir", dir / "cache"}, home);
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(named.out, "Removed 1 file(s), 3 bytes, from the OCI cache " + (dir / "cache") + "\n");
  auto missing = run_cli({"drain", "native", "--native-cache-dir", dir / "nothing"}, home);
  EXPECT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_EQ(missing.out, "Nothing to remove from the native-code cache: " + (dir / "nothing") +
                             " does not exist\n");
  write(home / "keep.txt", 1);
  auto refused = run_cli({"drain", "oci", "--oci-cache-dir", home.path().string() + "/"}, home);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("Refusing to drain"), std::string::npos) << refused.err;
  EXPECT_TRUE(fs::exists(home / "keep.txt"));
  // Nothing is removed when one of the directories is refused.
  write(dir / "cache/y.bin", 3);
  auto root = run_cli(
      {"drain", "all", "--oci-cache-dir", dir / "cache", "--native-cache-dir", "/", "-o", "json"},
      home);
  EXPECT_EQ(root.exit_code, 1);
  EXPECT_NE(root.err.find("\"success\":false"), std::string::npos) << root.err;
  EXPECT_TRUE(fs::exists(dir / "cache/y.bin"));
  auto bad = run_cli({"drain", "everything"}, home);
  EXPECT_EQ(bad.exit_code, 1);
}

}  // namespace
}  // namespace wc::cli
