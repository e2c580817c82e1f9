// Link definition, health and shutdown payloads (see messages.h).
#include "rpc/messages.h"

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
  auto handle = unpack(bytes, "link definition");
  if (!handle) return fail(handle.error());
  LinkDefinition ld;
  int found = 0;
  auto st = mp::for_each_member(
      handle->get(), "link definition",
      [&](std::string_view key, const msgpack::object& v) -> Status {
        if (key == "values") {
          auto values = mp::as_string_map(v, key);
          if (!values) {
            return fail(Code::kInvalidArgument,
                        v.type == msgpack::type::MAP
                            ? "link definition: `values` must map str to str"
                            : "link definition: `values` is not a map");
          }
          for (auto& [k, val] : *values) ld.values[k] = std::move(val);
          return ok();
        }
        std::string* dst = key == "id"            ? &ld.id
                           : key == "actor_id"    ? &ld.actor_id
                           : key == "provider_id" ? &ld.provider_id
                           : key == "link_name"   ? &ld.link_name
                           : key == "contract_id" ? &ld.contract_id
                                                  : nullptr;
        if (dst == nullptr) return ok();
        auto str = mp::as_string(v, key);
        if (!str) {
          return fail(Code::kInvalidArgument,
                      "link definition: `" + std::string(key) + "` is not a string");
        }
        *dst = std::move(*str);
        if (key != "id") ++found;
        return ok();
      });
  if (!st) return fail(st.error());
  if (found != 4) return fail(Code::kInvalidArgument, "link definition: missing field");
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
  if (!j.is_object()) return fail(Code::kInvalidArgument, "link definition: expected an object");
  LinkDefinition ld;
  for (auto [key, dst] :
       {std::pair{"actor_id", &ld.actor_id}, std::pair{"provider_id", &ld.provider_id},
        std::pair{"link_name", &ld.link_name}, std::pair{"contract_id", &ld.contract_id}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return fail(Code::kInvalidArgument,
                  std::string("link definition: missing string field `") + key + "`");
    }
    *dst = it->get<std::string>();
  }
  if (auto it = j.find("id"); it != j.end() && it->is_string()) ld.id = it->get<std::string>();
  if (auto it = j.find("values"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      return fail(Code::kInvalidArgument, "link definition: `values` is not an object");
    }
    for (auto v = it->begin(); v != it->end(); ++v) {
      if (!v->is_string()) {
        return fail(Code::kInvalidArgument, "link definition: `values` must map str to str");
      }
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

std::string shutdown_request_json(std::string_view host_id) {
  return nlohmann::json{{"host_id", std::string(host_id)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wc::rpc
