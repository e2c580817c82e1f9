// libFuzzer harness for the one link definition codec (rpc/messages.h, actor-rpc-providers.md
// 6.1-6.3, control-interface.md 5.3): the production decoders the provider SDK runs on every
// `linkdefs.put|del` message (rpc::decode_linkdef, aliased as provider::decode_linkdef) and the
// host and SDK run on JSON link definitions (rpc::linkdef_from_json: host data, KV values,
// `linkdefs.put` after its limits). The input is read both as msgpack and as JSON text; each must
// give a LinkDefinition or a wc::Error, never crash or throw. A decoded definition must survive
// encode_linkdef -> decode_linkdef and linkdef_to_json -> linkdef_from_json unchanged; anything
// else traps.
#include <cstddef>
#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "rpc/messages.h"

namespace {

void check(const wc::Result<wc::rpc::LinkDefinition>& ld) {
  if (!ld) return;
  auto back = wc::rpc::decode_linkdef(wc::rpc::encode_linkdef(*ld));
  if (!back || !(*back == *ld)) __builtin_trap();
  auto from_json = wc::rpc::linkdef_from_json(wc::rpc::linkdef_to_json(*ld));
  if (!from_json || !(*from_json == *ld)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check(wc::rpc::decode_linkdef(bytes));
  const auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!j.is_discarded()) check(wc::rpc::linkdef_from_json(j));
  return 0;
}
