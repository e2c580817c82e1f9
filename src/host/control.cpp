#include "host/control.h"

#include <optional>
#include <utility>

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

/// True when `s` can be one NATS subject token: no '.', wildcard ('*', '>') or whitespace/control
/// character (the NATS subject grammar).
bool is_subject_token(std::string_view s) {
  for (unsigned char c : s)
    if (c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f) return false;
  return true;
}

std::optional<json> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

/// Outcome of reading one field: read, malformed (the parser's generic text applies), or over a
/// length limit (`error` names the field and the limit).
struct FieldError {
  bool malformed = false;
  std::string error;  ///< set when a limit was exceeded
};

/// Reads an optional string -> string object (null/missing -> {}) with at most `max_entries`
/// entries, keys up to kMaxIdentifierLength and values up to `max_value` bytes.
std::optional<FieldError> read_string_map(const json& obj, const char* key, StringMap& out,
                                          std::size_t max_entries, std::size_t max_value) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) return FieldError{true, {}};
  if (it->size() > max_entries)
    return FieldError{false, errors::too_many_entries(key, max_entries)};
  for (auto& [k, v] : it->items()) {
    if (!v.is_string()) return FieldError{true, {}};
    if (k.size() > kMaxIdentifierLength)
      return FieldError{false, errors::field_too_long(key, kMaxIdentifierLength)};
    const auto& sv = v.get_ref<const std::string&>();
    if (sv.size() > max_value) return FieldError{false, errors::field_too_long(key, max_value)};
    out[k] = sv;
  }
  return std::nullopt;
}

/// Reads a present string of at most `max_len` bytes.
std::optional<FieldError> read_string(const json& obj, const char* key, std::string& out,
                                      std::size_t max_len) {
  if (!present(obj, key)) return FieldError{true, {}};
  const auto& v = obj.at(key);
  if (!v.is_string()) return FieldError{true, {}};
  const auto& sv = v.get_ref<const std::string&>();
  if (sv.size() > max_len) return FieldError{false, errors::field_too_long(key, max_len)};
  out = sv;
  return std::nullopt;
}

tl::unexpected<Error> invalid(std::string_view text) {
  return fail(Code::kInvalidArgument, std::string(text));
}

/// The parser's error for a field problem: the limit text when a limit was exceeded, else the
/// request's generic text.
tl::unexpected<Error> invalid(const FieldError& e, std::string_view generic) {
  if (!e.malformed && !e.error.empty()) return fail(Code::kInvalidArgument, e.error);
  return invalid(generic);
}

/// Annotations of `la`, `sa`, `lp`.
std::optional<FieldError> read_annotations(const json& obj, StringMap& out) {
  return read_string_map(obj, "annotations", out, kMaxAnnotations, kMaxAnnotationValueLength);
}

}  // namespace

Status check_request_size(std::size_t bytes) {
  if (bytes <= kMaxControlRequestBytes) return ok();
  return fail(Code::kResourceExhausted, errors::request_too_large(bytes, kMaxControlRequestBytes));
}

std::string ack_json(bool accepted, std::string_view error) {
  // Error texts may quote peer bytes (a `stop` body's JSON parse error does): invalid UTF-8
  // becomes U+FFFD instead of a type_error that would leave the request unanswered.
  return json{{"accepted", accepted}, {"error", std::string(error)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

json v1_reply(bool success, std::string_view message, const std::optional<json>& response) {
  json j{{"success", success}, {"message", std::string(message)}};
  if (response) j["response"] = *response;
  return j;
}

std::string v1_reply_text(const json& reply) {
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<LaunchActorRequest> parse_launch_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidLaunchActor);
  LaunchActorRequest r;
  if (auto e = read_string(*j, "actor_ref", r.actor_ref, kMaxReferenceLength))
    return invalid(*e, errors::kInvalidLaunchActor);
  if (auto it = j->find("count"); it != j->end() && !it->is_null()) {
    if (!it->is_number_integer()) return invalid(errors::kInvalidLaunchActor);
    r.count = it->get<std::int64_t>();
    if (r.count < 0) return invalid(errors::kInvalidLaunchActor);
    if (r.count > kMaxInstancesPerActor) return invalid(errors::kTooManyInstances);
    if (r.count == 0) r.count = 1;
  }
  if (auto e = read_annotations(*j, r.annotations)) return invalid(*e, errors::kInvalidLaunchActor);
  return r;
}

Result<StopActorRequest> parse_stop_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidStopActor);
  StopActorRequest r;
  if (auto e = read_string(*j, "actor_ref", r.actor_id, kMaxIdentifierLength))
    return invalid(*e, errors::kInvalidStopActor);
  if (!present(*j, "count") || !j->at("count").is_number_integer())
    return invalid(errors::kInvalidStopActor);
  r.count = j->at("count").get<std::int64_t>();
  if (r.count < 0) return invalid(errors::kInvalidStopActor);
  if (auto e = read_annotations(*j, r.annotations)) return invalid(*e, errors::kInvalidStopActor);
  return r;
}

