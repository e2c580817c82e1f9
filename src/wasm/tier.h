// Internal seam between the engine core (src/wasm/engine.cpp) and its execution tiers:
// tier 0 = the wabt interpreter (src/wasm/interp/), tier 1 = wasm2c native code
// (src/wasm/native/). Not a public header: only src/wasm/ and tests/wasm/ include it.
//
// Division of work (what each side owns):
//   * The engine core validates the module (wabt), checks the required exports, resolves every
//     import with resolve_import() (a module with an unresolvable import never reaches a tier:
//     each invocation fails with the link error instead), builds tier 0 at once and asks tier 1
//     for native code on ONE background worker thread per Engine by calling native_compile().
//   * Per invocation the engine creates the AbiCall, takes an instance (fresh, or a pooled warm
//     one in reuse mode), calls `_initialize` / `_start` when exported (exit status 0 from
//     `_start` is normal), calls `__guest_call`, and applies AbiCall::finish(). An instance whose
//     call ended in an Error is discarded, never pooled again. (A tier may keep its own idle
//     instances as long as instantiate() returns one indistinguishable from a new one; tier 0
//     resets healthy instances to their post-instantiation image, interp_tier.cpp.)
//   * Build: src/wasm/native/CMakeLists.txt (when WC_WASM_NATIVE=ON) adds its sources to the
//     existing static library target `wc_wasm` with target_sources(wc_wasm PRIVATE ...) and its
//     link needs with target_link_libraries(wc_wasm PRIVATE ...); with WC_WASM_NATIVE=OFF the
//     engine links native_stub.cpp instead. Tier 0 lives in the C++17 target `wc_wasm_interp`.
//   * A tier only instantiates and runs code: it binds every import to call_host_import() (or to
//     the matching AbiCall / wasi_call function directly, same semantics), enforces Limits
//     (memory cap, call depth, deadline) and reports faults as Errors with the texts below.
//
// Thread-safety: a CompiledTier is shared by all threads (instantiate() is called concurrently
// and must be thread-safe). A TierInstance is used by one thread at a time (the engine never
// runs two calls on one instance at once) but may move between threads between calls.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"
#include "wasm/abi.h"
#include "wasm/engine.h"

