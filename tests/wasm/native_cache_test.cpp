// The native tier's on-disk cache and its fallbacks: a second engine (a "restart") loads the
// shared object from the cache without compiling; a missing C compiler or a broken cache file
// leaves the module on the interpreter (or rebuilds) instead of failing. The glue generator's
// tests are in native_glue_test.cpp.
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "native_test_util.h"

namespace wc::wasm {
namespace {

namespace fs = std::filesystem;

Bytes small_module(int salt) {
  // `salt` changes the bytes (and so the cache key) so each test compiles its own module.
  return testing::wat(
      testing::abi_guest("(drop (i32.const " + std::to_string(salt) + "))" + testing::echo_body()));
}

TEST(NativeCache, SecondEngineLoadsFromCacheWithoutCompiling) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("cache");
  const Bytes bytes = small_module(1);
  const auto before = native::native_stats();
  {
    auto engine = testing::make_native_engine(dir);
    auto m = engine->load(bytes);
    ASSERT_TRUE(m.has_value());
    ASSERT_TRUE(testing::require_native(**m));
    auto out = (*m)->invoke("op", Bytes{7}, testing::no_host_calls());
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->tier, Tier::kNative);
  }
  const auto mid = native::native_stats();
  EXPECT_EQ(mid.compiles, before.compiles + 1);
  NativeCompileRequest req;
  req.wasm = bytes;
  req.sha256_hex = hex_lower(sha256(bytes));
  req.cache_dir = dir;
  auto file = native::native_cache_file(req);
  ASSERT_TRUE(file.has_value());
  EXPECT_TRUE(fs::exists(*file));
  {
    auto engine = testing::make_native_engine(dir);
    auto m = engine->load(bytes);
    ASSERT_TRUE(m.has_value());
    ASSERT_TRUE(testing::require_native(**m, std::chrono::seconds(10)));
    auto out = (*m)->invoke("op", Bytes{8}, testing::no_host_calls());
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->response, Bytes{8});
    EXPECT_EQ(out->tier, Tier::kNative);
  }
  const auto after = native::native_stats();
  EXPECT_EQ(after.compiles, mid.compiles);
  EXPECT_EQ(after.cache_hits, mid.cache_hits + 1);
  // Nothing but the object (and toolchain identities) is left in the cache: no temporary build
  // directories.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() != ".id") ++entries;
  EXPECT_EQ(entries, 1);
  fs::remove_all(dir);
}

TEST(NativeCache, DamagedCacheFileIsRebuilt) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("damaged");
  const Bytes bytes = small_module(2);
  NativeCompileRequest req;
  req.wasm = bytes;
  req.sha256_hex = hex_lower(sha256(bytes));
  req.cache_dir = dir;
  auto file = native::native_cache_file(req);
  ASSERT_TRUE(file.has_value());
  std::ofstream(*file) << "not an ELF object";
  auto tier = native_compile(req);
  ASSERT_TRUE(tier.has_value()) << tier.error().to_string();
  EXPECT_EQ((*tier)->tier(), Tier::kNative);
  fs::remove_all(dir);
}

TEST(NativeCache, MissingCompilerStaysOnTheInterpreter) {
  const std::string dir = testing::fresh_temp_dir("nocc");
  auto engine = testing::make_native_engine(dir, {}, false, "/nonexistent/bin/cc");
  auto m = engine->load(small_module(3));
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE((*m)->wait_native(std::chrono::seconds(30)));
  auto out = (*m)->invoke("op", Bytes{1, 2, 3}, testing::no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, (Bytes{1, 2, 3}));
  EXPECT_EQ(out->tier, Tier::kInterpreter);
  NativeCompileRequest req;
  req.wasm = small_module(3);
  req.sha256_hex = "00";
  req.cache_dir = dir;
  req.c_compiler = "/nonexistent/bin/cc";
  auto tier = native_compile(req);
  ASSERT_FALSE(tier.has_value());
  EXPECT_EQ(tier.error().code, Code::kUnavailable);
  fs::remove_all(dir);
}

