// The built `wasmcloud reg push|pull` binary against a real docker-registry
// (claims-oci-par.md 4.11): output lines, exit codes, written files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "oci/errors.h"
#include "support/servers.h"

namespace {

namespace fs = std::filesystem;

constexpr const char* kEchoManifestDigest =
    "sha256:f0c85a649d42e65a1f76e810d541776395799e24e4f34ea2000085d92cdcd978";

struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the wasmcloud binary with `args` (already shell-quoted where needed).
CliRun wasmcloud(const std::string& args, const std::string& dir) {
  const std::string err_path = dir + "/stderr.txt";
  const std::string cmd =
      std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud " + args + " 2>" + err_path;
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

class RegCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = wc::testing::make_temp_dir("wc-reg-cli"); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string echo() const { return std::string(WC_FIXTURES_DIR) + "/echo.wasm"; }
  std::string dir_;
};

TEST_F(RegCli, PushThenPull) {
  wc::testing::RegistryServer reg;
  const std::string ref = reg.host() + "/echo:0.3.4";
  CliRun push = wasmcloud("reg push " + ref + " " + echo() + " --insecure", dir_);
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.out.find("Successfully validated and pushed to " + ref), std::string::npos)
      << push.out;
  EXPECT_NE(push.out.find(kEchoManifestDigest), std::string::npos) << push.out;

  const std::string file = dir_ + "/pulled.wasm";
  CliRun pull = wasmcloud("reg pull " + ref + " --destination " + file + " --insecure", dir_);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("Successfully pulled and validated " + file), std::string::npos);
  EXPECT_NE(pull.out.find(kEchoManifestDigest), std::string::npos);
  EXPECT_EQ(*wc::read_file(file), *wc::read_file(echo()));

  CliRun json = wasmcloud("reg pull " + ref + " --destination " + file + " --insecure -o json -d " +
                              std::string(kEchoManifestDigest).substr(7),
                          dir_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["digest"], kEchoManifestDigest);
  EXPECT_EQ(j["file"], file);
}

TEST_F(RegCli, SchemePrefixedReferencesArePushedAndPulled) {
  // As the host accepts them (#12.10): oci:// and https:// are stripped, http:// means plain HTTP.
  wc::testing::RegistryServer reg;
  CliRun push =
      wasmcloud("reg push oci://" + reg.host() + "/echo:0.3.4 " + echo() + " --insecure", dir_);
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.out.find("pushed to " + reg.host() + "/echo:0.3.4"), std::string::npos)
      << push.out;
  const std::string file = dir_ + "/scheme.wasm";
  CliRun pull =
      wasmcloud("reg pull http://" + reg.host() + "/echo:0.3.4 --destination " + file, dir_);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(*wc::read_file(file), *wc::read_file(echo()));
  CliRun https = wasmcloud(
      "reg pull https://" + reg.host() + "/echo:0.3.4 --destination " + file + " --insecure", dir_);
  EXPECT_EQ(https.exit_code, 0) << https.err;
}

TEST_F(RegCli, PullWrongDigestFails) {
  wc::testing::RegistryServer reg;
  const std::string ref = reg.host() + "/echo:0.3.4";
  ASSERT_EQ(wasmcloud("reg push " + ref + " " + echo() + " --insecure", dir_).exit_code, 0);
  CliRun r = wasmcloud("reg pull " + ref + " --destination " + dir_ +
                           "/x.wasm --insecure -d sha256:" + std::string(64, '0'),
                       dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(wc::oci::errors::kDigestDidNotMatch), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/x.wasm"));
}

TEST_F(RegCli, PullMissingTagIsNotFound) {
  wc::testing::RegistryServer reg;
  CliRun r = wasmcloud(
      "reg pull " + reg.host() + "/echo:9.9.9 --destination " + dir_ + "/x.wasm --insecure", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("manifest unknown"), std::string::npos) << r.err;
}

TEST_F(RegCli, LatestAndMissingTagRefused) {
  CliRun latest = wasmcloud("reg pull 127.0.0.1:1/echo:latest --insecure", dir_);
  EXPECT_EQ(latest.exit_code, 1);
  EXPECT_NE(latest.err.find(wc::oci::errors::kPullLatestProhibited), std::string::npos);
  CliRun untagged = wasmcloud("reg pull 127.0.0.1:1/echo --insecure", dir_);
  EXPECT_EQ(untagged.exit_code, 1);
  EXPECT_NE(untagged.err.find(wc::oci::errors::kPullMissingTag), std::string::npos);
  CliRun push = wasmcloud("reg push 127.0.0.1:1/echo:latest " + echo() + " --insecure", dir_);
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_NE(push.err.find(wc::oci::errors::kPushLatestProhibited), std::string::npos);
}

TEST_F(RegCli, PushUnsupportedArtifact) {
  const std::string junk = dir_ + "/junk.txt";
  std::ofstream(junk) << "not an artifact";
  CliRun r = wasmcloud("reg push 127.0.0.1:1/echo:1 " + junk + " --insecure", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(wc::oci::errors::kUnsupportedArtifact), std::string::npos) << r.err;
}

TEST_F(RegCli, PushWithoutInsecureToPlainRegistryFails) {
  wc::testing::RegistryServer reg;
  CliRun r = wasmcloud("reg push " + reg.host() + "/echo:0.3.4 " + echo() + " -o json", dir_);
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.err);
  EXPECT_EQ(j["success"], false);
  EXPECT_NE(j["error"].get<std::string>().find("https://" + reg.host()), std::string::npos);
}

TEST_F(RegCli, BadAnnotation) {
  CliRun r = wasmcloud("reg push 127.0.0.1:1/echo:1 " + echo() + " --insecure -a novalue", dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(wc::oci::errors::kBadAnnotation), std::string::npos) << r.err;
}

}  // namespace
