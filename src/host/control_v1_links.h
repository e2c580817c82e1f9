// wc::host::V1LinkService: the lattice-scoped v1 control requests for links and named config
// (issue #15; v1-and-wadm.md 2.2, 3, 4.1; shapes from `@wasmcloud/lattice-client-core` 0.2.3):
//
//   wasmbus.ctl.v1.{lattice}.link.get        -> {success, message, response: [link]}
//   wasmbus.ctl.v1.{lattice}.link.put        {source_id, target, name, wit_namespace,
//                                             wit_package, interfaces[], source_config[],
//                                             target_config[]}
//   wasmbus.ctl.v1.{lattice}.link.del        {source_id, link_name | name, wit_namespace,
//                                             wit_package}
//   wasmbus.ctl.v1.{lattice}.config.get.{n}  -> {success, message, response?: {k: v}}
//   wasmbus.ctl.v1.{lattice}.config.put.{n}  {k: v, ...} (strings only)
//   wasmbus.ctl.v1.{lattice}.config.del.{n}
//
// Subscribed with the queue group `wasmbus.ctl.v1.{lattice}`, so one host answers each request.
// Named config lives in KV `CONFIGDATA_{lattice}` (created at host start: the client lists its
// keys); v1 links in KV `wc_v1_links_{lattice}` (topics.h). A link whose WIT interface
// corresponds to a wasmbus contract (v1_contract_for, docs/V1_PROTOCOL.md "WIT interfaces and
// wasmbus contracts") also becomes the equivalent OTP link definition through
// MetadataCache::put_link, with the merged named config as its values, so providers and
// actors see it like any `linkdefs.put`; deleting the v1 link deletes it. Events: v1 CloudEvents
// `linkdef_set`, `linkdef_deleted`, `config_set`, `config_deleted` on `wasmbus.evt.{lattice}.
// {name}`. Every refusal is `{success:false, message}` with nothing written. A config put or
// deleted later re-puts the link definitions of the links naming it with the new values.
//
// Owned by Host::Impl. Threads: the libnats delivery thread only copies the request and posts
// it to the control pool, where the handler runs (KV round trips block there). No lock of its
// own: the buckets serialize writes; a link.put and a link.del of the same link racing on two
// hosts end in whichever the bucket saw last (as in wasmCloud). Thread-safe after open().
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "host/bus.h"
#include "host/control.h"
#include "host/inventory.h"
#include "host/metadata_cache.h"
#include "lattice/kv.h"
#include "lattice/nats.h"

