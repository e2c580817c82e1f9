// The reconciler (reconciler.h): planning (pure) and the reconcile thread.
#include "wadm/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

#include "common/json.h"
#include "lattice/topics.h"
#include "wadm/placement.h"

namespace wc::wadm {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> string_map(const json* j) {
  std::map<std::string, std::string> out;
  if (j == nullptr || !j->is_object()) return out;
  for (const auto& [k, v] : j->items())
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  return out;
}

/// The image without its tag or digest.
std::string repo_of(const std::string& image) {
  std::string s = image.substr(0, image.find('@'));
  auto slash = s.rfind('/');
  auto colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) s.resize(colon);
  return s;
}

bool owned_by(const std::map<std::string, std::string>& annotations, const std::string& app) {
  auto m = annotations.find(std::string(kManagedByKey));
  auto a = annotations.find(std::string(kAppSpecKey));
  return m != annotations.end() && m->second == kManagedByValue && a != annotations.end() &&
         a->second == app;
}

/// The application owning `annotations`, "" when wadm does not manage it.
std::string owner_app(const std::map<std::string, std::string>& annotations) {
  auto m = annotations.find(std::string(kManagedByKey));
  auto a = annotations.find(std::string(kAppSpecKey));
  if (m == annotations.end() || m->second != kManagedByValue || a == annotations.end()) return {};
  return a->second;
}

std::string config_string(const nlohmann::json& config) {
  if (config.is_null()) return {};
  if (config.is_string()) return config.get<std::string>();
  return config.dump();
}

Command stop_actor(const std::string& host, const std::string& id, int count,
                   std::map<std::string, std::string> filter) {
  Command c;
  c.kind = Command::Kind::kStopActor;
  c.host_id = host;
  c.actor_id = id;
  c.count = count;
  c.annotations = std::move(filter);
  return c;
}

Command stop_provider(const std::string& host, const ProviderRun& p) {
  Command c;
  c.kind = Command::Kind::kStopProvider;
  c.host_id = host;
  c.provider_id = p.provider_id;
  c.link_name = p.link_name;
  c.contract_id = p.contract_id;
  return c;
}

Command delete_link(const LinkSnapshot& l) {
  Command c;
  c.kind = Command::Kind::kDeleteLink;
  c.actor_id = l.actor_id;
  c.provider_id = l.provider_id;
  c.contract_id = l.contract_id;
  c.link_name = l.link_name;
  return c;
}

std::string short_id(const std::string& id) { return id.size() > 8 ? id.substr(0, 8) : id; }

}  // namespace

std::map<std::string, std::string> managed_annotations(const std::string& app) {
  return {{std::string(kManagedByKey), std::string(kManagedByValue)},
          {std::string(kAppSpecKey), app}};
}

std::string status_key(const std::string& lattice, const std::string& name) {
  return "_status." + lattice + "." + name;
}

std::string Command::describe() const {
  switch (kind) {
    case Kind::kStartActor:
      return "la " + image_ref + " x" + std::to_string(count) + " on " + short_id(host_id);
    case Kind::kStopActor:
      return "sa " + short_id(actor_id) + " x" + (count == 0 ? "all" : std::to_string(count)) +
             " on " + short_id(host_id);
    case Kind::kUpdateActor:
      return "upd " + short_id(actor_id) + " to " + image_ref + " on " + short_id(host_id);
    case Kind::kStartProvider:
      return "lp " + image_ref + " (" + link_name + ") on " + short_id(host_id);
    case Kind::kStopProvider:
      return "sp " + short_id(provider_id) + " (" + link_name + ") on " + short_id(host_id);
    case Kind::kPutLink:
      return "linkdefs.put " + short_id(actor_id) + " -> " + short_id(provider_id) + " " +
             contract_id + " (" + link_name + ")";
    case Kind::kDeleteLink:
      return "linkdefs.del " + short_id(actor_id) + " " + contract_id + " (" + link_name + ")";
  }
  return "?";
}

