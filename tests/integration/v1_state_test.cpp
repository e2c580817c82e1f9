// The v1 lattice state and lattice-scoped v1 requests of issue #15 (A2) end to end: two
// `wasmcloud host` processes on a real nats-server with JetStream and a real docker-registry,
// the real httpserver provider archive and the signed echo fixture.
//  - KV wadm_state `host_default` lists both hosts in the shape the v1 client reads, and
//    `component_default` / `provider_default` what runs where; a stopped host leaves them.
//  - config.put / get / del in KV CONFIGDATA_default (keys listed), with config_set /
//    config_deleted v1 events.
//  - link.put of wasi:http between the provider and echo becomes the OTP link definition with
//    the named config as values, and a real HTTP request gets echo's reply; link.get lists it;
//    link.del removes both.
//  - bad input on every subject: {success:false, message}, nothing stored.
// The tests share the hosts and run in declaration order (one ctest entry).
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "lattice/kv.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "oci/client.h"
#include "par/par.h"
#include "support/servers.h"
#include "two_host_lattice.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace topics = lattice::topics;

class V1State : public testing::TwoHostLatticeTest {
 protected:
  static inline std::optional<wascap::KeyPair> cluster, key_a, key_b;
  static inline std::string echo_key, echo_ref, http_key, http_ref;
  static inline int http_port = 0;

  static void SetUpTestSuite() {
    ASSERT_NO_FATAL_FAILURE(start_lattice("wc-v1state-it"));
    auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo);
    echo_ref = registry->host() + "/echo:1";
    ASSERT_NO_FATAL_FAILURE(push(echo_ref, *echo, oci::ArtifactKind::kActor));
    auto claims = wascap::extract_claims(*echo, wascap::now_seconds());
    ASSERT_TRUE(claims);
    echo_key = claims->claims.sub;
    const std::string par = std::string(WC_BINARY_DIR) + "/providers/httpserver.par.gz";
    auto archive = par::load_archive_file(par);
    ASSERT_TRUE(archive);
    http_key = archive->claims.sub;
    http_ref = registry->host() + "/httpserver:0.1.0";
    ASSERT_NO_FATAL_FAILURE(push(http_ref, *read_file(par), oci::ArtifactKind::kProvider));

    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    key_a = wascap::KeyPair::generate(wascap::KeyType::kServer);
    key_b = wascap::KeyPair::generate(wascap::KeyType::kServer);
    const std::vector<std::string> flags = {"--heartbeat-interval-ms", "1000"};
    const std::vector<std::string> env = {"WASMCLOUD_CLUSTER_SEED=" + cluster->seed(),
                                          "TMPDIR=" + dir};
    host_a = start_host("a", *key_a, flags, env);
    host_b = start_host("b", *key_b, flags, env);
    ASSERT_TRUE(testing::wait_host_answers(*nc, key_a->public_key())) << "log in " << dir;
    ASSERT_TRUE(testing::wait_host_answers(*nc, key_b->public_key())) << "log in " << dir;
    http_port = testing::free_port();
  }

  static void TearDownTestSuite() { stop_lattice(); }

  /// A v1 request; the parsed reply (or {"__error"}).
  static json v1(const std::string& subject, const std::string& body) {
    return testing::ctl_request(*nc, subject, body, 10s);
  }
  static json config(const std::string& op, const std::string& name, const std::string& body) {
    return v1(topics::v1_config("default", op, name), body);
  }
  static json link(const std::string& op, const std::string& body) {
    return v1(topics::v1_link("default", op), body);
  }
  /// The JSON value of `key` in `bucket` (null when missing).
  static json kv_json(const std::string& bucket, const std::string& key) {
    auto kv = lattice::KvStore::open(*nc, bucket, false, {}, {}, 2s);
    if (!kv) return nullptr;
    auto v = kv->get(key);
    if (!v || !v->has_value()) return nullptr;
    return json::parse((*v)->value, nullptr, false);
  }
  static std::vector<std::string> kv_keys(const std::string& bucket) {
    auto kv = lattice::KvStore::open(*nc, bucket, false, {}, {}, 2s);
    if (!kv) return {"<no bucket: " + kv.error().message + ">"};
    auto k = kv->keys();
    return k ? *k : std::vector<std::string>{"<" + k.error().message + ">"};
  }
  static bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds t = 20s) {
    const auto until = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < until) {
      if (cond()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return cond();
  }
  static json otp_links() { return testing::ctl_request(*nc, "wasmbus.ctl.default.get.links", ""); }
  static std::optional<json> otp_link_of(const std::string& actor, const std::string& contract) {
    json l = otp_links();
    for (const auto& x : l.value("links", json::array()))
      if (x["actor_id"] == actor && x["contract_id"] == contract) return x;
    return std::nullopt;
  }
  static void expect_refused(const json& reply, const std::string& what,
                             const std::string& contains = {}) {
    // replace: a refusal may echo bytes that are not UTF-8
    const auto text = reply.dump(-1, ' ', false, json::error_handler_t::replace);
    EXPECT_EQ(reply.value("success", true), false) << what << ": " << text;
    ASSERT_TRUE(reply.contains("message") && reply["message"].is_string()) << what;
    EXPECT_FALSE(reply["message"].get<std::string>().empty()) << what;
    if (!contains.empty()) {
      EXPECT_NE(reply["message"].get<std::string>().find(contains), std::string::npos)
          << what << ": " << text;
    }
  }
  static json http_link_body() {
    return json{{"source_id", http_key},
                {"target", echo_key},
                {"name", "default"},
                {"wit_namespace", "wasi"},
                {"wit_package", "http"},
                {"interfaces", {"incoming-handler"}},
                {"source_config", {"echo-http"}},
                {"target_config", json::array()}};
  }
};

