// Builtin host calls (actor-rpc-providers 2.2): wasmcloud:builtin:logging
// (Logging.WriteLog) and wasmcloud:builtin:numbergen (GenerateGuid, Random32, RandomInRange).
#include <sodium.h>

#include <algorithm>

#include <spdlog/spdlog.h>
#include <msgpack.hpp>

#include "host/builtins.h"
#include "host/errors.h"
#include "lattice/cloudevent.h"
#include "rpc/msgpack.h"

namespace wc::host {

namespace {

/// Parses a builtin's msgpack map `payload` (guest-controlled, so through rpc::mp's bounded
/// parser) and calls `fn(key, value)` per member. Errors (kTrap): "failed to deserialize
/// <what>: <detail>", the text the guest sees.
template <class Fn>
Status decode_map(std::span<const std::uint8_t> payload, std::string_view what, Fn&& fn) {
  auto parsed = rpc::mp::parse(payload);
  Status st = parsed ? rpc::mp::for_each_member(parsed->get(), what, fn) : fail(parsed.error());
  if (st) return st;
  return fail(Code::kTrap,
              "failed to deserialize " + std::string(what) + ": " + st.error().message);
}

}  // namespace

Result<Bytes> builtin_logging(const std::string& actor_key, const wasm::HostCall& call) {
  if (call.operation != "Logging.WriteLog")
    return fail(Code::kTrap, errors::unknown_operation(call.operation));
  std::string level, text;
  Status decoded = decode_map(call.payload, "log request",
                              [&](std::string_view k, const msgpack::object& v) -> Status {
                                if (k != "level" && k != "text") return ok();
                                auto str = rpc::mp::as_string(v, k);
                                if (!str) return fail(str.error());
                                (k == "level" ? level : text) = std::move(*str);
                                return ok();
                              });
  if (!decoded) return fail(decoded.error());
  // Unknown levels are logged at debug (actor-rpc-providers 2.2.1 recommendation).
  if (level == "error")
    spdlog::error("[{}] {}", actor_key, text);
  else if (level == "warn")
    spdlog::warn("[{}] {}", actor_key, text);
  else if (level == "info")
    spdlog::info("[{}] {}", actor_key, text);
  else
    spdlog::debug("[{}] {}", actor_key, text);
  return Bytes{};
}

Result<Bytes> builtin_numbergen(const wasm::HostCall& call) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  if (call.operation == "NumberGen.GenerateGuid") {
    pk.pack(lattice::uuid_v4());
  } else if (call.operation == "NumberGen.Random32") {
    pk.pack(static_cast<std::uint32_t>(randombytes_random()));
  } else if (call.operation == "NumberGen.RandomInRange") {
    std::uint32_t min = 0, max = 0;
    Status decoded = decode_map(
        call.payload, "range request", [&](std::string_view k, const msgpack::object& v) -> Status {
          if (k != "min" && k != "max") return ok();
          auto n = rpc::mp::as_uint(v, k);
          if (!n) return fail(n.error());
          if (*n > 0xffffffffull)
            return fail(Code::kInvalidArgument, std::string(k) + " above u32");
          (k == "min" ? min : max) = static_cast<std::uint32_t>(*n);
          return ok();
        });
    if (!decoded) return fail(decoded.error());
    if (min > max) std::swap(min, max);  // Appendix C #7: never hang
    std::uint64_t span = static_cast<std::uint64_t>(max) - min + 1;
    std::uint32_t v = span > 0xffffffffull
                          ? randombytes_random()
                          : min + randombytes_uniform(static_cast<std::uint32_t>(span));
    pk.pack(v);
  } else {
    return fail(Code::kTrap, errors::unknown_operation(call.operation));
  }
  return Bytes(buf.data(), buf.data() + buf.size());
}

}  // namespace wc::host
