// libFuzzer harness for the one host-data codec (rpc/host_data.h, actor-rpc-providers.md 5.4),
// which the host encodes with and the provider SDK decodes with (provider:: names alias these): the
// input is read both as the JSON object (parse_host_data) and as the stdin line a provider receives
// (decode_host_data_line: base64 of that JSON). Each must return HostData or a wc::Error, never
// crash or throw. Parsed host data must come back unchanged through to_json -> parse_host_data, and
// encode_line must decode again; anything else traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rpc/host_data.h"

namespace {

void check(const wc::Result<wc::rpc::HostData>& hd) {
  if (!hd) return;
  const std::string json = wc::rpc::to_json(*hd).dump();
  auto back = wc::rpc::parse_host_data(json);
  if (!back || wc::rpc::to_json(*back).dump() != json) __builtin_trap();
  auto line = wc::rpc::decode_host_data_line(wc::rpc::encode_line(*hd));
  if (!line || wc::rpc::to_json(*line).dump() != json) __builtin_trap();
  (void)hd->nats_url();
  (void)hd->rpc_timeout();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check(wc::rpc::parse_host_data(text));
  check(wc::rpc::decode_host_data_line(text));
  return 0;
}
