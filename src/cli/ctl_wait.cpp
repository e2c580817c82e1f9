#include "cli/ctl_wait.h"

#include "lattice/events.h"
#include "lattice/topics.h"
#include "rpc/messages.h"

namespace wc::cli {
namespace {

using json = nlohmann::json;
namespace ev = lattice::events;

std::string field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The event's short type name and data when it comes from `host`; empty name otherwise.
std::pair<std::string, json> from_host(const json& event, std::string_view host) {
  if (!event.is_object() || field(event, "source") != host) return {};
  auto data = event.find("data");
  if (data == event.end() || !data->is_object()) return {};
  return {std::string(ev::short_name(field(event, "type"))), *data};
}

Verdict succeeded(const json& event) { return {Verdict::Kind::kSucceeded, "", event}; }

Verdict failed(const json& event, const json& data, const char* key = "error") {
  std::string error = uninspect(field(data, key));
  if (error.empty()) error = "(the host gave no reason)";
  return {Verdict::Kind::kFailed, error, event};
}

}  // namespace

Result<std::unique_ptr<EventStream>> EventStream::open(lattice::Connection& nc,
                                                       std::string_view lattice_name) {
  std::unique_ptr<EventStream> s(new EventStream());
  EventStream* raw = s.get();
  auto sub = nc.subscribe(lattice::topics::events(lattice_name), [raw](lattice::Message m) {
    json j = json::parse(m.text(), nullptr, false);
    if (!j.is_object()) return;
    {
      std::lock_guard lock(raw->mu_);
      raw->queue_.push_back(std::move(j));
    }
    raw->cv_.notify_one();
  });
  if (!sub) return fail(sub.error());
  s->sub_ = std::move(*sub);
  if (auto st = nc.flush(std::chrono::seconds(5)); !st) return fail(st.error());
  return s;
}

std::optional<json> EventStream::next(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_until(lock, deadline, [this] { return !queue_.empty(); })) return std::nullopt;
  json j = std::move(queue_.front());
  queue_.pop_front();
  return j;
}

Verdict judge_start_actor(const json& event, std::string_view host, std::string_view ref) {
  auto [type, data] = from_host(event, host);
  if (type == "actors_started" && field(data, "image_ref") == ref) return succeeded(event);
  if (type == "actor_start_failed" && field(data, "actor_ref") == ref) return failed(event, data);
  if (type == "actors_start_failed" && field(data, "image_ref") == ref) return failed(event, data);
  return {};
}

Verdict judge_scale_up(const json& event, std::string_view host, std::string_view actor_id,
                       std::string_view ref) {
  auto [type, data] = from_host(event, host);
  if (type == "actors_started" &&
      (field(data, "public_key") == actor_id || field(data, "image_ref") == ref))
    return succeeded(event);
  if (type == "actor_start_failed" &&
      (field(data, "actor_ref") == ref || field(data, "actor_ref") == actor_id))
    return failed(event, data);
  if (type == "actors_start_failed" &&
      (field(data, "image_ref") == ref || field(data, "public_key") == actor_id))
    return failed(event, data);
  return {};
}

Verdict judge_actor_stopped(const json& event, std::string_view host, std::string_view actor_id) {
  auto [type, data] = from_host(event, host);
  if (type == "actor_stopped" && field(data, "public_key") == actor_id) return succeeded(event);
  return {};
}

Verdict judge_start_provider(const json& event, std::string_view host, std::string_view ref,
                             std::string_view link_name) {
  auto [type, data] = from_host(event, host);
  if (field(data, "link_name") != link_name) return {};
  if (type == "provider_started" && field(data, "image_ref") == ref) return succeeded(event);
  if (type == "provider_start_failed" && field(data, "provider_ref") == ref)
    return failed(event, data);
  return {};
}

Verdict judge_stop_provider(const json& event, std::string_view host, std::string_view provider_id,
                            std::string_view link_name) {
  auto [type, data] = from_host(event, host);
  if (type == "provider_stopped" && field(data, "public_key") == provider_id &&
      field(data, "link_name") == link_name)
    return succeeded(event);
  return {};
}

Verdict judge_update_actor(const json& event, std::string_view host, std::string_view actor_id) {
  auto [type, data] = from_host(event, host);
  if (field(data, "public_key") != actor_id) return {};
  if (type == "actor_updated") return succeeded(event);
  if (type == "actor_update_failed") return failed(event, data, "reason");
  return {};
}

Verdict judge_host_stopped(const json& event, std::string_view host) {
  auto [type, data] = from_host(event, host);
  if (type == "host_stopped") return succeeded(event);
  return {};
}

namespace {

/// The event's data when it is a linkdef event of `type` about `link` (same actor, contract,
/// link name, and provider when given); nullptr otherwise.
const json* linkdef_data(const json& event, std::string_view type, const LinkKey& link) {
  if (!event.is_object() || field(event, "type") != type) return nullptr;
  auto data = event.find("data");
  if (data == event.end() || !data->is_object()) return nullptr;
  if (field(*data, "actor_id") != link.actor_id ||
      field(*data, "contract_id") != link.contract_id ||
      field(*data, "link_name") != link.link_name)
    return nullptr;
  if (!link.provider_id.empty() && field(*data, "provider_id") != link.provider_id) return nullptr;
  return &*data;
}

}  // namespace

Verdict judge_linkdef_set(const json& event, const LinkKey& link) {
  const json* data = linkdef_data(event, ev::kLinkdefSet, link);
  if (data == nullptr) return {};
  // The event data is the wire layer's linkdef JSON (rpc/messages.h), read with its one codec.
  auto ld = rpc::linkdef_from_json(*data);
  if (!ld || ld->values != link.values) return {};  // malformed, or an older put of the link
  return succeeded(event);
}

Verdict judge_linkdef_deleted(const json& event, const LinkKey& link) {
  return linkdef_data(event, ev::kLinkdefDeleted, link) != nullptr ? succeeded(event) : Verdict{};
}

std::string uninspect(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::string(text);
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) {
      char c = text[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += text[i];
    }
  }
  return out;
}

Status check_public_key(std::string_view text, wascap::KeyType type, std::string_view what) {
  const char letter = wascap::key_letter(type);
  const std::string expected = std::string(" (") + std::string(wascap::key_type_name(type)) +
                               " nkey: 56 characters starting with " + letter + ")";
  if (text.empty()) return fail(Code::kInvalidArgument, std::string(what) + " is empty" + expected);
  auto decoded = wascap::decode_public_key(text);
  if (!decoded)
    return fail(Code::kInvalidArgument, "invalid " + std::string(what) + " '" + std::string(text) +
                                            "': " + decoded.error().message + expected);
  if (decoded->type != type)
    return fail(Code::kInvalidArgument,
                "invalid " + std::string(what) + " '" + std::string(text) + "': a " +
                    std::string(wascap::key_type_name(decoded->type)) + " key, not a " +
                    std::string(wascap::key_type_name(type)) + " key" + expected);
  return ok();
}

}  // namespace wc::cli
