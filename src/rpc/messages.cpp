// Link definition, health and shutdown payloads (see messages.h).
#include "rpc/messages.h"

#include <exception>
#include <msgpack.hpp>

namespace wc::rpc {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_string(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

Bytes to_bytes(const msgpack::sbuffer& buf) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
  return Bytes(p, p + buf.size());
}

/// Unpacks one object from untrusted bytes with limits proportional to the input.
Result<msgpack::object_handle> unpack(std::span<const std::uint8_t> bytes, std::string_view what) {
  if (bytes.empty()) return fail(Code::kInvalidArgument, std::string(what) + ": empty input");
  try {
    const std::size_t n = bytes.size();
    msgpack::unpack_limit limit(n, n, n, n, n, 64);
    std::size_t offset = 0;
    return msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), n, offset, nullptr, nullptr,
                           limit);
  } catch (const std::exception& e) {
    return fail(Code::kInvalidArgument, std::string(what) + ": " + e.what());
  } catch (...) {
    return fail(Code::kInvalidArgument, std::string(what) + ": malformed msgpack");
  }
}

std::string_view str_of(const msgpack::object& o) { return {o.via.str.ptr, o.via.str.size}; }

}  // namespace

Bytes encode_linkdef(const LinkDefinition& ld) {
  msgpack::sbuffer buf(256);
  Packer pk(buf);
  pk.pack_map(6);
  pack_string(pk, "actor_id");
  pack_string(pk, ld.actor_id);
  pack_string(pk, "contract_id");
  pack_string(pk, ld.contract_id);
  pack_string(pk, "id");
  pack_string(pk, ld.id);
  pack_string(pk, "link_name");
  pack_string(pk, ld.link_name);
  pack_string(pk, "provider_id");
  pack_string(pk, ld.provider_id);
  pack_string(pk, "values");
  pk.pack_map(static_cast<std::uint32_t>(ld.values.size()));
  for (const auto& [k, v] : ld.values) {
    pack_string(pk, k);
    pack_string(pk, v);
  }
  return to_bytes(buf);
}

Result<LinkDefinition> decode_linkdef(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes, "link definition");
  if (!handle) return fail(handle.error());
  const msgpack::object& root = handle->get();
  if (root.type != msgpack::type::MAP) {
    return fail(Code::kInvalidArgument, "link definition: expected a map");
  }
  LinkDefinition ld;
  int found = 0;
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const auto& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR || kv.val.type == msgpack::type::NIL) continue;
    std::string_view key = str_of(kv.key);
    if (key == "values") {
      if (kv.val.type != msgpack::type::MAP) {
        return fail(Code::kInvalidArgument, "link definition: `values` is not a map");
      }
      for (std::uint32_t j = 0; j < kv.val.via.map.size; ++j) {
        const auto& e = kv.val.via.map.ptr[j];
        if (e.key.type != msgpack::type::STR || e.val.type != msgpack::type::STR) {
          return fail(Code::kInvalidArgument, "link definition: `values` must map str to str");
        }
        ld.values[std::string(str_of(e.key))] = std::string(str_of(e.val));
      }
      continue;
    }
    std::string* dst = key == "id"            ? &ld.id
                       : key == "actor_id"    ? &ld.actor_id
                       : key == "provider_id" ? &ld.provider_id
                       : key == "link_name"   ? &ld.link_name
                       : key == "contract_id" ? &ld.contract_id
                                              : nullptr;
    if (dst == nullptr) continue;
    if (kv.val.type != msgpack::type::STR) {
      return fail(Code::kInvalidArgument,
                  "link definition: `" + std::string(key) + "` is not a string");
    }
    *dst = std::string(str_of(kv.val));
    if (key != "id") ++found;
  }
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
  msgpack::sbuffer buf(32);
  Packer pk(buf);
  pk.pack_map(r.message ? 2 : 1);
  pack_string(pk, "healthy");
  if (r.healthy) {
    pk.pack_true();
  } else {
    pk.pack_false();
  }
  if (r.message) {
    pack_string(pk, "message");
    pack_string(pk, *r.message);
  }
  return to_bytes(buf);
}

Result<HealthCheckResponse> decode_health_response(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes, "health check response");
  if (!handle) return fail(handle.error());
  const msgpack::object& root = handle->get();
  if (root.type != msgpack::type::MAP) {
    return fail(Code::kInvalidArgument, "health check response: expected a map");
  }
  HealthCheckResponse r;
  bool has_healthy = false;
  for (std::uint32_t i = 0; i < root.via.map.size; ++i) {
    const auto& kv = root.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR || kv.val.type == msgpack::type::NIL) continue;
    std::string_view key = str_of(kv.key);
    if (key == "healthy") {
      if (kv.val.type != msgpack::type::BOOLEAN) {
        return fail(Code::kInvalidArgument, "health check response: `healthy` is not a bool");
      }
      r.healthy = kv.val.via.boolean;
      has_healthy = true;
    } else if (key == "message") {
      if (kv.val.type != msgpack::type::STR) {
        return fail(Code::kInvalidArgument, "health check response: `message` is not a string");
      }
      r.message = std::string(str_of(kv.val));
    }
  }
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
