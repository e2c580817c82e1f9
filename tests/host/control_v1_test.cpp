// V1ControlServer (src/host/control_v1.h) against fakes: the pure v1 parsers, routing and replies,
// bad input on every subject, scale through the real ActorSupervisor (signed fixture module, fake
// engine) with its OTP and v1 events, labels, the host-less provider.start relay, auctions and
// the v1 events derived from OTP ones.
#include "host/control_v1.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "fakes.h"
#include "host/errors.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc::host {
namespace {

using nlohmann::json;
using testing::bytes_of;
using testing::EventLog;
using testing::FakeBus;
using testing::FakeModule;
using testing::Sent;
namespace topics = lattice::topics;
namespace ev = lattice::events;

constexpr const char* kLattice = "unit";
constexpr const char* kHost = "NHOSTUNIT";
/// echo.wasm's subject (fixtures README).
constexpr const char* kEchoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kEchoRef = "registry.test/echo:0.3.4";
const std::string kRoot = "wasmbus.ctl.v1." + std::string(kLattice) + ".";

Bytes fixture(const std::string& name) {
  auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + name);
  EXPECT_TRUE(b) << name << ": " << b.error().message;
  return b ? *b : Bytes{};
}

struct Fixture {
  FakeBus ctl, rpc;
  EventLog events;  // OTP events
  oci::CredentialStore creds;
  std::unique_ptr<MetadataCache> metadata;
  std::unique_ptr<PolicyManager> policy;
  std::unique_ptr<ActorSupervisor> actors;
  std::unique_ptr<V1ControlServer> server;
  std::vector<std::function<void()>> lifecycle;
  std::map<std::string, Bytes> registry;
  StringMap labels{{"zone", "a"}, {"hostcore.os", "linux"}};
  std::vector<StartProviderRequest> launched;
  std::vector<ProviderInfo> running_providers;
  int heartbeats = 0, stops = 0;

  Fixture() {
    registry[kEchoRef] = fixture("echo.wasm");
    MetadataCacheDeps md;
    md.ctl = &ctl;
    md.rpc = &rpc;
    md.post = [](std::function<void()>) { return true; };
    md.lattice_prefix = kLattice;
    metadata = std::make_unique<MetadataCache>(std::move(md));
    policy = std::make_unique<PolicyManager>(
        "", std::chrono::milliseconds(10), json::object(),
        [](auto&, auto&, auto) -> Result<std::string> { return std::string("{}"); });
    // What Host::Impl::emit does: the OTP event, then its v1 counterparts.
    auto emit = [this](std::string_view type, const json& data, bool linkdef) {
      events.emitter()(type, data, linkdef);
      if (server) server->on_event(type, data);
    };
    ActorSupervisorDeps ad;
    ad.rpc = &rpc;
    ad.metadata = metadata.get();
    ad.policy = policy.get();
    ad.emit = emit;
    ad.fetch = [this](const std::string& ref) -> Result<Bytes> {
      auto it = registry.find(ref);
      if (it == registry.end()) return fail(Code::kNotFound, "manifest unknown: " + ref);
      return it->second;
    };
    ad.load = [](const Bytes&, const std::string&) -> Result<std::shared_ptr<wasm::Module>> {
      return std::shared_ptr<wasm::Module>(std::make_shared<FakeModule>());
    };
    ad.post_rpc = [](std::function<void()>) { return true; };
    ad.host_id = kHost;
    ad.lattice_prefix = kLattice;
    actors = std::make_unique<ActorSupervisor>(std::move(ad));
    V1ControlServerDeps d;
    d.ctl = &ctl;
    d.actors = actors.get();
    d.metadata = metadata.get();
    d.creds = &creds;
    d.post_control = [](std::function<void()> t) {
      t();
      return true;
    };
    d.post_lifecycle = [this](std::function<void()> t) {
      lifecycle.push_back(std::move(t));
      return true;
    };
    d.facts = [this] {
      HostFacts f;
      f.host_id = kHost;
      f.friendly_name = "unit-host";
      f.labels = labels;
      f.lattice_prefix = kLattice;
      f.uptime_seconds = 3725;
      return f;
    };
    d.providers = [this] { return running_providers; };
    d.provider_supervised = [this](const std::string& key, const std::string& link) {
      for (const auto& p : running_providers)
        if (p.public_key == key && p.link_name == link) return true;
      return false;
    };
    d.stop_provider = [this](const std::string& key, const std::string& link) {
      std::erase_if(running_providers, [&](const ProviderInfo& p) {
        return p.public_key == key && p.link_name == link;
      });
    };
    d.launch_provider = [this](const StartProviderRequest& r) { launched.push_back(r); };
    d.resolve_provider_key = [this](const std::string& ref) -> std::optional<std::string> {
      if (!ref.empty() && ref[0] == 'V') return ref;
      return metadata->resolve_reference(ref);
    };
    d.update_labels = [this](const std::function<void(StringMap&)>& change) {
      change(labels);
      return labels;
    };
    d.heartbeat = [this] { ++heartbeats; };
    d.request_stop = [this] { ++stops; };
    d.host_id = kHost;
    d.lattice_prefix = kLattice;
    d.version = "0.63.2";
    server = std::make_unique<V1ControlServer>(std::move(d));
  }