Result<LatticeSnapshot> read_snapshot(lattice::CtlClient& ctl) {
  auto pings = ctl.ping_hosts();
  if (!pings) return fail(pings.error());
  LatticeSnapshot s;
  for (const auto& p : *pings) {
    const std::string id = json_string(p, "id");
    if (id.empty()) continue;
    auto inv = ctl.host_inventory(id);
    if (!inv) continue;  // gone between ping and inventory
    HostSnapshot h;
    h.host_id = id;
    h.labels = string_map(json_member(*inv, "labels"));
    if (const json* actors = json_member(*inv, "actors"); actors != nullptr && actors->is_array()) {
      for (const auto& a : *actors) {
        const json* instances = json_member(a, "instances");
        if (instances == nullptr || !instances->is_array()) continue;
        for (const auto& i : *instances) {
          auto ann = string_map(json_member(i, "annotations"));
          auto it = std::find_if(h.actors.begin(), h.actors.end(), [&](const ActorGroup& g) {
            return g.actor_id == json_string(a, "id") && g.annotations == ann;
          });
          if (it == h.actors.end())
            h.actors.push_back({json_string(a, "id"), json_string(a, "image_ref"), ann, 1});
          else
            ++it->count;
        }
      }
    }
    if (const json* provs = json_member(*inv, "providers"); provs != nullptr && provs->is_array())
      for (const auto& p2 : *provs)
        h.providers.push_back({json_string(p2, "id"), json_string(p2, "image_ref"),
                               json_string(p2, "link_name"), json_string(p2, "contract_id"),
                               string_map(json_member(p2, "annotations"))});
    s.hosts.push_back(std::move(h));
  }
  std::sort(s.hosts.begin(), s.hosts.end(),
            [](const HostSnapshot& a, const HostSnapshot& b) { return a.host_id < b.host_id; });
  auto links = ctl.get_links();
  if (!links) return fail(links.error());
  if (const json* ls = json_member(*links, "links"); ls != nullptr && ls->is_array())
    for (const auto& l : *ls)
      s.links.push_back({json_string(l, "actor_id"), json_string(l, "provider_id"),
                         json_string(l, "contract_id"), json_string(l, "link_name"),
                         string_map(json_member(l, "values"))});
  return s;
}

