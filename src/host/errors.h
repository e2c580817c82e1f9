// Client-visible texts of the lattice host: control-interface ack errors, lifecycle errors,
// RPC/invocation errors, host-call routing errors and policy messages.
//
// Owned by src/host. Texts come from the OTP host 0.63 (spec control-interface.md 2.5, 3.2-3.5,
// 2.8; actor-rpc-providers.md 2.1, 2.5, 4.4, 4.7, 8.3); clients and tests match on them, so they
// are spelled here once. Texts marked "ours" are this host's where the original crashed or stayed
// silent. Constants and small formatters only; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wc::host::errors {

// --- Control interface acks (control-interface 2.5) ------------------------------------------
inline constexpr std::string_view kInvalidTopic = "Invalid request topic";
inline constexpr std::string_view kIncorrectHost =
    "Command received by incorrect host and could not be processed";
inline constexpr std::string_view kInvalidLaunchActor = "Invalid launch actor JSON request";
inline constexpr std::string_view kInvalidStopActor = "Invalid request to stop actor";
inline constexpr std::string_view kInvalidScaleActor = "Invalid scale actor JSON request";
inline constexpr std::string_view kInvalidUpdateActor = "Invalid JSON request to update actor";
/// Ours (the original had no limit): `la` / `scale` count over kMaxInstancesPerActor.
inline constexpr std::string_view kTooManyInstances =
    "Requested instance count exceeds this host's limit of 10000 instances per actor";
/// Ours (the original read any size): a control request over kMaxControlRequestBytes.
inline std::string request_too_large(std::size_t bytes, std::size_t limit) {
  return "Control request of " + std::to_string(bytes) + " bytes exceeds this host's limit of " +
         std::to_string(limit) + " bytes";
}
/// Ours: a string field (or one entry of a map field) longer than its limit (control.h).
inline std::string field_too_long(std::string_view field, std::size_t limit) {
  return "Field `" + std::string(field) + "` exceeds this host's limit of " +
         std::to_string(limit) + " bytes";
}
/// Ours: a link name that cannot be one NATS subject token (it becomes the last token of the
/// provider's RPC subject `wasmbus.rpc.{lattice}.{provider}.{link_name}`, spec 4.1).
inline constexpr std::string_view kLinkNameNotSubjectToken =
    "Field `link_name` must be one NATS subject token (no '.', '*', '>' or whitespace)";
/// Ours: a map field (annotations, link values) with more entries than its limit (control.h).
inline std::string too_many_entries(std::string_view field, std::size_t limit) {
  return "Field `" + std::string(field) + "` exceeds this host's limit of " +
         std::to_string(limit) + " entries";
}
/// Ours: a start past the host's instance limit (--max-instances, WASMCLOUD_MAX_INSTANCES);
/// `current` = instances running plus those accepted and not yet started.
inline std::string host_instance_limit(std::int64_t requested, std::int64_t current,
                                       std::int64_t limit) {
  return "Cannot start " + std::to_string(requested) + " more actor instance(s): this host has " +
         std::to_string(current) + " running or starting and its limit is " +
         std::to_string(limit) + " (--max-instances, WASMCLOUD_MAX_INSTANCES)";
}
/// Ours: prefix of the error published when a lifecycle task failed unexpectedly (an exception
/// escaped it); followed by the exception's text.
inline constexpr std::string_view kUnexpectedFailurePrefix = "Unexpected failure: ";
/// Followed by the reason (control-interface 2.3.5).
inline constexpr std::string_view kLiveUpdatePrefix = "Unable to perform live update: ";
/// Live update of a file:// reference while file loading is disabled (2.3.5).
inline constexpr std::string_view kLiveUpdateFromFileDisabled =
    "actor from local filesystem is disabled";
/// Followed by the parser message (2.3.8; ours where OTP stayed silent).
inline constexpr std::string_view kUnableToParseStopHost = "Unable to parse stop host command: ";
inline constexpr std::string_view kInvalidStartProvider =
    "Improperly formed start provider command JSON";
inline constexpr std::string_view kProviderAlreadyRunning =
    "Provider with that link name is already running on this host";
inline constexpr std::string_view kInvalidStopProvider = "Invalid JSON request for stop provider";
inline constexpr std::string_view kInvalidLinkdefPut = "Invalid link definition put request";
inline constexpr std::string_view kInvalidLinkdefDel = "Invalid link definition removal request";
inline constexpr std::string_view kRegistryPutFailed = "Failed to update registry credential map";
inline constexpr std::string_view kInvalidActorAuction = "Invalid JSON request for actor auction";
inline constexpr std::string_view kInvalidProviderAuction =
    "Invalid JSON request to auction provider";
/// 3.6.1 step 4: the start error when (key, link name) already runs (event text, inspected).
inline constexpr std::string_view kProviderAlreadyRunningOnHost =
    "Provider is already running on this host";
