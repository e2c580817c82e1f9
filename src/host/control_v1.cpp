// V1ControlServer (control_v1.h): v1 request parsing, routing, handlers and the v1 events derived
// from the OTP ones.
#include "host/control_v1.h"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "host/errors.h"
#include "lattice/cloudevent.h"
#include "lattice/event_data.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;
namespace ev1 = lattice::events::v1;

constexpr std::string_view kDefaultLink = "default";
/// Most named configs one request may list.
constexpr std::size_t kMaxConfigNames = 64;

tl::unexpected<Error> invalid(std::string message) {
  return fail(Code::kInvalidArgument, std::move(message));
}

Result<json> parse_object(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid(std::string(errors::kV1BodyNotJsonObject));
  return j;
}

/// `out` = the string at `field` (absent or null: unchanged).
Status get_string(const json& o, std::string_view field, std::string& out, std::size_t limit) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return ok();
  if (!it->is_string()) return invalid(errors::v1_field_type(field, "a string"));
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > limit) return invalid(errors::field_too_long(field, limit));
  out = s;
  return ok();
}

/// A string -> string object (absent or null: empty).
Status get_map(const json& o, std::string_view field, StringMap& out) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return ok();
  if (!it->is_object()) return invalid(errors::v1_field_type(field, "an object of strings"));
  if (it->size() > kMaxAnnotations)
    return invalid(errors::too_many_entries(field, kMaxAnnotations));
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return invalid(errors::v1_field_type(field, "an object of strings"));
    if (k.size() > kMaxIdentifierLength)
      return invalid(errors::field_too_long(field, kMaxIdentifierLength));
    if (v.get_ref<const std::string&>().size() > kMaxAnnotationValueLength)
      return invalid(errors::field_too_long(field, kMaxAnnotationValueLength));
    out[k] = v.get<std::string>();
  }
  return ok();
}

/// An array of strings (absent or null: empty).
Status get_list(const json& o, std::string_view field, std::vector<std::string>& out) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return ok();
  if (!it->is_array()) return invalid(errors::v1_field_type(field, "an array of strings"));
  if (it->size() > kMaxConfigNames)
    return invalid(errors::too_many_entries(field, kMaxConfigNames));
  for (const auto& v : *it) {
    if (!v.is_string()) return invalid(errors::v1_field_type(field, "an array of strings"));
    if (v.get_ref<const std::string&>().size() > kMaxIdentifierLength)
      return invalid(errors::field_too_long(field, kMaxIdentifierLength));
    out.push_back(v.get<std::string>());
  }
  return ok();
}

/// A non-negative integer count (absent or null: nullopt).
Result<std::optional<std::int64_t>> get_count(const json& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::optional<std::int64_t>();
  if (it->is_number_unsigned()) {
    if (it->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxInstancesPerActor))
      return invalid(std::string(errors::kTooManyInstances));
    return std::optional<std::int64_t>(static_cast<std::int64_t>(it->get<std::uint64_t>()));
  }
  if (it->is_number_integer() && it->get<std::int64_t>() >= 0)
    return std::optional<std::int64_t>(it->get<std::int64_t>());
  return invalid(errors::v1_field_type(field, "a non-negative integer"));
}

/// A required v1 id at `field`.
Status get_id(const json& o, std::string_view field, std::string& out) {
  if (auto st = get_string(o, field, out, kMaxIdentifierLength); !st) return st;
  if (out.empty()) return invalid(errors::v1_field_missing(field));
  if (!topics::is_valid_v1_id(out)) return invalid(errors::v1_bad_id(field));
  return ok();
}

/// A required reference at `field`.
Status get_ref(const json& o, std::string_view field, std::string& out) {
  if (auto st = get_string(o, field, out, kMaxReferenceLength); !st) return st;
  if (out.empty()) return invalid(errors::v1_field_missing(field));
  return ok();
}

bool is_hostcore(std::string_view key) {
  std::string lower(key.substr(0, 9));
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "hostcore.";
}

/// The 1.x component claims object from the OTP actor_started `claims` (drops `caps`).
json v1_component_claims(const json& otp) {
  if (!otp.is_object()) return json();
  json out = otp;
  out.erase("caps");
  return out;
}

