// The v1 control interface (issue #15, host/control_v1.h) end to end: a real nats-server with
// JetStream, a real docker-registry holding the signed echo actor, and two `wasmcloud host`
// processes (labels zone=a and zone=b) on one lattice. v1 requests are raw JSON in the shapes
// @wasmcloud/lattice-client-core 0.2.3 sends; replies and the v1 events on
// wasmbus.evt.default.{name} are asserted, and the OTP interface is checked against the same
// state (a v1 scale shows in the OTP inventory and an OTP scale in host.get).
// The tests share the hosts and run in declaration order (one ctest entry).
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "host/errors.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "support/servers.h"
#include "two_host_lattice.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
const std::string kV1 = "wasmbus.ctl.v1.default.";

class V1Control : public testing::TwoHostLatticeTest {
 protected:
  static inline std::string a, b, echo_ref;

  static void SetUpTestSuite() {
    ASSERT_NO_FATAL_FAILURE(start_lattice("wc-v1-it"));
    auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(bytes);
    echo_ref = registry->host() + "/echo:0.3.4";
    ASSERT_NO_FATAL_FAILURE(push(echo_ref, *bytes));

    auto ka = wascap::KeyPair::generate(wascap::KeyType::kServer);
    auto kb = wascap::KeyPair::generate(wascap::KeyType::kServer);
    a = ka.public_key();
    b = kb.public_key();
    host_a = start_host("a", ka, {"--label", "zone=a"});
    host_b = start_host("b", kb, {"--label", "zone=b"});
    ASSERT_TRUE(testing::wait_host_answers(*nc, a)) << "host a did not answer; log in " << dir;
    ASSERT_TRUE(testing::wait_host_answers(*nc, b)) << "host b did not answer; log in " << dir;
  }

  static void TearDownTestSuite() { stop_lattice(); }

  /// A v1 request; `{"__error"}` when nobody answered.
  static json req(const std::string& op, const std::string& body = "",
                  std::chrono::milliseconds timeout = 5s) {
    return testing::ctl_request(*nc, kV1 + op, body, timeout);
  }
  static json scale_body(const std::string& host, const std::string& id, int n,
                         const std::string& field = "max_instances") {
    return json{{"host_id", host}, {"component_ref", echo_ref},          {"component_id", id},
                {field, n},        {"annotations", {{"app", "v1test"}}}, {"config", json::array()}};
  }
  /// Instances of `key` in host `h`'s OTP inventory.
  static std::size_t otp_instances(const std::string& h, const std::string& key) {
    auto inv = testing::host_inventory(*nc, h);
    for (const auto& actor : inv.value("actors", json::array()))
      if (actor.value("id", "") == key) return actor["instances"].size();
    return 0;
  }
  static void expect_refused(const json& r, const std::string& text) {
    EXPECT_EQ(r.value("success", true), false) << r.dump();
    EXPECT_EQ(r.value("message", ""), text) << r.dump();
  }
};

