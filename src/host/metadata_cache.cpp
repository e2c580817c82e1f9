// MetadataCache (metadata_cache.h): the LATTICEDATA bucket, its watch and the caches it feeds
// (control-interface 5).
#include "host/metadata_cache.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <spdlog/spdlog.h>

#include "common/json.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "rpc/messages.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;

/// JetStream API error codes that make open() ask for fewer replicas: no suitable peers for
/// placement (fewer JetStream servers than replicas), insufficient resources, and replicas > 1
/// on a server that is not clustered; and "consumer not found" (rewatch()).
constexpr int kJsClusterNoPeers = 10005;
constexpr int kJsInsufficientResources = 10023;
constexpr int kJsReplicasNotSupported = 10074;
constexpr int kJsConsumerNotFound = 10014;

/// `err_code` of a JetStream API error reply, 0 when the reply is not an error.
int js_err_code(const json& reply) {
  if (!reply.is_object() || !reply.contains("error") || !reply["error"].is_object()) return 0;
  return static_cast<int>(json_int(reply["error"], "err_code", 0));
}

json parse_bytes(const Bytes& b) { return json::parse(b.begin(), b.end(), nullptr, false); }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

bool same_link(const LinkDefinition& a, const LinkDefinition& b) {
  return a.id == b.id && a.actor_id == b.actor_id && a.provider_id == b.provider_id &&
         a.link_name == b.link_name && a.contract_id == b.contract_id && a.values == b.values;
}

}  // namespace

KvEntry KvEntry::from(const lattice::Message& m) {
  return KvEntry{std::string(m.subject()), std::string(m.reply()), m.headers(),
                 std::string(m.text())};
}

MetadataCache::MetadataCache(MetadataCacheDeps deps) : deps_(std::move(deps)) {}

MetadataCache::~MetadataCache() { close(); }

void MetadataCache::close() { watch_.unsubscribe(); }

void MetadataCache::open() {
  const auto& L = deps_.lattice_prefix;
  const auto stream = topics::kv_stream(L);
  int replicas = std::clamp(static_cast<int>(deps_.ctl->known_servers()), 1, 3);
  json config{{"name", stream},
              {"subjects", json::array({topics::kv_stream_subjects(L)})},
              {"retention", "limits"},
              {"max_consumers", -1},
              {"max_msgs_per_subject", 1},
              {"max_msgs", -1},
              {"max_bytes", -1},
              {"max_age", 0},
              {"max_msg_size", -1},
              {"storage", "file"},
              {"discard", "new"},
              {"num_replicas", replicas},
              {"duplicate_window", 120000000000LL},
              {"allow_direct", true},
              {"mirror_direct", false},
              {"deny_delete", true},
              {"deny_purge", false},
              {"allow_rollup_hdrs", true},
              {"sealed", false}};
  json reply;
  for (int attempt = 1;; ++attempt) {
    config["num_replicas"] = replicas;
    auto created = deps_.ctl->request_text(topics::js_stream_create(stream, deps_.js_domain),
                                           config.dump(), std::chrono::seconds(5));
    // A replicated create racing another host's on a young cluster can time out: ask again.
    if (!created && created.error().code == Code::kDeadlineExceeded && attempt < 3) continue;
    if (!created) {
      spdlog::error(
          "Failed to create the lattice metadata bucket {} ({}). Is JetStream enabled? Running "
          "without lattice persistence",
          topics::kv_bucket(L), created.error().message);
      return;
    }
    reply = parse_bytes(*created);
    const int code = js_err_code(reply);
    if (replicas > 1 && code == kJsReplicasNotSupported) {
      replicas = 1;
    } else if (replicas > 1 && (code == kJsClusterNoPeers || code == kJsInsufficientResources)) {
      --replicas;
    } else {
      break;
    }
  }
  // "already in use" / "different configuration" replies mean the bucket exists (5.1): ask for
  // its replica count, which the watch consumer copies.
  if (js_err_code(reply) != 0 || !reply.contains("config")) {
    auto info = deps_.ctl->request(topics::js_stream_info(stream, deps_.js_domain), {},
                                   std::chrono::seconds(2));
    if (info) reply = parse_bytes(*info);
  }
  if (reply.is_object() && reply.contains("config") && reply["config"].is_object())
    replicas_ = static_cast<int>(
        std::clamp<std::int64_t>(json_int(reply["config"], "num_replicas", 1), 1, 5));
  spdlog::info("Lattice metadata bucket {} ({} replica{})", topics::kv_bucket(L), replicas_,
               replicas_ == 1 ? "" : "s");
  inbox_ = deps_.ctl->new_inbox();
  auto sub = deps_.ctl->subscribe(inbox_, [this](lattice::Message m) {
    auto entry = std::make_shared<KvEntry>(KvEntry::from(m));
    deps_.post([this, entry] { apply(*entry); });
  });
  if (!sub) {
    spdlog::warn("Failed to watch the metadata bucket: {}", sub.error().message);
    return;
  }
  if (!create_watch_consumer()) return;
  watch_ = std::move(*sub);
  ready_ = true;
}