TEST_F(V1State, BothHostsListedInWadmStateWithTheClientsFields) {
  const std::string a = key_a->public_key(), b = key_b->public_key();
  json hosts;
  ASSERT_TRUE(eventually([&] {
    hosts = kv_json("wadm_state", "host_default");
    return hosts.is_object() && hosts.contains(a) && hosts.contains(b);
  })) << hosts.dump()
      << "; logs in " << dir;
  for (const auto& id : {a, b}) {
    const json& h = hosts[id];
    EXPECT_EQ(h["id"], id);
    EXPECT_TRUE(h["friendly_name"].is_string() && !h["friendly_name"].get<std::string>().empty());
    EXPECT_TRUE(h["labels"].is_object());
    EXPECT_EQ(h["components"], json::object());
    EXPECT_EQ(h["providers"], json::array());  // present: the client throws without it
    EXPECT_TRUE(h["uptime_seconds"].is_number_unsigned());
    EXPECT_EQ(h["version"], "0.63.2");
    EXPECT_TRUE(h["last_seen"].is_string());
  }
  // The bucket has history 1 and file storage; CONFIGDATA_default exists from host start.
  auto info = nc->request("$JS.API.STREAM.INFO.KV_wadm_state", "", 2s);
  ASSERT_TRUE(info);
  auto j = json::parse(info->text());
  EXPECT_EQ(j["config"]["max_msgs_per_subject"], 1);
  EXPECT_EQ(j["config"]["storage"], "file");
  EXPECT_EQ(kv_keys("CONFIGDATA_default"), std::vector<std::string>{});
  // Heartbeats keep last_seen moving (interval 1 s here).
  const std::string seen = hosts[a]["last_seen"];
  EXPECT_TRUE(eventually(
      [&] { return kv_json("wadm_state", "host_default")[a]["last_seen"] != seen; }, 10s));
}

