// Stand-in for the native tier (tier 1) when src/wasm/native/ is not built (CMake option
// WC_WASM_NATIVE=OFF): every module stays on the interpreter. See src/wasm/tier.h.
#include "wasm/tier.h"

namespace wc::wasm {

Result<std::unique_ptr<CompiledTier>> native_compile(const NativeCompileRequest& /*request*/) {
  return fail(Code::kUnsupported, "native tier unavailable");
}

}  // namespace wc::wasm
