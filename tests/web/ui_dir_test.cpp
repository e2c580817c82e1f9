// Where the dashboard finds its UI files (web::find_ui_dir, issue #18.1): an explicit directory
// (--ui-dir / WASMCLOUD_DASHBOARD_UI_DIR) wins and never falls back; else
// <exe>/../share/wasmcloud/ui, then the source tree's src/web/ui. The unit tests use temporary
// directories; the process tests run `wasmcloud dashboard` from an installed-style prefix
// (<prefix>/bin/wasmcloud, a hard link to the built binary) against a real nats-server and read
// the page it serves.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "support/servers.h"
#include "web/dashboard.h"

#ifndef WC_CLI_BINARY
#error "WC_CLI_BINARY must name the wasmcloud executable"
#endif

namespace {

namespace fs = std::filesystem;
using wc::Code;
using wc::web::find_ui_dir;

/// Writes `<dir>/index.html` holding `marker`.
void make_ui(const fs::path& dir, const std::string& marker) {
  fs::create_directories(dir);
  std::ofstream(dir / "index.html") << "<html><body>" << marker << "</body></html>\n";
}

class FindUiDir : public ::testing::Test {
 protected:
  void SetUp() override { root_ = wc::testing::make_temp_dir("wc-ui-dir"); }
  void TearDown() override { wc::testing::remove_temp_dir(root_); }
  fs::path root_;
};

TEST_F(FindUiDir, ExplicitDirectoryWinsOverTheInstalledAndBuildTreeOnes) {
  make_ui(root_ / "explicit", "explicit");
  make_ui(root_ / "prefix/share/wasmcloud/ui", "installed");
  make_ui(root_ / "src-ui", "tree");
  auto d = find_ui_dir((root_ / "explicit").string(), (root_ / "prefix/bin/wasmcloud").string(),
                       (root_ / "src-ui").string());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, (root_ / "explicit").string());
}

TEST_F(FindUiDir, ExplicitDirectoryWithoutIndexFailsWithoutFallingBack) {
  fs::create_directories(root_ / "empty");
  make_ui(root_ / "prefix/share/wasmcloud/ui", "installed");
  auto d = find_ui_dir((root_ / "empty").string(), (root_ / "prefix/bin/wasmcloud").string(), "");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Code::kNotFound);
  EXPECT_NE(d.error().message.find((root_ / "empty").string() + "/index.html"), std::string::npos)
      << d.error().message;
}

TEST_F(FindUiDir, InstalledLayoutBesideTheExecutableComesBeforeTheBuildTree) {
  make_ui(root_ / "prefix/share/wasmcloud/ui", "installed");
  make_ui(root_ / "src-ui", "tree");
  auto d = find_ui_dir("", (root_ / "prefix/bin/wasmcloud").string(), (root_ / "src-ui").string());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, (root_ / "prefix/share/wasmcloud/ui").string());
}

TEST_F(FindUiDir, BuildTreeDirectoryWhenNothingIsInstalledBesideTheExecutable) {
  fs::create_directories(root_ / "prefix/share/wasmcloud/ui");  // present, but no index.html
  make_ui(root_ / "src-ui", "tree");
  auto d = find_ui_dir("", (root_ / "prefix/bin/wasmcloud").string(), (root_ / "src-ui").string());
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, (root_ / "src-ui").string());
}

TEST_F(FindUiDir, NoneFoundNamesEveryDirectoryLookedAt) {
  auto d = find_ui_dir("", (root_ / "prefix/bin/wasmcloud").string(), (root_ / "gone").string());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Code::kNotFound);
  EXPECT_NE(d.error().message.find((root_ / "prefix/share/wasmcloud/ui").string()),
            std::string::npos)
      << d.error().message;
  EXPECT_NE(d.error().message.find((root_ / "gone").string()), std::string::npos)
      << d.error().message;
  EXPECT_NE(d.error().message.find("--ui-dir"), std::string::npos) << d.error().message;
}

