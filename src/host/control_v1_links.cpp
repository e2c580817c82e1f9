// V1LinkService: v1 link.* and config.* requests (see control_v1_links.h).
#include "host/control_v1_links.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "host/control.h"
#include "host/errors.h"
#include "lattice/cloudevent.h"
#include "lattice/events.h"
#include "lattice/topics.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;

constexpr std::string_view kLinkPut = "link.put";
constexpr std::string_view kLinkDel = "link.del";
constexpr std::string_view kConfigPut = "config.put";

Error bad(std::string_view op, std::string_view detail) {
  return Error{Code::kInvalidArgument, errors::v1_bad_request(op, detail)};
}

Result<json> parse_object(std::string_view op, std::string_view body) {
  if (body.size() > kMaxV1BodyBytes)
    return fail(Code::kResourceExhausted, errors::request_too_large(body.size(), kMaxV1BodyBytes));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail(bad(op, "the body is not valid JSON"));
  if (!j.is_object()) return fail(bad(op, "the body must be a JSON object"));
  return j;
}

/// A required (or, with `fallback`, optional) string field.
Result<std::string> string_field(std::string_view op, const json& j, const char* field,
                                 const std::optional<std::string>& fallback = std::nullopt) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    return fail(bad(op, "field `" + std::string(field) + "` is required"));
  }
  if (!it->is_string()) return fail(bad(op, "field `" + std::string(field) + "` must be a string"));
  std::string s = it->get<std::string>();
  if (s.empty() && fallback) return *fallback;
  if (s.empty()) return fail(bad(op, "field `" + std::string(field) + "` must not be empty"));
  return s;
}

Result<std::vector<std::string>> string_list(std::string_view op, const json& j, const char* field,
                                             bool required) {
  std::vector<std::string> out;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) return fail(bad(op, "field `" + std::string(field) + "` is required"));
    return out;
  }
  if (!it->is_array())
    return fail(bad(op, "field `" + std::string(field) + "` must be an array of strings"));
  if (it->size() > kMaxV1ListEntries)
    return fail(Code::kResourceExhausted, errors::too_many_entries(field, kMaxV1ListEntries));
  for (const auto& e : *it) {
    if (!e.is_string())
      return fail(bad(op, "field `" + std::string(field) + "` must be an array of strings"));
    out.push_back(e.get<std::string>());
  }
  if (required && out.empty())
    return fail(bad(op, "field `" + std::string(field) + "` must not be empty"));
  return out;
}

Status check_id(std::string_view op, const char* field, const std::string& id) {
  if (!topics::is_valid_v1_id(id))
    return fail(bad(op, "field `" + std::string(field) + "` (`" + id.substr(0, 140) +
                            "`) is not a valid component or provider id (1 to 128 characters "
                            "of A-Z, a-z, 0-9, '_' and '-')"));
  return {};
}

Status check_wit(std::string_view op, const char* field, const std::string& name) {
  if (!is_valid_wit_name(name))
    return fail(bad(op, "field `" + std::string(field) + "` (`" + name.substr(0, 80) +
                            "`) is not a WIT name (1 to 64 characters of a-z, 0-9 and '-')"));
  return {};
}

json reply_error(const Error& e) { return v1_reply(false, e.message); }

}  // namespace

json V1Link::to_json() const {
  return json{{"source_id", source_id},
              {"target", target},
              {"name", name},
              {"wit_namespace", wit_namespace},
              {"wit_package", wit_package},
              {"interfaces", interfaces},
              {"source_config", source_config},
              {"target_config", target_config}};
}

bool is_valid_config_name(std::string_view name) { return topics::is_valid_v1_id(name); }

