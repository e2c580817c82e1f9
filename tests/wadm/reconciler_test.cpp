// Unit tests of the reconciler's planning (src/wadm/reconciler.h: plan_app, plan_cleanup) on
// lattice snapshots built by hand: what it starts, stops, updates and links, that it never
// touches what it does not manage, and its status per component.
#include "wadm/reconciler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wc::wadm {
namespace {

using Kind = Command::Kind;

const std::string kEchoImage = "127.0.0.1:5000/echo:0.1.0";
const std::string kHttpImage = "127.0.0.1:5000/httpserver:0.1.0";

Manifest simple(int replicas = 4) {
  const std::string yaml = R"(apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: app
  annotations:
    version: v1
spec:
  components:
    - name: echo
      type: actor
      properties:
        image: 127.0.0.1:5000/echo:0.1.0
      traits:
        - type: spreadscaler
          properties:
            replicas: )" + std::to_string(replicas) +
                           R"(
        - type: linkdef
          properties:
            target: httpserver
            values:
              port: "8080"
    - name: httpserver
      type: capability
      properties:
        image: 127.0.0.1:5000/httpserver:0.1.0
        contract: wasmcloud:httpserver
      traits:
        - type: spreadscaler
          properties:
            replicas: 1
)";
  auto m = parse_manifest(yaml);
  EXPECT_TRUE(m.has_value()) << m.error().message;
  return *m;
}

LatticeSnapshot two_hosts() {
  LatticeSnapshot s;
  s.hosts.push_back({"NA", {{"region", "east"}}, {}, {}});
  s.hosts.push_back({"NB", {{"region", "moon"}}, {}, {}});
  return s;
}

std::vector<const Command*> of_kind(const AppPlan& p, Kind k) {
  std::vector<const Command*> out;
  for (const auto& c : p.commands)
    if (c.kind == k) out.push_back(&c);
  return out;
}

TEST(PlanApp, FreshDeployStartsActorsAndProviderWithManagedAnnotations) {
  AppPlan p = plan_app("app", simple(), two_hosts());
  EXPECT_FALSE(p.converged);
  EXPECT_TRUE(p.error.empty());
  auto starts = of_kind(p, Kind::kStartActor);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0]->host_id, "NA");
  EXPECT_EQ(starts[0]->count, 2);
  EXPECT_EQ(starts[1]->host_id, "NB");
  EXPECT_EQ(starts[1]->count, 2);
  EXPECT_EQ(starts[0]->image_ref, kEchoImage);
  EXPECT_EQ(starts[0]->annotations, managed_annotations("app"));
  auto lp = of_kind(p, Kind::kStartProvider);
  ASSERT_EQ(lp.size(), 1u);
  EXPECT_EQ(lp[0]->host_id, "NA");
  EXPECT_EQ(lp[0]->link_name, "default");
  EXPECT_EQ(lp[0]->annotations.at("wasmcloud.dev/appspec"), "app");
  EXPECT_TRUE(of_kind(p, Kind::kPutLink).empty()) << "no link before both ends run";
  ASSERT_EQ(p.components.size(), 2u);
  EXPECT_EQ(p.components[0].status, "reconciling");
  EXPECT_EQ(p.components[0].traits[1].second, "reconciling");  // the link waits
}

LatticeSnapshot converged() {
  LatticeSnapshot s = two_hosts();
  s.hosts[0].actors.push_back({"MECHO", kEchoImage, managed_annotations("app"), 2});
  s.hosts[1].actors.push_back({"MECHO", kEchoImage, managed_annotations("app"), 2});
  s.hosts[0].providers.push_back(
      {"VHTTP", kHttpImage, "default", "wasmcloud:httpserver", managed_annotations("app")});
  s.links.push_back({"MECHO", "VHTTP", "wasmcloud:httpserver", "default", {{"port", "8080"}}});
  return s;
}

TEST(PlanApp, ConvergedLatticeNeedsNoCommand) {
  AppPlan p = plan_app("app", simple(), converged());
  EXPECT_TRUE(p.commands.empty()) << p.commands.front().describe();
  EXPECT_TRUE(p.converged);
  EXPECT_EQ(p.components[0].status, "deployed");
  EXPECT_EQ(p.components[1].status, "deployed");
}

TEST(PlanApp, LinksArePutWhenMissingOrDifferent) {
  LatticeSnapshot s = converged();
  s.links.clear();
  AppPlan p = plan_app("app", simple(), s);
  auto put = of_kind(p, Kind::kPutLink);
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0]->actor_id, "MECHO");
  EXPECT_EQ(put[0]->provider_id, "VHTTP");
  EXPECT_EQ(put[0]->contract_id, "wasmcloud:httpserver");
  EXPECT_EQ(put[0]->values.at("port"), "8080");
  s = converged();
  s.links[0].values["port"] = "9999";
  EXPECT_EQ(of_kind(plan_app("app", simple(), s), Kind::kPutLink).size(), 1u);
}