TEST_F(V1State, ConfigPutGetListDelete) {
  auto mark = v1_events->mark();
  const std::string address = "127.0.0.1:" + std::to_string(http_port);
  json r = config("put", "echo-http", json{{"address", address}}.dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  auto ev = v1_events->wait(
      mark, "config_set", [](const json& d) { return d["config_name"] == "echo-http"; }, 10s);
  ASSERT_TRUE(ev);
  r = config("get", "echo-http", "");
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["response"], (json{{"address", address}}));
  EXPECT_EQ(kv_json("CONFIGDATA_default", "echo-http"), (json{{"address", address}}));

  ASSERT_EQ(config("put", "v1-scratch", R"({"a":"1","b":"two"})")["success"], true);
  auto keys = kv_keys("CONFIGDATA_default");
  EXPECT_EQ(keys, (std::vector<std::string>{"echo-http", "v1-scratch"}));
  // Replacing keeps one key with the new map.
  ASSERT_EQ(config("put", "v1-scratch", R"({"c":"3"})")["success"], true);
  EXPECT_EQ(config("get", "v1-scratch", "")["response"], (json{{"c", "3"}}));

  mark = v1_events->mark();
  r = config("del", "v1-scratch", "");
  ASSERT_EQ(r["success"], true) << r.dump();
  ASSERT_TRUE(v1_events->wait(
      mark, "config_deleted", [](const json& d) { return d["config_name"] == "v1-scratch"; }, 10s));
  r = config("get", "v1-scratch", "");
  EXPECT_EQ(r["success"], true);
  EXPECT_FALSE(r.contains("response")) << r.dump();
  EXPECT_EQ(r["message"], "Configuration `v1-scratch` not found");
  EXPECT_EQ(kv_keys("CONFIGDATA_default"), std::vector<std::string>{"echo-http"});
  // Deleting again is fine (idempotent).
  EXPECT_EQ(config("del", "v1-scratch", "")["success"], true);
}

TEST_F(V1State, BadConfigInputIsRefusedAndNothingIsStored) {
  expect_refused(config("put", "v1-bad", R"({"a":)"), "malformed JSON",
                 "config must be a JSON object");
  expect_refused(config("put", "v1-bad", "[1]"), "array", "config must be a JSON object");
  expect_refused(config("put", "v1-bad", R"({"a":1})"), "non-string value",
                 "config value of key `a` must be a string");
  expect_refused(config("put", "v1-bad", json{{"a", std::string(70000, 'x')}}.dump()),
                 "oversized body", "exceeds this host's limit of 65536 bytes");
  expect_refused(config("put", "bad=name", "{}"), "bad name", "Invalid config name `bad=name`");
  expect_refused(config("get", "bad=name", ""), "bad name on get", "Invalid config name");
  expect_refused(config("del", "bad=name", ""), "bad name on del", "Invalid config name");
  // A name that is not UTF-8 is echoed in the refusal: the reply must still go out.
  expect_refused(config("get", "bad\xffname", ""), "non-UTF-8 name", "Invalid config name");
  expect_refused(config("frob", "x", ""), "unknown operation", "Invalid request topic");
  EXPECT_EQ(kv_keys("CONFIGDATA_default"), std::vector<std::string>{"echo-http"});
}