bool is_valid_wit_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Result<V1Link> parse_v1_link_put(std::string_view body) {
  auto j = parse_object(kLinkPut, body);
  if (!j) return fail(j.error());
  V1Link l;
  auto s = string_field(kLinkPut, *j, "source_id");
  if (!s) return fail(s.error());
  l.source_id = *s;
  s = string_field(kLinkPut, *j, "target");
  if (!s) return fail(s.error());
  l.target = *s;
  s = string_field(kLinkPut, *j, "name", std::string("default"));
  if (!s) return fail(s.error());
  l.name = *s;
  s = string_field(kLinkPut, *j, "wit_namespace");
  if (!s) return fail(s.error());
  l.wit_namespace = *s;
  s = string_field(kLinkPut, *j, "wit_package");
  if (!s) return fail(s.error());
  l.wit_package = *s;
  auto list = string_list(kLinkPut, *j, "interfaces", true);
  if (!list) return fail(list.error());
  l.interfaces = *list;
  list = string_list(kLinkPut, *j, "source_config", false);
  if (!list) return fail(list.error());
  l.source_config = *list;
  list = string_list(kLinkPut, *j, "target_config", false);
  if (!list) return fail(list.error());
  l.target_config = *list;

  if (auto st = check_id(kLinkPut, "source_id", l.source_id); !st) return fail(st.error());
  if (auto st = check_id(kLinkPut, "target", l.target); !st) return fail(st.error());
  if (!topics::is_valid_v1_id(l.name))
    return fail(bad(kLinkPut,
                    "field `name` must be one NATS subject token (1 to 128 characters "
                    "of A-Z, a-z, 0-9, '_' and '-')"));
  if (auto st = check_wit(kLinkPut, "wit_namespace", l.wit_namespace); !st) return fail(st.error());
  if (auto st = check_wit(kLinkPut, "wit_package", l.wit_package); !st) return fail(st.error());
  for (const auto& i : l.interfaces)
    if (auto st = check_wit(kLinkPut, "interfaces", i); !st) return fail(st.error());
  for (const auto* lst : {&l.source_config, &l.target_config})
    for (const auto& n : *lst)
      if (!is_valid_config_name(n))
        return fail(bad(kLinkPut, errors::v1_bad_config_name(n.substr(0, 140))));
  return l;
}

Result<V1LinkRef> parse_v1_link_del(std::string_view body) {
  auto j = parse_object(kLinkDel, body);
  if (!j) return fail(j.error());
  V1LinkRef r;
  auto s = string_field(kLinkDel, *j, "source_id");
  if (!s) return fail(s.error());
  r.source_id = *s;
  auto name = string_field(kLinkDel, *j, "link_name", std::string());
  if (!name) return fail(name.error());
  if (name->empty()) name = string_field(kLinkDel, *j, "name", std::string("default"));
  if (!name) return fail(name.error());
  r.name = *name;
  s = string_field(kLinkDel, *j, "wit_namespace");
  if (!s) return fail(s.error());
  r.wit_namespace = *s;
  s = string_field(kLinkDel, *j, "wit_package");
  if (!s) return fail(s.error());
  r.wit_package = *s;
  if (auto st = check_id(kLinkDel, "source_id", r.source_id); !st) return fail(st.error());
  if (!topics::is_valid_v1_id(r.name))
    return fail(bad(kLinkDel, "field `link_name` must be one NATS subject token"));
  if (auto st = check_wit(kLinkDel, "wit_namespace", r.wit_namespace); !st) return fail(st.error());
  if (auto st = check_wit(kLinkDel, "wit_package", r.wit_package); !st) return fail(st.error());
  return r;
}

Result<StringMap> parse_v1_config(std::string_view body) {
  if (body.size() > kMaxV1BodyBytes)
    return fail(Code::kResourceExhausted, errors::request_too_large(body.size(), kMaxV1BodyBytes));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(bad(kConfigPut, errors::kV1ConfigNotObject));
  if (j.size() > kMaxV1ConfigEntries)
    return fail(Code::kResourceExhausted, errors::too_many_entries("config", kMaxV1ConfigEntries));
  StringMap out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string())
      return fail(bad(kConfigPut, errors::v1_config_value_not_string(it.key().substr(0, 140))));
    std::string v = it.value().get<std::string>();
    if (v.size() > kMaxV1ConfigValueBytes)
      return fail(Code::kResourceExhausted,
                  errors::field_too_long(it.key().substr(0, 140), kMaxV1ConfigValueBytes));
    out[it.key()] = std::move(v);
  }
  return out;
}

