// Link definition, health and shutdown payloads (see messages.h).
#include "rpc/messages.h"

#include <cctype>

#include "rpc/msgpack.h"

namespace wc::rpc {
namespace {

/// mp::parse with `what` before the detail ("link definition: empty input").
Result<msgpack::object_handle> unpack(std::span<const std::uint8_t> bytes, std::string_view what) {
  auto handle = mp::parse(bytes);
  if (!handle) {
    return fail(Code::kInvalidArgument, std::string(what) + ": " + handle.error().message);
  }
  return handle;
}

constexpr std::string_view kLinkdef = "link definition";
constexpr std::string_view kValuesNotMap = "`values` is not a map";
constexpr std::string_view kValuesNotStrings = "`values` must map strings to strings";
/// The required string fields and their members, in the order their errors are reported.
constexpr const char* kRequired[4] = {"actor_id", "provider_id", "link_name", "contract_id"};
constexpr std::string LinkDefinition::*kRequiredMember[4] = {
    &LinkDefinition::actor_id, &LinkDefinition::provider_id, &LinkDefinition::link_name,
    &LinkDefinition::contract_id};

/// kInvalidArgument "link definition: <detail>".
tl::unexpected<Error> linkdef_error(std::string_view detail) {
  return fail(Code::kInvalidArgument, std::string(kLinkdef) + ": " + std::string(detail));
}

}  // namespace

Bytes encode_linkdef(const LinkDefinition& ld) {
  mp::Writer w(256);
  w.map(6);
  w.str("actor_id").str(ld.actor_id);
  w.str("contract_id").str(ld.contract_id);
  w.str("id").str(ld.id);
  w.str("link_name").str(ld.link_name);
  w.str("provider_id").str(ld.provider_id);
  w.str("values").map(static_cast<std::uint32_t>(ld.values.size()));
  for (const auto& [k, v] : ld.values) w.str(k).str(v);
  return w.bytes();
}

Result<LinkDefinition> decode_linkdef(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes, kLinkdef);
  if (!handle) return fail(handle.error());
  LinkDefinition ld;
  bool seen[4] = {false, false, false, false};
  // for_each_member skips nil members: null and absent are the same (the rule in messages.h).
  auto st = mp::for_each_member(
      handle->get(), kLinkdef, [&](std::string_view key, const msgpack::object& v) -> Status {
        if (key == "values") {
          if (v.type != msgpack::type::MAP) return linkdef_error(kValuesNotMap);
          auto values = mp::as_string_map(v, key);
          if (!values) return linkdef_error(kValuesNotStrings);
          ld.values = std::move(*values);
          return ok();
        }
        std::string* dst = nullptr;
        if (key == "id") {
          dst = &ld.id;
        } else {
          for (std::size_t i = 0; i < 4; ++i) {
            if (key == kRequired[i]) {
              dst = &(ld.*kRequiredMember[i]);
              seen[i] = true;
            }
          }
        }
        if (dst == nullptr) return ok();
        auto str = mp::as_string(v, key);
        if (!str) return linkdef_error("`" + std::string(key) + "` is not a string");
        *dst = std::move(*str);
        return ok();
      });
  if (!st) return fail(st.error());
  for (std::size_t i = 0; i < 4; ++i) {
    if (!seen[i]) return linkdef_error("missing field `" + std::string(kRequired[i]) + "`");
  }
  return ld;
}

nlohmann::json linkdef_to_json(const LinkDefinition& ld) {
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [k, v] : ld.values) values[k] = v;
  return {{"id", ld.id},
          {"actor_id", ld.actor_id},
          {"provider_id", ld.provider_id},
          {"link_name", ld.link_name},
          {"contract_id", ld.contract_id},
          {"values", std::move(values)}};
}

Result<LinkDefinition> linkdef_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return linkdef_error("expected an object");
  LinkDefinition ld;
  for (std::size_t i = 0; i < 4; ++i) {
    auto it = j.find(kRequired[i]);
    if (it == j.end() || it->is_null()) {
      return linkdef_error("missing field `" + std::string(kRequired[i]) + "`");
    }
    if (!it->is_string()) {
      return linkdef_error("`" + std::string(kRequired[i]) + "` is not a string");
    }
    ld.*kRequiredMember[i] = it->get<std::string>();
  }
  if (auto it = j.find("id"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return linkdef_error("`id` is not a string");
    ld.id = it->get<std::string>();
  }
  if (auto it = j.find("values"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return linkdef_error(kValuesNotMap);
    for (auto v = it->begin(); v != it->end(); ++v) {
      if (!v->is_string()) return linkdef_error(kValuesNotStrings);
      ld.values[v.key()] = v->get<std::string>();
    }
  }
  return ld;
}

Bytes encode_health_response(const HealthCheckResponse& r) {
  mp::Writer w(32);
  w.map(r.message ? 2 : 1).str("healthy").boolean(r.healthy);
  if (r.message) w.str("message").str(*r.message);
  return w.bytes();
}

Result<HealthCheckResponse> decode_health_response(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes, "health check response");
  if (!handle) return fail(handle.error());
  HealthCheckResponse r;
  bool has_healthy = false;
  auto st = mp::for_each_member(
      handle->get(), "health check response",
      [&](std::string_view key, const msgpack::object& v) -> Status {
        if (key == "healthy") {
          auto b = mp::as_bool(v, key);
          if (!b) {
            return fail(Code::kInvalidArgument, "health check response: `healthy` is not a bool");
          }
          r.healthy = *b;
          has_healthy = true;
        } else if (key == "message") {
          auto m = mp::as_string(v, key);
          if (!m) {
            return fail(Code::kInvalidArgument, "health check response: `message` is not a string");
          }
          r.message = std::move(*m);
        }
        return ok();
      });
  if (!st) return fail(st.error());
  if (!has_healthy) {
    return fail(Code::kInvalidArgument, "health check response: missing field `healthy`");
  }
  return r;
}

nlohmann::json health_response_to_json(const HealthCheckResponse& r) {
  nlohmann::json j{{"healthy", r.healthy}};
  if (r.message) j["message"] = *r.message;
  return j;
}

Result<HealthCheckResponse> health_response_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(Code::kInvalidArgument, "health check response: expected a JSON object");
  }
  HealthCheckResponse r;
  auto healthy = j.find("healthy");
  if (healthy == j.end() || healthy->is_null()) {
    return fail(Code::kInvalidArgument, "health check response: missing field `healthy`");
  }
  if (!healthy->is_boolean()) {
    return fail(Code::kInvalidArgument, "health check response: `healthy` is not a bool");
  }
  r.healthy = healthy->get<bool>();
  if (auto m = j.find("message"); m != j.end() && !m->is_null()) {
    if (!m->is_string()) {
      return fail(Code::kInvalidArgument, "health check response: `message` is not a string");
    }
    r.message = m->get<std::string>();
  }
  return r;
}

std::string shutdown_request_json(std::string_view host_id) {
  return nlohmann::json{{"host_id", std::string(host_id)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<std::string> link_value(const LinkDefinition& ld, std::string_view key) {
  for (const auto& [k, v] : ld.values) {
    if (k.size() != key.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(key[i]));
    }
    if (same) return v;
  }
  return std::nullopt;
}

}  // namespace wc::rpc