TEST_F(V1State, WasiHttpLinkServesEchoOverRealHttp) {
  const std::string a = key_a->public_key();
  // echo and the httpserver provider on host A (OTP requests: the same state either way).
  ASSERT_EQ(
      testing::host_cmd(
          *nc, a, "scale",
          json{{"actor_id", echo_key}, {"actor_ref", echo_ref}, {"count", 1}}.dump())["accepted"],
      true);
  auto mark = otp_events->mark();
  ASSERT_EQ(testing::host_cmd(
                *nc, a, "lp",
                json{{"provider_ref", http_ref}, {"link_name", "default"}}.dump())["accepted"],
            true);
  ASSERT_TRUE(otp_events->wait(mark, "provider_started", {}, 30s)) << "log in " << dir;
  ASSERT_TRUE(eventually([&] {
    json h = kv_json("wadm_state", "host_default");
    return h[a]["components"].value(echo_key, 0) == 1 && h[a]["providers"].size() == 1;
  })) << kv_json("wadm_state", "host_default").dump();
  json h = kv_json("wadm_state", "host_default")[a];
  EXPECT_EQ(h["providers"][0]["provider_id"], http_key);
  EXPECT_EQ(h["providers"][0]["provider_ref"], http_ref);
  json comps = kv_json("wadm_state", "component_default");
  EXPECT_EQ(comps[echo_key]["reference"], echo_ref);
  EXPECT_EQ(comps[echo_key]["instances"][a][0]["count"], 1) << comps.dump();
  json provs = kv_json("wadm_state", "provider_default");
  EXPECT_EQ(provs[http_key]["hosts"], (json{{a, "Running"}})) << provs.dump();
  EXPECT_EQ(provs[http_key]["reference"], http_ref);
  // The provider subscribes a moment after provider_started.
  ASSERT_TRUE(eventually([&] {
    return static_cast<bool>(
        nc->request("wasmbus.rpc.default." + http_key + ".default.health", "", 200ms));
  }));

  mark = v1_events->mark();
  json r = link("put", http_link_body().dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  auto ev = v1_events->wait(
      mark, "linkdef_set", [](const json& d) { return d["source_id"] == http_key; }, 10s);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->at("data"), http_link_body());
  r = link("get", "");
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["response"], json::array({http_link_body()}));
  auto otp = otp_link_of(echo_key, "wasmcloud:httpserver");
  ASSERT_TRUE(otp) << otp_links().dump();
  EXPECT_EQ((*otp)["provider_id"], http_key);
  EXPECT_EQ((*otp)["link_name"], "default");
  EXPECT_EQ((*otp)["values"], (json{{"address", "127.0.0.1:" + std::to_string(http_port)}}));

  httplib::Client cli("127.0.0.1", http_port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(10);
  int status = 0;
  std::string text;
  ASSERT_TRUE(eventually([&] {
    auto res = cli.Get("/v1/over-http?x=1");
    if (!res) return false;
    status = res->status;
    text = res->body;
    return true;
  })) << "no HTTP answer; log in "
      << dir;
  EXPECT_EQ(status, 200);
  json body = json::parse(text, nullptr, false);
  EXPECT_EQ(body["method"], "GET") << text;
  EXPECT_EQ(body["path"], "/v1/over-http");
  EXPECT_EQ(body["query_string"], "x=1");
}