std::optional<ContractMapping> v1_contract_for(std::string_view wit_namespace,
                                               std::string_view wit_package,
                                               const std::vector<std::string>& interfaces) {
  auto only = [&](std::string_view want) {
    return !interfaces.empty() && std::all_of(interfaces.begin(), interfaces.end(),
                                              [&](const auto& i) { return i == want; });
  };
  if (wit_namespace == "wasi" && wit_package == "http") {
    if (only("incoming-handler")) return ContractMapping{"wasmcloud:httpserver", true, false};
    if (only("outgoing-handler")) return ContractMapping{"wasmcloud:httpclient", false, false};
    return std::nullopt;
  }
  if (wit_namespace == "wasi" && wit_package == "keyvalue")
    return ContractMapping{"wasmcloud:keyvalue", false, false};
  if (wit_namespace == "wasi" && wit_package == "logging")
    return ContractMapping{"wasmcloud:builtin:logging", false, true};
  return std::nullopt;
}

V1Link v1_link_from_linkdef(
    const LinkDefinition& ld, const std::function<std::string(const std::string&)>& actor_id,
    const std::function<std::string(const std::string&, const std::string&)>& provider_id) {
  const std::string actor = actor_id ? actor_id(ld.actor_id) : ld.actor_id;
  const std::string provider =
      provider_id ? provider_id(ld.provider_id, ld.link_name) : ld.provider_id;
  V1Link l;
  l.name = ld.link_name;
  l.source_id = actor;
  l.target = provider;
  if (ld.contract_id == "wasmcloud:httpserver") {
    l.wit_namespace = "wasi";
    l.wit_package = "http";
    l.interfaces = {"incoming-handler"};
    l.source_id = provider;
    l.target = actor;
  } else if (ld.contract_id == "wasmcloud:httpclient") {
    l.wit_namespace = "wasi";
    l.wit_package = "http";
    l.interfaces = {"outgoing-handler"};
  } else if (ld.contract_id == "wasmcloud:keyvalue") {
    l.wit_namespace = "wasi";
    l.wit_package = "keyvalue";
    l.interfaces = {"store"};
  } else {
    auto colon = ld.contract_id.find(':');
    l.wit_namespace = ld.contract_id.substr(0, colon);
    l.wit_package = colon == std::string::npos ? std::string() : ld.contract_id.substr(colon + 1);
    std::replace(l.wit_package.begin(), l.wit_package.end(), ':', '-');
  }
  return l;
}

// ------------------------------------------------------------------ V1LinkService

V1LinkService::V1LinkService(V1LinkServiceDeps deps) : deps_(std::move(deps)) {}
V1LinkService::~V1LinkService() { close(); }