std::string str_of(const json& o, std::string_view field) {
  auto it = o.find(field);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

// ------------------------------------------------------------------ parsing

Result<V1Subject> parse_v1_subject(std::string_view subject, std::string_view lattice,
                                   std::string_view ctl_prefix) {
  auto op = topics::v1_ctl_operation(subject, lattice, ctl_prefix);
  if (!op) return invalid(std::string(errors::kV1UnsupportedSubject));
  std::vector<std::string> t;
  std::size_t s = 0;
  for (;;) {
    auto e = op->find('.', s);
    t.push_back(op->substr(s, e == std::string::npos ? std::string::npos : e - s));
    if (e == std::string::npos) break;
    s = e + 1;
  }
  if (t.size() < 2 || t.size() > 3) return invalid(std::string(errors::kV1UnsupportedSubject));
  for (const auto& x : t)
    if (x.empty()) return invalid(std::string(errors::kV1UnsupportedSubject));
  return V1Subject{t[0], t[1], t.size() == 3 ? t[2] : std::string()};
}

Result<V1ScaleComponent> parse_v1_scale_component(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  V1ScaleComponent r;
  if (auto st = get_string(*o, "host_id", r.host_id, kMaxIdentifierLength); !st)
    return fail(st.error());
  if (auto st = get_id(*o, "component_id", r.component_id); !st) return fail(st.error());
  if (auto st = get_string(*o, "component_ref", r.component_ref, kMaxReferenceLength); !st)
    return fail(st.error());
  auto max = get_count(*o, "max_instances");
  if (!max) return fail(max.error());
  auto count = get_count(*o, "count");
  if (!count) return fail(count.error());
  if (*max && *count && **max != **count) return invalid(std::string(errors::kV1CountConflict));
  r.count = max->value_or(count->value_or(0));
  if (r.count > 0 && r.component_ref.empty())
    return invalid(errors::v1_field_missing("component_ref"));
  if (auto st = get_map(*o, "annotations", r.annotations); !st) return fail(st.error());
  if (auto st = get_list(*o, "config", r.config); !st) return fail(st.error());
  return r;
}

Result<V1UpdateComponent> parse_v1_update_component(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  V1UpdateComponent r;
  if (auto st = get_string(*o, "host_id", r.host_id, kMaxIdentifierLength); !st)
    return fail(st.error());
  if (auto st = get_id(*o, "component_id", r.component_id); !st) return fail(st.error());
  if (auto st = get_ref(*o, "new_component_ref", r.new_component_ref); !st) return fail(st.error());
  if (auto st = get_map(*o, "annotations", r.annotations); !st) return fail(st.error());
  return r;
}

Result<V1StartProvider> parse_v1_start_provider(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  V1StartProvider r;
  if (auto st = get_string(*o, "host_id", r.host_id, kMaxIdentifierLength); !st)
    return fail(st.error());
  if (auto st = get_ref(*o, "provider_ref", r.provider_ref); !st) return fail(st.error());
  if (auto st = get_id(*o, "provider_id", r.provider_id); !st) return fail(st.error());
  if (auto st = get_map(*o, "annotations", r.annotations); !st) return fail(st.error());
  if (auto st = get_list(*o, "config", r.config); !st) return fail(st.error());
  return r;
}

Result<V1StopProvider> parse_v1_stop_provider(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  V1StopProvider r;
  if (auto st = get_string(*o, "host_id", r.host_id, kMaxIdentifierLength); !st)
    return fail(st.error());
  const char* field = o->contains("provider_id") ? "provider_id" : "provider_ref";
  if (auto st = get_id(*o, field, r.provider_id); !st) return fail(st.error());
  return r;
}

Result<V1Label> parse_v1_label(std::string_view body, bool with_value) {
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  V1Label r;
  if (auto st = get_string(*o, "key", r.key, kMaxIdentifierLength); !st) return fail(st.error());
  if (r.key.empty()) return invalid(errors::v1_field_missing("key"));
  if (with_value) {
    if (!o->contains("value")) return invalid(errors::v1_field_missing("value"));
    if (auto st = get_string(*o, "value", r.value, kMaxAnnotationValueLength); !st)
      return fail(st.error());
  }
  return r;
}

Result<V1StopHost> parse_v1_stop_host(std::string_view body) {
  V1StopHost r;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return r;
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  if (auto st = get_string(*o, "host_id", r.host_id, kMaxIdentifierLength); !st)
    return fail(st.error());
  if (auto it = o->find("timeout"); it != o->end() && !it->is_null()) {
    if (it->is_number_unsigned()) {
      r.timeout_ms = it->get<std::uint64_t>();
    } else if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
      r.timeout_ms = static_cast<std::uint64_t>(it->get<std::int64_t>());
    } else {
      return invalid(errors::v1_field_type("timeout", "a non-negative integer"));
    }
  }
  return r;
}

Result<V1Auction> parse_v1_auction(std::string_view body, bool provider) {
  auto o = parse_object(body);
  if (!o) return fail(o.error());
  V1Auction r;
  if (auto st = get_ref(*o, provider ? "provider_ref" : "component_ref", r.ref); !st)
    return fail(st.error());
  if (auto st = get_id(*o, provider ? "provider_id" : "component_id", r.id); !st)
    return fail(st.error());
  if (auto st = get_map(*o, "constraints", r.constraints); !st) return fail(st.error());
  return r;
}

std::string v1_uptime_human(std::uint64_t s) {
  const std::uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  std::string out;
  auto part = [&](std::uint64_t v, const char* unit) {
    if (v == 0) return;
    if (!out.empty()) out += ' ';
    out += std::to_string(v) + unit;
  };
  part(d, "d");
  part(h, "h");
  part(m, "m");
  part(sec, "s");
  return out.empty() ? "0s" : out;
}