// ------------------------------------------------------------------------------------------
// `wasmcloud dashboard` run from <prefix>/bin, as an installed binary is.
class InstalledDashboard : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { nats_ = new wc::testing::NatsServer(); }
  static void TearDownTestSuite() {
    delete nats_;
    nats_ = nullptr;
  }
  void SetUp() override {
    // Under the build directory: the hard link needs the binary's file system (a 160 MiB copy
    // otherwise). /proc/self/exe of a hard-linked executable names the link it was run by.
    prefix_ = fs::path(WC_BINARY_DIR) / ("ui_dir_test_" + std::to_string(::getpid()));
    fs::remove_all(prefix_);
    fs::create_directories(prefix_ / "bin");
    std::error_code ec;
    fs::create_hard_link(WC_CLI_BINARY, prefix_ / "bin/wasmcloud", ec);
    if (ec) fs::copy_file(WC_CLI_BINARY, prefix_ / "bin/wasmcloud");
  }
  void TearDown() override {
    proc_.reset();
    std::error_code ec;
    fs::remove_all(prefix_, ec);
  }

  /// Starts the prefix's dashboard with `env` (K=V) and `args`; false when it did not listen
  /// within `wait`.
  bool start(const std::vector<std::string>& env, const std::vector<std::string>& args = {},
             std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    port_ = wc::testing::free_port();
    std::vector<std::string> argv{(prefix_ / "bin/wasmcloud").string(),
                                  "dashboard",
                                  "--port",
                                  std::to_string(port_),
                                  "--nats-port",
                                  std::to_string(nats_->port())};
    argv.insert(argv.end(), args.begin(), args.end());
    proc_ = std::make_unique<wc::testing::ChildProcess>(argv, (prefix_ / "dashboard.log").string(),
                                                        env);
    return wc::testing::wait_port(port_, wait);
  }
  std::string page() const {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/");
    return r && r->status == 200 ? r->body : std::string("(no page)");
  }
  std::string log() const {
    std::ifstream in(prefix_ / "dashboard.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  static inline wc::testing::NatsServer* nats_ = nullptr;
  fs::path prefix_;
  int port_ = 0;
  std::unique_ptr<wc::testing::ChildProcess> proc_;
};

TEST_F(InstalledDashboard, ServesTheUiInstalledUnderPrefixShare) {
  make_ui(prefix_ / "share/wasmcloud/ui", "installed-ui-marker");
  ASSERT_TRUE(start({"WASMCLOUD_DASHBOARD_UI_DIR="})) << log();
  EXPECT_NE(page().find("installed-ui-marker"), std::string::npos) << page() << log();
}

TEST_F(InstalledDashboard, EnvironmentVariableOverridesTheInstalledUi) {
  make_ui(prefix_ / "share/wasmcloud/ui", "installed-ui-marker");
  make_ui(prefix_ / "other-ui", "env-ui-marker");
  ASSERT_TRUE(start({"WASMCLOUD_DASHBOARD_UI_DIR=" + (prefix_ / "other-ui").string()})) << log();
  EXPECT_NE(page().find("env-ui-marker"), std::string::npos) << page() << log();
}

TEST_F(InstalledDashboard, FlagOverridesTheEnvironmentVariable) {
  make_ui(prefix_ / "env-ui", "env-ui-marker");
  make_ui(prefix_ / "flag-ui", "flag-ui-marker");
  ASSERT_TRUE(start({"WASMCLOUD_DASHBOARD_UI_DIR=" + (prefix_ / "env-ui").string()},
                    {"--ui-dir", (prefix_ / "flag-ui").string()}))
      << log();
  EXPECT_NE(page().find("flag-ui-marker"), std::string::npos) << page() << log();
}

TEST_F(InstalledDashboard, FallsBackToTheSourceTreeUiWithoutAnInstalledOne) {
  ASSERT_TRUE(start({"WASMCLOUD_DASHBOARD_UI_DIR="})) << log();
  std::ifstream in(fs::path(WC_SOURCE_DIR) / "src/web/ui/index.html");
  const std::string tree(std::istreambuf_iterator<char>(in), {});
  ASSERT_FALSE(tree.empty());
  // The served page is the source tree's index.html (the dashboard may add its token to it).
  EXPECT_NE(page().find("<section id=\"providers\" class=\"card\">"), std::string::npos);
  EXPECT_NE(tree.find("<section id=\"providers\" class=\"card\">"), std::string::npos);
}

TEST_F(InstalledDashboard, MissingExplicitUiDirectoryExitsWithItsPath) {
  make_ui(prefix_ / "share/wasmcloud/ui", "installed-ui-marker");
  const std::string missing = (prefix_ / "missing-ui").string();
  EXPECT_FALSE(
      start({"WASMCLOUD_DASHBOARD_UI_DIR="}, {"--ui-dir", missing}, std::chrono::seconds(2)));
  ASSERT_EQ(proc_->interrupt_and_wait(std::chrono::seconds(5)), 1) << log();
  EXPECT_NE(log().find("Dashboard UI not found: " + missing + "/index.html"), std::string::npos)
      << log();
}

}  // namespace