  /// Sends `body` on `{root}{op}` and returns the JSON replies.
  std::vector<json> send(const std::string& op, const std::string& body = "") {
    const auto before = ctl.published().size();
    Bytes data(body.begin(), body.end());
    const std::string subject = kRoot + op;
    server->handle(ControlRequest{subject, "_INBOX.r", data});
    return replies_since(before);
  }
  std::vector<json> replies_since(std::size_t before) const {
    std::vector<json> out;
    auto all = ctl.published();
    for (std::size_t i = before; i < all.size(); ++i)
      if (all[i].subject == "_INBOX.r") out.push_back(json::parse(all[i].text()));
    return out;
  }
  /// Data of the v1 events `name` published so far (CloudEvent type checked).
  std::vector<json> v1(std::string_view name) const {
    std::vector<json> out;
    for (const auto& s : ctl.published()) {
      if (s.subject != topics::v1_event_subject(kLattice, name)) continue;
      auto e = json::parse(s.text());
      EXPECT_EQ(e["type"], ev::type_of(name));
      EXPECT_EQ(e["source"], kHost);
      out.push_back(e["data"]);
    }
    return out;
  }
  void run_lifecycle() {
    while (!lifecycle.empty()) {
      auto tasks = std::move(lifecycle);
      lifecycle.clear();
      for (auto& t : tasks) t();
    }
  }
  std::size_t instances(const std::string& key) const {
    for (const auto& a : actors->snapshot())
      if (a.public_key == key) return a.instances.size();
    return 0;
  }
};

json one(const std::vector<json>& replies) {
  EXPECT_EQ(replies.size(), 1u);
  return replies.empty() ? json() : replies[0];
}

void expect_refused(const json& r, std::string_view text) {
  EXPECT_EQ(r["success"], false) << r.dump();
  EXPECT_EQ(r["message"], text) << r.dump();
  EXPECT_FALSE(r.contains("response"));
}

// ------------------------------------------------------------------ pure parsing

TEST(V1Parse, SubjectTokens) {
  auto s = parse_v1_subject(kRoot + "component.scale.NH", kLattice, "wasmbus.ctl");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->resource, "component");
  EXPECT_EQ(s->op, "scale");
  EXPECT_EQ(s->arg, "NH");
  auto p = parse_v1_subject(kRoot + "host.ping", kLattice, "wasmbus.ctl");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->arg, "");
  for (const std::string& bad :
       std::vector<std::string>{"wasmbus.ctl.v1.other.host.ping", "wasmbus.ctl.unit.host.ping",
                                kRoot + "host", kRoot + "a.b.c.d", kRoot + "a..b"}) {
    auto r = parse_v1_subject(bad, kLattice, "wasmbus.ctl");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message, errors::kV1UnsupportedSubject);
  }
}

TEST(V1Parse, ScaleAcceptsMaxInstancesOrCount) {
  auto a = parse_v1_scale_component(
      R"({"host_id":"NH","component_ref":"r/echo:1","component_id":"echo","max_instances":2,
          "annotations":{"a":"b"},"config":["c1"]})");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->count, 2);
  EXPECT_EQ(a->annotations.at("a"), "b");
  EXPECT_EQ(a->config, std::vector<std::string>{"c1"});
  auto b = parse_v1_scale_component(R"({"component_ref":"r/e:1","component_id":"echo","count":3})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->count, 3);
  auto both = parse_v1_scale_component(
      R"({"component_ref":"r/e:1","component_id":"echo","count":3,"max_instances":3})");
  ASSERT_TRUE(both);
  auto zero = parse_v1_scale_component(R"({"component_id":"echo","max_instances":0})");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->count, 0);
}

TEST(V1Parse, ScaleRefusesBadInput) {
  const std::pair<std::string, std::string> cases[] = {
      {"not json", std::string(errors::kV1BodyNotJsonObject)},
      {"[1,2]", std::string(errors::kV1BodyNotJsonObject)},
      {"", std::string(errors::kV1BodyNotJsonObject)},
      {R"({"component_ref":"r/e:1","max_instances":1})", errors::v1_field_missing("component_id")},
      {R"({"component_ref":"r/e:1","component_id":"a.b","max_instances":1})",
       errors::v1_bad_id("component_id")},
      {R"({"component_ref":"r/e:1","component_id":7,"max_instances":1})",
       errors::v1_field_type("component_id", "a string")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":-1})",
       errors::v1_field_type("max_instances", "a non-negative integer")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":"2"})",
       errors::v1_field_type("max_instances", "a non-negative integer")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":1.5})",
       errors::v1_field_type("max_instances", "a non-negative integer")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":100000})",
       std::string(errors::kTooManyInstances)},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":1,"count":2})",
       std::string(errors::kV1CountConflict)},
      {R"({"component_id":"e","max_instances":1})", errors::v1_field_missing("component_ref")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":1,"annotations":[1]})",
       errors::v1_field_type("annotations", "an object of strings")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":1,"annotations":{"a":1}})",
       errors::v1_field_type("annotations", "an object of strings")},
      {R"({"component_ref":"r/e:1","component_id":"e","max_instances":1,"config":"c"})",
       errors::v1_field_type("config", "an array of strings")},
      {R"({"component_ref":5,"component_id":"e","max_instances":1})",
       errors::v1_field_type("component_ref", "a string")},
  };
  for (const auto& [body, text] : cases) {
    auto r = parse_v1_scale_component(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().message, text) << body;
  }
  auto longref = parse_v1_scale_component(
      json{{"component_ref", std::string(5000, 'r')}, {"component_id", "e"}, {"count", 1}}.dump());
  ASSERT_FALSE(longref);
  EXPECT_EQ(longref.error().message, errors::field_too_long("component_ref", kMaxReferenceLength));
}