// ------------------------------------------------------------------ the server

V1ControlServer::V1ControlServer(V1ControlServerDeps deps) : deps_(std::move(deps)) {}

V1ControlServer::~V1ControlServer() { close(); }

void V1ControlServer::close() {
  for (auto& s : subs_) s.unsubscribe();
  subs_.clear();
}

Status V1ControlServer::subscribe() {
  const auto& L = deps_.lattice_prefix;
  const auto& C = deps_.ctl_topic_prefix;
  const auto& H = deps_.host_id;
  auto handler = [this](lattice::Message m) {
    auto msg = std::make_shared<lattice::Message>(std::move(m));
    deps_.post_control([this, msg] {
      handle(ControlRequest{msg->subject(), msg->reply(), msg->data()});
    });
  };
  struct Spec {
    std::string subject, queue;
  };
  const std::vector<Spec> specs = {
      {topics::v1_ctl_subject(L, "host.ping", C), ""},
      {topics::v1_ctl_subject(L, "registry.put", C), ""},
      {topics::v1_ctl_subject(L, "claims.get", C), topics::v1_ctl_subject(L, "claims", C)},
      {topics::v1_ctl_subject(L, "component.*." + H, C), ""},
      {topics::v1_ctl_subject(L, "provider.*." + H, C), ""},
      {topics::v1_ctl_subject(L, "label.*." + H, C), ""},
      {topics::v1_ctl_subject(L, "host.*." + H, C), ""},
      {topics::v1_ctl_subject(L, "component.auction", C), ""},
      {topics::v1_ctl_subject(L, "provider.auction", C), ""},
      // Client 0.2.3 names no host in the subject: one host takes each request and relays it.
      {topics::v1_ctl_subject(L, "provider.start", C),
       topics::v1_ctl_subject(L, "provider.start", C)},
  };
  for (const auto& s : specs) {
    auto sub = s.queue.empty() ? deps_.ctl->subscribe(s.subject, handler)
                               : deps_.ctl->queue_subscribe(s.subject, s.queue, handler);
    if (!sub) return fail(sub.error());
    subs_.push_back(std::move(*sub));
  }
  return deps_.ctl->flush(std::chrono::seconds(5));
}

void V1ControlServer::reply(const ControlRequest& m, bool success, std::string_view message,
                            const json* response) {
  if (m.reply.empty()) return;
  auto st = deps_.ctl->publish_text(
      m.reply,
      v1_reply_text(response ? v1_reply(success, message, *response) : v1_reply(success, message)));
  if (!st) spdlog::warn("Failed to reply on {}: {}", m.subject, st.error().message);
}

void V1ControlServer::publish(std::string_view name, const json& data) {
  auto st =
      deps_.ctl->publish_text(topics::v1_event_subject(deps_.lattice_prefix, name),
                              lattice::cloudevent_json(ev::type_of(name), deps_.host_id, data));
  if (!st) spdlog::debug("Failed to publish v1 {}: {}", name, st.error().message);
}

std::string V1ControlServer::component_id_of(const std::string& key) const {
  MutexLock lock(mu_);
  auto it = component_ids_.find(key);
  return it == component_ids_.end() ? key : it->second;
}

std::string V1ControlServer::provider_id_of(const std::string& key, const std::string& link) const {
  if (link != kDefaultLink) return key;
  MutexLock lock(mu_);
  auto it = provider_ids_.find(key);
  return it == provider_ids_.end() ? key : it->second;
}

/// Public key of component `id` (a key itself, an id recorded here or lattice-wide), else of the
/// actor running from `ref` (the reference map); nullopt when none is known.
std::optional<std::string> V1ControlServer::resolve_component(const std::string& id,
                                                              const std::string& ref) const {
  if (wascap::is_valid_public_key(id)) return id;
  {
    MutexLock lock(mu_);
    for (const auto& [key, v1] : component_ids_)
      if (v1 == id) return key;
  }
  if (auto key = deps_.metadata->resolve_v1_id(id)) return key;
  if (!ref.empty()) return deps_.metadata->resolve_reference(ref);
  return std::nullopt;
}

std::optional<std::string> V1ControlServer::resolve_provider(const std::string& id) const {
  if (wascap::is_valid_public_key(id)) return id;
  {
    MutexLock lock(mu_);
    for (const auto& [key, v1] : provider_ids_)
      if (v1 == id) return key;
  }
  return deps_.metadata->resolve_v1_id(id);
}

