// Runs the built `wasmcloud` binary (WC_CLI_BINARY) with arguments and captures stdout, stderr
// and the exit code; scratch directories for test files. Test-only helper.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace wc::cli::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

/// A fresh empty directory under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("wc_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Runs `wasmcloud <args...>` with HOME pointed at `home` (so nothing touches the real
/// ~/.wash) and returns its exit code and output. `env` ("NAME=value ...", shell-quoted by the
/// caller) is added to the environment; `cwd`, when set, is the working directory.
inline RunResult run_cli(const std::vector<std::string>& args, const ScratchDir& home,
                         const std::string& env = "", const std::string& cwd = "") {
  std::string cmd = (cwd.empty() ? "" : "cd " + shell_quote(cwd) + " && ") +
                    "HOME=" + shell_quote(home.path().string()) + " WASH_KEYS= " + env + " " +
                    shell_quote(WC_CLI_BINARY);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  const std::string out_path = home / ".stdout";
  const std::string err_path = home / ".stderr";
  cmd += " >" + shell_quote(out_path) + " 2>" + shell_quote(err_path);
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

/// Number of '\n' in s.
inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace wc::cli::testing