namespace wc::wasm {

// --- Trap texts: both tiers MUST use exactly these (Code::kTrap unless noted). They follow the
// 0.63 runtime's wording (spec 1.5 step 7.1), so clients see the same innermost description. ---
inline constexpr std::string_view kTrapUnreachable = "wasm `unreachable` instruction executed";
inline constexpr std::string_view kTrapOutOfBounds = "out of bounds memory access";
inline constexpr std::string_view kTrapDivByZero = "integer divide by zero";
inline constexpr std::string_view kTrapIntOverflow = "integer overflow";
inline constexpr std::string_view kTrapBadConversion = "invalid conversion to integer";
inline constexpr std::string_view kTrapCallStack = "call stack exhausted";
inline constexpr std::string_view kTrapIndirectType = "indirect call type mismatch";
inline constexpr std::string_view kTrapUndefinedElement = "undefined element";
inline constexpr std::string_view kTrapUninitializedElement = "uninitialized element";
/// Code::kDeadlineExceeded, message exactly this.
inline constexpr std::string_view kTrapDeadline = "invocation deadline exceeded";
/// Code::kResourceExhausted: instantiation needs more memory than Limits::max_memory_bytes.
inline constexpr std::string_view kTrapMemoryCap = "linear memory exceeds the instance memory cap";
/// WASI proc_exit: message is this prefix followed by the decimal i32 status (spec 1.7).
inline constexpr std::string_view kProcExitPrefix = "Exited with i32 exit status ";

/// The per-call context a tier hands to its import thunks. Owned by the engine for the duration
/// of one TierInstance call; `abi` and `log` are never null while a call runs.
struct CallContext {
  AbiCall* abi = nullptr;
  const LogHandler* log = nullptr;
  /// Absolute deadline of the whole invocation (instantiate + init exports + __guest_call),
  /// i.e. start + Limits::deadline, moved later by every `__host_call` by the time it blocked:
  /// call_host_import() adds that time here when the host call returns, so the budget counts
  /// only the guest's own time (issue #12.8). Tiers read it live: the interpreter between
  /// instruction slices, the native tier suspends its watchdog deadline for the host call and
  /// re-arms it with this value afterwards. When reached the tier stops guest code and returns
  /// Code::kDeadlineExceeded / kTrapDeadline; nothing of that call keeps running afterwards. A
  /// WASI function (poll_oneoff sleeps) counts as guest time; call_host_import() checks the
  /// deadline when one returns and then fails with kDeadlineExceeded itself.
  std::chrono::steady_clock::time_point deadline;
};

/// Which host function an import binds to.
enum class HostFn {
  kGuestRequest,     ///< (i32 op_ptr, i32 payload_ptr) -> ()
  kGuestResponse,    ///< (i32 ptr, i32 len) -> ()
  kGuestError,       ///< (i32 ptr, i32 len) -> ()
  kHostCall,         ///< (8 x i32) -> i32
  kHostResponseLen,  ///< () -> i32
  kHostResponse,     ///< (i32 ptr) -> ()
  kHostErrorLen,     ///< () -> i32
  kHostError,        ///< (i32 ptr) -> ()
  kConsoleLog,       ///< (i32 ptr, i32 len) -> ()
  kWasi,             ///< a WASI preview-1 function, dispatched by `field` through wasi_call()
};

/// A resolved import. Signatures are strings of value-type letters: 'i' = i32, 'I' = i64,
/// 'f' = f32, 'F' = f64 (e.g. kHostCall: params "iiiiiiii", results "i").
struct HostImport {
  HostFn fn;
  std::string_view field;    ///< import field name (static storage; the WASI name for kWasi)
  std::string_view params;   ///< expected parameter types
  std::string_view results;  ///< expected result types ("" or "i")
};

/// Resolves one function import of a module. Module names: `wasmbus` and `wapc` (identical,
/// spec 1.2 recommendation) for the nine ABI functions; `wasi_snapshot_preview1` and
/// `wasi_unstable` for WASI (spec 1.7). `params`/`results` are the import's declared signature
/// in the letter code above. Errors (Code::kTrap, the 0.63 link-error texts):
///   "unknown import: `<module>::<field>` has not been defined"
///   "incompatible import type for `<module>::<field>`"
/// Non-function imports (memory, table, global) are always unknown imports (spec 1.4).
Result<HostImport> resolve_import(std::string_view module, std::string_view field,
                                  std::string_view params, std::string_view results);

/// Runs a resolved import: decodes `args` (each wasm argument widened to 64 bits, i32 as its
/// unsigned value, in declaration order) and calls the AbiCall method / wasi_call. Returns the
/// i32 result widened to 64 bits (0 for functions without results), or the Error the tier must
/// turn into the end of the guest call (returned unchanged: code and message). `mem` is the
/// current view of the guest's exported `memory`.
Result<std::uint64_t> call_host_import(const HostImport& import, CallContext& ctx, GuestMemory mem,
                                       std::span<const std::uint64_t> args);

/// Expected wasm signature of WASI preview-1 function `name` in the letter code above
/// (e.g. fd_write: params "iiii", results "i"; proc_exit: "i", ""), or false when `name` is not a
/// preview-1 function (spec 1.7's list). `canonical` receives a static copy of the name.
bool wasi_signature(std::string_view name, std::string_view* canonical, std::string_view* params,
                    std::string_view* results);

/// The internal WASI name a `wasi_unstable` (snapshot 0) import `name` resolves to when its
/// memory layout differs from preview 1 ("unstable.poll_oneoff", "unstable.fd_filestat_get"),
/// or empty when the preview-1 function serves both. wasi_signature / wasi_call accept it.
std::string_view wasi_unstable_variant(std::string_view name);

/// wasi_call() with the invocation deadline: `poll_oneoff` never sleeps past `deadline`.
Result<std::uint32_t> wasi_call(std::string_view name, GuestMemory mem,
                                std::span<const std::uint64_t> args, const LogHandler& log,
                                std::chrono::steady_clock::time_point deadline);

/// One instantiated module in some tier (its own memory, globals, tables).
class TierInstance {
 public:
  virtual ~TierInstance() = default;