json V1ControlServer::inventory() const {
  const HostFacts f = deps_.facts();
  json components = json::array();
  for (const auto& a : deps_.actors->snapshot()) {
    if (a.instances.empty()) continue;
    const auto& first = a.instances.front();
    json c{{"id", component_id_of(a.public_key)}, {"image_ref", first.image_ref},
           {"annotations", first.annotations},    {"revision", first.revision},
           {"max_instances", a.instances.size()}, {"limits", nullptr}};
    if (!a.name.empty()) c["name"] = a.name;
    components.push_back(std::move(c));
  }
  json providers = json::array();
  for (const auto& p : deps_.providers()) {
    json d{{"id", provider_id_of(p.public_key, p.link_name)},
           {"image_ref", p.image_ref},
           {"revision", p.revision},
           {"annotations", p.annotations}};
    if (!p.name.empty()) d["name"] = p.name;
    providers.push_back(std::move(d));
  }
  return json{{"components", std::move(components)},
              {"providers", std::move(providers)},
              {"host_id", f.host_id},
              {"friendly_name", f.friendly_name},
              {"labels", f.labels},
              {"version", deps_.version},
              {"uptime_human", v1_uptime_human(f.uptime_seconds)},
              {"uptime_seconds", f.uptime_seconds}};
}

json V1ControlServer::host() const {
  const HostFacts f = deps_.facts();
  json h{{"id", f.host_id},
         {"friendly_name", f.friendly_name},
         {"labels", f.labels},
         {"lattice", f.lattice_prefix},
         {"uptime_human", v1_uptime_human(f.uptime_seconds)},
         {"uptime_seconds", f.uptime_seconds},
         {"version", deps_.version},
         {"ctl_host", f.ctl_host},
         {"rpc_host", f.rpc_host}};
  if (f.js_domain) h["js_domain"] = *f.js_domain;
  return h;
}

void V1ControlServer::handle(const ControlRequest& m) {
  auto s = parse_v1_subject(m.subject, deps_.lattice_prefix, deps_.ctl_topic_prefix);
  if (!s) {
    spdlog::warn("Received v1 control message on unsupported subject {}", m.subject);
    return reply(m, false, s.error().message);
  }
  if (auto size = check_request_size(m.data.size()); !size) {
    spdlog::warn("Refusing v1 control request on {}: {}", m.subject, size.error().message);
    return reply(m, false, size.error().message);
  }
  const std::string body(m.text());
  const auto& r = s->resource;
  const auto& op = s->op;
  const bool here = s->arg == deps_.host_id;
  const bool lattice_wide = s->arg.empty();
  if (!lattice_wide && !here) return reply(m, false, errors::kIncorrectHost);

  if (r == "host" && op == "ping" && lattice_wide) {
    const json h = host();
    return reply(m, true, "", &h);
  }
  if (r == "host" && op == "get" && here) {
    const json inv = inventory();
    return reply(m, true, "", &inv);
  }
  if (r == "host" && op == "stop" && here) {
    auto req = parse_v1_stop_host(body);
    if (!req) return reply(m, false, req.error().message);
    if (!req->host_id.empty() && req->host_id != deps_.host_id)
      return reply(m, false, errors::v1_host_mismatch(req->host_id, deps_.host_id));
    reply(m, true, errors::kV1StopHost);
    (void)deps_.ctl->flush(std::chrono::seconds(1));
    deps_.request_stop();
    return;
  }
  if (r == "label" && (op == "put" || op == "del") && here) return labels(m, body, op == "put");
  if (r == "component" && op == "scale" && here) return scale_component(m, body);
  if (r == "component" && op == "update" && here) return update_component(m, body);
  if (r == "component" && op == "auction" && lattice_wide) return auction(m, body, false);
  if (r == "provider" && op == "start") return start_provider(m, body, here);
  if (r == "provider" && op == "stop" && here) return stop_provider(m, body);
  if (r == "provider" && op == "auction" && lattice_wide) return auction(m, body, true);
  if (r == "claims" && op == "get" && lattice_wide) {
    json list = json::array();
    for (auto& c : deps_.metadata->all_claims()) list.push_back(std::move(c));
    return reply(m, true, "", &list);
  }
  if (r == "registry" && op == "put" && lattice_wide) {
    auto st = deps_.creds->merge_json(body);
    return st ? reply(m, true, errors::kV1RegistriesPut)
              : reply(m, false, errors::kRegistryPutFailed);
  }
  spdlog::warn("Received v1 control message on unsupported subject {}", m.subject);
  reply(m, false, errors::kV1UnsupportedSubject);
}

void V1ControlServer::labels(const ControlRequest& m, const std::string& body, bool put) {
  auto req = parse_v1_label(body, put);
  if (!req) return reply(m, false, req.error().message);
  if (is_hostcore(req->key))
    return reply(m, false, put ? errors::kV1HostcoreLabel : errors::kV1HostcoreLabelDelete);
  bool existed = false;
  const StringMap after = deps_.update_labels([&](StringMap& labels) {
    existed = labels.count(req->key) != 0;
    if (put) {
      labels[req->key] = req->value;
    } else {
      labels.erase(req->key);
    }
  });
  if (!put && !existed) return reply(m, true, errors::kV1LabelDeletedNone);
  spdlog::info("{} label {}", put ? "Set" : "Removed", req->key);
  reply(m, true, put ? errors::kV1LabelPut : errors::kV1LabelDeleted);
  publish(ev1::kLabelsChanged, json{{"host_id", deps_.host_id}, {"labels", after}});
  if (deps_.heartbeat) deps_.heartbeat();  // OTP watchers see the labels at once too
}

