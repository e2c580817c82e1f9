// libFuzzer harness for the provider archive loader of src/par (par.h, claims-oci-par.md 5.3):
// wc::par::load_archive on arbitrary bytes (gzip or plain tar, as the host reads a pulled
// `.par.gz`) must return a ProviderArchive or a wc::Error, never crash: once as the host loads
// (this platform's target only, signature verified, fixed clock) and once decoding every target
// without verification. A loaded archive's pure follow-ups (binary selection, cache path,
// revision) run too; a selected binary must be one of the collected targets.
#include <cstddef>
#include <cstdint>
#include <span>

#include "par/par.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  wc::par::LoadOptions host;
  host.only_target = "x86_64-linux";
  host.now = 1700000000;
  wc::par::LoadOptions all;
  all.verify_signature = false;
  all.now = 1700000000;
  for (const auto& options : {host, all}) {
    auto archive = wc::par::load_archive(bytes, options);
    if (!archive) continue;
    if (archive->targets.empty()) __builtin_trap();
    for (const auto& [target, binary] : archive->targets) {
      auto selected = wc::par::select_binary(*archive, target);
      if (!selected || selected->size() != binary.size()) __builtin_trap();
    }
    (void)wc::par::effective_revision(archive->claims);
    (void)wc::par::cache_path(archive->claims, "default", "/nonexistent-fuzz-tmp");
  }
  return 0;
}
