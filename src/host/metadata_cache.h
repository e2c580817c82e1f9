// wc::host::MetadataCache: this host's copy of the lattice metadata (control-interface.md 5):
// the LATTICEDATA_{prefix} JetStream bucket (creation, watch, put/purge) and the caches it
// feeds - link definitions, claims (actors and providers), the OCI reference map and call
// aliases - plus the announcements a link change causes (linkdef_set / linkdef_deleted event,
// provider notification on `linkdefs.put|del`, 2.4.4-2.4.5, encoded by rpc::encode_linkdef).
//
// Owned by Host::Impl (created in Host::start, before the control server and the actor
// supervisor that use it). It talks to NATS only through the Bus seam (bus.h): `ctl` for the
// JetStream API and KV writes, `rpc` for provider notifications.
//
// Thread-safety: every public method is thread-safe. One mutex (`mu_`, the former
// Host::Impl::cache_mu) guards the caches; it is a leaf below the actor registry's lock: the
// cache never calls out (NATS, events, other components) while holding it. A second mutex
// (`consumer_mu_`) guards only the watch consumer's name. Both are wc::Mutex; the members they
// guard say so with GUARDED_BY (common/thread_annotations.h). Called from: the control pool (watch
// deliveries, control handlers), the lifecycle thread (starts, live updates), the RPC pool
// (authorization, host-call routing), the provider supervisor (links_for).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "host/bus.h"
#include "host/control.h"
#include "lattice/nats.h"
#include "rpc/claims_entry.h"
#include "wascap/claims.h"

namespace wc::host {

/// One delivered bucket entry, as a plain value (a watch delivery copied out of its
/// lattice::Message; tests build them by hand).
struct KvEntry {
  std::string subject;  ///< `$KV.LATTICEDATA_{prefix}.{key}`
  std::string reply;    ///< JetStream ack subject (carries the stream sequence), may be ""
  lattice::Headers headers;
  std::string value;  ///< the JSON value ("" for a delete / purge)

  /// Copies subject, reply, headers and payload out of `m`.
  static KvEntry from(const lattice::Message& m);
};

/// What the cache needs from its host.
struct MetadataCacheDeps {
  /// Control connection: JetStream API requests, KV puts and purges, the watch subscription.
  /// Not owned; outlives the cache.
  Bus* ctl = nullptr;
  /// RPC connection: `linkdefs.put|del` provider notifications. Not owned.
  Bus* rpc = nullptr;
  /// Publishes linkdef_set / linkdef_deleted.
  EventEmitter emit;
  /// Hands a watch delivery to the control pool (never applied on the delivery thread).
  Poster post;
  /// Told of every link set (`set`) or deleted, after linkdef_set / linkdef_deleted and the
  /// provider notification (the host's builtin providers listen here). Called without the
  /// cache's lock. May be empty.
  std::function<void(const LinkDefinition& link, bool set)> link_changed;
  std::string lattice_prefix;
  std::string js_domain;  ///< "" = none
};

class MetadataCache {
 public:
  explicit MetadataCache(MetadataCacheDeps deps);
  /// close().
  ~MetadataCache();
  MetadataCache(const MetadataCache&) = delete;
  MetadataCache& operator=(const MetadataCache&) = delete;

  // ------------------------------------------------------------ the bucket (5.1, 5.4, 5.5)

  /// Creates (or finds) the bucket and starts its watch. Replicas of a new bucket:
  /// min(3, servers known to `ctl`), lowered when JetStream refuses that many; an existing
  /// bucket keeps its count. Failures are logged and leave the cache without persistence
  /// (ready() false). Blocks up to a few seconds.
  void open();
  /// True once open() created the watch.
  bool ready() const { return ready_; }
  /// Replicas of the bucket as found or created by open() (1..5).
  int replicas() const { return replicas_; }
  /// After a reconnect of the control connection: recreates the watch consumer when the server
  /// dropped it (JetStream err_code 10014). Blocks up to 2 s: call from a worker.
  void rewatch();
  /// Stops the watch. Idempotent.
  void close();

  /// Applies one delivered entry (5.5). Idempotent: a link already cached with the same value
  /// is not announced again; an entry this host wrote and later overwrote (known by its stream
  /// sequence) is ignored; claims under a key that is not a canonical public key are ignored.
  void apply(const KvEntry& entry) EXCLUDES(mu_);

  /// KV put of `key` (5.4); failures only logged. Blocks up to 2 s.
  void kv_put(const std::string& key, const nlohmann::json& value);
  /// KV purge of `key` (5.4); failures only logged. Blocks up to 2 s.
  void kv_purge(const std::string& key);

  // ------------------------------------------------------------ links (2.4.4, 2.4.5)