TEST(V1Parse, ProviderLabelsHostStopAndAuctions) {
  auto sp = parse_v1_start_provider(
      R"({"host_id":"NH","provider_ref":"r/http:1","provider_id":"http","annotations":{}})");
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->provider_id, "http");
  EXPECT_FALSE(parse_v1_start_provider(R"({"provider_ref":"r/http:1"})"));
  EXPECT_FALSE(parse_v1_start_provider(R"({"provider_id":"http"})"));
  auto stop = parse_v1_stop_provider(R"({"provider_ref":"http","host_id":"NH"})");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->provider_id, "http");
  EXPECT_FALSE(parse_v1_stop_provider("{}"));

  auto put = parse_v1_label(R"({"key":"k","value":"v"})", true);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->value, "v");
  EXPECT_EQ(parse_v1_label(R"({"key":"k"})", true).error().message,
            errors::v1_field_missing("value"));
  EXPECT_EQ(parse_v1_label(R"({"key":""})", false).error().message,
            errors::v1_field_missing("key"));
  EXPECT_EQ(parse_v1_label(R"({"key":"k","value":3})", true).error().message,
            errors::v1_field_type("value", "a string"));

  EXPECT_TRUE(parse_v1_stop_host(""));
  auto t = parse_v1_stop_host(R"({"timeout":20000})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->timeout_ms, 20000u);
  EXPECT_FALSE(parse_v1_stop_host(R"({"timeout":"soon"})"));
  EXPECT_FALSE(parse_v1_stop_host("nope"));

  auto ca = parse_v1_auction(
      R"({"component_ref":"r/e:1","component_id":"echo","constraints":{"zone":"a"}})", false);
  ASSERT_TRUE(ca);
  EXPECT_EQ(ca->constraints.at("zone"), "a");
  EXPECT_FALSE(parse_v1_auction(R"({"component_ref":"r/e:1","component_id":"echo"})", true));
}

TEST(V1Parse, UptimeHuman) {
  EXPECT_EQ(v1_uptime_human(0), "0s");
  EXPECT_EQ(v1_uptime_human(59), "59s");
  EXPECT_EQ(v1_uptime_human(3725), "1h 2m 5s");
  EXPECT_EQ(v1_uptime_human(86400 + 60), "1d 1m");
}

// ------------------------------------------------------------------ routing and host requests

TEST(V1Control, UnsupportedSubjectsWrongHostAndOversizedBodies) {
  Fixture f;
  expect_refused(one(f.send("component.frob." + std::string(kHost), "{}")),
                 errors::kV1UnsupportedSubject);
  expect_refused(one(f.send("nothing.here")), errors::kV1UnsupportedSubject);
  expect_refused(one(f.send("host.get.NOTME")), errors::kIncorrectHost);
  auto big = one(f.send("label.put." + std::string(kHost), std::string(2 << 20, ' ')));
  EXPECT_EQ(big["success"], false);
  EXPECT_NE(big["message"].get<std::string>().find("limit"), std::string::npos);
  EXPECT_TRUE(f.v1(ev::v1::kLabelsChanged).empty());
}

TEST(V1Control, HostGetAndPingAnswerThe1xShapes) {
  Fixture f;
  auto g = one(f.send("host.get." + std::string(kHost)));
  EXPECT_EQ(g["success"], true);
  const auto& inv = g["response"];
  EXPECT_EQ(inv["host_id"], kHost);
  EXPECT_EQ(inv["friendly_name"], "unit-host");
  EXPECT_EQ(inv["labels"]["zone"], "a");
  EXPECT_EQ(inv["version"], "0.63.2");
  EXPECT_EQ(inv["uptime_seconds"], 3725);
  EXPECT_EQ(inv["uptime_human"], "1h 2m 5s");
  EXPECT_TRUE(inv["components"].is_array());
  EXPECT_TRUE(inv["providers"].is_array());
  auto p = one(f.send("host.ping"));
  EXPECT_EQ(p["success"], true);
  EXPECT_EQ(p["response"]["id"], kHost);
  EXPECT_EQ(p["response"]["lattice"], kLattice);
}

