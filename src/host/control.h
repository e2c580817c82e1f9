// Control-interface request parsing and reply shapes (spec control-interface.md 2.2-2.5).
//
// Owned by src/host. Pure functions from request bodies to typed requests, and from host state
// to reply JSON (link definitions are the wire layer's, rpc/messages.h); the control server
// (host.h) routes subjects to them. Validation follows the OTP "present" rule of spec 0 (a key is
// present when it exists and is neither null nor false, so "", 0, {} and [] count); on failure each
// parser returns Code::kInvalidArgument with the exact ack text of errors.h. Thread-safe (no
// state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "rpc/host_data.h"
#include "rpc/messages.h"

namespace wc::host {

/// Annotations / labels / link values: string -> string.
using StringMap = std::map<std::string, std::string>;

/// `{"accepted": <accepted>, "error": "<error>"}` (spec 2.2). Never throws: bytes of `error`
/// that are not valid UTF-8 are written as U+FFFD.
std::string ack_json(bool accepted, std::string_view error = {});
/// A v1 control reply (v1-and-wadm.md 3; 1.x CtlResponse): `{"success", "message"}` plus
/// `"response"` when given, as a JSON object.
nlohmann::json v1_reply(bool success, std::string_view message,
                        const std::optional<nlohmann::json>& response = std::nullopt);
/// The text sent for a v1 reply. Messages may echo peer bytes (an id or config name from the
/// subject): invalid UTF-8 becomes U+FFFD instead of a type_error that would leave the request
/// unanswered, as in ack_json.
std::string v1_reply_text(const nlohmann::json& reply);

/// Largest instance count one `la` or `scale` request may ask for. Beyond the original, which had
/// no limit (a huge count exhausted the host's memory): a larger count is refused with
/// errors::kTooManyInstances before anything starts.
inline constexpr std::int64_t kMaxInstancesPerActor = 10000;

// --- Size and length limits (ours: the original had none; a 10 MB `actor_ref` was acknowledged
// and parsed, and the host grew by hundreds of MB). Checked before any work; each violation is
// refused with the texts of errors::request_too_large / field_too_long / too_many_entries,
// which name the field and the limit.

/// Largest control request body the host reads (1 MiB, NATS's default max_payload): larger
/// requests are refused (errors::request_too_large) before they are parsed.
inline constexpr std::size_t kMaxControlRequestBytes = 1024 * 1024;
/// Longest OCI / file / bindle reference (`actor_ref`, `new_actor_ref`, `provider_ref`): 4096
/// bytes, the longest reference the OCI distribution spec's clients accept.
inline constexpr std::size_t kMaxReferenceLength = 4096;
/// Longest identifier (actor / provider keys in `actor_id` and `sa`'s `actor_ref`, `link_name`,
/// `contract_id`, annotation and link-value keys).
inline constexpr std::size_t kMaxIdentifierLength = 256;
/// Most annotations one request may carry, and the longest annotation value.
inline constexpr std::size_t kMaxAnnotations = 64;
inline constexpr std::size_t kMaxAnnotationValueLength = 4096;
/// Most link values (`linkdefs.put` `values`) and the longest link value (64 KiB).
inline constexpr std::size_t kMaxLinkValues = 256;
inline constexpr std::size_t kMaxLinkValueLength = 64 * 1024;

/// Ok when a control request of `bytes` bytes may be read (<= kMaxControlRequestBytes); else
/// Code::kResourceExhausted with errors::request_too_large.
Status check_request_size(std::size_t bytes);

/// `cmd.{host}.la` (spec 2.3.2). `count` 0 is treated as 1 (Appendix B #2).
struct LaunchActorRequest {
  std::string actor_ref;
  std::int64_t count = 1;
  StringMap annotations;
};
/// Errors: errors::kInvalidLaunchActor (not JSON, `actor_ref` absent or not a string, bad
/// `count`/`annotations` types, negative count); errors::kTooManyInstances; the length limits
/// above (errors::field_too_long, errors::too_many_entries).
Result<LaunchActorRequest> parse_launch_actor(std::string_view body);

/// `cmd.{host}.sa` (spec 2.3.3): `actor_ref` is the actor public key; count 0 = all.
struct StopActorRequest {
  std::string actor_id;
  std::int64_t count = 0;
  StringMap annotations;
};
/// Errors: errors::kInvalidStopActor (also for a negative count, Appendix B #5); length limits.
Result<StopActorRequest> parse_stop_actor(std::string_view body);

/// `cmd.{host}.scale` (spec 2.3.4): `count` is the desired total.
struct ScaleActorRequest {
  std::string actor_id;
  std::string actor_ref;
  std::int64_t count = 0;
};
/// Errors: errors::kInvalidScaleActor (also for a negative count); errors::kTooManyInstances;
/// length limits.
Result<ScaleActorRequest> parse_scale_actor(std::string_view body);

/// `cmd.{host}.upd` (spec 2.3.5).
struct UpdateActorRequest {
  std::string new_actor_ref;
};
/// Errors: errors::kInvalidUpdateActor; length limits.
Result<UpdateActorRequest> parse_update_actor(std::string_view body);

/// `cmd.{host}.lp` (spec 2.3.6). Errors: errors::kInvalidStartProvider; length limits.
struct StartProviderRequest {
  std::string provider_ref;
  std::string link_name;
  std::string configuration;
  StringMap annotations;
};
Result<StartProviderRequest> parse_start_provider(std::string_view body);

/// `cmd.{host}.sp` (spec 2.3.7): `provider_ref` must be exactly 56 characters.
/// Errors: errors::kInvalidStopProvider.
struct StopProviderRequest {
  std::string provider_id;
  std::string link_name;
};
Result<StopProviderRequest> parse_stop_provider(std::string_view body);

/// `cmd.{host}.stop` (spec 2.3.8). Errors: errors::kUnableToParseStopHost + parser message.
struct StopHostRequest {
  std::int64_t timeout = 500;  ///< ignored, as by the OTP host
};
Result<StopHostRequest> parse_stop_host(std::string_view body);

/// A link definition (spec 2.4.3, actor-rpc-providers 6.1): the wire layer's one type
/// (rpc/messages.h), named here so host call sites stay stable.
using LinkDefinition = rpc::LinkDefinition;
/// The six-field JSON object of a linkdef (events, get.links, KV): rpc::linkdef_to_json.
inline nlohmann::json linkdef_json(const LinkDefinition& ld) { return rpc::linkdef_to_json(ld); }
/// `linkdefs.put` (spec 2.4.4): a sent `id` is ignored and recomputed; the fields are decoded by
/// rpc::linkdef_from_json (its `values` rule: absent/null/{} -> {}, mistyped -> error), after the
/// OTP "present" check of the four ids. Errors: errors::kInvalidLinkdefPut; length limits (ids,
/// kMaxLinkValues, kMaxLinkValueLength).
Result<LinkDefinition> parse_linkdef_put(std::string_view body);
/// `linkdefs.del` (spec 2.4.5): actor_id, contract_id, link_name. Errors: kInvalidLinkdefDel;
/// length limits.
Result<LinkDefinition> parse_linkdef_del(std::string_view body);

/// `auction.actor` (spec 2.4.7). Errors: errors::kInvalidActorAuction; reference length.
struct ActorAuctionRequest {
  std::string actor_ref;
  nlohmann::json constraints = nlohmann::json::object();  ///< as sent
};
Result<ActorAuctionRequest> parse_actor_auction(std::string_view body);

/// `auction.provider` (spec 2.4.8). Errors: errors::kInvalidProviderAuction; length limits.
struct ProviderAuctionRequest {
  std::string provider_ref;
  std::string link_name = "default";
  nlohmann::json constraints = nlohmann::json::object();
};
Result<ProviderAuctionRequest> parse_provider_auction(std::string_view body);

/// True when every constraint key exists in `labels` with an identical string value.
bool labels_satisfy(const StringMap& labels, const nlohmann::json& constraints);

/// The operation a control subject names, after stripping `{ctl}.{prefix}.` (Appendix B #1):
/// e.g. "cmd.NB..X.scale" -> {kind "cmd", host "NB..X", op "scale"}; "ping.hosts" -> {kind
/// "ping", op "hosts"}; "get.claims" -> {kind "get", op "claims"}; "get.NB..X.inv" -> {kind
/// "get", host "NB..X", op "inv"}. Errors: errors::kInvalidTopic when the subject does not start
/// with the prefix or has no operation.
struct ControlTopic {
  std::string kind;
  std::string host;
  std::string op;
};
Result<ControlTopic> parse_control_topic(std::string_view subject, std::string_view ctl_prefix,
                                         std::string_view lattice);

}  // namespace wc::host
