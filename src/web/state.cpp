#include "web/state.h"

#include <algorithm>

#include "common/json.h"
#include "lattice/cloudevent.h"
#include "lattice/events.h"
#include "web/applications.h"

namespace wc::web {
namespace {

using nlohmann::json;

std::int64_t num(const json& j, const char* key, std::int64_t fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_number_float()) return static_cast<std::int64_t>(it->get<double>());
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return fallback;
    }
  }
  return fallback;
}

std::map<std::string, std::string> string_map(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

std::string short_key(const std::string& key) {
  return key.size() > 8 ? key.substr(0, 8) + "…" : key;
}

/// One human line per event type.
std::string summarize(const std::string& type, const std::string& source, const json& d) {
  const std::string pk = short_key(json_string(d, "public_key"));
  if (type == "host_started") return "Host " + short_key(source) + " started";
  if (type == "host_stopped") return "Host " + short_key(source) + " stopped";
  if (type == "host_heartbeat") return "Heartbeat from " + short_key(source);
  if (type == "actor_started")
    return "Actor " + pk + " instance started from " + json_string(d, "image_ref");
  if (type == "actors_started")
    return "Started " + std::to_string(num(d, "count")) + " instance(s) of " + pk;
  if (type == "actor_start_failed")
    return "Actor start failed (" + json_string(d, "actor_ref") + "): " + json_string(d, "error");
  if (type == "actors_start_failed")
    return "Actor start failed (" + json_string(d, "image_ref") + "): " + json_string(d, "error");
  if (type == "actor_stopped") return "Actor " + pk + " instance stopped";
  if (type == "actors_stopped")
    return "Stopped " + std::to_string(num(d, "count")) + " instance(s) of " + pk;
  if (type == "actor_updated")
    return "Actor " + pk + " updated to revision " + std::to_string(num(d, "revision"));
  if (type == "actor_update_failed")
    return "Actor " + pk + " update failed: " + json_string(d, "reason");
  if (type == "provider_started")
    return "Provider " + pk + " (" + json_string(d, "link_name") + ") started";
  if (type == "provider_start_failed")
    return "Provider start failed (" + json_string(d, "provider_ref") +
           "): " + json_string(d, "error");
  if (type == "provider_stopped")
    return "Provider " + pk + " (" + json_string(d, "link_name") + ") stopped";
  if (type == "health_check_passed") return "Provider " + pk + " is healthy";
  if (type == "health_check_failed") return "Provider " + pk + " is unhealthy";
  if (type == "health_check_status") return "Provider " + pk + " health unchanged";
  if (type == "linkdef_set")
    return "Link " + short_key(json_string(d, "actor_id")) + " → " +
           short_key(json_string(d, "provider_id")) + " (" + json_string(d, "contract_id") + ", " +
           json_string(d, "link_name") + ") set";
  if (type == "linkdef_deleted")
    return "Link " + short_key(json_string(d, "actor_id")) + " (" + json_string(d, "contract_id") +
           ", " + json_string(d, "link_name") + ") deleted";
  if (type == "refmap_set")
    return json_string(d, "oci_url") + " maps to " + short_key(json_string(d, "public_key"));
  if (type == "invocation_succeeded" || type == "invocation_failed")
    return json_string(d, "operation") + (type == "invocation_failed" ? " failed" : " succeeded");
  return type;
}

/// `s` cut to at most `max` bytes at a UTF-8 character start, plus "…", when longer.
std::string cap_text(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

}  // namespace

json cap_texts(const json& j, std::size_t max_bytes) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    return s.size() <= max_bytes ? j : json(cap_text(s, max_bytes));
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& v : j) out.push_back(cap_texts(v, max_bytes));
    return out;
  }
  if (j.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : j.items()) out[cap_text(k, max_bytes)] = cap_texts(v, max_bytes);
    return out;
  }
  return j;
}

json LogEntry::to_json() const {
  return json{{"seq", seq},     {"time", time},       {"type", type}, {"source", source},
              {"level", level}, {"summary", summary}, {"data", data}};
}

std::string uptime_human(std::int64_t s) {
  if (s < 0) s = 0;
  std::int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  std::string out;
  if (d) out += std::to_string(d) + "d ";
  if (d || h) out += std::to_string(h) + "h ";
  if (d || h || m) out += std::to_string(m) + "m ";
  return out + std::to_string(sec) + "s";
}

LatticeState::LatticeState(std::string lattice) : lattice_(std::move(lattice)) {}

