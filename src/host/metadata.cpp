// Host::Impl, lattice metadata bucket (control-interface 5): LATTICEDATA_{prefix} creation and
// watch, KV put/purge, applying delivered entries to the caches, and linkdef announcements to
// events and providers.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "host/host_impl.h"
#include "lattice/cloudevent.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;

/// msgpack map of a linkdef, alphabetical keys as the reference host writes it (10.5).
Bytes linkdef_msgpack(const LinkDefinition& ld) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(6);
  pk.pack(std::string("actor_id"));
  pk.pack(ld.actor_id);
  pk.pack(std::string("contract_id"));
  pk.pack(ld.contract_id);
  pk.pack(std::string("id"));
  pk.pack(ld.id);
  pk.pack(std::string("link_name"));
  pk.pack(ld.link_name);
  pk.pack(std::string("provider_id"));
  pk.pack(ld.provider_id);
  pk.pack(std::string("values"));
  pk.pack_map(static_cast<std::uint32_t>(ld.values.size()));
  for (const auto& [k, v] : ld.values) {
    pk.pack(k);
    pk.pack(v);
  }
  return Bytes(buf.data(), buf.data() + buf.size());
}

/// JetStream API error codes that make kv_init() ask for fewer replicas: no suitable peers for
/// placement (fewer JetStream servers than replicas), insufficient resources, and replicas > 1
/// on a server that is not clustered.
constexpr int kJsClusterNoPeers = 10005;
constexpr int kJsInsufficientResources = 10023;
constexpr int kJsReplicasNotSupported = 10074;
constexpr int kJsConsumerNotFound = 10014;

/// `err_code` of a JetStream API error reply, 0 when the reply is not an error.
int js_err_code(const json& reply) {
  if (!reply.is_object() || !reply.contains("error") || !reply["error"].is_object()) return 0;
  return static_cast<int>(json_int(reply["error"], "err_code", 0));
}

}  // namespace

/// Creates (or finds) LATTICEDATA_{prefix} and starts the watch (5.1, 5.5). Replicas of a new
/// bucket: min(3, servers in the control connection's pool, i.e. the configured URLs plus the
/// ones the cluster advertises in INFO connect_urls); when JetStream refuses that many (fewer
/// JetStream-enabled servers, or a server that is not clustered) it asks again with fewer, down
/// to 1. An existing bucket keeps its replica count.
void Host::Impl::kv_init() {
  const auto& L = cfg.lattice_prefix;
  const auto stream = topics::kv_stream(L);
  int replicas = std::clamp(static_cast<int>(ctl->known_servers().size()), 1, 3);
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
    auto created = ctl->request(topics::js_stream_create(stream, js_domain()), config.dump(),
                                std::chrono::seconds(5));
    // A replicated create racing another host's on a young cluster can time out: ask again.
    if (!created && created.error().code == Code::kDeadlineExceeded && attempt < 3) continue;
    if (!created) {
      spdlog::error(
          "Failed to create the lattice metadata bucket {} ({}). Is JetStream enabled? Running "
          "without lattice persistence",
          topics::kv_bucket(L), created.error().message);
      return;
    }
    reply = json::parse(created->text(), nullptr, false);
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
    auto info = ctl->request(topics::js_stream_info(stream, js_domain()), std::string_view(),
                             std::chrono::seconds(2));
    if (info) reply = json::parse(info->text(), nullptr, false);
  }
  if (reply.is_object() && reply.contains("config") && reply["config"].is_object())
    kv_replicas = static_cast<int>(
        std::clamp<std::int64_t>(json_int(reply["config"], "num_replicas", 1), 1, 5));
  spdlog::info("Lattice metadata bucket {} ({} replica{})", topics::kv_bucket(L), kv_replicas,
               kv_replicas == 1 ? "" : "s");
  kv_inbox = ctl->new_inbox();
  auto sub = ctl->subscribe(kv_inbox, [this](lattice::Message m) {
    auto msg = std::make_shared<lattice::Message>(std::move(m));
    ctl_pool->post([this, msg] { kv_apply(*msg); });
  });
  if (!sub) {
    spdlog::warn("Failed to watch the metadata bucket: {}", sub.error().message);
    return;
  }
  if (!kv_watch_consumer()) return;
  kv_watch = std::move(*sub);
  kv_ready = true;
}

