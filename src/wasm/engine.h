// wc::wasm::Engine: runs wasmCloud actors (core wasm modules) through the wasmbus ABI.
//
// Shapes: an Engine owns configuration and the native-code cache; Engine::load() validates and
// compiles module bytes once into a Module (shared by every instance of an actor, never
// recompiled per instance); Module::invoke() runs one invocation (operation, payload) and returns
// the guest's response bytes or an Error. Two tiers sit behind one Module: tier 0 the wabt
// interpreter (ready at once), tier 1 native code from wasm2c + the system C compiler (compiled in
// the background, cached on disk by module SHA-256 and compiler version); a Module switches to
// tier 1 as soon as it is ready, and a load whose native code is already cached starts on it
// (issue #14.3). Rules: spec/actor-rpc-providers.md sections 1 (ABI), 1.7 (WASI),
// 9 (concurrency); DESIGN.md "WebAssembly execution".
//
// Thread-safety: Engine and Module are thread-safe. Module::invoke may run on many threads at
// once; each call uses its own instance (fresh by default, or a pooled warm one in reuse mode).
// Guest code runs on the calling thread; a guest fault (trap, out-of-bounds, stack overflow,
// deadline) ends that invocation with Code::kTrap / kDeadlineExceeded and harms nothing else.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::wasm {

/// Which execution tier ran an invocation.
enum class Tier { kInterpreter = 0, kNative = 1 };
/// "interpreter" or "native".
std::string_view tier_name(Tier tier);

/// Per-instance limits (issue "Actor runtime"); defaults follow the spec's effective limits.
struct Limits {
  std::uint64_t max_memory_bytes = 256ull << 20;  ///< linear-memory cap; memory.grow past it fails
  std::uint32_t max_call_depth = 10000;           ///< wasm call-stack depth before a trap
  /// Execution budget of one invocation: wall-clock time from its start, not counting the
  /// time the guest waits in `__host_call` handlers (tier.h CallContext::deadline). A guest
  /// over it ends with kDeadlineExceeded "invocation deadline exceeded". The host sets it from
  /// `--max-execution-time-ms` (src/host/config.h); 5 s is this library's default.
  std::chrono::milliseconds deadline{5000};
};

/// Engine configuration.
struct EngineConfig {
  Limits limits;
  bool enable_native = true;  ///< false = interpreter only
  /// Native-code cache; empty = $XDG_CACHE_HOME or ~/.cache/wasmcloud-cpp/native.
  std::string cache_dir;
  /// Empty = "cc" from PATH; a missing compiler means interpreter only (logged).
  std::string c_compiler;
  /// false (default): a fresh instance per invocation, as the 0.63 host.
  bool reuse_instances = false;
  /// Called on the engine's compile thread after each background native-tier compile (wasm2c +
  /// C compiler, or a load from the disk cache): its wall time and whether native code is in
  /// use afterwards. When Engine::load() takes the module's native code from the cache at once,
  /// or when the cache directory is unusable (see Engine::create; then with (0 s, false)), it is
  /// called on the thread calling Engine::load() instead. Not called for modules that never
  /// reach the compile thread otherwise (native tier disabled, engine destroyed first), nor for
  /// a compile cut short by the engine's destruction. May be empty; must be cheap and must not
  /// throw. The host feeds its metrics with it (src/metrics), keeping this library independent
  /// of them.
  std::function<void(std::chrono::duration<double> elapsed, bool ok)> on_native_compile;
};

/// One outbound call made by the guest through `__host_call` (spec 1.2 / 2).
struct HostCall {
  /// Link name ("default" when the guest passes an empty one is the host's rule).
  std::string_view binding;
  std::string_view ns;         ///< namespace: contract id or actor key / call alias
  std::string_view operation;  ///< e.g. "KeyValue.Increment"
  std::span<const std::uint8_t> payload;
};

/// Routes a host call. Success = response bytes (stored as the pending host response, guest gets
/// 1); an Error's message becomes the pending host error verbatim (guest gets 0), so the handler
/// applies the 0.63 prefix itself ("Host call function failed: <router error>", spec 2.1 step 6).
/// An Error with Code::kTrap instead traps the guest and fails the invocation with that message
/// (0.63 behaviour for malformed builtin requests, spec 2.2). Called on the thread running the
/// guest; may block (the guest waits, spec 1.2); the time it blocks does not count against the
/// invocation's budget (Limits::deadline).
using HostCallHandler = std::function<Result<Bytes>(const HostCall&)>;

