// The lattice host: control server, actor supervisor, RPC dispatch, host calls, events.
// See host.h for the contract. Locking: `mu` guards the actor registry (entries, instances,
// dispatch queues) and `cache_mu` the lattice caches (claims, links, refmap, aliases); neither is
// held while a NATS subscription is destroyed (its handler might wait for the lock) or while
// guest code, pulls or NATS requests run.
#include "host/host.h"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "host/control.h"
#include "host/errors.h"
#include "host/executor.h"
#include "host/policy.h"
#include "host/providers.h"
#include "host/util.h"
#include "lattice/cloudevent.h"
#include "lattice/events.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "oci/client.h"
#include "oci/credentials.h"
#include "oci/errors.h"
#include "par/par.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/invocation.h"
#include "wascap/claims.h"
#include "wasm/engine.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;

/// One actor public key on this host. Guarded by Host::Impl::mu.
struct ActorEntry {
  std::string key;
  wascap::ActorClaims claims;
  std::string expires_human, not_before_human;
  std::shared_ptr<wasm::Module> module;
  std::vector<InstanceInfo> instances;  // registry order
  lattice::Subscription rpc_sub;
  // Dispatch: at most instances.size() invocations run at once; the rest wait in `pending`.
  std::size_t in_flight = 0;
  std::deque<std::shared_ptr<lattice::Message>> pending;
  std::uint64_t rr = 0;  // round-robin instance cursor (actor-rpc-providers 9)
};

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

json opt_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json opt_json(const std::optional<std::vector<std::string>>& v) {
  return v ? json(*v) : json(nullptr);
}

/// `claims` object of actor_started / actors_started (control-interface 4.4.4).
json claims_event_json(const ActorEntry& e) {
  return json{{"call_alias", opt_json(e.claims.call_alias)},
              {"caps", opt_json(e.claims.caps)},
              {"issuer", e.claims.iss},
              {"tags", opt_json(e.claims.tags)},
              {"name", opt_json(e.claims.name)},
              {"version", opt_json(e.claims.ver)},
              {"revision", wascap::effective_revision(e.claims)},
              {"not_before_human", e.not_before_human},
              {"expires_human", e.expires_human}};
}

/// Flattened, string-valued claims of the lattice claims cache (control-interface 5.3).
json flat_claims_json(const wascap::ActorClaims& c) {
  return json{{"sub", c.sub},
              {"iss", c.iss},
              {"name", c.name.value_or("")},
              {"call_alias", c.call_alias.value_or("")},
              {"caps", c.caps ? join(*c.caps) : std::string()},
              {"tags", c.tags ? join(*c.tags) : std::string()},
              {"rev", std::to_string(wascap::effective_revision(c))},
              {"version", opt_json(c.ver)},
              {"contract_id", ""}};
}

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