Status V1LinkService::open() {
  lattice::KvBucketOptions o;  // history 1, file storage
  auto configs = lattice::KvStore::open(*deps_.ctl, topics::v1_config_bucket(deps_.lattice), true,
                                        o, deps_.js_domain);
  if (!configs) return fail(configs.error());
  configs_ = std::make_unique<lattice::KvStore>(std::move(*configs));
  auto links = lattice::KvStore::open(*deps_.ctl, topics::v1_links_bucket(deps_.lattice), true, o,
                                      deps_.js_domain);
  if (!links) return fail(links.error());
  links_ = std::make_unique<lattice::KvStore>(std::move(*links));

  const std::string queue = topics::v1_lattice_root(deps_.lattice);
  auto post = [this](lattice::Message m, bool link) {
    auto msg = std::make_shared<lattice::Message>(std::move(m));
    bool posted = deps_.post([this, msg, link] {
      std::string subject(msg->subject());
      std::string_view body = msg->text();
      json reply;
      // `...link.{op}` / `...config.{op}.{name}`: the tokens after the fixed prefix.
      std::string_view rest = subject;
      auto root = topics::v1_lattice_root(deps_.lattice);
      rest.remove_prefix(std::min(rest.size(), root.size() + 1));
      if (link) {
        reply = handle_link(rest.substr(rest.find('.') + 1), body);
      } else {
        rest.remove_prefix(rest.find('.') + 1);  // "config."
        auto dot = rest.find('.');
        reply = dot == std::string_view::npos
                    ? v1_reply(false, errors::kInvalidTopic)
                    : handle_config(rest.substr(0, dot), rest.substr(dot + 1), body);
      }
      if (!msg->reply().empty()) (void)deps_.ctl->respond(*msg, v1_reply_text(reply));
    });
    if (!posted) spdlog::debug("v1 link/config request dropped: host stopping");
  };
  auto ls = deps_.ctl->queue_subscribe(topics::v1_links_subscribe(deps_.lattice), queue,
                                       [post](lattice::Message m) { post(std::move(m), true); });
  if (!ls) return fail(ls.error());
  links_sub_ = std::move(*ls);
  auto cs = deps_.ctl->queue_subscribe(topics::v1_config_subscribe(deps_.lattice), queue,
                                       [post](lattice::Message m) { post(std::move(m), false); });
  if (!cs) return fail(cs.error());
  config_sub_ = std::move(*cs);
  return {};
}

void V1LinkService::close() {
  links_sub_.unsubscribe();
  config_sub_.unsubscribe();
}

void V1LinkService::publish_v1(std::string_view type, const json& data) {
  std::string body = lattice::cloudevent_json(type, deps_.host_id, data);
  auto st = deps_.ctl->publish(topics::v1_event_subject(deps_.lattice, ev::short_name(type)), body);
  if (!st) spdlog::debug("Failed to publish v1 {}: {}", type, st.error().message);
}

json V1LinkService::handle_link(std::string_view op, std::string_view body) {
  if (!links_ || !configs_) return v1_reply(false, errors::v1_store_unavailable("links", "closed"));
  if (op == "get") return link_get();
  if (op == "put") return link_put(body);
  if (op == "del") return link_del(body);
  return v1_reply(false, errors::kInvalidTopic);
}

json V1LinkService::link_get() {
  auto keys = links_->keys();
  if (!keys)
    return v1_reply(false, errors::v1_store_unavailable(links_->bucket(), keys.error().message));
  json out = json::array();
  std::set<std::string> made;  // OTP link definitions the stored v1 links made
  for (const auto& k : *keys) {
    auto v = links_->get(k);
    if (!v)
      return v1_reply(false, errors::v1_store_unavailable(links_->bucket(), v.error().message));
    if (!v->has_value()) continue;  // deleted since listed
    json rec = json::parse((*v)->value, nullptr, false);
    if (rec.is_discarded() || !rec.is_object() || !rec.contains("link")) continue;
    out.push_back(rec["link"]);
    made.insert(rec.value("linkdef_id", std::string()));
  }
  // Link definitions put through OTP (linkdefs.put), in their v1 form.
  for (const auto& ld : deps_.metadata->links()) {
    const std::string id =
        ld.id.empty() ? topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name) : ld.id;
    if (made.count(id) != 0) continue;
    out.push_back(v1_link_from_linkdef(ld, deps_.actor_id, deps_.provider_id).to_json());
  }
  return v1_reply(true, "", out);
}

