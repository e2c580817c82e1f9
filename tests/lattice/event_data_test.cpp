// Unit tests of src/lattice/event_data.h: each builder yields exactly the fields of its schema in
// control-interface.md 4.4, with the values given.
#include "lattice/event_data.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace ed = wc::lattice::event_data;
using nlohmann::json;

namespace {

std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

const ed::StringMap kAnn{{"wasmcloud.dev/appspec", "shop"}};

}  // namespace

TEST(EventData, HostStartedAndStopped) {
  auto s = ed::host_started({{"zone", "a"}}, "quiet-lake-1", "0.63.2");
  EXPECT_EQ(keys(s),
            (std::set<std::string>{"labels", "friendly_name", "uptime_seconds", "version"}));
  EXPECT_EQ(s["labels"]["zone"], "a");
  EXPECT_EQ(s["uptime_seconds"], 0);
  EXPECT_EQ(s["version"], "0.63.2");
  auto t = ed::host_stopped({{"zone", "a"}});
  EXPECT_EQ(keys(t), (std::set<std::string>{"labels"}));
  EXPECT_TRUE(ed::host_stopped({})["labels"].is_object());  // `{}`, never null
}

TEST(EventData, ActorEvents) {
  json claims{{"issuer", "AXXX"}, {"revision", 3}};
  auto a = ed::actor_started("MKEY", "localhost:5000/echo:0.3.8", "iid-1", kAnn, claims);
  EXPECT_EQ(keys(a), (std::set<std::string>{"public_key", "image_ref", "api_version", "instance_id",
                                            "annotations", "claims"}));
  EXPECT_EQ(a["api_version"], "n/a");
  EXPECT_EQ(a["instance_id"], "iid-1");
  EXPECT_EQ(a["annotations"]["wasmcloud.dev/appspec"], "shop");
  EXPECT_EQ(a["claims"]["revision"], 3);

  auto as = ed::actors_started("MKEY", "ref", kAnn, "NHOST", claims, 2);
  EXPECT_EQ(keys(as), (std::set<std::string>{"public_key", "image_ref", "annotations", "host_id",
                                             "claims", "count"}));
  EXPECT_EQ(as["count"], 2);
  EXPECT_EQ(as["host_id"], "NHOST");

  auto f = ed::actor_start_failed("ref", "\"boom\"");
  EXPECT_EQ(keys(f), (std::set<std::string>{"actor_ref", "error"}));
  EXPECT_EQ(f["error"], "\"boom\"");  // passed through as given (already inspected)

  auto fs = ed::actors_start_failed(ed::kUnknownActorKey, "ref", {}, "NHOST", "bad claims");
  EXPECT_EQ(keys(fs),
            (std::set<std::string>{"public_key", "image_ref", "annotations", "host_id", "error"}));
  EXPECT_EQ(fs["public_key"], "N/A");
  EXPECT_TRUE(fs["annotations"].is_object());

  auto st = ed::actor_stopped("MKEY", "iid-1", kAnn);
  EXPECT_EQ(keys(st), (std::set<std::string>{"public_key", "instance_id", "annotations"}));

  auto sts = ed::actors_stopped("NHOST", "MKEY", 3, -1, kAnn);
  EXPECT_EQ(keys(sts),
            (std::set<std::string>{"host_id", "public_key", "count", "remaining", "annotations"}));
  EXPECT_EQ(sts["remaining"], -1);  // 4.4.9: may be negative
  EXPECT_EQ(sts["count"], 3);

  auto u = ed::actor_updated("MKEY", 4, "iid-1");
  EXPECT_EQ(keys(u), (std::set<std::string>{"public_key", "revision", "instance_id"}));
  EXPECT_EQ(u["revision"], 4);
  auto uf = ed::actor_update_failed("MKEY", 4, "iid-1", "no");
  EXPECT_EQ(keys(uf), (std::set<std::string>{"public_key", "revision", "instance_id", "reason"}));
  EXPECT_EQ(uf["reason"], "no");
}

TEST(EventData, ProviderEvents) {
  ed::ProviderIdentity p{"VKEY", "default", "wasmcloud:httpserver"};
  auto s = ed::provider_started(p, "ref", "iid-2", kAnn, json::object());
  EXPECT_EQ(keys(s), (std::set<std::string>{"public_key", "image_ref", "link_name", "contract_id",
                                            "instance_id", "annotations", "claims"}));
  EXPECT_EQ(s["contract_id"], "wasmcloud:httpserver");
  EXPECT_TRUE(s["claims"].is_object());

  auto f = ed::provider_start_failed("ref", "default", "denied");
  EXPECT_EQ(keys(f), (std::set<std::string>{"provider_ref", "link_name", "error"}));

  auto st = ed::provider_stopped(p, "iid-2", kAnn, ed::kStopNormal);
  EXPECT_EQ(keys(st), (std::set<std::string>{"public_key", "link_name", "contract_id",
                                             "instance_id", "annotations", "reason"}));
  EXPECT_EQ(st["reason"], "normal");

  auto h = ed::health_check(p);
  EXPECT_EQ(keys(h), (std::set<std::string>{"public_key", "contract_id", "link_name"}));
  EXPECT_EQ(h["link_name"], "default");
}

TEST(EventData, RefmapAndInvocation) {
  auto r = ed::refmap_set("file:///tmp/echo.wasm", "MKEY");
  EXPECT_EQ(r, (json{{"oci_url", "file:///tmp/echo.wasm"}, {"public_key", "MKEY"}}));

  auto i = ed::invocation({"MKEY", std::nullopt, std::nullopt},
                          {"VKEY", "wasmcloud:keyvalue", "default"}, "KeyValue.Get", 12);
  EXPECT_EQ(keys(i), (std::set<std::string>{"source", "dest", "operation", "bytes"}));
  EXPECT_TRUE(i["source"]["contract_id"].is_null());  // 4.4.17: null for an actor
  EXPECT_TRUE(i["source"]["link_name"].is_null());
  EXPECT_EQ(i["dest"]["contract_id"], "wasmcloud:keyvalue");
  EXPECT_EQ(i["dest"]["link_name"], "default");
  EXPECT_EQ(i["bytes"], 12);
  // An inbound invocation carries the strings its envelope has, "" included.
  auto in = ed::invocation({"MKEY", "", ""}, {"MOTHER", "", ""}, "Echo.Ping", 0);
  EXPECT_EQ(in["source"]["contract_id"], "");
}
