// Engine creation, configuration, tier reporting and the native compile queue's order
// (engine.h).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "native_test_util.h"

namespace wc::wasm {
namespace {

using testing::fixture;
using testing::no_host_calls;

TEST(Engine, TierNames) {
  EXPECT_EQ(tier_name(Tier::kInterpreter), "interpreter");
  EXPECT_EQ(tier_name(Tier::kNative), "native");
}

TEST(Engine, CreatesTheNativeCacheDirectory) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("wc-wasm-cache-" + std::to_string(::getpid())) / "nested";
  std::filesystem::remove_all(dir.parent_path());
  EngineConfig config;
  config.cache_dir = dir.string();
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ((*engine)->config().cache_dir, dir.string());
  std::filesystem::remove_all(dir.parent_path());
}

TEST(Engine, UncreatableCacheDirectoryLeavesTheInterpreter) {
  // Issue #11.5: not an error; the engine runs modules on the interpreter (budget_test.cpp
  // checks the failed-compile report).
  EngineConfig config;
  config.cache_dir = "/proc/self/cannot/create/here";
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
  auto module = (*engine)->load(fixture("echo.wasm"));
  ASSERT_TRUE(module.has_value());
  EXPECT_FALSE((*module)->wait_native(std::chrono::milliseconds(10)));
  EXPECT_EQ((*module)->current_tier(), Tier::kInterpreter);
}

TEST(Engine, InterpreterOnlyEngineNeverReportsNative) {
  auto engine = testing::make_engine();
  auto module = engine->load(fixture("echo.wasm"));
  ASSERT_TRUE(module.has_value());
  EXPECT_FALSE((*module)->wait_native(std::chrono::milliseconds(10)));
  EXPECT_EQ((*module)->current_tier(), Tier::kInterpreter);
}

TEST(Engine, ModulesOutliveTheirEngine) {
  std::shared_ptr<Module> module;
  {
    auto engine = testing::make_engine();
    auto loaded = engine->load(fixture("echo.wasm"));
    ASSERT_TRUE(loaded.has_value());
    module = *loaded;
  }
  auto out =
      module->invoke("HttpServer.HandleRequest", testing::vector_a_request(), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, testing::vector_b_response());
}

TEST(Engine, MissingCompilerLeavesTheModuleOnTheInterpreter) {
  EngineConfig config;
  config.cache_dir = (std::filesystem::temp_directory_path() / "wc-wasm-engine-test").string();
  config.c_compiler = "/nonexistent/cc";
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.has_value());
  auto module = (*engine)->load(fixture("echo.wasm"));
  ASSERT_TRUE(module.has_value());
  EXPECT_FALSE((*module)->wait_native(std::chrono::seconds(20)));
  EXPECT_EQ((*module)->current_tier(), Tier::kInterpreter);
  auto out =
      (*module)->invoke("HttpServer.HandleRequest", testing::vector_a_request(), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, testing::vector_b_response());
  EXPECT_EQ(out->tier, Tier::kInterpreter);
}

