// The invocation budget (Limits::deadline, issue #12.8) counts only the guest's own time: a guest
// that waits in a blocking host call longer than its budget still succeeds, a guest spinning
// after such a call is stopped at the budget; on both tiers. And an unusable native-code cache
// (issue #11.5) leaves the engine working on the interpreter, reporting a failed native compile.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "native_test_util.h"
#include "wasm/tier.h"

namespace wc::wasm {
namespace {

using namespace std::chrono_literals;
using testing::abi_guest;

constexpr auto kBudget = 300ms;
constexpr auto kBlock = 900ms;  // three budgets

Limits budget() {
  Limits l;
  l.deadline = kBudget;
  return l;
}

/// One host call, then `after` (guest code), then answers 1.
std::string after_host_call(const std::string& after) {
  return abi_guest(
      "(drop (call $host_call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)"
      " (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))" +
      after + " (i32.const 1)");
}

HostCallHandler blocking() {
  return [](const HostCall&) -> Result<Bytes> {
    std::this_thread::sleep_for(kBlock);
    return Bytes{};
  };
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void blocked_host_call_is_not_guest_time(Module& module) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = module.invoke("x", {}, blocking());
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_GE(seconds_since(t0), 0.85);
}

void spinning_guest_is_stopped_at_the_budget(Module& module) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = module.invoke("x", {}, blocking());
  const double took = seconds_since(t0);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(r.error().message, kTrapDeadline);
  // The host call (0.9 s) plus the budget (0.3 s), with slack for a loaded machine.
  EXPECT_GE(took, 1.15);
  EXPECT_LT(took, 3.0);
}

TEST(InvocationBudget, InterpreterDoesNotCountABlockingHostCall) {
  auto engine = testing::make_engine(budget());
  auto m = engine->load(testing::wat(after_host_call("")));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  blocked_host_call_is_not_guest_time(**m);
}

TEST(InvocationBudget, InterpreterStopsASpinningGuestAtTheBudget) {
  auto engine = testing::make_engine(budget());
  auto m = engine->load(testing::wat(after_host_call("(loop $l (br $l))")));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  spinning_guest_is_stopped_at_the_budget(**m);
}

TEST(InvocationBudget, NativeDoesNotCountABlockingHostCall) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  auto engine = testing::make_native_engine(testing::native_cache_dir("budget"), budget());
  auto m = engine->load(testing::wat(after_host_call("")));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  ASSERT_TRUE(testing::require_native(**m));
  blocked_host_call_is_not_guest_time(**m);
}

TEST(InvocationBudget, NativeStopsASpinningGuestAtTheBudget) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  auto engine = testing::make_native_engine(testing::native_cache_dir("budget"), budget());
  auto m = engine->load(testing::wat(after_host_call("(loop $l (br $l))")));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  ASSERT_TRUE(testing::require_native(**m));
  spinning_guest_is_stopped_at_the_budget(**m);
}

TEST(InvocationBudget, OneMebibyteEchoOnTheInterpreterFitsTheHostsDefaultBudget) {
  // Issue #12.8: a 1 MiB echo served by the interpreter (native code not ready yet, the single
  // compile thread busy elsewhere) took longer than the old fixed 5 s on a loaded machine. The
  // host's default budget is 30 s (src/host/config.h execution_budget); two such echoes at once
  // (about 12 s on two busy cores, over the old 5 s) must both fit in it.
  Limits limits;
  limits.deadline = 30s;
  auto engine = testing::make_engine(limits);
  auto m = engine->load(testing::fixture("echo.wasm"));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  const Bytes request = testing::http_request("POST", "/big", "", std::string(1 << 20, 'x'));
  std::atomic<int> ok{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i)
    threads.emplace_back([&] {
      auto r = (*m)->invoke("HttpServer.HandleRequest", request, testing::no_host_calls());
      if (r && testing::decode_http_response(r->response).status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  const double took = seconds_since(t0);
  std::printf("two 1 MiB echoes on the interpreter: %.2f s\n", took);
  EXPECT_EQ(ok.load(), 2);
}

TEST(InvocationBudget, AModuleInvokedOnTheInterpreterIsCompiledNext) {
  // Issue #12.8: the single compile thread is busy with one module and another waits; a module
  // being called jumps the queue, so its calls leave the interpreter as early as possible.
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string cache = testing::fresh_temp_dir("priority");  // empty: real compiles
  auto engine = testing::make_native_engine(cache);
  // Three different small modules (distinct code, so distinct cache entries).
  auto module = [&](int n) {
    auto m = engine->load(testing::wat(abi_guest(
        testing::echo_body(),
        "(func $f" + std::to_string(n) + " (result i32) (i32.const " + std::to_string(n) + "))")));
    EXPECT_TRUE(m.has_value()) << m.error().to_string();
    return m ? *m : nullptr;
  };
  auto busy = module(1);     // compiled first
  auto waiting = module(2);  // queued second
  auto called = module(3);   // queued third
  ASSERT_TRUE(busy && waiting && called);
  const Bytes payload{7};
  auto r = called->invoke("op", payload, testing::no_host_calls());
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->tier, Tier::kInterpreter);
  ASSERT_TRUE(testing::require_native(*called));
  // `waiting` was queued before `called` but is compiled after it.
  EXPECT_EQ(waiting->current_tier(), Tier::kInterpreter);
  EXPECT_TRUE(testing::require_native(*waiting));
  std::filesystem::remove_all(cache);
}

TEST(NativeCacheUnusable, EngineStartsAndRunsOnTheInterpreterCountingAFailedCompile) {
  // A cache directory below a regular file can never be created.
  const std::string dir = testing::fresh_temp_dir("unusable");
  const std::string file = dir + "/not-a-directory";
  std::ofstream(file) << "x";
  EngineConfig config;
  config.enable_native = true;
  config.cache_dir = file + "/native";
  std::atomic<int> failed{0}, succeeded{0};
  config.on_native_compile = [&](std::chrono::duration<double>, bool ok) {
    (ok ? succeeded : failed)++;
  };
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
  auto m = (*engine)->load(testing::wat(abi_guest(testing::echo_body())));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  EXPECT_FALSE((*m)->wait_native(5s));
  EXPECT_EQ((*m)->current_tier(), Tier::kInterpreter);
  const Bytes payload{1, 2, 3};
  auto r = (*m)->invoke("op", payload, testing::no_host_calls());
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->response, payload);
  EXPECT_EQ(r->tier, Tier::kInterpreter);
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(succeeded.load(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wc::wasm
