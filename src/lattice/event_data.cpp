// Event data builders (event_data.h). Field order follows control-interface.md 4.4; nlohmann::json
// objects are sorted by key on output, so the order here is for the reader only.
#include "lattice/event_data.h"

namespace wc::lattice::event_data {

using nlohmann::json;

namespace {

/// JSON string from a view (explicit, so that no overload picks a boolean or array).
json str(std::string_view s) { return json(std::string(s)); }

json end_json(const InvocationEnd& e) {
  return json{{"public_key", str(e.public_key)},
              {"contract_id", e.contract_id ? str(*e.contract_id) : json(nullptr)},
              {"link_name", e.link_name ? str(*e.link_name) : json(nullptr)}};
}

}  // namespace

json host_started(const StringMap& labels, std::string_view friendly_name,
                  std::string_view version) {
  return json{{"labels", labels},
              {"friendly_name", str(friendly_name)},
              {"uptime_seconds", 0},
              {"version", str(version)}};
}

json host_stopped(const StringMap& labels) { return json{{"labels", labels}}; }

json actor_started(std::string_view public_key, std::string_view image_ref,
                   std::string_view instance_id, const StringMap& annotations, const json& claims) {
  return json{{"public_key", str(public_key)}, {"image_ref", str(image_ref)},
              {"api_version", "n/a"},          {"instance_id", str(instance_id)},
              {"annotations", annotations},    {"claims", claims}};
}

json actors_started(std::string_view public_key, std::string_view image_ref,
                    const StringMap& annotations, std::string_view host_id, const json& claims,
                    std::size_t count) {
  return json{{"public_key", str(public_key)},
              {"image_ref", str(image_ref)},
              {"annotations", annotations},
              {"host_id", str(host_id)},
              {"claims", claims},
              {"count", count}};
}

json actor_start_failed(std::string_view actor_ref, std::string_view error) {
  return json{{"actor_ref", str(actor_ref)}, {"error", str(error)}};
}

json actors_start_failed(std::string_view public_key, std::string_view image_ref,
                         const StringMap& annotations, std::string_view host_id,
                         std::string_view error) {
  return json{{"public_key", str(public_key)},
              {"image_ref", str(image_ref)},
              {"annotations", annotations},
              {"host_id", str(host_id)},
              {"error", str(error)}};
}

json actor_stopped(std::string_view public_key, std::string_view instance_id,
                   const StringMap& annotations) {
  return json{{"public_key", str(public_key)},
              {"instance_id", str(instance_id)},
              {"annotations", annotations}};
}

json actors_stopped(std::string_view host_id, std::string_view public_key, std::int64_t count,
                    std::int64_t remaining, const StringMap& filter) {
  return json{{"host_id", str(host_id)},
              {"public_key", str(public_key)},
              {"count", count},
              {"remaining", remaining},
              {"annotations", filter}};
}

json actor_updated(std::string_view public_key, std::int64_t revision,
                   std::string_view instance_id) {
  return json{
      {"public_key", str(public_key)}, {"revision", revision}, {"instance_id", str(instance_id)}};
}

json actor_update_failed(std::string_view public_key, std::int64_t revision,
                         std::string_view instance_id, std::string_view reason) {
  return json{{"public_key", str(public_key)},
              {"revision", revision},
              {"instance_id", str(instance_id)},
              {"reason", str(reason)}};
}

json provider_started(const ProviderIdentity& p, std::string_view image_ref,
                      std::string_view instance_id, const StringMap& annotations,
                      const json& claims) {
  return json{{"public_key", str(p.public_key)},
              {"image_ref", str(image_ref)},
              {"link_name", str(p.link_name)},
              {"contract_id", str(p.contract_id)},
              {"instance_id", str(instance_id)},
              {"annotations", annotations},
              {"claims", claims}};
}

json provider_start_failed(std::string_view provider_ref, std::string_view link_name,
                           std::string_view error) {
  return json{
      {"provider_ref", str(provider_ref)}, {"link_name", str(link_name)}, {"error", str(error)}};
}

json provider_stopped(const ProviderIdentity& p, std::string_view instance_id,
                      const StringMap& annotations, std::string_view reason) {
  return json{{"public_key", str(p.public_key)},   {"link_name", str(p.link_name)},
              {"contract_id", str(p.contract_id)}, {"instance_id", str(instance_id)},
              {"annotations", annotations},        {"reason", str(reason)}};
}

json health_check(const ProviderIdentity& p) {
  return json{{"public_key", str(p.public_key)},
              {"contract_id", str(p.contract_id)},
              {"link_name", str(p.link_name)}};
}

json refmap_set(std::string_view reference, std::string_view public_key) {
  return json{{"oci_url", str(reference)}, {"public_key", str(public_key)}};
}

json invocation(const InvocationEnd& source, const InvocationEnd& dest, std::string_view operation,
                std::uint64_t bytes) {
  return json{{"source", end_json(source)},
              {"dest", end_json(dest)},
              {"operation", str(operation)},
              {"bytes", bytes}};
}

}  // namespace wc::lattice::event_data