TEST(V1Control, HostStopAcksThenStops) {
  Fixture f;
  expect_refused(one(f.send("host.stop." + std::string(kHost), "{bad")),
                 errors::kV1BodyNotJsonObject);
  expect_refused(one(f.send("host.stop." + std::string(kHost), R"({"host_id":"NOTME"})")),
                 errors::v1_host_mismatch("NOTME", kHost));
  EXPECT_EQ(f.stops, 0);
  auto r = one(f.send("host.stop." + std::string(kHost), "{}"));
  EXPECT_EQ(r["success"], true);
  EXPECT_EQ(r["message"], errors::kV1StopHost);
  EXPECT_EQ(f.stops, 1);
}

TEST(V1Control, LabelsChangeWithEventsAndHostcoreIsProtected) {
  Fixture f;
  const std::string H = kHost;
  auto put = one(f.send("label.put." + H, R"({"key":"tier","value":"gold"})"));
  EXPECT_EQ(put["success"], true);
  EXPECT_EQ(put["message"], errors::kV1LabelPut);
  EXPECT_EQ(f.labels.at("tier"), "gold");
  auto changed = f.v1(ev::v1::kLabelsChanged);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0]["host_id"], kHost);
  EXPECT_EQ(changed[0]["labels"]["tier"], "gold");
  EXPECT_EQ(f.heartbeats, 1);
  // host.get shows the change.
  EXPECT_EQ(one(f.send("host.get." + H))["response"]["labels"]["tier"], "gold");

  expect_refused(one(f.send("label.put." + H, R"({"key":"HostCore.os","value":"x"})")),
                 errors::kV1HostcoreLabel);
  expect_refused(one(f.send("label.del." + H, R"({"key":"hostcore.os"})")),
                 errors::kV1HostcoreLabelDelete);
  expect_refused(one(f.send("label.put." + H, R"({"value":"x"})")),
                 errors::v1_field_missing("key"));
  EXPECT_EQ(f.labels.at("hostcore.os"), "linux");

  auto del = one(f.send("label.del." + H, R"({"key":"tier"})"));
  EXPECT_EQ(del["message"], errors::kV1LabelDeleted);
  EXPECT_EQ(f.labels.count("tier"), 0u);
  auto none = one(f.send("label.del." + H, R"({"key":"tier"})"));
  EXPECT_EQ(none["success"], true);
  EXPECT_EQ(none["message"], errors::kV1LabelDeletedNone);
  EXPECT_EQ(f.v1(ev::v1::kLabelsChanged).size(), 2u);
}

// ------------------------------------------------------------------ components

TEST(V1Control, ScaleUnderAV1IdStartsTheActorAndAnnouncesIt) {
  Fixture f;
  const std::string H = kHost;
  auto ack = one(f.send("component.scale." + H, json{{"host_id", H},
                                                     {"component_ref", kEchoRef},
                                                     {"component_id", "echo"},
                                                     {"max_instances", 2},
                                                     {"annotations", {{"app", "demo"}}},
                                                     {"config", json::array()}}
                                                    .dump()));
  EXPECT_EQ(ack["success"], true);
  EXPECT_EQ(ack["message"], "");
  EXPECT_TRUE(f.v1(ev::v1::kComponentScaled).empty());  // acknowledged before the work
  f.run_lifecycle();
  EXPECT_EQ(f.instances(kEchoKey), 2u);
  // The OTP view: the same actor, with the request's annotations.
  auto inv = inventory_json({}, f.actors->snapshot());
  ASSERT_EQ(inv["actors"].size(), 1u);
  EXPECT_EQ(inv["actors"][0]["id"], kEchoKey);
  EXPECT_EQ(inv["actors"][0]["instances"].size(), 2u);
  EXPECT_EQ(inv["actors"][0]["instances"][0]["annotations"]["app"], "demo");
  EXPECT_EQ(f.events.of(ev::kActorsStarted).size(), 1u);
  // One component_scaled for the change, in the 1.x shape.
  auto scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 1u);
  EXPECT_EQ(scaled[0]["component_id"], "echo");
  EXPECT_EQ(scaled[0]["public_key"], kEchoKey);
  EXPECT_EQ(scaled[0]["max_instances"], 2);
  EXPECT_EQ(scaled[0]["image_ref"], kEchoRef);
  EXPECT_EQ(scaled[0]["host_id"], kHost);
  EXPECT_EQ(scaled[0]["annotations"]["app"], "demo");
  EXPECT_EQ(scaled[0]["claims"]["name"], "Echo");
  EXPECT_FALSE(scaled[0]["claims"].contains("caps"));
  // The id is recorded here and for the lattice.
  EXPECT_EQ(f.server->component_id_of(kEchoKey), "echo");
  EXPECT_EQ(f.metadata->resolve_v1_id("echo"), kEchoKey);
  auto g = one(f.send("host.get." + H))["response"];
  ASSERT_EQ(g["components"].size(), 1u);
  EXPECT_EQ(g["components"][0]["id"], "echo");
  EXPECT_EQ(g["components"][0]["max_instances"], 2);
  EXPECT_EQ(g["components"][0]["name"], "Echo");

  // Scaling again to 2 changes nothing but still reports the outcome.
  one(f.send("component.scale." + H,
             json{{"component_ref", kEchoRef}, {"component_id", "echo"}, {"count", 2}}.dump()));
  f.run_lifecycle();
  EXPECT_EQ(f.instances(kEchoKey), 2u);
  EXPECT_EQ(f.v1(ev::v1::kComponentScaled).size(), 2u);
  EXPECT_EQ(f.events.of(ev::kActorsStarted).size(), 1u);

  // Another id for the same actor is refused; nothing changes.
  expect_refused(
      one(f.send(
          "component.scale." + H,
          json{{"component_ref", kEchoRef}, {"component_id", "other"}, {"count", 1}}.dump())),
      errors::v1_id_taken("echo", kEchoKey));
  EXPECT_TRUE(f.lifecycle.empty());

  // Scale to 0 stops it.
  auto zero = one(f.send(
      "component.scale." + H,
      json{{"component_ref", kEchoRef}, {"component_id", "echo"}, {"max_instances", 0}}.dump()));
  EXPECT_EQ(zero["success"], true);
  f.run_lifecycle();
  EXPECT_EQ(f.instances(kEchoKey), 0u);
  scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 3u);
  EXPECT_EQ(scaled[2]["max_instances"], 0);
  EXPECT_EQ(scaled[2]["component_id"], "echo");
  EXPECT_EQ(scaled[2]["image_ref"], kEchoRef);
  EXPECT_TRUE(one(f.send("host.get." + H))["response"]["components"].empty());
}

