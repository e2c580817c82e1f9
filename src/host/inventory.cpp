#include "host/inventory.h"

#include "host/config.h"
#include "host/errors.h"
#include "host/util.h"

namespace wc::host {

using nlohmann::json;

json provider_json(const ProviderInfo& p) {
  return json{
      {"id", p.public_key},           {"link_name", p.link_name}, {"contract_id", p.contract_id},
      {"image_ref", p.image_ref},     {"name", p.name},           {"instance_id", p.instance_id},
      {"annotations", p.annotations}, {"revision", p.revision}};
}

json inventory_json(const HostFacts& facts, const std::vector<ActorInfo>& actors,
                    const std::vector<ProviderInfo>& providers) {
  json plist = json::array();
  for (const auto& p : providers) plist.push_back(provider_json(p));
  json list = json::array();
  for (const auto& a : actors) {
    if (a.instances.empty()) continue;
    json instances = json::array();
    for (const auto& i : a.instances) {
      instances.push_back({{"annotations", i.annotations},
                           {"instance_id", i.instance_id},
                           {"revision", i.revision}});
    }
    list.push_back({{"id", a.public_key},
                    {"image_ref", a.instances.front().image_ref},
                    {"name", a.name},
                    {"instances", std::move(instances)}});
  }
  return json{{"host_id", facts.host_id},
              {"issuer", facts.issuer},
              {"friendly_name", facts.friendly_name},
              {"labels", facts.labels},
              {"actors", std::move(list)},
              {"providers", std::move(plist)}};
}

json ping_reply_json(const HostFacts& facts) {
  std::string issuers;
  for (const auto& i : facts.cluster_issuers) {
    if (!issuers.empty()) issuers += ",";
    issuers += i;
  }
  return json{{"id", facts.host_id},
              {"issuer", facts.issuer},
              {"friendly_name", facts.friendly_name},
              {"labels", facts.labels},
              {"uptime_seconds", facts.uptime_seconds},
              {"uptime_human", uptime_human(facts.uptime_seconds)},
              {"version", kHostVersion},
              {"cluster_issuers", issuers},
              {"js_domain", facts.js_domain ? json(*facts.js_domain) : json(nullptr)},
              {"ctl_host", facts.ctl_host},
              {"prov_rpc_host", facts.prov_rpc_host},
              {"rpc_host", facts.rpc_host},
              {"lattice_prefix", facts.lattice_prefix}};
}

json heartbeat_json(const HostFacts& facts, const std::vector<ActorInfo>& actors,
                    const std::vector<ProviderInfo>& providers) {
  json plist = json::array();
  for (const auto& p : providers)
    plist.push_back({{"public_key", p.public_key},
                     {"link_name", p.link_name},
                     {"contract_id", p.contract_id.empty() ? std::string("n/a") : p.contract_id}});
  json counts = json::object();
  for (const auto& a : actors) {
    if (!a.instances.empty()) counts[a.public_key] = a.instances.size();
  }
  return json{{"actors", std::move(counts)},
              {"providers", std::move(plist)},
              {"labels", facts.labels},
              {"friendly_name", facts.friendly_name},
              {"version", kHostVersion},
              {"uptime_seconds", facts.uptime_seconds},
              {"uptime_human", uptime_human(facts.uptime_seconds)}};
}

ScalePlan plan_scale(std::size_t running, const std::string& first_instance_ref,
                     const std::string& requested_ref, std::int64_t desired) {
  ScalePlan plan;
  std::string ref = requested_ref;
  if (ref.empty() && running >= 1) ref = first_instance_ref;
  std::int64_t diff = static_cast<std::int64_t>(running) - desired;
  if (diff == 0) return plan;
  if (diff > 0) {
    plan.kind = ScalePlan::Kind::kStop;
    plan.count = diff;
    return plan;
  }
  if (ref.empty()) {
    plan.kind = ScalePlan::Kind::kError;
    plan.error = std::string(errors::kScaleWithoutReference);
    return plan;
  }
  plan.kind = ScalePlan::Kind::kStart;
  plan.count = -diff;
  plan.reference = ref;
  return plan;
}

std::vector<std::size_t> select_instances_to_stop(const std::vector<InstanceInfo>& instances,
                                                  std::int64_t count, const StringMap& filter) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    if (count > 0 && out.size() >= static_cast<std::size_t>(count)) break;
    bool match = true;
    for (const auto& [k, v] : filter) {
      auto it = instances[i].annotations.find(k);
      if (it == instances[i].annotations.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (match) out.push_back(i);
  }
  return out;
}

}  // namespace wc::host
