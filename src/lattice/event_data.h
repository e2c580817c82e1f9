// Typed builders of the `data` object of every lattice event the host publishes.
//
// Owned by src/lattice, next to events.h (the `type` strings) and cloudevent.h (the envelope).
// One function per event, taking the fields the schema names and returning the JSON object with
// exactly those fields, in the schema's order (control-interface.md 4.4.1-4.4.17; the original's
// host_core/lib/host_core/{actors,providers,host}.ex). Values given here are put on the wire
// unchanged: callers pass the error text already inspected (host/util.h `inspect`). Pure
// functions, thread-safe.
//
// Beyond the schema, documented where it happens: `duration_ms` on invocation events (the
// dashboard's latency chart), added by the publisher after the reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wc::lattice::event_data {

/// Labels and annotations: string -> string.
using StringMap = std::map<std::string, std::string>;

/// 4.4.1 host_started: `{labels, friendly_name, uptime_seconds: 0, version}`.
nlohmann::json host_started(const StringMap& labels, std::string_view friendly_name,
                            std::string_view version);

/// 4.4.2 host_stopped: `{labels}`.
nlohmann::json host_stopped(const StringMap& labels);

/// 4.4.4 actor_started, one per instance: `{public_key, image_ref, api_version: "n/a",
/// instance_id, annotations, claims}`. `claims` is the 4.4.4 claims object (host/inventory.h
/// builds it from the actor's claims).
nlohmann::json actor_started(std::string_view public_key, std::string_view image_ref,
                             std::string_view instance_id, const StringMap& annotations,
                             const nlohmann::json& claims);

/// 4.4.5 actors_started: `{public_key, image_ref, annotations, host_id, claims, count}`; `count`
/// = instances actually started.
nlohmann::json actors_started(std::string_view public_key, std::string_view image_ref,
                              const StringMap& annotations, std::string_view host_id,
                              const nlohmann::json& claims, std::size_t count);

/// 4.4.6 actor_start_failed: `{actor_ref, error}`.
nlohmann::json actor_start_failed(std::string_view actor_ref, std::string_view error);

/// 4.4.7 actors_start_failed: `{public_key, image_ref, annotations, host_id, error}`;
/// `public_key` is "N/A" (kUnknownActorKey) when the claims could not be read.
nlohmann::json actors_start_failed(std::string_view public_key, std::string_view image_ref,
                                   const StringMap& annotations, std::string_view host_id,
                                   std::string_view error);

/// The `public_key` of actors_start_failed when no claims could be read (4.4.7).
inline constexpr std::string_view kUnknownActorKey = "N/A";

/// 4.4.8 actor_stopped: `{public_key, instance_id, annotations}` (the instance's own
/// annotations).
nlohmann::json actor_stopped(std::string_view public_key, std::string_view instance_id,
                             const StringMap& annotations);

/// 4.4.9 actors_stopped: `{host_id, public_key, count, remaining, annotations}`; `count` is the
/// requested number, `remaining` = instances before - requested (may be negative), `annotations`
/// the requested filter.
nlohmann::json actors_stopped(std::string_view host_id, std::string_view public_key,
                              std::int64_t count, std::int64_t remaining, const StringMap& filter);

/// 4.4.10 actor_updated: `{public_key, revision, instance_id}`.
nlohmann::json actor_updated(std::string_view public_key, std::int64_t revision,
                             std::string_view instance_id);

/// 4.4.10 actor_update_failed: `{public_key, revision, instance_id, reason}`.
nlohmann::json actor_update_failed(std::string_view public_key, std::int64_t revision,
                                   std::string_view instance_id, std::string_view reason);

/// Identity of one provider instance, shared by the provider events.
struct ProviderIdentity {
  std::string_view public_key;
  std::string_view link_name;
  std::string_view contract_id;
};

/// 4.4.11 provider_started: `{public_key, image_ref, link_name, contract_id, instance_id,
/// annotations, claims}`; `claims` is the 4.4.11 object (`{}` when the archive's claims are not
/// at hand, as after a restart by the health monitor).
nlohmann::json provider_started(const ProviderIdentity& p, std::string_view image_ref,
                                std::string_view instance_id, const StringMap& annotations,
                                const nlohmann::json& claims);

/// 4.4.12 provider_start_failed: `{provider_ref, link_name, error}`.
nlohmann::json provider_start_failed(std::string_view provider_ref, std::string_view link_name,
                                     std::string_view error);

/// 4.4.13 provider_stopped: `{public_key, link_name, contract_id, instance_id, annotations,
/// reason}`; `reason` is "normal" (kStopNormal) for a requested stop, else the exit reason.
nlohmann::json provider_stopped(const ProviderIdentity& p, std::string_view instance_id,
                                const StringMap& annotations, std::string_view reason);

/// `reason` of provider_stopped after a requested stop (4.4.13).
inline constexpr std::string_view kStopNormal = "normal";

/// 4.4.14 health_check_passed / _failed / _status: `{public_key, contract_id, link_name}`.
nlohmann::json health_check(const ProviderIdentity& p);

/// 4.4.16 refmap_set: `{oci_url, public_key}`; `oci_url` is the reference string of any kind.
nlohmann::json refmap_set(std::string_view reference, std::string_view public_key);

/// One end of an invocation in 4.4.17: an actor (contract id and link name null) or a provider.
struct InvocationEnd {
  std::string_view public_key;
  std::optional<std::string_view> contract_id;  ///< null for an actor
  std::optional<std::string_view> link_name;    ///< null for an actor
};

/// 4.4.17 invocation_succeeded / invocation_failed: `{source, dest, operation, bytes}`, each end
/// `{public_key, contract_id, link_name}`; `bytes` is the payload size in bytes.
nlohmann::json invocation(const InvocationEnd& source, const InvocationEnd& dest,
                          std::string_view operation, std::uint64_t bytes);

}  // namespace wc::lattice::event_data