AppPlan plan_app(const std::string& app, const Manifest& m, const LatticeSnapshot& s) {
  AppPlan plan;
  const auto mine = managed_annotations(app);
  std::vector<HostLabels> hosts;
  for (const auto& h : s.hosts) hosts.push_back({h.host_id, h.labels});
  std::set<std::string> actor_images;
  std::set<std::string> actor_repos;
  std::set<std::pair<std::string, std::string>> provider_keys;  // (image, link name)
  bool pending = false;
  auto add_error = [&](const std::string& e) {
    if (!plan.error.empty()) plan.error += "; ";
    plan.error += e;
  };

  for (const auto& comp : m.components) {
    ComponentStatus cs{comp.name, std::string(component_type_name(comp.type)), "deployed", "", {}};
    for (const auto& t : comp.traits) cs.traits.emplace_back(trait_type_name(t.type), "deployed");
    const std::size_t before = plan.commands.size();
    const Trait* scaler = nullptr;
    std::size_t scaler_index = 0;
    for (std::size_t i = 0; i < comp.traits.size(); ++i)
      if (comp.traits[i].type != TraitType::kLinkdef && scaler == nullptr) {
        scaler = &comp.traits[i];
        scaler_index = i;
      }
    const bool actor = comp.type == ComponentType::kActor;
    if (actor)
      actor_images.insert(comp.image), actor_repos.insert(repo_of(comp.image));
    else
      provider_keys.emplace(comp.image, comp.link_name);
    std::map<std::string, int> desired;
    bool placed = true;
    if (scaler != nullptr) {
      const std::uint32_t cap = actor ? 0 : 1;
      auto placement = scaler->type == TraitType::kSpreadScaler
                           ? place_spreadscaler(scaler->scaler, hosts, cap)
                           : place_daemonscaler(scaler->scaler, hosts, cap);
      if (!placement) {
        placed = false;
        add_error("component " + comp.name + ": " + placement.error().message);
        cs.status = "failed";
        cs.message = placement.error().message;
        cs.traits[scaler_index].second = "failed";
      } else {
        for (const auto& sp : *placement)
          for (const auto& hc : sp.hosts) desired[hc.host_id] += static_cast<int>(hc.replicas);
      }
    }
    if (placed) {
      for (const auto& h : s.hosts) {
        const int want = desired.count(h.host_id) != 0 ? desired[h.host_id] : 0;
        if (actor) {
          int cur = 0;
          std::string id;
          bool updating = false;
          for (const auto& g : h.actors) {
            if (!owned_by(g.annotations, app)) continue;
            if (g.image_ref == comp.image) {
              cur += g.count;
              id = g.actor_id;
            } else if (repo_of(g.image_ref) == repo_of(comp.image) &&
                       actor_images.count(g.image_ref) == 0) {
              Command c;
              c.kind = Command::Kind::kUpdateActor;
              c.host_id = h.host_id;
              c.actor_id = g.actor_id;
              c.image_ref = comp.image;
              plan.commands.push_back(std::move(c));
              updating = true;
            }
          }
          if (updating) continue;  // counts are adjusted once the update is seen
          if (want > cur) {
            Command c;
            c.kind = Command::Kind::kStartActor;
            c.host_id = h.host_id;
            c.image_ref = comp.image;
            c.count = want - cur;
            c.annotations = mine;
            plan.commands.push_back(std::move(c));
          } else if (want < cur) {
            plan.commands.push_back(stop_actor(h.host_id, id, cur - want, mine));
          }
        } else {
          const ProviderRun* run = nullptr;
          bool foreign = false;
          for (const auto& p : h.providers) {
            if (p.image_ref != comp.image || p.link_name != comp.link_name) continue;
            if (owned_by(p.annotations, app))
              run = &p;
            else
              foreign = true;
          }
          if (want > 0 && run == nullptr && !foreign) {
            Command c;
            c.kind = Command::Kind::kStartProvider;
            c.host_id = h.host_id;
            c.image_ref = comp.image;
            c.link_name = comp.link_name;
            c.config = config_string(comp.config);
            c.annotations = mine;
            plan.commands.push_back(std::move(c));
          } else if (want == 0 && run != nullptr) {
            plan.commands.push_back(stop_provider(h.host_id, *run));
          }
        }
      }
    }
    if (plan.commands.size() > before && cs.status != "failed") {
      cs.status = "reconciling";
      cs.traits[scaler_index].second = "reconciling";
    }
    plan.components.push_back(std::move(cs));
  }

  // Links: once both ends run somewhere.
  auto actor_id_of = [&](const std::string& image) {
    std::string any;
    for (const auto& h : s.hosts)
      for (const auto& g : h.actors)
        if (g.image_ref == image) {
          if (owned_by(g.annotations, app)) return g.actor_id;
          any = g.actor_id;
        }
    return any;
  };
  auto provider_id_of = [&](const std::string& image, const std::string& link) {
    std::string any;
    for (const auto& h : s.hosts)
      for (const auto& p : h.providers)
        if (p.image_ref == image && p.link_name == link) {
          if (owned_by(p.annotations, app)) return p.provider_id;
          any = p.provider_id;
        }
    return any;
  };
  std::set<std::tuple<std::string, std::string, std::string>> declared;  // actor, contract, link
  for (std::size_t ci = 0; ci < m.components.size(); ++ci) {
    const Component& comp = m.components[ci];
    for (std::size_t ti = 0; ti < comp.traits.size(); ++ti) {
      const Trait& t = comp.traits[ti];
      if (t.type != TraitType::kLinkdef) continue;
      const Component* target = nullptr;
      for (const auto& o : m.components)
        if (o.name == t.linkdef.target) target = &o;
      if (target == nullptr) continue;  // validated at put
      const std::string aid = actor_id_of(comp.image);
      const std::string pid = provider_id_of(target->image, target->link_name);
      ComponentStatus& cs = plan.components[ci];
      if (aid.empty() || pid.empty()) {
        pending = true;
        if (cs.status == "deployed") cs.status = "reconciling";
        cs.traits[ti].second = "reconciling";
        continue;
      }
      declared.emplace(aid, target->contract, target->link_name);
      const LinkSnapshot* have = nullptr;
      for (const auto& l : s.links)
        if (l.actor_id == aid && l.contract_id == target->contract &&
            l.link_name == target->link_name)
          have = &l;
      if (have != nullptr && have->provider_id == pid && have->values == t.linkdef.values) continue;
      Command c;
      c.kind = Command::Kind::kPutLink;
      c.actor_id = aid;
      c.provider_id = pid;
      c.contract_id = target->contract;
      c.link_name = target->link_name;
      c.values = t.linkdef.values;
      plan.commands.push_back(std::move(c));
      if (cs.status == "deployed") cs.status = "reconciling";
      cs.traits[ti].second = "reconciling";
    }
  }

  // What this application runs and no longer declares.
  std::set<std::string> my_actor_ids, my_provider_ids;
  for (const auto& h : s.hosts) {
    for (const auto& g : h.actors) {
      if (!owned_by(g.annotations, app)) continue;
      my_actor_ids.insert(g.actor_id);
      if (actor_images.count(g.image_ref) == 0 && actor_repos.count(repo_of(g.image_ref)) == 0)
        plan.commands.push_back(stop_actor(h.host_id, g.actor_id, 0, mine));
    }
    for (const auto& p : h.providers) {
      if (!owned_by(p.annotations, app)) continue;
      my_provider_ids.insert(p.provider_id);
      if (provider_keys.count({p.image_ref, p.link_name}) == 0)
        plan.commands.push_back(stop_provider(h.host_id, p));
    }
  }
  for (const auto& l : s.links)
    if (my_actor_ids.count(l.actor_id) != 0 && my_provider_ids.count(l.provider_id) != 0 &&
        declared.count({l.actor_id, l.contract_id, l.link_name}) == 0 && !pending)
      plan.commands.push_back(delete_link(l));

  plan.converged = plan.commands.empty() && !pending && plan.error.empty();
  return plan;
}