TEST(V1Control, ScaleDownKeepsTheRestAndOtpScaleIsAnnouncedToo) {
  Fixture f;
  // OTP `scale` (what ControlServer runs): v1 sees it under the key.
  f.actors->scale(ScaleActorRequest{kEchoKey, kEchoRef, 3});
  auto scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 1u);
  EXPECT_EQ(scaled[0]["component_id"], kEchoKey);
  EXPECT_EQ(scaled[0]["max_instances"], 3);
  // v1 scale by key down to 1.
  one(f.send("component.scale." + std::string(kHost),
             json{{"component_ref", kEchoRef}, {"component_id", kEchoKey}, {"count", 1}}.dump()));
  f.run_lifecycle();
  EXPECT_EQ(f.instances(kEchoKey), 1u);
  scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 2u);
  EXPECT_EQ(scaled[1]["max_instances"], 1);
  EXPECT_EQ(f.events.of(ev::kActorsStopped).size(), 1u);
  // OTP stop of the rest: component_scaled 0 once (not per instance).
  f.actors->stop(kEchoKey, 0, {});
  scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 3u);
  EXPECT_EQ(scaled[2]["max_instances"], 0);
}

TEST(V1Control, StoppingAllInstancesIsOneAnnouncement) {
  Fixture f;
  f.actors->scale(ScaleActorRequest{kEchoKey, kEchoRef, 3});
  ASSERT_EQ(f.events.of(ev::kActorStarted).size(), 3u);
  ASSERT_EQ(f.v1(ev::v1::kComponentScaled).size(), 1u);
  f.actors->stop(kEchoKey, 0, {});  // OTP `sa` with count 0: actor_stopped x3, no actors_stopped
  ASSERT_EQ(f.events.of(ev::kActorStopped).size(), 3u);
  ASSERT_TRUE(f.events.of(ev::kActorsStopped).empty());
  auto scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 2u);
  EXPECT_EQ(scaled[1]["max_instances"], 0);
  EXPECT_EQ(scaled[1]["image_ref"], kEchoRef);
  EXPECT_EQ(scaled[1]["public_key"], kEchoKey);
}

TEST(V1Control, ScaleFailuresAreRefusedOrReportedAsEvents) {
  Fixture f;
  const std::string H = kHost;
  // Bad input: refused, nothing queued.
  expect_refused(one(f.send("component.scale." + H, "{")), errors::kV1BodyNotJsonObject);
  expect_refused(one(f.send("component.scale." + H,
                            R"({"component_ref":"r/e:1","component_id":"a*b","count":1})")),
                 errors::v1_bad_id("component_id"));
  expect_refused(
      one(f.send("component.scale." + H,
                 R"({"host_id":"NOTME","component_ref":"r/e:1","component_id":"e","count":1})")),
      errors::v1_host_mismatch("NOTME", kHost));
  EXPECT_TRUE(f.lifecycle.empty());
  EXPECT_TRUE(f.v1(ev::v1::kComponentScaleFailed).empty());
  // A reference that does not resolve: acknowledged, then component_scale_failed.
  auto ack = one(f.send("component.scale." + H, json{{"component_ref", "registry.test/nope:1"},
                                                     {"component_id", "nope"},
                                                     {"max_instances", 1},
                                                     {"annotations", {{"a", "b"}}}}
                                                    .dump()));
  EXPECT_EQ(ack["success"], true);
  f.run_lifecycle();
  auto failed = f.v1(ev::v1::kComponentScaleFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["component_id"], "nope");
  EXPECT_EQ(failed[0]["image_ref"], "registry.test/nope:1");
  EXPECT_EQ(failed[0]["max_instances"], 1);
  EXPECT_EQ(failed[0]["annotations"]["a"], "b");
  EXPECT_NE(failed[0]["error"].get<std::string>().find("manifest unknown"), std::string::npos);
  EXPECT_TRUE(f.v1(ev::v1::kComponentScaled).empty());
  EXPECT_FALSE(f.metadata->resolve_v1_id("nope"));
  EXPECT_TRUE(f.actors->snapshot().empty());
}