void V1ControlServer::auction(const ControlRequest& m, const std::string& body, bool provider) {
  auto req = parse_v1_auction(body, provider);
  if (!req) return reply(m, false, req.error().message);
  const HostFacts f = deps_.facts();
  for (const auto& [k, v] : req->constraints) {
    auto it = f.labels.find(k);
    if (it == f.labels.end() || it->second != v) return;  // no bid
  }
  if (!deps_.allow_file_load && req->ref.starts_with("file://")) return;
  bool running = false;
  if (provider) {
    auto key = resolve_provider(req->id);
    running = key && deps_.provider_supervised(*key, std::string(kDefaultLink));
  } else if (auto key = resolve_component(req->id, "")) {
    for (const auto& a : deps_.actors->snapshot())
      running = running || (a.public_key == *key && !a.instances.empty());
  }
  if (running) return;
  const json ack{{provider ? "provider_ref" : "component_ref", req->ref},
                 {provider ? "provider_id" : "component_id", req->id},
                 {"host_id", deps_.host_id},
                 {"constraints", req->constraints}};
  reply(m, true, "", &ack);
}

void V1ControlServer::scale_failed(const std::string& key, const std::string& id,
                                   const std::string& ref, const StringMap& annotations,
                                   std::int64_t count, const std::string& error) {
  json d = json::object();
  if (!key.empty()) d["public_key"] = key;
  d["component_id"] = id;
  d["annotations"] = annotations;
  d["host_id"] = deps_.host_id;
  d["image_ref"] = ref;
  d["max_instances"] = count;
  d["error"] = error;
  publish(ev1::kComponentScaleFailed, d);
}

void V1ControlServer::scale_component(const ControlRequest& m, const std::string& body) {
  auto req = parse_v1_scale_component(body);
  if (!req) return reply(m, false, req.error().message);
  if (!req->host_id.empty() && req->host_id != deps_.host_id)
    return reply(m, false, errors::v1_host_mismatch(req->host_id, deps_.host_id));
  const auto key = resolve_component(req->component_id, req->component_ref);
  if (key && req->component_id != *key) {
    MutexLock lock(mu_);
    auto it = component_ids_.find(*key);
    if (it != component_ids_.end() && it->second != req->component_id) {
      const std::string msg = errors::v1_id_taken(it->second, *key);
      lock.unlock();
      return reply(m, false, msg);
    }
  }
  std::int64_t reserved = 0;
  if (req->count > 0) {
    // The host instance limit, as for OTP `scale`: only instances beyond the running ones count.
    auto r = deps_.actors->reserve(req->count, key ? &*key : nullptr);
    if (!r) {
      reply(m, false, r.error().message);
      scale_failed(key.value_or(""), req->component_id, req->component_ref, req->annotations,
                   req->count, r.error().message);
      return;
    }
    reserved = *r;
  }
  if (!req->component_ref.empty()) {
    MutexLock lock(mu_);
    pending_components_[req->component_ref] =
        Pending{req->component_id, req->annotations, req->count};
  }
  reply(m, true, "");  // acknowledged before the pull (1.x)
  if (!deps_.post_lifecycle([this, r = *req, reserved] {
        deps_.actors->begin_task(reserved);
        try {
          scale_task(r);
        } catch (const std::exception& e) {
          spdlog::error("Scaling component {} failed: {}", r.component_id, e.what());
          scale_failed("", r.component_id, r.component_ref, r.annotations, r.count,
                       std::string(errors::kUnexpectedFailurePrefix) + e.what());
        }
        deps_.actors->end_task();
        MutexLock lock(mu_);
        pending_components_.erase(r.component_ref);
      })) {
    deps_.actors->release(reserved);
    MutexLock lock(mu_);
    pending_components_.erase(req->component_ref);
  }
}