TEST_F(V1State, ConfigChangeReachesTheLinkDefinition) {
  const std::string address = "127.0.0.1:" + std::to_string(http_port);
  auto mark = otp_events->mark();
  json r = config("put", "echo-http", json{{"address", address}, {"timeout_ms", "4000"}}.dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  // The OTP link definition is put again with the new values (OTP linkdef_set, get.links).
  ASSERT_TRUE(otp_events->wait(
      mark, "linkdef_set", [](const json& d) { return d["values"].contains("timeout_ms"); }, 10s));
  auto otp = otp_link_of(echo_key, "wasmcloud:httpserver");
  ASSERT_TRUE(otp);
  EXPECT_EQ((*otp)["values"], (json{{"address", address}, {"timeout_ms", "4000"}}));
  // The v1 link itself is unchanged.
  EXPECT_EQ(link("get", "")["response"], json::array({http_link_body()}));
}

TEST_F(V1State, BadLinkInputIsRefusedAndNothingIsStored) {
  expect_refused(link("put", R"({"source_id":)"), "malformed JSON", "not valid JSON");
  json j = http_link_body();
  j.erase("source_id");
  expect_refused(link("put", j.dump()), "no source", "field `source_id` is required");
  j = http_link_body();
  j["source_config"] = {"no-such-config"};
  j["name"] = "other";
  expect_refused(link("put", j.dump()), "unknown named config",
                 "named config `no-such-config` does not exist");
  j = http_link_body();
  j["name"] = "other";
  j["target"] = "not-a-started-component";
  expect_refused(link("put", j.dump()), "unknown component id",
                 "link target `not-a-started-component` is not a known component");
  j = http_link_body();
  j["name"] = "other";
  j["source_id"] = echo_key;  // wasi:http incoming: the source must be the provider
  j["target"] = http_key;
  expect_refused(link("put", j.dump()), "sides swapped", "is not a known provider");
  j = http_link_body();
  j["interfaces"] = {"Incoming Handler"};
  expect_refused(link("put", j.dump()), "bad interface", "field `interfaces`");
  j = http_link_body();
  j["target"] = std::string(70000, 'M');
  expect_refused(link("put", j.dump()), "oversized", "exceeds this host's limit");
  expect_refused(link("del", "null,"), "del malformed", "not valid JSON");
  expect_refused(link("del", R"({"source_id":"x y","wit_namespace":"wasi","wit_package":"http"})"),
                 "del bad id", "not a valid component or provider id");
  expect_refused(link("frob", "{}"), "unknown operation", "Invalid request topic");
  // Still exactly the one good link, in both protocols.
  EXPECT_EQ(link("get", "")["response"], json::array({http_link_body()}));
  EXPECT_EQ(otp_links()["links"].size(), 1u) << otp_links().dump();
}

TEST_F(V1State, UnmappedLinkIsStoredListedAndReportedWithoutALinkDefinition) {
  json j{{"source_id", echo_key},   {"target", "blobby"},         {"name", "default"},
         {"wit_namespace", "wasi"}, {"wit_package", "blobstore"}, {"interfaces", {"blobstore"}}};
  auto mark = v1_events->mark();
  json r = link("put", j.dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_NE(
      r["message"].get<std::string>().find("no wasmbus contract corresponds to wasi:blobstore"),
      std::string::npos)
      << r.dump();
  ASSERT_TRUE(v1_events->wait(
      mark, "linkdef_set", [](const json& d) { return d["wit_package"] == "blobstore"; }, 10s));
  json listed = link("get", "")["response"];
  EXPECT_EQ(listed.size(), 2u) << listed.dump();
  EXPECT_EQ(otp_links()["links"].size(), 1u);  // no OTP link definition came of it
  mark = v1_events->mark();
  r = link("del", json{{"source_id", echo_key},
                       {"link_name", "default"},
                       {"wit_namespace", "wasi"},
                       {"wit_package", "blobstore"}}
                      .dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  ASSERT_TRUE(v1_events->wait(
      mark, "linkdef_deleted", [](const json& d) { return d["wit_package"] == "blobstore"; }, 10s));
  EXPECT_EQ(link("get", "")["response"], json::array({http_link_body()}));
}

TEST_F(V1State, LinkDelRemovesTheOtpLinkDefinition) {
  auto mark = v1_events->mark();
  json r = link("del", json{{"source_id", http_key},
                            {"link_name", "default"},
                            {"wit_namespace", "wasi"},
                            {"wit_package", "http"}}
                           .dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  ASSERT_TRUE(v1_events->wait(
      mark, "linkdef_deleted", [](const json& d) { return d["source_id"] == http_key; }, 10s));
  EXPECT_EQ(link("get", "")["response"], json::array());
  EXPECT_TRUE(eventually([&] { return !otp_link_of(echo_key, "wasmcloud:httpserver"); }))
      << otp_links().dump();
  // The provider closes its listener when the link goes.
  EXPECT_TRUE(eventually([&] {
    httplib::Client cli("127.0.0.1", http_port);
    cli.set_connection_timeout(1);
    return !cli.Get("/");
  }));
  // Deleting again: idempotent, success.
  r = link(
      "del",
      json{{"source_id", http_key}, {"wit_namespace", "wasi"}, {"wit_package", "http"}}.dump());
  EXPECT_EQ(r["success"], true) << r.dump();
}

TEST_F(V1State, OtpLinkDefinitionIsListedAndDeletedThroughV1) {
  json ack = testing::ctl_request(*nc, "wasmbus.ctl.default.linkdefs.put",
                                  json{{"actor_id", echo_key},
                                       {"provider_id", http_key},
                                       {"contract_id", "wasmcloud:keyvalue"},
                                       {"link_name", "kv"},
                                       {"values", {{"URL", "redis://x"}}}}
                                      .dump());
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  json want{{"source_id", echo_key},
            {"target", http_key},
            {"name", "kv"},
            {"wit_namespace", "wasi"},
            {"wit_package", "keyvalue"},
            {"interfaces", {"store"}},
            {"source_config", json::array()},
            {"target_config", json::array()}};
  json listed;
  ASSERT_TRUE(eventually([&] {
    listed = link("get", "")["response"];
    return listed == json::array({want});
  })) << listed.dump();
  auto mark = v1_events->mark();
  json r = link("del", json{{"source_id", echo_key},
                            {"link_name", "kv"},
                            {"wit_namespace", "wasi"},
                            {"wit_package", "keyvalue"}}
                           .dump());
  ASSERT_EQ(r["success"], true) << r.dump();
  EXPECT_EQ(r["message"], "");
  ASSERT_TRUE(v1_events->wait(
      mark, "linkdef_deleted", [](const json& d) { return d["name"] == "kv"; }, 10s));
  EXPECT_TRUE(eventually([&] { return !otp_link_of(echo_key, "wasmcloud:keyvalue"); }))
      << otp_links().dump();
  EXPECT_EQ(link("get", "")["response"], json::array());
}

TEST_F(V1State, ComponentStartedUnderAV1IdIsListedUnderThatId) {
  const std::string b = key_b->public_key();
  json ack = v1("wasmbus.ctl.v1.default.component.scale." + b, json{{"host_id", b},
                                                                    {"component_ref", echo_ref},
                                                                    {"component_id", "v1echo"},
                                                                    {"max_instances", 2},
                                                                    {"annotations", json::object()},
                                                                    {"config", json::array()}}
                                                                   .dump());
  ASSERT_EQ(ack["success"], true) << ack.dump();
  json hosts;
  ASSERT_TRUE(eventually([&] {
    hosts = kv_json("wadm_state", "host_default");
    return hosts[b]["components"].value("v1echo", 0) == 2;
  })) << hosts.dump();
  json comps = kv_json("wadm_state", "component_default");
  EXPECT_EQ(comps["v1echo"]["id"], "v1echo");
  EXPECT_EQ(comps["v1echo"]["instances"][b][0]["count"], 2) << comps.dump();
}

TEST_F(V1State, StoppedHostLeavesWadmState) {
  const std::string a = key_a->public_key(), b = key_b->public_key();
  host_a->stop(15);
  host_a.reset();
  json hosts;
  ASSERT_TRUE(eventually([&] {
    hosts = kv_json("wadm_state", "host_default");
    return hosts.is_object() && !hosts.contains(a);
  })) << hosts.dump();
  EXPECT_TRUE(hosts.contains(b));
  EXPECT_FALSE(kv_json("wadm_state", "component_default").contains(echo_key));
  EXPECT_FALSE(kv_json("wadm_state", "provider_default").contains(http_key));
}

// A host whose NATS server is gone stops promptly: removing its wadm_state entry must not wait
// for a KV round trip that cannot succeed (it took a 5 s timeout, on top of the 3 s of final
// flushes, before the writer checked the connection first).
TEST(V1StateStop, AHostWhoseNatsServerIsGoneStopsWithoutWaitingForWadmState) {
  const std::string d = testing::make_temp_dir("wc-v1state-stop");
  auto server = std::make_unique<testing::NatsServer>();
  auto key = wascap::KeyPair::generate(wascap::KeyType::kServer);
  testing::ChildProcess host(
      {std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host", "--nats-port",
       std::to_string(server->port()), "--no-native", "--heartbeat-interval-ms", "1000"},
      d + "/host.log", {"WASMCLOUD_HOST_SEED=" + key.seed(), "TMPDIR=" + d});
  lattice::ConnectOptions o;
  o.servers = {server->url()};
  auto c = lattice::Connection::connect(o);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(testing::wait_host_answers(**c, key.public_key())) << "log in " << d;
  // The host's first wadm_state write has landed (so the writer has its bucket open).
  auto kv = lattice::KvStore::open(**c, std::string(topics::kWadmStateBucket), false);
  ASSERT_TRUE(kv) << kv.error().message;
  bool listed = false;
  for (int i = 0; i < 100 && !listed; ++i) {
    auto v = kv->get(topics::wadm_state_hosts_key("default"));
    listed = v && *v && (*v)->value.find(key.public_key()) != std::string::npos;
    if (!listed) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(listed) << "log in " << d;
  c->reset();
  server->kill9();
  const auto t0 = std::chrono::steady_clock::now();
  const int status = host.interrupt_and_wait(30s);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(status, 0) << "log in " << d;
  // The final flushes wait up to 3 s for a server that is gone; anything past 6 s waited on KV.
  EXPECT_LT(took, 6s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms; log in " << d;
}

}  // namespace
}  // namespace wc
