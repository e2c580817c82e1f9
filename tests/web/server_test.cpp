// The dashboard's HTTP server against a real nats-server (and docker-registry where a test needs
// one), with a scripted host answering the control subjects: request handling, CSRF refusals,
// validation messages, JSON shapes, the requests sent to the lattice, and server-sent events.
#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/encoding.h"
#include "lattice/cloudevent.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "support/burst.h"
#include "support/servers.h"
#include "web/dashboard.h"
#include "web/messages.h"
#include "web/state.h"

namespace wc::web {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kFakeHost = "NFAKEHOSTAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kEchoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";

/// A scripted host: answers `{ctl}.default.{op}` with `reply` and records every request body.
class FakeHost {
 public:
  FakeHost(lattice::Connection& nc, const std::string& subject, json reply)
      : reply_(std::move(reply)) {
    auto sub = nc.subscribe(subject, [this, &nc](lattice::Message m) {
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(json::parse(m.text(), nullptr, false));
      }
      cv_.notify_all();
      (void)nc.respond(m, reply_.dump());
    });
    EXPECT_TRUE(sub);
    sub_ = std::move(*sub);
    // The server must know the subscription before the dashboard sends its request.
    EXPECT_TRUE(nc.flush(std::chrono::seconds(2)));
  }
  /// The first request body (waits up to 3 s; null when none came).
  json first() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 3s, [&] { return !bodies_.empty(); });
    return bodies_.empty() ? json() : bodies_.front();
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return bodies_.size();
  }

 private:
  json reply_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> bodies_;
  lattice::Subscription sub_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DashboardConfig cfg;
    cfg.port = 0;
    cfg.nats.servers = {nats_.url()};
    cfg.ping_wait = 200ms;
    cfg.refresh_interval = 60s;
    cfg.registry = "127.0.0.1:1";
    auto d = Dashboard::start(cfg);
    ASSERT_TRUE(d) << d.error().message;
    dash_ = std::move(*d);
    auto nc = lattice::Connection::connect({.servers = {nats_.url()}});
    ASSERT_TRUE(nc);
    nc_ = std::move(*nc);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", dash_->port());
    client_->set_read_timeout(10, 0);
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(dash_->port()); }

  /// POSTs JSON as the page does (same origin, token).
  httplib::Result post(const std::string& path, const json& body, httplib::Headers headers = {}) {
    if (!headers.contains("Origin")) headers.emplace("Origin", origin());
    if (!headers.contains("X-CSRF-Token")) headers.emplace("X-CSRF-Token", dash_->csrf_token());
    return client_->Post(path.c_str(), headers, body.dump(), "application/json");
  }

  static json body_of(const httplib::Result& r) { return json::parse(r->body, nullptr, false); }

  /// Publishes a lattice event and waits until the dashboard logged it.
  void publish_event(const std::string& name, const json& data,
                     const std::string& source = kFakeHost) {
    ASSERT_TRUE(
        lattice::publish_event(*nc_, "default", "com.wasmcloud.lattice." + name, source, data));
    for (int i = 0; i < 100; ++i) {
      auto r = client_->Get("/api/log");
      if (r && r->body.find("\"" + name + "\"") != std::string::npos) return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "event " << name << " not seen";
  }

  wc::testing::NatsServer nats_;
  std::unique_ptr<Dashboard> dash_;
  std::unique_ptr<lattice::Connection> nc_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServerTest, HealthEndpoints) {
  auto r = client_->Get("/api/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_of(r), json({{"ready", true}}));
  r = client_->Get("/api/livez");
  ASSERT_TRUE(r);
  EXPECT_EQ(body_of(r), json({{"live", true}}));
}

TEST_F(ServerTest, PageCarriesTheCsrfTokenAndSecurityHeaders) {
  auto r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(dash_->csrf_token()), std::string::npos);
  EXPECT_EQ(r->body.find("{{CSRF_TOKEN}}"), std::string::npos);
  EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_NE(r->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  auto js = client_->Get("/static/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_NE(js->get_header_value("Content-Type").find("javascript"), std::string::npos);
  EXPECT_EQ(client_->Get("/static/../dashboard.cpp")->status, 404);
  EXPECT_EQ(client_->Get("/static/package.json")->status, 404);
}

TEST_F(ServerTest, SessionAndStateShapes) {
  auto s = body_of(client_->Get("/api/session"));
  EXPECT_EQ(s["csrf_token"], dash_->csrf_token());
  EXPECT_EQ(s["lattice"], "default");
  EXPECT_TRUE(s["version"].is_string());
  auto st = body_of(client_->Get("/api/state"));
  EXPECT_EQ(st["lattice"], "default");
  for (const char* k : {"hosts", "actors", "providers", "links", "claims", "watches"})
    EXPECT_TRUE(st[k].is_array()) << k;
  auto m = body_of(client_->Get("/api/metrics"));
  EXPECT_EQ(m["window_seconds"], 60);
  EXPECT_TRUE(m["actors"].is_array());
}

TEST_F(ServerTest, UnknownHostHeaderIsRefused) {
  auto r =
      client_->Get("/api/state", {{"Host", "rebound.example:" + std::to_string(dash_->port())}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body_of(r)["error"], messages::kBadHost);
}

TEST_F(ServerTest, WrongOriginIsRefused) {
  FakeHost host(*nc_, "wasmbus.ctl.default.cmd.>", json{{"accepted", true}, {"error", ""}});
  auto r =
      post("/api/actors/scale", json{{"host_id", kFakeHost}, {"actor_id", kEchoKey}, {"count", 0}},
           {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body_of(r)["accepted"], false);
  EXPECT_EQ(body_of(r)["error"], messages::kCrossSiteRefused);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(host.count(), 0u);  // nothing reached the lattice
  auto log = client_->Get("/api/log");
  EXPECT_NE(log->body.find(std::string(messages::kCrossSiteRefused)), std::string::npos);
}

TEST_F(ServerTest, CrossSiteFetchIsRefused) {
  auto r = post("/api/actors/start", json{{"actor_ref", "x"}},
                {{"Origin", origin()}, {"Sec-Fetch-Site", "cross-site"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body_of(r)["error"], messages::kCrossSiteRefused);
}

TEST_F(ServerTest, MissingCsrfTokenIsRefused) {
  auto r = client_->Post("/api/actors/start", {{"Origin", origin()}},
                         json{{"actor_ref", "x"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body_of(r)["error"], messages::kBadCsrfToken);
}

TEST_F(ServerTest, WrongCsrfTokenIsRefused) {
  auto r = post("/api/actors/start", json{{"actor_ref", "x"}}, {{"X-CSRF-Token", "0000"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(body_of(r)["error"], messages::kBadCsrfToken);
}

TEST_F(ServerTest, BodyThatIsNotJsonIsRefused) {
  auto r = client_->Post("/api/actors/start",
                         {{"Origin", origin()}, {"X-CSRF-Token", dash_->csrf_token()}}, "{nope",
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r)["error"], messages::kBadJsonBody);
}

TEST_F(ServerTest, ValidationMessagesComeBackAs400) {
  auto r = post("/api/actors/start", json{{"actor_ref", ""}, {"count", 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r), json({{"accepted", false}, {"error", messages::kEnterOciReference}}));
  r = post("/api/actors/scale",
           json{{"host_id", kFakeHost}, {"actor_id", kEchoKey}, {"count", -2}});
  EXPECT_EQ(body_of(r)["error"], messages::kReplicasAtLeastZero);
  r = post("/api/links/put", json{{"provider_id", "V"}, {"contract_id", "c"}});
  EXPECT_EQ(body_of(r)["error"], "Please select an Actor ID to link");
  r = post("/api/hotwatch/stop", json{{"path", "/nothing"}});
  EXPECT_EQ(body_of(r)["error"], messages::kNotWatched);
}

TEST_F(ServerTest, StartSendsScaleWithTheActorKeyFromTheReferenceMap) {
  const std::string ref = "127.0.0.1:5000/echo:0.3.4";
  publish_event("refmap_set", json{{"oci_url", ref}, {"public_key", kEchoKey}});
  FakeHost host(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".scale",
                json{{"accepted", true}, {"error", ""}});
  auto r =
      post("/api/actors/start", json{{"actor_ref", ref}, {"count", "2"}, {"host_id", kFakeHost}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto b = body_of(r);
  EXPECT_EQ(b["accepted"], true);
  EXPECT_EQ(b["host_id"], kFakeHost);
  EXPECT_EQ(b["actor_id"], kEchoKey);
  EXPECT_EQ(b["count"], 2);
  // Exactly the original dashboard's body: the host is named in the subject only.
  EXPECT_EQ(host.first(), json({{"actor_id", kEchoKey}, {"actor_ref", ref}, {"count", 2}}));
}

TEST_F(ServerTest, StartWithAnyHostRunsTheAuction) {
  const std::string ref = "127.0.0.1:5000/echo:0.3.4";
  publish_event("refmap_set", json{{"oci_url", ref}, {"public_key", kEchoKey}});
  FakeHost auction(
      *nc_, "wasmbus.ctl.default.auction.actor",
      json{{"actor_ref", ref}, {"constraints", json::object()}, {"host_id", kFakeHost}});
  FakeHost scale(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".scale",
                 json{{"accepted", true}, {"error", ""}});
  auto r = post("/api/actors/start", json{{"actor_ref", ref}, {"count", 1}, {"host_id", ""}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(auction.first(), json({{"actor_ref", ref}, {"constraints", json::object()}}));
  EXPECT_EQ(scale.first(), json({{"actor_id", kEchoKey}, {"actor_ref", ref}, {"count", 1}}));
}

TEST_F(ServerTest, AuctionWithoutResponders) {
  const std::string ref = "127.0.0.1:5000/echo:0.3.4";
  publish_event("refmap_set", json{{"oci_url", ref}, {"public_key", kEchoKey}});
  auto r = post("/api/actors/start", json{{"actor_ref", ref}, {"count", 1}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(body_of(r)["error"], "No responders to actor auction");
}

TEST_F(ServerTest, AuctionReplyWithoutHostId) {
  const std::string ref = "127.0.0.1:5000/echo:0.3.4";
  publish_event("refmap_set", json{{"oci_url", ref}, {"public_key", kEchoKey}});
  FakeHost auction(*nc_, "wasmbus.ctl.default.auction.actor", json{{"accepted", false}});
  auto r = post("/api/actors/start", json{{"actor_ref", ref}, {"count", 1}});
  EXPECT_EQ(body_of(r)["error"], "Auction response did not contain Host ID");
}

TEST_F(ServerTest, StartOnAHostThatDoesNotAnswer) {
  const std::string ref = "127.0.0.1:5000/echo:0.3.4";
  publish_event("refmap_set", json{{"oci_url", ref}, {"public_key", kEchoKey}});
  auto r =
      post("/api/actors/start", json{{"actor_ref", ref}, {"count", 1}, {"host_id", kFakeHost}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(body_of(r)["error"], "No responders to actor start request");
}

TEST_F(ServerTest, RefusedAckIsShown) {
  const std::string ref = "127.0.0.1:5000/echo:0.3.4";
  publish_event("refmap_set", json{{"oci_url", ref}, {"public_key", kEchoKey}});
  FakeHost host(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".scale",
                json{{"accepted", false}, {"error", "Invalid scale actor JSON request"}});
  auto r =
      post("/api/actors/start", json{{"actor_ref", ref}, {"count", 1}, {"host_id", kFakeHost}});
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(body_of(r)["error"], "Invalid scale actor JSON request");
}

TEST_F(ServerTest, UnreachableRegistryIsShown) {
  auto r = post("/api/actors/start",
                json{{"actor_ref", "127.0.0.1:1/nothing:1"}, {"count", 1}, {"host_id", kFakeHost}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  auto err = body_of(r)["error"].get<std::string>();
  EXPECT_EQ(err.rfind(std::string(messages::kRegistryPullFailedPrefix), 0), 0u) << err;
}

TEST_F(ServerTest, StartFromARealRegistryReadsTheClaims) {
  wc::testing::RegistryServer registry;
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(bytes);
  const std::string ref = registry.host() + "/echo:0.3.4";
  oci::PushOptions po;
  po.allowed_insecure = {registry.host()};
  ASSERT_TRUE(oci::Client().push(ref, *bytes, po));
  FakeHost host(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".scale",
                json{{"accepted", true}, {"error", ""}});
  auto r =
      post("/api/actors/start", json{{"actor_ref", ref}, {"count", 1}, {"host_id", kFakeHost}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(host.first()["actor_id"], kEchoKey);
  // The claims name is now known to the state (claims list used by the link form).
  auto st = body_of(client_->Get("/api/state"));
  bool found = false;
  for (const auto& c : st["claims"]) found = found || (c["id"] == kEchoKey && c["name"] == "Echo");
  EXPECT_TRUE(found) << st.dump();
}

TEST_F(ServerTest, UploadWithoutFileOrTooLarge) {
  httplib::MultipartFormDataItems items = {{"count", "1", "", ""}, {"host_id", kFakeHost, "", ""}};
  httplib::Headers h{{"Origin", origin()}, {"X-CSRF-Token", dash_->csrf_token()}};
  auto r = client_->Post("/api/actors/upload", h, items);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r)["error"], "Please select a file");
  items.push_back({"file", std::string(16'000'001, 'x'), "big.wasm", "application/wasm"});
  r = client_->Post("/api/actors/upload", h, items);
  ASSERT_TRUE(r);
  EXPECT_EQ(body_of(r)["error"], "Uploaded actor was too large, must be under 16000000 bytes");
}

TEST_F(ServerTest, UploadOfAnUnsignedModuleIsRefused) {
  httplib::MultipartFormDataItems items = {
      {"count", "1", "", ""},
      {"file", std::string("\0asm\x01\0\0\0", 8), "plain.wasm", "application/wasm"}};
  auto r = client_->Post("/api/actors/upload",
                         {{"Origin", origin()}, {"X-CSRF-Token", dash_->csrf_token()}}, items);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  auto err = body_of(r)["error"].get<std::string>();
  EXPECT_EQ(err.rfind(std::string(messages::kClaimsRefusedPrefix), 0), 0u) << err;
}

TEST_F(ServerTest, UploadIsPushedToTheRegistryThenStarted) {
  wc::testing::RegistryServer registry;
  DashboardConfig cfg;
  cfg.port = 0;
  cfg.nats.servers = {nats_.url()};
  cfg.registry = registry.host();
  auto d = Dashboard::start(cfg);
  ASSERT_TRUE(d);
  httplib::Client c("127.0.0.1", (*d)->port());
  c.set_read_timeout(10, 0);
  FakeHost host(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".scale",
                json{{"accepted", true}, {"error", ""}});
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(bytes);
  httplib::MultipartFormDataItems items = {
      {"count", "2", "", ""},
      {"host_id", kFakeHost, "", ""},
      {"file", to_string(*bytes), "echo.wasm", "application/wasm"}};
  auto r = c.Post("/api/actors/upload",
                  {{"Origin", "http://127.0.0.1:" + std::to_string((*d)->port())},
                   {"X-CSRF-Token", (*d)->csrf_token()}},
                  items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto ref = body_of(r)["actor_ref"].get<std::string>();
  EXPECT_EQ(ref.rfind(registry.host() + "/dashboard/mbcfopm6", 0), 0u) << ref;
  auto sent = host.first();
  EXPECT_EQ(sent["actor_ref"], ref);
  EXPECT_EQ(sent["actor_id"], kEchoKey);
  EXPECT_EQ(sent["count"], 2);
  oci::PullOptions po;
  po.allowed_insecure = {registry.host()};
  po.cache = oci::CachePolicy::kNone;
  auto pulled = oci::Client().pull(ref, po);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->bytes, *bytes);
}

TEST_F(ServerTest, HotReloadSendsUpdateWhenTheFileChanges) {
  auto dir = wc::testing::make_temp_dir("web-hot");
  const std::string path = dir + "/echo.wasm";
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(bytes);
  ASSERT_TRUE(write_file(path, *bytes));
  FakeHost scale(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".scale",
                 json{{"accepted", true}, {"error", ""}});
  FakeHost upd(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".upd",
               json{{"accepted", true}, {"error", ""}});
  auto r =
      post("/api/actors/hotreload", json{{"path", path}, {"count", 1}, {"host_id", kFakeHost}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(scale.first(),
            json({{"actor_id", kEchoKey}, {"actor_ref", "file://" + path}, {"count", 1}}));
  auto st = body_of(client_->Get("/api/state"));
  ASSERT_EQ(st["watches"].size(), 1u);
  EXPECT_EQ(st["watches"][0]["path"], path);
  // Same claims, different bytes (a trailing custom section) → one upd with the file reference.
  Bytes changed = *bytes;
  for (std::uint8_t b : std::initializer_list<std::uint8_t>{0x00, 0x03, 0x01, 'x', 0x00})
    changed.push_back(b);
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(write_file(path, changed));
  EXPECT_EQ(upd.first(), json({{"actor_id", kEchoKey}, {"new_actor_ref", "file://" + path}}));
  r = post("/api/hotwatch/stop", json{{"path", path}});
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(body_of(client_->Get("/api/state"))["watches"].empty());
  std::filesystem::remove_all(dir);
}

TEST_F(ServerTest, LinkPutSendsTheLinkDefinition) {
  FakeHost put(*nc_, "wasmbus.ctl.default.linkdefs.put", json{{"accepted", true}, {"error", ""}});
  auto r = post("/api/links/put", json{{"actor_id", kEchoKey},
                                       {"provider_id", "VPROV"},
                                       {"contract_id", "wasmcloud:keyvalue"},
                                       {"values", "URL=redis://x/,A=1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(put.first(), json({{"actor_id", kEchoKey},
                               {"contract_id", "wasmcloud:keyvalue"},
                               {"link_name", "default"},
                               {"provider_id", "VPROV"},
                               {"values", {{"A", "1"}, {"URL", "redis://x/"}}}}));
}

TEST_F(ServerTest, LinkDeleteSendsActorContractAndLinkName) {
  FakeHost del(*nc_, "wasmbus.ctl.default.linkdefs.del", json{{"accepted", true}, {"error", ""}});
  auto r = post("/api/links/delete", json{{"actor_id", kEchoKey},
                                          {"contract_id", "wasmcloud:keyvalue"},
                                          {"link_name", "default"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(del.first(), json({{"actor_id", kEchoKey},
                               {"contract_id", "wasmcloud:keyvalue"},
                               {"link_name", "default"}}));
}

TEST_F(ServerTest, ProviderStartAndStopSendTheOriginalBodies) {
  constexpr const char* kProvider = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";
  FakeHost auction(*nc_, "wasmbus.ctl.default.auction.provider",
                   json{{"provider_ref", "r/http:1"},
                        {"link_name", "default"},
                        {"constraints", json::object()},
                        {"host_id", kFakeHost}});
  FakeHost lp(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".lp",
              json{{"accepted", true}, {"error", ""}});
  FakeHost sp(*nc_, std::string("wasmbus.ctl.default.cmd.") + kFakeHost + ".sp",
              json{{"accepted", true}, {"error", ""}});
  auto r = post("/api/providers/start", json{{"provider_ref", "r/http:1"}, {"host_id", ""}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(auction.first(), json({{"provider_ref", "r/http:1"},
                                   {"link_name", "default"},
                                   {"constraints", json::object()}}));
  EXPECT_EQ(lp.first(),
            json({{"provider_ref", "r/http:1"}, {"link_name", "default"}, {"configuration", ""}}));
  r = post("/api/providers/stop", json{{"host_id", kFakeHost},
                                       {"provider_id", kProvider},
                                       {"link_name", "default"},
                                       {"contract_id", "wasmcloud:httpserver"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(sp.first(), json({{"provider_ref", kProvider}, {"link_name", "default"}}));
}

TEST_F(ServerTest, LinkPutWithoutResponders) {
  auto r = post("/api/links/put",
                json{{"actor_id", kEchoKey}, {"provider_id", "V"}, {"contract_id", "c"}});
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(body_of(r)["error"].get<std::string>().rfind("Error publishing link definition", 0),
            0u);
}

// The Applications view and actions (web/applications.h) over the real NATS connection: with
// no wadm the state says so; deploy / undeploy are guarded POSTs sent to the wadm API.
TEST_F(ServerTest, ApplicationsWithoutWadmSaySo) {
  json apps;
  for (int i = 0; i < 100; ++i) {
    auto r = client_->Get("/api/state");
    ASSERT_TRUE(r);
    apps = body_of(r)["applications"];
    if (apps["message"] != messages::kWadmNotAskedYet) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(apps["available"], false);
  EXPECT_EQ(apps["message"], messages::kNoWadm);
  EXPECT_TRUE(apps["apps"].empty());
  auto r = post("/api/apps/undeploy", json{{"name", "shop"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(body_of(r)["error"], messages::kNoWadm);
}

TEST_F(ServerTest, DeployAndUndeployAreGuardedRequestsToTheWadmApi) {
  FakeHost deploy(*nc_, "wadm.api.default.model.deploy.shop",
                  json{{"result", "acknowledged"}, {"message", "ok"}});
  FakeHost undeploy(*nc_, "wadm.api.default.model.undeploy.shop",
                    json{{"result", "acknowledged"}, {"message", "ok"}});
  auto refused = post("/api/apps/deploy", json{{"name", "shop"}}, {{"X-CSRF-Token", "wrong"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  auto bad = post("/api/apps/deploy", json{{"name", "a.b"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(body_of(bad)["error"], messages::kBadAppName);
  EXPECT_EQ(deploy.count(), 0u);

  auto r = post("/api/apps/deploy", json{{"name", "shop"}, {"version", "v2"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_of(r)["accepted"], true);
  EXPECT_EQ(deploy.first(), (json{{"version", "v2"}}));
  EXPECT_EQ(deploy.count(), 1u);

  r = post("/api/apps/undeploy", json{{"name", "shop"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(undeploy.first(), (json{{"non_destructive", false}}));
}

TEST_F(ServerTest, EventsUpdateTheStateAndReachTheStream) {
  std::string stream;
  std::atomic<bool> saw{false};
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", dash_->port());
    c.set_read_timeout(5, 0);
    c.Get("/api/events", [&](const char* data, std::size_t n) {
      stream.append(data, n);
      if (stream.find("actor_started") != std::string::npos &&
          stream.find("\"count\":1") != std::string::npos) {
        saw = true;
        return false;
      }
      return true;
    });
  });
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(lattice::publish_event(*nc_, "default", "com.wasmcloud.lattice.actor_started",
                                     kFakeHost,
                                     json{{"public_key", kEchoKey},
                                          {"image_ref", "r"},
                                          {"instance_id", "i"},
                                          {"annotations", json::object()},
                                          {"claims", json{{"name", "Echo"}, {"revision", 4}}}}));
  reader.join();
  EXPECT_TRUE(saw) << stream.substr(0, 2000);
  EXPECT_NE(stream.find("event: state"), std::string::npos);
  EXPECT_NE(stream.find("event: log"), std::string::npos);
  EXPECT_NE(stream.find("event: metrics"), std::string::npos);
  auto st = body_of(client_->Get("/api/state"));
  ASSERT_EQ(st["actors"].size(), 1u);
  EXPECT_EQ(st["actors"][0]["count"], 1);
}

TEST_F(ServerTest, InvocationEventsFeedTheMetrics) {
  ASSERT_TRUE(lattice::publish_rpc_event(*nc_, "default", "com.wasmcloud.lattice.invocation_failed",
                                         kFakeHost,
                                         json{{"source", json{{"public_key", "MCALLER"}}},
                                              {"dest", json{{"public_key", kEchoKey}}},
                                              {"operation", "HttpServer.HandleRequest"},
                                              {"bytes", 1}}));
  json m;
  for (int i = 0; i < 100; ++i) {
    m = body_of(client_->Get("/api/metrics"));
    if (!m["actors"].empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(m["actors"].size(), 1u);
  EXPECT_EQ(m["actors"][0]["id"], kEchoKey);
  EXPECT_EQ(m["actors"][0]["errors"], 1);
}

// Issue #17.3: every page load replayed old failures as fresh notices. A stream's first log
// entries are the history and say so; entries that arrive later do not.
TEST_F(ServerTest, EventStreamMarksTheHistoryAndCapsLongTexts) {
  const std::string huge(500 * 1024, 'A');
  publish_event("actor_start_failed", json{{"actor_ref", "old-" + huge}, {"error", "old"}});
  std::string stream;
  std::atomic<bool> listening{false};
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", dash_->port());
    c.set_read_timeout(5, 0);
    c.Get("/api/events", [&](const char* data, std::size_t n) {
      stream.append(data, n);
      listening = true;
      const auto at = stream.find("new-AAAA");  // read on to the end of that event
      return at == std::string::npos || stream.find("\n\n", at) == std::string::npos;
    });
  });
  for (int i = 0; i < 100 && !listening; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(listening);
  publish_event("actor_start_failed", json{{"actor_ref", "new-" + huge}, {"error", "new"}});
  reader.join();
  std::vector<json> logs;
  for (std::size_t at = 0; (at = stream.find("event: log\ndata: ", at)) != std::string::npos;) {
    at += 17;
    logs.push_back(json::parse(stream.substr(at, stream.find('\n', at) - at), nullptr, false));
  }
  ASSERT_EQ(logs.size(), 2u) << stream.substr(0, 500);
  EXPECT_EQ(logs[0]["history"], true);
  EXPECT_EQ(logs[0]["data"]["error"], "old");
  EXPECT_FALSE(logs[1].contains("history"));
  EXPECT_EQ(logs[1]["data"]["error"], "new");
  for (const auto& l : logs) {
    // The whole string is cut to kMaxLatticeText bytes, then "…" (3 bytes of UTF-8).
    EXPECT_EQ(l["data"]["actor_ref"].get<std::string>().size(), web::kMaxLatticeText + 3);
    EXPECT_LT(l["summary"].get<std::string>().size(), 5000u);
  }
  EXPECT_LT(client_->Get("/api/log")->body.size(), 40000u);
}

/// A GET as a raw client sends it (the guard wants the dashboard's own Host).
std::string raw_get(const std::string& path, int port, bool close = true) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         (close ? "\r\nConnection: close" : "") + "\r\n\r\n";
}

/// Raises the soft open-file limit to at least `n` (within the hard limit).
void raise_fd_limit(rlim_t n) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur >= n) return;
  rl.rlim_cur = std::min(n, rl.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
  ASSERT_GE(rl.rlim_cur, n) << "hard RLIMIT_NOFILE too low for this test";
}

// Issue #12.9: httplib's compiled-in backlog of 5 dropped connections under bursts.
TEST_F(ServerTest, ListenBacklogHoldsABurstOf256Connections) {
  EXPECT_GE(wc::testing::listen_backlog(dash_->port()), 256);
  wc::testing::Burst burst(dash_->port(), 256);
  auto statuses = burst.exchange(raw_get("/api/livez", dash_->port()), 30s);
  int ok = 0;
  for (int st : statuses) ok += st == 200 ? 1 : 0;
  EXPECT_EQ(ok, 256);
}

// Issue #11.4: 1,000 open event streams took all 32 HTTP workers and starved every page.
TEST_F(ServerTest, ThousandEventStreamsDoNotStarveThePage) {
  raise_fd_limit(4096);
  // 250 client addresses with 4 streams each: within the per-client limit, past the total one.
  std::vector<std::string> sources;
  for (int i = 2; i < 252; ++i) sources.push_back("127.0.0." + std::to_string(i));
  wc::testing::Burst streams(dash_->port(), 1000, sources);
  auto statuses = streams.exchange(raw_get("/api/events", dash_->port(), false), 30s, true);
  int open = 0, refused = 0;
  for (int st : statuses) {
    open += st == 200 ? 1 : 0;
    refused += st == 503 ? 1 : 0;
  }
  EXPECT_EQ(open, 16);  // DashboardConfig::max_streams
  EXPECT_EQ(refused, 1000 - 16);
  // With the streams still open, the page and the health check answer at once.
  httplib::Client c("127.0.0.1", dash_->port());
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(2, 0);
  for (const char* path : {"/", "/api/livez", "/api/state"}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.Get(path);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    ASSERT_TRUE(r) << path << ": " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_LT(ms, 2000) << path;
  }
}

TEST_F(ServerTest, EventStreamsPerClientAreLimitedAndComeBackWhenClosed) {
  {
    wc::testing::Burst streams(dash_->port(), 10, {"127.0.0.1"});
    auto statuses = streams.exchange(raw_get("/api/events", dash_->port(), false), 10s, true);
    int open = 0, refused = 0;
    for (int st : statuses) {
      open += st == 200 ? 1 : 0;
      refused += st == 503 ? 1 : 0;
    }
    EXPECT_EQ(open, 4);  // DashboardConfig::max_streams_per_client
    EXPECT_EQ(refused, 6);
    // A refusal is a complete response and the server closes the connection (read to EOF).
    wc::testing::Burst extra(dash_->port(), 1, {"127.0.0.1"});
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(extra.exchange(raw_get("/api/events", dash_->port(), false), 10s),
              std::vector<int>{503});
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "refused connection left open";
    EXPECT_NE(extra.response(0).find("Retry-After: 5"), std::string::npos);
    EXPECT_NE(extra.response(0).find(std::string(messages::kTooManyStreams)), std::string::npos)
        << extra.response(0);
    // Another client address is not affected.
    wc::testing::Burst other(dash_->port(), 1, {"127.0.0.9"});
    EXPECT_EQ(other.exchange(raw_get("/api/events", dash_->port(), false), 10s, true),
              std::vector<int>{200});
  }
  // The clients went away: their slots are freed at the stream's next write (an idle stream
  // writes a comment every 5 s), so a new stream from the same address is served again.
  int status = 0;
  for (int i = 0; i < 40 && status != 200; ++i) {
    wc::testing::Burst again(dash_->port(), 1, {"127.0.0.1"});
    status = again.exchange(raw_get("/api/events", dash_->port(), false), 5s, true).at(0);
    if (status != 200) std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(status, 200);
}

TEST(Dashboard, MissingUiDirectoryFails) {
  wc::testing::NatsServer nats;
  DashboardConfig cfg;
  cfg.port = 0;
  cfg.nats.servers = {nats.url()};
  cfg.ui_dir = "/nonexistent/ui";
  auto d = Dashboard::start(cfg);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Code::kNotFound);
}

TEST(Dashboard, UnreachableNatsFails) {
  DashboardConfig cfg;
  cfg.port = 0;
  cfg.nats.servers = {"nats://127.0.0.1:" + std::to_string(wc::testing::free_port())};
  auto d = Dashboard::start(cfg);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Code::kUnavailable);
}

TEST(Dashboard, PortInUseFails) {
  wc::testing::NatsServer nats;
  DashboardConfig cfg;
  cfg.port = 0;
  cfg.nats.servers = {nats.url()};
  auto first = Dashboard::start(cfg);
  ASSERT_TRUE(first);
  cfg.port = (*first)->port();
  auto second = Dashboard::start(cfg);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::kUnavailable);
}

TEST(Dashboard, EnvironmentSetsPortBindAndLattice) {
  DashboardConfig cfg;
  ASSERT_TRUE(apply_environment(cfg, {{"WASMCLOUD_DASHBOARD_PORT", "4100"},
                                      {"WASMCLOUD_DASHBOARD_BIND", "0.0.0.0"},
                                      {"WASMCLOUD_LATTICE_PREFIX", "blue"},
                                      {"WASMCLOUD_CTL_PORT", "4333"}}));
  EXPECT_EQ(cfg.port, 4100);
  EXPECT_EQ(cfg.bind, "0.0.0.0");
  EXPECT_EQ(cfg.lattice, "blue");
  EXPECT_EQ(cfg.nats.servers, std::vector<std::string>{"nats://127.0.0.1:4333"});
  DashboardConfig defaults;
  ASSERT_TRUE(apply_environment(defaults, {}));
  EXPECT_EQ(defaults.port, 4000);
  EXPECT_EQ(defaults.bind, "127.0.0.1");
}

TEST(Dashboard, EnvironmentRejectsABadPort) {
  DashboardConfig cfg;
  EXPECT_FALSE(apply_environment(cfg, {{"WASMCLOUD_DASHBOARD_PORT", "40x"}}));
  EXPECT_FALSE(apply_environment(cfg, {{"WASMCLOUD_DASHBOARD_PORT", "70000"}}));
}

}  // namespace
}  // namespace wc::web