/// Lifecycle thread: brings component `req.component_id` to `req.count` instances through the
/// actor supervisor (plan_scale, launch with the request's annotations, stop); the events follow
/// from the OTP ones (on_event).
void V1ControlServer::scale_task(const V1ScaleComponent& req) {
  auto key = resolve_component(req.component_id, req.component_ref);
  auto record = [&](const std::string& k) {
    if (wascap::is_valid_public_key(req.component_id) || req.component_id == k) return;
    {
      MutexLock lock(mu_);
      auto [it, added] = component_ids_.try_emplace(k, req.component_id);
      if (!added && it->second == req.component_id && deps_.metadata->resolve_v1_id(it->second))
        return;  // known here and lattice-wide already
      it->second = req.component_id;
    }
    if (auto st = deps_.metadata->put_v1_alias(req.component_id, k); !st)
      spdlog::warn("Failed to record v1 id {}: {}", req.component_id, st.error().message);
  };
  if (key) record(*key);
  std::size_t running = 0;
  std::string first_ref;
  if (key)
    for (const auto& a : deps_.actors->snapshot())
      if (a.public_key == *key && !a.instances.empty()) {
        running = a.instances.size();
        first_ref = a.instances.front().image_ref;
      }
  if (req.count == 0 && running == 0) {
    // Nothing runs: the outcome is already reached; say so like a stop would.
    json d{{"annotations", req.annotations},
           {"host_id", deps_.host_id},
           {"image_ref", req.component_ref},
           {"max_instances", 0},
           {"component_id", req.component_id}};
    publish(ev1::kComponentScaled, d);
    return;
  }
  auto plan = plan_scale(running, first_ref, req.component_ref, req.count);
  switch (plan.kind) {
    case ScalePlan::Kind::kNothing:
      announce_scale(*key, true);
      break;
    case ScalePlan::Kind::kStop:
      deps_.actors->stop(*key, plan.count, {});  // count > 0: one actors_stopped
      break;
    case ScalePlan::Kind::kError:
      scale_failed(key.value_or(""), req.component_id, req.component_ref, req.annotations,
                   req.count, plan.error);
      break;
    case ScalePlan::Kind::kStart:
      deps_.actors->launch(LaunchActorRequest{plan.reference, plan.count, req.annotations});
      if (!key)
        if (auto k = deps_.metadata->resolve_reference(plan.reference)) record(*k);
      break;
  }
}

void V1ControlServer::update_component(const ControlRequest& m, const std::string& body) {
  auto req = parse_v1_update_component(body);
  if (!req) return reply(m, false, req.error().message);
  if (!req->host_id.empty() && req->host_id != deps_.host_id)
    return reply(m, false, errors::v1_host_mismatch(req->host_id, deps_.host_id));
  std::string current;
  if (auto key = resolve_component(req->component_id, ""))
    for (const auto& a : deps_.actors->snapshot())
      if (a.public_key == *key && !a.instances.empty()) current = a.instances.front().image_ref;
  if (current.empty()) return reply(m, false, errors::v1_component_not_found(req->component_id));
  if (current == req->new_component_ref)
    return reply(m, true,
                 errors::v1_component_already_updated(req->component_id, req->new_component_ref));
  reply(m, true, errors::v1_component_updating(req->component_id, current, req->new_component_ref));
  deps_.post_lifecycle([this, r = *req] {
    try {
      auto st = deps_.actors->live_update(r.new_component_ref);
      if (!st)
        spdlog::error("Failed to update component {}: {}", r.component_id, st.error().message);
    } catch (const std::exception& e) {
      spdlog::error("Updating component {} failed: {}", r.component_id, e.what());
    }
  });
}

void V1ControlServer::start_provider(const ControlRequest& m, const std::string& body,
                                     bool host_in_subject) {
  auto req = parse_v1_start_provider(body);
  if (!req) return reply(m, false, req.error().message);
  if (!host_in_subject) {
    // `provider.start` (queue group): act when the body names this host, else relay the request
    // to the named host's own subject and pass its answer on.
    if (req->host_id.empty()) return reply(m, false, errors::v1_field_missing("host_id"));
    if (req->host_id != deps_.host_id) {
      if (!topics::is_valid_v1_id(req->host_id))
        return reply(m, false, errors::v1_unknown_host(req->host_id));
      auto answer = deps_.ctl->request_text(
          topics::v1_ctl_subject(deps_.lattice_prefix, "provider.start." + req->host_id,
                                 deps_.ctl_topic_prefix),
          body, deps_.relay_timeout);
      if (!answer) return reply(m, false, errors::v1_unknown_host(req->host_id));
      if (!m.reply.empty()) (void)deps_.ctl->publish(m.reply, *answer);
      return;
    }
  } else if (!req->host_id.empty() && req->host_id != deps_.host_id) {
    return reply(m, false, errors::v1_host_mismatch(req->host_id, deps_.host_id));
  }
  const std::string link(kDefaultLink);
  if (auto key = resolve_provider(req->provider_id); key && deps_.provider_supervised(*key, link))
    return reply(m, false, errors::kV1ProviderRunning);
  {
    MutexLock lock(mu_);
    pending_providers_[req->provider_ref] = Pending{req->provider_id, req->annotations, 1};
  }
  reply(m, true, errors::kV1StartProvider);
  deps_.post_lifecycle([this, r = *req, link] {
    StartProviderRequest start{r.provider_ref, link, "", r.annotations};
    try {
      deps_.launch_provider(start);
    } catch (const std::exception& e) {
      publish(ev1::kProviderStartFailed,
              json{{"provider_ref", r.provider_ref},
                   {"provider_id", r.provider_id},
                   {"host_id", deps_.host_id},
                   {"error", std::string(errors::kUnexpectedFailurePrefix) + e.what()},
                   {"link_name", link}});
    }
    auto key = deps_.resolve_provider_key(r.provider_ref);
    if (key && !wascap::is_valid_public_key(r.provider_id) &&
        deps_.provider_supervised(*key, link)) {
      bool known = false;
      {
        MutexLock lock(mu_);
        known = provider_ids_[*key] == r.provider_id;  // recorded by the provider_started event
        provider_ids_[*key] = r.provider_id;
      }
      if (!known)
        if (auto st = deps_.metadata->put_v1_alias(r.provider_id, *key); !st)
          spdlog::warn("Failed to record v1 id {}: {}", r.provider_id, st.error().message);
    }
    MutexLock lock(mu_);
    pending_providers_.erase(r.provider_ref);
  });
}

