// traceparent NATS headers (see tracing.h).
#include "lattice/tracing.h"

#include <string>

namespace wc::lattice {

Headers current_trace_headers() {
  Headers h;
  add_trace_header(h);
  return h;
}

Headers& add_trace_header(Headers& headers) {
  const trace::Context* t = trace::current();
  if (t == nullptr) return headers;
  for (const auto& [name, value] : headers)
    if (name == trace::kTraceparentHeader) return headers;
  headers.emplace_back(std::string(trace::kTraceparentHeader), trace::format_traceparent(*t));
  return headers;
}

trace::Context trace_for(const Message& message) {
  auto header = message.header(trace::kTraceparentHeader);
  if (!header) return trace::continue_or_start(std::nullopt);
  return trace::continue_or_start(std::string_view(*header));
}

}  // namespace wc::lattice
