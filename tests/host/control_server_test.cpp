// ControlServer (src/host/control_server.h) against fakes: routing, acks, auction answers,
// links, the host limit at ack time, lifecycle hand-off and host stop. The actor supervisor and
// metadata cache behind it are real, over fake seams.
#include "host/control_server.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "host/errors.h"
#include "lattice/events.h"
#include "lattice/topics.h"

namespace wc::host {
namespace {

using nlohmann::json;
using testing::EventLog;
using testing::FakeBus;
namespace topics = lattice::topics;
namespace ev = lattice::events;

constexpr const char* kLattice = "unit";
constexpr const char* kHost = "NHOSTUNIT";
const std::string kCtl = "wasmbus.ctl." + std::string(kLattice);

struct Fixture {
  FakeBus ctl, rpc;
  EventLog events;
  oci::CredentialStore creds;
  std::unique_ptr<MetadataCache> metadata;
  std::unique_ptr<PolicyManager> policy;
  std::unique_ptr<ActorSupervisor> actors;
  std::unique_ptr<ControlServer> server;
  std::vector<std::function<void()>> lifecycle;  // queued lifecycle tasks
  int heartbeats = 0, stops = 0;
  std::vector<std::pair<std::string, std::string>> supervised;  // (key, link) running here
  std::vector<std::string> launched_providers;
  std::vector<std::string> fetched;

  explicit Fixture(std::int64_t max_instances = 0, StringMap labels = {{"zone", "a"}},
                   bool allow_file_load = false) {
    MetadataCacheDeps md;
    md.ctl = &ctl;
    md.rpc = &rpc;
    md.emit = events.emitter();
    md.post = [](std::function<void()>) { return true; };
    md.lattice_prefix = kLattice;
    metadata = std::make_unique<MetadataCache>(std::move(md));
    policy = std::make_unique<PolicyManager>(
        "", std::chrono::milliseconds(10), json::object(),
        [](auto&, auto&, auto) -> Result<std::string> { return std::string("{}"); });
    ActorSupervisorDeps ad;
    ad.rpc = &rpc;
    ad.metadata = metadata.get();
    ad.policy = policy.get();
    ad.emit = events.emitter();
    ad.fetch = [this](const std::string& ref) -> Result<Bytes> {
      fetched.push_back(ref);
      return fail(Code::kNotFound, "manifest unknown");
    };
    ad.post_rpc = [](std::function<void()>) { return true; };
    ad.host_id = kHost;
    ad.lattice_prefix = kLattice;
    ad.max_instances = max_instances;
    actors = std::make_unique<ActorSupervisor>(std::move(ad));
    ControlServerDeps d;
    d.ctl = &ctl;
    d.actors = actors.get();
    d.metadata = metadata.get();
    d.policy = policy.get();
    d.creds = &creds;
    d.post_control = [](std::function<void()> t) {
      t();
      return true;
    };
    d.post_lifecycle = [this](std::function<void()> t) {
      lifecycle.push_back(std::move(t));
      return true;
    };
    d.emit = events.emitter();
    d.facts = [labels] {
      HostFacts f;
      f.host_id = kHost;
      f.issuer = "CISSUER";
      f.friendly_name = "unit-host";
      f.labels = labels;
      f.lattice_prefix = kLattice;
      return f;
    };
    d.providers = [] { return std::vector<ProviderInfo>{}; };
    d.provider_supervised = [this](const std::string& key, const std::string& link) {
      for (const auto& [k, l] : supervised)
        if (k == key && l == link) return true;
      return false;
    };
    d.stop_provider = [](const std::string&, const std::string&) {};
    d.launch_provider = [this](const StartProviderRequest& r) {
      launched_providers.push_back(r.provider_ref);
    };
    d.resolve_provider_key = [this](const std::string& ref) -> std::optional<std::string> {
      if (!ref.empty() && ref[0] == 'V') return ref;
      return metadata->resolve_reference(ref);
    };
    d.heartbeat = [this] { ++heartbeats; };
    d.request_stop = [this] { ++stops; };
    d.host_id = kHost;
    d.lattice_prefix = kLattice;
    d.ctl_topic_prefix = "wasmbus.ctl";
    d.labels = std::move(labels);
    d.allow_file_load = allow_file_load;
    server = std::make_unique<ControlServer>(std::move(d));
  }

