// libFuzzer harness for the link definition decoder of src/rpc (actor-rpc-providers.md 6.1-6.3):
// wc::rpc::decode_linkdef on arbitrary bytes must return a LinkDefinition or a wc::Error, never
// crash. A decoded definition must survive encode_linkdef -> decode_linkdef unchanged, and its
// JSON form (linkdef_to_json) must be built without throwing.
#include <cstddef>
#include <cstdint>
#include <span>

#include "rpc/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto ld = wc::rpc::decode_linkdef(bytes);
  if (!ld) return 0;
  auto back = wc::rpc::decode_linkdef(wc::rpc::encode_linkdef(*ld));
  if (!back || !(*back == *ld)) __builtin_trap();
  (void)wc::rpc::linkdef_to_json(*ld);
  return 0;
}
