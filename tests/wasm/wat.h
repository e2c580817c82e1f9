// wat_to_wasm: WebAssembly text -> binary with libwabt, in-process (tests only).
// C++17-clean (compiled in a C++17 target because wabt's headers require it). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wc::wasm::testing {

/// Parses `wat` text (one module) and writes its binary. With `validate` the module is also
/// validated (as wat2wasm does). On failure returns an empty vector and sets `error` to wabt's
/// diagnostics.
std::vector<std::uint8_t> wat_to_wasm(const std::string& wat, std::string* error,
                                      bool validate = true);

}  // namespace wc::wasm::testing