/// provider_start_failed `error` of a duplicate `lp` (2.3.6, not inspected).
inline std::string provider_duplicate_ignored(std::string_view ref, std::string_view link) {
  return "Ignoring request to start provider, " + std::string(ref) + " (" + std::string(link) +
         ") is already running";
}
/// 3.6.1 step 3: "Starting provider <key> denied: <message>".
inline std::string starting_provider_denied(std::string_view key, std::string_view message) {
  return "Starting provider " + std::string(key) + " denied: " + std::string(message);
}

/// "Target host <host> is not active, stop request ignored." (2.3.8).
inline std::string host_not_active(std::string_view host) {
  return "Target host " + std::string(host) + " is not active, stop request ignored.";
}

// --- v1 control interface (issue #15, host/control_v1.h) -------------------------------------
// `message` texts of `{success: false, message}` replies. Texts copied from wasmCloud 1.x
// (crates/host/src/wasmbus/ctl.rs, nats/ctl.rs) are marked "1.x"; the rest are ours.
/// 1.x: a subject this host does not serve.
inline constexpr std::string_view kV1UnsupportedSubject = "unsupported subject";
/// A body that is not a JSON object (or empty where one is required).
inline constexpr std::string_view kV1BodyNotJsonObject = "request body must be a JSON object";
/// A field of the wrong JSON type: "field `count` must be a non-negative integer".
inline std::string v1_field_type(std::string_view field, std::string_view expected) {
  return "field `" + std::string(field) + "` must be " + std::string(expected);
}
/// A required field that is absent or empty.
inline std::string v1_field_missing(std::string_view field) {
  return "field `" + std::string(field) + "` is required";
}
/// An id that is not 1..128 characters of [A-Za-z0-9_-] (topics::is_valid_v1_id).
inline std::string v1_bad_id(std::string_view field) {
  return "field `" + std::string(field) +
         "` must be 1 to 128 characters of letters, digits, '_' or '-'";
}
/// The body names another host than the subject.
inline std::string v1_host_mismatch(std::string_view body_host, std::string_view subject_host) {
  return "host_id `" + std::string(body_host) + "` in the body does not match host `" +
         std::string(subject_host) + "` of the subject";
}
/// `provider.start` (no host in the subject) naming a host that does not answer.
inline std::string v1_unknown_host(std::string_view host) {
  return "no host `" + std::string(host) + "` answers on this lattice";
}
/// `max_instances` and `count` both given with different values.
inline constexpr std::string_view kV1CountConflict =
    "fields `max_instances` and `count` disagree; send one of them";
/// 1.x: label put of a reserved key.
inline constexpr std::string_view kV1HostcoreLabel = "hostcore.* labels cannot be set dynamically";
/// Ours: label delete of a reserved key (1.x allowed it; the host's own facts cannot go).
inline constexpr std::string_view kV1HostcoreLabelDelete =
    "hostcore.* labels cannot be deleted dynamically";
/// 1.x success texts.
inline constexpr std::string_view kV1LabelPut = "successfully put label";
inline constexpr std::string_view kV1LabelDeleted = "successfully deleted label";
inline constexpr std::string_view kV1LabelDeletedNone =
    "successfully deleted label (no such label)";
inline constexpr std::string_view kV1StopHost = "successfully handled stop host";
inline constexpr std::string_view kV1StartProvider = "successfully started provider";
inline constexpr std::string_view kV1StopProvider = "successfully stopped provider";
inline constexpr std::string_view kV1RegistriesPut = "successfully put registries";
/// 1.x: provider start / stop of an id that runs / does not run here.
inline constexpr std::string_view kV1ProviderRunning = "provider with that ID is already running";
inline constexpr std::string_view kV1ProviderNotRunning = "provider with that ID is not running";
/// 1.x: component update of a component not running here.
inline std::string v1_component_not_found(std::string_view id) {
  return "component " + std::string(id) + " not found";
}
/// 1.x: component update to the reference it already runs.
inline std::string v1_component_already_updated(std::string_view id, std::string_view ref) {
  return "component " + std::string(id) + " already updated to " + std::string(ref);
}
/// 1.x: component update accepted.
inline std::string v1_component_updating(std::string_view id, std::string_view from,
                                         std::string_view to) {
  return "component " + std::string(id) + " updating from " + std::string(from) + " to " +
         std::string(to);
}
/// Ours: a v1 request names actor `key` by a new id while it runs here as component `existing`.
inline std::string v1_id_taken(std::string_view existing, std::string_view key) {
  return "component " + std::string(key) + " already runs on this host as `" +
         std::string(existing) + "`";
}

// --- Actor lifecycle (control-interface 3.1-3.5) ---------------------------------------------
inline constexpr std::string_view kScaleWithoutReference =
    "Scaling actor up without an OCI reference is not currently supported";
inline constexpr std::string_view kActorFileLoadDisabled = "actor file loading is disabled";
inline constexpr std::string_view kProviderFileLoadDisabled = "provider file loading is disabled";
/// `actors_start_failed.error` on a policy denial; followed by the request id (3.2 step 3).
inline constexpr std::string_view kPolicyDeniedStartPrefix =
    "Policy denied starting actor, request: ";