void V1ControlServer::stop_provider(const ControlRequest& m, const std::string& body) {
  auto req = parse_v1_stop_provider(body);
  if (!req) return reply(m, false, req.error().message);
  if (!req->host_id.empty() && req->host_id != deps_.host_id)
    return reply(m, false, errors::v1_host_mismatch(req->host_id, deps_.host_id));
  const std::string link(kDefaultLink);
  auto key = resolve_provider(req->provider_id);
  if (!key || !deps_.provider_supervised(*key, link))
    return reply(m, false, errors::kV1ProviderNotRunning);
  auto to = std::make_shared<std::string>(m.reply);
  // Synchronous as in 1.x: the answer follows the stop.
  deps_.post_lifecycle([this, k = *key, link, to] {
    std::string text = v1_reply_text(v1_reply(true, errors::kV1StopProvider));
    try {
      deps_.stop_provider(k, link);
    } catch (const std::exception& e) {
      text =
          v1_reply_text(v1_reply(false, std::string(errors::kUnexpectedFailurePrefix) + e.what()));
    }
    if (!to->empty()) (void)deps_.ctl->publish_text(*to, text);
  });
}

// ------------------------------------------------------------------ events

/// Publishes component_scaled when the instance count of `key` on this host differs from the one
/// last announced (or always with `force`).
void V1ControlServer::announce_scale(const std::string& key, bool force) {
  std::int64_t count = 0;
  json meta = json::object();
  for (const auto& a : deps_.actors->snapshot()) {
    if (a.public_key != key || a.instances.empty()) continue;
    count = static_cast<std::int64_t>(a.instances.size());
    meta["image_ref"] = a.instances.front().image_ref;
    meta["annotations"] = a.instances.front().annotations;
  }
  json claims;
  std::string id;
  {
    MutexLock lock(mu_);
    // What was last announced: the count and, while it runs, the reference (a live update
    // changes it).
    auto& last = announced_[key];
    const std::string ref = count > 0 ? meta["image_ref"].get<std::string>() : std::string();
    if (last.first == count && (count == 0 || last.second == ref) && !force) return;
    last = {count, ref};
    auto& known = component_meta_[key];
    if (meta.contains("image_ref")) known["image_ref"] = meta["image_ref"];
    if (meta.contains("annotations")) known["annotations"] = meta["annotations"];
    meta = known;
    if (known.contains("claims")) claims = known["claims"];
    auto it = component_ids_.find(key);
    id = it == component_ids_.end() ? key : it->second;
    if (count == 0) announced_.erase(key);
  }
  json d = json::object();
  if (claims.is_object()) {
    d["public_key"] = key;
    d["claims"] = claims;
  }
  d["annotations"] = meta.value("annotations", json::object());
  d["host_id"] = deps_.host_id;
  d["image_ref"] = meta.value("image_ref", std::string());
  d["max_instances"] = count;
  d["component_id"] = id;
  publish(ev1::kComponentScaled, d);
}

