// Every NATS subject, queue group, bucket and header name the lattice uses, in one place.
//
// Owned by src/lattice. Subjects are built by pure functions of the lattice prefix, host id,
// actor/provider key and (for the control interface) the control topic prefix. Sources:
// control-interface.md sections 1.2, 2.1, 2.7, 4.1, 5.1-5.5, 5.8, appendix A;
// actor-rpc-providers.md sections 3.6, 4.2, 6.2, 6.3. Texts are exact: clients match on them.
// All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wc::lattice::topics {

// --- Defaults and fixed prefixes (control-interface.md 1.2) -----------------------------------

/// Default control topic prefix (`WASMCLOUD_CTL_TOPIC_PREFIX`).
inline constexpr std::string_view kDefaultCtlPrefix = "wasmbus.ctl";
/// Default lattice prefix (`WASMCLOUD_LATTICE_PREFIX`).
inline constexpr std::string_view kDefaultLattice = "default";
/// RPC subjects always start with this (never affected by the control prefix).
inline constexpr std::string_view kRpcPrefix = "wasmbus.rpc";
/// Event subjects: `wasmbus.evt.{lattice}` (control-interface.md 4.1).
inline constexpr std::string_view kEventPrefix = "wasmbus.evt";
/// Invocation-event subjects: `wasmbus.rpcevt.{lattice}` (actor-rpc-providers.md 4.6).
inline constexpr std::string_view kRpcEventPrefix = "wasmbus.rpcevt";
/// Config-service subjects: `wasmbus.cfg.{lattice}.req` (control-interface.md 2.7).
inline constexpr std::string_view kConfigPrefix = "wasmbus.cfg";

// --- Control interface operations (control-interface.md 2.1, 2.3, 2.4) ------------------------

/// Host-scoped command operations, the last token of `{ctl}.{lattice}.cmd.{host}.{op}`.
inline constexpr std::string_view kCmdLaunchActor = "la";
inline constexpr std::string_view kCmdStopActor = "sa";
inline constexpr std::string_view kCmdScaleActor = "scale";
inline constexpr std::string_view kCmdUpdateActor = "upd";
inline constexpr std::string_view kCmdLaunchProvider = "lp";
inline constexpr std::string_view kCmdStopProvider = "sp";
inline constexpr std::string_view kCmdStopHost = "stop";

