// libFuzzer harness for the RPC reply decoder of src/rpc (actor-rpc-providers.md 3.3):
// wc::rpc::decode_response on arbitrary bytes must return an InvocationResponse or a wc::Error,
// never crash. A decoded reply must survive encode_response -> decode_response unchanged in the
// bin-msg styles (kHost, kSdk); the kHostReference style (msg as str) must decode too.
#include <cstddef>
#include <cstdint>
#include <span>

#include "rpc/invocation.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto resp = wc::rpc::decode_response(bytes);
  if (!resp) return 0;
  for (auto style : {wc::rpc::ResponseStyle::kHost, wc::rpc::ResponseStyle::kSdk}) {
    auto back = wc::rpc::decode_response(wc::rpc::encode_response(*resp, style));
    if (!back || !(*back == *resp)) __builtin_trap();
  }
  if (!wc::rpc::decode_response(
          wc::rpc::encode_response(*resp, wc::rpc::ResponseStyle::kHostReference))) {
    __builtin_trap();
  }
  return 0;
}
