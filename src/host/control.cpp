#include "host/control.h"

#include "common/encoding.h"
#include "host/errors.h"
#include "lattice/topics.h"

namespace wc::host {
namespace {

using nlohmann::json;

/// OTP "present": key exists, value neither null nor false (spec 0).
bool present(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return false;
  if (it->is_null()) return false;
  if (it->is_boolean() && !it->get<bool>()) return false;
  return true;
}

std::optional<json> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

/// Reads an optional string -> string object (null/missing -> {}). False on wrong types.
bool read_string_map(const json& obj, const char* key, StringMap& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_object()) return false;
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return false;
    out[k] = v.get<std::string>();
  }
  return true;
}

bool read_string(const json& obj, const char* key, std::string& out) {
  if (!present(obj, key)) return false;
  const auto& v = obj.at(key);
  if (!v.is_string()) return false;
  out = v.get<std::string>();
  return true;
}

tl::unexpected<Error> invalid(std::string_view text) {
  return fail(Code::kInvalidArgument, std::string(text));
}

}  // namespace

std::string ack_json(bool accepted, std::string_view error) {
  return json{{"accepted", accepted}, {"error", std::string(error)}}.dump();
}

Result<LaunchActorRequest> parse_launch_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidLaunchActor);
  LaunchActorRequest r;
  if (!read_string(*j, "actor_ref", r.actor_ref)) return invalid(errors::kInvalidLaunchActor);
  if (auto it = j->find("count"); it != j->end() && !it->is_null()) {
    if (!it->is_number_integer()) return invalid(errors::kInvalidLaunchActor);
    r.count = it->get<std::int64_t>();
    if (r.count < 0) return invalid(errors::kInvalidLaunchActor);
    if (r.count > kMaxInstancesPerActor) return invalid(errors::kTooManyInstances);
    if (r.count == 0) r.count = 1;
  }
  if (!read_string_map(*j, "annotations", r.annotations))
    return invalid(errors::kInvalidLaunchActor);
  return r;
}

Result<StopActorRequest> parse_stop_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidStopActor);
  StopActorRequest r;
  if (!read_string(*j, "actor_ref", r.actor_id)) return invalid(errors::kInvalidStopActor);
  if (!present(*j, "count") || !j->at("count").is_number_integer())
    return invalid(errors::kInvalidStopActor);
  r.count = j->at("count").get<std::int64_t>();
  if (r.count < 0) return invalid(errors::kInvalidStopActor);
  if (!read_string_map(*j, "annotations", r.annotations)) return invalid(errors::kInvalidStopActor);
  return r;
}

Result<ScaleActorRequest> parse_scale_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidScaleActor);
  ScaleActorRequest r;
  if (!read_string(*j, "actor_id", r.actor_id)) return invalid(errors::kInvalidScaleActor);
  if (!read_string(*j, "actor_ref", r.actor_ref)) return invalid(errors::kInvalidScaleActor);
  if (!present(*j, "count") || !j->at("count").is_number_integer())
    return invalid(errors::kInvalidScaleActor);
  r.count = j->at("count").get<std::int64_t>();
  if (r.count < 0) return invalid(errors::kInvalidScaleActor);
  if (r.count > kMaxInstancesPerActor) return invalid(errors::kTooManyInstances);
  return r;
}

Result<UpdateActorRequest> parse_update_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidUpdateActor);
  UpdateActorRequest r;
  if (!read_string(*j, "new_actor_ref", r.new_actor_ref))
    return invalid(errors::kInvalidUpdateActor);
  return r;
}

Result<StartProviderRequest> parse_start_provider(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidStartProvider);
  StartProviderRequest r;
  if (!read_string(*j, "provider_ref", r.provider_ref) ||
      !read_string(*j, "link_name", r.link_name))
    return invalid(errors::kInvalidStartProvider);
  if (auto it = j->find("configuration"); it != j->end() && !it->is_null()) {
    if (!it->is_string()) return invalid(errors::kInvalidStartProvider);
    r.configuration = it->get<std::string>();
  }
  if (!read_string_map(*j, "annotations", r.annotations))
    return invalid(errors::kInvalidStartProvider);
  return r;
}

