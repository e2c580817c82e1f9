// W3C trace context over NATS: the `traceparent` header in and out (common/trace.h).
//
// Owned by src/lattice. Incoming: trace_for() gives the context for the work a message triggers
// (continuing its `traceparent` header with a new span, or a new trace). Outgoing:
// current_trace_headers() is what publish_event/publish_rpc_event (cloudevent.h) and CtlClient
// (ctl_client.h) attach, and what the host adds to the invocations it sends, so the receiver can
// continue the trace. Thread-safety: uses only the calling thread's context.
#pragma once

#include "common/trace.h"
#include "lattice/nats.h"

namespace wc::lattice {

/// `{("traceparent", format_traceparent(*trace::current()))}` while the calling thread works for
/// a trace, empty otherwise (the message then goes out without headers).
Headers current_trace_headers();

/// Appends the calling thread's `traceparent` to `headers` unless it already has one (or no trace
/// is current). Returns `headers`.
Headers& add_trace_header(Headers& headers);

/// The context for the work `message` triggers: trace::continue_or_start() of its
/// `traceparent` header (absent or malformed: a new trace).
trace::Context trace_for(const Message& message);

}  // namespace wc::lattice
