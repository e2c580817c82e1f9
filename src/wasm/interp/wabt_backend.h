// Tier 0 backend: the wabt 1.0.32 interpreter behind a small C++17-clean interface.
//
// The wabt interp headers compile only as C++17 under g++ 12, so they are included by exactly one
// translation unit (wabt_backend.cpp, built with CXX_STANDARD 17 in the wc_wasm_interp target).
// This header uses only the C++17 standard library and is included from both sides; the C++23
// adapter (interp_tier.cpp) turns it into the wc::wasm::CompiledTier of src/wasm/tier.h.
//
// Thread-safety: a WabtModule is immutable after wabt_load() and shared by all threads. Each
// WabtInstance owns its own wabt interp::Store (a Store is single-threaded), so instances never
// share interpreter state; one WabtInstance must be used by one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wc::wasm::interp {

/// External kinds, as in the wasm binary format.
enum class Kind { kFunc = 0, kTable = 1, kMemory = 2, kGlobal = 3, kTag = 4 };

/// A function signature in letter code: 'i' i32, 'I' i64, 'f' f32, 'F' f64, 'v' v128,
/// 'r' funcref, 'e' externref.
struct Signature {
  std::string params;
  std::string results;
};

/// One import of the module, in declaration order.
struct ImportInfo {
  std::string module;
  std::string field;
  Kind kind = Kind::kFunc;
  Signature sig;  ///< functions only
};

/// One export of the module.
struct ExportInfo {
  std::string name;
  Kind kind = Kind::kFunc;
  Signature sig;  ///< functions only
};

/// What the engine needs to know about a validated module.
struct ModuleInfo {
  std::vector<ImportInfo> imports;
  std::vector<ExportInfo> exports;
  /// Initial pages of the first defined memory (64 KiB each), 0 if none.
  std::uint64_t memory_initial_pages = 0;
  bool has_defined_memory = false;
};

/// Largest table size (elements) a module may declare or grow to: wabt allocates tables eagerly,
/// so an unbounded declaration would let a module allocate gigabytes per instance.
inline constexpr std::uint64_t kMaxTableElements = 1000000;

/// Validated, decoded module (wabt ModuleDesc). Opaque outside wabt_backend.cpp.
class WabtModule;

/// Decodes and validates module bytes with wabt (ReadBinaryInterp, which runs the validator),
/// rejecting functions with more than `max_locals` locals (params included) and tables declared
/// larger than kMaxTableElements. On failure returns
/// null and sets `error` to a one-line description (wabt's first diagnostic and its offset).
std::shared_ptr<const WabtModule> wabt_load(const std::uint8_t* data, std::size_t size,
                                            std::uint32_t max_locals, ModuleInfo* info,
                                            std::string* error);

/// Called by an instance for every import call. Returns false when the host function failed: the
/// guest call then ends (the caller of WabtInstance::call keeps the failure details itself).
/// `args`: each argument widened to 64 bits (i32 zero-extended). `result`: i32/i64 result bits.
/// `memory`/`memory_size`: current view of the exported memory (null/0 if none).
class HostDispatch {
 public:
  virtual ~HostDispatch() = default;
  virtual bool call(std::size_t import_index, const std::uint64_t* args, std::size_t nargs,
                    std::uint64_t* result, std::uint8_t* memory, std::uint64_t memory_size) = 0;
};

/// How one call into the guest ended.
struct RunOutcome {
  enum class Kind { kOk, kTrap, kHostError, kDeadline };
  Kind kind = Kind::kOk;
  std::string trap;          ///< wabt's trap message (kTrap)
  std::uint64_t result = 0;  ///< first result's bits (kOk)
};

/// One instance with its own Store. Created by WabtInstance::create.
class WabtInstance {
 public:
  virtual ~WabtInstance() = default;

  /// Instantiates `module`: memory capped at `max_pages` (memory.grow past it returns -1), call
  /// stack of `max_depth` frames, every function import bound to `dispatch` (non-function imports
  /// must not exist). The wasm start function is NOT run here (see run_start). On failure returns
  /// null and sets `error` (e.g. a data segment out of bounds).
  static std::unique_ptr<WabtInstance> create(std::shared_ptr<const WabtModule> module,
                                              std::uint64_t max_pages, std::uint32_t max_depth,
                                              std::string* error);

  /// Runs the module's start function if it has one (kOk otherwise). `deadline` is read live
  /// between slices: a host function may move it later (time blocked in host calls does not
  /// count, tier.h CallContext::deadline).
  virtual RunOutcome run_start(HostDispatch* dispatch,
                               const std::chrono::steady_clock::time_point& deadline) = 0;

  /// True when export `name` is a function with signature `sig`.
  [[nodiscard]] virtual bool has_func_export(const std::string& name,
                                             const Signature& sig) const = 0;

  /// Calls function export `name` (which must exist, see has_func_export) with i32/i64 `args`,
  /// in slices of instructions, checking `deadline` (read live, see run_start) between slices.
  virtual RunOutcome call(const std::string& name, const std::vector<std::uint64_t>& args,
                          HostDispatch* dispatch,
                          const std::chrono::steady_clock::time_point& deadline) = 0;

  /// Restores the state right after instantiation (memory bytes, mutable globals, table
  /// elements) so the instance can serve as a fresh one again. Only possible for modules without
  /// a start function and without passive segments, when memory and tables kept their initial
  /// sizes; returns false otherwise (discard the instance then).
  virtual bool reset() = 0;

  /// Current exported `memory` view (data may move on memory.grow).
  virtual std::uint8_t* memory_data() = 0;
  virtual std::uint64_t memory_size() const = 0;
};

}  // namespace wc::wasm::interp
