// `wasmcloud down [--data-dir D]`: stops the `wasmcloud up` that owns the data directory D
// (default: up's, $XDG_DATA_HOME/wasmcloud-cpp or ~/.local/share/wasmcloud-cpp). The pid comes
// from <D>/up.pid and counts only while that `up` holds the file's lock (local_lattice.h,
// running_up_pid), so a pid file left by a killed `up` never makes `down` signal a stranger. It
// sends SIGTERM (up then stops its host, dashboard, registry and nats-server) and waits up to
// 30 s for the process to exit: "Stopped wasmcloud up (pid N)". Nothing running: "wasmcloud up
// is not running (data directory D)", exit 1.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/local_lattice.h"
#include "cli/output.h"

namespace wc::cli {
namespace {

struct DownArgs {
  std::string data_dir;  ///< empty = up's default
  std::string output = "text";
  double timeout_s = 30;
};

/// Ends the command with `msg` (the output rule of output.h).
[[noreturn]] void fail_down(const DownArgs& a, const std::string& msg) {
  die(msg, a.output == "json");
}

/// True once `pid` has exited: gone, or a zombie waiting for its parent to reap it.
bool process_exited(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return true;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() &&
         (line[close + 2] == 'Z' || line[close + 2] == 'X');
}

void run_down(const DownArgs& a) {
  std::error_code ec;
  const std::string data =
      std::filesystem::absolute(a.data_dir.empty() ? default_data_dir() : a.data_dir, ec)
          .lexically_normal()
          .string();
  const pid_t pid = running_up_pid(data);
  if (pid <= 0) fail_down(a, "wasmcloud up is not running (data directory " + data + ")");
  if (::kill(pid, SIGTERM) != 0)
    fail_down(
        a, "Cannot stop wasmcloud up (pid " + std::to_string(pid) + "): " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000));
  while (!process_exited(pid)) {
    if (std::chrono::steady_clock::now() >= deadline)
      fail_down(a, "wasmcloud up (pid " + std::to_string(pid) + ") did not exit within " +
                       std::to_string(static_cast<long long>(a.timeout_s)) +
                       " s of SIGTERM (its log says why; `kill -9 " + std::to_string(pid) +
                       "` stops it and its children)");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (a.output == "json")
    std::cout << nlohmann::json{{"success", true}, {"pid", pid}, {"data_dir", data}}.dump() << "\n";
  else
    std::cout << "Stopped wasmcloud up (pid " << pid << ")\n";
}

}  // namespace

void register_down(CLI::App& app) {
  auto a = std::make_shared<DownArgs>();
  auto* cmd = app.add_subcommand("down", "Stop the `wasmcloud up` running with a data directory");
  cmd->add_option("--data-dir", a->data_dir,
                  "Data directory of the `up` to stop (default $XDG_DATA_HOME/wasmcloud-cpp or "
                  "~/.local/share/wasmcloud-cpp)");
  cmd->add_option("--timeout", a->timeout_s,
                  "Seconds to wait for `up` to exit after SIGTERM (default 30)")
      ->check(CLI::PositiveNumber);
  add_output_option(cmd, a->output);
  cmd->callback([a] { run_down(*a); });
}

}  // namespace wc::cli