json V1LinkService::link_put(std::string_view body) {
  auto link = parse_v1_link_put(body);
  if (!link) return reply_error(link.error());

  auto merged = merged_values(*link, false);
  if (!merged) return reply_error(merged.error());
  const StringMap& values = *merged;

  // The equivalent OTP link definition, when a wasmbus contract corresponds.
  std::optional<LinkDefinition> ld;
  std::string note;
  auto mapping = v1_contract_for(link->wit_namespace, link->wit_package, link->interfaces);
  if (!mapping) {
    note = "stored; no wasmbus contract corresponds to " + link->wit_namespace + ":" +
           link->wit_package +
           ", so no link definition was made and invocations through this "
           "link fail";
  } else if (mapping->builtin) {
    note = "stored; " + mapping->contract_id +
           " is built into every host, so no link definition is needed";
  } else {
    const std::string& provider_id = mapping->provider_is_source ? link->source_id : link->target;
    const std::string& actor_id = mapping->provider_is_source ? link->target : link->source_id;
    auto provider_key = deps_.metadata->resolve_v1_id(provider_id);
    if (!provider_key || provider_key->empty() || provider_key->front() != 'V')
      return v1_reply(false,
                      errors::v1_link_unresolved(mapping->provider_is_source ? "source" : "target",
                                                 provider_id, "provider"));
    auto actor_key = deps_.metadata->resolve_v1_id(actor_id);
    if (!actor_key || actor_key->empty() || actor_key->front() != 'M')
      return v1_reply(false,
                      errors::v1_link_unresolved(mapping->provider_is_source ? "target" : "source",
                                                 actor_id, "component"));
    LinkDefinition d;
    d.actor_id = *actor_key;
    d.provider_id = *provider_key;
    d.link_name = link->name;
    d.contract_id = mapping->contract_id;
    d.values = values;
    d.id = topics::linkdef_id(d.actor_id, d.contract_id, d.link_name);
    ld = std::move(d);
  }

  const std::string key =
      topics::v1_link_key(link->source_id, link->name, link->wit_namespace, link->wit_package);
  auto previous = links_->get(key);
  if (!previous)
    return v1_reply(false,
                    errors::v1_store_unavailable(links_->bucket(), previous.error().message));
  json rec{{"link", link->to_json()}, {"linkdef_id", ld ? ld->id : std::string()}};
  auto put = links_->put(key, rec.dump());
  if (!put)
    return v1_reply(false, errors::v1_store_unavailable(links_->bucket(), put.error().message));

  // A replaced v1 link whose OTP link definition differs (another target) loses that one.
  if (previous->has_value()) {
    json old = json::parse((*previous)->value, nullptr, false);
    if (old.is_object() &&
        old.value("linkdef_id", std::string()) != (ld ? ld->id : std::string()) &&
        !old.value("linkdef_id", std::string()).empty())
      (void)deps_.metadata->delete_link(old.value("linkdef_id", std::string()));
  }
  if (ld) deps_.metadata->put_link(*ld);
  publish_v1(ev::kLinkdefSet, link->to_json());
  return v1_reply(true, note);
}

Result<StringMap> V1LinkService::merged_values(const V1Link& link, bool skip_missing) {
  StringMap values;
  for (const auto* names : {&link.source_config, &link.target_config}) {
    for (const auto& n : *names) {
      auto v = configs_->get(n);
      if (!v)
        return fail(Code::kUnavailable,
                    errors::v1_store_unavailable(configs_->bucket(), v.error().message));
      auto parsed = v->has_value() ? parse_v1_config((*v)->value) : Result<StringMap>(StringMap{});
      if (!v->has_value() || !parsed) {
        if (skip_missing) continue;
        return fail(Code::kNotFound, errors::v1_link_config_missing(n));
      }
      for (auto& [k, val] : *parsed) values[k] = val;
    }
  }
  return values;
}

void V1LinkService::refresh_links_using(const std::string& name) {
  auto keys = links_->keys();
  if (!keys) {
    spdlog::warn("v1 config {} changed; links not refreshed: {}", name, keys.error().message);
    return;
  }
  for (const auto& k : *keys) {
    auto v = links_->get(k);
    if (!v || !v->has_value()) continue;
    json rec = json::parse((*v)->value, nullptr, false);
    if (!rec.is_object() || !rec.contains("link")) continue;
    const std::string id = rec.value("linkdef_id", std::string());
    if (id.empty()) continue;
    auto link = parse_v1_link_put(rec["link"].dump());
    if (!link) continue;
    const auto& sc = link->source_config;
    const auto& tc = link->target_config;
    if (std::find(sc.begin(), sc.end(), name) == sc.end() &&
        std::find(tc.begin(), tc.end(), name) == tc.end())
      continue;
    auto current = deps_.metadata->link(id);
    auto values = merged_values(*link, true);
    if (!current || !values || current->values == *values) continue;
    LinkDefinition ld = *current;
    ld.values = *values;
    deps_.metadata->put_link(ld);
  }
}