json entity_event_json(const rpc::WasmCloudEntity& e) {
  return json{
      {"public_key", e.public_key}, {"contract_id", e.contract_id}, {"link_name", e.link_name}};
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

struct Host::Impl {
  HostConfig cfg;
  HostIdentity id;
  std::string host_id, cluster_pk;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::unique_ptr<lattice::Connection> ctl, rpc;
  std::vector<lattice::Subscription> control_subs;
  std::unique_ptr<Executor> ctl_pool, lifecycle_pool, rpc_pool;
  std::shared_ptr<wasm::Engine> engine;
  oci::CredentialStore creds;
  std::unique_ptr<PolicyManager> policy;
  std::unique_ptr<ProviderSupervisor> providers;

  mutable std::mutex mu;  // actor registry
  std::map<std::string, std::shared_ptr<ActorEntry>> actors;

  mutable std::mutex cache_mu;  // lattice caches (control-interface 5.6)
  std::map<std::string, json> claims_cache;
  std::map<std::string, LinkDefinition> links;
  std::map<std::string, std::string> refmap;   // reference -> public key
  std::map<std::string, std::string> aliases;  // call alias -> public key

  // Lattice metadata bucket (control-interface 5): watch subscription; false when JetStream is
  // not available (the host then runs without persistence).
  lattice::Subscription kv_watch;
  bool kv_ready = false;

  // Stop handling: the maintenance thread sends heartbeats and performs requested stops.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop_requested = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  std::once_flag stop_once;
  std::thread maintenance;

  explicit Impl(HostConfig c, HostIdentity i) : cfg(std::move(c)), id(std::move(i)) {
    host_id = id.host_key.public_key();
    cluster_pk = id.cluster_key.public_key();
    if (cfg.friendly_name.empty()) cfg.friendly_name = wc::host::friendly_name();
  }

  // ---------------------------------------------------------------- facts, events
  HostFacts facts() const {
    HostFacts f;
    f.host_id = host_id;
    f.issuer = cluster_pk;
    f.friendly_name = cfg.friendly_name;
    f.labels = cfg.labels;
    f.uptime_seconds =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count() /
                                   1000);
    f.cluster_issuers = id.cluster_issuers;
    f.js_domain = cfg.js_domain;
    f.ctl_host = cfg.ctl.host;
    f.prov_rpc_host = cfg.prov_rpc.host;
    f.rpc_host = cfg.rpc.host;
    f.lattice_prefix = cfg.lattice_prefix;
    return f;
  }

  std::vector<ActorInfo> snapshot() const {
    std::vector<ActorInfo> out;
    std::lock_guard lock(mu);
    for (const auto& [key, e] : actors) {
      if (e->instances.empty()) continue;
      out.push_back(ActorInfo{key, e->claims.name.value_or(""), e->instances});
    }
    return out;
  }

  void emit(std::string_view type, const json& data, bool linkdef_source = false) {
    if (!ctl) return;
    auto st = lattice::publish_event(*ctl, cfg.lattice_prefix, type,
                                     linkdef_source ? ev::kSourceNotApplicable : host_id, data);
    if (!st) spdlog::debug("Failed to publish {}: {}", type, st.error().message);
  }

  void emit_rpc_event(bool ok, const json& data) {
    if (!ctl) return;
    auto st = lattice::publish_rpc_event(*ctl, cfg.lattice_prefix,
                                         ok ? ev::kInvocationSucceeded : ev::kInvocationFailed,
                                         host_id, data);
    if (!st) spdlog::debug("Failed to publish invocation event: {}", st.error().message);
  }

  std::vector<ProviderInfo> provider_snapshot() const {
    return providers ? providers->running() : std::vector<ProviderInfo>{};
  }

  void heartbeat() {
    emit(ev::kHostHeartbeat, heartbeat_json(facts(), snapshot(), provider_snapshot()));
  }

  // ---------------------------------------------------------------- metadata bucket (5)
  std::string js_domain() const { return cfg.js_domain.value_or(""); }

  /// Creates (or finds) LATTICEDATA_{prefix} and starts the watch (5.1, 5.5).
  void kv_init() {
    const auto& L = cfg.lattice_prefix;
    const auto stream = topics::kv_stream(L);
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
                {"num_replicas", 1},
                {"duplicate_window", 120000000000LL},
                {"allow_direct", true},
                {"mirror_direct", false},
                {"deny_delete", true},
                {"deny_purge", false},
                {"allow_rollup_hdrs", true},
                {"sealed", false}};
    auto created = ctl->request(topics::js_stream_create(stream, js_domain()), config.dump(),
                                std::chrono::seconds(2));
    if (!created) {
      spdlog::error(
          "Failed to create the lattice metadata bucket {} ({}). Is JetStream enabled? Running "
          "without lattice persistence",
          topics::kv_bucket(L), created.error().message);
      return;
    }
    // "already in use" / "different configuration" replies mean the bucket exists (5.1).
    const std::string inbox = ctl->new_inbox();
    auto sub = ctl->subscribe(inbox, [this](lattice::Message m) {
      auto msg = std::make_shared<lattice::Message>(std::move(m));
      ctl_pool->post([this, msg] { kv_apply(*msg); });
    });
    if (!sub) {
      spdlog::warn("Failed to watch the metadata bucket: {}", sub.error().message);
      return;
    }
    json consumer{{"stream_name", stream},
                  {"config",
                   {{"deliver_subject", inbox},
                    {"deliver_policy", "last_per_subject"},
                    {"ack_policy", "none"},
                    {"filter_subject", topics::kv_stream_subjects(L)},
                    {"replay_policy", "instant"},
                    {"max_deliver", -1},
                    {"description", "metadata loader for " + L}}}};
    auto r = ctl->request(topics::js_consumer_create(stream, js_domain()), consumer.dump(),
                          std::chrono::seconds(2));
    auto reply = r ? json::parse(r->text(), nullptr, false) : json();
    if (!r || reply.is_discarded() || reply.contains("error")) {
      spdlog::warn("Failed to create the metadata watch consumer: {}",
                   r ? std::string(r->text()) : r.error().message);
      return;
    }
    kv_watch = std::move(*sub);
    kv_ready = true;
  }

  /// KV put (5.4); failures only logged. Blocks up to 2 s: call from a worker.
  void kv_put(const std::string& key, const json& value) {
    if (!kv_ready) return;
    auto r = ctl->request(topics::kv_key(cfg.lattice_prefix, key, js_domain()), value.dump(),
                          std::chrono::seconds(2));
    if (!r) spdlog::warn("Failed to write {} to the metadata bucket: {}", key, r.error().message);
  }

  /// KV purge of a linkdef (5.4).
  void kv_purge(const std::string& key) {
    if (!kv_ready) return;
    lattice::Headers h{
        {std::string(topics::kHeaderKvOperation), std::string(topics::kKvOperationPurge)},
        {std::string(topics::kHeaderNatsRollup), "sub"}};
    auto r = ctl->request(topics::kv_key(cfg.lattice_prefix, key, js_domain()), std::string_view(),
                          std::chrono::seconds(2), h);
    if (!r) spdlog::warn("Failed to purge {} from the metadata bucket: {}", key, r.error().message);
  }

  static bool same_link(const LinkDefinition& a, const LinkDefinition& b) {
    return a.id == b.id && a.actor_id == b.actor_id && a.provider_id == b.provider_id &&
           a.link_name == b.link_name && a.contract_id == b.contract_id && a.values == b.values;
  }

  /// Applies one delivered KV entry (5.5). Idempotent: a linkdef already cached with the same
  /// value is not announced again (this host's own writes come back through the watch).
  void kv_apply(const lattice::Message& m) {
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
  void announce_link(const LinkDefinition& ld, bool set) {
    emit(set ? ev::kLinkdefSet : ev::kLinkdefDeleted, linkdef_json(ld), true);
    auto subject = set ? topics::rpc_linkdefs_put(cfg.lattice_prefix, ld.provider_id, ld.link_name)
                       : topics::rpc_linkdefs_del(cfg.lattice_prefix, ld.provider_id, ld.link_name);
    (void)rpc->publish(subject, linkdef_msgpack(ld));
  }

  // ---------------------------------------------------------------- config service (2.7)
  /// Asks `wasmbus.cfg.{prefix}.req` for supplemental configuration before host_started.
  void query_config_service() {
    auto r = ctl->request(topics::config_request(cfg.lattice_prefix),
                          json{{"labels", cfg.labels}}.dump(), std::chrono::seconds(2));
    json reply = r ? json::parse(r->text(), nullptr, false) : json();
    if (!r || reply.is_discarded() || !reply.is_object()) {
      spdlog::warn("Failed to obtain supplemental configuration: {}",
                   r ? std::string("reply is not a JSON object") : r.error().message);
      return;
    }
    if (auto it = reply.find("registryCredentials"); it != reply.end() && it->is_object()) {
      std::map<std::string, oci::RegistryCredential> entries;
      for (auto& [server, v] : it->items()) {
        if (!v.is_object()) continue;
        oci::RegistryCredential c;
        c.registry_type = v.value("registryType", "");
        if (v.contains("username") && v["username"].is_string()) c.username = v["username"];
        if (v.contains("password") && v["password"].is_string()) c.password = v["password"];
        if (v.contains("token") && v["token"].is_string()) c.token = v["token"];
        entries[server] = std::move(c);
      }
      creds.replace(std::move(entries));
    }
    if (auto it = reply.find("autoStartProviders");
        it != reply.end() && it->is_array() && !it->empty())
      for (const auto& p : *it) {
        if (!p.is_object() || !p.contains("providerRef") || !p["providerRef"].is_string()) continue;
        StartProviderRequest req;
        req.provider_ref = p["providerRef"].get<std::string>();
        req.link_name = p.value("linkName", std::string("default"));
        lifecycle_pool->post([this, req] { launch_provider(req); });
      }
    if (auto it = reply.find("autoStartActors"); it != reply.end() && it->is_array()) {
      for (const auto& ref : *it) {
        if (!ref.is_string()) continue;
        LaunchActorRequest req;
        req.actor_ref = ref.get<std::string>();
        lifecycle_pool->post([this, req] { launch(req); });
      }
    }
  }

  // ---------------------------------------------------------------- fetching
  /// Reference dispatch of control-interface 3.1.1 / claims-oci-par 4.1.
  Result<Bytes> fetch_actor(const std::string& ref) {
    if (starts_with(ref, "file://")) {
      if (!cfg.allow_file_load)
        return fail(Code::kPermissionDenied, std::string(errors::kActorFileLoadDisabled));
      return read_file(ref.substr(7));
    }
    if (starts_with(ref, "bindle://"))
      return fail(Code::kUnsupported, std::string(oci::errors::kBindleUnsupported));
    oci::PullOptions o;
    o.allow_latest = cfg.allow_latest;
    o.allowed_insecure = cfg.allowed_insecure;
    o.credentials = &creds;
    o.cache_dir = cfg.oci_cache_dir;
    auto r = oci::pull(ref, o);
    if (!r) return fail(r.error());
    return std::move(r->bytes);
  }

  // ---------------------------------------------------------------- providers (3.6)
  /// 2.3.6 resolution: a ref starting with 'V' is the key, else the reference map.
  std::optional<std::string> resolve_provider_key(const std::string& ref) const {
    if (!ref.empty() && ref[0] == 'V') return ref;
    std::lock_guard lock(cache_mu);
    if (auto it = refmap.find(ref); it != refmap.end()) return it->second;
    return std::nullopt;
  }

  Result<Bytes> fetch_provider(const std::string& ref) {
    if (starts_with(ref, "file://")) {
      if (!cfg.allow_file_load)
        return fail(Code::kPermissionDenied, std::string(errors::kProviderFileLoadDisabled));
      return read_file(ref.substr(7));
    }
    return fetch_actor(ref);  // same OCI / bindle dispatch (claims-oci-par 4.1)
  }

  /// Start of 3.6.1; failures publish provider_start_failed (inspected error).
  void launch_provider(const StartProviderRequest& req) {
    auto failed = [&](const std::string& msg) {
      spdlog::error("Failed to start provider from '{}': {}", req.provider_ref, msg);
      emit(ev::kProviderStartFailed, json{{"provider_ref", req.provider_ref},
                                          {"link_name", req.link_name},
                                          {"error", inspect(msg)}});
    };
    auto bytes = fetch_provider(req.provider_ref);
    if (!bytes) return failed(bytes.error().message);
    par::LoadOptions lo;
    lo.only_target = par::native_target();
    auto archive = par::load_archive(*bytes, lo);
    if (!archive) return failed(archive.error().message);
    const auto& claims = archive->claims;
    auto decision = policy->evaluate("start_provider", PolicyManager::default_source(),
                                     json{{"publicKey", claims.sub},
                                          {"issuer", claims.iss},
                                          {"contractId", claims.capid},
                                          {"linkName", req.link_name}});
    if (!decision.permitted)
      return failed(errors::starting_provider_denied(claims.sub, decision.message));
    ProviderStart spec;
    spec.archive = std::move(*archive);
    spec.image_ref = req.provider_ref;
    spec.link_name = req.link_name;
    spec.configuration = starts_with(req.provider_ref, "file://") ? "" : req.configuration;
    spec.annotations = req.annotations;
    const std::string key = spec.archive.claims.sub;
    json kv_claims{{"sub", key},
                   {"iss", claims.iss},
                   {"name", claims.name.value_or("")},
                   {"call_alias", ""},
                   {"caps", ""},
                   {"tags", ""},
                   {"rev", std::to_string(par::effective_revision(claims))},
                   {"version", claims.ver.value_or("")},
                   {"contract_id", claims.capid}};
    auto launched = providers->start(std::move(spec));
    if (!launched) {
      // 2.3.6: already running only after download (ref unknown before) -> silently ignored.
      if (launched.error().code == Code::kAlreadyExists) return;
      return failed(launched.error().message);
    }
    {
      std::lock_guard lock(cache_mu);
      claims_cache[key] = kv_claims;
      if (!req.provider_ref.empty()) refmap[req.provider_ref] = key;
    }
    kv_put(topics::claims_key(key), kv_claims);
    if (!req.provider_ref.empty()) {
      kv_put(topics::refmap_key(req.provider_ref),
             json{{"oci_url", req.provider_ref}, {"public_key", key}});
      emit(ev::kRefmapSet, json{{"oci_url", req.provider_ref}, {"public_key", key}});
    }
  }

  // ---------------------------------------------------------------- start (3.2)
  Status start_actor(const Bytes& bytes, const std::string& ref, std::int64_t count,
                     const StringMap& annotations) {
    auto now = wascap::now_seconds();
    auto mc = wascap::extract_claims(bytes, now);
    if (!mc) {
      spdlog::error(
          "Failed to extract claims from WebAssembly module, an actor must be signed with valid "
          "capability claims. ({} bytes)",
          bytes.size());
      emit(ev::kActorsStartFailed, json{{"public_key", "N/A"},
                                        {"image_ref", ref},
                                        {"annotations", annotations},
                                        {"host_id", host_id},
                                        {"error", inspect(mc.error().message)}});
      return fail(mc.error());
    }
    const auto& claims = mc->claims;
    const std::string key = claims.sub;
    auto decision = policy->evaluate("start_actor", PolicyManager::default_source(),
                                     json{{"publicKey", key},
                                          {"issuer", claims.iss},
                                          {"contractId", nullptr},
                                          {"linkName", nullptr}});
    if (!decision.permitted) {
      emit(ev::kActorsStartFailed,
           json{{"public_key", key},
                {"image_ref", ref},
                {"annotations", annotations},
                {"host_id", host_id},
                {"error", std::string(errors::kPolicyDeniedStartPrefix) + decision.request_id}});
      return fail(Code::kPermissionDenied,
                  std::string(errors::kStartingActorDeniedPrefix) + decision.message);
    }
    std::shared_ptr<wasm::Module> module;
    bool other_ref = false;
    {
      std::lock_guard lock(mu);
      if (auto it = actors.find(key); it != actors.end()) {
        for (const auto& inst : it->second->instances)
          other_ref = other_ref || inst.image_ref != ref;
        module = it->second->module;
      }
    }
    if (other_ref) {
      auto msg = errors::other_reference(key, ref);
      emit(ev::kActorsStartFailed, json{{"public_key", key},
                                        {"image_ref", ref},
                                        {"annotations", annotations},
                                        {"host_id", host_id},
                                        {"error", inspect(msg)}});
      return fail(Code::kAlreadyExists, msg);
    }
    if (!module) {
      auto loaded = engine->load(bytes);
      if (!loaded) {
        spdlog::error("Failed to prepare actor {}: {}", key, loaded.error().message);
        return fail(loaded.error());
      }
      module = *loaded;
    }

    // Register the instances and make sure the RPC subscription exists; all or nothing.
    std::shared_ptr<ActorEntry> entry;
    std::vector<InstanceInfo> added;
    bool subscribed_now = false;
    {
      std::lock_guard lock(mu);
      auto& slot = actors[key];
      bool created = false;
      if (!slot) {
        slot = std::make_shared<ActorEntry>();
        slot->key = key;
        created = true;
      }
      entry = slot;
      // Re-check the reference under the lock (another start may have raced us).
      for (const auto& inst : entry->instances) {
        if (inst.image_ref != ref) {
          if (created) actors.erase(key);
          return fail(Code::kAlreadyExists, errors::other_reference(key, ref));
        }
      }
      if (!entry->rpc_sub.valid()) {
        auto subject = topics::rpc_actor(cfg.lattice_prefix, key);
        auto sub = ctl->queue_subscribe(
            subject, topics::rpc_actor_queue_group(cfg.lattice_prefix, key),
            [this, key](lattice::Message m) { on_rpc_message(key, std::move(m)); });
        if (!sub) {
          if (entry->instances.empty()) actors.erase(key);
          return fail(sub.error());
        }
        entry->rpc_sub = std::move(*sub);
        subscribed_now = true;
      }
      entry->claims = claims;
      entry->expires_human = mc->validation.expires_human;
      entry->not_before_human = mc->validation.not_before_human;
      entry->module = module;
      for (std::int64_t i = 0; i < count; ++i) {
        InstanceInfo inst{lattice::uuid_v4(), annotations, ref, wascap::effective_revision(claims)};
        entry->instances.push_back(inst);
        added.push_back(std::move(inst));
      }
      drain_pending_locked(entry);
    }
    if (subscribed_now) (void)ctl->flush(std::chrono::seconds(2));
    cache_claims(claims);
    {
      // KV claims carry "" for a missing version (Appendix B #11).
      json kv_claims = flat_claims_json(claims);
      if (kv_claims["version"].is_null()) kv_claims["version"] = "";
      kv_put(topics::claims_key(key), kv_claims);
      if (!ref.empty())
        kv_put(topics::refmap_key(ref), json{{"oci_url", ref}, {"public_key", key}});
    }
    json claims_json;
    {
      std::lock_guard lock(mu);
      claims_json = claims_event_json(*entry);
    }
    for (const auto& inst : added) {
      if (!ref.empty()) {
        {
          std::lock_guard lock(cache_mu);
          refmap[ref] = key;
        }
        emit(ev::kRefmapSet, json{{"oci_url", ref}, {"public_key", key}});
      }
      emit(ev::kActorStarted, json{{"public_key", key},
                                   {"image_ref", ref},
                                   {"api_version", "n/a"},
                                   {"instance_id", inst.instance_id},
                                   {"annotations", annotations},
                                   {"claims", claims_json}});
    }
    emit(ev::kActorsStarted, json{{"public_key", key},
                                  {"image_ref", ref},
                                  {"annotations", annotations},
                                  {"host_id", host_id},
                                  {"claims", claims_json},
                                  {"count", added.size()}});
    spdlog::info("Started {} instance(s) of actor {} from '{}'", added.size(), key, ref);
    return ok();
  }

  void cache_claims(const wascap::ActorClaims& c) {
    std::lock_guard lock(cache_mu);
    claims_cache[c.sub] = flat_claims_json(c);
    if (c.call_alias && c.call_alias->size() > 1) aliases.emplace(*c.call_alias, c.sub);
  }

  // ---------------------------------------------------------------- stop (3.4)
  /// Halts instances of `key`; `aggregate` = publish actors_stopped (count > 0 branch).
  void terminate(const std::string& key, std::int64_t count, const StringMap& filter) {
    std::vector<InstanceInfo> halted;
    lattice::Subscription dropped_sub;
    std::deque<std::shared_ptr<lattice::Message>> orphans;
    std::int64_t remaining = 0;
    {
      std::lock_guard lock(mu);
      auto it = actors.find(key);
      std::size_t n = it == actors.end() ? 0 : it->second->instances.size();
      remaining = std::max<std::int64_t>(0, static_cast<std::int64_t>(n) - count);
      if (it != actors.end()) {
        auto& e = *it->second;
        // One pass, linear in the instance count (the lock is held): halted keeps registry order.
        std::vector<bool> stop(e.instances.size(), false);
        for (std::size_t i : select_instances_to_stop(e.instances, count, filter)) stop[i] = true;
        std::vector<InstanceInfo> kept;
        kept.reserve(e.instances.size());
        for (std::size_t i = 0; i < e.instances.size(); ++i)
          (stop[i] ? halted : kept).push_back(std::move(e.instances[i]));
        e.instances = std::move(kept);
        if (e.instances.empty()) {
          dropped_sub = std::move(e.rpc_sub);
          orphans = std::move(e.pending);
          e.pending.clear();
          actors.erase(it);
        }
      }
    }
    dropped_sub.unsubscribe();
    for (auto& m : orphans) reply_not_running(key, *m);
    for (const auto& inst : halted) {
      emit(ev::kActorStopped, json{{"public_key", key},
                                   {"instance_id", inst.instance_id},
                                   {"annotations", inst.annotations}});
    }
    if (count > 0) {
      emit(ev::kActorsStopped, json{{"host_id", host_id},
                                    {"public_key", key},
                                    {"count", count},
                                    {"remaining", remaining},
                                    {"annotations", filter}});
    }
    if (!halted.empty()) spdlog::info("Stopped {} instance(s) of actor {}", halted.size(), key);
  }

  // ---------------------------------------------------------------- scale (3.3)
  void scale(const ScaleActorRequest& req) {
    std::size_t n = 0;
    std::string first_ref;
    {
      std::lock_guard lock(mu);
      if (auto it = actors.find(req.actor_id);
          it != actors.end() && !it->second->instances.empty()) {
        n = it->second->instances.size();
        first_ref = it->second->instances.front().image_ref;
      }
    }
    auto plan = plan_scale(n, first_ref, req.actor_ref, req.count);
    switch (plan.kind) {
      case ScalePlan::Kind::kNothing:
        return;
      case ScalePlan::Kind::kStop:
        terminate(req.actor_id, plan.count, {});
        return;
      case ScalePlan::Kind::kError:
        scale_failed(req, plan.reference, plan.error);
        return;
      case ScalePlan::Kind::kStart: {
        auto bytes = fetch_actor(plan.reference);
        if (!bytes) return scale_failed(req, plan.reference, bytes.error().message);
        auto st = start_actor(*bytes, plan.reference, plan.count, {});
        if (!st) return scale_failed(req, plan.reference, st.error().message);
        return;
      }
    }
  }

  /// Scale failures are logged as the reference does; beyond it, this host also publishes
  /// actor_start_failed so that clients see why (download, claims, reference, no reference).
  void scale_failed(const ScaleActorRequest& req, const std::string& ref, const std::string& msg) {
    spdlog::error("{}{}: {}", errors::kErrorScalingPrefix, req.actor_id, msg);
    emit(ev::kActorStartFailed,
         json{{"actor_ref", ref.empty() ? req.actor_ref : ref}, {"error", inspect(msg)}});
  }

  // ---------------------------------------------------------------- launch (2.3.2)
  void launch(const LaunchActorRequest& req) {
    auto bytes = fetch_actor(req.actor_ref);
    Status st = bytes ? start_actor(*bytes, req.actor_ref, req.count, req.annotations)
                      : Status(fail(bytes.error()));
    if (!st) {
      spdlog::error("Failed to start actor from '{}': {}", req.actor_ref, st.error().message);
      emit(ev::kActorStartFailed,
           json{{"actor_ref", req.actor_ref}, {"error", inspect(st.error().message)}});
    }
  }

  // ---------------------------------------------------------------- live update (3.5)
  Status live_update(const std::string& ref) {
    if (starts_with(ref, "file://") && !cfg.allow_file_load)
      return fail(Code::kPermissionDenied, std::string(errors::kLiveUpdateFromFileDisabled));
    auto bytes = fetch_actor(ref);
    if (!bytes) return fail(bytes.error());
    auto mc = wascap::extract_claims(*bytes, wascap::now_seconds());
    if (!mc) return fail(mc.error());
    const auto& claims = mc->claims;
    auto new_rev = wascap::effective_revision(claims);
    {
      std::lock_guard lock(cache_mu);
      auto it = claims_cache.find(claims.sub);
      if (it == claims_cache.end())
        return fail(Code::kNotFound, std::string(errors::kLiveUpdateGenericError));
      long long old_rev = 0;
      try {
        old_rev = std::stoll(it->second.value("rev", "0"));
      } catch (...) {
      }
      if (new_rev <= old_rev)
        return fail(Code::kInvalidArgument, std::string(errors::kLiveUpdateGenericError));
    }
    cache_claims(claims);
    {
      std::lock_guard lock(cache_mu);
      refmap[ref] = claims.sub;
    }
    emit(ev::kRefmapSet, json{{"oci_url", ref}, {"public_key", claims.sub}});
    std::vector<std::string> instances;
    {
      std::lock_guard lock(mu);
      if (auto it = actors.find(claims.sub); it != actors.end())
        for (const auto& i : it->second->instances) instances.push_back(i.instance_id);
    }
    if (instances.empty()) return ok();
    auto loaded = engine->load(*bytes);
    if (!loaded) {
      for (const auto& iid : instances)
        emit(ev::kActorUpdateFailed, json{{"public_key", claims.sub},
                                          {"revision", new_rev},
                                          {"instance_id", iid},
                                          {"reason", inspect(loaded.error().message)}});
      return ok();
    }
    {
      std::lock_guard lock(mu);
      if (auto it = actors.find(claims.sub); it != actors.end()) {
        auto& e = *it->second;
        e.module = *loaded;  // running invocations keep the old module alive until they finish
        e.claims = claims;
        e.expires_human = mc->validation.expires_human;
        e.not_before_human = mc->validation.not_before_human;
        for (auto& i : e.instances) i.revision = new_rev;
      }
    }
    for (const auto& iid : instances)
      emit(ev::kActorUpdated,
           json{{"public_key", claims.sub}, {"revision", new_rev}, {"instance_id", iid}});
    return ok();
  }

  // ---------------------------------------------------------------- RPC dispatch (4.3-4.4)
  void reply_not_running(const std::string& key, const lattice::Message& m) {
    if (m.reply().empty() || !ctl) return;
    rpc::InvocationResponse resp;
    resp.error = std::string(rpc::errors::kNotRunningPrefix) + key +
                 std::string(rpc::errors::kNotRunningSuffix);
    (void)ctl->respond(m, rpc::encode_response(resp));
  }

  /// NATS delivery thread: never blocks on guest code.
  void on_rpc_message(const std::string& key, lattice::Message m) {
    if (!topics::parse_rpc_actor(m.subject())) return;  // 4.2 topic validation: drop
    auto msg = std::make_shared<lattice::Message>(std::move(m));
    std::shared_ptr<ActorEntry> entry;
    std::string instance_id;
    {
      std::lock_guard lock(mu);
      auto it = actors.find(key);
      if (it == actors.end() || it->second->instances.empty()) {
        entry = nullptr;
      } else {
        entry = it->second;
        if (entry->in_flight >= entry->instances.size()) {
          entry->pending.push_back(std::move(msg));
          return;
        }
        ++entry->in_flight;
        instance_id = entry->instances[entry->rr++ % entry->instances.size()].instance_id;
      }
    }
    if (!entry) {
      reply_not_running(key, *msg);
      return;
    }
    dispatch(entry, std::move(msg), std::move(instance_id));
  }

  void dispatch(std::shared_ptr<ActorEntry> entry, std::shared_ptr<lattice::Message> msg,
                std::string instance_id) {
    bool posted = rpc_pool->post([this, entry, msg, instance_id] {
      handle_invocation(*entry, *msg, instance_id);
      finish_invocation(entry);
    });
    if (!posted) {
      std::lock_guard lock(mu);
      if (entry->in_flight > 0) --entry->in_flight;
    }
  }

  /// Called with `mu` held: starts queued invocations while slots are free.
  void drain_pending_locked(const std::shared_ptr<ActorEntry>& entry) {
    while (!entry->pending.empty() && entry->in_flight < entry->instances.size()) {
      auto m = std::move(entry->pending.front());
      entry->pending.pop_front();
      ++entry->in_flight;
      auto iid = entry->instances[entry->rr++ % entry->instances.size()].instance_id;
      rpc_pool->post([this, entry, m, iid] {
        handle_invocation(*entry, *m, iid);
        finish_invocation(entry);
      });
    }
  }

  void finish_invocation(const std::shared_ptr<ActorEntry>& entry) {
    std::deque<std::shared_ptr<lattice::Message>> orphans;
    {
      std::lock_guard lock(mu);
      if (entry->in_flight > 0) --entry->in_flight;
      if (entry->instances.empty()) {
        orphans = std::move(entry->pending);
        entry->pending.clear();
      } else {
        drain_pending_locked(entry);
      }
    }
    for (auto& m : orphans) reply_not_running(entry->key, *m);
  }

  void handle_invocation(ActorEntry& entry, const lattice::Message& m,
                         const std::string& instance_id) {
    const auto received = std::chrono::steady_clock::now();
    rpc::InvocationResponse resp;
    resp.instance_id = instance_id;
    json event_data;
    bool have_event = false;
    auto respond = [&] {
      if (!m.reply().empty()) {
        auto st = ctl->respond(m, rpc::encode_response(resp));
        if (!st) spdlog::warn("Failed to reply to invocation: {}", st.error().message);
      }
      if (have_event) {
        // Beyond the original's event data (control-interface 4.4.17): the time from receipt to
        // reply, which the dashboard's latency chart plots.
        event_data["duration_ms"] =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - received)
                .count();
        emit_rpc_event(!resp.failed(), event_data);
      }
    };
    auto inv = rpc::decode_invocation(m.data());
    if (!inv) {
      resp.invocation_id = "";
      resp.error = std::string(rpc::errors::kDeserializeInvocation);
      return respond();
    }
    resp.invocation_id = inv->id;
    have_event = true;
    event_data = json{{"source", entity_event_json(inv->origin)},
                      {"dest", entity_event_json(inv->target)},
                      {"operation", inv->operation},
                      {"bytes", inv->content_length.value_or(inv->msg.size())}};
    auto valid = rpc::validate_invocation(*inv, id.cluster_issuers, wascap::now_seconds());
    if (!valid) {
      resp.error = rpc::anti_forgery_message(valid.error().message);
      return respond();
    }
    wascap::ActorClaims claims;
    std::shared_ptr<wasm::Module> module;
    {
      std::lock_guard lock(mu);
      claims = entry.claims;
      module = entry.module;
    }
    if (!(inv->origin.contract_id.empty() && inv->origin.link_name.empty())) {
      bool has = false;
      if (claims.caps)
        for (const auto& c : *claims.caps) has = has || c == inv->origin.contract_id;
      if (!has) {
        resp.error = std::string(rpc::errors::kMissingCapabilityClaim) + inv->origin.contract_id;
        return respond();
      }
    }
    if (policy->enabled() && !invocation_permitted(*inv)) {
      resp.error = std::string(rpc::errors::kPolicyRejected);
      return respond();
    }
    std::span<const std::uint8_t> payload = inv->msg;
    if (rpc::is_chunked(*inv)) {
      spdlog::warn("Invocation {} is chunked; chunking is not supported, using an empty payload",
                   inv->id);
      payload = {};
    }
    const std::string actor_key = entry.key;
    auto caps = claims.caps.value_or(std::vector<std::string>{});
    wasm::HostCallHandler host_call = [this, actor_key, caps](const wasm::HostCall& call) {
      return route_host_call(actor_key, caps, call);
    };
    wasm::LogHandler log = [actor_key](std::string_view stream, std::string_view text) {
      spdlog::info("[{}] {}: {}", actor_key, stream, text);
    };
    auto out = module->invoke(inv->operation, payload, host_call, log);
    if (!out) {
      resp.msg.clear();
      resp.error = out.error().message;
      resp.content_length = 0;
      return respond();
    }
    resp.content_length = out->response.size();
    resp.msg = std::move(out->response);
    respond();
  }

  /// perform_invocation policy (actor-rpc-providers 8.1): denied without asking when the origin
  /// or target claims are unknown.
  bool invocation_permitted(const rpc::Invocation& inv) {
    json origin_claims, target_claims;
    {
      std::lock_guard lock(cache_mu);
      auto o = claims_cache.find(inv.origin.public_key);
      auto t = claims_cache.find(inv.target.public_key);
      if (o == claims_cache.end() || t == claims_cache.end()) return false;
      origin_claims = o->second;
      target_claims = t->second;
    }
    json source{{"publicKey", inv.origin.public_key},
                {"contractId", inv.origin.contract_id},
                {"linkName", inv.origin.link_name},
                {"capabilities", origin_claims.value("caps", "")},
                {"issuer", origin_claims.value("iss", "")},
                {"issuedOn", nullptr},
                {"expiresAt", nullptr},
                {"expired", false}};
    json target{{"publicKey", inv.target.public_key},
                {"contractId", inv.target.contract_id},
                {"linkName", inv.target.link_name},
                {"issuer", target_claims.value("iss", "")}};
    return policy->evaluate("perform_invocation", source, target).permitted;
  }

  // ---------------------------------------------------------------- host calls (2.1-2.5)
  Result<Bytes> route_host_call(const std::string& actor_key, const std::vector<std::string>& caps,
                                const wasm::HostCall& call) {
    const std::string ns(call.ns);
    if (ns == "wasmcloud:builtin:logging") return builtin_logging(actor_key, call);
    if (ns == "wasmcloud:builtin:numbergen") return builtin_numbergen(call);
    if (starts_with(ns, "wasmcloud:builtin:"))
      return fail(Code::kTrap, errors::unknown_builtin(ns));
    auto host_fail = [](const std::string& text) {
      return fail(Code::kUnavailable, std::string(rpc::errors::kHostCallFailedPrefix) + text);
    };
    std::string binding = call.binding.empty() ? "default" : std::string(call.binding);
    std::optional<rpc::WasmCloudEntity> target;
    std::string subject;
    bool provider = false;
    {
      std::lock_guard lock(cache_mu);
      auto it = links.find(topics::linkdef_id(actor_key, ns, binding));
      if (it != links.end()) {
        target = rpc::provider_entity(it->second.provider_id, ns, binding);
        subject = topics::rpc_provider(cfg.lattice_prefix, it->second.provider_id, binding);
        provider = true;
      } else if (ns.size() == 56 && ns[0] == 'M') {
        target = rpc::actor_entity(ns);
      } else if (auto a = aliases.find(ns); a != aliases.end()) {
        target = rpc::actor_entity(a->second);
      }
    }
    if (!target)
      return host_fail(std::string(rpc::errors::kMissingLinkPrefix) + ns + " on " +
                       cfg.lattice_prefix);
    if (provider && std::find(caps.begin(), caps.end(), ns) == caps.end())
      return host_fail(std::string(rpc::errors::kMissingClaimPrefix) + ns);
    if (!provider) subject = topics::rpc_actor(cfg.lattice_prefix, target->public_key);
    Bytes payload(call.payload.begin(), call.payload.end());
    auto inv = rpc::make_invocation(id.cluster_key, rpc::actor_entity(actor_key), *target,
                                    std::string(call.operation), payload, cluster_pk);
    if (!inv) return host_fail(inv.error().message);
    json event{{"source",
                json{{"public_key", actor_key}, {"contract_id", nullptr}, {"link_name", nullptr}}},
               {"dest", json{{"public_key", target->public_key},
                             {"contract_id", provider ? json(ns) : json(nullptr)},
                             {"link_name", provider ? json(binding) : json(nullptr)}}},
               {"operation", std::string(call.operation)},
               {"bytes", payload.size()}};
    auto reply = rpc->request(
        subject, rpc::encode_invocation(*inv),
        rpc::rpc_timeout_for(payload.size(), std::chrono::milliseconds(cfg.rpc_timeout_ms)));
    if (!reply) {
      emit_rpc_event(false, event);
      return host_fail(std::string(rpc::errors::kRequestTimeout));
    }
    auto resp = rpc::decode_response(reply->data());
    if (!resp) {
      emit_rpc_event(false, event);
      return host_fail(std::string(rpc::errors::kDeserializeResponse));
    }
    if (resp->error) {
      emit_rpc_event(false, event);
      return host_fail(*resp->error);
    }
    emit_rpc_event(true, event);
    return std::move(resp->msg);
  }

  static Result<Bytes> builtin_logging(const std::string& actor_key, const wasm::HostCall& call) {
    if (call.operation != "Logging.WriteLog")
      return fail(Code::kTrap, errors::unknown_operation(call.operation));
    std::string level, text;
    try {
      auto oh =
          msgpack::unpack(reinterpret_cast<const char*>(call.payload.data()), call.payload.size());
      auto obj = oh.get();
      if (obj.type != msgpack::type::MAP) throw msgpack::type_error();
      for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
        auto& kv = obj.via.map.ptr[i];
        auto k = kv.key.as<std::string>();
        if (k == "level") level = kv.val.as<std::string>();
        if (k == "text") text = kv.val.as<std::string>();
      }
    } catch (const std::exception& e) {
      return fail(Code::kTrap, std::string("failed to deserialize log request: ") + e.what());
    }
    // Unknown levels are logged at debug (actor-rpc-providers 2.2.1 recommendation).
    if (level == "error")
      spdlog::error("[{}] {}", actor_key, text);
    else if (level == "warn")
      spdlog::warn("[{}] {}", actor_key, text);
    else if (level == "info")
      spdlog::info("[{}] {}", actor_key, text);
    else
      spdlog::debug("[{}] {}", actor_key, text);
    return Bytes{};
  }

  static Result<Bytes> builtin_numbergen(const wasm::HostCall& call) {
    msgpack::sbuffer buf;
    msgpack::packer<msgpack::sbuffer> pk(buf);
    if (call.operation == "NumberGen.GenerateGuid") {
      pk.pack(lattice::uuid_v4());
    } else if (call.operation == "NumberGen.Random32") {
      pk.pack(static_cast<std::uint32_t>(randombytes_random()));
    } else if (call.operation == "NumberGen.RandomInRange") {
      std::uint32_t min = 0, max = 0;
      try {
        auto oh = msgpack::unpack(reinterpret_cast<const char*>(call.payload.data()),
                                  call.payload.size());
        auto obj = oh.get();
        if (obj.type != msgpack::type::MAP) throw msgpack::type_error();
        for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
          auto& kv = obj.via.map.ptr[i];
          auto k = kv.key.as<std::string>();
          if (k == "min") min = kv.val.as<std::uint32_t>();
          if (k == "max") max = kv.val.as<std::uint32_t>();
        }
      } catch (const std::exception& e) {
        return fail(Code::kTrap, std::string("failed to deserialize range request: ") + e.what());
      }
      if (min > max) std::swap(min, max);  // Appendix C #7: never hang
      std::uint64_t span = static_cast<std::uint64_t>(max) - min + 1;
      std::uint32_t v = span > 0xffffffffull
                            ? randombytes_random()
                            : min + randombytes_uniform(static_cast<std::uint32_t>(span));
      pk.pack(v);
    } else {
      return fail(Code::kTrap, errors::unknown_operation(call.operation));
    }
    return Bytes(buf.data(), buf.data() + buf.size());
  }

  // ---------------------------------------------------------------- control server (2)
  void reply(const lattice::Message& m, const std::string& body) {
    if (m.reply().empty() || !ctl) return;
    auto st = ctl->respond(m, body);
    if (!st) spdlog::warn("Failed to reply on {}: {}", m.subject(), st.error().message);
  }
  void ack(const lattice::Message& m, bool accepted, std::string_view error = {}) {
    reply(m, ack_json(accepted, error));
  }

  Status subscribe_control() {
    const auto& L = cfg.lattice_prefix;
    const auto& C = cfg.ctl_topic_prefix;
    auto handler = [this](lattice::Message m) {
      auto msg = std::make_shared<lattice::Message>(std::move(m));
      ctl_pool->post([this, msg] { handle_control(*msg); });
    };
    struct Spec {
      std::string subject;
      std::string queue;
    };
    std::vector<Spec> specs = {
        {topics::ctl_cmd_subscribe(L, host_id, C), ""},
        {topics::ctl_get_inventory(L, host_id, C), ""},
        {topics::ctl_ping_hosts(L, C), ""},
        {topics::ctl_get_subscribe(L, C), topics::ctl_queue_group(L, C)},
        {topics::ctl_linkdefs_subscribe(L, C), topics::ctl_queue_group(L, C)},
        {topics::ctl_registries_put(L, C), ""},
        {topics::ctl_auction_subscribe(L, C), ""},
    };
    for (const auto& s : specs) {
      auto sub = s.queue.empty() ? ctl->subscribe(s.subject, handler)
                                 : ctl->queue_subscribe(s.subject, s.queue, handler);
      if (!sub) return fail(sub.error());
      control_subs.push_back(std::move(*sub));
    }
    if (!cfg.policy_changes_topic.empty()) {
      auto sub = ctl->subscribe(cfg.policy_changes_topic, [this](lattice::Message m) {
        auto msg = std::make_shared<lattice::Message>(std::move(m));
        ctl_pool->post([this, msg] { reply(*msg, policy->apply_change(msg->text())); });
      });
      if (!sub) return fail(sub.error());
      control_subs.push_back(std::move(*sub));
    }
    return ctl->flush(std::chrono::seconds(5));
  }

  void handle_control(const lattice::Message& m) {
    auto topic = parse_control_topic(m.subject(), cfg.ctl_topic_prefix, cfg.lattice_prefix);
    if (!topic) {
      ack(m, false, errors::kInvalidTopic);
      return;
    }
    const auto& t = *topic;
    const std::string body(m.text());
    if (t.kind == "cmd") {
      if (t.host != host_id) return ack(m, false, errors::kIncorrectHost);
      return handle_command(m, t.op, body);
    }
    if (t.kind == "get" && !t.host.empty() && t.op == "inv") {
      if (t.host != host_id) return ack(m, false, errors::kIncorrectHost);
      return reply(m, inventory_json(facts(), snapshot(), provider_snapshot()).dump());
    }
    if (t.kind == "ping" && t.op == "hosts" && t.host.empty()) {
      reply(m, ping_reply_json(facts()).dump());
      heartbeat();
      return;
    }
    if (t.kind == "get" && t.host.empty() && t.op == "claims") {
      json list = json::array();
      {
        std::lock_guard lock(cache_mu);
        for (const auto& [k, v] : claims_cache) list.push_back(v);
      }
      return reply(m, json{{"claims", list}}.dump());
    }
    if (t.kind == "get" && t.host.empty() && t.op == "links") {
      json list = json::array();
      {
        std::lock_guard lock(cache_mu);
        for (const auto& [k, v] : links) list.push_back(linkdef_json(v));
      }
      return reply(m, json{{"links", list}}.dump());
    }
    if (t.kind == "linkdefs" && t.host.empty() && t.op == "put") return linkdef_put(m, body);
    if (t.kind == "linkdefs" && t.host.empty() && t.op == "del") return linkdef_del(m, body);
    if (t.kind == "registries" && t.host.empty() && t.op == "put") {
      auto st = creds.merge_json(body);
      return st ? ack(m, true) : ack(m, false, errors::kRegistryPutFailed);
    }
    if (t.kind == "auction" && t.host.empty() && t.op == "actor") {
      auto r = parse_actor_auction(body);
      if (!r) return ack(m, false, r.error().message);
      if (labels_satisfy(cfg.labels, r->constraints))
        reply(
            m,
            json{{"actor_ref", r->actor_ref}, {"constraints", r->constraints}, {"host_id", host_id}}
                .dump());
      return;
    }
    if (t.kind == "auction" && t.host.empty() && t.op == "provider") {
      auto r = parse_provider_auction(body);
      if (!r) return ack(m, false, r.error().message);
      // 2.4.8: bid when the labels match and the provider is not already running here.
      auto key = resolve_provider_key(r->provider_ref);
      if (labels_satisfy(cfg.labels, r->constraints) &&
          !(key && providers->supervised(*key, r->link_name)))
        reply(m, json{{"provider_ref", r->provider_ref},
                      {"link_name", r->link_name},
                      {"constraints", r->constraints},
                      {"host_id", host_id}}
                     .dump());
      return;
    }
    spdlog::warn("Received control message on unhandled subject {}", m.subject());
  }

  void handle_command(const lattice::Message& m, const std::string& op, const std::string& body) {
    if (op == topics::kCmdScaleActor) {
      auto r = parse_scale_actor(body);
      if (!r) return ack(m, false, r.error().message);
      ack(m, true);  // 2.3.4: ack before the work
      lifecycle_pool->post([this, req = *r] { scale(req); });
      return;
    }
    if (op == topics::kCmdLaunchActor) {
      auto r = parse_launch_actor(body);
      if (!r) return ack(m, false, r.error().message);
      ack(m, true);  // 2.3.2: immediately
      lifecycle_pool->post([this, req = *r] { launch(req); });
      return;
    }
    if (op == topics::kCmdStopActor) {
      auto r = parse_stop_actor(body);
      if (!r) return ack(m, false, r.error().message);
      auto msg = std::make_shared<std::string>(m.reply());
      // 2.3.3: synchronous - ack after the instances are halted.
      lifecycle_pool->post([this, req = *r, msg] {
        terminate(req.actor_id, req.count, req.annotations);
        if (!msg->empty()) (void)ctl->publish(*msg, ack_json(true));
      });
      return;
    }
    if (op == topics::kCmdUpdateActor) {
      auto r = parse_update_actor(body);
      if (!r) return ack(m, false, r.error().message);
      auto msg = std::make_shared<std::string>(m.reply());
      lifecycle_pool->post([this, req = *r, msg] {
        auto st = live_update(req.new_actor_ref);
        auto text =
            st ? ack_json(true)
               : ack_json(false, std::string(errors::kLiveUpdatePrefix) + st.error().message);
        if (!msg->empty()) (void)ctl->publish(*msg, text);
      });
      return;
    }
    if (op == topics::kCmdLaunchProvider) {
      auto r = parse_start_provider(body);
      if (!r) return ack(m, false, r.error().message);
      // 2.3.6: synchronous duplicate check on the resolved key.
      if (auto key = resolve_provider_key(r->provider_ref);
          key && providers->supervised(*key, r->link_name)) {
        emit(ev::kProviderStartFailed,
             json{{"provider_ref", r->provider_ref},
                  {"link_name", r->link_name},
                  {"error", errors::provider_duplicate_ignored(r->provider_ref, r->link_name)}});
        return ack(m, false, errors::kProviderAlreadyRunning);
      }
      ack(m, true);
      lifecycle_pool->post([this, req = *r] { launch_provider(req); });
      return;
    }
    if (op == topics::kCmdStopProvider) {
      auto r = parse_stop_provider(body);
      if (!r) return ack(m, false, r.error().message);
      // 2.3.7: synchronous - ack after the matching instances are stopped.
      auto msg = std::make_shared<std::string>(m.reply());
      lifecycle_pool->post([this, req = *r, msg] {
        providers->stop(req.provider_id, req.link_name);
        if (!msg->empty()) (void)ctl->publish(*msg, ack_json(true));
      });
      return;
    }
    if (op == topics::kCmdStopHost) {
      auto r = parse_stop_host(body);
      if (!r) return ack(m, false, r.error().message);
      ack(m, true);
      (void)ctl->flush(std::chrono::seconds(1));
      request_stop();
      return;
    }
    spdlog::warn("Received unknown host command {}", op);
  }

  void linkdef_put(const lattice::Message& m, const std::string& body) {
    auto r = parse_linkdef_put(body);
    if (!r) return ack(m, false, r.error().message);
    {
      std::lock_guard lock(cache_mu);
      links[r->id] = *r;
    }
    announce_link(*r, true);
    kv_put(topics::linkdef_key(r->id), linkdef_json(*r));
    ack(m, true);
  }

  void linkdef_del(const lattice::Message& m, const std::string& body) {
    auto r = parse_linkdef_del(body);
    if (!r) return ack(m, false, r.error().message);
    std::optional<LinkDefinition> removed;
    {
      std::lock_guard lock(cache_mu);
      if (auto it = links.find(r->id); it != links.end()) {
        removed = it->second;
        links.erase(it);
      }
    }
    if (removed) {
      kv_purge(topics::linkdef_key(removed->id));
      announce_link(*removed, false);
    } else {
      spdlog::info("Link definition {} not found, nothing to delete", r->id);
    }
    ack(m, true);
  }

  // ---------------------------------------------------------------- lifecycle of the host
  void request_stop() {
    {
      std::lock_guard lock(stop_mu);
      stop_requested = true;
    }
    stop_cv.notify_all();
  }

  void maintenance_loop() {
    auto interval = std::chrono::milliseconds(std::max(100, cfg.heartbeat_interval_ms));
    auto next = std::chrono::steady_clock::now() + interval;
    for (;;) {
      std::unique_lock lock(stop_mu);
      stop_cv.wait_until(lock, next, [this] { return stop_requested; });
      if (stop_requested) {
        lock.unlock();
        do_stop();
        return;
      }
      lock.unlock();
      heartbeat();
      next += interval;
    }
  }

  /// Shutdown of control-interface 6.3. Runs once.
  void do_stop() {
    std::call_once(stop_once, [this] {
      stopping = true;
      spdlog::info("Host {} stopping", host_id);
      for (auto& s : control_subs) s.unsubscribe();
      control_subs.clear();
      kv_watch.unsubscribe();
      if (lifecycle_pool) lifecycle_pool->shutdown();
      if (ctl_pool) ctl_pool->shutdown();
      std::vector<std::string> keys;
      {
        std::lock_guard lock(mu);
        for (const auto& [k, e] : actors) keys.push_back(k);
      }
      for (const auto& k : keys) terminate(k, 0, {});
      if (providers) providers->stop_all();  // 6.3 step 2
      if (rpc_pool) rpc_pool->shutdown();
      emit(ev::kHostStopped, json{{"labels", cfg.labels}});
      if (ctl) (void)ctl->flush(std::chrono::seconds(2));
      if (rpc) (void)rpc->flush(std::chrono::seconds(1));
      if (ctl) ctl->close();
      if (rpc) rpc->close();
      {
        std::lock_guard lock(stop_mu);
        stopped = true;
        stop_requested = true;
      }
      stop_cv.notify_all();
      spdlog::info("Host {} stopped", host_id);
    });
  }
};

