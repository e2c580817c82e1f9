// Host settings of the RPC path (src/host/config.h): the execution budget (issue #12.8) and the
// replay window (issue #11.6), from the environment, host_config.json keys and flags.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/host_flags.h"
#include "host/config.h"

namespace wc::host {
namespace {

using std::chrono::milliseconds;

TEST(ExecutionBudget, DefaultNeverCutsACallItsCallerStillAwaits) {
  auto cfg = load_config({}, "");
  EXPECT_EQ(cfg.max_execution_time_ms, 0);
  EXPECT_EQ(execution_budget(cfg), milliseconds(30000));  // 15 s large-payload wait + margin
  cfg.rpc_timeout_ms = 10000;
  EXPECT_EQ(execution_budget(cfg), milliseconds(30000));
  cfg.rpc_timeout_ms = 60000;
  EXPECT_EQ(execution_budget(cfg), milliseconds(75000));
  EXPECT_GT(execution_budget(cfg), milliseconds(cfg.rpc_timeout_ms));
}

TEST(ExecutionBudget, EnvironmentSetsBudgetAndReplayWindow) {
  auto cfg = load_config(
      {{"WASMCLOUD_MAX_EXECUTION_TIME_MS", "1234"}, {"WASMCLOUD_INVOCATION_REPLAY_WINDOW_S", "60"}},
      "");
  EXPECT_EQ(cfg.max_execution_time_ms, 1234);
  EXPECT_EQ(execution_budget(cfg), milliseconds(1234));
  EXPECT_EQ(cfg.invocation_replay_window_s, 60);
  EXPECT_EQ(load_config({}, "").invocation_replay_window_s, 300);
}

TEST(ExecutionBudget, FlagsOverrideTheEnvironment) {
  auto cfg = load_config({{"WASMCLOUD_MAX_EXECUTION_TIME_MS", "1234"}}, "");
  CLI::App app;
  cli::add_host_flags(app, cfg);
  std::vector<std::string> args{"--invocation-replay-window-s", "0", "--max-execution-time-ms",
                                "5000"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  finish_flags(cfg);
  EXPECT_EQ(execution_budget(cfg), milliseconds(5000));
  EXPECT_EQ(cfg.invocation_replay_window_s, 0);
}

}  // namespace
}  // namespace wc::host