std::vector<Command> plan_cleanup(const std::set<std::string>& keep, const LatticeSnapshot& s) {
  std::vector<Command> out;
  std::map<std::string, std::set<std::string>> actors, providers;  // app -> ids
  for (const auto& h : s.hosts) {
    for (const auto& g : h.actors) {
      const std::string app = owner_app(g.annotations);
      if (app.empty() || keep.count(app) != 0) continue;
      actors[app].insert(g.actor_id);
      out.push_back(stop_actor(h.host_id, g.actor_id, 0, managed_annotations(app)));
    }
    for (const auto& p : h.providers) {
      const std::string app = owner_app(p.annotations);
      if (app.empty() || keep.count(app) != 0) continue;
      providers[app].insert(p.provider_id);
      out.push_back(stop_provider(h.host_id, p));
    }
  }
  for (const auto& l : s.links)
    for (const auto& [app, ids] : actors)
      if (ids.count(l.actor_id) != 0 && providers[app].count(l.provider_id) != 0) {
        out.insert(out.begin(), delete_link(l));  // links first, while both ends are known
        break;
      }
  return out;
}

// ------------------------------------------------------------------------------ the thread

Result<std::unique_ptr<Reconciler>> Reconciler::start(lattice::Connection& nc, ModelStore& store,
                                                      ReconcilerOptions options) {
  std::unique_ptr<Reconciler> r(new Reconciler());
  r->nc_ = &nc;
  r->store_ = &store;
  if (options.owner.empty()) {
    std::random_device rd;
    options.owner = "wadm-" + std::to_string(rd()) + std::to_string(rd());
  }
  r->options_ = std::move(options);
  r->ctl_ =
      std::make_unique<lattice::CtlClient>(nc, r->options_.lattice, r->options_.ctl_prefix,
                                           std::chrono::seconds(2), std::chrono::milliseconds(500));
  Reconciler* self = r.get();
  auto sub = nc.subscribe(lattice::topics::events(r->options_.lattice),
                          [self](lattice::Message) { self->wake(); });
  if (!sub) return fail(sub.error());
  r->events_ = std::move(*sub);
  r->thread_ = std::thread([self] { self->run(); });
  return r;
}

