// Host data as a provider receives it: the JSON object a host hands a provider on stdin, as one
// line of standard base64 plus '\n' (actor-rpc-providers.md 5.3 step 6, 5.4). The type and its
// codec are the wire layer's (rpc/host_data.h); this header names them in the SDK's namespace and
// adds reading the line from stdin.
//
// Owned by providers/sdk. Pure functions; read_host_data() uses the stream it is given only.
#pragma once

#include <istream>

#include "rpc/host_data.h"
#include "sdk/link.h"

namespace wc::provider {

/// The fields of 5.4: rpc::HostData.
using HostData = rpc::HostData;
using rpc::decode_host_data_line;
using rpc::encode_line;
using rpc::parse_host_data;
using rpc::to_json;

/// Reads exactly one line from `in` and decodes it (decode_host_data_line). Errors: kUnavailable
/// "Invalid host data: stdin closed" when `in` ends first; otherwise the decoder's.
Result<HostData> read_host_data(std::istream& in);

}  // namespace wc::provider