void LatticeState::touch_host_locked(const std::string& id, Clock::time_point now) {
  auto& h = hosts_[id];
  h.seen = now;
  if (h.uptime_at == Clock::time_point{}) h.uptime_at = now;
}

void LatticeState::drop_host_rows_locked(const std::string& id) {
  std::erase_if(actors_, [&](const auto& kv) { return kv.first.first == id; });
  std::erase_if(providers_, [&](const auto& kv) { return std::get<0>(kv.first) == id; });
}

void LatticeState::apply_ping(const json& raw, Clock::time_point now) {
  const json reply = cap_texts(raw);
  std::string id = json_string(reply, "id");
  if (id.empty()) return;
  std::lock_guard lock(mu_);
  touch_host_locked(id, now);
  auto& h = hosts_[id];
  h.friendly_name = json_string(reply, "friendly_name");
  h.labels = string_map(reply, "labels");
  h.uptime_seconds = num(reply, "uptime_seconds");
  h.uptime_at = now;
  h.lattice_prefix = json_string(reply, "lattice_prefix");
  if (h.lattice_prefix.empty()) h.lattice_prefix = lattice_;
  h.version = json_string(reply, "version");
  ++version_;
}

void LatticeState::apply_inventory(const json& raw) {
  const json inv = cap_texts(raw);
  std::string host = json_string(inv, "host_id");
  if (host.empty()) return;
  std::lock_guard lock(mu_);
  auto& h = hosts_[host];
  if (h.seen == Clock::time_point{}) h.seen = h.uptime_at = Clock::now();
  if (auto fn = json_string(inv, "friendly_name"); !fn.empty()) h.friendly_name = fn;
  if (inv.contains("labels")) h.labels = string_map(inv, "labels");
  std::erase_if(actors_, [&](const auto& kv) { return kv.first.first == host; });
  if (auto it = inv.find("actors"); it != inv.end() && it->is_array()) {
    for (const auto& a : *it) {
      std::string key = json_string(a, "id");
      if (key.empty()) continue;
      Actor row;
      row.image_ref = json_string(a, "image_ref");
      row.name = json_string(a, "name");
      if (auto ins = a.find("instances"); ins != a.end() && ins->is_array()) {
        row.count = static_cast<int>(ins->size());
        if (!ins->empty()) row.revision = num(ins->front(), "revision");
        for (const auto& i : *ins)
          if (row.app.empty() && i.is_object() && i.contains("annotations"))
            row.app = wadm_app_of(i["annotations"]);
      }
      if (row.count > 0) actors_[{host, key}] = row;
      if (!row.image_ref.empty()) refmap_[row.image_ref] = key;
      if (!row.name.empty()) claims_[key].name = row.name;
    }
  }
  std::map<std::tuple<std::string, std::string, std::string>, Provider> kept;
  if (auto it = inv.find("providers"); it != inv.end() && it->is_array()) {
    for (const auto& p : *it) {
      std::tuple<std::string, std::string, std::string> k{host, json_string(p, "id"),
                                                          json_string(p, "link_name")};
      if (std::get<1>(k).empty()) continue;
      Provider row;
      if (auto old = providers_.find(k); old != providers_.end()) row.status = old->second.status;
      row.contract_id = json_string(p, "contract_id");
      row.name = json_string(p, "name");
      row.image_ref = json_string(p, "image_ref");
      if (p.is_object() && p.contains("annotations")) row.app = wadm_app_of(p["annotations"]);
      kept[k] = row;
    }
  }
  std::erase_if(providers_, [&](const auto& kv) { return std::get<0>(kv.first) == host; });
  providers_.merge(kept);
  ++version_;
}

void LatticeState::set_link_locked(const json& d) {
  Link l{json_string(d, "actor_id"), json_string(d, "provider_id"), json_string(d, "link_name"),
         json_string(d, "contract_id"), string_map(d, "values")};
  std::string id = json_string(d, "id");
  if (id.empty()) id = l.actor_id + "/" + l.contract_id + "/" + l.link_name;
  links_[id] = std::move(l);
}

void LatticeState::apply_links(const json& raw) {
  const json reply = cap_texts(raw);
  std::lock_guard lock(mu_);
  links_.clear();
  if (auto it = reply.find("links"); reply.is_object() && it != reply.end() && it->is_array())
    for (const auto& l : *it) set_link_locked(l);
  ++version_;
}

