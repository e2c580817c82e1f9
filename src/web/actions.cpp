// The dashboard's control actions (see actions.h).
#include "web/actions.h"

#include "common/encoding.h"
#include "oci/client.h"
#include "oci/reference.h"
#include "wascap/jwt.h"
#include "web/messages.h"

namespace wc::web {

using nlohmann::json;

Reply accepted(json details) {
  details["accepted"] = true;
  details["error"] = "";
  return {200, std::move(details)};
}

Reply refused(int status, std::string message) {
  return {status, json{{"accepted", false}, {"error", std::move(message)}}};
}

Reply lattice_failure(const Error& e, std::string_view no_responders, std::string_view timeout) {
  if (e.code == Code::kUnavailable) return refused(502, std::string(no_responders));
  if (e.code == Code::kDeadlineExceeded) return refused(502, std::string(timeout));
  return refused(502, e.message);
}

Result<lattice::CtlAck> command(lattice::CtlClient& client, const CtlRequest& r) {
  auto reply = client.request(r.operation, r.body);
  if (!reply) return fail(reply.error());
  return lattice::parse_ack(*reply);
}

bool is_loopback_registry(std::string_view registry) {
  auto host =
      registry.substr(0, registry.rfind(':') == std::string_view::npos || registry.starts_with("[")
                             ? registry.find(']') + 1
                             : registry.rfind(':'));
  if (host.empty()) host = registry;
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

std::vector<std::string> insecure_registries(const std::string& registry,
                                             const std::vector<std::string>& allowed_insecure,
                                             std::string_view reference) {
  std::vector<std::string> out = allowed_insecure;
  if (is_loopback_registry(registry)) out.push_back(registry);
  if (auto r = oci::parse_reference(reference, true); r && is_loopback_registry(r->registry))
    out.push_back(r->registry);
  return out;
}

Actions::Actions(lattice::CtlClient& ctl, LatticeState& state, HotReloadWatcher& watcher,
                 std::string registry, std::vector<std::string> allowed_insecure)
    : ctl_(ctl),
      state_(state),
      watcher_(watcher),
      registry_(std::move(registry)),
      allowed_insecure_(std::move(allowed_insecure)) {}

std::vector<std::string> Actions::insecure_for(std::string_view reference) const {
  return insecure_registries(registry_, allowed_insecure_, reference);
}

Result<wascap::ModuleClaims> Actions::claims_for(const std::string& ref) {
  Bytes bytes;
  if (ref.starts_with("file://")) {
    auto b = read_file(ref.substr(7));
    if (!b) return fail(b.error());
    bytes = std::move(*b);
  } else {
    oci::PullOptions o;
    o.allow_latest = true;  // the host decides whether :latest may run
    o.allowed_insecure = insecure_for(ref);
    o.cache = oci::CachePolicy::kNone;
    auto r = oci::pull(ref, o);
    if (!r)
      return fail(r.error().code,
                  std::string(messages::kRegistryPullFailedPrefix) + r.error().message);
    bytes = std::move(r->bytes);
  }
  auto mc = wascap::extract_claims(bytes, wascap::now_seconds());
  if (!mc)
    return fail(Code::kPermissionDenied,
                std::string(messages::kClaimsRefusedPrefix) + mc.error().message);
  return mc;
}

Result<std::string> Actions::auction_host(const CtlRequest& auction,
                                          std::string_view no_responders) {
  auto reply = ctl_.request(auction.operation, auction.body);
  if (!reply) {
    if (reply.error().code == Code::kUnavailable)
      return fail(Code::kUnavailable, std::string(no_responders));
    if (reply.error().code == Code::kDeadlineExceeded)
      return fail(Code::kDeadlineExceeded, std::string(messages::kAuctionTimedOut));
    return fail(reply.error());
  }
  if (!reply->is_object() || !reply->contains("host_id") || !(*reply)["host_id"].is_string() ||
      (*reply)["host_id"].get<std::string>().empty())
    return fail(Code::kInvalidArgument, std::string(messages::kAuctionNoHostId));
  return (*reply)["host_id"].get<std::string>();
}

Reply Actions::start_actor(const StartActorForm& f, std::string actor_id) {
  if (actor_id.empty()) {
    if (auto known = state_.actor_for_ref(f.actor_ref)) {
      actor_id = *known;
    } else {
      auto mc = claims_for(f.actor_ref);
      if (!mc) return refused(502, mc.error().message);
      actor_id = mc->claims.sub;
      state_.remember_actor(f.actor_ref, actor_id, mc->claims.name.value_or(""),
                            wascap::effective_revision(mc->claims));
    }
  }
  std::string host = f.host_id;
  if (host.empty()) {
    auto h = auction_host(actor_auction_request(f.actor_ref), messages::kNoRespondersActorAuction);
    if (!h) return refused(502, h.error().message);
    host = *h;
  }
  auto ack = command(ctl_, scale_request(host, actor_id, f.actor_ref, f.count));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersActorStart,
                           messages::kActorStartTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(json{
      {"host_id", host}, {"actor_id", actor_id}, {"actor_ref", f.actor_ref}, {"count", f.count}});
}

Reply Actions::hot_reload(const HotReloadForm& f) {
  const std::string ref = "file://" + f.path;
  auto bytes = read_file(f.path);
  if (!bytes)
    return refused(400, std::string(messages::kUnableToStartActorPrefix) + bytes.error().message);
  auto mc = wascap::extract_claims(*bytes, wascap::now_seconds());
  if (!mc)
    return refused(400, std::string(messages::kUnableToStartActorPrefix) +
                            std::string(messages::kClaimsRefusedPrefix) + mc.error().message);
  const auto& c = mc->claims;
  state_.remember_actor(ref, c.sub, c.name.value_or(""), wascap::effective_revision(c));
  auto ack = command(ctl_, scale_request(f.host_id, c.sub, ref, f.count));
  if (!ack) {
    auto r = lattice_failure(ack.error(), messages::kNoRespondersActorStart,
                             messages::kActorStartTimedOut);
    r.body["error"] =
        std::string(messages::kUnableToStartActorPrefix) + r.body["error"].get<std::string>();
    return r;
  }
  if (!ack->accepted)
    return refused(502, std::string(messages::kUnableToStartActorPrefix) + ack->error);
  watcher_.watch(f.path, f.host_id, c.sub, f.count, hex_lower(sha256(*bytes)));
  return accepted(json{{"host_id", f.host_id},
                       {"actor_id", c.sub},
                       {"actor_ref", ref},
                       {"count", f.count},
                       {"watching", f.path}});
}

Reply Actions::stop_watch(const json& body) {
  std::string path = body.is_object() && body.contains("path") && body["path"].is_string()
                         ? body["path"].get<std::string>()
                         : "";
  if (!watcher_.unwatch(path)) return refused(400, std::string(messages::kNotWatched));
  return accepted(json{{"path", path}});
}

Reply Actions::scale(const ScaleForm& f) {
  std::string ref = f.actor_ref.empty() ? state_.actor_ref_on(f.host_id, f.actor_id) : f.actor_ref;
  auto ack = command(ctl_, scale_request(f.host_id, f.actor_id, ref, f.count));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersScale, messages::kRequestTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(json{
      {"host_id", f.host_id}, {"actor_id", f.actor_id}, {"actor_ref", ref}, {"count", f.count}});
}

Reply Actions::start_provider(const StartProviderForm& f) {
  std::string host = f.host_id;
  if (host.empty()) {
    auto h = auction_host(provider_auction_request(f.provider_ref, f.link_name),
                          messages::kNoRespondersProviderAuction);
    if (!h) return refused(502, h.error().message);
    host = *h;
  }
  auto ack =
      command(ctl_, launch_provider_request(host, f.provider_ref, f.link_name, f.configuration));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersProviderStart,
                           messages::kProviderStartTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(
      json{{"host_id", host}, {"provider_ref", f.provider_ref}, {"link_name", f.link_name}});
}

Reply Actions::stop_provider(const StopProviderForm& f) {
  auto ack = command(ctl_, stop_provider_request(f.host_id, f.provider_id, f.link_name));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersStopProvider,
                           messages::kRequestTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(json{{"host_id", f.host_id}, {"provider_id", f.provider_id}});
}

Reply Actions::put_link(const LinkForm& f) {
  auto ack = command(
      ctl_, put_link_request(f.actor_id, f.provider_id, f.contract_id, f.link_name, f.values));
  if (!ack) {
    auto detail = ack.error().code == Code::kUnavailable ? std::string(messages::kNoRespondersLink)
                                                         : ack.error().message;
    return refused(502, std::string(messages::kErrorPublishingLink) + ": " + detail);
  }
  if (!ack->accepted)
    return refused(502, std::string(messages::kErrorPublishingLink) + ": " + ack->error);
  return accepted(json{{"actor_id", f.actor_id},
                       {"provider_id", f.provider_id},
                       {"contract_id", f.contract_id},
                       {"link_name", f.link_name},
                       {"values", f.values}});
}

Reply Actions::delete_link(const LinkForm& f) {
  auto ack = command(ctl_, delete_link_request(f.actor_id, f.contract_id, f.link_name));
  if (!ack)
    return lattice_failure(ack.error(), messages::kNoRespondersLink, messages::kRequestTimedOut);
  if (!ack->accepted) return refused(502, ack->error);
  return accepted(
      json{{"actor_id", f.actor_id}, {"contract_id", f.contract_id}, {"link_name", f.link_name}});
}

}  // namespace wc::web