json V1LinkService::link_del(std::string_view body) {
  auto ref = parse_v1_link_del(body);
  if (!ref) return reply_error(ref.error());
  const std::string key =
      topics::v1_link_key(ref->source_id, ref->name, ref->wit_namespace, ref->wit_package);
  auto cur = links_->get(key);
  if (!cur)
    return v1_reply(false, errors::v1_store_unavailable(links_->bucket(), cur.error().message));
  if (!cur->has_value()) {
    // Not a stored v1 link: maybe a link definition put through OTP, as link.get lists it.
    auto source_key = deps_.metadata->resolve_v1_id(ref->source_id);
    for (const auto& ld : deps_.metadata->links()) {
      V1Link l = v1_link_from_linkdef(ld, deps_.actor_id, deps_.provider_id);
      V1Link k = v1_link_from_linkdef(ld, {}, {});
      bool same_source =
          l.source_id == ref->source_id || (source_key && k.source_id == *source_key);
      if (!same_source || l.name != ref->name || l.wit_namespace != ref->wit_namespace ||
          l.wit_package != ref->wit_package)
        continue;
      const std::string id =
          ld.id.empty() ? topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name) : ld.id;
      (void)deps_.metadata->delete_link(id);
      publish_v1(ev::kLinkdefDeleted, l.to_json());
      return v1_reply(true, "");
    }
    return v1_reply(true, errors::kV1LinkNotFound);  // idempotent
  }
  auto st = links_->remove(key);
  if (!st)
    return v1_reply(false, errors::v1_store_unavailable(links_->bucket(), st.error().message));
  json rec = json::parse((*cur)->value, nullptr, false);
  json data{{"source_id", ref->source_id},
            {"name", ref->name},
            {"wit_namespace", ref->wit_namespace},
            {"wit_package", ref->wit_package}};
  if (rec.is_object()) {
    std::string id = rec.value("linkdef_id", std::string());
    if (!id.empty()) (void)deps_.metadata->delete_link(id);
    if (rec.contains("link") && rec["link"].is_object()) data = rec["link"];
  }
  publish_v1(ev::kLinkdefDeleted, data);
  return v1_reply(true, "");
}

json V1LinkService::handle_config(std::string_view op, std::string_view name,
                                  std::string_view body) {
  if (!configs_) return v1_reply(false, errors::v1_store_unavailable("config", "closed"));
  if (op != "get" && op != "put" && op != "del") return v1_reply(false, errors::kInvalidTopic);
  if (!is_valid_config_name(name))
    return v1_reply(false, errors::v1_bad_config_name(name.substr(0, 140)));
  const std::string n(name);
  if (op == "get") {
    auto v = configs_->get(n);
    if (!v)
      return v1_reply(false, errors::v1_store_unavailable(configs_->bucket(), v.error().message));
    if (!v->has_value()) return v1_reply(true, errors::v1_config_not_found(n));
    json j = json::parse((*v)->value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) j = json::object();
    return v1_reply(true, "", j);
  }
  if (op == "put") {
    auto values = parse_v1_config(body);
    if (!values) return reply_error(values.error());
    auto put = configs_->put(n, json(*values).dump());
    if (!put)
      return v1_reply(false, errors::v1_store_unavailable(configs_->bucket(), put.error().message));
    publish_v1(ev::kConfigSet, json{{"config_name", n}});
    refresh_links_using(n);
    return v1_reply(true, "");
  }
  auto st = configs_->remove(n);
  if (!st)
    return v1_reply(false, errors::v1_store_unavailable(configs_->bucket(), st.error().message));
  publish_v1(ev::kConfigDeleted, json{{"config_name", n}});
  refresh_links_using(n);
  return v1_reply(true, "");
}

}  // namespace wc::host
