// wc::host::note_host_call_wait / host_call_waits: a per-thread count of the times a guest's
// host call on this thread waited for something outside the guest's own run: a lattice request
// (RpcDispatcher::request, up to the RPC timeout) or a free slot of a same-host callee
// (ActorSupervisor::call_local). ActorSupervisor's inline rule (try_run_here) reads it around
// each observed run: a run that waited is never counted as fast, however short the wait was,
// since its next wait may last the whole timeout and an inline run would hold its calling
// thread (an HTTP event loop, a NATS delivery thread) for that long (issue #14.2, #14.4).
//
// Header-only. Thread-safety: each thread sees only its own counter.
#pragma once

#include <cstdint>

namespace wc::host {

namespace detail {
inline thread_local std::uint64_t host_call_waits = 0;
}  // namespace detail

/// Records that a host call on this thread is about to wait outside the guest's run.
inline void note_host_call_wait() { ++detail::host_call_waits; }

/// Waits recorded on this thread so far (monotonic; compare two readings).
inline std::uint64_t host_call_waits() { return detail::host_call_waits; }

}  // namespace wc::host
