// CloudEvent `type` strings of every lattice event, in one place.
//
// Owned by src/lattice. Names from control-interface.md 4.3 (catalogue) and
// actor-rpc-providers.md 4.6 / appendix A. The full type is `com.wasmcloud.lattice.<name>`.
// Constants only; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace wc::lattice::events {

/// Prefix of every event type.
inline constexpr std::string_view kTypePrefix = "com.wasmcloud.lattice.";

/// `source` of linkdef_set / linkdef_deleted events (control-interface.md 4.2).
inline constexpr std::string_view kSourceNotApplicable = "n/a";

// Published on wasmbus.evt.{lattice}.
inline constexpr std::string_view kHostStarted = "com.wasmcloud.lattice.host_started";
inline constexpr std::string_view kHostStopped = "com.wasmcloud.lattice.host_stopped";
inline constexpr std::string_view kHostHeartbeat = "com.wasmcloud.lattice.host_heartbeat";
inline constexpr std::string_view kActorStarted = "com.wasmcloud.lattice.actor_started";
inline constexpr std::string_view kActorsStarted = "com.wasmcloud.lattice.actors_started";
inline constexpr std::string_view kActorStartFailed = "com.wasmcloud.lattice.actor_start_failed";
inline constexpr std::string_view kActorsStartFailed = "com.wasmcloud.lattice.actors_start_failed";
inline constexpr std::string_view kActorStopped = "com.wasmcloud.lattice.actor_stopped";
inline constexpr std::string_view kActorsStopped = "com.wasmcloud.lattice.actors_stopped";
inline constexpr std::string_view kActorUpdated = "com.wasmcloud.lattice.actor_updated";
inline constexpr std::string_view kActorUpdateFailed = "com.wasmcloud.lattice.actor_update_failed";
inline constexpr std::string_view kProviderStarted = "com.wasmcloud.lattice.provider_started";
inline constexpr std::string_view kProviderStartFailed =
    "com.wasmcloud.lattice.provider_start_failed";
inline constexpr std::string_view kProviderStopped = "com.wasmcloud.lattice.provider_stopped";
inline constexpr std::string_view kHealthCheckPassed = "com.wasmcloud.lattice.health_check_passed";
inline constexpr std::string_view kHealthCheckFailed = "com.wasmcloud.lattice.health_check_failed";
inline constexpr std::string_view kHealthCheckStatus = "com.wasmcloud.lattice.health_check_status";
inline constexpr std::string_view kLinkdefSet = "com.wasmcloud.lattice.linkdef_set";
inline constexpr std::string_view kLinkdefDeleted = "com.wasmcloud.lattice.linkdef_deleted";
inline constexpr std::string_view kRefmapSet = "com.wasmcloud.lattice.refmap_set";
/// v1 events (v1-and-wadm.md 4.1), published on `wasmbus.evt.{lattice}.{name}`
/// (topics::v1_event_subject): a named config was written / deleted (`{config_name}`). The v1
/// linkdef_set / linkdef_deleted use the kLinkdefSet / kLinkdefDeleted types with v1 data.
inline constexpr std::string_view kConfigSet = "com.wasmcloud.lattice.config_set";
inline constexpr std::string_view kConfigDeleted = "com.wasmcloud.lattice.config_deleted";

// Published on wasmbus.rpcevt.{lattice} (actor-rpc-providers.md 4.6).
inline constexpr std::string_view kInvocationSucceeded =
    "com.wasmcloud.lattice.invocation_succeeded";
inline constexpr std::string_view kInvocationFailed = "com.wasmcloud.lattice.invocation_failed";

/// Never emitted by the OTP host but awaited by wash (control-interface.md 2.6); listed so that
/// clients can name them.
inline constexpr std::string_view kActorStopFailed = "com.wasmcloud.lattice.actor_stop_failed";
inline constexpr std::string_view kProviderStopFailed =
    "com.wasmcloud.lattice.provider_stop_failed";

// v1 (wasmCloud 1.x) events, issue #15: short names; each is published on
// topics::v1_event_subject(lattice, name) with CloudEvent type type_of(name) (wasmCloud 1.x
// crates/host/src/event.rs, the client's cloud-events.d.ts). The host publishes them beside the
// OTP events above, whichever protocol caused the change (host/control_v1.h).
namespace v1 {
inline constexpr std::string_view kComponentScaled = "component_scaled";
inline constexpr std::string_view kComponentScaleFailed = "component_scale_failed";
inline constexpr std::string_view kProviderStarted = "provider_started";
inline constexpr std::string_view kProviderStartFailed = "provider_start_failed";
inline constexpr std::string_view kProviderStopped = "provider_stopped";
inline constexpr std::string_view kHealthCheckPassed = "health_check_passed";
inline constexpr std::string_view kHealthCheckFailed = "health_check_failed";
inline constexpr std::string_view kHealthCheckStatus = "health_check_status";
inline constexpr std::string_view kLabelsChanged = "labels_changed";
inline constexpr std::string_view kHostStarted = "host_started";
inline constexpr std::string_view kHostStopped = "host_stopped";
inline constexpr std::string_view kHostHeartbeat = "host_heartbeat";
}  // namespace v1

/// `com.wasmcloud.lattice.<name>` for a short event name such as `actor_started`.
inline std::string type_of(std::string_view name) {
  return std::string(kTypePrefix) + std::string(name);
}

/// The short name of an event type (`actor_started`), or the input unchanged when it lacks the
/// prefix.
inline std::string_view short_name(std::string_view type) {
  if (type.substr(0, kTypePrefix.size()) == kTypePrefix) type.remove_prefix(kTypePrefix.size());
  return type;
}

}  // namespace wc::lattice::events
