// Engine creation, configuration and tier reporting (engine.h).
#include <unistd.h>

#include <filesystem>

#include "wasm_test_util.h"

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

}  // namespace
}  // namespace wc::wasm