/// The push consumer that replays the bucket's last value per key and then delivers every
/// change to inbox_ (5.5), with as many replicas as the bucket so that losing one NATS server
/// does not end the watch. False (logged) on failure.
bool MetadataCache::create_watch_consumer() {
  const auto& L = deps_.lattice_prefix;
  const auto stream = topics::kv_stream(L);
  json consumer{{"stream_name", stream},
                {"config",
                 {{"deliver_subject", inbox_},
                  {"deliver_policy", "last_per_subject"},
                  {"ack_policy", "none"},
                  {"filter_subject", topics::kv_stream_subjects(L)},
                  {"replay_policy", "instant"},
                  {"max_deliver", -1},
                  {"description", "metadata loader for " + L}}}};
  if (replicas_ > 1) consumer["config"]["num_replicas"] = replicas_;
  auto r = deps_.ctl->request_text(topics::js_consumer_create(stream, deps_.js_domain),
                                   consumer.dump(), std::chrono::seconds(5));
  auto reply = r ? parse_bytes(*r) : json();
  if (!r || reply.is_discarded() || reply.contains("error")) {
    spdlog::warn("Failed to create the metadata watch consumer: {}",
                 r ? std::string(r->begin(), r->end()) : r.error().message);
    return false;
  }
  MutexLock lock(consumer_mu_);
  consumer_ = json_string(reply, "name");
  return true;
}

/// The server deletes an ephemeral consumer whose deliver subject had no interest for its
/// inactive threshold (5 s), so a host that was away longer asks whether its watch consumer
/// still exists and creates a new one (which replays every key; apply() is idempotent) when it
/// does not.
void MetadataCache::rewatch() {
  if (!ready_) return;
  std::string name;
  {
    MutexLock lock(consumer_mu_);
    name = consumer_;
  }
  const auto stream = topics::kv_stream(deps_.lattice_prefix);
  auto r =
      deps_.ctl->request(topics::js_api(deps_.js_domain) + ".CONSUMER.INFO." + stream + "." + name,
                         {}, std::chrono::seconds(2));
  if (!r) return;  // no answer: try again on the next reconnect
  if (js_err_code(parse_bytes(*r)) != kJsConsumerNotFound) return;
  spdlog::info("Metadata watch consumer {} is gone; creating a new one", name);
  (void)create_watch_consumer();
}

void MetadataCache::kv_put(const std::string& key, const json& value) {
  if (!ready_) return;
  auto r = deps_.ctl->request_text(topics::kv_key(deps_.lattice_prefix, key, deps_.js_domain),
                                   value.dump(), std::chrono::seconds(2));
  if (!r) {
    spdlog::warn("Failed to write {} to the metadata bucket: {}", key, r.error().message);
    return;
  }
  note_write(key, *r);
}