/// Creates the push consumer that replays the bucket's last value per key and then delivers
/// every change to kv_inbox (5.5). It has as many replicas as the bucket, so losing one NATS
/// server does not end the watch. Returns false (logged) on failure.
bool Host::Impl::kv_watch_consumer() {
  const auto& L = cfg.lattice_prefix;
  const auto stream = topics::kv_stream(L);
  json consumer{{"stream_name", stream},
                {"config",
                 {{"deliver_subject", kv_inbox},
                  {"deliver_policy", "last_per_subject"},
                  {"ack_policy", "none"},
                  {"filter_subject", topics::kv_stream_subjects(L)},
                  {"replay_policy", "instant"},
                  {"max_deliver", -1},
                  {"description", "metadata loader for " + L}}}};
  if (kv_replicas > 1) consumer["config"]["num_replicas"] = kv_replicas;
  auto r = ctl->request(topics::js_consumer_create(stream, js_domain()), consumer.dump(),
                        std::chrono::seconds(5));
  auto reply = r ? json::parse(r->text(), nullptr, false) : json();
  if (!r || reply.is_discarded() || reply.contains("error")) {
    spdlog::warn("Failed to create the metadata watch consumer: {}",
                 r ? std::string(r->text()) : r.error().message);
    return false;
  }
  std::lock_guard lock(kv_mu);
  kv_consumer = json_string(reply, "name");
  return true;
}

/// After the control connection reconnected: the server deletes an ephemeral consumer whose
/// deliver subject had no interest for its inactive threshold (5 s), so a host that was away
/// longer asks whether its watch consumer still exists and creates a new one (which replays
/// every key; kv_apply is idempotent) when it does not.
void Host::Impl::kv_rewatch() {
  if (!kv_ready || stopping) return;
  std::string name;
  {
    std::lock_guard lock(kv_mu);
    name = kv_consumer;
  }
  const auto stream = topics::kv_stream(cfg.lattice_prefix);
  auto r = ctl->request(topics::js_api(js_domain()) + ".CONSUMER.INFO." + stream + "." + name,
                        std::string_view(), std::chrono::seconds(2));
  if (!r) return;  // no answer: try again on the next reconnect
  auto reply = json::parse(r->text(), nullptr, false);
  if (js_err_code(reply) != kJsConsumerNotFound) return;
  spdlog::info("Metadata watch consumer {} is gone; creating a new one", name);
  (void)kv_watch_consumer();
}

/// KV put (5.4); failures only logged. Blocks up to 2 s: call from a worker.
void Host::Impl::kv_put(const std::string& key, const json& value) {
  if (!kv_ready) return;
  auto r = ctl->request(topics::kv_key(cfg.lattice_prefix, key, js_domain()), value.dump(),
                        std::chrono::seconds(2));
  if (!r) {
    spdlog::warn("Failed to write {} to the metadata bucket: {}", key, r.error().message);
    return;
  }
  note_kv_write(key, r->text());
}

/// KV purge of a linkdef (5.4).
void Host::Impl::kv_purge(const std::string& key) {
  if (!kv_ready) return;
  lattice::Headers h{
      {std::string(topics::kHeaderKvOperation), std::string(topics::kKvOperationPurge)},
      {std::string(topics::kHeaderNatsRollup), "sub"}};
  auto r = ctl->request(topics::kv_key(cfg.lattice_prefix, key, js_domain()), std::string_view(),
                        std::chrono::seconds(2), h);
  if (!r) {
    spdlog::warn("Failed to purge {} from the metadata bucket: {}", key, r.error().message);
    return;
  }
  note_kv_write(key, r->text());
}

