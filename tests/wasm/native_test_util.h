// Helpers for the native tier's tests (tests/wasm/native_*_test.cpp): engines with a chosen
// cache directory, the "a C compiler exists, so native MUST run" rule, and outcome comparison
// between the tiers.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "wasm/native/compiler.h"
#include "wasm/native/native.h"
#include "wasm_test_util.h"

namespace wc::wasm::testing {

/// True when wasm2c and the default C compiler are usable: the native tier must then run, and a
/// test that finds a module still on the interpreter fails.
inline bool native_toolchain_present() {
  static const bool present = native::detect_toolchain("").has_value();
  return present;
}

/// A per-test-binary cache directory under the build tree (kept between runs, so only the first
/// run compiles the fixtures). `name` separates binaries.
inline std::string native_cache_dir(const std::string& name) {
  const std::string dir = std::string(WC_BINARY_DIR) + "/native-test-cache/" + name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return dir;
}

/// A fresh empty directory under the system temp dir (removed by the caller if it wants).
inline std::string fresh_temp_dir(const std::string& tag) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("wc-native-" + tag + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return tmpl;
}

/// A native-enabled engine using `cache_dir`.
inline std::shared_ptr<Engine> make_native_engine(const std::string& cache_dir, Limits limits = {},
                                                  bool reuse = false,
                                                  const std::string& c_compiler = "") {
  EngineConfig config;
  config.limits = limits;
  config.enable_native = true;
  config.reuse_instances = reuse;
  config.cache_dir = cache_dir;
  config.c_compiler = c_compiler;
  auto engine = Engine::create(config);
  if (!engine) {
    ADD_FAILURE() << engine.error().to_string();
    return nullptr;
  }
  return *engine;
}

/// Waits for the native tier of `module`; fails the test when a toolchain exists but native
/// code did not come up. Returns whether native code is in use.
inline bool require_native(Module& module,
                           std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  const bool native = module.wait_native(timeout);
  if (native_toolchain_present()) {
    EXPECT_TRUE(native) << "a C compiler and wasm2c exist, yet the native tier did not come up";
    EXPECT_EQ(module.current_tier(), Tier::kNative);
  }
  return native;
}

/// Outcome of an invocation in comparable form: "ok:<hex>" or "<code>:<message>".
inline std::string outcome(const Result<InvokeOutput>& r) {
  if (r) return "ok:" + hex_lower(r->response);
  return std::string(code_name(r.error().code)) + ":" + r.error().message;
}

}  // namespace wc::wasm::testing
