#include "host/policy.h"

#include <chrono>

#include "common/json.h"
#include "host/errors.h"
#include "host/host_call_waits.h"
#include "lattice/cloudevent.h"

namespace wc::host {

using nlohmann::json;

PolicyManager::PolicyManager(std::string topic, std::chrono::milliseconds timeout, json host,
                             PolicyRequester requester)
    : topic_(std::move(topic)),
      timeout_(timeout),
      host_(std::move(host)),
      requester_(std::move(requester)) {}

json PolicyManager::default_source() {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return json{{"publicKey", ""},       {"contractId", ""},
              {"linkName", ""},        {"capabilities", json::array()},
              {"issuer", ""},          {"issuedOn", ""},
              {"expiresAt", now + 60}, {"expired", false}};
}

PolicyDecision PolicyManager::evaluate(const std::string& action, const json& source,
                                       const json& target) {
  if (!enabled()) return PolicyDecision{true, std::string(errors::kPolicyDisabled), ""};
  std::string key = json{source, target, action}.dump();
  {
    MutexLock lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  std::string id = lattice::uuid_v4();
  json req{{"requestId", id},
           {"source", source},
           {"target", target},
           {"action", action},
           {"host", host_}};
  note_host_call_wait();  // an inline run that asks the service is never counted as fast
  auto reply = requester_(topic_, req.dump(), timeout_);
  if (!reply) {
    if (reply.error().code == Code::kDeadlineExceeded)
      return PolicyDecision{false, std::string(errors::kPolicyTimedOut), id};
    return PolicyDecision{false, std::string(errors::kPolicyNoResponders), id};
  }
  json r = json::parse(*reply, nullptr, false);
  // A reply without a boolean `permitted` is a decode failure (8.3 recommendation): denied and
  // not cached. Every other field may be null, absent or of another type (the wasmCloud example
  // policy service answers `"message": null`): `message` is then "", `requestId` the one sent.
  auto permitted = r.is_object() ? r.find("permitted") : r.end();
  if (r.is_discarded() || !r.is_object() || permitted == r.end() || !permitted->is_boolean())
    return PolicyDecision{false, std::string(errors::kPolicyDecodeFailed), id};
  PolicyDecision d;
  d.permitted = permitted->get<bool>();
  d.message = json_string(r, "message", "");
  d.request_id = json_string(r, "requestId", id);
  MutexLock lock(mu_);
  cache_[key] = d;
  // Overrides name the id this host generated for the request (the reference keys its table by
  // it); a service that answers with its own requestId may use that one as well.
  request_to_key_[id] = key;
  request_to_key_[d.request_id] = key;
  return d;
}

std::string PolicyManager::apply_change(std::string_view body) {
  json r = json::parse(body, nullptr, false);
  // `request_id` and a boolean `permitted` are required; `message` may be null or absent ("").
  if (r.is_discarded() || !r.is_object() || !r.contains("request_id") ||
      !r["request_id"].is_string() || !r.contains("permitted") || !r["permitted"].is_boolean())
    return R"({"success":false})";
  MutexLock lock(mu_);
  auto it = request_to_key_.find(r["request_id"].get<std::string>());
  if (it != request_to_key_.end()) {
    auto& d = cache_[it->second];
    d.permitted = r["permitted"].get<bool>();
    d.message = json_string(r, "message", "");
  }
  return R"({"success":true})";
}

}  // namespace wc::host