namespace {

/// The stream sequence of a JetStream push-consumer delivery, from its ack subject
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>...` (or the longer form with domain and
/// account hash, `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<stream seq>...`);
/// 0 when the subject has neither shape.
std::uint64_t delivery_stream_seq(std::string_view reply) {
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

}  // namespace

void Host::Impl::note_kv_write(const std::string& key, std::string_view puback) {
  auto ack = json::parse(puback, nullptr, false);
  if (!ack.is_object() || !ack.contains("seq") || !ack["seq"].is_number_unsigned()) return;
  const auto seq = ack["seq"].get<std::uint64_t>();
  std::lock_guard lock(cache_mu);
  auto& known = kv_written_seq[key];
  known = std::max(known, seq);
}

bool Host::Impl::same_link(const LinkDefinition& a, const LinkDefinition& b) {
  return a.id == b.id && a.actor_id == b.actor_id && a.provider_id == b.provider_id &&
         a.link_name == b.link_name && a.contract_id == b.contract_id && a.values == b.values;
}

/// Applies one delivered KV entry (5.5). Idempotent: a linkdef already cached with the same
/// value is not announced again (this host's own writes come back through the watch).
void Host::Impl::kv_apply(const lattice::Message& m) {
  auto subj = topics::parse_kv_subject(m.subject());
  if (!subj || subj->lattice != cfg.lattice_prefix) return;
  bool deletion = false;
  for (const auto& [k, v] : m.headers()) {
    std::string lk = k;
    for (auto& c : lk) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lk == "kv-operation" && (v == topics::kKvOperationDel || v == topics::kKvOperationPurge))
      deletion = true;
  }
  const std::string& key = subj->key;
  // Our own write echoed back after a newer one of ours (e.g. a put delivered after the delete
  // that followed it) must not resurrect the older state.
  if (const auto seq = delivery_stream_seq(m.reply()); seq != 0) {
    std::lock_guard lock(cache_mu);
    if (auto it = kv_written_seq.find(key); it != kv_written_seq.end() && seq <= it->second) return;
  }
  if (starts_with(key, topics::kLinkdefKeyPrefix)) {
    std::string link_id = key.substr(topics::kLinkdefKeyPrefix.size());
    if (deletion) {
      std::optional<LinkDefinition> removed;
      {
        std::lock_guard lock(cache_mu);
        if (auto it = links.find(link_id); it != links.end()) {
          removed = it->second;
          links.erase(it);
        }
      }
      if (removed) announce_link(*removed, false);
      return;
    }
    auto v = json::parse(m.text(), nullptr, false);
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
      std::lock_guard lock(cache_mu);
      auto it = links.find(ld.id);
      if (it != links.end() && same_link(it->second, ld)) return;
      links[ld.id] = ld;
    }
    announce_link(ld, true);
    return;
  }
  if (starts_with(key, topics::kClaimsKeyPrefix)) {
    std::string pk = key.substr(topics::kClaimsKeyPrefix.size());
    std::lock_guard lock(cache_mu);
    if (deletion) {
      claims_cache.erase(pk);
      return;
    }
    // The key names an actor or provider and becomes an RPC subject token (call aliases resolve
    // to it): a peer's entry under anything but a real public key is ignored (issue #11.1).
    if (!wascap::is_valid_public_key(pk)) return;
    auto v = json::parse(m.text(), nullptr, false);
    if (v.is_discarded() || !v.is_object()) return;
    claims_cache[pk] = v;
    if (v.contains("call_alias") && v["call_alias"].is_string()) {
      auto alias = v["call_alias"].get<std::string>();
      if (alias.size() > 1) aliases.emplace(alias, pk);
    }
    return;
  }
  if (starts_with(key, topics::kRefmapKeyPrefix)) {
    if (deletion) return;
    auto v = json::parse(m.text(), nullptr, false);
    if (v.is_discarded() || !v.is_object()) return;
    std::lock_guard lock(cache_mu);
    if (v.contains("oci_url") && v["oci_url"].is_string() && v.contains("public_key") &&
        v["public_key"].is_string())
      refmap[v["oci_url"].get<std::string>()] = v["public_key"].get<std::string>();
  }
}

/// linkdef_set / linkdef_deleted event and the provider notification (2.4.4-2.4.5).
void Host::Impl::announce_link(const LinkDefinition& ld, bool set) {
  emit(set ? ev::kLinkdefSet : ev::kLinkdefDeleted, linkdef_json(ld), true);
  auto subject = set ? topics::rpc_linkdefs_put(cfg.lattice_prefix, ld.provider_id, ld.link_name)
                     : topics::rpc_linkdefs_del(cfg.lattice_prefix, ld.provider_id, ld.link_name);
  (void)rpc->publish(subject, linkdef_msgpack(ld));
}

}  // namespace wc::host
