// Host data: the JSON object a host hands a provider on stdin, as one line of standard base64
// plus '\n' (actor-rpc-providers.md 5.3 step 6, 5.4; control-interface.md 3.6.2).
//
// Owned by src/rpc (the wire layer): the host writes the line with encode_line(), the provider
// SDK reads it with decode_host_data_line() (providers/sdk/host_data.h adds reading stdin). Link
// definitions inside use the one codec of rpc/messages.h. Plain values and pure functions;
// thread-safe; decoders take untrusted text and fail with an Error, never throw.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "rpc/messages.h"

namespace wc::rpc {

/// The fields of 5.4 (names as in the JSON).
struct HostData {
  std::string host_id;                             ///< host public key (N...); "_TEST_" = test mode
  std::string lattice_rpc_prefix;                  ///< lattice prefix
  std::string link_name;                           ///< link name this provider instance serves
  std::string lattice_rpc_user_jwt;                ///< NATS user JWT ("" = none)
  std::string lattice_rpc_user_seed;               ///< NATS user seed ("" = none); secret
  std::string lattice_rpc_url = "127.0.0.1:4222";  ///< "host:port" without scheme
  bool lattice_rpc_tls = false;                    ///< accepted as bool or integer
  std::string provider_key;                        ///< provider public key (V...)
  std::string invocation_seed;  ///< cluster seed (SC...), signs outbound invocations; secret
  std::map<std::string, std::string> env_values;  ///< always {} from 0.63 hosts
  std::string instance_id;                        ///< UUID of this start
  std::vector<LinkDefinition> link_definitions;   ///< links known at start
  std::vector<std::string> cluster_issuers;       ///< accepted token issuers (C...)
  std::optional<std::string> config_json;         ///< `configuration` of the start command
  std::uint64_t default_rpc_timeout_ms = 2000;    ///< timeout of outbound calls
  std::optional<std::string> js_domain;
  bool structured_logging = false;
  std::string log_level = "info";

  /// default_rpc_timeout_ms as a duration.
  std::chrono::milliseconds rpc_timeout() const {
    return std::chrono::milliseconds(default_rpc_timeout_ms);
  }
  /// The NATS URL: lattice_rpc_url with "nats://" prepended when it has no scheme.
  std::string nats_url() const;
  /// True when host_id is "_TEST_" (5.4: test mode).
  bool test_mode() const { return host_id == "_TEST_"; }
};

/// Parses the JSON object. Required (as the wasmbus-rpc SDK requires them): host_id,
/// lattice_rpc_prefix, link_name, provider_key, invocation_seed, env_values, link_definitions,
/// cluster_issuers; the others default as in HostData. Each `link_definitions` element is read
/// with linkdef_from_json (rpc/messages.h: its `values` rule). Errors: kInvalidArgument
/// "Invalid host data: <detail>" (errors::kHostDataPrefix).
Result<HostData> parse_host_data(std::string_view json_text);
/// Decodes one stdin line: trims whitespace, standard base64, then parse_host_data().
/// Errors: kInvalidArgument "Invalid host data: ..." (errors::kHostDataPrefix).
Result<HostData> decode_host_data_line(std::string_view line);

/// The JSON object of 5.4 (every field; null for absent optionals).
nlohmann::json to_json(const HostData& hd);
/// base64(to_json(hd).dump()) + "\n": the exact bytes a host writes to the provider's stdin.
std::string encode_line(const HostData& hd);

}  // namespace wc::rpc