void LatticeState::apply_claims(const json& raw) {
  const json reply = cap_texts(raw);
  std::lock_guard lock(mu_);
  if (!reply.is_object()) return;
  if (auto it = reply.find("claims"); it != reply.end() && it->is_array()) {
    for (const auto& c : *it) {
      std::string key = json_string(c, "sub");
      if (key.empty()) continue;
      auto& cl = claims_[key];
      if (auto n = json_string(c, "name"); !n.empty()) cl.name = n;
      cl.revision = num(c, "rev", cl.revision);
    }
  }
  ++version_;
}

std::optional<LogEntry> LatticeState::apply_event(const json& raw, Clock::time_point now) {
  const json ev = cap_texts(raw);
  if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string()) return std::nullopt;
  const std::string type(lattice::events::short_name(ev["type"].get<std::string>()));
  const std::string source = json_string(ev, "source");
  static const json kEmpty = json::object();
  const json& d = ev.contains("data") && ev["data"].is_object() ? ev["data"] : kEmpty;
  LogEntry entry;
  entry.time = json_string(ev, "time");
  if (entry.time.empty()) entry.time = lattice::rfc3339_micros(std::chrono::system_clock::now());
  entry.type = type;
  entry.source = source;
  entry.level = type.ends_with("_failed") ? "error" : "info";
  entry.summary = summarize(type, source, d);
  entry.data = d;

  std::lock_guard lock(mu_);
  const std::string pk = json_string(d, "public_key");
  const bool keyed =
      type.starts_with("actor") || type.starts_with("provider") || type.starts_with("health_check");
  if ((keyed && pk.empty()) || source.empty()) return entry;  // malformed: logged only
  if (type == "host_started") {
    touch_host_locked(source, now);
    auto& h = hosts_[source];
    h.labels = string_map(d, "labels");
    h.friendly_name = json_string(d, "friendly_name");
    h.version = json_string(d, "version");
    h.uptime_seconds = num(d, "uptime_seconds");
    h.uptime_at = now;
    if (h.lattice_prefix.empty()) h.lattice_prefix = lattice_;
  } else if (type == "host_stopped") {
    hosts_.erase(source);
    drop_host_rows_locked(source);
  } else if (type == "host_heartbeat") {
    touch_host_locked(source, now);
    auto& h = hosts_[source];
    if (d.contains("labels")) h.labels = string_map(d, "labels");
    if (auto fn = json_string(d, "friendly_name"); !fn.empty()) h.friendly_name = fn;
    if (auto v = json_string(d, "version"); !v.empty()) h.version = v;
    if (d.contains("uptime_seconds")) {
      h.uptime_seconds = num(d, "uptime_seconds");
      h.uptime_at = now;
    }
    if (h.lattice_prefix.empty()) h.lattice_prefix = lattice_;
    if (auto it = d.find("actors"); it != d.end() && it->is_object()) {
      std::map<std::pair<std::string, std::string>, Actor> fresh;
      for (const auto& [key, n] : it->items()) {
        int count = n.is_number_integer() ? n.get<int>() : 0;
        if (count <= 0) continue;
        Actor row;
        if (auto old = actors_.find({source, key}); old != actors_.end()) row = old->second;
        row.count = count;
        fresh[{source, key}] = row;
      }
      std::erase_if(actors_, [&](const auto& kv) { return kv.first.first == source; });
      actors_.merge(fresh);
    }
    if (auto it = d.find("providers"); it != d.end() && it->is_array()) {
      std::map<std::tuple<std::string, std::string, std::string>, Provider> fresh;
      for (const auto& p : *it) {
        std::tuple<std::string, std::string, std::string> k{source, json_string(p, "public_key"),
                                                            json_string(p, "link_name")};
        Provider row;
        if (auto old = providers_.find(k); old != providers_.end()) row = old->second;
        row.contract_id = json_string(p, "contract_id");
        fresh[k] = row;
      }
      std::erase_if(providers_, [&](const auto& kv) { return std::get<0>(kv.first) == source; });
      providers_.merge(fresh);
    }
  } else if (type == "actor_started") {
    touch_host_locked(source, now);
    auto& row = actors_[{source, pk}];
    ++row.count;
    if (auto app = wadm_app_of(d.value("annotations", json::object())); !app.empty()) row.app = app;
    if (auto ref = json_string(d, "image_ref"); !ref.empty()) {
      if (row.image_ref.empty()) row.image_ref = ref;
      refmap_[ref] = pk;
    }
    if (auto c = d.find("claims"); c != d.end() && c->is_object()) {
      row.revision = num(*c, "revision", row.revision);
      if (auto n = json_string(*c, "name"); !n.empty()) {
        row.name = n;
        claims_[pk].name = n;
      }
      claims_[pk].revision = row.revision;
    }
  } else if (type == "actor_stopped") {
    if (auto it = actors_.find({source, pk}); it != actors_.end() && --it->second.count <= 0)
      actors_.erase(it);
  } else if (type == "actor_updated") {
    if (auto it = actors_.find({source, pk}); it != actors_.end())
      it->second.revision = num(d, "revision", it->second.revision);
    claims_[pk].revision = num(d, "revision", claims_[pk].revision);
  } else if (type == "provider_started") {
    touch_host_locked(source, now);
    auto& row = providers_[{source, pk, json_string(d, "link_name")}];
    row.contract_id = json_string(d, "contract_id");
    row.image_ref = json_string(d, "image_ref");
    row.app = wadm_app_of(d.value("annotations", json::object()));
    if (auto c = d.find("claims"); c != d.end() && c->is_object())
      row.name = json_string(*c, "name");
    if (!row.name.empty()) claims_[pk].name = row.name;
  } else if (type == "provider_stopped") {
    providers_.erase({source, pk, json_string(d, "link_name")});
  } else if (type == "health_check_passed" || type == "health_check_failed") {
    if (auto it = providers_.find({source, pk, json_string(d, "link_name")});
        it != providers_.end())
      it->second.status = type == "health_check_passed" ? "Healthy" : "Unhealthy";
  } else if (type == "linkdef_set") {
    set_link_locked(d);
  } else if (type == "linkdef_deleted") {
    std::string id = json_string(d, "id");
    if (id.empty())
      id = json_string(d, "actor_id") + "/" + json_string(d, "contract_id") + "/" +
           json_string(d, "link_name");
    links_.erase(id);
  } else if (type == "refmap_set") {
    if (auto ref = json_string(d, "oci_url"); !ref.empty()) refmap_[ref] = pk;
  } else {
    return entry;  // logged only (7.3: every other event is ignored by the state)
  }
  ++version_;
  return entry;
}