/// Loads modules into one native engine whose C compiler waits for a gate file, so the test
/// decides what is queued (and what traffic each module had) before the first compile ends,
/// then records the order in which the modules reach native code.
class CompileOrder : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::native_toolchain_present())
      GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
    dir_ = testing::fresh_temp_dir("order");
    gate_ = dir_ + "/gate";
    const std::string cc = dir_ + "/gated-cc";
    std::ofstream(cc) << "#!/bin/sh\n"
                         "case \"$1\" in --version|-dumpmachine) exec cc \"$@\";; esac\n"
                         "touch '"
                      << dir_ << "/waiting'\nwhile [ ! -e '" << gate_
                      << "' ]; do sleep 0.02; done\n"
                         "exec cc \"$@\"\n";
    std::filesystem::permissions(cc, std::filesystem::perms::owner_all);
    engine_ = testing::make_native_engine(dir_, {}, false, cc);
  }

  void TearDown() override {
    for (auto& t : waiters_) t.join();
    modules_.clear();
    engine_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  /// Loads a module of its own (distinct bytes); returns its index.
  int load() {
    const int index = static_cast<int>(modules_.size());
    auto m = engine_->load(testing::wat(testing::abi_guest(
        "(drop (i32.const " + std::to_string(1000 + index) + "))" + testing::echo_body())));
    EXPECT_TRUE(m.has_value());
    modules_.push_back(*m);
    return index;
  }

  /// Waits until the compile thread has taken the first module (its C compiler at the gate).
  void wait_first_compile() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(1);
    while (!std::filesystem::exists(dir_ + "/waiting") && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(std::filesystem::exists(dir_ + "/waiting"));
  }

  /// Invokes module `index` `n` times (on the interpreter: nothing is compiled yet).
  void call(int index, int n) {
    for (int i = 0; i < n; ++i) {
      auto out = modules_[index]->invoke("op", Bytes{1}, testing::no_host_calls());
      ASSERT_TRUE(out.has_value()) << out.error().to_string();
      EXPECT_EQ(out->tier, Tier::kInterpreter);
    }
  }

  /// Destroys the engine (the compile at the gate is cancelled; the rest are abandoned).
  void destroy_engine() { engine_.reset(); }

  Module& module(int index) { return *modules_[index]; }

  /// Opens the gate and returns the indexes in the order their native code came up.
  std::vector<int> compile_order() {
    for (int i = 0; i < static_cast<int>(modules_.size()); ++i)
      waiters_.emplace_back([this, i] {
        if (!modules_[i]->wait_native(std::chrono::minutes(5))) return;
        std::lock_guard lock(mu_);
        order_.push_back(i);
      });
    std::ofstream(gate_) << "open\n";
    for (auto& t : waiters_) t.join();
    waiters_.clear();
    return order_;
  }

 private:
  std::string dir_, gate_;
  std::shared_ptr<Engine> engine_;
  std::vector<std::shared_ptr<Module>> modules_;
  std::vector<std::thread> waiters_;
  std::mutex mu_;
  std::vector<int> order_;
};

TEST_F(CompileOrder, ModulesWithTrafficCompileFirstMostCallsFirst) {
  load();  // 0: taken by the compile thread at once, held at the gate
  wait_first_compile();
  load();      // 1: no traffic
  load();      // 2: one call
  load();      // 3: three calls
  load();      // 4: no traffic
  call(3, 3);  // the most traffic, though its first call came before 2's
  call(2, 1);
  EXPECT_EQ(compile_order(), (std::vector<int>{0, 3, 2, 1, 4}));
}

TEST_F(CompileOrder, AModuleOvertakenFourTimesIsCompiledNext) {
  load();  // 0: held at the gate
  wait_first_compile();
  load();  // 1: no traffic, overtaken by 2, 3, 4, 5
  for (int i = 2; i <= 6; ++i) {
    load();
    call(i, 1);
  }
  EXPECT_EQ(compile_order(), (std::vector<int>{0, 2, 3, 4, 5, 1, 6}));
}

TEST_F(CompileOrder, DestroyingTheEngineCancelsTheRunningCompile) {
  load();  // 0: its C compiler waits for a gate that never opens
  wait_first_compile();
  load();  // 1: still queued
  const auto t0 = std::chrono::steady_clock::now();
  destroy_engine();
  // Without cancellation this waits for WC_NATIVE_COMPILE_TIMEOUT (600 s).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(module(i).wait_native(std::chrono::milliseconds(0)));
    auto out = module(i).invoke("op", Bytes{7}, testing::no_host_calls());
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    EXPECT_EQ(out->tier, Tier::kInterpreter);
    EXPECT_EQ(out->response, Bytes{7});
  }
}

}  // namespace
}  // namespace wc::wasm
