// Tier 0 as a wc::wasm::CompiledTier (C++23 side of the wabt backend). Internal to src/wasm.
//
// interp_validate() decodes and validates module bytes once (the engine uses the result both to
// check exports/imports and to build tier 0); interp_tier() wraps it into a CompiledTier whose
// instances each own a wabt Store. Thread-safety: as CompiledTier / TierInstance in tier.h.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/error.h"
#include "wasm/interp/wabt_backend.h"
#include "wasm/tier.h"

namespace wc::wasm {

/// Largest number of locals (parameters included) one function may declare; the same bound as
/// the 0.63 runtime's validator (wasmparser's MAX_WASM_FUNCTION_LOCALS).
inline constexpr std::uint32_t kMaxFunctionLocals = 50000;

/// A decoded, validated module plus its import/export shape.
struct ValidatedModule {
  std::shared_ptr<const interp::WabtModule> wabt;
  interp::ModuleInfo info;
};

/// Decodes and validates `wasm` with wabt. Errors: kInvalidArgument "invalid wasm module: <wabt's
/// first diagnostic> (at byte offset N)", or "... too many locals ...".
Result<ValidatedModule> interp_validate(std::span<const std::uint8_t> wasm);

/// Builds tier 0. `imports[i]` is the resolved binding of the module's i-th import (all function
/// imports, all resolvable: the engine checks before calling).
std::unique_ptr<CompiledTier> interp_tier(ValidatedModule module, std::vector<HostImport> imports);

/// Maps a wabt trap message to the shared trap text of tier.h (unknown texts pass through).
std::string canonical_trap(std::string_view wabt_message);

}  // namespace wc::wasm