  /// True when the module exports a function `name` of type () -> () (for `_initialize`,
  /// `_start`; spec 1.3).
  [[nodiscard]] virtual bool has_void_export(std::string_view name) const = 0;

  /// Calls the () -> () export `name`. Errors: the trap / host-function Error / deadline.
  virtual Status call_void(std::string_view name, CallContext& ctx) = 0;

  /// Calls `__guest_call(op_len, payload_len)` (type (i32, i32) -> i32, checked at load) and
  /// returns its i32 result. Errors: the trap / host-function Error / deadline.
  virtual Result<std::int32_t> call_guest_call(std::uint32_t op_len, std::uint32_t payload_len,
                                               CallContext& ctx) = 0;
};

/// Code for one module in one tier, shared by all of that module's instances.
class CompiledTier {
 public:
  virtual ~CompiledTier() = default;

  [[nodiscard]] virtual Tier tier() const = 0;

  /// Creates a fresh instance: memories (initial size checked against `limits.max_memory_bytes`
  /// -> Code::kResourceExhausted kTrapMemoryCap), tables, globals, data and element segments,
  /// then the wasm start section if any (it may call imports through `ctx`). memory.grow past
  /// the cap returns -1 in the guest. Call depth is bounded by `limits.max_call_depth` (or a
  /// native stack bound of similar size) -> kTrapCallStack. Thread-safe.
  virtual Result<std::unique_ptr<TierInstance>> instantiate(const Limits& limits,
                                                            CallContext& ctx) = 0;
};

/// What the engine hands to the native tier.
struct NativeCompileRequest {
  std::span<const std::uint8_t> wasm;  ///< module bytes (valid, imports all resolvable); owned by
                                       ///< the caller for the duration of the call
  std::string sha256_hex;              ///< lower-case hex SHA-256 of `wasm` (cache key, first half)
  /// What log lines call the module: "actor <display_name>" (Engine::load's name), or "wasm
  /// module <first 12 hex digits>" when empty.
  std::string display_name;
  Limits limits;           ///< instance limits to enforce
  std::string cache_dir;   ///< existing directory for compiled objects (created by Engine::create)
  std::string c_compiler;  ///< C compiler command; empty = "cc"
  /// Set to true when the engine is being destroyed (never null when called by the engine).
  /// native_compile SHOULD poll it (e.g. every 100 ms while waiting for wasm2c / cc), kill the
  /// child processes and return an Error promptly: the engine's destructor waits for it.
  const std::atomic<bool>* cancel = nullptr;
  /// true: only take native code already in the cache, never run a tool (Engine::load calls it
  /// so on its own thread; a dlopen and the template instance, milliseconds). Errors then:
  /// kNotFound (nothing cached for these bytes, or the toolchain not identified yet without
  /// running it), kUnsupported (the cached code lacks what a load checks: `__guest_call` of the
  /// right type, initial memory within the cap), or the load's own error (a damaged file is
  /// left for the background compile, which removes and rebuilds it).
  bool cache_only = false;
};

/// TIER 1 ENTRY POINT — defined by src/wasm/native/ (or by src/wasm/native_stub.cpp when the
/// native tier is not built, returning Code::kUnsupported "native tier unavailable").
/// Blocking: loads the shared object from the cache (key: sha256 + compiler version) or runs
/// wasm2c + the C compiler, then dlopens it. Called by the engine on its single background
/// compile thread, never on an invocation thread; may take seconds. Must be thread-safe with
/// respect to concurrent use of already returned CompiledTiers. Errors are logged by the engine,
/// and the module stays on tier 0 (e.g. kUnavailable "no C compiler", kInternal on a failed
/// compile). The returned CompiledTier::tier() is Tier::kNative.
Result<std::unique_ptr<CompiledTier>> native_compile(const NativeCompileRequest& request);

}  // namespace wc::wasm
