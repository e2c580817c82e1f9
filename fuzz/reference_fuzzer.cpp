// libFuzzer harness for the OCI reference parser of src/oci (claims-oci-par.md 4.3, 4.5, 4.9):
// wc::oci::parse_reference on arbitrary text (with and without scheme stripping) must return a
// Reference or a wc::Error, never crash. The host lowercases a reference before parsing it (4.2
// step 1); for such lowercased text a parsed reference written back with to_string() must parse
// again to the same fields (the written form is canonical). Mixed-case text is only checked for
// not crashing: like the reference, an uppercase first component without '.' or ':' is taken as
// a Docker Hub path, whose written form `docker.io/Abc/...` does not parse again. The string
// helpers of 4.5 and 4.9 run on the same input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "oci/reference.h"

namespace {

void check_round_trip(std::string_view text, bool strip) {
  auto ref = wc::oci::parse_reference(text, strip);
  if (!ref) return;
  const std::string written = ref->to_string();
  auto again = wc::oci::parse_reference(written);
  if (!again || again->registry != ref->registry || again->repository != ref->repository ||
      again->tag != ref->tag || again->digest != ref->digest || again->to_string() != written) {
    __builtin_trap();
  }
  (void)ref->http_host();
  (void)ref->manifest_ref();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool strip : {false, true}) {
    if (auto ref = wc::oci::parse_reference(text, strip)) (void)ref->to_string();
  }
  const std::string lowered = wc::oci::to_lower(text);
  check_round_trip(lowered, false);
  check_round_trip(lowered, true);
  (void)wc::oci::strip_scheme(text);
  (void)wc::oci::credential_server(text);
  (void)wc::oci::cache_name(text);
  return 0;
}
