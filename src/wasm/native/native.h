// Tier 1 (native code) of the actor runtime: wasm2c + the system C compiler + dlopen, behind
// the CompiledTier/TierInstance seam of src/wasm/tier.h. native_compile() (declared in tier.h)
// is the entry point the engine calls on its background compile thread; this header adds what
// tests and benchmarks need to observe the tier (cache hits, compile counts, instance layout).
//
// Summary of the design (details in runtime.h, guard.h, compiler.h, glue_abi.h):
//   * one shared object per module (and compiler), cached on disk, dlopened RTLD_LOCAL; all of
//     its `wasm_rt_*` and import symbols are hidden forwarders into the host's wc_rt_api table,
//     so the host executable exports nothing (no -rdynamic);
//   * at load the module is instantiated once into a template (data/elem segments, start
//     function); every instance is a copy: the instance struct, the non-zero 4 KiB pages of
//     memory, the tables — no segment re-initialisation. A destroyed instance is reset to the
//     template in place and kept for the next one (per module, runtime.h / native_tier.cpp), so
//     a fresh instance per invocation costs no mmap, mprotect or allocation;
//   * guest calls run on the calling thread inside a trap frame (guard.h); the generated code
//     checks every memory access against the memory's current size (compiler.h MemoryChecks);
//     stack exhaustion arrives as SIGSEGV on a per-thread alternate stack and becomes a trap; a
//     watchdog signal stops guests past their deadline.
//
// Process-wide effects and knobs:
//   * signal handlers for SIGSEGV, SIGBUS and SIGRTMIN+5 (the deadline signal) are installed on
//     first use; faults that are not guest traps go to the previous handler or the default
//     action. A library installing its own SIGSEGV handler later must chain to ours.
//   * one watchdog thread (started on first use); per guest thread a 64 KiB alternate signal
//     stack and a guest stack of max_call_depth x 256 B + 256 KiB (virtual; freed at exit).
//   * environment: WC_NATIVE_CFLAGS (default "-O2"), WC_WASM2C (default "wasm2c"),
//     WC_NATIVE_COMPILE_TIMEOUT (seconds, default 600); all are part of the cache key or of
//     toolchain detection.
//   * the cache directory must be writable only by the host's user: its shared objects are
//     loaded and run. Old objects are never evicted.
//   * limits: a wasm start section that calls an import keeps the module on the interpreter;
//     so do imported memories/tables/globals, several memories and anything wasm2c rejects.
// Thread-safety: everything here is thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"
#include "wasm/tier.h"

struct wc_rt_api;

namespace wc::wasm::native {

/// Process-wide counters of the native tier (monotonic).
struct NativeStats {
  std::uint64_t compiles = 0;         ///< shared objects built (wasm2c + cc ran)
  std::uint64_t cache_hits = 0;       ///< shared objects taken from the disk cache
  std::uint64_t failures = 0;         ///< native_compile calls that returned an Error
  std::uint64_t last_compile_us = 0;  ///< wall time of the most recent build
};
NativeStats native_stats();

/// The cache file native_compile() uses for `request` (it may not exist yet). Errors: as
/// detect_toolchain (no C compiler / wasm2c).
Result<std::string> native_cache_file(const NativeCompileRequest& request);

/// Builds the shared object for `request` if it is not cached yet; returns its path.
/// `compiled` (optional) says whether this call ran the compiler.
Result<std::string> native_build(const NativeCompileRequest& request, bool* compiled = nullptr);

/// The host runtime table a shared object is bound to (for the bare-harness benchmark).
const wc_rt_api* native_runtime_api();

}  // namespace wc::wasm::native