// ------------------------------------------------------------------ Host

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Host::~Host() { stop(); }

Result<std::unique_ptr<Host>> Host::start(HostConfig config) {
  if (sodium_init() < 0) return fail(Code::kInternal, "libsodium failed to initialise");
  auto identity = resolve_identity(config);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(identity));
  auto& cfg = impl->cfg;

  auto connect = [&](const NatsEndpoint& ep,
                     const std::string& role) -> Result<std::unique_ptr<lattice::Connection>> {
    lattice::ConnectOptions o;
    o.servers = {ep.url()};
    o.name = "wasmcloud-host " + role + " " + impl->host_id;
    o.seed = ep.seed;
    o.jwt = ep.jwt;
    o.tls = ep.tls;
    o.reconnect_wait_max = std::chrono::milliseconds(4000);
    std::string r = role;
    o.on_event = [r](lattice::ConnectionEvent e, std::string_view url) {
      spdlog::info("NATS {} connection {} ({})", r, lattice::connection_event_name(e), url);
    };
    return lattice::Connection::connect(o);
  };
  auto ctl = connect(cfg.ctl, "ctl");
  if (!ctl) return fail(ctl.error());
  impl->ctl = std::move(*ctl);
  auto rpc = connect(cfg.rpc, "rpc");
  if (!rpc) return fail(rpc.error());
  impl->rpc = std::move(*rpc);

  wasm::EngineConfig ec;
  ec.enable_native = cfg.native_tier;
  ec.cache_dir = cfg.native_cache_dir;
  auto engine = wasm::Engine::create(ec);
  if (!engine) return fail(engine.error());
  impl->engine = *engine;

  json host_obj{{"publicKey", impl->host_id},
                {"issuer", impl->cluster_pk},
                {"latticeId", cfg.lattice_prefix},
                {"labels", cfg.labels},
                {"clusterIssuers", impl->id.cluster_issuers}};
  Impl* raw = impl.get();
  impl->policy = std::make_unique<PolicyManager>(
      cfg.policy_topic, std::chrono::milliseconds(cfg.policy_timeout_ms), host_obj,
      [raw](const std::string& subject, const std::string& body,
            std::chrono::milliseconds timeout) -> Result<std::string> {
        auto r = raw->ctl->request(subject, body, timeout);
        if (!r) return fail(r.error());
        return std::string(r->text());
      });

  impl->ctl_pool = std::make_unique<Executor>(2, "control");
  impl->lifecycle_pool = std::make_unique<Executor>(1, "lifecycle");
  impl->rpc_pool = std::make_unique<Executor>(
      static_cast<std::size_t>(std::max(1, cfg.executor_threads)), "rpc");

  {
    ProviderSupervisorDeps d;
    d.emit = [raw](std::string_view type, const json& data) { raw->emit(type, data); };
    d.rpc = impl->rpc.get();
    d.links_for = [raw](const std::string& key, const std::string& link) {
      std::vector<LinkDefinition> out;
      std::lock_guard lock(raw->cache_mu);
      for (const auto& [id, ld] : raw->links)
        if (ld.provider_id == key && ld.link_name == link) out.push_back(ld);
      return out;
    };
    auto& hd = d.base_host_data;  // 3.6.2
    hd.host_id = impl->host_id;
    hd.lattice_rpc_prefix = cfg.lattice_prefix;
    hd.lattice_rpc_user_jwt = cfg.prov_rpc.jwt;
    hd.lattice_rpc_user_seed = cfg.prov_rpc.seed;
    hd.lattice_rpc_url =
        (cfg.prov_rpc.host.empty() ? std::string("127.0.0.1") : cfg.prov_rpc.host) + ":" +
        std::to_string(cfg.prov_rpc.port);
    hd.lattice_rpc_tls = cfg.prov_rpc.tls;
    hd.invocation_seed = impl->id.cluster_key.seed();
    hd.cluster_issuers = impl->id.cluster_issuers;
    hd.default_rpc_timeout_ms = static_cast<std::uint64_t>(std::max(1, cfg.rpc_timeout_ms));
    hd.js_domain = cfg.js_domain;
    hd.structured_logging = cfg.structured_logging;
    hd.log_level = cfg.log_level;
    d.lattice_prefix = cfg.lattice_prefix;
    d.rpc_timeout = std::chrono::milliseconds(std::max(1, cfg.rpc_timeout_ms));
    impl->providers = std::make_unique<ProviderSupervisor>(std::move(d));
  }

  impl->kv_init();
  if (auto st = impl->subscribe_control(); !st) return fail(st.error());
  if (cfg.config_service_enabled) impl->query_config_service();
  impl->emit(ev::kHostStarted, json{{"labels", cfg.labels},
                                    {"friendly_name", cfg.friendly_name},
                                    {"uptime_seconds", 0},
                                    {"version", kHostVersion}});
  (void)impl->ctl->flush(std::chrono::seconds(2));
  spdlog::info("Host {} ({}) started on lattice '{}' (control {}, rpc {})", impl->host_id,
               cfg.friendly_name, cfg.lattice_prefix, cfg.ctl.url(), cfg.rpc.url());
  impl->maintenance = std::thread([raw] { raw->maintenance_loop(); });
  return std::unique_ptr<Host>(new Host(std::move(impl)));
}

void Host::stop() {
  if (!impl_) return;
  impl_->request_stop();
  if (impl_->maintenance.joinable()) {
    if (impl_->maintenance.get_id() == std::this_thread::get_id()) {
      impl_->maintenance.detach();
    } else {
      impl_->maintenance.join();
    }
  }
  impl_->do_stop();
}

bool Host::wait_stopped(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->stop_mu);
  return impl_->stop_cv.wait_for(lock, timeout, [this] { return impl_->stopped; });
}

bool Host::stopping() const { return impl_->stopping.load(); }
const std::string& Host::host_id() const { return impl_->host_id; }
const std::string& Host::cluster_key() const { return impl_->cluster_pk; }
const std::string& Host::lattice() const { return impl_->cfg.lattice_prefix; }
const std::string& Host::friendly_name() const { return impl_->cfg.friendly_name; }
std::vector<ActorInfo> Host::actors() const { return impl_->snapshot(); }

}  // namespace wc::host