void MetadataCache::kv_purge(const std::string& key) {
  if (!ready_) return;
  lattice::Headers h{
      {std::string(topics::kHeaderKvOperation), std::string(topics::kKvOperationPurge)},
      {std::string(topics::kHeaderNatsRollup), "sub"}};
  auto r = deps_.ctl->request(topics::kv_key(deps_.lattice_prefix, key, deps_.js_domain), {},
                              std::chrono::seconds(2), h);
  if (!r) {
    spdlog::warn("Failed to purge {} from the metadata bucket: {}", key, r.error().message);
    return;
  }
  note_write(key, *r);
}

std::uint64_t MetadataCache::delivery_stream_seq(std::string_view reply) {
  std::vector<std::string_view> t;
  for (std::size_t s = 0; s <= reply.size();) {
    std::size_t e = reply.find('.', s);
    if (e == std::string_view::npos) e = reply.size();
    t.push_back(reply.substr(s, e - s));
    s = e + 1;
  }
  if (t.size() < 9 || t[0] != "$JS" || t[1] != "ACK") return 0;
  const std::string_view seq = t.size() >= 12 ? t[7] : t[5];
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), v);
  return ec == std::errc() && p == seq.data() + seq.size() ? v : 0;
}

/// Records the stream sequence of a PubAck JSON (`{"stream","seq"}`) for `key`.
void MetadataCache::note_write(const std::string& key, const Bytes& puback) {
  auto ack = parse_bytes(puback);
  if (!ack.is_object() || !ack.contains("seq") || !ack["seq"].is_number_unsigned()) return;
  const auto seq = ack["seq"].get<std::uint64_t>();
  MutexLock lock(mu_);
  auto& known = written_seq_[key];
  known = std::max(known, seq);
}

void MetadataCache::apply(const KvEntry& entry) {
  auto subj = topics::parse_kv_subject(entry.subject);
  if (!subj || subj->lattice != deps_.lattice_prefix) return;
  bool deletion = false;
  for (const auto& [k, v] : entry.headers) {
    std::string lk = k;
    for (auto& c : lk) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lk == "kv-operation" && (v == topics::kKvOperationDel || v == topics::kKvOperationPurge))
      deletion = true;
  }
  const std::string& key = subj->key;
  // Our own write echoed back after a newer one of ours (e.g. a put delivered after the delete
  // that followed it) must not resurrect the older state.
  if (const auto seq = delivery_stream_seq(entry.reply); seq != 0) {
    MutexLock lock(mu_);
    if (auto it = written_seq_.find(key); it != written_seq_.end() && seq <= it->second) return;
  }
  if (starts_with(key, topics::kLinkdefKeyPrefix)) {
    std::string link_id = key.substr(topics::kLinkdefKeyPrefix.size());
    if (deletion) {
      std::optional<LinkDefinition> removed;
      {
        MutexLock lock(mu_);
        if (auto it = links_.find(link_id); it != links_.end()) {
          removed = it->second;
          links_.erase(it);
        }
      }
      if (removed) announce_link(*removed, false);
      return;
    }
    auto v = json::parse(entry.value, nullptr, false);
    if (v.is_discarded() || !v.is_object()) return;
    LinkDefinition ld;
    try {
      ld.actor_id = v.at("actor_id").get<std::string>();
      ld.provider_id = v.at("provider_id").get<std::string>();
      ld.link_name = v.at("link_name").get<std::string>();
      ld.contract_id = v.at("contract_id").get<std::string>();
      if (v.contains("values") && v["values"].is_object())
        for (auto& [k, x] : v["values"].items())
          if (x.is_string()) ld.values[k] = x.get<std::string>();
    } catch (const json::exception&) {
      spdlog::warn("Ignoring malformed link definition {} in the metadata bucket", key);
      return;
    }
    ld.id = topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name);
    {
      MutexLock lock(mu_);
      auto it = links_.find(ld.id);
      if (it != links_.end() && same_link(it->second, ld)) return;
      links_[ld.id] = ld;
    }
    announce_link(ld, true);
    return;
  }
  if (starts_with(key, topics::kClaimsKeyPrefix)) {
    std::string pk = key.substr(topics::kClaimsKeyPrefix.size());
    MutexLock lock(mu_);
    if (deletion) {
      claims_.erase(pk);
      return;
    }
    // The key names an actor or provider and becomes an RPC subject token (call aliases resolve
    // to it): a peer's entry under anything but a real public key is ignored (issue #11.1).
    if (!wascap::is_valid_public_key(pk)) return;
    auto v = json::parse(entry.value, nullptr, false);
    if (v.is_discarded() || !v.is_object()) return;
    claims_[pk] = v;
    if (v.contains("call_alias") && v["call_alias"].is_string()) {
      auto a = v["call_alias"].get<std::string>();
      if (a.size() > 1) aliases_.emplace(a, pk);
    }
    return;
  }
  if (starts_with(key, topics::kV1IdKeyPrefix)) {
    const std::string id = key.substr(topics::kV1IdKeyPrefix.size());
    MutexLock lock(mu_);
    if (deletion) {
      v1_ids_.erase(id);
      return;
    }
    auto v = json::parse(entry.value, nullptr, false);
    if (v.is_discarded() || !v.is_object()) return;
    const std::string pk = json_string(v, "public_key");
    // Like claims: a peer's entry that does not name a real public key is ignored.
    if (!topics::is_valid_v1_id(id) || !wascap::is_valid_public_key(pk)) return;
    v1_ids_[id] = pk;
    return;
  }
  if (starts_with(key, topics::kRefmapKeyPrefix)) {
    if (deletion) return;
    auto v = json::parse(entry.value, nullptr, false);
    if (v.is_discarded() || !v.is_object()) return;
    MutexLock lock(mu_);
    if (v.contains("oci_url") && v["oci_url"].is_string() && v.contains("public_key") &&
        v["public_key"].is_string())
      refmap_[v["oci_url"].get<std::string>()] = v["public_key"].get<std::string>();
  }
}

