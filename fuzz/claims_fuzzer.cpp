// libFuzzer harness: feeds one input to every untrusted-input parser of src/wascap - the wasm
// section scanner and module-claims extraction, the JWT decoder/validator, the typed actor and
// provider claims parsers, and the nkey decoders. Any crash, sanitizer report or abort is a bug:
// these functions must fail with a wc::Error on every input.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "wascap/claims.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace {

constexpr std::int64_t kNow = 1700000000;

void fuzz_module(std::span<const std::uint8_t> bytes) {
  auto sections = wc::wascap::scan_sections(bytes);
  if (sections) {
    // Offsets must stay inside the input.
    for (const auto& s : *sections) {
      if (s.end() > bytes.size() || s.data_offset > s.end()) __builtin_trap();
    }
    (void)wc::wascap::module_hash(bytes);
    (void)wc::wascap::embed_token(bytes, "a.b.c");
  }
  (void)wc::wascap::find_token(bytes);
  (void)wc::wascap::extract_claims(bytes, kNow);
}

void fuzz_token(std::string_view text) {
  if (auto decoded = wc::wascap::decode_jwt(text)) {
    if (auto actor = wc::wascap::parse_actor_claims(decoded->claims)) {
      (void)wc::wascap::serialize_actor_claims(*actor);
      (void)wc::wascap::effective_revision(*actor);
      (void)wc::wascap::expires_human(*actor, kNow);
    }
    if (auto provider = wc::wascap::parse_provider_claims(decoded->claims)) {
      (void)wc::wascap::serialize_provider_claims(*provider);
    }
  }
  (void)wc::wascap::validate_jwt(text, kNow);
  (void)wc::wascap::verify_provider_token(text, kNow);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz_module(bytes);
  fuzz_token(text);
  (void)wc::wascap::decode_public_key(text);
  (void)wc::wascap::decode_seed(text);
  (void)wc::wascap::KeyPair::from_seed(text);
  (void)wc::wascap::validate_call_alias(text);
  (void)wc::wascap::normalize_call_alias(text);
  return 0;
}
