// CloudEvents 1.0 (JSON structured mode) as the lattice publishes them, plus UUID v4.
//
// Owned by src/lattice. Envelope: control-interface.md 4.2 / actor-rpc-providers.md appendix A:
// exactly the attributes specversion "1.0", type, source (host public key, or "n/a" for linkdef
// events), id (UUID v4, lower-case, hyphenated), time (UTC, microseconds, `Z`, e.g.
// `2023-02-14T19:21:09.011785Z`), datacontenttype "application/json", data (an object). Events go
// to topics::events(lattice); invocation events to topics::rpc_events(lattice). Pure functions,
// thread-safe (publish_event uses the thread-safe Connection).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/nats.h"

namespace wc::lattice {

/// A random (version 4, RFC 4122 variant) UUID in lower-case hyphenated form (36 characters),
/// from libsodium randombytes.
std::string uuid_v4();

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, always six fractional digits), the `time` format of the
/// reference host's events.
std::string rfc3339_micros(std::chrono::system_clock::time_point t);

/// Builds the event envelope with the attributes in the order specversion, type, source, id,
/// time, datacontenttype, data. `type` is the full type (events.h). `id` and `time` default to a
/// fresh uuid_v4() and now.
nlohmann::ordered_json make_cloudevent(std::string_view type, std::string_view source,
                                       const nlohmann::json& data, std::string id = {},
                                       std::string time = {});

/// make_cloudevent(...) serialized compactly.
std::string cloudevent_json(std::string_view type, std::string_view source,
                            const nlohmann::json& data);

/// Publishes an event on `wasmbus.evt.{lattice}`, with a `traceparent` header while the calling
/// thread works for a trace (lattice/tracing.h). Errors: those of Connection::publish.
Status publish_event(Connection& nc, std::string_view lattice, std::string_view type,
                     std::string_view source, const nlohmann::json& data);

/// Publishes an invocation event on `wasmbus.rpcevt.{lattice}` (actor-rpc-providers.md 4.6),
/// with a `traceparent` header as publish_event.
Status publish_rpc_event(Connection& nc, std::string_view lattice, std::string_view type,
                         std::string_view source, const nlohmann::json& data);

}  // namespace wc::lattice