TEST(V1Control, UpdateNeedsTheComponentRunning) {
  Fixture f;
  const std::string H = kHost;
  expect_refused(one(f.send("component.update." + H,
                            R"({"component_id":"echo","new_component_ref":"r/e:2"})")),
                 errors::v1_component_not_found("echo"));
  f.actors->scale(ScaleActorRequest{kEchoKey, kEchoRef, 1});
  auto same = one(f.send("component.update." + H,
                         json{{"component_id", kEchoKey}, {"new_component_ref", kEchoRef}}.dump()));
  EXPECT_EQ(same["success"], true);
  EXPECT_EQ(same["message"], errors::v1_component_already_updated(kEchoKey, kEchoRef));
  EXPECT_TRUE(f.lifecycle.empty());
  auto upd = one(f.send("component.update." + H,
                        json{{"component_id", kEchoKey}, {"new_component_ref", "r/e:2"}}.dump()));
  EXPECT_EQ(upd["message"], errors::v1_component_updating(kEchoKey, kEchoRef, "r/e:2"));
  EXPECT_EQ(f.lifecycle.size(), 1u);
  expect_refused(one(f.send("component.update." + H, R"({"component_id":"echo"})")),
                 errors::v1_field_missing("new_component_ref"));
}

TEST(V1Control, AnUpdateIsAnnouncedWithTheNewReference) {
  Fixture f;
  const std::string H = kHost;
  // One module key signed at revisions 1 and 2 (a live update needs a newer revision).
  auto unsigned_mod = wascap::strip_token_sections(fixture("echo.wasm"));
  ASSERT_TRUE(unsigned_mod);
  auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
  for (int rev : {1, 2}) {
    wascap::SignOptions o;
    o.name = "updatable";
    o.rev = rev;
    auto m = wascap::sign_module(*unsigned_mod, account, module, o);
    ASSERT_TRUE(m);
    f.registry["r/upd:" + std::to_string(rev)] = m->module;
  }
  one(f.send("component.scale." + H,
             json{{"component_ref", "r/upd:1"}, {"component_id", "upd"}, {"count", 2}}.dump()));
  f.run_lifecycle();
  ASSERT_EQ(f.v1(ev::v1::kComponentScaled).size(), 1u);
  auto r = one(f.send("component.update." + H,
                      json{{"component_id", "upd"}, {"new_component_ref", "r/upd:2"}}.dump()));
  EXPECT_EQ(r["message"], errors::v1_component_updating("upd", "r/upd:1", "r/upd:2"));
  f.run_lifecycle();
  ASSERT_EQ(f.events.of(ev::kActorUpdated).size(), 2u);
  auto scaled = f.v1(ev::v1::kComponentScaled);
  ASSERT_EQ(scaled.size(), 2u);  // one for both instances
  EXPECT_EQ(scaled[1]["component_id"], "upd");
  EXPECT_EQ(scaled[1]["image_ref"], "r/upd:2");
  EXPECT_EQ(scaled[1]["max_instances"], 2);
  EXPECT_EQ(scaled[0]["claims"]["revision"], 1);
  EXPECT_EQ(scaled[1]["claims"]["revision"], 2);
  EXPECT_EQ(one(f.send("host.get." + H))["response"]["components"][0]["image_ref"], "r/upd:2");
}

TEST(V1Control, ComponentAuctionBidsOnlyWhenLabelsMatchAndNotRunning) {
  Fixture f;
  auto bid =
      one(f.send("component.auction",
                 R"({"component_ref":"r/e:1","component_id":"echo","constraints":{"zone":"a"}})"));
  EXPECT_EQ(bid["success"], true);
  EXPECT_EQ(bid["response"]["host_id"], kHost);
  EXPECT_EQ(bid["response"]["component_id"], "echo");
  EXPECT_EQ(bid["response"]["constraints"]["zone"], "a");
  EXPECT_TRUE(
      f.send("component.auction",
             R"({"component_ref":"r/e:1","component_id":"echo","constraints":{"zone":"b"}})")
          .empty());
  f.actors->scale(ScaleActorRequest{kEchoKey, kEchoRef, 1});
  EXPECT_TRUE(f.send("component.auction",
                     json{{"component_ref", kEchoRef}, {"component_id", kEchoKey}}.dump())
                  .empty());
  expect_refused(one(f.send("component.auction", "[]")), errors::kV1BodyNotJsonObject);
}