int LatticeState::expire_hosts(std::chrono::seconds max_age, Clock::time_point now) {
  std::lock_guard lock(mu_);
  int n = 0;
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    if (now - it->second.seen > max_age) {
      drop_host_rows_locked(it->first);
      it = hosts_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (n) ++version_;
  return n;
}

void LatticeState::remember_actor(const std::string& ref, const std::string& key,
                                  const std::string& name, std::int64_t revision) {
  std::lock_guard lock(mu_);
  if (!ref.empty()) refmap_[ref] = key;
  auto& c = claims_[key];
  if (!name.empty()) c.name = name;
  c.revision = revision;
  ++version_;
}

std::optional<std::string> LatticeState::actor_for_ref(const std::string& ref) const {
  std::lock_guard lock(mu_);
  if (auto it = refmap_.find(ref); it != refmap_.end() && !it->second.empty()) return it->second;
  return std::nullopt;
}

std::string LatticeState::actor_ref_on(const std::string& host_id,
                                       const std::string& actor_id) const {
  std::lock_guard lock(mu_);
  auto it = actors_.find({host_id, actor_id});
  return it == actors_.end() ? "" : it->second.image_ref;
}

int LatticeState::instances_on(const std::string& host_id, const std::string& actor_id) const {
  std::lock_guard lock(mu_);
  auto it = actors_.find({host_id, actor_id});
  return it == actors_.end() ? 0 : it->second.count;
}

bool LatticeState::has_host(const std::string& host_id) const {
  std::lock_guard lock(mu_);
  return hosts_.contains(host_id);
}

std::string LatticeState::name_of_locked(const std::string& key) const {
  auto it = claims_.find(key);
  return it == claims_.end() ? "" : it->second.name;
}

json LatticeState::snapshot(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  json hosts = json::array(), actors = json::array(), providers = json::array(),
       links = json::array(), claims = json::array();
  for (const auto& [id, h] : hosts_) {
    auto up = h.uptime_seconds +
              std::chrono::duration_cast<std::chrono::seconds>(now - h.uptime_at).count();
    hosts.push_back({{"id", id},
                     {"friendly_name", h.friendly_name},
                     {"labels", h.labels},
                     {"uptime_seconds", up},
                     {"uptime_human", uptime_human(up)},
                     {"lattice_prefix", h.lattice_prefix.empty() ? lattice_ : h.lattice_prefix},
                     {"version", h.version}});
  }
  for (const auto& [k, a] : actors_) {
    std::string name = a.name.empty() ? name_of_locked(k.second) : a.name;
    std::string ref = a.image_ref;
    if (ref.empty())
      for (const auto& [r, key] : refmap_)
        if (key == k.second) ref = r;
    actors.push_back({{"id", k.second},
                      {"name", name.empty() ? "N/A" : name},
                      {"host_id", k.first},
                      {"count", a.count},
                      {"image_ref", ref},
                      {"revision", a.revision},
                      {"managed_by", a.app.empty() ? "" : std::string(kManagedByWadm)},
                      {"app", a.app}});
  }
  for (const auto& [k, p] : providers_) {
    std::string name = p.name.empty() ? name_of_locked(std::get<1>(k)) : p.name;
    providers.push_back({{"id", std::get<1>(k)},
                         {"name", name.empty() ? "N/A" : name},
                         {"host_id", std::get<0>(k)},
                         {"link_name", std::get<2>(k)},
                         {"contract_id", p.contract_id},
                         {"status", p.status},
                         {"image_ref", p.image_ref},
                         {"managed_by", p.app.empty() ? "" : std::string(kManagedByWadm)},
                         {"app", p.app}});
  }
  for (const auto& [id, l] : links_)
    links.push_back({{"id", id},
                     {"actor_id", l.actor_id},
                     {"provider_id", l.provider_id},
                     {"link_name", l.link_name},
                     {"contract_id", l.contract_id},
                     {"values", l.values}});
  for (const auto& [key, c] : claims_)
    claims.push_back({{"id", key},
                      {"name", c.name},
                      {"kind", key.starts_with("M")   ? "actor"
                               : key.starts_with("V") ? "provider"
                                                      : "other"}});
  return json{{"lattice", lattice_},    {"hosts", hosts}, {"actors", actors},
              {"providers", providers}, {"links", links}, {"claims", claims}};
}

std::uint64_t LatticeState::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

void LatticeState::mark_changed() {
  std::lock_guard lock(mu_);
  ++version_;
}

// ------------------------------------------------------------------ InvocationMetrics

InvocationMetrics::InvocationMetrics(int window_seconds) : window_(std::max(1, window_seconds)) {}

bool InvocationMetrics::record(const json& raw, std::int64_t now_s) {
  const json ev = cap_texts(raw);
  if (!ev.is_object()) return false;
  const std::string type(lattice::events::short_name(json_string(ev, "type")));
  bool ok = type == "invocation_succeeded";
  if (!ok && type != "invocation_failed") return false;
  const json& d = ev.contains("data") ? ev["data"] : ev;
  std::string key;
  if (d.is_object() && d.contains("dest")) key = json_string(d["dest"], "public_key");
  if (!key.starts_with("M") && d.is_object() && d.contains("source"))
    key = json_string(d["source"], "public_key");
  if (key.empty()) return false;
  std::optional<double> latency;
  for (const char* f : {"duration_ms", "latency_ms", "elapsed_ms"})
    if (d.contains(f) && d[f].is_number()) latency = d[f].get<double>();
  std::lock_guard lock(mu_);
  auto& s = actors_[key];
  ++s.total;
  if (!ok) ++s.errors;
  if (s.buckets.empty() || s.buckets.back().second < now_s) s.buckets.push_back({now_s});
  auto& b = s.buckets.back();
  (ok ? b.ok : b.err)++;
  if (latency) {
    b.latency_sum += *latency;
    ++b.latency_n;
  }
  while (!s.buckets.empty() && s.buckets.front().second <= now_s - window_) s.buckets.pop_front();
  ++version_;
  return true;
}

json InvocationMetrics::snapshot(std::int64_t now_s) const {
  std::lock_guard lock(mu_);
  json actors = json::array();
  for (const auto& [key, s] : actors_) {
    json per = json::array(), errs = json::array(), lat = json::array();
    auto it = s.buckets.begin();
    for (std::int64_t t = now_s - window_ + 1; t <= now_s; ++t) {
      while (it != s.buckets.end() && it->second < t) ++it;
      if (it != s.buckets.end() && it->second == t) {
        per.push_back(it->ok + it->err);
        errs.push_back(it->err);
        lat.push_back(it->latency_n ? json(it->latency_sum / it->latency_n) : json(nullptr));
      } else {
        per.push_back(0);
        errs.push_back(0);
        lat.push_back(nullptr);
      }
    }
    actors.push_back({{"id", key},
                      {"total", s.total},
                      {"errors", s.errors},
                      {"per_second", per},
                      {"errors_per_second", errs},
                      {"latency_ms", lat}});
  }
  return json{{"window_seconds", window_}, {"now", now_s}, {"actors", actors}};
}

std::uint64_t InvocationMetrics::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

}  // namespace wc::web
