// Issue #12.7: the native tier's compiler children (wasm2c, the cc driver and what it starts)
// must not outlive a host killed with SIGKILL. A forked child of this test plays the host: it
// compiles a real 1.8 MB fixture (wasm2c, then cc -O2, which takes a while) into a cache
// directory; the test waits until the compiler runs there, SIGKILLs the "host" and then requires
// that no process whose working directory lies in that cache directory remains.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "native_test_util.h"

namespace wc::wasm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Proc {
  int pid;
  std::string cmdline;
};

/// Live processes whose current directory is inside `dir`.
std::vector<Proc> processes_in(const std::string& dir) {
  std::vector<Proc> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    const auto cwd = fs::read_symlink(e.path() / "cwd", ec);
    if (ec || !cwd.string().starts_with(dir)) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.empty()) continue;  // zombie
    out.push_back({std::stoi(name), cmd});
  }
  return out;
}

TEST(NativeKill, CompilerChildrenDieWithAKilledHost) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  auto wasm = read_file(std::string(WC_FIXTURES_DIR) + "/kvcounter.wasm");
  ASSERT_TRUE(wasm);
  const std::string dir =
      (fs::temp_directory_path() / ("wc_native_kill_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto tc = native::detect_toolchain("");
  ASSERT_TRUE(tc);
  const std::string sha = hex_lower(sha256(*wasm));
  const std::string so = native::cache_path(*tc, dir, sha);

  const pid_t host = ::fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    // The "host": compile, then exit. Never returns into the test framework.
    auto st = native::build_shared_object(*tc, *wasm, sha, so);
    ::_exit(st ? 0 : 1);
  }

  // Wait for the compiler to run in the cache directory; prefer to catch the C compiler proper
  // (cc1 or `clang -cc1`, a grandchild of the host), which a death signal on the driver alone
  // would leave running.
  auto until = std::chrono::steady_clock::now() + 90s;
  bool saw_tool = false, saw_compiler = false;
  while (std::chrono::steady_clock::now() < until) {
    for (const auto& p : processes_in(dir)) {
      saw_tool = true;
      if (p.cmdline.find("cc1") != std::string::npos) saw_compiler = true;
    }
    if (saw_compiler) break;
    int status = 0;
    if (::waitpid(host, &status, WNOHANG) == host) {
      FAIL() << "the compile finished before the test could kill it";
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(saw_tool) << "no compiler process appeared in " << dir;
  ::kill(host, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(host, &status, 0), host);
  ASSERT_TRUE(WIFSIGNALED(status));

  std::vector<Proc> left;
  until = std::chrono::steady_clock::now() + 5s;
  do {
    left = processes_in(dir);
    if (left.empty()) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < until);
  std::string names;
  for (const auto& p : left) {
    names += std::to_string(p.pid) + " " + p.cmdline + "\n";
    ::kill(p.pid, SIGKILL);
  }
  EXPECT_TRUE(left.empty()) << "compiler processes outlived the killed host:\n" << names;
  EXPECT_TRUE(saw_compiler) << "only wasm2c was caught running";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wc::wasm