// ------------------------------------------------------------------ providers

TEST(V1Control, ProviderStartWithTheHostInTheSubjectOrTheBody) {
  Fixture f;
  const std::string H = kHost;
  auto r = one(f.send("provider.start." + H, json{{"host_id", H},
                                                  {"provider_ref", "builtin://httpserver"},
                                                  {"provider_id", "http-server"},
                                                  {"annotations", {{"x", "y"}}}}
                                                 .dump()));
  EXPECT_EQ(r["success"], true);
  EXPECT_EQ(r["message"], errors::kV1StartProvider);
  f.run_lifecycle();
  ASSERT_EQ(f.launched.size(), 1u);
  EXPECT_EQ(f.launched[0].provider_ref, "builtin://httpserver");
  EXPECT_EQ(f.launched[0].link_name, "default");
  EXPECT_EQ(f.launched[0].annotations.at("x"), "y");
  // Host-less subject naming this host: acts as well.
  auto r2 =
      one(f.send("provider.start",
                 json{{"host_id", H}, {"provider_ref", "r/kv:1"}, {"provider_id", "kv"}}.dump()));
  EXPECT_EQ(r2["success"], true);
  f.run_lifecycle();
  EXPECT_EQ(f.launched.size(), 2u);
  // Bad input.
  expect_refused(one(f.send("provider.start", R"({"provider_ref":"r/kv:1","provider_id":"kv"})")),
                 errors::v1_field_missing("host_id"));
  expect_refused(one(f.send("provider.start." + H,
                            R"({"host_id":"NOTME","provider_ref":"r/kv:1","provider_id":"kv"})")),
                 errors::v1_host_mismatch("NOTME", kHost));
  expect_refused(
      one(f.send("provider.start." + H, R"({"provider_ref":"r/kv:1","provider_id":""})")),
      errors::v1_field_missing("provider_id"));
  expect_refused(one(f.send("provider.start." + H, "null")), errors::kV1BodyNotJsonObject);
  EXPECT_TRUE(f.lifecycle.empty());
  EXPECT_EQ(f.launched.size(), 2u);
}

TEST(V1Control, HostlessProviderStartForAnotherHostIsRelayed) {
  Fixture f;
  const std::string body =
      json{{"host_id", "NOTHERHOST"}, {"provider_ref", "r/kv:1"}, {"provider_id", "kv"}}.dump();
  // No such host: one clear refusal.
  expect_refused(one(f.send("provider.start", body)), errors::v1_unknown_host("NOTHERHOST"));
  // The named host answers: its answer is passed on, nothing runs here.
  f.ctl.respond_with([](const Sent& s) -> Result<Bytes> {
    EXPECT_EQ(s.subject, kRoot + "provider.start.NOTHERHOST");
    return bytes_of(v1_reply_text(v1_reply(true, "relayed")));
  });
  auto r = one(f.send("provider.start", body));
  EXPECT_EQ(r["success"], true);
  EXPECT_EQ(r["message"], "relayed");
  EXPECT_TRUE(f.lifecycle.empty());
  EXPECT_TRUE(f.launched.empty());
  expect_refused(one(f.send("provider.start",
                            R"({"host_id":"N.*","provider_ref":"r/kv:1","provider_id":"kv"})")),
                 errors::v1_unknown_host("N.*"));
}

TEST(V1Control, ProviderStopAndDuplicateStart) {
  Fixture f;
  const std::string H = kHost;
  const std::string key = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  expect_refused(one(f.send("provider.stop." + H, json{{"provider_id", "kv"}}.dump())),
                 errors::kV1ProviderNotRunning);
  f.running_providers.push_back(
      ProviderInfo{key, "default", "wasmcloud:keyvalue", "r/kv:1", "KV", "iid", {}, 1});
  expect_refused(one(f.send("provider.start." + H,
                            json{{"provider_ref", "r/kv:1"}, {"provider_id", key}}.dump())),
                 errors::kV1ProviderRunning);
  auto stop = f.send("provider.stop." + H, json{{"provider_id", key}, {"host_id", H}}.dump());
  EXPECT_TRUE(stop.empty());  // answered after the stop
  const auto before = f.ctl.published().size();
  f.run_lifecycle();
  auto r = one(f.replies_since(before));
  EXPECT_EQ(r["success"], true);
  EXPECT_EQ(r["message"], errors::kV1StopProvider);
  EXPECT_TRUE(f.running_providers.empty());
}

