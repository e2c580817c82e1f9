// The Client object and helpers shared by pull and push (see client.h). Pull: pull.cpp; push:
// push.cpp; HTTP and authentication: transport.cpp; the pull cache: cache.cpp.
#include "oci/client.h"

#include "common/encoding.h"

namespace wc::oci {

bool digest_matches(std::string_view digest, std::span<const uint8_t> data) {
  return digest == oci_digest(data);
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Result<PullResult> pull(std::string_view reference, const PullOptions& options) {
  static const Client client;
  return client.pull(reference, options);
}

}  // namespace wc::oci