Reconciler::~Reconciler() {
  events_.unsubscribe();
  {
    MutexLock l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Hand the lease over at once instead of letting it run out (only if it is still ours; not
  // while NATS is unreachable, where each KV call would wait for its timeout).
  if (!nc_->connected()) return;
  const std::string key = "_lease." + options_.lattice;
  auto cur = store_->get_raw(key);
  if (cur && *cur &&
      json_string(json::parse((*cur)->first, nullptr, false), "owner") == options_.owner)
    (void)store_->put_raw(key, json{{"owner", options_.owner}, {"until_ms", 0}}.dump(),
                          (*cur)->second);
}

void Reconciler::wake() {
  {
    MutexLock l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Reconciler::run() {
  pthread_setname_np(pthread_self(), "wc-wadm-reconcile");
  while (true) {
    {
      MutexLock l(mu_);
      const auto until = Clock::now() + options_.round_interval;
      while (!stop_ && !wake_)
        if (l.wait_until(cv_, until) == std::cv_status::timeout) break;
      if (stop_) return;
      if (wake_) {
        // Debounce a burst of events into one round.
        const auto settle = Clock::now() + std::chrono::milliseconds(250);
        while (!stop_)
          if (l.wait_until(cv_, settle) == std::cv_status::timeout) break;
        if (stop_) return;
      }
      wake_ = false;
    }
    try {
      round();
    } catch (const std::exception& e) {
      spdlog::error("wadm reconciler: round failed: {}", e.what());
    }
  }
}

bool Reconciler::hold_lease() {
  const std::string key = "_lease." + options_.lattice;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string value =
      json{{"owner", options_.owner}, {"until_ms", now_ms + options_.lease_ttl.count()}}.dump();
  auto cur = store_->get_raw(key);
  if (!cur) return false;
  std::uint64_t expected = 0;
  if (*cur) {
    json j = json::parse((*cur)->first, nullptr, false);
    const bool mine = json_string(j, "owner") == options_.owner;
    const bool expired = json_int(j, "until_ms", 0) < now_ms;
    if (!mine && !expired) return false;
    expected = (*cur)->second;
  }
  return store_->put_raw(key, value, expected).has_value();
}

void Reconciler::send(const Command& c) {
  Result<lattice::CtlAck> ack = lattice::CtlAck{};
  switch (c.kind) {
    case Command::Kind::kStartActor:
      ack = ctl_->start_actor(c.host_id, c.image_ref, c.count, c.annotations);
      break;
    case Command::Kind::kStopActor:
      ack = ctl_->stop_actor(c.host_id, c.actor_id, c.count, c.annotations);
      break;
    case Command::Kind::kUpdateActor:
      ack = ctl_->update_actor(c.host_id, c.actor_id, c.image_ref);
      break;
    case Command::Kind::kStartProvider:
      ack = ctl_->start_provider(c.host_id, c.image_ref, c.link_name, c.config, c.annotations);
      break;
    case Command::Kind::kStopProvider:
      ack = ctl_->stop_provider(c.host_id, c.provider_id, c.link_name, c.contract_id);
      break;
    case Command::Kind::kPutLink:
      ack = ctl_->advertise_link(c.actor_id, c.provider_id, c.contract_id, c.link_name, c.values);
      break;
    case Command::Kind::kDeleteLink:
      ack = ctl_->remove_link(c.actor_id, c.contract_id, c.link_name);
      break;
  }
  ++commands_sent_;
  if (!ack)
    spdlog::warn("wadm reconciler: {} failed: {}", c.describe(), ack.error().message);
  else if (!ack->accepted)
    spdlog::warn("wadm reconciler: {} refused: {}", c.describe(), ack->error);
  else
    spdlog::info("wadm reconciler: {}", c.describe());
}

void Reconciler::write_status(const StoredModel& model, const AppPlan* plan, AppState& st) {
  json components = json::array();
  std::string type = "reconciling";
  std::string message;
  if (plan != nullptr) {
    for (const auto& c : plan->components) {
      json traits = json::array();
      for (const auto& [t, ts] : c.traits)
        traits.push_back({{"type", t}, {"status", {{"type", ts}}}});
      json info = {{"type", c.status}};
      if (!c.message.empty()) info["message"] = c.message;
      components.push_back(
          {{"name", c.name}, {"type", c.type}, {"status", info}, {"traits", traits}});
    }
    if (plan->converged) type = "deployed";
  }
  if (st.failed) {
    type = "failed";
    message = st.failure;
  }
  json record = {{"version", st.version},
                 {"status", {{"type", type}, {"message", message}}},
                 {"components", components},
                 {"commands_sent", st.commands}};
  if (st.converged_at != Clock::time_point{})
    record["time_to_deployed_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(st.converged_at - st.deployed_at)
            .count();
  std::string text = record.dump();
  if (text == st.last_status) return;
  auto w = store_->put_raw(status_key(options_.lattice, model.name), text, std::nullopt);
  if (!w) {
    spdlog::warn("wadm reconciler: status of {}: {}", model.name, w.error().message);
    return;
  }
  st.last_status = std::move(text);
}

void Reconciler::round() {
  if (!nc_->connected()) return;  // reconnecting: try again next round
  if (!hold_lease()) return;
  auto models = store_->list();
  if (!models) {
    spdlog::warn("wadm reconciler: reading models: {}", models.error().message);
    return;
  }
  auto snap = read_snapshot(*ctl_);
  if (!snap) {
    spdlog::warn("wadm reconciler: reading the lattice: {}", snap.error().message);
    return;
  }
  std::set<std::string> hosts;
  for (const auto& h : snap->hosts) hosts.insert(h.host_id);
  const bool hosts_changed = hosts != last_hosts_;
  last_hosts_ = hosts;
  const auto now = Clock::now();

  std::set<std::string> keep;
  for (const auto& m : *models)
    if (m.deployed_version || m.leave_running) keep.insert(m.name);
  std::vector<Command> cleanup = plan_cleanup(keep, *snap);
  if (!cleanup.empty()) {
    AppState& st = apps_["~cleanup"];
    if (now >= st.hold_until) {
      for (const auto& c : cleanup) send(c);
      st.hold_until = now + options_.first_backoff;
    }
  }

  std::set<std::string> deployed;
  for (const auto& model : *models)
    if (model.deployed_version) deployed.insert(model.name);
  for (auto it = apps_.begin(); it != apps_.end();)
    it = (deployed.count(it->first) == 0 && it->first != "~cleanup") ? apps_.erase(it) : ++it;
  for (const auto& model : *models) {
    if (!model.deployed_version) continue;
    AppState& st = apps_[model.name];
    if (st.version != *model.deployed_version) {
      st = AppState{};
      st.version = *model.deployed_version;
      st.deployed_at = now;
    }
    if (hosts_changed) {
      st.rounds = 0;
      st.failed = false;
      st.hold_until = {};
    }
    const StoredVersion* v = model.find(*model.deployed_version);
    if (v == nullptr) continue;
    auto manifest = manifest_from_json(v->manifest);
    if (!manifest) {
      st.failed = true;
      st.failure = "stored manifest is invalid: " + manifest.error().message;
      write_status(model, nullptr, st);
      continue;
    }
    AppPlan plan = plan_app(model.name, *manifest, *snap);
    if (!plan.error.empty()) {
      st.failed = true;
      st.failure = plan.error;
    } else if (plan.converged) {
      st.failed = false;
      st.failure.clear();
      st.rounds = 0;
      if (st.converged_at == Clock::time_point{}) {
        st.converged_at = now;
        spdlog::info(
            "wadm reconciler: {} {} deployed in {} ms with {} command(s)", model.name, st.version,
            std::chrono::duration_cast<std::chrono::milliseconds>(now - st.deployed_at).count(),
            st.commands);
      }
    }
    if (!plan.commands.empty() && now >= st.hold_until) {
      if (st.rounds >= options_.max_rounds) {
        if (!st.failed || st.failure.find("did not converge") == std::string::npos) {
          st.failed = true;
          st.failure = (plan.error.empty() ? "" : plan.error + "; ") + "did not converge after " +
                       std::to_string(st.rounds) + " rounds of commands (" +
                       std::to_string(st.commands) +
                       " sent); still needed: " + plan.commands.front().describe();
        }
      } else {
        for (const auto& c : plan.commands) send(c);
        st.commands += plan.commands.size();
        ++st.rounds;
        auto backoff = options_.first_backoff * (1 << std::min(st.rounds - 1, 10));
        st.hold_until = now + std::min<std::chrono::milliseconds>(
                                  std::chrono::duration_cast<std::chrono::milliseconds>(backoff),
                                  options_.max_backoff);
      }
    }
    write_status(model, &plan, st);
  }
}

}  // namespace wc::wadm