/// linkdef_set / linkdef_deleted event and the provider notification (2.4.4-2.4.5).
void MetadataCache::announce_link(const LinkDefinition& ld, bool set) {
  if (deps_.emit) deps_.emit(set ? ev::kLinkdefSet : ev::kLinkdefDeleted, linkdef_json(ld), true);
  if (deps_.rpc) {
    auto subject =
        set ? topics::rpc_linkdefs_put(deps_.lattice_prefix, ld.provider_id, ld.link_name)
            : topics::rpc_linkdefs_del(deps_.lattice_prefix, ld.provider_id, ld.link_name);
    (void)deps_.rpc->publish(subject, rpc::encode_linkdef(ld));  // the wire layer's codec
  }
  if (deps_.link_changed) deps_.link_changed(ld, set);
}

void MetadataCache::put_link(const LinkDefinition& ld) {
  {
    MutexLock lock(mu_);
    links_[ld.id] = ld;
  }
  announce_link(ld, true);
  kv_put(topics::linkdef_key(ld.id), linkdef_json(ld));
}

bool MetadataCache::delete_link(const std::string& id) {
  std::optional<LinkDefinition> removed;
  {
    MutexLock lock(mu_);
    if (auto it = links_.find(id); it != links_.end()) {
      removed = it->second;
      links_.erase(it);
    }
  }
  if (!removed) return false;
  kv_purge(topics::linkdef_key(removed->id));
  announce_link(*removed, false);
  return true;
}

std::optional<LinkDefinition> MetadataCache::link(const std::string& id) const {
  MutexLock lock(mu_);
  if (auto it = links_.find(id); it != links_.end()) return it->second;
  return std::nullopt;
}

std::vector<LinkDefinition> MetadataCache::links() const {
  std::vector<LinkDefinition> out;
  MutexLock lock(mu_);
  for (const auto& [id, ld] : links_) out.push_back(ld);
  return out;
}

std::vector<LinkDefinition> MetadataCache::links_for(const std::string& provider_key,
                                                     const std::string& link_name) const {
  std::vector<LinkDefinition> out;
  MutexLock lock(mu_);
  for (const auto& [id, ld] : links_)
    if (ld.provider_id == provider_key && ld.link_name == link_name) out.push_back(ld);
  return out;
}

