// The native tier's on-disk cache and its fallbacks: a second engine (a "restart") loads the
// shared object from the cache without compiling, and serves its very first invocation on it
// (issue #14.3: Engine::load takes cached native code at once, keeping every check of a load);
// a missing C compiler or a broken cache file leaves the module on the interpreter (or
// rebuilds) instead of failing. The glue generator's tests are in native_glue_test.cpp.
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

/// Compiles `bytes` into `dir` through an engine (as a host's first run would).
void compile_into(const std::string& dir, const Bytes& bytes) {
  auto engine = testing::make_native_engine(dir);
  auto m = engine->load(bytes);
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  ASSERT_TRUE(testing::require_native(**m));
}

TEST(NativeCache, NewLoadServesItsFirstCallOnCachedNativeCode) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("atonce");
  const Bytes bytes = small_module(10);
  compile_into(dir, bytes);
  const auto before = native::native_stats();
  int reports = 0;
  EngineConfig config;
  config.cache_dir = dir;
  config.on_native_compile = [&reports](std::chrono::duration<double>, bool ok) {
    EXPECT_TRUE(ok);
    ++reports;
  };
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.has_value());
  auto m = (*engine)->load(bytes);
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  // No wait: native code is there when load returns, and the load was reported (metrics).
  EXPECT_EQ((*m)->current_tier(), Tier::kNative);
  EXPECT_EQ(reports, 1);
  auto out = (*m)->invoke("op", Bytes{4, 2}, testing::no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->tier, Tier::kNative);
  EXPECT_EQ(out->response, (Bytes{4, 2}));
  EXPECT_TRUE((*m)->wait_native(std::chrono::milliseconds(0)));
  EXPECT_EQ((*m)->sha256_hex(), hex_lower(sha256(bytes)));
  const auto after = native::native_stats();
  EXPECT_EQ(after.compiles, before.compiles);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  // Pooled instances (reuse mode) work on a module that never had an interpreter tier.
  auto reuse = testing::make_native_engine(dir, {}, true);
  auto r = reuse->load(bytes);
  ASSERT_TRUE(r.has_value());
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto o = (*r)->invoke("op", Bytes{i}, testing::no_host_calls());
    ASSERT_TRUE(o.has_value()) << o.error().to_string();
    EXPECT_EQ(o->tier, Tier::kNative);
    EXPECT_EQ(o->response, Bytes{i});
  }
  fs::remove_all(dir);
}

TEST(NativeCache, CachedNativeCodeKeepsTheMemoryCapCheckOfALoad) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("atoncecap");
  const Bytes bytes = small_module(11);
  compile_into(dir, bytes);
  Limits small;
  small.max_memory_bytes = 1024;  // under the module's one page
  auto interp = testing::make_engine(small)->load(bytes);
  ASSERT_FALSE(interp.has_value());
  auto cached = testing::make_native_engine(dir, small)->load(bytes);
  ASSERT_FALSE(cached.has_value());
  EXPECT_EQ(cached.error().code, Code::kInvalidArgument);
  EXPECT_EQ(cached.error().message, interp.error().message);
  fs::remove_all(dir);
}

TEST(NativeCache, CachedNativeCodeOfAModuleWithAnUnknownImportFailsLikeALoad) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  // An engine never compiles such a module; an object built directly must not bypass the link
  // check either.
  const std::string dir = testing::fresh_temp_dir("atonceimport");
  const Bytes bytes = testing::wat(testing::abi_guest(testing::echo_body(), "", "nope"));
  NativeCompileRequest req;
  req.wasm = bytes;
  req.sha256_hex = hex_lower(sha256(bytes));
  req.cache_dir = dir;
  auto built = native::native_build(req);
  ASSERT_TRUE(built.has_value()) << built.error().to_string();
  auto expected = testing::make_engine()->load(bytes);
  ASSERT_TRUE(expected.has_value());
  const auto want = testing::outcome((*expected)->invoke("op", Bytes{1}, testing::no_host_calls()));
  auto m = testing::make_native_engine(dir)->load(bytes);
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  EXPECT_EQ(testing::outcome((*m)->invoke("op", Bytes{1}, testing::no_host_calls())), want);
  EXPECT_NE(want.find("unknown import"), std::string::npos) << want;
  fs::remove_all(dir);
}

TEST(NativeCache, DamagedCacheFileAtLoadStartsOnTheInterpreterAndIsRebuilt) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::fresh_temp_dir("atoncedamaged");
  const Bytes bytes = small_module(12);
  compile_into(dir, bytes);  // identifies the toolchain for `dir`
  NativeCompileRequest req;
  req.wasm = bytes;
  req.sha256_hex = hex_lower(sha256(bytes));
  req.cache_dir = dir;
  auto file = native::native_cache_file(req);
  ASSERT_TRUE(file.has_value());
  std::ofstream(*file, std::ios::trunc) << "not an ELF object";
  auto engine = testing::make_native_engine(dir);
  auto m = engine->load(bytes);
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  auto out = (*m)->invoke("op", Bytes{5}, testing::no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, Bytes{5});
  ASSERT_TRUE(testing::require_native(**m));
  out = (*m)->invoke("op", Bytes{6}, testing::no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->tier, Tier::kNative);
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

// The host runs bounds-checked code (its memories stay read-write past their size, runtime.h):
// the memory-check mode is part of the cache key, so an object of wasm2c's guard-page build
// (the benchmark's baseline, or a cache written before #14.1) is never the host's file.
TEST(NativeCache, MemoryCheckModeIsPartOfTheKeyAndTheHostUsesBoundsChecks) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  const std::string dir = testing::native_cache_dir("cache");
  NativeCompileRequest req;
  req.wasm = small_module(30);
  req.sha256_hex = hex_lower(sha256(req.wasm));
  req.cache_dir = dir;
  auto tc = native::detect_toolchain("", dir);
  ASSERT_TRUE(tc.has_value()) << tc.error().to_string();
  const std::string bounds =
      native::cache_path(*tc, dir, req.sha256_hex, native::MemoryChecks::kBounds);
  const std::string guard =
      native::cache_path(*tc, dir, req.sha256_hex, native::MemoryChecks::kGuardPages);
  EXPECT_NE(bounds, guard);
  EXPECT_EQ(native::cache_path(*tc, dir, req.sha256_hex), bounds);
  auto file = native::native_cache_file(req);
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  EXPECT_EQ(*file, bounds);
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