TEST_F(V1Control, PingAndHostGetAnswerWithThe1xShapes) {
  // host.ping: every host answers; gather the replies on an inbox.
  std::mutex mu;
  std::vector<json> replies;
  const std::string inbox = nc->new_inbox();
  auto sub = nc->subscribe(inbox, [&](lattice::Message m) {
    std::lock_guard lock(mu);
    replies.push_back(json::parse(m.text(), nullptr, false));
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(nc->publish(kV1 + "host.ping", "", {}, inbox));
  for (int i = 0; i < 50; ++i) {
    {
      std::lock_guard lock(mu);
      if (replies.size() >= 2) break;
    }
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(200ms);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(replies.size(), 2u);
    std::set<std::string> ids;
    for (const auto& r : replies) {
      EXPECT_EQ(r["success"], true);
      ids.insert(r["response"]["id"].get<std::string>());
      EXPECT_EQ(r["response"]["lattice"], "default");
    }
    EXPECT_EQ(ids, (std::set<std::string>{a, b}));
  }
  auto g = req("host.get." + a);
  ASSERT_EQ(g.value("success", false), true) << g.dump();
  const auto& inv = g["response"];
  EXPECT_EQ(inv["host_id"], a);
  EXPECT_EQ(inv["labels"]["zone"], "a");
  EXPECT_TRUE(inv["components"].is_array());
  EXPECT_TRUE(inv["providers"].is_array());
  EXPECT_TRUE(inv.contains("uptime_human"));
  EXPECT_TRUE(inv.contains("version"));
  // A host id nobody has: no responders.
  EXPECT_TRUE(req("host.get.NNOSUCHHOST", "", 1s).contains("__error"));
}

TEST_F(V1Control, BadInputIsRefusedWithAClearMessage) {
  const std::string s = "component.scale." + a;
  expect_refused(req(s, "{not json"), std::string(host::errors::kV1BodyNotJsonObject));
  expect_refused(req(s, scale_body(a, "bad.id", 1).dump()),
                 host::errors::v1_bad_id("component_id"));
  auto conflict = scale_body(a, "echo", 1);
  conflict["count"] = 2;
  expect_refused(req(s, conflict.dump()), std::string(host::errors::kV1CountConflict));
  auto neg = scale_body(a, "echo", 1);
  neg["max_instances"] = -3;
  expect_refused(req(s, neg.dump()),
                 host::errors::v1_field_type("max_instances", "a non-negative integer"));
  expect_refused(req(s, scale_body(b, "echo", 1).dump()), host::errors::v1_host_mismatch(b, a));
  expect_refused(req("component.frob." + a, "{}"),
                 std::string(host::errors::kV1UnsupportedSubject));
  expect_refused(req("label.put." + a, R"({"key":"hostcore.os","value":"x"})"),
                 std::string(host::errors::kV1HostcoreLabel));
  expect_refused(req("label.put." + a, R"({"key":5,"value":"x"})"),
                 host::errors::v1_field_type("key", "a string"));
  expect_refused(req("provider.stop." + a, R"({"provider_id":"nothing-here"})"),
                 std::string(host::errors::kV1ProviderNotRunning));
  expect_refused(req("provider.start",
                     R"({"host_id":"NNOSUCHHOST","provider_ref":"builtin://httpserver",
                         "provider_id":"http"})"),
                 host::errors::v1_unknown_host("NNOSUCHHOST"));
  expect_refused(req("component.update." + a, R"({"component_id":"echo","new_component_ref":"x"})"),
                 host::errors::v1_component_not_found("echo"));
  // Nothing started, nothing changed.
  EXPECT_EQ(otp_instances(a, kEcho), 0u);
  EXPECT_EQ(testing::host_inventory(*nc, a)["labels"].count("hostcore.os"), 1u);
}

TEST_F(V1Control, V1ScaleIsTheOtpStateAndOtpScaleIsTheV1State) {
  const auto from = v1_events->mark();
  const auto otp_from = otp_events->mark();
  auto ack = req("component.scale." + a, scale_body(a, "echo", 2).dump());
  ASSERT_EQ(ack.value("success", false), true) << ack.dump();
  auto scaled = v1_events->wait(
      from, "component_scaled", [](const json& d) { return d.value("max_instances", -1) == 2; },
      30s);
  ASSERT_TRUE(scaled) << "no component_scaled; logs in " << dir;
  const auto& d = (*scaled)["data"];
  EXPECT_EQ(d["component_id"], "echo");
  EXPECT_EQ(d["public_key"], kEcho);
  EXPECT_EQ(d["host_id"], a);
  EXPECT_EQ(d["image_ref"], echo_ref);
  EXPECT_EQ(d["annotations"]["app"], "v1test");
  EXPECT_EQ(d["claims"]["name"], "Echo");
  EXPECT_EQ((*scaled)["source"], a);
  // The OTP side saw the same start.
  EXPECT_TRUE(otp_events->wait(otp_from, "actors_started",
                               [](const json& x) { return x.value("public_key", "") == kEcho; }));
  EXPECT_EQ(otp_instances(a, kEcho), 2u);
  EXPECT_EQ(otp_instances(b, kEcho), 0u);
  auto g = req("host.get." + a)["response"];
  ASSERT_EQ(g["components"].size(), 1u);
  EXPECT_EQ(g["components"][0]["id"], "echo");
  EXPECT_EQ(g["components"][0]["max_instances"], 2);

  // The id is recorded for the lattice (LATTICEDATA key V1ID_echo).
  auto kv = nc->request("$JS.API.DIRECT.GET.KV_LATTICEDATA_default",
                        R"({"last_by_subj":"$KV.LATTICEDATA_default.V1ID_echo"})", 2s);
  ASSERT_TRUE(kv) << kv.error().message;
  EXPECT_EQ(json::parse(kv->text(), nullptr, false), (json{{"id", "echo"}, {"public_key", kEcho}}));

  // OTP scale of the same actor: v1 sees it under its v1 id.
  const auto from2 = v1_events->mark();
  auto otp_ack = testing::host_cmd(
      *nc, a, "scale", json{{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", 3}}.dump());
  ASSERT_EQ(otp_ack.value("accepted", false), true) << otp_ack.dump();
  auto scaled3 = v1_events->wait(
      from2, "component_scaled", [](const json& x) { return x.value("max_instances", -1) == 3; },
      30s);
  ASSERT_TRUE(scaled3);
  EXPECT_EQ((*scaled3)["data"]["component_id"], "echo");
  g = req("host.get." + a)["response"];
  ASSERT_EQ(g["components"].size(), 1u);
  EXPECT_EQ(g["components"][0]["max_instances"], 3);
  EXPECT_EQ(otp_instances(a, kEcho), 3u);

  // Another v1 id for the running actor is refused.
  expect_refused(req("component.scale." + a, scale_body(a, "echo2", 1).dump()),
                 host::errors::v1_id_taken("echo", kEcho));

  // The auction: host a runs it, so only host b bids.
  auto bid =
      req("component.auction",
          json{{"component_ref", echo_ref}, {"component_id", "echo"}, {"constraints", {}}}.dump());
  ASSERT_EQ(bid.value("success", false), true) << bid.dump();
  EXPECT_EQ(bid["response"]["host_id"], b);

  // `count` (1.x hosts' field) works as well: down to 1.
  const auto from3 = v1_events->mark();
  ASSERT_EQ(
      req("component.scale." + a, scale_body(a, "echo", 1, "count").dump()).value("success", false),
      true);
  ASSERT_TRUE(v1_events->wait(from3, "component_scaled",
                              [](const json& x) { return x.value("max_instances", -1) == 1; }));
  EXPECT_EQ(otp_instances(a, kEcho), 1u);

  // Scale to 0 stops it everywhere the OTP interface looks.
  const auto from4 = v1_events->mark();
  ASSERT_EQ(req("component.scale." + a, scale_body(a, "echo", 0).dump()).value("success", false),
            true);
  auto zero = v1_events->wait(from4, "component_scaled",
                              [](const json& x) { return x.value("max_instances", -1) == 0; });
  ASSERT_TRUE(zero);
  EXPECT_EQ((*zero)["data"]["component_id"], "echo");
  EXPECT_EQ(otp_instances(a, kEcho), 0u);
  EXPECT_TRUE(req("host.get." + a)["response"]["components"].empty());
}

TEST_F(V1Control, AFailedScaleIsReportedAsAnEvent) {
  const auto from = v1_events->mark();
  auto body = scale_body(a, "nope", 1);
  body["component_ref"] = registry->host() + "/nope:1";
  ASSERT_EQ(req("component.scale." + a, body.dump()).value("success", false), true);
  auto failed = v1_events->wait(from, "component_scale_failed", {}, 30s);
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["data"]["component_id"], "nope");
  EXPECT_EQ((*failed)["data"]["host_id"], a);
  EXPECT_FALSE((*failed)["data"].value("error", "").empty());
  EXPECT_EQ(v1_events->count(from, "component_scaled"), 0u);
}

TEST_F(V1Control, LabelsAreMutableAndTheOtpInventoryShowsThem) {
  const auto from = v1_events->mark();
  auto put = req("label.put." + b, R"({"key":"tier","value":"gold"})");
  EXPECT_EQ(put.value("success", false), true) << put.dump();
  EXPECT_EQ(put["message"], host::errors::kV1LabelPut);
  auto ev = v1_events->wait(from, "labels_changed");
  ASSERT_TRUE(ev);
  EXPECT_EQ((*ev)["data"]["host_id"], b);
  EXPECT_EQ((*ev)["data"]["labels"]["tier"], "gold");
  EXPECT_EQ(testing::host_inventory(*nc, b)["labels"]["tier"], "gold");
  EXPECT_EQ(req("host.get." + b)["response"]["labels"]["tier"], "gold");
  // OTP auctions use them: only b matches tier=gold.
  auto bid = testing::ctl_request(
      *nc, "wasmbus.ctl.default.auction.actor",
      json{{"actor_ref", echo_ref}, {"constraints", {{"tier", "gold"}}}}.dump());
  EXPECT_EQ(bid.value("host_id", ""), b) << bid.dump();

  auto del = req("label.del." + b, R"({"key":"tier"})");
  EXPECT_EQ(del["message"], host::errors::kV1LabelDeleted);
  EXPECT_EQ(testing::host_inventory(*nc, b)["labels"].count("tier"), 0u);
  EXPECT_EQ(req("label.del." + b, R"({"key":"tier"})")["message"],
            host::errors::kV1LabelDeletedNone);
}

TEST_F(V1Control, HostlessProviderStartReachesTheNamedHostOnly) {
  const auto from = v1_events->mark();
  // Client 0.2.3: `provider.start` with the host only in the body; one answer comes back.
  auto r = req("provider.start", json{{"host_id", b},
                                      {"provider_ref", "builtin://httpserver"},
                                      {"provider_id", "http-server"},
                                      {"annotations", {{"app", "v1test"}}}}
                                     .dump());
  ASSERT_EQ(r.value("success", false), true) << r.dump();
  EXPECT_EQ(r["message"], host::errors::kV1StartProvider);
  auto started = v1_events->wait(from, "provider_started");
  ASSERT_TRUE(started) << "logs in " << dir;
  EXPECT_EQ((*started)["data"]["host_id"], b);
  EXPECT_EQ((*started)["data"]["provider_id"], "http-server");
  EXPECT_EQ((*started)["data"]["image_ref"], "builtin://httpserver");
  // The OTP inventory of b (only b) lists it.
  auto pb = testing::host_inventory(*nc, b)["providers"];
  ASSERT_EQ(pb.size(), 1u) << pb.dump();
  EXPECT_EQ(pb[0]["annotations"]["app"], "v1test");
  EXPECT_TRUE(testing::host_inventory(*nc, a)["providers"].empty());
  // host.get shows the v1 id; a second start is refused.
  auto g = req("host.get." + b)["response"];
  ASSERT_EQ(g["providers"].size(), 1u);
  EXPECT_EQ(g["providers"][0]["id"], "http-server");
  expect_refused(req("provider.start." + b, json{{"host_id", b},
                                                 {"provider_ref", "builtin://httpserver"},
                                                 {"provider_id", "http-server"}}
                                                .dump()),
                 std::string(host::errors::kV1ProviderRunning));
  // Stop by v1 id.
  const auto from2 = v1_events->mark();
  auto stop =
      req("provider.stop." + b, json{{"host_id", b}, {"provider_id", "http-server"}}.dump(), 15s);
  EXPECT_EQ(stop.value("success", false), true) << stop.dump();
  auto stopped = v1_events->wait(from2, "provider_stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ((*stopped)["data"]["provider_id"], "http-server");
  EXPECT_TRUE(testing::host_inventory(*nc, b)["providers"].empty());
}

TEST_F(V1Control, HeartbeatsCarryThe1xInventory) {
  const auto from = v1_events->mark();
  // An OTP ping makes every host send a heartbeat now.
  (void)testing::ctl_request(*nc, "wasmbus.ctl.default.ping.hosts", "", 1s);
  auto hb = v1_events->wait(from, "host_heartbeat",
                            [](const json& d) { return d.value("host_id", "") == a; });
  ASSERT_TRUE(hb);
  EXPECT_TRUE((*hb)["data"]["components"].is_array());
  EXPECT_TRUE((*hb)["data"]["providers"].is_array());
  EXPECT_EQ((*hb)["data"]["labels"]["zone"], "a");
}

TEST_F(V1Control, HostStopAnswersThenStopsWithEvents) {
  const auto from = v1_events->mark();
  auto r = req("host.stop." + b, "{}");
  EXPECT_EQ(r.value("success", false), true) << r.dump();
  EXPECT_EQ(r["message"], host::errors::kV1StopHost);
  auto stopped = v1_events->wait(from, "host_stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ((*stopped)["source"], b);
  EXPECT_EQ((*stopped)["data"]["host_id"], b);
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = req("host.get." + b, "", 500ms).contains("__error");
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone);
  EXPECT_EQ(req("host.get." + a).value("success", false), true);
}

}  // namespace
}  // namespace wc
