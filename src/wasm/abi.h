// wc::wasm::AbiCall: the wasmbus host functions, written once for both tiers.
//
// One AbiCall object holds the per-invocation state of spec/actor-rpc-providers.md 1.5 (pending
// request, guest response/error, host response/error) and implements every `wasmbus` / `wapc`
// import of spec 1.2 over a GuestMemory view. A tier's import thunks decode their wasm arguments,
// call the matching method and turn an Error into a trap carrying Error::message (spec 1.5 7.1).
// finish() applies the outcome rules 7.1–7.5. Not thread-safe: one AbiCall per running
// invocation, used only by the thread running that guest.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"
#include "wasm/engine.h"

namespace wc::wasm {

/// The guest's exported linear memory, valid for the duration of one host-function call
/// (memory.grow may move it). All ABI pointers are unsigned 32-bit offsets into it.
struct GuestMemory {
  std::uint8_t* data = nullptr;
  std::uint64_t size = 0;

  /// Bounds-checked view of [ptr, ptr+len). Errors: kTrap "out of bounds memory access".
  Result<std::span<std::uint8_t>> slice(std::uint32_t ptr, std::uint32_t len) const;
};

/// Per-invocation wasmbus state and host functions (spec 1.2, 1.5).
class AbiCall {
 public:
  AbiCall(std::string_view operation, std::span<const std::uint8_t> payload,
          const HostCallHandler& host_call, const LogHandler& log);

  // --- imports (module `wasmbus`, also `wapc`); Error => the tier traps with its message ---
  Status guest_request(GuestMemory mem, std::uint32_t op_ptr, std::uint32_t payload_ptr);
  Status guest_response(GuestMemory mem, std::uint32_t ptr, std::uint32_t len);
  Status guest_error(GuestMemory mem, std::uint32_t ptr, std::uint32_t len);
  /// Returns 1 on success, 0 on failure (spec 1.2 recommendation), or an Error to trap.
  Result<std::uint32_t> host_call(GuestMemory mem, std::uint32_t bd_ptr, std::uint32_t bd_len,
                                  std::uint32_t ns_ptr, std::uint32_t ns_len, std::uint32_t op_ptr,
                                  std::uint32_t op_len, std::uint32_t pld_ptr,
                                  std::uint32_t pld_len);
  std::uint32_t host_response_len() const;
  Status host_response(GuestMemory mem, std::uint32_t ptr);
  std::uint32_t host_error_len() const;
  Status host_error(GuestMemory mem, std::uint32_t ptr);
  Status console_log(GuestMemory mem, std::uint32_t ptr, std::uint32_t len);

  /// Lengths passed to `__guest_call(op_len, payload_len)`.
  std::uint32_t operation_len() const;
  std::uint32_t payload_len() const;

  /// Outcome of the invocation per spec 1.5 step 7, given how `__guest_call` ended
  /// (its i32 return value, or the trap/deadline Error that stopped it).
  Result<Bytes> finish(const Result<std::int32_t>& guest_call_result);

 private:
  std::string operation_;
  Bytes payload_;
  bool request_consumed_ = false;
  std::optional<Bytes> guest_response_;
  std::optional<std::string> guest_error_;
  std::optional<Bytes> host_response_;
  std::optional<std::string> host_error_;
  const HostCallHandler& host_call_;
  const LogHandler& log_;
};

/// WASI preview 1 (`wasi_snapshot_preview1`, and `wasi_unstable`) as spec 1.7 sets it up,
/// dispatched by import field name so both tiers share one implementation. `args` are the wasm
/// arguments widened to 64 bits in declaration order. Returns the WASI errno (0 = success), or an
/// Error to trap: `proc_exit(code)` traps with "Exited with i32 exit status <code>" (Code::kTrap;
/// the engine treats exit 0 from `_start` as normal completion). Unknown names return ENOSYS (52).
Result<std::uint32_t> wasi_call(std::string_view name, GuestMemory mem,
                                std::span<const std::uint64_t> args, const LogHandler& log);

/// True when `name` is a WASI preview-1 function this host provides (all of spec 1.7's list).
bool wasi_provides(std::string_view name);

}  // namespace wc::wasm
