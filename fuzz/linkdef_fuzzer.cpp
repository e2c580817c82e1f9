// libFuzzer harness for the link definition decoder providers use (providers/sdk/link.h,
// actor-rpc-providers.md 6.1-6.3): wc::provider::decode_linkdef, which the SDK runs on every
// `linkdefs.put|del` message, must return a LinkDefinition or a wc::Error for arbitrary bytes,
// never crash. A decoded definition must survive encode_linkdef -> decode_linkdef and
// linkdef_to_json -> linkdef_from_json unchanged; anything else traps.
#include <cstddef>
#include <cstdint>
#include <span>

#include "sdk/link.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto ld = wc::provider::decode_linkdef(bytes);
  if (!ld) return 0;
  auto back = wc::provider::decode_linkdef(wc::provider::encode_linkdef(*ld));
  if (!back || !(*back == *ld)) __builtin_trap();
  auto from_json = wc::provider::linkdef_from_json(wc::provider::linkdef_to_json(*ld));
  if (!from_json || !(*from_json == *ld)) __builtin_trap();
  (void)wc::provider::link_value(*ld, "PORT");
  return 0;
}