std::optional<json> MetadataCache::claims(const std::string& public_key) const {
  MutexLock lock(mu_);
  if (auto it = claims_.find(public_key); it != claims_.end()) return it->second;
  return std::nullopt;
}

std::vector<json> MetadataCache::all_claims() const {
  std::vector<json> out;
  MutexLock lock(mu_);
  for (const auto& [k, v] : claims_) out.push_back(v);
  return out;
}

rpc::ClaimsEntry MetadataCache::claims_entry(const wascap::ActorClaims& c) {
  rpc::ClaimsEntry e;
  e.sub = c.sub;
  e.iss = c.iss;
  e.name = c.name.value_or("");
  e.call_alias = c.call_alias.value_or("");
  e.caps = c.caps ? join(*c.caps) : std::string();
  e.tags = c.tags ? join(*c.tags) : std::string();
  e.rev = std::to_string(wascap::effective_revision(c));
  e.version = c.ver;  // null when the token has none (5.3)
  return e;           // contract_id "" for actors
}

json MetadataCache::flat_claims_json(const wascap::ActorClaims& c) {
  return rpc::claims_entry_to_json(claims_entry(c));
}

void MetadataCache::cache_actor_claims(const wascap::ActorClaims& c) {
  MutexLock lock(mu_);
  claims_[c.sub] = flat_claims_json(c);
  if (c.call_alias && c.call_alias->size() > 1) aliases_.emplace(*c.call_alias, c.sub);
}

bool MetadataCache::put_claims(const std::string& public_key, const json& value) {
  MutexLock lock(mu_);
  const bool had = claims_.count(public_key) != 0;
  claims_[public_key] = value;
  return had;
}

void MetadataCache::erase_claims(const std::string& public_key) {
  MutexLock lock(mu_);
  claims_.erase(public_key);
}

void MetadataCache::publish_actor_claims(const wascap::ActorClaims& c) {
  rpc::ClaimsEntry e = claims_entry(c);
  e.version = e.version.value_or("");  // the KV form (Appendix B #11)
  kv_put(topics::claims_key(c.sub), rpc::claims_entry_to_json(e));
}

std::optional<std::string> MetadataCache::alias(const std::string& name) const {
  MutexLock lock(mu_);
  if (auto it = aliases_.find(name); it != aliases_.end()) return it->second;
  return std::nullopt;
}

Status MetadataCache::put_v1_alias(const std::string& id, const std::string& public_key) {
  if (!topics::is_valid_v1_id(id) || wascap::is_valid_public_key(id))
    return fail(Code::kInvalidArgument, "not a v1 alias id: '" + id + "'");
  if (!wascap::is_valid_public_key(public_key))
    return fail(Code::kInvalidArgument, "not a public key: '" + public_key + "'");
  {
    MutexLock lock(mu_);
    v1_ids_[id] = public_key;
  }
  kv_put(topics::v1_id_key(id), json{{"id", id}, {"public_key", public_key}});
  return {};
}

std::optional<std::string> MetadataCache::resolve_v1_id(const std::string& id) const {
  if (wascap::is_valid_public_key(id)) return id;
  MutexLock lock(mu_);
  if (auto it = v1_ids_.find(id); it != v1_ids_.end()) return it->second;
  return std::nullopt;
}

void MetadataCache::set_reference(const std::string& reference, const std::string& public_key) {
  MutexLock lock(mu_);
  refmap_[reference] = public_key;
}

void MetadataCache::publish_reference(const std::string& reference, const std::string& public_key) {
  kv_put(topics::refmap_key(reference), json{{"oci_url", reference}, {"public_key", public_key}});
}

std::optional<std::string> MetadataCache::resolve_reference(const std::string& reference) const {
  MutexLock lock(mu_);
  if (auto it = refmap_.find(reference); it != refmap_.end()) return it->second;
  return std::nullopt;
}

}  // namespace wc::host
