// libFuzzer harness for the RPC invocation decoder of src/rpc (actor-rpc-providers.md 3.2, 0.2):
// wc::rpc::decode_invocation on arbitrary bytes must return an Invocation or a wc::Error, never
// crash. A decoded Invocation must survive encode_invocation -> decode_invocation unchanged in
// both key orders (3.2); anything else traps.
#include <cstddef>
#include <cstdint>
#include <span>

#include "rpc/invocation.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto inv = wc::rpc::decode_invocation(bytes);
  if (!inv) return 0;
  for (auto order : {wc::rpc::EntityOrder::kHost, wc::rpc::EntityOrder::kSdk}) {
    const wc::Bytes encoded = wc::rpc::encode_invocation(*inv, order);
    auto back = wc::rpc::decode_invocation(encoded);
    if (!back || !(*back == *inv)) __builtin_trap();
  }
  (void)wc::rpc::is_chunked(*inv);
  return 0;
}
