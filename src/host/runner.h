// Running a host as a process: termination-signal handling for `wasmcloud host` and
// `wasmcloud up`.
//
// Owned by src/host. block_termination_signals() must be called on the main thread before any
// other thread starts (threads inherit the mask); wait_for_termination() then waits for SIGINT /
// SIGTERM or for the host to stop itself (`cmd.{host}.stop`). Not thread-safe (main thread only).
#pragma once

#include <chrono>
#include <functional>

#include "host/host.h"

namespace wc::host {

/// Blocks SIGINT and SIGTERM in the calling thread (and the threads it creates later), so they
/// are only received through wait_for_termination().
void block_termination_signals();

/// Waits until SIGINT/SIGTERM arrives (returns the signal number) or `stopped()` turns true
/// (returns 0). `stopped` is polled every 100 ms.
int wait_for_termination(const std::function<bool()>& stopped);

}  // namespace wc::host
