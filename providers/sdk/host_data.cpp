// Reading the host-data line from stdin (see host_data.h); the codec is rpc/host_data.cpp's.
#include "sdk/host_data.h"

#include <string>

#include "sdk/errors.h"

namespace wc::provider {

Result<HostData> read_host_data(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return fail(Code::kUnavailable, std::string(errors::kHostDataPrefix) + "stdin closed");
  }
  return decode_host_data_line(line);
}

}  // namespace wc::provider
