// libFuzzer harness for the OCI manifest / image index parser of src/oci (manifest.h,
// claims-oci-par.md 4.7 step 1, 4.8): wc::oci::parse_manifest, which a pull runs on the
// registry's manifest body, must return a ParsedManifest or a wc::Error for arbitrary bytes,
// with and without an index allowed, never crash or throw. An index result carries only the
// platform descriptor, and only when an index is allowed; anything else traps.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (bool allow_index : {true, false}) {
    auto m = wc::oci::parse_manifest(body, allow_index);
    if (!m) continue;
    if (m->platform_manifest && (!allow_index || !m->layers.empty())) __builtin_trap();
  }
  return 0;
}
