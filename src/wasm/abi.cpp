// wasmbus host functions (spec/actor-rpc-providers.md 1.2, 1.5), import resolution and the
// shared import dispatcher used by both tiers (src/wasm/tier.h).
#include "wasm/abi.h"

#include <algorithm>
#include <cstring>
#include <exception>

#include "wasm/tier.h"

namespace wc::wasm {

namespace {

/// Strict UTF-8 check (no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::span<const std::uint8_t> s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

tl::unexpected<Error> trap(std::string message) { return fail(Code::kTrap, std::move(message)); }

/// Reads a UTF-8 string argument of `__host_call`; invalid UTF-8 traps (spec 1.2).
Result<std::string> read_utf8(GuestMemory mem, std::uint32_t ptr, std::uint32_t len,
                              std::string_view what) {
  auto bytes = mem.slice(ptr, len);
  if (!bytes) return fail(bytes.error());
  if (!valid_utf8(*bytes)) return trap("invalid UTF-8 in " + std::string(what));
  return to_string(*bytes);
}

}  // namespace

Result<std::span<std::uint8_t>> GuestMemory::slice(std::uint32_t ptr, std::uint32_t len) const {
  if (static_cast<std::uint64_t>(ptr) + len > size) return trap(std::string(kTrapOutOfBounds));
  if (len == 0) return std::span<std::uint8_t>();
  return std::span<std::uint8_t>(data + ptr, len);
}

AbiCall::AbiCall(std::string_view operation, std::span<const std::uint8_t> payload,
                 const HostCallHandler& host_call, const LogHandler& log)
    : operation_(operation),
      payload_(payload.begin(), payload.end()),
      host_call_(host_call),
      log_(log) {}

Status AbiCall::guest_request(GuestMemory mem, std::uint32_t op_ptr, std::uint32_t payload_ptr) {
  if (request_consumed_) return trap("unexpected `__guest_request`");
  auto op = mem.slice(op_ptr, operation_len());
  if (!op) return fail(op.error());
  auto pl = mem.slice(payload_ptr, payload_len());
  if (!pl) return fail(pl.error());
  std::memcpy(op->data(), operation_.data(), op->size());
  if (!pl->empty()) std::memcpy(pl->data(), payload_.data(), pl->size());
  request_consumed_ = true;
  return ok();
}

Status AbiCall::guest_response(GuestMemory mem, std::uint32_t ptr, std::uint32_t len) {
  auto bytes = mem.slice(ptr, len);
  if (!bytes) return fail(bytes.error());
  guest_response_ = Bytes(bytes->begin(), bytes->end());
  return ok();
}

Status AbiCall::guest_error(GuestMemory mem, std::uint32_t ptr, std::uint32_t len) {
  auto text = read_utf8(mem, ptr, len, "`__guest_error`");
  if (!text) return fail(text.error());
  guest_error_ = std::move(*text);
  return ok();
}

Result<std::uint32_t> AbiCall::host_call(GuestMemory mem, std::uint32_t bd_ptr,
                                         std::uint32_t bd_len, std::uint32_t ns_ptr,
                                         std::uint32_t ns_len, std::uint32_t op_ptr,
                                         std::uint32_t op_len, std::uint32_t pld_ptr,
                                         std::uint32_t pld_len) {
  auto binding = read_utf8(mem, bd_ptr, bd_len, "`__host_call` binding");
  if (!binding) return fail(binding.error());
  auto ns = read_utf8(mem, ns_ptr, ns_len, "`__host_call` namespace");
  if (!ns) return fail(ns.error());
  auto op = read_utf8(mem, op_ptr, op_len, "`__host_call` operation");
  if (!op) return fail(op.error());
  auto payload = mem.slice(pld_ptr, pld_len);
  if (!payload) return fail(payload.error());
  // Copy the payload: the handler may block, and nothing may alias guest memory meanwhile.
  const Bytes payload_copy(payload->begin(), payload->end());

  if (!host_call_) {
    host_error_ = "no host call handler";
    return 0u;
  }
  HostCall call{*binding, *ns, *op, payload_copy};
  Result<Bytes> result = fail(Code::kInternal, "host call handler failed");
  try {
    result = host_call_(call);
  } catch (const std::exception& e) {  // a throwing handler must not unwind through the guest
    result = fail(Code::kInternal, std::string("host call handler failed: ") + e.what());
  } catch (...) {
  }
  if (!result) {
    if (result.error().code == Code::kTrap) return fail(result.error());
    host_error_ = result.error().message;
    return 0u;  // spec 1.2 recommendation: 0, correct for every guest SDK
  }
  host_response_ = std::move(*result);
  return 1u;
}

std::uint32_t AbiCall::host_response_len() const {
  return host_response_ ? static_cast<std::uint32_t>(host_response_->size()) : 0;
}

Status AbiCall::host_response(GuestMemory mem, std::uint32_t ptr) {
  if (!host_response_) return trap("unexpected `__host_response`");
  auto dst = mem.slice(ptr, host_response_len());
  if (!dst) return fail(dst.error());
  if (!dst->empty()) std::memcpy(dst->data(), host_response_->data(), dst->size());
  host_response_.reset();
  return ok();
}

std::uint32_t AbiCall::host_error_len() const {
  return host_error_ ? static_cast<std::uint32_t>(host_error_->size()) : 0;
}

Status AbiCall::host_error(GuestMemory mem, std::uint32_t ptr) {
  if (!host_error_) return trap("unexpected `__host_error`");
  auto dst = mem.slice(ptr, host_error_len());
  if (!dst) return fail(dst.error());
  if (!dst->empty()) std::memcpy(dst->data(), host_error_->data(), dst->size());
  host_error_.reset();
  return ok();
}

Status AbiCall::console_log(GuestMemory mem, std::uint32_t ptr, std::uint32_t len) {
  auto text = read_utf8(mem, ptr, len, "`__console_log`");
  if (!text) return fail(text.error());
  if (log_) {
    try {
      log_("console", *text);
    } catch (...) {  // logging must never fail the guest
    }
  }
  return ok();
}

std::uint32_t AbiCall::operation_len() const {
  return static_cast<std::uint32_t>(operation_.size());
}
std::uint32_t AbiCall::payload_len() const { return static_cast<std::uint32_t>(payload_.size()); }

Result<Bytes> AbiCall::finish(const Result<std::int32_t>& guest_call_result) {
  // Spec 1.5 step 7, in this order.
  if (!guest_call_result) return fail(guest_call_result.error());   // 7.1
  if (guest_error_) return fail(Code::kActorError, *guest_error_);  // 7.2
  if (host_error_) return fail(Code::kActorError, *host_error_);    // 7.3
  if (*guest_call_result != 1) {                                    // 7.4
    return fail(Code::kActorError,
                "operation failed with exit code `" + std::to_string(*guest_call_result) + "`");
  }
  return guest_response_ ? std::move(*guest_response_) : Bytes{};  // 7.5
}

// --- import resolution (tier.h) ---

namespace {

struct AbiImportSpec {
  std::string_view field;
  HostFn fn;
  std::string_view params;
  std::string_view results;
};

constexpr AbiImportSpec kAbiImports[] = {
    {"__guest_request", HostFn::kGuestRequest, "ii", ""},
    {"__guest_response", HostFn::kGuestResponse, "ii", ""},
    {"__guest_error", HostFn::kGuestError, "ii", ""},
    {"__host_call", HostFn::kHostCall, "iiiiiiii", "i"},
    {"__host_response_len", HostFn::kHostResponseLen, "", "i"},
    {"__host_response", HostFn::kHostResponse, "i", ""},
    {"__host_error_len", HostFn::kHostErrorLen, "", "i"},
    {"__host_error", HostFn::kHostError, "i", ""},
    {"__console_log", HostFn::kConsoleLog, "ii", ""},
};

std::string import_name(std::string_view module, std::string_view field) {
  return "`" + std::string(module) + "::" + std::string(field) + "`";
}

}  // namespace

Result<HostImport> resolve_import(std::string_view module, std::string_view field,
                                  std::string_view params, std::string_view results) {
  const auto unknown = [&] {
    return trap("unknown import: " + import_name(module, field) + " has not been defined");
  };
  const auto incompatible = [&] {
    return trap("incompatible import type for " + import_name(module, field));
  };
  if (module == "wasmbus" || module == "wapc") {
    for (const auto& spec : kAbiImports) {
      if (spec.field != field) continue;
      if (spec.params != params || spec.results != results) return incompatible();
      return HostImport{spec.fn, spec.field, spec.params, spec.results};
    }
    return unknown();
  }
  if (module == "wasi_snapshot_preview1" || module == "wasi_unstable") {
    std::string_view name, want_params, want_results;
    if (!wasi_signature(field, &name, &want_params, &want_results)) return unknown();
    if (module == "wasi_unstable") {
      if (auto variant = wasi_unstable_variant(field); !variant.empty()) name = variant;
    }
    if (want_params != params || want_results != results) return incompatible();
    return HostImport{HostFn::kWasi, name, want_params, want_results};
  }
  return unknown();
}

namespace {

Result<std::uint64_t> dispatch_import(const HostImport& import, CallContext& ctx, GuestMemory mem,
                                      std::span<const std::uint64_t> args) {
  AbiCall& abi = *ctx.abi;
  const auto a = [&](std::size_t i) { return static_cast<std::uint32_t>(args[i]); };
  const auto need = [&](std::size_t n) { return args.size() >= n; };
  const auto status = [](const Status& s) -> Result<std::uint64_t> {
    if (!s) return fail(s.error());
    return 0;
  };
  switch (import.fn) {
    case HostFn::kGuestRequest:
      if (!need(2)) break;
      return status(abi.guest_request(mem, a(0), a(1)));
    case HostFn::kGuestResponse:
      if (!need(2)) break;
      return status(abi.guest_response(mem, a(0), a(1)));
    case HostFn::kGuestError:
      if (!need(2)) break;
      return status(abi.guest_error(mem, a(0), a(1)));
    case HostFn::kHostCall: {
      if (!need(8)) break;
      auto r = abi.host_call(mem, a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7));
      if (!r) return fail(r.error());
      return *r;
    }
    case HostFn::kHostResponseLen:
      return abi.host_response_len();
    case HostFn::kHostResponse:
      if (!need(1)) break;
      return status(abi.host_response(mem, a(0)));
    case HostFn::kHostErrorLen:
      return abi.host_error_len();
    case HostFn::kHostError:
      if (!need(1)) break;
      return status(abi.host_error(mem, a(0)));
    case HostFn::kConsoleLog:
      if (!need(2)) break;
      return status(abi.console_log(mem, a(0), a(1)));
    case HostFn::kWasi: {
      static const LogHandler kNoLog;
      auto r = wasi_call(import.field, mem, args, ctx.log ? *ctx.log : kNoLog, ctx.deadline);
      if (!r) return fail(r.error());
      return *r;
    }
  }
  return trap("incompatible import type for `" + std::string(import.field) + "`");
}

}  // namespace

Result<std::uint64_t> call_host_import(const HostImport& import, CallContext& ctx, GuestMemory mem,
                                       std::span<const std::uint64_t> args) {
  if (import.fn == HostFn::kHostCall) {
    // The guest waits for the lattice here (providers, other actors, spec 1.2): that time is
    // not the guest's, so the deadline moves later by it (issue #12.8; tier.h CallContext).
    const auto t0 = std::chrono::steady_clock::now();
    auto result = dispatch_import(import, ctx, mem, args);
    ctx.deadline += std::chrono::steady_clock::now() - t0;
    return result;
  }
  auto result = dispatch_import(import, ctx, mem, args);
  // WASI sleeps may block: an invocation whose deadline passed meanwhile ends here instead of
  // running on (tier.h CallContext::deadline).
  if (result && import.fn == HostFn::kWasi && std::chrono::steady_clock::now() >= ctx.deadline)
    return fail(Code::kDeadlineExceeded, std::string(kTrapDeadline));
  return result;
}

}  // namespace wc::wasm
