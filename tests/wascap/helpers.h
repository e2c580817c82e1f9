// Shared helpers of the wascap tests: hex decoding, the spec's tiny module and keys, and raw
// token construction (for tokens our signer would never produce).
#pragma once

#include <string>
#include <string_view>

#include "common/encoding.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc::wascap::testing {

inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nib(hex[i]) << 4 | nib(hex[i + 1])));
  }
  return out;
}

/// Spec 6.4.1: the 14-byte unsigned module with one type section `() -> ()`.
inline Bytes tiny_module() { return from_hex("0061736d01000000010401600000"); }

/// K1 / K2 seeds of spec 1.5 as account, module, ...
inline constexpr std::string_view kK2AccountSeed =
    "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q";
inline constexpr std::string_view kK2Account =
    "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU";
inline constexpr std::string_view kK1ModuleSeed =
    "SMAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2CRY";
inline constexpr std::string_view kK1Module =
    "MAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLXP";
inline constexpr std::string_view kTinyHash =
    "968E98ACD3E2898569441C1769845BC3AD79616458FFCD1CCE35FADB48FF7381";

inline KeyPair account() { return *KeyPair::from_seed(kK2AccountSeed); }
inline KeyPair module_key() { return *KeyPair::from_seed(kK1ModuleSeed); }

/// A token from raw header/payload texts, signed by `signer` over the received segments.
inline std::string raw_token(std::string_view header, std::string_view payload,
                             const KeyPair& signer) {
  std::string input =
      base64url_encode(as_bytes(header)) + "." + base64url_encode(as_bytes(payload));
  const auto sig = signer.sign(as_bytes(input));
  return input + "." + base64url_encode(sig);
}

/// The tiny module with `token` appended as a `wasmcloud_jwt` section.
inline Bytes tiny_with_token(std::string_view token) {
  return append_custom_section(tiny_module(), kJwtSection, as_bytes(token));
}

/// Actor payload for the tiny module with `extra` spliced in as registered claims (e.g.
/// `"exp":1,`) and `meta_extra` inside the wascap object.
inline std::string tiny_payload(std::string_view extra = "", std::string_view iss = kK2Account,
                                std::string_view revision = ",\"wascap_revision\":3") {
  return std::string("{") + std::string(extra) +
         "\"jti\":\"0123456789abcdefghijkl\",\"iat\":1700000000,\"iss\":\"" + std::string(iss) +
         "\",\"sub\":\"" + std::string(kK1Module) + "\",\"wascap\":{\"name\":\"tiny\",\"hash\":\"" +
         std::string(kTinyHash) +
         "\",\"tags\":[],\"caps\":[\"wasmcloud:httpserver\"],\"rev\":1,\"ver\":\"0.1.0\","
         "\"prov\":false}" +
         std::string(revision) + "}";
}

}  // namespace wc::wascap::testing
