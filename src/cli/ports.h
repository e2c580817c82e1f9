// TCP port checks for the commands that start or use local servers (`wasmcloud up`, `host`):
// flag range checks, "is something listening", "is it the server we expect", "can we bind".
//
// Owned by src/cli. Plain blocking socket calls on 127.0.0.1 (or a given IPv4 host) with short
// timeouts; no shared state, safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.h"

namespace wc::cli {

/// kInvalidArgument "<flag> <port> is not a valid port (1-65535)" unless 1 <= port <= 65535.
Status check_port_range(std::string_view flag, int port);

/// The port in environment variable `name`: `fallback` when it is unset or empty; kInvalidArgument
/// "<name>='<value>' is not a valid port (1-65535)" when it is not a decimal integer in range
/// (issue #17.8: `WASMCLOUD_CTL_PORT=abc` used to become port 0).
Result<int> port_from_env(const char* name, int fallback);

/// True when a TCP connection to host:port (IPv4 address or "localhost") succeeds.
bool port_open(const std::string& host, int port);

/// Polls port_open("127.0.0.1", port) every 50 ms until it succeeds or `timeout` passes.
bool wait_port(int port, std::chrono::milliseconds timeout);

/// True when 127.0.0.1:port can be bound now (SO_REUSEADDR, as servers bind), i.e. nothing
/// listens there.
bool port_bindable(int port);

/// True when the server on host:port greets like a NATS server: its first bytes, within
/// `timeout`, are "INFO " (NATS client protocol).
bool is_nats_server(const std::string& host, int port,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2));

/// True when host:port completes a WebSocket opening handshake (an HTTP/1.1 GET with
/// `Upgrade: websocket` answered `101 Switching Protocols`), as nats-server's `websocket {}`
/// listener does; the client of issue #15 (@wasmcloud/lattice-client-core, washboard) connects
/// there. Says nothing of what speaks over it; the caller knows it asked a NATS server's port.
bool is_websocket_listener(const std::string& host, int port,
                           std::chrono::milliseconds timeout = std::chrono::seconds(2));

/// True when the server on 127.0.0.1:port answers `GET /v2/` like an OCI distribution registry:
/// status 200 or 401, or a Docker-Distribution-Api-Version header.
bool is_oci_registry(int port, std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace wc::cli