TEST(V1Control, ProviderAuctionBidsOnlyWhenLabelsMatchAndNotRunning) {
  Fixture f;
  const std::string key = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  const std::string body =
      json{{"provider_ref", "r/kv:1"}, {"provider_id", key}, {"constraints", {{"zone", "a"}}}}
          .dump();
  auto bid = one(f.send("provider.auction", body));
  EXPECT_EQ(bid["success"], true);
  EXPECT_EQ(bid["response"], (json{{"provider_ref", "r/kv:1"},
                                   {"provider_id", key},
                                   {"host_id", kHost},
                                   {"constraints", {{"zone", "a"}}}}));
  EXPECT_TRUE(f.send("provider.auction", json{{"provider_ref", "r/kv:1"},
                                              {"provider_id", key},
                                              {"constraints", {{"zone", "z"}}}}
                                             .dump())
                  .empty());
  // file:// references need file loading, which this host does not allow.
  EXPECT_TRUE(f.send("provider.auction",
                     json{{"provider_ref", "file:///tmp/kv.par.gz"}, {"provider_id", "kv"}}.dump())
                  .empty());
  f.running_providers.push_back(
      ProviderInfo{key, "default", "wasmcloud:keyvalue", "r/kv:1", "KV", "iid", {}, 1});
  EXPECT_TRUE(f.send("provider.auction", body).empty());
  expect_refused(one(f.send("provider.auction", R"({"provider_ref":"r/kv:1"})")),
                 errors::v1_field_missing("provider_id"));
}

TEST(V1Control, ProviderEventsFromOtpEvents) {
  Fixture f;
  const std::string H = kHost;
  const std::string key = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  // A v1 start under id "kv": the provider_started the launch publishes carries the id.
  one(f.send("provider.start." + H,
             json{{"provider_ref", "r/kv:1"}, {"provider_id", "kv"}}.dump()));
  f.server->on_event(ev::kProviderStarted, json{{"public_key", key},
                                                {"image_ref", "r/kv:1"},
                                                {"link_name", "default"},
                                                {"contract_id", "wasmcloud:keyvalue"},
                                                {"instance_id", "iid"},
                                                {"annotations", {{"a", "b"}}},
                                                {"claims", {{"issuer", "A"}}}});
  auto started = f.v1(ev::v1::kProviderStarted);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["provider_id"], "kv");
  EXPECT_EQ(started[0]["host_id"], kHost);
  EXPECT_EQ(started[0]["image_ref"], "r/kv:1");
  EXPECT_EQ(started[0]["annotations"]["a"], "b");
  EXPECT_EQ(started[0]["claims"]["issuer"], "A");
  EXPECT_EQ(f.server->provider_id_of(key, "default"), "kv");
  f.server->on_event(ev::kHealthCheckPassed,
                     json{{"public_key", key}, {"contract_id", "c"}, {"link_name", "default"}});
  auto health = f.v1(ev::v1::kHealthCheckPassed);
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0], (json{{"host_id", kHost}, {"provider_id", "kv"}}));
  f.server->on_event(ev::kProviderStopped, json{{"public_key", key},
                                                {"link_name", "default"},
                                                {"contract_id", "c"},
                                                {"instance_id", "iid"},
                                                {"annotations", json::object()},
                                                {"reason", "normal"}});
  auto stopped = f.v1(ev::v1::kProviderStopped);
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0]["provider_id"], "kv");
  EXPECT_EQ(stopped[0]["reason"], "normal");
  f.server->on_event(ev::kProviderStartFailed,
                     json{{"provider_ref", "r/other:1"}, {"link_name", "default"}, {"error", "e"}});
  auto failed = f.v1(ev::v1::kProviderStartFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["provider_ref"], "r/other:1");
  EXPECT_EQ(failed[0]["error"], "e");
  EXPECT_EQ(failed[0]["host_id"], kHost);
}

TEST(V1Control, HostEventsHeartbeatClaimsAndRegistries) {
  Fixture f;
  f.server->on_event(ev::kHostStarted, json{{"labels", {{"zone", "a"}}}, {"friendly_name", "x"}});
  auto started = f.v1(ev::v1::kHostStarted);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0]["host_id"], kHost);
  EXPECT_EQ(started[0]["labels"]["zone"], "a");
  f.server->on_event(ev::kHostHeartbeat, json{{"actors", json::object()}});
  auto hb = f.v1(ev::v1::kHostHeartbeat);
  ASSERT_EQ(hb.size(), 1u);
  EXPECT_EQ(hb[0]["host_id"], kHost);
  EXPECT_TRUE(hb[0]["components"].is_array());
  EXPECT_TRUE(hb[0]["providers"].is_array());
  // linkdef events are the link service's; no v1 event from here.
  f.server->on_event(ev::kLinkdefSet, json{{"actor_id", "M"}});
  for (const auto& s : f.ctl.published())
    EXPECT_NE(s.subject, topics::v1_event_subject(kLattice, "linkdef_set"));

  auto claims = one(f.send("claims.get"));
  EXPECT_EQ(claims["success"], true);
  EXPECT_TRUE(claims["response"].is_array());
  auto reg = one(f.send("registry.put",
                        R"({"reg.test":{"registryType":"oci","username":"u","password":"p"}})"));
  EXPECT_EQ(reg["success"], true);
  EXPECT_EQ(reg["message"], errors::kV1RegistriesPut);
  expect_refused(one(f.send("registry.put", "nope")), errors::kRegistryPutFailed);
}

}  // namespace
}  // namespace wc::host
