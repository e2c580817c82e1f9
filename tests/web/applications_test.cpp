// The Applications view (web/applications.h): wadm API replies in, view JSON out; deploy /
// undeploy requests on the wire; and the "managed by wadm" marks LatticeState takes from the
// annotations of inventories and events. The request function is a recording fake (a unit test
// of one component); tests/ui/dashboard.test.mjs drives the same view against a real wadm.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "web/applications.h"
#include "web/messages.h"
#include "web/state.h"

namespace wc::web {
namespace {

using nlohmann::json;

constexpr const char* kHost = "NHOSTAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kActor = "MACTORAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kProv = "VPROVAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

json managed(const std::string& app) {
  return json{{"wasmcloud.dev/managed-by", "wadm"}, {"wasmcloud.dev/appspec", app}};
}

const json kList = json::array({json{{"name", "echo-app"},
                                     {"version", "v2"},
                                     {"description", nullptr},
                                     {"deployed_version", "v1"},
                                     {"status", "reconciling"},
                                     {"status_message", nullptr}},
                                json{{"name", "idle"},
                                     {"version", "v1"},
                                     {"deployed_version", nullptr},
                                     {"status", "undeployed"},
                                     {"status_message", nullptr}}});
const json kStatus = {
    {"result", "ok"},
    {"status",
     {{"version", "v1"},
      {"status", {{"type", "deployed"}, {"message", "all good"}}},
      {"components",
       json::array({json{{"name", "echo"},
                         {"type", "actor"},
                         {"status", {{"type", "deployed"}}},
                         {"traits", json::array()}},
                    json{{"name", "httpserver"},
                         {"type", "capability"},
                         {"status", {{"type", "failed"}, {"message", "no host"}}}}})}}}};

TEST(WadmAppOf, OnlyManagedByWadmNamesTheApp) {
  EXPECT_EQ(wadm_app_of(managed("shop")), "shop");
  EXPECT_EQ(wadm_app_of(json{{"wasmcloud.dev/managed-by", "wadm"}}), "?");
  EXPECT_EQ(
      wadm_app_of(json{{"wasmcloud.dev/managed-by", "someone"}, {"wasmcloud.dev/appspec", "shop"}}),
      "");
  EXPECT_EQ(wadm_app_of(json{{"wasmcloud.dev/appspec", "shop"}}), "");
  EXPECT_EQ(wadm_app_of(json::object()), "");
  EXPECT_EQ(wadm_app_of(json("wadm")), "");
  EXPECT_EQ(wadm_app_of(json{{"wasmcloud.dev/managed-by", 7}}), "");
}

TEST(ApplicationsView, ListAndStatusMerged) {
  auto v = applications_view(kList, {{"echo-app", kStatus}});
  EXPECT_EQ(v["available"], true);
  EXPECT_EQ(v["message"], "");
  ASSERT_EQ(v["apps"].size(), 2u);
  const json& a = v["apps"][0];
  EXPECT_EQ(a["name"], "echo-app");
  EXPECT_EQ(a["latest_version"], "v2");
  EXPECT_EQ(a["deployed_version"], "v1");
  EXPECT_EQ(a["status"], "deployed");  // the status reply is newer than the list's
  EXPECT_EQ(a["status_message"], "all good");
  ASSERT_EQ(a["components"].size(), 2u);
  EXPECT_EQ(
      a["components"][0],
      (json{{"name", "echo"}, {"type", "actor"}, {"status", "deployed"}, {"status_message", ""}}));
  EXPECT_EQ(a["components"][1]["status"], "failed");
  EXPECT_EQ(a["components"][1]["status_message"], "no host");
  const json& b = v["apps"][1];
  EXPECT_EQ(b["deployed_version"], "");  // null → ""
  EXPECT_EQ(b["status"], "undeployed");
  EXPECT_TRUE(b["components"].empty());  // no status reply for it
}

TEST(ApplicationsView, MalformedRepliesGiveAMessageNotACrash) {
  auto err = applications_view(json{{"result", "error"}, {"message", "storage down"}}, {});
  EXPECT_EQ(err["available"], true);
  EXPECT_EQ(err["message"], "storage down");
  EXPECT_TRUE(err["apps"].empty());
  for (const json& bad : {json(), json(42), json("x"), json::object()}) {
    auto v = applications_view(bad, {});
    EXPECT_EQ(v["message"], messages::kWadmBadReply) << bad.dump();
    EXPECT_TRUE(v["apps"].empty());
  }
  // Entries without a name are skipped; odd status replies leave the list's status.
  auto v = applications_view(
      json::array({json(1), json{{"version", "v1"}}, json{{"name", "a"}, {"status", "deployed"}}}),
      {{"a", json{{"status", "nonsense"}}}});
  ASSERT_EQ(v["apps"].size(), 1u);
  EXPECT_EQ(v["apps"][0]["status"], "deployed");
  EXPECT_TRUE(v["apps"][0]["components"].empty());
  // Long texts are capped as everything else from the lattice.
  auto big = applications_view(json::array({json{{"name", std::string(10000, 'n')}}}), {});
  EXPECT_LE(big["apps"][0]["name"].get<std::string>().size(), kMaxLatticeText + 3);
}

TEST(ValidAppName, SubjectTokensOnly) {
  EXPECT_TRUE(valid_app_name("echo-app_1"));
  for (const char* bad : {"", "a.b", "a*", "a>", "a b", "a\tb"}) EXPECT_FALSE(valid_app_name(bad));
  EXPECT_FALSE(valid_app_name(std::string(256, 'a')));
}

/// Records each request and answers from a table keyed by subject (absent: no responders).
struct FakeWadm {
  std::map<std::string, std::string> answers;
  std::vector<std::pair<std::string, std::string>> seen;
  Applications::Request fn() {
    return [this](const std::string& subject, const std::string& body) -> Result<std::string> {
      seen.emplace_back(subject, body);
      auto it = answers.find(subject);
      if (it == answers.end()) return fail(Code::kUnavailable, "no responders");
      return it->second;
    };
  }
};

TEST(Applications, NoWadmSaysSoPlainly) {
  FakeWadm w;
  Applications apps("lat", w.fn());
  EXPECT_EQ(apps.snapshot()["message"], messages::kWadmNotAskedYet);
  EXPECT_TRUE(apps.refresh());
  auto v = apps.snapshot();
  EXPECT_EQ(v["available"], false);
  EXPECT_EQ(v["message"], messages::kNoWadm);
  EXPECT_TRUE(v["apps"].empty());
  ASSERT_EQ(w.seen.size(), 1u);  // one request per refresh, not one per application
  EXPECT_EQ(w.seen[0].first, "wadm.api.lat.model.list");
  EXPECT_FALSE(apps.refresh());  // unchanged: no state push
}

TEST(Applications, RefreshAsksListThenEachStatus) {
  FakeWadm w;
  w.answers["wadm.api.lat.model.list"] = kList.dump();
  w.answers["wadm.api.lat.model.status.echo-app"] = kStatus.dump();
  w.answers["wadm.api.lat.model.status.idle"] = "not json";
  Applications apps("lat", w.fn());
  EXPECT_TRUE(apps.refresh());
  ASSERT_EQ(w.seen.size(), 3u);
  EXPECT_EQ(w.seen[1].first, "wadm.api.lat.model.status.echo-app");
  EXPECT_EQ(w.seen[2].first, "wadm.api.lat.model.status.idle");
  auto v = apps.snapshot();
  EXPECT_EQ(v["available"], true);
  EXPECT_EQ(v["apps"][0]["status"], "deployed");
  EXPECT_EQ(v["apps"][1]["status"], "undeployed");
}

TEST(Applications, DeployAndUndeployRequests) {
  FakeWadm w;
  w.answers["wadm.api.lat.model.deploy.shop"] =
      json{{"result", "acknowledged"}, {"message", "Successfully deployed model shop v1"}}.dump();
  w.answers["wadm.api.lat.model.undeploy.shop"] = json{{"result", "acknowledged"}}.dump();
  w.answers["wadm.api.lat.model.deploy.gone"] =
      json{{"result", "notfound"}, {"message", "Model gone doesn't exist"}}.dump();
  Applications apps("lat", w.fn());

  auto r = apps.deploy(json{{"name", "shop"}, {"version", "v1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["accepted"], true);
  ASSERT_FALSE(w.seen.empty());
  EXPECT_EQ(w.seen[0].first, "wadm.api.lat.model.deploy.shop");
  EXPECT_EQ(json::parse(w.seen[0].second), (json{{"version", "v1"}}));

  w.seen.clear();
  EXPECT_EQ(apps.deploy(json{{"name", "shop"}}).status, 200);
  EXPECT_EQ(json::parse(w.seen[0].second), json::object());  // no version: the latest

  w.seen.clear();
  EXPECT_EQ(apps.undeploy(json{{"name", "shop"}}).status, 200);
  EXPECT_EQ(w.seen[0].first, "wadm.api.lat.model.undeploy.shop");
  EXPECT_EQ(json::parse(w.seen[0].second), (json{{"non_destructive", false}}));

  auto nf = apps.deploy(json{{"name", "gone"}});
  EXPECT_EQ(nf.status, 502);
  EXPECT_EQ(nf.body["error"], "Model gone doesn't exist");

  auto none = apps.undeploy(json{{"name", "other"}});  // nobody answers
  EXPECT_EQ(none.status, 502);
  EXPECT_EQ(none.body["error"], messages::kNoWadm);

  w.seen.clear();
  for (const json& bad :
       {json::object(), json{{"name", "a.b"}}, json{{"name", 5}}, json{{"name", "wadm.api.>"}}}) {
    auto b = apps.deploy(bad);
    EXPECT_EQ(b.status, 400) << bad.dump();
    EXPECT_EQ(b.body["error"], messages::kBadAppName);
  }
  EXPECT_TRUE(w.seen.empty());  // nothing sent for a bad name
}

// --- LatticeState: the annotations reach the snapshot ----------------------------------------

TEST(StateManagedBy, InventoryAnnotationsMarkActorsAndProviders) {
  LatticeState s("default");
  s.apply_inventory(json{
      {"host_id", kHost},
      {"actors",
       json::array({json{{"id", kActor},
                         {"image_ref", "r/echo:1"},
                         {"instances", json::array({json{{"annotations", json::object()}},
                                                    json{{"annotations", managed("shop")}}})}}})},
      {"providers", json::array({json{{"id", kProv},
                                      {"link_name", "default"},
                                      {"contract_id", "wasmcloud:httpserver"},
                                      {"annotations", managed("shop")}}})}});
  auto j = s.snapshot();
  ASSERT_EQ(j["actors"].size(), 1u);
  EXPECT_EQ(j["actors"][0]["managed_by"], "wadm");
  EXPECT_EQ(j["actors"][0]["app"], "shop");
  ASSERT_EQ(j["providers"].size(), 1u);
  EXPECT_EQ(j["providers"][0]["managed_by"], "wadm");
  EXPECT_EQ(j["providers"][0]["app"], "shop");

  // A heartbeat keeps the marks; an inventory without them clears them.
  auto hb = json{{"specversion", "1.0"},
                 {"type", "com.wasmcloud.lattice.host_heartbeat"},
                 {"source", kHost},
                 {"data",
                  {{"actors", {{kActor, 2}}},
                   {"providers", json::array({json{{"public_key", kProv},
                                                   {"link_name", "default"},
                                                   {"contract_id", "wasmcloud:httpserver"}}})}}}};
  s.apply_event(hb);
  j = s.snapshot();
  EXPECT_EQ(j["actors"][0]["app"], "shop");
  EXPECT_EQ(j["providers"][0]["app"], "shop");
  s.apply_inventory(json{
      {"host_id", kHost},
      {"actors",
       json::array({json{{"id", kActor}, {"instances", json::array({json{{"annotations", 5}}})}}})},
      {"providers", json::array({json{{"id", kProv}, {"link_name", "default"}}})}});
  j = s.snapshot();
  EXPECT_EQ(j["actors"][0]["managed_by"], "");
  EXPECT_EQ(j["actors"][0]["app"], "");
  EXPECT_EQ(j["providers"][0]["managed_by"], "");
}

TEST(StateManagedBy, StartedEventsCarryTheMark) {
  LatticeState s("default");
  auto ev = [](const std::string& type, json data) {
    return json{{"specversion", "1.0"},
                {"type", "com.wasmcloud.lattice." + type},
                {"source", kHost},
                {"data", std::move(data)}};
  };
  s.apply_event(ev(
      "actor_started",
      json{{"public_key", kActor}, {"image_ref", "r/echo:1"}, {"annotations", managed("shop")}}));
  s.apply_event(
      ev("provider_started",
         json{{"public_key", kProv}, {"link_name", "default"}, {"annotations", managed("shop")}}));
  auto j = s.snapshot();
  EXPECT_EQ(j["actors"][0]["app"], "shop");
  EXPECT_EQ(j["providers"][0]["app"], "shop");
  const auto v = s.version();
  s.mark_changed();
  EXPECT_GT(s.version(), v);
}

}  // namespace
}  // namespace wc::web