/// The start's error on a policy denial; followed by the policy message (3.2 step 3).
inline constexpr std::string_view kStartingActorDeniedPrefix = "Starting actor denied: ";
/// Prefix of scale failures in the log (3.3).
inline constexpr std::string_view kErrorScalingPrefix = "Error scaling actor ";
/// Live update: claims not cached or revision not newer (2.3.5 "error"); the texts below keep
/// 0.63's "error" first and say why in parentheses (issue #17: a bare "error" told users nothing).
inline constexpr std::string_view kLiveUpdateGenericError = "error";
/// Live update of an actor whose claims this host does not know (not running here).
inline std::string live_update_unknown_actor(std::string_view key) {
  return std::string(kLiveUpdateGenericError) + " (no claims known for actor " + std::string(key) +
         "; live update needs it running)";
}
/// Live update to a module whose revision is not greater than the running one.
inline std::string live_update_not_newer(long long new_rev, long long old_rev) {
  return std::string(kLiveUpdateGenericError) + " (the new module's revision " +
         std::to_string(new_rev) + " is not greater than the running revision " +
         std::to_string(old_rev) + ")";
}

/// Step 4 of spec 3.2: a second reference for an actor key that already runs.
inline std::string other_reference(std::string_view public_key, std::string_view ref) {
  return "Cannot start new instance of " + std::string(public_key) + " from ref '" +
         std::string(ref) +
         "', it is already running with different reference. To upgrade an actor, use live "
         "update.";
}

// --- Inbound actor RPC and outbound host calls -----------------------------------------------
// The invocation texts (deserialize, anti-forgery, not running, missing claim/link, request
// timeout, "Host call function failed: ") live in rpc/errors.h.

/// "unknown builtin namespace: `<ns>`" (a trap in 0.63).
inline std::string unknown_builtin(std::string_view ns) {
  return "unknown builtin namespace: `" + std::string(ns) + "`";
}
/// An in-process invocation refused because its actor's queue is full (ActorSupervisor::
/// kMaxQueuedLocal / kMaxQueuedLocalBytes; ours). The builtin HTTP server answers it 503.
inline constexpr std::string_view kTooManyQueued =
    "too many invocations are waiting for this actor; try again later";
/// provider_start_failed `error` of `lp` with a `builtin://` reference the host does not have
/// (ours; the builtin providers are builtin_http.h's).
inline std::string unknown_builtin_provider(std::string_view ref) {
  return "unknown builtin provider `" + std::string(ref) + "` (this host has builtin://httpserver)";
}
/// "unknown operation: `<op>`" (a trap in 0.63).
inline std::string unknown_operation(std::string_view op) {
  return "unknown operation: `" + std::string(op) + "`";
}

// --- v1 links and named config (issue #15; all ours: wasmCloud 1.x words its own) ------------
/// A v1 request body that is not the JSON expected; followed by what was wrong.
inline std::string v1_bad_request(std::string_view subject_op, std::string_view detail) {
  return "Invalid " + std::string(subject_op) + " request: " + std::string(detail);
}
/// A config name that is not 1..128 of [A-Za-z0-9_-].
inline std::string v1_bad_config_name(std::string_view name) {
  return "Invalid config name `" + std::string(name) +
         "`: use 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'";
}
inline constexpr std::string_view kV1ConfigNotObject =
    "config must be a JSON object mapping string keys to string values";
/// A config entry whose value is not a string.
inline std::string v1_config_value_not_string(std::string_view key) {
  return "config value of key `" + std::string(key) + "` must be a string";
}
/// config.get of a name with no config (success true, no `response`, as the client expects).
inline std::string v1_config_not_found(std::string_view name) {
  return "Configuration `" + std::string(name) + "` not found";
}
/// A named config a link refers to that does not exist in CONFIGDATA.
inline std::string v1_link_config_missing(std::string_view name) {
  return "named config `" + std::string(name) + "` does not exist (put it with config.put first)";
}
/// A JetStream bucket the request needs could not be used; followed by the cause.
inline std::string v1_store_unavailable(std::string_view bucket, std::string_view detail) {
  return "Lattice store " + std::string(bucket) + " unavailable: " + std::string(detail);
}
/// link.put whose WIT interface maps to a wasmbus contract but whose ids do not resolve to the
/// actor and provider keys that contract needs.
inline std::string v1_link_unresolved(std::string_view which, std::string_view id,
                                      std::string_view want) {
  return "link " + std::string(which) + " `" + std::string(id) + "` is not a known " +
         std::string(want) + " (a public key or a v1 id a host has started)";
}
inline constexpr std::string_view kV1LinkNotFound = "Link not found (nothing deleted)";

// --- Policy (control-interface 2.8, actor-rpc-providers 8) -----------------------------------
inline constexpr std::string_view kPolicyDisabled = "Policy evaluation disabled, allowing action";
inline constexpr std::string_view kPolicyDecodeFailed = "Policy response failed to decode";
inline constexpr std::string_view kPolicyNoResponders =
    "No responders to policy request (policy server not listening?)";
inline constexpr std::string_view kPolicyTimedOut = "Policy request timed out";

}  // namespace wc::host::errors