  /// `linkdefs.put`: caches `ld` (replacing one with its id), announces it and writes it to the
  /// bucket.
  void put_link(const LinkDefinition& ld) EXCLUDES(mu_);
  /// `linkdefs.del`: when a link with `id` is cached, removes it, purges it from the bucket and
  /// announces the deletion; returns false when there was none.
  bool delete_link(const std::string& id) EXCLUDES(mu_);
  /// The cached link with `id` (topics::linkdef_id), if any.
  std::optional<LinkDefinition> link(const std::string& id) const EXCLUDES(mu_);
  /// Every cached link (id order).
  std::vector<LinkDefinition> links() const EXCLUDES(mu_);
  /// Links of one provider instance (provider key, link name).
  std::vector<LinkDefinition> links_for(const std::string& provider_key,
                                        const std::string& link_name) const EXCLUDES(mu_);

  // ------------------------------------------------------------ claims (5.3), aliases

  /// Cached claims of `public_key` (the flat 5.3 object), if any.
  std::optional<nlohmann::json> claims(const std::string& public_key) const EXCLUDES(mu_);
  /// Every cached claims object (key order).
  std::vector<nlohmann::json> all_claims() const EXCLUDES(mu_);
  /// Caches an actor's claims (flat_claims_json) and its call alias (longer than 1 character;
  /// an existing alias is kept).
  void cache_actor_claims(const wascap::ActorClaims& claims) EXCLUDES(mu_);
  /// Caches `value` for `public_key`; returns whether an entry was there before.
  bool put_claims(const std::string& public_key, const nlohmann::json& value) EXCLUDES(mu_);
  /// Removes the claims of `public_key` from the cache only.
  void erase_claims(const std::string& public_key) EXCLUDES(mu_);
  /// Writes an actor's claims to the bucket (the KV form: "" for a missing version, Appendix B
  /// #11).
  void publish_actor_claims(const wascap::ActorClaims& claims);
  /// Public key of call alias `alias`, if known.
  std::optional<std::string> alias(const std::string& alias) const EXCLUDES(mu_);

  // ------------------------------------------------------------ v1 id aliases (issue #15)

  /// Records that v1 id `id` (a component or provider id that is not itself a public key,
  /// topics::is_valid_v1_id) names `public_key`, locally and in the bucket under
  /// `V1ID_{id}` = `{"id": id, "public_key": key}` so that every host resolves it (applied
  /// from the watch like claims). kInvalidArgument (nothing recorded) when `id` is not a valid
  /// v1 id, is itself a public key, or `public_key` is not a valid public key. A later put for
  /// the same id replaces the earlier one. Blocks up to 2 s (the KV write).
  Status put_v1_alias(const std::string& id, const std::string& public_key) EXCLUDES(mu_);
  /// The public key v1 id `id` names: `id` itself when it is a valid public key, else the
  /// alias recorded by put_v1_alias on any host (seen through the watch); nullopt when unknown.
  std::optional<std::string> resolve_v1_id(const std::string& id) const EXCLUDES(mu_);

  // ------------------------------------------------------------ reference map (5.2)

  /// Records `reference -> public_key` locally.
  void set_reference(const std::string& reference, const std::string& public_key) EXCLUDES(mu_);
  /// Writes `reference -> public_key` to the bucket.
  void publish_reference(const std::string& reference, const std::string& public_key);
  /// Public key `reference` maps to, if known.
  std::optional<std::string> resolve_reference(const std::string& reference) const EXCLUDES(mu_);

  /// The flattened, string-valued claims of the lattice claims cache (5.3): sub, iss, name,
  /// call_alias, caps and tags (comma-joined), rev (string), version (null when absent),
  /// contract_id "".
  static nlohmann::json flat_claims_json(const wascap::ActorClaims& claims);
  /// The wire layer's claims entry (rpc/claims_entry.h, 5.3) of an actor's claims.
  static rpc::ClaimsEntry claims_entry(const wascap::ActorClaims& claims);
  /// Stream sequence of a JetStream push delivery from its ack subject (`$JS.ACK.<stream>.
  /// <consumer>.<delivered>.<stream seq>...`, or the 12+-token form with domain and account
  /// hash); 0 for any other shape.
  static std::uint64_t delivery_stream_seq(std::string_view reply);

 private:
  bool create_watch_consumer();
  void note_write(const std::string& key, const Bytes& puback) EXCLUDES(mu_);
  void announce_link(const LinkDefinition& ld, bool set);

  MetadataCacheDeps deps_;
  lattice::Subscription watch_;
  bool ready_ = false;
  int replicas_ = 1;
  std::string inbox_;

  Mutex consumer_mu_;
  std::string consumer_ GUARDED_BY(consumer_mu_);

  mutable Mutex mu_;  // guards everything below
  std::map<std::string, nlohmann::json> claims_ GUARDED_BY(mu_);
  std::map<std::string, LinkDefinition> links_ GUARDED_BY(mu_);
  /// Highest bucket stream sequence this host wrote per key (from the PubAck): a watch delivery
  /// of an older revision (our own write echoed back late) is not re-applied.
  std::map<std::string, std::uint64_t> written_seq_ GUARDED_BY(mu_);
  std::map<std::string, std::string> refmap_ GUARDED_BY(mu_);   // reference -> public key
  std::map<std::string, std::string> aliases_ GUARDED_BY(mu_);  // call alias -> public key
  std::map<std::string, std::string> v1_ids_ GUARDED_BY(mu_);   // v1 id -> public key
};

}  // namespace wc::host
