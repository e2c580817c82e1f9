// CloudEvent envelope (control-interface.md 4.2) and UUID v4, including a real publish.
#include "lattice/cloudevent.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "collector.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "support/servers.h"

namespace wc::lattice {
namespace {

using namespace std::chrono_literals;
const char* kHostA = "NB6PMW4RGLBP3NAVUVO2IH34VFJFSX7LF7TJOQCDU4GGUGF3P57SZLPX";

TEST(Uuid, VersionFourLowerCaseHyphenated) {
  const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 200; ++i) {
    std::string u = uuid_v4();
    EXPECT_TRUE(std::regex_match(u, re)) << u;
  }
}

TEST(Uuid, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(uuid_v4());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(EventTime, MicrosecondsAndZ) {
  using namespace std::chrono;
  // 2023-05-14T19:21:38.222286Z
  system_clock::time_point t{seconds(1684092098) + microseconds(222286)};
  EXPECT_EQ(rfc3339_micros(t), "2023-05-14T19:21:38.222286Z");
  EXPECT_EQ(rfc3339_micros(system_clock::time_point{seconds(0)}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(rfc3339_micros(system_clock::time_point{seconds(1) + microseconds(5)}),
            "1970-01-01T00:00:01.000005Z");
}

TEST(EventTime, NowHasTheFormat) {
  const std::regex re("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$");
  EXPECT_TRUE(std::regex_match(rfc3339_micros(std::chrono::system_clock::now()), re));
}

TEST(CloudEvent, EnvelopeShapeAndOrder) {
  nlohmann::json data = {
      {"public_key", "VAG3"}, {"contract_id", "wasmcloud:httpserver"}, {"link_name", "default"}};
  auto ev = make_cloudevent(events::kHealthCheckPassed, kHostA, data,
                            "04369697-9397-46e3-99d7-277d867f9acc", "2023-02-14T19:21:14.113113Z");
  std::vector<std::string> keys;
  for (auto it = ev.begin(); it != ev.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"specversion", "type", "source", "id", "time",
                                            "datacontenttype", "data"}));
  EXPECT_EQ(ev["specversion"], "1.0");
  EXPECT_EQ(ev["type"], "com.wasmcloud.lattice.health_check_passed");
  EXPECT_EQ(ev["source"], kHostA);
  EXPECT_EQ(ev["id"], "04369697-9397-46e3-99d7-277d867f9acc");
  EXPECT_EQ(ev["time"], "2023-02-14T19:21:14.113113Z");
  EXPECT_EQ(ev["datacontenttype"], "application/json");
  EXPECT_EQ(ev["data"]["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ(ev.size(), 7u);
}

TEST(CloudEvent, NullsAreKept) {
  nlohmann::json data = {{"call_alias", nullptr}};
  auto text = cloudevent_json(events::kActorStarted, kHostA, data);
  EXPECT_NE(text.find("\"call_alias\":null"), std::string::npos);
}

TEST(CloudEvent, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json data = {{"error", std::string("bad \xff byte")}};
  std::string text;
  EXPECT_NO_THROW(text = cloudevent_json(events::kActorStartFailed, kHostA, data));
  EXPECT_TRUE(nlohmann::json::accept(text));
}

TEST(CloudEvent, PublishedOnTheLatticeEventSubjects) {
  wc::testing::NatsServer server;
  ConnectOptions o;
  o.servers = {server.url()};
  auto nc = Connection::connect(o);
  ASSERT_TRUE(nc.has_value());
  testing::Collector evt, rpcevt;
  auto s1 = (*nc)->subscribe(topics::events("default"), evt.handler());
  auto s2 = (*nc)->subscribe(topics::rpc_events("default"), rpcevt.handler());
  ASSERT_TRUE(s1 && s2 && (*nc)->flush());

  nlohmann::json linkdef = {{"id", "EC98"},       {"actor_id", "M"},
                            {"provider_id", "V"}, {"link_name", "default"},
                            {"contract_id", "c"}, {"values", nlohmann::json::object()}};
  ASSERT_TRUE(
      publish_event(**nc, "default", events::kLinkdefSet, events::kSourceNotApplicable, linkdef));
  nlohmann::json inv = {
      {"source", {{"public_key", "M"}, {"contract_id", nullptr}, {"link_name", nullptr}}},
      {"dest", {{"public_key", "V"}, {"contract_id", "c"}, {"link_name", "l"}}},
      {"operation", "Op.Do"},
      {"bytes", 28}};
  ASSERT_TRUE(publish_rpc_event(**nc, "default", events::kInvocationSucceeded, kHostA, inv));

  ASSERT_TRUE(evt.wait_for(1));
  ASSERT_TRUE(rpcevt.wait_for(1));
  auto e = nlohmann::json::parse(evt.take()[0].text());
  EXPECT_EQ(e["type"], "com.wasmcloud.lattice.linkdef_set");
  EXPECT_EQ(e["source"], "n/a");
  EXPECT_EQ(e["data"], linkdef);
  auto r = nlohmann::json::parse(rpcevt.take()[0].text());
  EXPECT_EQ(r["type"], "com.wasmcloud.lattice.invocation_succeeded");
  EXPECT_EQ(r["source"], kHostA);
  EXPECT_EQ(r["data"]["bytes"], 28);
  EXPECT_TRUE(r["data"]["source"]["contract_id"].is_null());
}

}  // namespace
}  // namespace wc::lattice