Result<ScaleActorRequest> parse_scale_actor(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidScaleActor);
  ScaleActorRequest r;
  if (auto e = read_string(*j, "actor_id", r.actor_id, kMaxIdentifierLength))
    return invalid(*e, errors::kInvalidScaleActor);
  if (auto e = read_string(*j, "actor_ref", r.actor_ref, kMaxReferenceLength))
    return invalid(*e, errors::kInvalidScaleActor);
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
  if (auto e = read_string(*j, "new_actor_ref", r.new_actor_ref, kMaxReferenceLength))
    return invalid(*e, errors::kInvalidUpdateActor);
  return r;
}

Result<StartProviderRequest> parse_start_provider(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidStartProvider);
  StartProviderRequest r;
  if (auto e = read_string(*j, "provider_ref", r.provider_ref, kMaxReferenceLength))
    return invalid(*e, errors::kInvalidStartProvider);
  if (auto e = read_string(*j, "link_name", r.link_name, kMaxIdentifierLength))
    return invalid(*e, errors::kInvalidStartProvider);
  if (!r.link_name.empty() && !is_subject_token(r.link_name))
    return invalid(errors::kLinkNameNotSubjectToken);
  if (auto it = j->find("configuration"); it != j->end() && !it->is_null()) {
    if (!it->is_string()) return invalid(errors::kInvalidStartProvider);
    r.configuration = it->get<std::string>();
  }
  if (auto e = read_annotations(*j, r.annotations))
    return invalid(*e, errors::kInvalidStartProvider);
  return r;
}

Result<StopProviderRequest> parse_stop_provider(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidStopProvider);
  StopProviderRequest r;
  if (auto e = read_string(*j, "provider_ref", r.provider_id, kMaxIdentifierLength))
    return invalid(*e, errors::kInvalidStopProvider);
  if (auto e = read_string(*j, "link_name", r.link_name, kMaxIdentifierLength))
    return invalid(*e, errors::kInvalidStopProvider);
  if (r.provider_id.size() != 56) return invalid(errors::kInvalidStopProvider);
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

Result<LinkDefinition> parse_linkdef_put(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidLinkdefPut);
  // The OTP "present" rule and the length limits first, field by field in this order (the
  // first problem decides the text), then the one decoder of the wire layer.
  std::string unused;
  for (const char* key : {"actor_id", "contract_id", "link_name", "provider_id"})
    if (auto e = read_string(*j, key, unused, kMaxIdentifierLength))
      return invalid(*e, errors::kInvalidLinkdefPut);
  StringMap values;  // limits only; rpc::linkdef_from_json below decodes
  if (auto e = read_string_map(*j, "values", values, kMaxLinkValues, kMaxLinkValueLength))
    return invalid(*e, errors::kInvalidLinkdefPut);
  j->erase("id");  // ignored and recomputed (2.4.4), whatever its type
  auto ld = rpc::linkdef_from_json(*j);
  if (!ld) return invalid(errors::kInvalidLinkdefPut);
  ld->id = lattice::topics::linkdef_id(ld->actor_id, ld->contract_id, ld->link_name);
  return ld;
}

Result<LinkDefinition> parse_linkdef_del(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidLinkdefDel);
  LinkDefinition ld;
  const std::pair<const char*, std::string*> fields[] = {
      {"actor_id", &ld.actor_id}, {"contract_id", &ld.contract_id}, {"link_name", &ld.link_name}};
  for (const auto& [key, field] : fields)
    if (auto e = read_string(*j, key, *field, kMaxIdentifierLength))
      return invalid(*e, errors::kInvalidLinkdefDel);
  ld.id = lattice::topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name);
  return ld;
}

Result<ActorAuctionRequest> parse_actor_auction(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return invalid(errors::kInvalidActorAuction);
  ActorAuctionRequest r;
  if (auto e = read_string(*j, "actor_ref", r.actor_ref, kMaxReferenceLength))
    return invalid(*e, errors::kInvalidActorAuction);
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
  if (auto e = read_string(*j, "provider_ref", r.provider_ref, kMaxReferenceLength))
    return invalid(*e, errors::kInvalidProviderAuction);
  if (auto it = j->find("link_name"); it != j->end() && it->is_string()) {
    if (it->get_ref<const std::string&>().size() > kMaxIdentifierLength)
      return invalid(errors::field_too_long("link_name", kMaxIdentifierLength));
    r.link_name = it->get<std::string>();
  }
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