TEST(NativeCache, FailingCompilerStaysOnTheInterpreter) {
  const std::string dir = testing::fresh_temp_dir("badcc");
  // `false` exists and "identifies" itself (exit 1 on --version): treated as no compiler.
  auto engine = testing::make_native_engine(dir, {}, false, "false");
  auto m = engine->load(small_module(4));
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE((*m)->wait_native(std::chrono::seconds(30)));
  auto out = (*m)->invoke("op", Bytes{9}, testing::no_host_calls());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->tier, Tier::kInterpreter);
  fs::remove_all(dir);
}

TEST(NativeCache, CompileCallbackReportsTimeAndOutcome) {
  struct Seen {
    std::mutex mu;
    std::vector<std::pair<double, bool>> calls;
  };
  auto seen = std::make_shared<Seen>();
  auto make = [&](const std::string& dir, const std::string& cc) {
    EngineConfig config;
    config.cache_dir = dir;
    config.c_compiler = cc;
    config.on_native_compile = [seen](std::chrono::duration<double> elapsed, bool ok) {
      std::lock_guard lock(seen->mu);
      seen->calls.emplace_back(elapsed.count(), ok);
    };
    auto engine = Engine::create(config);
    EXPECT_TRUE(engine.has_value());
    return *engine;
  };
  if (testing::native_toolchain_present()) {
    const std::string dir = testing::fresh_temp_dir("cb");
    auto engine = make(dir, "");
    auto m = engine->load(small_module(5));
    ASSERT_TRUE(m.has_value());
    ASSERT_TRUE(testing::require_native(**m));
    {
      std::lock_guard lock(seen->mu);
      ASSERT_EQ(seen->calls.size(), 1u);
      EXPECT_TRUE(seen->calls[0].second);
      EXPECT_GT(seen->calls[0].first, 0.0);
      seen->calls.clear();
    }
    fs::remove_all(dir);
  }
  const std::string dir = testing::fresh_temp_dir("cbnocc");
  auto engine = make(dir, "/nonexistent/bin/cc");
  auto m = engine->load(small_module(6));
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE((*m)->wait_native(std::chrono::seconds(30)));
  {
    std::lock_guard lock(seen->mu);
    ASSERT_EQ(seen->calls.size(), 1u);
    EXPECT_FALSE(seen->calls[0].second);
  }
  fs::remove_all(dir);
}

TEST(NativeCache, ToolchainIdentityIsRememberedOnDisk) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("toolchain");
  // A compiler command this process has not identified yet (extra flag = distinct key).
  auto first = native::detect_toolchain("cc -pipe", dir);
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  int ids = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".id") ++ids;
  EXPECT_EQ(ids, 1);
  EXPECT_FALSE(first->cc_identity.empty());
  EXPECT_FALSE(first->wasm2c_version.empty());
  fs::remove_all(dir);
}

TEST(NativeCache, HangingCompilerIsKilledAfterTheTimeout) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("hang");
  const std::string cc = dir + "/hanging-cc";
  std::ofstream(cc) << "#!/bin/sh\n"
                       "case \"$1\" in --version) echo 'hanging-cc 1.0'; exit 0;;\n"
                       "  -dumpmachine) echo test-machine; exit 0;; esac\n"
                       "exec sleep 60\n";
  fs::permissions(cc, fs::perms::owner_all);
  setenv("WC_NATIVE_COMPILE_TIMEOUT", "1", 1);
  const Bytes bytes = small_module(5);
  NativeCompileRequest req;
  req.wasm = bytes;
  req.sha256_hex = hex_lower(sha256(bytes));
  req.cache_dir = dir;
  req.c_compiler = cc;
  const auto t0 = std::chrono::steady_clock::now();
  auto tier = native_compile(req);
  unsetenv("WC_NATIVE_COMPILE_TIMEOUT");
  ASSERT_FALSE(tier.has_value());
  EXPECT_EQ(tier.error().code, Code::kInternal);
  EXPECT_NE(tier.error().message.find("timed out"), std::string::npos) << tier.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wc::wasm
