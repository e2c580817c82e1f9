// Host::Impl, builtin host calls (actor-rpc-providers 2.2): wasmcloud:builtin:logging
// (Logging.WriteLog) and wasmcloud:builtin:numbergen (GenerateGuid, Random32, RandomInRange).
#include <sodium.h>

#include <algorithm>

#include <spdlog/spdlog.h>
#include <msgpack.hpp>

#include "host/errors.h"
#include "host/host_impl.h"
#include "lattice/cloudevent.h"

namespace wc::host {

Result<Bytes> Host::Impl::builtin_logging(const std::string& actor_key,
                                          const wasm::HostCall& call) {
  if (call.operation != "Logging.WriteLog")
    return fail(Code::kTrap, errors::unknown_operation(call.operation));
  std::string level, text;
  try {
    auto oh =
        msgpack::unpack(reinterpret_cast<const char*>(call.payload.data()), call.payload.size());
    auto obj = oh.get();
    if (obj.type != msgpack::type::MAP) throw msgpack::type_error();
    for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
      auto& kv = obj.via.map.ptr[i];
      auto k = kv.key.as<std::string>();
      if (k == "level") level = kv.val.as<std::string>();
      if (k == "text") text = kv.val.as<std::string>();
    }
  } catch (const std::exception& e) {
    return fail(Code::kTrap, std::string("failed to deserialize log request: ") + e.what());
  }
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

Result<Bytes> Host::Impl::builtin_numbergen(const wasm::HostCall& call) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  if (call.operation == "NumberGen.GenerateGuid") {
    pk.pack(lattice::uuid_v4());
  } else if (call.operation == "NumberGen.Random32") {
    pk.pack(static_cast<std::uint32_t>(randombytes_random()));
  } else if (call.operation == "NumberGen.RandomInRange") {
    std::uint32_t min = 0, max = 0;
    try {
      auto oh =
          msgpack::unpack(reinterpret_cast<const char*>(call.payload.data()), call.payload.size());
      auto obj = oh.get();
      if (obj.type != msgpack::type::MAP) throw msgpack::type_error();
      for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
        auto& kv = obj.via.map.ptr[i];
        auto k = kv.key.as<std::string>();
        if (k == "min") min = kv.val.as<std::uint32_t>();
        if (k == "max") max = kv.val.as<std::uint32_t>();
      }
    } catch (const std::exception& e) {
      return fail(Code::kTrap, std::string("failed to deserialize range request: ") + e.what());
    }
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
