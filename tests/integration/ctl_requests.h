// Test support for integration tests: control-interface requests (control-interface.md 2) sent
// from a test's own NATS connection, with the JSON reply parsed. Stateless free functions; safe
// from any thread the connection is.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "lattice/nats.h"

namespace wc::testing {

/// Sends `body` on `subject` and parses the reply as JSON. A failed request (timeout, no
/// responders) gives `{"__error": <message>}` so the test can assert on it; a reply that is not
/// JSON gives a discarded value.
inline nlohmann::json ctl_request(lattice::Connection& nc, const std::string& subject,
                                  const std::string& body,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto r = nc.request(subject, body, timeout);
  if (!r) return nlohmann::json{{"__error", r.error().message}};
  return nlohmann::json::parse(r->text(), nullptr, false);
}

/// `wasmbus.ctl.{lattice}.cmd.{host_id}.{op}` (2.3) with a 10 s timeout (a scale pulls first).
inline nlohmann::json host_cmd(lattice::Connection& nc, const std::string& host_id,
                               const std::string& op, const std::string& body,
                               const std::string& lattice = "default") {
  return ctl_request(nc, "wasmbus.ctl." + lattice + ".cmd." + host_id + "." + op, body,
                     std::chrono::seconds(10));
}

/// `wasmbus.ctl.{lattice}.get.{host_id}.inv` (2.2.3): the host's inventory.
inline nlohmann::json host_inventory(lattice::Connection& nc, const std::string& host_id,
                                     const std::string& lattice = "default") {
  return ctl_request(nc, "wasmbus.ctl." + lattice + ".get." + host_id + ".inv", "");
}

/// Polls host_inventory() every 100 ms until the host answers with its inventory; false when it
/// did not within `timeout` (a host process still starting, or one that died).
inline bool wait_host_answers(lattice::Connection& nc, const std::string& host_id,
                              std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!host_inventory(nc, host_id).contains("host_id")) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

}  // namespace wc::testing