/// `{ctl}.{lattice}`: the control prefix of one lattice; also the queue group of the
/// lattice-scoped `get.*` and `linkdefs.*` subscriptions (control-interface.md 2.1).
std::string ctl_root(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// Queue group of `get.*` and `linkdefs.*`: `{ctl}.{lattice}` (e.g. `wasmbus.ctl.default`).
std::string ctl_queue_group(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);

/// `{ctl}.{lattice}.cmd.{host}.{op}` (op: one of the kCmd* constants).
std::string ctl_cmd(std::string_view lattice, std::string_view host, std::string_view op,
                    std::string_view ctl = kDefaultCtlPrefix);
/// Host subscription `{ctl}.{lattice}.cmd.{host}.*` (no queue group).
std::string ctl_cmd_subscribe(std::string_view lattice, std::string_view host,
                              std::string_view ctl = kDefaultCtlPrefix);
/// Host inventory `{ctl}.{lattice}.get.{host}.inv` (subscribed as is, no queue group).
std::string ctl_get_inventory(std::string_view lattice, std::string_view host,
                              std::string_view ctl = kDefaultCtlPrefix);
/// Host discovery `{ctl}.{lattice}.ping.hosts` (no queue group; every host replies).
std::string ctl_ping_hosts(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// Lattice subscription `{ctl}.{lattice}.get.*` (queue group ctl_queue_group()).
std::string ctl_get_subscribe(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.get.claims`.
std::string ctl_get_claims(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.get.links`.
std::string ctl_get_links(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// Lattice subscription `{ctl}.{lattice}.linkdefs.*` (queue group ctl_queue_group()).
std::string ctl_linkdefs_subscribe(std::string_view lattice,
                                   std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.linkdefs.put`.
std::string ctl_linkdefs_put(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.linkdefs.del`.
std::string ctl_linkdefs_del(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.registries.put` (no queue group; every host applies it).
std::string ctl_registries_put(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// Lattice subscription `{ctl}.{lattice}.auction.>` (no queue group).
std::string ctl_auction_subscribe(std::string_view lattice,
                                  std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.auction.actor`.
std::string ctl_auction_actor(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.{lattice}.auction.provider`.
std::string ctl_auction_provider(std::string_view lattice,
                                 std::string_view ctl = kDefaultCtlPrefix);

/// `{ctl}.{lattice}.{operation}`: the full control subject of an operation such as `get.claims`
/// (the inverse of ctl_operation).
std::string ctl_subject(std::string_view lattice, std::string_view operation,
                        std::string_view ctl = kDefaultCtlPrefix);

/// The operation part of a control subject: `subject` with the literal `{ctl}.{lattice}.` prefix
/// removed (e.g. `cmd.NB6P….la`, `get.claims`, `auction.actor`), as control-interface.md 1.2
/// recommends (instead of the OTP positional split). nullopt when the prefix does not match or
/// nothing follows it.
std::optional<std::string> ctl_operation(std::string_view subject, std::string_view lattice,
                                         std::string_view ctl = kDefaultCtlPrefix);

// --- v1 control interface (wasmCloud 1.x, issue #15; ../shared/spec/v1-and-wadm.md 3) ---------

/// The version token of v1 control subjects: `{ctl}.v1.{lattice}.{resource}.{op}[.{arg}]`.
inline constexpr std::string_view kV1Version = "v1";
/// `{ctl}.v1.{lattice}`: the root of every v1 control subject (e.g. `wasmbus.ctl.v1.default`).
std::string v1_ctl_root(std::string_view lattice, std::string_view ctl = kDefaultCtlPrefix);
/// `{ctl}.v1.{lattice}.{operation}`, e.g. operation `host.ping` or `component.scale.{host}`; also
/// subscription subjects with wildcards (`component.*.{host}`) and queue group names.
std::string v1_ctl_subject(std::string_view lattice, std::string_view operation,
                           std::string_view ctl = kDefaultCtlPrefix);
/// The operation part of a v1 control subject (`host.get.NB...`), nullopt when `subject` does not
/// start with `{ctl}.v1.{lattice}.` or nothing follows it.
std::optional<std::string> v1_ctl_operation(std::string_view subject, std::string_view lattice,
                                            std::string_view ctl = kDefaultCtlPrefix);

// --- Events (control-interface.md 4.1) --------------------------------------------------------

/// Lattice events `wasmbus.evt.{lattice}` (independent of the control prefix).
std::string events(std::string_view lattice);
/// Invocation events `wasmbus.rpcevt.{lattice}`.
std::string rpc_events(std::string_view lattice);

// --- RPC (actor-rpc-providers.md 4.2) ---------------------------------------------------------

/// Actor RPC subject `wasmbus.rpc.{lattice}.{actor_key}`; the host subscribes with the queue
/// group rpc_actor_queue_group() (= the subject itself, 4.3).
std::string rpc_actor(std::string_view lattice, std::string_view actor_key);
/// Queue group of an actor's RPC subscription: the subject string itself.
std::string rpc_actor_queue_group(std::string_view lattice, std::string_view actor_key);
/// Provider RPC subject `wasmbus.rpc.{lattice}.{provider_key}.{link_name}`.
std::string rpc_provider(std::string_view lattice, std::string_view provider_key,
                         std::string_view link_name);
/// Queue group wasmbus-rpc providers use on their RPC subject.
inline constexpr std::string_view kProviderQueueGroup = "rpc";
/// `wasmbus.rpc.{lattice}.{provider}.{link}.linkdefs.put` (host publishes, msgpack linkdef).
std::string rpc_linkdefs_put(std::string_view lattice, std::string_view provider_key,
                             std::string_view link_name);
/// `wasmbus.rpc.{lattice}.{provider}.{link}.linkdefs.del`.
std::string rpc_linkdefs_del(std::string_view lattice, std::string_view provider_key,
                             std::string_view link_name);
/// `wasmbus.rpc.{lattice}.{provider}.{link}.health` (host requests, msgpack placeholder).
std::string rpc_health(std::string_view lattice, std::string_view provider_key,
                       std::string_view link_name);
/// `wasmbus.rpc.{lattice}.{provider}.{link}.shutdown` (host requests, JSON `{"host_id"}`).
std::string rpc_shutdown(std::string_view lattice, std::string_view provider_key,
                         std::string_view link_name);

/// Lattice prefix and actor key of an actor RPC subject.
struct RpcActorSubject {
  std::string lattice;
  std::string actor_key;
};
/// Parses `wasmbus.rpc.{lattice}.{actor_key}`: exactly four non-empty `.`-separated tokens, the
/// first two `wasmbus` and `rpc` (actor-rpc-providers.md 4.2 "Topic validation"). nullopt
/// otherwise (the reference drops such messages without a reply).
std::optional<RpcActorSubject> parse_rpc_actor(std::string_view subject);

// --- Config service (control-interface.md 2.7) ------------------------------------------------

/// `wasmbus.cfg.{lattice}.req`.
std::string config_request(std::string_view lattice);

// --- JetStream: metadata bucket, legacy cache, object store -----------------------------------

/// JetStream API prefix: `$JS.API`, or `$JS.{domain}.API` when a non-empty domain is given.
std::string js_api(std::string_view js_domain = {});
/// `{api}.STREAM.CREATE.{stream}`.
std::string js_stream_create(std::string_view stream, std::string_view js_domain = {});
/// `{api}.STREAM.INFO.{stream}`.
std::string js_stream_info(std::string_view stream, std::string_view js_domain = {});
/// `{api}.STREAM.DELETE.{stream}`.
std::string js_stream_delete(std::string_view stream, std::string_view js_domain = {});
/// `{api}.CONSUMER.CREATE.{stream}`.
std::string js_consumer_create(std::string_view stream, std::string_view js_domain = {});

/// Metadata KV bucket `LATTICEDATA_{lattice}` (control-interface.md 5.1).
std::string kv_bucket(std::string_view lattice);
/// Its stream `KV_LATTICEDATA_{lattice}`.
std::string kv_stream(std::string_view lattice);
/// Its subject filter `$KV.LATTICEDATA_{lattice}.>`.
std::string kv_stream_subjects(std::string_view lattice);
/// Put/delete subject of one key: `$KV.LATTICEDATA_{lattice}.{key}`, or
/// `$JS.{domain}.API.$KV.LATTICEDATA_{lattice}.{key}` with a non-empty JS domain (5.4).
std::string kv_key(std::string_view lattice, std::string_view key, std::string_view js_domain = {});
/// Key part of a delivered KV message subject
/// (`[$JS.{domain}.API.]$KV.LATTICEDATA_{lattice}.{key}`) together with the lattice prefix; nullopt
/// when the subject is not a metadata KV subject.
struct KvSubject {
  std::string lattice;
  std::string key;
};
std::optional<KvSubject> parse_kv_subject(std::string_view subject);

/// KV key prefixes (control-interface.md 5.2).
inline constexpr std::string_view kLinkdefKeyPrefix = "LINKDEF_";
inline constexpr std::string_view kClaimsKeyPrefix = "CLAIMS_";
inline constexpr std::string_view kRefmapKeyPrefix = "REFMAP_";
/// v1 id alias keys `V1ID_{id}` (v1 control interface, issue #15): the value
/// `{"id": id, "public_key": key}` records the module/service public key a v1 component or
/// provider id names, so that every host resolves ids another host chose (MetadataCache::
/// put_v1_alias / resolve_v1_id).
inline constexpr std::string_view kV1IdKeyPrefix = "V1ID_";
/// `V1ID_{id}` (`id` must pass is_valid_v1_id).
std::string v1_id_key(std::string_view id);
/// A v1 component or provider id this host accepts: 1..128 characters of `[A-Za-z0-9_-]` (a
/// NATS KV key token and never a subject separator or wildcard). Public keys pass too.
bool is_valid_v1_id(std::string_view id);
/// `LINKDEF_{id}`.
std::string linkdef_key(std::string_view linkdef_id);
/// `CLAIMS_{public_key}`.
std::string claims_key(std::string_view public_key);
/// `REFMAP_{base64url-nopad(reference)}` (e.g. `wasmcloud.azurecr.io/echo:0.3.4` →
/// `REFMAP_d2FzbWNsb3VkLmF6dXJlY3IuaW8vZWNobzowLjMuNA`).
std::string refmap_key(std::string_view reference);
/// Link definition id: upper-case hex SHA-256 of `actor_id ‖ contract_id ‖ link_name`
/// (control-interface.md 5.2, actor-rpc-providers.md 6.1).
std::string linkdef_id(std::string_view actor_id, std::string_view contract_id,
                       std::string_view link_name);

/// Legacy metadata stream `LATTICECACHE_{lattice}` (control-interface.md 5.8) and its subjects
/// `lc.{lattice}.>`.
std::string legacy_cache_stream(std::string_view lattice);
std::string legacy_cache_subjects(std::string_view lattice);

/// Object store (chunking, actor-rpc-providers.md 3.6): stream `OBJ_{bucket}`.
std::string obj_stream(std::string_view bucket);
/// Chunk subject `$O.{bucket}.C.{nuid}`.
std::string obj_chunk_subject(std::string_view bucket, std::string_view nuid);
/// Meta subject `$O.{bucket}.M.{base64url-with-padding(object name)}`.
std::string obj_meta_subject(std::string_view bucket, std::string_view object_name);
/// Object name of a chunked response: `{invocation_id}-r`.
std::string obj_response_name(std::string_view invocation_id);

// --- v1: lattice-scoped links and named config, wadm_state (issue #15, A2) -------------------
// v1-and-wadm.md 2.1, 2.2, 3, 4.1; wasmCloud 1.x crates/control-interface (subjects) and wadm
// crates/wadm/src/storage (state keys).

/// `wasmbus.ctl.v1.{lattice}`: the v1 control prefix of one lattice (v1-and-wadm.md 1.3); also
/// the queue group of the lattice-scoped `link.*` and `config.*` subscriptions (one host answers).
std::string v1_lattice_root(std::string_view lattice);
/// Subscription `wasmbus.ctl.v1.{lattice}.link.*` (`link.get`, `link.put`, `link.del`).
std::string v1_links_subscribe(std::string_view lattice);
/// Subscription `wasmbus.ctl.v1.{lattice}.config.*.*` (`config.get|put|del.{name}`).
std::string v1_config_subscribe(std::string_view lattice);
/// `wasmbus.ctl.v1.{lattice}.link.{op}` (op: get, put, del).
std::string v1_link(std::string_view lattice, std::string_view op);
/// `wasmbus.ctl.v1.{lattice}.config.{op}.{name}` (op: get, put, del).
std::string v1_config(std::string_view lattice, std::string_view op, std::string_view name);
/// v1 event subject `wasmbus.evt.{lattice}.{name}` (v1-and-wadm.md 4.1; `name` is the short
/// event name, e.g. `config_set`).
std::string v1_event_subject(std::string_view lattice, std::string_view name);

/// KV bucket of named config: `CONFIGDATA_{lattice}` (v1-and-wadm.md 2.2); key = config name,
/// value = the JSON string->string map.
std::string v1_config_bucket(std::string_view lattice);
/// KV bucket of the v1 links this host family stores (ours; wasmCloud 1.x keeps them in
/// LATTICEDATA under its own keys): `wc_v1_links_{lattice}`, key = v1_link_key(), value = the
/// WIT-style link JSON `{source_id, target, name, wit_namespace, wit_package, interfaces,
/// source_config, target_config}`.
std::string v1_links_bucket(std::string_view lattice);
/// Key of one v1 link: upper-case hex SHA-256 of `source_id NUL name NUL wit_namespace NUL
/// wit_package` (a v1 link is unique by these four, wasmCloud 1.x).
std::string v1_link_key(std::string_view source_id, std::string_view name,
                        std::string_view wit_namespace, std::string_view wit_package);
/// The KV bucket the lattice client reads host state from (v1-and-wadm.md 2.1; wadm's name).
inline constexpr std::string_view kWadmStateBucket = "wadm_state";
/// `host_{lattice}`: map host id -> host record (wadm storage/state.rs `Host`).
std::string wadm_state_hosts_key(std::string_view lattice);
/// `component_{lattice}`: map component id -> component record (wadm `Component`).
std::string wadm_state_components_key(std::string_view lattice);
/// `provider_{lattice}`: map provider id -> provider record (wadm `Provider`).
std::string wadm_state_providers_key(std::string_view lattice);

// --- wadm API (v1-and-wadm.md section 5; wadm v0.4-v0.10 src/server/) ---------------------------

/// Prefix of the declarative-application API: `wadm.api.{lattice}.model.{op}[.{name}]`.
inline constexpr std::string_view kWadmApiPrefix = "wadm.api";
/// Queue group every `wasmcloud wadm` replica joins, so each request is answered once (wadm's).
inline constexpr std::string_view kWadmQueueGroup = "wadm_server";
/// JetStream KV bucket of stored application manifests (ours, not wadm's `wadm_manifests`:
/// the record format differs). Key `{lattice}.{model name}`; value: the model's JSON record
/// (src/wadm/model_store.h). History 1, file storage.
inline constexpr std::string_view kWadmModelBucket = "wc_wadm_models";
/// `wadm.api.{lattice}.model.>`: what the API server subscribes to.
std::string wadm_api_subscribe(std::string_view lattice);
/// `wadm.api.{lattice}.model.{op}` (op: put, list) or `wadm.api.{lattice}.model.{op}.{name}`
/// (get, versions, del, deploy, undeploy, status) when `name` is not empty.
std::string wadm_api(std::string_view lattice, std::string_view op, std::string_view name = {});
/// Key of model `name` in kWadmModelBucket: `{lattice}.{name}`.
std::string wadm_model_key(std::string_view lattice, std::string_view name);

// --- Header names -----------------------------------------------------------------------------

/// KV operation marker header; values `DEL` / `PURGE` mean deletion (compare case-insensitively).
inline constexpr std::string_view kHeaderKvOperation = "KV-Operation";
inline constexpr std::string_view kKvOperationDel = "DEL";
inline constexpr std::string_view kKvOperationPurge = "PURGE";
/// Rollup header (object-store meta, KV purge): value `sub`.
inline constexpr std::string_view kHeaderNatsRollup = "Nats-Rollup";
/// W3C trace context headers carried on requests and events.
inline constexpr std::string_view kHeaderTraceparent = "traceparent";
inline constexpr std::string_view kHeaderTracestate = "tracestate";

}  // namespace wc::lattice::topics