void V1ControlServer::on_event(std::string_view type, const json& data) {
  if (!data.is_object()) return;
  const std::string_view name = ev::short_name(type);
  const std::string key = str_of(data, "public_key");
  // actor_started (one per instance) is always followed by actors_started: only the latter
  // counts, so a start of n instances costs one snapshot, not n.
  if (type == ev::kActorStarted) return;
  if (type == ev::kActorsStarted) {
    const std::string ref = str_of(data, "image_ref");
    std::string alias;
    {
      MutexLock lock(mu_);
      auto& known = component_meta_[key];
      known["image_ref"] = ref;
      if (data.contains("claims")) known["claims"] = v1_component_claims(data["claims"]);
      if (auto it = pending_components_.find(ref); it != pending_components_.end() &&
                                                   !wascap::is_valid_public_key(it->second.id) &&
                                                   component_ids_[key] != it->second.id) {
        component_ids_[key] = it->second.id;
        alias = it->second.id;
      }
    }
    // Recorded for the lattice before component_scaled goes out: a client that reacts to it
    // (a link.put naming the id, on any host) finds the id.
    if (!alias.empty())
      if (auto st = deps_.metadata->put_v1_alias(alias, key); !st)
        spdlog::warn("Failed to record v1 id {}: {}", alias, st.error().message);
    return announce_scale(key, false);
  }
  if (type == ev::kActorsStopped) return announce_scale(key, false);
  // A stop of all instances (`sa` with count 0, host stop) sends only actor_stopped, one per
  // instance, and a live update one actor_updated per instance, each after the registry already
  // holds the outcome: one coalesced announcement per key (1.x announces an update's new
  // reference too; announce_scale tells a new reference from the last announced one).
  if (type == ev::kActorStopped || type == ev::kActorUpdated) {
    {
      MutexLock lock(mu_);
      if (auto it = component_meta_.find(key);
          type == ev::kActorUpdated && it != component_meta_.end() &&
          it->second.contains("claims") && it->second["claims"].is_object())
        it->second["claims"]["revision"] = data.value("revision", json());
      if (!queued_announce_.insert(key).second) return;
    }
    auto task = [this, key] {
      {
        MutexLock lock(mu_);
        queued_announce_.erase(key);
      }
      announce_scale(key, false);
    };
    if (!deps_.post_control(task)) {
      MutexLock lock(mu_);
      queued_announce_.erase(key);
    }
    return;
  }
  if (type == ev::kActorsStartFailed) {
    if (key != lattice::event_data::kUnknownActorKey) {
      MutexLock lock(mu_);
      failed_keys_[str_of(data, "image_ref")] = key;
    }
    return;
  }
  if (type == ev::kActorStartFailed) {
    const std::string ref = str_of(data, "actor_ref");
    std::string failed_key, id;
    Pending p;
    {
      MutexLock lock(mu_);
      if (auto it = failed_keys_.find(ref); it != failed_keys_.end()) {
        failed_key = it->second;
        failed_keys_.erase(it);
      }
      if (auto it = pending_components_.find(ref); it != pending_components_.end()) p = it->second;
    }
    id = p.id;
    if (id.empty()) {
      auto k = failed_key.empty() ? deps_.metadata->resolve_reference(ref)
                                  : std::optional<std::string>(failed_key);
      id = k ? component_id_of(*k) : std::string();
    }
    return scale_failed(failed_key, id, ref, p.annotations, p.count, str_of(data, "error"));
  }
  const std::string link = str_of(data, "link_name");
  if (type == ev::kProviderStarted) {
    const std::string ref = str_of(data, "image_ref");
    std::string alias;
    if (link == kDefaultLink) {
      MutexLock lock(mu_);
      if (auto it = pending_providers_.find(ref); it != pending_providers_.end() &&
                                                  !wascap::is_valid_public_key(it->second.id) &&
                                                  provider_ids_[key] != it->second.id) {
        provider_ids_[key] = it->second.id;
        alias = it->second.id;
      }
    }
    if (!alias.empty())
      if (auto st = deps_.metadata->put_v1_alias(alias, key); !st)
        spdlog::warn("Failed to record v1 id {}: {}", alias, st.error().message);
    json d{{"host_id", deps_.host_id},
           {"image_ref", ref},
           {"provider_id", provider_id_of(key, link)},
           {"annotations", data.value("annotations", json::object())}};
    if (data.contains("claims") && data["claims"].is_object() && !data["claims"].empty())
      d["claims"] = data["claims"];
    d["instance_id"] = str_of(data, "instance_id");
    d["public_key"] = key;
    d["link_name"] = link;
    return publish(ev1::kProviderStarted, d);
  }
  if (type == ev::kProviderStartFailed) {
    const std::string ref = str_of(data, "provider_ref");
    std::string id;
    {
      MutexLock lock(mu_);
      if (auto it = pending_providers_.find(ref); it != pending_providers_.end())
        id = it->second.id;
    }
    if (id.empty()) {
      auto k = deps_.resolve_provider_key ? deps_.resolve_provider_key(ref) : std::nullopt;
      id = k ? provider_id_of(*k, link) : ref;
    }
    return publish(ev1::kProviderStartFailed, json{{"provider_ref", ref},
                                                   {"provider_id", id},
                                                   {"host_id", deps_.host_id},
                                                   {"error", str_of(data, "error")},
                                                   {"link_name", link}});
  }
  if (type == ev::kProviderStopped) {
    return publish(ev1::kProviderStopped,
                   json{{"host_id", deps_.host_id},
                        {"provider_id", provider_id_of(key, link)},
                        {"annotations", data.value("annotations", json::object())},
                        {"reason", str_of(data, "reason")},
                        {"instance_id", str_of(data, "instance_id")},
                        {"public_key", key},
                        {"link_name", link}});
  }
  if (type == ev::kHealthCheckPassed || type == ev::kHealthCheckFailed ||
      type == ev::kHealthCheckStatus) {
    return publish(name,
                   json{{"host_id", deps_.host_id}, {"provider_id", provider_id_of(key, link)}});
  }
  if (type == ev::kHostStarted || type == ev::kHostStopped) {
    json d = data;
    d["host_id"] = deps_.host_id;
    return publish(name, d);
  }
  if (type == ev::kHostHeartbeat) return publish(ev1::kHostHeartbeat, inventory());
}

}  // namespace wc::host
