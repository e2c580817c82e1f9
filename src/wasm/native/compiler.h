// The native compile pipeline: module bytes -> `wasm2c -n <prefix>` -> generated glue (glue.c,
// see glue.h and glue_abi.h) -> system C compiler (-O2 -fPIC -shared) -> shared object in the
// on-disk cache. Nothing here runs guest code. Thread-safe (each build uses its own temporary
// directory; results are published with an atomic rename, so concurrent builders and readers of
// one cache directory never see a partial file).
//
// Cache key: SHA-256 over (module SHA-256, C compiler identity = `cc --version` first line +
// `cc -dumpmachine`, `wasm2c --version`, compile flags (including the memory-check mode, see
// MemoryChecks), WC_NATIVE_ABI_VERSION); the object is `<cache_dir>/<key>.so`. Objects built
// before the switch to bounds checks (2026-12-07) have another key and are never loaded.
#pragma once

#include <atomic>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace wc::wasm::native {

/// The tools a build uses, identified once per compiler command (cached per process).
struct Toolchain {
  std::string cc;              ///< compiler command (may hold arguments, split on spaces)
  std::string cc_identity;     ///< `--version` first line + target triple
  std::string wasm2c;          ///< wasm2c executable (WC_WASM2C env or "wasm2c")
  std::string wasm2c_version;  ///< `wasm2c --version`
  std::string cflags;          ///< optimisation flags (WC_NATIVE_CFLAGS env, default "-O2")
};

/// Finds and identifies the tools. `c_compiler` empty = "cc". Identities are remembered per
/// process and, when `cache_dir` is given, on disk (`toolchain-<key>.id`, keyed by the resolved
/// paths, sizes, inodes and modification times of the compiler and wasm2c executables), so a
/// restarted host does not run `cc --version` again. Errors: kUnavailable "no C compiler: ..." /
/// "wasm2c not found: ..." (the caller stays on the interpreter).
Result<Toolchain> detect_toolchain(std::string_view c_compiler, std::string_view cache_dir = {});

/// The toolchain as an earlier detect_toolchain() identified it, in this process or on disk in
/// `cache_dir`, without running any tool (Engine::load's synchronous cache lookup must not
/// spend tens of milliseconds on `cc --version`). Errors: kNotFound when it is known in
/// neither place (then no object for it can be in that cache either, in practice).
Result<Toolchain> known_toolchain(std::string_view c_compiler, std::string_view cache_dir);

/// How the generated code checks linear-memory accesses (a compile flag, so part of the key).
enum class MemoryChecks {
  /// Explicit bounds checks against the memory's current size (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0):
  /// what the host loads. The runtime keeps memories read-write at their high-water mark and
  /// resets them without protection changes, so exactness rests on these checks (runtime.h).
  kBounds,
  /// No checks; out-of-bounds accesses fault in the reservation (wasm2c's signal-handler mode).
  /// Only for the benchmark's bare wasm2c harness baseline, never loaded by the host.
  kGuardPages,
};

/// `<cache_dir>/<key>.so` for this module, toolchain and memory-check mode.
std::string cache_path(const Toolchain& tc, std::string_view cache_dir, std::string_view sha256_hex,
                       MemoryChecks checks = MemoryChecks::kBounds);

/// While alive, the tools this thread runs (build_shared_object, detect_toolchain) are killed
/// within 100 ms once `*flag` is true, and the call fails (kInternal "... cancelled"):
/// NativeCompileRequest::cancel, so that destroying an Engine does not wait for a compile.
/// `flag` may be null (no cancellation); scopes nest.
class CancelScope {
 public:
  explicit CancelScope(const std::atomic<bool>* flag);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const std::atomic<bool>* saved_;
};

/// Builds the shared object for `wasm` into `path` (see cache_path). Blocking (seconds).
/// Errors: kInternal with the tool's first diagnostic lines.
Status build_shared_object(const Toolchain& tc, std::span<const std::uint8_t> wasm,
                           std::string_view sha256_hex, const std::string& path,
                           MemoryChecks checks = MemoryChecks::kBounds);

}  // namespace wc::wasm::native