  /// Sends `body` on `subject` and returns the JSON replies published to the reply subject.
  std::vector<json> send(const std::string& subject, const std::string& body = "") {
    const auto before = ctl.published().size();
    Bytes data(body.begin(), body.end());
    server->handle(ControlRequest{subject, "_INBOX.r", data});
    std::vector<json> out;
    auto all = ctl.published();
    for (std::size_t i = before; i < all.size(); ++i)
      if (all[i].subject == "_INBOX.r") out.push_back(json::parse(all[i].text()));
    return out;
  }
  std::vector<json> replies_since(std::size_t before) const {
    std::vector<json> out;
    auto all = ctl.published();
    for (std::size_t i = before; i < all.size(); ++i)
      if (all[i].subject == "_INBOX.r") out.push_back(json::parse(all[i].text()));
    return out;
  }
  void run_lifecycle() {
    auto tasks = std::move(lifecycle);
    lifecycle.clear();
    for (auto& t : tasks) t();
  }
};

json ack_of(const std::vector<json>& replies) {
  EXPECT_EQ(replies.size(), 1u);
  return replies.empty() ? json() : replies[0];
}

// ------------------------------------------------------------------ pure auction decisions

TEST(ControlServer, ActorAuctionBidsOnlyWhenLabelsMatchAndFileLoadsAreAllowed) {
  ActorAuctionRequest r;
  r.actor_ref = "registry.test/echo:1";
  r.constraints = json{{"zone", "a"}};
  EXPECT_TRUE(ControlServer::bids_for_actor({{"zone", "a"}, {"os", "linux"}}, false, r));
  EXPECT_FALSE(ControlServer::bids_for_actor({{"zone", "b"}}, false, r));
  r.constraints = json::object();
  EXPECT_TRUE(ControlServer::bids_for_actor({}, false, r));
  r.actor_ref = "file:///tmp/echo.wasm";
  EXPECT_FALSE(ControlServer::bids_for_actor({}, false, r));
  EXPECT_TRUE(ControlServer::bids_for_actor({}, true, r));
}

TEST(ControlServer, ProviderAuctionSkipsAProviderRunningHere) {
  ProviderAuctionRequest r;
  r.provider_ref = "registry.test/kv:1";
  r.link_name = "default";
  r.constraints = json::object();
  EXPECT_TRUE(ControlServer::bids_for_provider({}, false, r, false));
  EXPECT_FALSE(ControlServer::bids_for_provider({}, false, r, true));
  r.constraints = json{{"zone", "x"}};
  EXPECT_FALSE(ControlServer::bids_for_provider({{"zone", "a"}}, false, r, false));
}

// ------------------------------------------------------------------ routing and answers

TEST(ControlServer, UnknownTopicAndWrongHostAreRefused) {
  Fixture f;
  auto bad = ack_of(f.send("wasmbus.ctl.other.get.claims"));
  EXPECT_EQ(bad["accepted"], false);
  EXPECT_EQ(bad["error"], errors::kInvalidTopic);
  auto wrong = ack_of(f.send(kCtl + ".get.NOTME.inv"));
  EXPECT_EQ(wrong["accepted"], false);
  EXPECT_EQ(wrong["error"], errors::kIncorrectHost);
  auto cmd = ack_of(f.send(kCtl + ".cmd.NOTME.stop", "{}"));
  EXPECT_EQ(cmd["error"], errors::kIncorrectHost);
  EXPECT_EQ(f.stops, 0);
}

TEST(ControlServer, OversizedRequestIsRefusedBeforeParsing) {
  Fixture f;
  auto r = ack_of(f.send(kCtl + ".cmd." + kHost + ".la", std::string(2 << 20, ' ')));
  EXPECT_EQ(r["accepted"], false);
  EXPECT_NE(r["error"].get<std::string>().find("limit"), std::string::npos) << r.dump();
  EXPECT_TRUE(f.lifecycle.empty());
}

TEST(ControlServer, PingRepliesAndSendsAHeartbeat) {
  Fixture f;
  auto r = ack_of(f.send(kCtl + ".ping.hosts"));
  EXPECT_EQ(r["id"], kHost);
  EXPECT_EQ(r["labels"]["zone"], "a");
  EXPECT_EQ(f.heartbeats, 1);
}

TEST(ControlServer, InventoryOfThisHost) {
  Fixture f;
  auto r = ack_of(f.send(kCtl + ".get." + kHost + ".inv"));
  EXPECT_EQ(r["host_id"], kHost);
  EXPECT_TRUE(r["actors"].empty());
}

TEST(ControlServer, LinkPutAndDeleteReachTheMetadataCache) {
  Fixture f;
  json body{{"actor_id", "MACTOR"},
            {"provider_id", "VPROV"},
            {"link_name", "default"},
            {"contract_id", "wasmcloud:keyvalue"},
            {"values", {{"URL", "redis://x"}}}};
  EXPECT_EQ(ack_of(f.send(kCtl + ".linkdefs.put", body.dump()))["accepted"], true);
  const auto id = topics::linkdef_id("MACTOR", "wasmcloud:keyvalue", "default");
  ASSERT_TRUE(f.metadata->link(id));
  EXPECT_EQ(f.events.of(ev::kLinkdefSet).size(), 1u);
  auto links = ack_of(f.send(kCtl + ".get.links"));
  ASSERT_EQ(links["links"].size(), 1u);
  EXPECT_EQ(links["links"][0]["values"]["URL"], "redis://x");

  json del{{"actor_id", "MACTOR"}, {"link_name", "default"}, {"contract_id", "wasmcloud:keyvalue"}};
  EXPECT_EQ(ack_of(f.send(kCtl + ".linkdefs.del", del.dump()))["accepted"], true);
  EXPECT_FALSE(f.metadata->link(id));
  EXPECT_EQ(f.events.of(ev::kLinkdefDeleted).size(), 1u);
  // Deleting an unknown link is still accepted (and announces nothing).
  EXPECT_EQ(ack_of(f.send(kCtl + ".linkdefs.del", del.dump()))["accepted"], true);
  EXPECT_EQ(f.events.of(ev::kLinkdefDeleted).size(), 1u);
  // A malformed put is refused.
  EXPECT_EQ(ack_of(f.send(kCtl + ".linkdefs.put", "{}"))["accepted"], false);
}

TEST(ControlServer, ClaimsQueryListsTheCache) {
  Fixture f;
  f.metadata->put_claims("VPROV", json{{"sub", "VPROV"}});
  auto r = ack_of(f.send(kCtl + ".get.claims"));
  ASSERT_EQ(r["claims"].size(), 1u);
  EXPECT_EQ(r["claims"][0]["sub"], "VPROV");
}

TEST(ControlServer, AuctionRepliesOnlyWhenBidding) {
  Fixture f;
  json bid{{"actor_ref", "registry.test/echo:1"}, {"constraints", {{"zone", "a"}}}};
  auto r = ack_of(f.send(kCtl + ".auction.actor", bid.dump()));
  EXPECT_EQ(r["host_id"], kHost);
  EXPECT_EQ(r["actor_ref"], "registry.test/echo:1");
  bid["constraints"] = {{"zone", "b"}};
  EXPECT_TRUE(f.send(kCtl + ".auction.actor", bid.dump()).empty());

  f.supervised.emplace_back("VPROVIDER", "default");
  json p{{"provider_ref", "VPROVIDER"}, {"link_name", "default"}, {"constraints", json::object()}};
  EXPECT_TRUE(f.send(kCtl + ".auction.provider", p.dump()).empty());
  p["link_name"] = "other";
  EXPECT_EQ(ack_of(f.send(kCtl + ".auction.provider", p.dump()))["link_name"], "other");
}

TEST(ControlServer, RegistryCredentialsAreMerged) {
  Fixture f;
  json creds{{"registry.test", {{"username", "u"}, {"password", "p"}}}};
  EXPECT_EQ(ack_of(f.send(kCtl + ".registries.put", creds.dump()))["accepted"], true);
  EXPECT_EQ(ack_of(f.send(kCtl + ".registries.put", "[1,2]"))["accepted"], false);
}

// ------------------------------------------------------------------ commands

TEST(ControlServer, LaunchIsAckedFirstThenRunsOnTheLifecycleThread) {
  Fixture f;
  json la{{"actor_ref", "registry.test/echo:1"}, {"count", 1}};
  EXPECT_EQ(ack_of(f.send(kCtl + ".cmd." + kHost + ".la", la.dump()))["accepted"], true);
  ASSERT_EQ(f.lifecycle.size(), 1u);
  EXPECT_TRUE(f.fetched.empty());
  f.run_lifecycle();
  EXPECT_EQ(f.fetched, std::vector<std::string>{"registry.test/echo:1"});
  ASSERT_EQ(f.events.of(ev::kActorStartFailed).size(), 1u);
  EXPECT_EQ(f.actors->reserved(), 0);  // the reservation was given back
}

TEST(ControlServer, ScalePastTheHostLimitIsRefusedInTheAck) {
  Fixture f(/*max_instances=*/2);
  json scale{{"actor_id", "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"},
             {"actor_ref", "registry.test/echo:1"},
             {"count", 3}};
  auto r = ack_of(f.send(kCtl + ".cmd." + kHost + ".scale", scale.dump()));
  EXPECT_EQ(r["accepted"], false);
  EXPECT_EQ(r["error"], errors::host_instance_limit(3, 0, 2));
  EXPECT_EQ(f.events.of(ev::kActorStartFailed).size(), 1u);
  EXPECT_TRUE(f.lifecycle.empty());
  EXPECT_EQ(f.actors->reserved(), 0);
}

TEST(ControlServer, StopActorIsAckedAfterTheWork) {
  Fixture f;
  json sa{{"actor_ref", "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"}, {"count", 1}};
  EXPECT_TRUE(f.send(kCtl + ".cmd." + kHost + ".sa", sa.dump()).empty());  // not yet
  const auto before = f.ctl.published().size();
  f.run_lifecycle();
  EXPECT_EQ(ack_of(f.replies_since(before))["accepted"], true);
}

TEST(ControlServer, ProviderStartAlreadyRunningIsRefusedSynchronously) {
  Fixture f;
  f.supervised.emplace_back("VPROVIDER", "default");
  json lp{{"provider_ref", "VPROVIDER"}, {"link_name", "default"}};
  auto r = ack_of(f.send(kCtl + ".cmd." + kHost + ".lp", lp.dump()));
  EXPECT_EQ(r["accepted"], false);
  EXPECT_EQ(r["error"], errors::kProviderAlreadyRunning);
  EXPECT_EQ(f.events.of(ev::kProviderStartFailed).size(), 1u);
  lp["link_name"] = "other";
  EXPECT_EQ(ack_of(f.send(kCtl + ".cmd." + kHost + ".lp", lp.dump()))["accepted"], true);
  f.run_lifecycle();
  EXPECT_EQ(f.launched_providers, std::vector<std::string>{"VPROVIDER"});
}

TEST(ControlServer, StopHostAcksThenStops) {
  Fixture f;
  EXPECT_EQ(ack_of(f.send(kCtl + ".cmd." + kHost + ".stop", "{}"))["accepted"], true);
  EXPECT_EQ(f.stops, 1);
}

TEST(ControlServer, PolicyChangeForAnUnknownRequestIsAnswered) {
  Fixture f;
  Bytes body = testing::bytes_of(R"({"request_id":"nope","permitted":true})");
  const auto before = f.ctl.published().size();
  f.server->handle_policy_change(ControlRequest{"policy.changes", "_INBOX.r", body});
  auto replies = f.replies_since(before);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].contains("success"));
}

}  // namespace
}  // namespace wc::host
