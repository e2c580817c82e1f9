// LatticeStateWriter: this host's part of the wadm_state bucket (see lattice_state.h).
#include "host/lattice_state.h"

#include <pthread.h>

#include <algorithm>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "lattice/cloudevent.h"
#include "lattice/topics.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;

/// The current map, or {} when missing, unparsable or not an object (a foreign writer's garbage
/// is replaced rather than kept forever).
json parse_map(const std::optional<std::string>& current) {
  if (!current) return json::object();
  json j = json::parse(*current, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return json::object();
  return j;
}

std::string claim_text(const std::optional<json>& claims, const char* field) {
  if (!claims || !claims->is_object()) return {};
  auto it = claims->find(field);
  if (it == claims->end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

HostStateView make_host_state_view(
    const HostFacts& facts, const std::vector<ActorInfo>& actors,
    const std::vector<ProviderInfo>& providers, std::string_view version,
    std::chrono::system_clock::time_point now,
    const std::function<std::string(const std::string& key)>& component_id,
    const std::function<std::string(const std::string& key, const std::string& link)>& provider_id,
    const std::function<std::optional<json>(const std::string& key)>& claims) {
  HostStateView v;
  v.host_id = facts.host_id;
  v.friendly_name = facts.friendly_name;
  v.version = std::string(version);
  v.last_seen = lattice::rfc3339_micros(now);
  v.labels = facts.labels;
  v.uptime_seconds = facts.uptime_seconds;
  for (const auto& a : actors) {
    if (a.instances.empty()) continue;
    HostStateView::Component c;
    c.id = component_id ? component_id(a.public_key) : a.public_key;
    auto cl = claims ? claims(a.public_key) : std::nullopt;
    c.name = !a.name.empty() ? a.name : claim_text(cl, "name");
    c.issuer = claim_text(cl, "iss");
    c.reference = a.instances.front().image_ref;
    for (const auto& inst : a.instances) {
      bool found = false;
      for (auto& [ann, count] : c.groups) {
        if (ann == inst.annotations) {
          ++count;
          found = true;
          break;
        }
      }
      if (!found) c.groups.emplace_back(inst.annotations, 1);
    }
    v.components.push_back(std::move(c));
  }
  for (const auto& p : providers) {
    HostStateView::Provider pv;
    pv.id = provider_id ? provider_id(p.public_key, p.link_name) : p.public_key;
    auto cl = claims ? claims(p.public_key) : std::nullopt;
    pv.name = !p.name.empty() ? p.name : claim_text(cl, "name");
    pv.issuer = claim_text(cl, "iss");
    pv.reference = p.image_ref;
    pv.annotations = p.annotations;
    v.providers.push_back(std::move(pv));
  }
  return v;
}

std::string merge_hosts(const std::optional<std::string>& current, const std::string& host_id,
                        const HostStateView* view, const std::string& stale_before,
                        std::set<std::string>* pruned) {
  json m = parse_map(current);
  if (!stale_before.empty()) {
    for (auto it = m.begin(); it != m.end();) {
      const json& e = it.value();
      const json* seen = e.is_object() && e.contains("last_seen") ? &e["last_seen"] : nullptr;
      // Only our own timestamp format compares as text (rfc3339_micros: fixed width, UTC).
      bool stale = it.key() != host_id && seen != nullptr && seen->is_string() &&
                   seen->get_ref<const std::string&>().size() == stale_before.size() &&
                   seen->get_ref<const std::string&>() < stale_before;
      if (stale && pruned != nullptr) pruned->insert(it.key());
      it = stale ? m.erase(it) : std::next(it);
    }
  }

  if (view == nullptr) {
    m.erase(host_id);
    return m.dump();
  }
  json components = json::object();
  for (const auto& c : view->components) {
    std::uint64_t n = 0;
    for (const auto& g : c.groups) n += g.second;
    components[c.id] = components.value(c.id, std::uint64_t{0}) + n;
  }
  json providers = json::array();
  for (const auto& p : view->providers) {
    providers.push_back(
        {{"provider_id", p.id}, {"provider_ref", p.reference}, {"annotations", p.annotations}});
  }
  m[host_id] = json{{"id", view->host_id},
                    {"friendly_name", view->friendly_name},
                    {"labels", view->labels},
                    {"annotations", json::object()},
                    {"components", std::move(components)},
                    {"providers", std::move(providers)},
                    {"uptime_seconds", view->uptime_seconds},
                    {"version", view->version},
                    {"last_seen", view->last_seen}};
  return m.dump();
}

std::string merge_components(const std::optional<std::string>& current, const std::string& host_id,
                             const HostStateView* view, const std::set<std::string>& also_remove) {
  json m = parse_map(current);
  for (auto it = m.begin(); it != m.end();) {
    json& c = it.value();
    if (c.is_object() && c.contains("instances") && c["instances"].is_object()) {
      c["instances"].erase(host_id);
      for (const auto& h : also_remove) c["instances"].erase(h);
    }
    bool empty = !c.is_object() || !c.contains("instances") || !c["instances"].is_object() ||
                 c["instances"].empty();
    bool ours = view != nullptr && std::any_of(view->components.begin(), view->components.end(),
                                               [&](const auto& x) { return x.id == it.key(); });
    it = (empty && !ours) ? m.erase(it) : std::next(it);
  }
  if (view != nullptr) {
    for (const auto& c : view->components) {
      json& e = m[c.id];
      if (!e.is_object()) e = json::object();
      e["id"] = c.id;
      e["name"] = c.name;
      e["issuer"] = c.issuer;
      e["reference"] = c.reference;
      if (!e.contains("instances") || !e["instances"].is_object()) e["instances"] = json::object();
      json groups = json::array();
      for (const auto& [ann, count] : c.groups)
        groups.push_back({{"annotations", ann}, {"count", count}});
      e["instances"][host_id] = std::move(groups);
    }
  }
  return m.dump();
}

std::string merge_providers(const std::optional<std::string>& current, const std::string& host_id,
                            const HostStateView* view, const std::set<std::string>& also_remove) {
  json m = parse_map(current);
  for (auto it = m.begin(); it != m.end();) {
    json& p = it.value();
    if (p.is_object() && p.contains("hosts") && p["hosts"].is_object()) {
      p["hosts"].erase(host_id);
      for (const auto& h : also_remove) p["hosts"].erase(h);
    }
    bool empty =
        !p.is_object() || !p.contains("hosts") || !p["hosts"].is_object() || p["hosts"].empty();
    bool ours = view != nullptr && std::any_of(view->providers.begin(), view->providers.end(),
                                               [&](const auto& x) { return x.id == it.key(); });
    it = (empty && !ours) ? m.erase(it) : std::next(it);
  }
  if (view != nullptr) {
    for (const auto& p : view->providers) {
      json& e = m[p.id];
      if (!e.is_object()) e = json::object();
      e["id"] = p.id;
      e["name"] = p.name;
      e["issuer"] = p.issuer;
      e["reference"] = p.reference;
      if (!e.contains("hosts") || !e["hosts"].is_object()) e["hosts"] = json::object();
      e["hosts"][host_id] = "Running";
    }
  }
  return m.dump();
}

// ------------------------------------------------------------------ LatticeStateWriter

LatticeStateWriter::LatticeStateWriter(LatticeStateDeps deps) : deps_(std::move(deps)) {}

LatticeStateWriter::~LatticeStateWriter() { stop(); }

void LatticeStateWriter::start() {
  {
    MutexLock lock(mu_);
    if (thread_.joinable() || stop_) return;
    dirty_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

void LatticeStateWriter::changed() {
  {
    MutexLock lock(mu_);
    if (dirty_ || stop_ || remove_) return;
    dirty_ = true;
  }
  cv_.notify_all();
}

std::uint64_t LatticeStateWriter::writes() const {
  MutexLock lock(mu_);
  return writes_;
}

void LatticeStateWriter::remove_and_stop(std::chrono::milliseconds timeout) {
  {
    MutexLock lock(mu_);
    if (!thread_.joinable() || stop_) return;
    remove_ = true;
  }
  cv_.notify_all();
  {
    MutexLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done_) {
      if (lock.wait_until(cv_, deadline) == std::cv_status::timeout) break;
    }
    stop_ = true;  // a removal still in flight after the timeout ends with its current attempt
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LatticeStateWriter::stop() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status LatticeStateWriter::write(const HostStateView* view) {
  const std::string& h = deps_.host_id;
  std::string stale_before;
  if (view != nullptr && deps_.stale_after.count() > 0)
    stale_before = lattice::rfc3339_micros(std::chrono::system_clock::now() - deps_.stale_after);
  std::set<std::string> pruned;
  auto st = deps_.modify(topics::wadm_state_hosts_key(deps_.lattice),
                         [&](const std::optional<std::string>& cur) -> std::optional<std::string> {
                           pruned.clear();  // the loop may run this again
                           return merge_hosts(cur, h, view, stale_before, &pruned);
                         });
  if (!st) return st;
  for (const auto& gone : pruned)
    spdlog::info("wadm_state: removed host {} (not seen since {})", gone, stale_before);
  st = deps_.modify(topics::wadm_state_components_key(deps_.lattice),
                    [&](const std::optional<std::string>& cur) -> std::optional<std::string> {
                      return merge_components(cur, h, view, pruned);
                    });
  if (!st) return st;
  return deps_.modify(topics::wadm_state_providers_key(deps_.lattice),
                      [&](const std::optional<std::string>& cur) -> std::optional<std::string> {
                        return merge_providers(cur, h, view, pruned);
                      });
}

void LatticeStateWriter::run() {
  (void)pthread_setname_np(pthread_self(), "wc-latstate");
  for (;;) {
    bool remove = false;
    {
      MutexLock lock(mu_);
      while (!dirty_ && !remove_ && !stop_) lock.wait(cv_);
      if (stop_) break;
      remove = remove_;
      dirty_ = false;
    }
    Status st;
    if (remove) {
      st = write(nullptr);
      if (!st)
        spdlog::warn("wadm_state: removing host {} failed: {}", deps_.host_id, st.error().message);
      break;
    }
    HostStateView v = deps_.view();
    st = write(&v);
    MutexLock lock(mu_);
    if (st) {
      ++writes_;
      continue;
    }
    spdlog::debug("wadm_state: writing host {} failed: {}", deps_.host_id, st.error().message);
    dirty_ = true;  // retry after a pause, unless something else ends the wait first
    const auto until = std::chrono::steady_clock::now() + deps_.retry_delay;
    while (!remove_ && !stop_) {
      if (lock.wait_until(cv_, until) == std::cv_status::timeout) break;
    }
  }
  {
    MutexLock lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
}

}  // namespace wc::host
