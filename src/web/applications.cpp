// The Applications view and actions (see applications.h).
#include "web/applications.h"

#include "common/json.h"
#include "lattice/topics.h"
#include "web/messages.h"
#include "web/state.h"

namespace wc::web {
namespace {

using nlohmann::json;

/// A JSON value as display text: strings as they are, null/absent as "", others dumped.
std::string text_of(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

/// `j[key]`, or a null value when `j` is not an object or has no such member.
const json& member(const json& j, std::string_view key) {
  static const json kNull;
  const json* m = json_member(j, key);
  return m ? *m : kNull;
}

/// `{type, message}` of a wadm status object (`status.status` or a component's `status`).
std::pair<std::string, std::string> status_pair(const json& s) {
  if (s.is_string()) return {s.get<std::string>(), ""};
  return {text_of(s, "type"), text_of(s, "message")};
}

}  // namespace

std::string wadm_app_of(const json& annotations) {
  if (!annotations.is_object()) return "";
  if (text_of(annotations, std::string(kManagedByAnnotation).c_str()) != kManagedByWadm) return "";
  std::string app = text_of(annotations, std::string(kAppSpecAnnotation).c_str());
  return app.empty() ? "?" : app;
}

json applications_view(const json& raw_list, const std::map<std::string, json>& statuses) {
  const json list = cap_texts(raw_list);
  if (!list.is_array()) {
    std::string msg = list.is_object() ? text_of(list, "message") : "";
    return {{"available", true},
            {"message", msg.empty() ? std::string(messages::kWadmBadReply) : msg},
            {"apps", json::array()}};
  }
  json apps = json::array();
  for (const auto& m : list) {
    const std::string name = text_of(m, "name");
    if (name.empty()) continue;
    json app{{"name", name},
             {"latest_version", text_of(m, "version")},
             {"deployed_version", text_of(m, "deployed_version")},
             {"status", text_of(m, "status")},
             {"status_message", text_of(m, "status_message")},
             {"components", json::array()}};
    if (auto it = statuses.find(name); it != statuses.end()) {
      const json st = cap_texts(it->second);
      const json& inner = member(st, "status");
      if (inner.is_object()) {
        if (auto [type, message] = status_pair(member(inner, "status")); !type.empty()) {
          app["status"] = type;
          app["status_message"] = message;
        }
        const json& comps = member(inner, "components");
        if (comps.is_array()) {
          for (const auto& c : comps) {
            auto [type, message] = status_pair(member(c, "status"));
            app["components"].push_back({{"name", text_of(c, "name")},
                                         {"type", text_of(c, "type")},
                                         {"status", type},
                                         {"status_message", message}});
          }
        }
      }
    }
    apps.push_back(std::move(app));
  }
  return {{"available", true}, {"message", ""}, {"apps", std::move(apps)}};
}

json applications_unavailable(std::string_view message) {
  return {{"available", false}, {"message", std::string(message)}, {"apps", json::array()}};
}

bool valid_app_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (unsigned char c : name)
    if (c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f) return false;
  return true;
}

Applications::Applications(std::string lattice, Request request)
    : lattice_(std::move(lattice)),
      request_(std::move(request)),
      view_(applications_unavailable(messages::kWadmNotAskedYet)) {}

bool Applications::refresh() {
  namespace topics = lattice::topics;
  json view;
  auto list_text = request_(topics::wadm_api(lattice_, "list"), "");
  if (!list_text) {
    view = applications_unavailable(list_text.error().code == Code::kUnavailable ||
                                            list_text.error().code == Code::kDeadlineExceeded
                                        ? messages::kNoWadm
                                        : std::string_view(list_text.error().message));
  } else {
    json list = json::parse(*list_text, nullptr, false);
    std::map<std::string, json> statuses;
    if (list.is_array()) {
      for (const auto& m : list) {
        const std::string name = text_of(m, "name");
        if (!valid_app_name(name)) continue;
        if (auto st = request_(topics::wadm_api(lattice_, "status", name), ""); st)
          statuses[name] = json::parse(*st, nullptr, false);
      }
    }
    view = applications_view(list.is_discarded() ? json() : list, statuses);
  }
  std::lock_guard lock(mu_);
  if (view == view_) return false;
  view_ = std::move(view);
  return true;
}

json Applications::snapshot() const {
  std::lock_guard lock(mu_);
  return view_;
}

Reply Applications::send(std::string_view op, const std::string& name, const json& body) {
  auto reply = request_(lattice::topics::wadm_api(lattice_, op, name), body.dump());
  if (!reply) return lattice_failure(reply.error(), messages::kNoWadm, messages::kNoWadm);
  const json r = cap_texts(json::parse(*reply, nullptr, false));
  if (text_of(r, "result") != "acknowledged") {
    std::string msg = text_of(r, "message");
    return refused(502, msg.empty() ? std::string(messages::kWadmBadReply) : msg);
  }
  refresh();
  return accepted({{"name", name}, {"message", text_of(r, "message")}});
}

Reply Applications::deploy(const json& body) {
  const std::string name = json_string(body, "name");
  if (!valid_app_name(name)) return refused(400, std::string(messages::kBadAppName));
  json req = json::object();
  if (const std::string v = json_string(body, "version"); !v.empty()) req["version"] = v;
  return send("deploy", name, req);
}

Reply Applications::undeploy(const json& body) {
  const std::string name = json_string(body, "name");
  if (!valid_app_name(name)) return refused(400, std::string(messages::kBadAppName));
  return send("undeploy", name, json{{"non_destructive", false}});
}

}  // namespace wc::web