TEST(PlanApp, UnmanagedInstancesAreNeitherCountedNorStopped) {
  LatticeSnapshot s = converged();
  s.hosts[0].actors.push_back({"MECHO", kEchoImage, {}, 5});  // by hand
  s.hosts[1].actors.push_back(
      {"MECHO", kEchoImage, managed_annotations("other"), 3});  // another app
  AppPlan p = plan_app("app", simple(), s);
  EXPECT_TRUE(p.commands.empty()) << p.commands.front().describe();
  // Fewer wanted: only managed instances are stopped, filtered by the app's annotations.
  p = plan_app("app", simple(2), s);
  auto stops = of_kind(p, Kind::kStopActor);
  ASSERT_EQ(stops.size(), 2u);
  for (const auto* c : stops) {
    EXPECT_EQ(c->count, 1);
    EXPECT_EQ(c->annotations, managed_annotations("app"));
  }
}

TEST(PlanApp, UnsatisfiableSpreadIsAnErrorNamingTheRequirementAndSendsNothingForIt) {
  Manifest m = simple();
  m.components[0].traits[0].scaler.spread = {{"mars", {{"region", "mars"}}, 100}};
  AppPlan p = plan_app("app", m, converged());
  EXPECT_FALSE(p.converged);
  EXPECT_NE(p.error.find("spread 'mars' cannot be placed: no host has label region=mars"),
            std::string::npos)
      << p.error;
  EXPECT_EQ(p.components[0].status, "failed");
  EXPECT_EQ(p.components[0].traits[0].second, "failed");
  EXPECT_TRUE(of_kind(p, Kind::kStopActor).empty());
  EXPECT_TRUE(of_kind(p, Kind::kStartActor).empty());
}

TEST(PlanApp, AnotherTagOfTheSameImageIsUpdated) {
  LatticeSnapshot s = converged();
  s.hosts[0].actors[0].image_ref = "127.0.0.1:5000/echo:0.0.9";
  AppPlan p = plan_app("app", simple(), s);
  auto upd = of_kind(p, Kind::kUpdateActor);
  ASSERT_EQ(upd.size(), 1u);
  EXPECT_EQ(upd[0]->host_id, "NA");
  EXPECT_EQ(upd[0]->image_ref, kEchoImage);
  EXPECT_TRUE(of_kind(p, Kind::kStartActor).empty()) << "no start while the update is pending";
}

TEST(PlanApp, WhatTheManifestNoLongerDeclaresIsRemoved) {
  LatticeSnapshot s = converged();
  s.hosts[1].actors.push_back({"MOLD", "127.0.0.1:5000/old:1", managed_annotations("app"), 2});
  s.hosts[1].providers.push_back({"VKV", "127.0.0.1:5000/keyvalue:1", "default",
                                  "wasmcloud:keyvalue", managed_annotations("app")});
  s.links.push_back({"MECHO", "VKV", "wasmcloud:keyvalue", "default", {}});
  s.links.push_back({"MUSER", "VHTTP", "wasmcloud:httpserver", "default", {}});  // not ours
  AppPlan p = plan_app("app", simple(), s);
  auto sa = of_kind(p, Kind::kStopActor);
  ASSERT_EQ(sa.size(), 1u);
  EXPECT_EQ(sa[0]->actor_id, "MOLD");
  EXPECT_EQ(sa[0]->count, 0);
  auto sp = of_kind(p, Kind::kStopProvider);
  ASSERT_EQ(sp.size(), 1u);
  EXPECT_EQ(sp[0]->provider_id, "VKV");
  EXPECT_EQ(sp[0]->contract_id, "wasmcloud:keyvalue");
  auto del = of_kind(p, Kind::kDeleteLink);
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0]->actor_id, "MECHO");
  EXPECT_EQ(del[0]->contract_id, "wasmcloud:keyvalue");
}

TEST(PlanCleanup, RemovesOnlyWhatUndeployedAppsManage) {
  LatticeSnapshot s = converged();
  s.hosts[1].actors.push_back({"MECHO", kEchoImage, {}, 1});  // by hand
  s.hosts[1].actors.push_back({"MKV", "127.0.0.1:5000/kv:1", managed_annotations("kept"), 1});
  auto cmds = plan_cleanup({"kept"}, s);
  ASSERT_EQ(cmds.size(), 4u);
  EXPECT_EQ(cmds[0].kind, Kind::kDeleteLink);  // links first, while both ends are known
  EXPECT_EQ(cmds[0].actor_id, "MECHO");
  int sa = 0, sp = 0;
  for (const auto& c : cmds) {
    if (c.kind == Kind::kStopActor) {
      ++sa;
      EXPECT_EQ(c.annotations, managed_annotations("app"));
      EXPECT_EQ(c.count, 0);
    }
    if (c.kind == Kind::kStopProvider) ++sp;
  }
  EXPECT_EQ(sa, 2);  // app's echo on both hosts; never the hand-started one nor kept's
  EXPECT_EQ(sp, 1);
  EXPECT_TRUE(plan_cleanup({"kept", "app"}, s).empty());
}

}  // namespace
}  // namespace wc::wadm
