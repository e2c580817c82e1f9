// Link definition codecs (see link.h).
#include "sdk/link.h"

#include <cctype>

#include "rpc/msgpack.h"

namespace wc::provider {
namespace mp = rpc::mp::serde;

Bytes encode_linkdef(const LinkDefinition& ld) {
  mp::Writer w;
  w.map(ld.id.empty() ? 5 : 6);
  w.str("actor_id").str(ld.actor_id);
  w.str("contract_id").str(ld.contract_id);
  if (!ld.id.empty()) w.str("id").str(ld.id);
  w.str("link_name").str(ld.link_name);
  w.str("provider_id").str(ld.provider_id);
  w.str("values").map(static_cast<std::uint32_t>(ld.values.size()));
  for (const auto& [k, v] : ld.values) w.str(k).str(v);
  return w.bytes();
}

Result<LinkDefinition> decode_linkdef(std::span<const std::uint8_t> bytes) {
  auto h = mp::parse(bytes);
  if (!h) return fail(h.error());
  const msgpack::object& o = h->get();
  if (o.type != msgpack::type::MAP)
    return fail(mp::decode_error("link definition: expected a map"));
  LinkDefinition ld;
  for (auto [key, dst] :
       {std::pair{"actor_id", &ld.actor_id}, std::pair{"provider_id", &ld.provider_id},
        std::pair{"link_name", &ld.link_name}, std::pair{"contract_id", &ld.contract_id}}) {
    auto member = mp::required(o, key);
    if (!member) return fail(member.error());
    auto s = mp::as_string(**member, key);
    if (!s) return fail(s.error());
    *dst = std::move(*s);
  }
  auto values = mp::required(o, "values");
  if (!values) return fail(values.error());
  auto map = mp::as_string_map(**values, "values");
  if (!map) return fail(map.error());
  ld.values = std::move(*map);
  auto id = mp::string_or(o, "id");
  if (!id) return fail(id.error());
  ld.id = std::move(*id);
  return ld;
}

nlohmann::json linkdef_to_json(const LinkDefinition& ld) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = ld.id;
  j["actor_id"] = ld.actor_id;
  j["provider_id"] = ld.provider_id;
  j["link_name"] = ld.link_name;
  j["contract_id"] = ld.contract_id;
  j["values"] = ld.values;
  return j;
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
  auto values = j.find("values");
  if (values == j.end() || !values->is_object()) {
    return fail(Code::kInvalidArgument, "link definition: missing field `values`");
  }
  for (auto it = values->begin(); it != values->end(); ++it) {
    if (!it.value().is_string()) {
      return fail(Code::kInvalidArgument, "link definition: `values` must map strings to strings");
    }
    ld.values[it.key()] = it.value().get<std::string>();
  }
  if (auto id = j.find("id"); id != j.end() && id->is_string()) ld.id = id->get<std::string>();
  return ld;
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

}  // namespace wc::provider