namespace wc::host {

/// Largest link.put / link.del / config.put body this host reads (ours).
inline constexpr std::size_t kMaxV1BodyBytes = 64 * 1024;
/// Most entries of interfaces, source_config, target_config (each) and of one named config.
inline constexpr std::size_t kMaxV1ListEntries = 64;
inline constexpr std::size_t kMaxV1ConfigEntries = 256;
/// Longest config value (bytes).
inline constexpr std::size_t kMaxV1ConfigValueBytes = 16 * 1024;

/// A WIT-style v1 link (lattice-client-core `WasmCloudLink`).
struct V1Link {
  std::string source_id, target, name, wit_namespace, wit_package;
  std::vector<std::string> interfaces, source_config, target_config;
  /// The wire JSON, fields in the order above.
  nlohmann::json to_json() const;
};

/// What identifies a link on link.del (and its bucket key, topics::v1_link_key).
struct V1LinkRef {
  std::string source_id, name, wit_namespace, wit_package;
};

/// A config name this host accepts: 1..128 of [A-Za-z0-9_-] (a subject token and a KV key).
bool is_valid_config_name(std::string_view name);
/// A WIT namespace, package or interface name: 1..64 of [a-z0-9-], starting with a letter or
/// digit (WIT identifiers are kebab-case).
bool is_valid_wit_name(std::string_view name);

/// Parses a link.put body. `name` defaults to "default"; source_config / target_config default
/// to []; source_id and target must pass topics::is_valid_v1_id; interfaces must be non-empty.
/// Errors: kInvalidArgument with errors::v1_bad_request text; kResourceExhausted (oversized).
Result<V1Link> parse_v1_link_put(std::string_view body);
/// Parses a link.del body (`link_name`, else `name`, else "default"). Errors as above.
Result<V1LinkRef> parse_v1_link_del(std::string_view body);
/// Parses a config.put body: a JSON object of string values (at most kMaxV1ConfigEntries, each
/// value at most kMaxV1ConfigValueBytes). Errors: kInvalidArgument, kResourceExhausted.
Result<StringMap> parse_v1_config(std::string_view body);

/// The wasmbus contract a WIT link corresponds to (docs/V1_PROTOCOL.md table).
struct ContractMapping {
  std::string contract_id;  ///< e.g. `wasmcloud:httpserver`
  bool provider_is_source;  ///< wasi:http incoming-handler: the provider calls the actor
  bool builtin;             ///< the host provides it to every actor: no link definition
};
/// nullopt when no wasmbus contract corresponds (the link is stored and listed only).
std::optional<ContractMapping> v1_contract_for(std::string_view wit_namespace,
                                               std::string_view wit_package,
                                               const std::vector<std::string>& interfaces);

/// The v1 form of an OTP link definition that no v1 link.put made (so `link.get` lists what
/// `linkdefs.put` put; the table read backwards): `wasmcloud:httpserver` -> `wasi:http`
/// [`incoming-handler`] with source = the provider, target = the actor; `wasmcloud:httpclient`
/// -> `wasi:http` [`outgoing-handler`], `wasmcloud:keyvalue` -> `wasi:keyvalue` [`store`], both
/// source = the actor; any other contract `ns:rest` -> namespace `ns`, package `rest` with ':'
/// turned into '-', no interfaces, source = the actor. `name` = link_name; no named config (the
/// values stay in the link definition). `actor_id` / `provider_id` give the ids to show (the v1
/// id a host recorded, else the key).
V1Link v1_link_from_linkdef(
    const LinkDefinition& ld, const std::function<std::string(const std::string&)>& actor_id,
    const std::function<std::string(const std::string&, const std::string&)>& provider_id);

struct V1LinkServiceDeps {
  /// Control connection: subscriptions, replies, events, the two KV buckets. Not owned.
  lattice::Connection* ctl = nullptr;
  /// OTP link definitions (put_link / delete_link) and v1 id resolution. Not owned.
  MetadataCache* metadata = nullptr;
  /// Hands a request to the control pool.
  Poster post;
  std::string lattice;
  std::string host_id;  ///< CloudEvent source
  std::string js_domain;
  /// v1 ids of an actor key / a provider (key, link name) for listing link definitions put
  /// through OTP (V1ControlServer::component_id_of / provider_id_of); empty: the keys.
  std::function<std::string(const std::string& key)> actor_id;
  std::function<std::string(const std::string& key, const std::string& link)> provider_id;
};

class V1LinkService {
 public:
  explicit V1LinkService(V1LinkServiceDeps deps);
  ~V1LinkService();
  V1LinkService(const V1LinkService&) = delete;
  V1LinkService& operator=(const V1LinkService&) = delete;

  /// Opens (creating when missing: history 1, file storage) CONFIGDATA_{lattice} and
  /// wc_v1_links_{lattice}, then subscribes. Blocks for a few JetStream round trips. Errors:
  /// the bucket or subscription error (the host logs it and runs without v1 links/config).
  Status open();
  /// Unsubscribes (waits for running handlers). Idempotent.
  void close();

  /// The handlers (on a control pool thread; public for tests). `op` is `get`, `put` or `del`.
  nlohmann::json handle_link(std::string_view op, std::string_view body);
  nlohmann::json handle_config(std::string_view op, std::string_view name, std::string_view body);

 private:
  nlohmann::json link_put(std::string_view body);
  nlohmann::json link_del(std::string_view body);
  nlohmann::json link_get();
  void publish_v1(std::string_view type, const nlohmann::json& data);
  /// The link's named configs merged in order (source_config, then target_config; a later key
  /// wins). A missing or unreadable config: kNotFound (v1_link_config_missing), or skipped with
  /// `skip_missing`. kUnavailable when the bucket cannot be read.
  Result<StringMap> merged_values(const V1Link& link, bool skip_missing);
  /// After config `name` was put or deleted: every stored v1 link with an OTP link definition
  /// that names it gets its values recomputed (a deleted config contributes nothing) and, when
  /// they differ, its link definition put again (providers see `linkdefs.put`).
  void refresh_links_using(const std::string& name);

  V1LinkServiceDeps deps_;
  std::unique_ptr<lattice::KvStore> configs_, links_;
  lattice::Subscription links_sub_, config_sub_;
};

}  // namespace wc::host