Result<StopProviderRequest> parse_stop_provider(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidStopProvider);
  StopProviderRequest r;
  if (!read_string(*j, "provider_ref", r.provider_id) ||
      !read_string(*j, "link_name", r.link_name) || r.provider_id.size() != 56)
    return invalid(errors::kInvalidStopProvider);
  return r;
}

Result<StopHostRequest> parse_stop_host(std::string_view body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    return fail(Code::kInvalidArgument, std::string(errors::kUnableToParseStopHost) + e.what());
  }
  StopHostRequest r;
  if (j.is_object()) {
    if (auto it = j.find("timeout"); it != j.end() && it->is_number_integer())
      r.timeout = it->get<std::int64_t>();
  }
  return r;
}

nlohmann::json linkdef_json(const LinkDefinition& ld) {
  return json{{"id", ld.id},
              {"actor_id", ld.actor_id},
              {"provider_id", ld.provider_id},
              {"link_name", ld.link_name},
              {"contract_id", ld.contract_id},
              {"values", ld.values}};
}

Result<LinkDefinition> parse_linkdef_put(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidLinkdefPut);
  LinkDefinition ld;
  if (!read_string(*j, "actor_id", ld.actor_id) ||
      !read_string(*j, "contract_id", ld.contract_id) ||
      !read_string(*j, "link_name", ld.link_name) ||
      !read_string(*j, "provider_id", ld.provider_id) || !read_string_map(*j, "values", ld.values))
    return invalid(errors::kInvalidLinkdefPut);
  ld.id = lattice::topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name);
  return ld;
}

Result<LinkDefinition> parse_linkdef_del(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidLinkdefDel);
  LinkDefinition ld;
  if (!read_string(*j, "actor_id", ld.actor_id) ||
      !read_string(*j, "contract_id", ld.contract_id) ||
      !read_string(*j, "link_name", ld.link_name))
    return invalid(errors::kInvalidLinkdefDel);
  ld.id = lattice::topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name);
  return ld;
}

Result<ActorAuctionRequest> parse_actor_auction(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidActorAuction);
  ActorAuctionRequest r;
  if (!read_string(*j, "actor_ref", r.actor_ref)) return invalid(errors::kInvalidActorAuction);
  if (auto it = j->find("constraints"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return invalid(errors::kInvalidActorAuction);
    r.constraints = *it;
  }
  return r;
}

Result<ProviderAuctionRequest> parse_provider_auction(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidProviderAuction);
  ProviderAuctionRequest r;
  if (!read_string(*j, "provider_ref", r.provider_ref))
    return invalid(errors::kInvalidProviderAuction);
  if (auto it = j->find("link_name"); it != j->end() && it->is_string())
    r.link_name = it->get<std::string>();
  if (auto it = j->find("constraints"); it != j->end() && !it->is_null()) {
    if (!it->is_object()) return invalid(errors::kInvalidProviderAuction);
    r.constraints = *it;
  }
  return r;
}

bool labels_satisfy(const StringMap& labels, const nlohmann::json& constraints) {
  if (!constraints.is_object()) return true;
  for (auto& [k, v] : constraints.items()) {
    auto it = labels.find(k);
    if (it == labels.end() || !v.is_string() || v.get<std::string>() != it->second) return false;
  }
  return true;
}

Result<ControlTopic> parse_control_topic(std::string_view subject, std::string_view ctl_prefix,
                                         std::string_view lattice) {
  std::string prefix = std::string(ctl_prefix) + "." + std::string(lattice) + ".";
  if (subject.substr(0, prefix.size()) != prefix) return invalid(errors::kInvalidTopic);
  std::string_view rest = subject.substr(prefix.size());
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto dot = rest.find('.', start);
    parts.emplace_back(rest.substr(start, dot == std::string_view::npos ? rest.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  ControlTopic t;
  if (parts.size() == 2) {
    t.kind = parts[0];
    t.op = parts[1];
  } else if (parts.size() == 3) {
    t.kind = parts[0];
    t.host = parts[1];
    t.op = parts[2];
  } else {
    return invalid(errors::kInvalidTopic);
  }
  if (t.kind.empty() || t.op.empty()) return invalid(errors::kInvalidTopic);
  return t;
}

}  // namespace wc::host