/// Receives guest log text (WASI stdout/stderr writes, `__console_log`). May be empty.
using LogHandler = std::function<void(std::string_view stream, std::string_view text)>;

/// The outcome of a successful invocation.
struct InvokeOutput {
  Bytes response;  ///< the guest response (empty when `__guest_response` was never called)
  Tier tier;       ///< which tier ran it
};

/// A compiled actor module. Create with Engine::load(). Thread-safe.
class Module {
 public:
  virtual ~Module() = default;

  /// Runs one invocation per spec 1.5: instance (fresh or pooled), `_initialize`/`_start` if
  /// exported, `__guest_call`, outcome rules 7.1–7.5. Errors: kTrap (guest trap, proc_exit,
  /// unknown import, bad ABI use; message = innermost description), kDeadlineExceeded,
  /// kResourceExhausted (memory cap), kActorError (the guest's own error text, an unconsumed
  /// host error, or "operation failed with exit code `N`").
  virtual Result<InvokeOutput> invoke(std::string_view operation,
                                      std::span<const std::uint8_t> payload,
                                      const HostCallHandler& host_call,
                                      const LogHandler& log = {}) = 0;

  /// The best tier ready now (kNative once background compilation has finished).
  [[nodiscard]] virtual Tier current_tier() const = 0;

  /// Blocks until the native tier is ready or has failed (for tests and benchmarks).
  /// Returns true when native code is in use. `timeout` bounds the wait.
  virtual bool wait_native(std::chrono::milliseconds timeout) = 0;

  /// Hex SHA-256 of the module bytes (the native cache key's first half).
  [[nodiscard]] virtual const std::string& sha256_hex() const = 0;
};

/// Owns configuration, the native compile queue and its on-disk cache. Thread-safe.
///
/// Compile order. One background thread per Engine compiles native code, one module at a time
/// (a compile of the 1.8 MB echo actor is seconds of a core; the host's 2-core budget). Among
/// the modules waiting, it takes the one that served the most invocations on the interpreter
/// since its load (traffic: those calls are 100x slower than native ones), modules with equal
/// traffic in load order; so a module nobody calls waits behind busy ones. No module starves:
/// one overtaken by kMaxOvertaken = 4 modules loaded after it is taken next, whatever their
/// traffic. A compile running is never interrupted; a module unloaded while waiting leaves the
/// queue; destroying the Engine cancels the running compile and abandons the rest (those
/// modules stay on the interpreter).
class Engine {
 public:
  virtual ~Engine() = default;

  /// Creates an engine; does not fail today (Result kept for future checks). A native-code
  /// cache directory that cannot be created or written (e.g. a path under a regular file) is
  /// not an error: one `warn` line names the directory and the reason, every module then runs
  /// on the interpreter and each load reports a failed native compile through
  /// EngineConfig::on_native_compile (issue #11.5). A cache that breaks later only fails that
  /// module's compile (an `info` line; it stays on the interpreter).
  static Result<std::shared_ptr<Engine>> create(EngineConfig config);

  /// Validates and compiles module bytes: tier 0 at once and tier 1 queued in the background
  /// (see "Compile order"), unless native code is disabled. When the native cache already holds
  /// an object for exactly these bytes (same SHA-256 and toolchain), the Module is returned on
  /// tier 1 at once instead: the object is dlopened and instantiated into its template on this
  /// thread (echo, 1.8 MB: a few ms), and neither wabt validation nor the interpreter runs
  /// (an object exists only for bytes wasm2c validated; the checks below are made on it, and a
  /// module failing any of them, or a damaged object, takes the full path and its exact error).
  /// The cache directory is trusted as its objects are run (native/native.h). Errors:
  /// kInvalidArgument with a clear message for malformed or
  /// invalid wasm (truncated, bad opcode, too many locals, declared memory over the cap) or a
  /// module that does not export `memory` and `__guest_call`. `display_name` names the module
  /// in the engine's log lines (the background compile's start, end or failure), e.g. the
  /// host's "echo (MBCF...)"; empty = the module's hash.
  virtual Result<std::shared_ptr<Module>> load(std::span<const std::uint8_t> bytes,
                                               std::string_view display_name = {}) = 0;

  [[nodiscard]] virtual const EngineConfig& config() const = 0;
};

}  // namespace wc::wasm
