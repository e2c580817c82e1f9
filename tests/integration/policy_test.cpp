// The policy service end to end (control-interface.md 2.8, actor-rpc-providers.md 8): a real
// nats-server and docker-registry (tests/support/servers.h), a `wasmcloud host` process with a
// policy topic, a policy-changes topic and a 500 ms policy timeout, and a policy service written
// here (a NATS subscriber on its own connection) that decides by issuer and records every request.
//
// Actors are the real echo fixture re-signed by three account keys (wascap API):
//   issuer A may do everything; issuer B may not start anything (actors or providers);
//   issuer C may start actors but its actors may not be the source of an invocation.
// Provider archives are the build's httpserver binary packed and signed by A and by B.
// The tests share one host and run in declaration order (one ctest entry).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "host/errors.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "par/par.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPolicyTopic = "test.policy";
constexpr const char* kChangesTopic = "test.policy.changes";
constexpr int kPolicyTimeoutMs = 500;
constexpr const char* kHttpReq = "HttpServer.HandleRequest";

bool is_uuid_v4(const std::string& s) {
  static const std::regex re(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  return std::regex_match(s, re);
}

/// The test's policy service: decides by issuer, records requests. Modes: answer, answer late
/// (after twice the host's timeout), answer with something that is not a decision, or not
/// subscribed at all (no responders). Invocation decisions carry the service's own requestId
/// ("decision-N"); overrides (8.4) name the request's id, which the host generated.
class PolicyService {
 public:
  /// kNullMessage answers like the wasmCloud example policy actor: `"message": null`.
  enum class Mode { kAnswer, kSlow, kGarbage, kNullMessage };

  std::string issuer_a, issuer_b, issuer_c;

  Status start(const std::string& url) {
    lattice::ConnectOptions o;
    o.servers = {url};
    auto c = lattice::Connection::connect(o);
    if (!c) return fail(c.error());
    nc_ = std::move(*c);
    return listen();
  }
  Status listen() {
    auto sub = nc_->subscribe(kPolicyTopic, [this](lattice::Message m) { on_request(m); });
    if (!sub) return fail(sub.error());
    sub_ = std::move(*sub);
    return nc_->flush();
  }
  void stop_listening() {
    sub_.unsubscribe();
    (void)nc_->flush();
  }
  void set_mode(Mode m) { mode_ = m; }
  /// Waits until no slow answer is pending (at most 10 s).
  void wait_idle() {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (sleeping_ > 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
  }
  void close() {
    sub_.unsubscribe();
    nc_.reset();
  }

  /// Every request received so far (decoded JSON), in order.
  std::vector<json> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return requests_.size();
  }
  /// Requests of `action` whose target publicKey is `target` (and source publicKey `source`
  /// when not empty).
  std::vector<json> matching(const std::string& action, const std::string& target,
                             const std::string& source = {}) {
    std::vector<json> out;
    for (const auto& r : requests())
      if (r.value("action", "") == action && r["target"].value("publicKey", "") == target &&
          (source.empty() || r["source"].value("publicKey", "") == source))
        out.push_back(r);
    return out;
  }

  /// The message the service gives for a denial.
  static std::string deny_message(const std::string& issuer, const std::string& action) {
    return "issuer " + issuer + " may not " + action;
  }

 private:
  void on_request(const lattice::Message& m) {
    auto req = json::parse(m.text(), nullptr, false);
    if (req.is_discarded()) return;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    const std::string action = req.value("action", "");
    const std::string target_iss = req["target"].value("issuer", "");
    std::string source_iss;
    if (req["source"].contains("issuer") && req["source"]["issuer"].is_string())
      source_iss = req["source"]["issuer"].get<std::string>();
    bool permitted = true;
    std::string message;
    if ((action == "start_actor" || action == "start_provider") && target_iss == issuer_b) {
      permitted = false;
      message = deny_message(target_iss, action);
    } else if (action == "perform_invocation" && source_iss == issuer_c) {
      permitted = false;
      message = deny_message(source_iss, action);
    }
    if (mode_ == Mode::kSlow) {
      ++sleeping_;
      std::this_thread::sleep_for(kPolicyTimeoutMs * 2ms);
      --sleeping_;
    }
    if (mode_ == Mode::kGarbage) {
      (void)nc_->respond(m, std::string_view("this is not a decision"));
      return;
    }
    std::string id = req.value("requestId", "");
    if (action == "perform_invocation") id = "decision-" + std::to_string(++decisions_);
    if (mode_ == Mode::kNullMessage) {
      (void)nc_->respond(
          m, json{{"permitted", permitted}, {"message", nullptr}, {"requestId", id}}.dump());
      return;
    }
    (void)nc_->respond(
        m, json{{"permitted", permitted}, {"message", message}, {"requestId", id}}.dump());
  }

  std::unique_ptr<lattice::Connection> nc_;
  lattice::Subscription sub_;
  std::atomic<Mode> mode_{Mode::kAnswer};
  std::atomic<int> sleeping_{0};
  std::atomic<int> decisions_{0};
  std::mutex mu_;
  std::vector<json> requests_;
};

class Policy : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<testing::EventLog> events;
  static inline std::unique_ptr<PolicyService> service;
  static inline lattice::Subscription events_sub;
  static inline std::optional<wascap::KeyPair> cluster, host_key, iss_a, iss_b, iss_c;
  static inline std::string host_id, dir;
  static inline Bytes unsigned_echo;
  static inline int actor_serial = 0;
  // Started in declaration order by the tests.
  static inline std::string key_a, key_c;  // running actors signed by A and C

  /// An actor of the echo code signed by `issuer` with a fresh module key, pushed to the
  /// registry; returns {ref, public key}.
  static std::pair<std::string, std::string> make_actor(const wascap::KeyPair& issuer) {
    wascap::SignOptions so;
    so.name = "policy-echo-" + std::to_string(++actor_serial);
    so.caps = {"wasmcloud:httpserver", "wasmcloud:builtin:logging"};
    auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
    auto s = wascap::sign_module(unsigned_echo, issuer, module, so);
    EXPECT_TRUE(s) << s.error().message;
    if (!s) return {};
    const std::string ref =
        registry->host() + "/policy-echo-" + std::to_string(actor_serial) + ":1";
    oci::PushOptions po;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, s->module, po);
    EXPECT_TRUE(r) << r.error().message;
    return {ref, module.public_key()};
  }

  /// The build's httpserver binary packed as a provider archive signed by `issuer`, pushed;
  /// returns {ref, public key}.
  static std::pair<std::string, std::string> make_provider(const wascap::KeyPair& issuer,
                                                           const std::string& name) {
    auto archive =
        par::load_archive_file(std::string(WC_BINARY_DIR) + "/providers/httpserver.par.gz");
    EXPECT_TRUE(archive) << archive.error().message;
    if (!archive) return {};
    par::CreateSpec spec;
    spec.capid = "wasmcloud:httpserver";
    spec.vendor = "policy-test";
    spec.name = name;
    spec.ver = "0.1.0";
    spec.targets = archive->targets;
    auto service_key = wascap::KeyPair::generate(wascap::KeyType::kService);
    auto bytes = par::create_archive(spec, issuer, service_key, true);
    EXPECT_TRUE(bytes) << bytes.error().message;
    if (!bytes) return {};
    const std::string ref = registry->host() + "/" + name + ":0.1.0";
    oci::PushOptions po;
    po.kind = oci::ArtifactKind::kProvider;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, *bytes, po);
    EXPECT_TRUE(r) << r.error().message;
    return {ref, service_key.public_key()};
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-policy-it");
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo);
    auto stripped = wascap::strip_token_sections(*echo);
    ASSERT_TRUE(stripped);
    unsigned_echo = *stripped;
    iss_a = wascap::KeyPair::generate(wascap::KeyType::kAccount);
    iss_b = wascap::KeyPair::generate(wascap::KeyType::kAccount);
    iss_c = wascap::KeyPair::generate(wascap::KeyType::kAccount);

    service = std::make_unique<PolicyService>();
    service->issuer_a = iss_a->public_key();
    service->issuer_b = iss_b->public_key();
    service->issuer_c = iss_c->public_key();
    ASSERT_TRUE(service->start(nats->url()));

    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = host_key->public_key();
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{
            std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host", "--nats-port",
            std::to_string(nats->port()), "--allowed-insecure", registry->host(), "--no-native",
            "--log-level", "debug", "--oci-cache-dir", dir + "/oci", "--label", "zone=policy-test",
            "--policy-topic", kPolicyTopic, "--policy-changes-topic", kChangesTopic,
            "--policy-timeout-ms", std::to_string(kPolicyTimeoutMs)},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key->seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster->seed(), "TMPDIR=" + dir});

    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    events = std::make_unique<testing::EventLog>();
    auto sub = testing::record_events(*nc, *events);
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    ASSERT_TRUE(testing::wait_host_answers(*nc, host_id)) << "host did not answer; log in " << dir;
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    if (host_proc) host_proc->stop(15);
    host_proc.reset();
    if (service) service->close();
    service.reset();
    nc.reset();
    registry.reset();
    nats.reset();
  }

  static json request(const std::string& subject, const std::string& body,
                      std::chrono::milliseconds timeout = 5s) {
    return testing::ctl_request(*nc, subject, body, timeout);
  }
  static json cmd(const std::string& op, const json& body) {
    return testing::host_cmd(*nc, host_id, op, body.dump());
  }
  static json inventory() { return testing::host_inventory(*nc, host_id); }
  static bool running(const std::string& key) {
    // Held in a local: a range-for over `inventory()["actors"]` walks a destroyed temporary
    // (C++23's lifetime extension is not in g++ 12), which made running() always false.
    const json inv = inventory();
    for (const auto& a : inv["actors"])
      if (a["id"] == key) return true;
    return false;
  }

  /// Scales `key` from `ref` to 1 and returns the mark before the request.
  static size_t scale_up(const std::string& ref, const std::string& key) {
    size_t mark = events->mark();
    auto ack = cmd("scale", {{"actor_id", key}, {"actor_ref", ref}, {"count", 1}});
    EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
    return mark;
  }
  /// Scales up and waits for actor_started.
  static void start_ok(const std::string& ref, const std::string& key) {
    size_t mark = scale_up(ref, key);
    auto started = events->wait(
        mark, "actor_started", [&](const json& d) { return d["public_key"] == key; }, 20s);
    ASSERT_TRUE(started) << "no actor_started for " << key << "; log in " << dir;
  }
  /// Scales up and expects the policy denial events; returns the actors_start_failed data.
  static json start_denied(const std::string& ref, const std::string& key,
                           const std::string& message) {
    size_t mark = scale_up(ref, key);
    auto failed = events->wait(mark, "actor_start_failed", {}, 20s);
    EXPECT_TRUE(failed) << "no actor_start_failed; log in " << dir;
    if (!failed) return {};
    // The start's error, inspected as the reference does (3.2 step 3, 2.3.2).
    EXPECT_EQ((*failed)["data"]["actor_ref"], ref);
    EXPECT_EQ((*failed)["data"]["error"],
              "\"" + std::string(host::errors::kStartingActorDeniedPrefix) + message + "\"");
    auto agg = events->wait(mark, "actors_start_failed", {}, 1s);
    EXPECT_TRUE(agg);
    if (!agg) return {};
    EXPECT_EQ((*agg)["data"]["public_key"], key);
    EXPECT_EQ((*agg)["data"]["host_id"], host_id);
    EXPECT_EQ(events->count(mark, "actor_started"), 0u);
    EXPECT_FALSE(running(key));
    return (*agg)["data"];
  }

  /// A signed HandleRequest invocation origin -> target (both actors); the response's error.
  static std::string invoke(const std::string& origin, const std::string& target) {
    json http_req = {{"method", "GET"},
                     {"path", "/policy"},
                     {"queryString", ""},
                     {"header", json::object()},
                     {"body", json::binary(std::vector<std::uint8_t>{})}};
    auto payload = json::to_msgpack(http_req);
    auto inv = rpc::make_invocation(*cluster, rpc::actor_entity(origin), rpc::actor_entity(target),
                                    kHttpReq, Bytes(payload.begin(), payload.end()),
                                    cluster->public_key());
    if (!inv) return "make_invocation: " + inv.error().message;
    auto r = nc->request("wasmbus.rpc.default." + target, rpc::encode_invocation(*inv), 5s);
    if (!r) return "request: " + r.error().message;
    auto resp = rpc::decode_response(r->data());
    if (!resp) return "decode: " + resp.error().message;
    return resp->error.value_or("");
  }
};

TEST_F(Policy, StartActorAllowedForIssuerAWithSpecRequestShape) {
  auto [ref, key] = make_actor(*iss_a);
  auto before = wascap::now_seconds();
  start_ok(ref, key);
  key_a = key;
  auto reqs = service->matching("start_actor", key);
  ASSERT_EQ(reqs.size(), 1u);
  const json& r = reqs[0];
  // 8.2: exactly these five members.
  std::set<std::string> members;
  for (auto it = r.begin(); it != r.end(); ++it) members.insert(it.key());
  EXPECT_EQ(members, (std::set<std::string>{"requestId", "source", "target", "action", "host"}));
  EXPECT_TRUE(is_uuid_v4(r["requestId"].get<std::string>())) << r["requestId"];
  EXPECT_EQ(r["action"], "start_actor");
  // 8.1 target of start_actor.
  EXPECT_EQ(r["target"], (json{{"publicKey", key},
                               {"issuer", iss_a->public_key()},
                               {"contractId", nullptr},
                               {"linkName", nullptr}}));
  // 8.1 default source: expiresAt = now + 60 s.
  json src = r["source"];
  ASSERT_TRUE(src["expiresAt"].is_number_integer()) << src.dump();
  auto exp = src["expiresAt"].get<std::int64_t>();
  EXPECT_GE(exp, before + 60);
  EXPECT_LE(exp, wascap::now_seconds() + 60);
  src.erase("expiresAt");
  EXPECT_EQ(src, (json{{"publicKey", ""},
                       {"contractId", ""},
                       {"linkName", ""},
                       {"capabilities", json::array()},
                       {"issuer", ""},
                       {"issuedOn", ""},
                       {"expired", false}}));
  // 8.2 host object.
  const json& h = r["host"];
  EXPECT_EQ(h["publicKey"], host_id);
  EXPECT_EQ(h["issuer"], cluster->public_key());
  EXPECT_EQ(h["latticeId"], "default");
  EXPECT_EQ(h["labels"]["zone"], "policy-test");
  EXPECT_EQ(h["labels"]["hostcore.os"], "linux");
  EXPECT_TRUE(h["labels"].contains("hostcore.arch"));
  EXPECT_TRUE(h["labels"].contains("hostcore.osfamily"));
  EXPECT_EQ(h["clusterIssuers"], json::array({cluster->public_key()}));
}

TEST_F(Policy, StartActorDeniedForIssuerB) {
  auto [ref, key] = make_actor(*iss_b);
  json data =
      start_denied(ref, key, PolicyService::deny_message(iss_b->public_key(), "start_actor"));
  auto reqs = service->matching("start_actor", key);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["target"]["issuer"], iss_b->public_key());
  // actors_start_failed names the request id the service answered (3.2 step 3, not inspected).
  EXPECT_EQ(data["error"], std::string(host::errors::kPolicyDeniedStartPrefix) +
                               reqs[0]["requestId"].get<std::string>());
  EXPECT_EQ(data["image_ref"], ref);

  // `la` is refused the same way; the ack comes first (accepted), the denial as events.
  size_t mark = events->mark();
  auto ack = cmd("la", {{"actor_ref", ref}, {"host_id", host_id}, {"count", 1}});
  EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
  auto failed = events->wait(mark, "actor_start_failed", {}, 20s);
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["data"]["error"],
            "\"" + std::string(host::errors::kStartingActorDeniedPrefix) +
                PolicyService::deny_message(iss_b->public_key(), "start_actor") + "\"");
  EXPECT_FALSE(running(key));
}

TEST_F(Policy, InvocationFromAllowedIssuerSucceedsWithSpecRequestShape) {
  auto [ref, key] = make_actor(*iss_c);  // C may start actors
  start_ok(ref, key);
  key_c = key;
  ASSERT_FALSE(key_a.empty());
  size_t before = service->count();
  EXPECT_EQ(invoke(key_a, key_c), "");  // A -> C: source issuer A allowed, echo answered
  auto reqs = service->matching("perform_invocation", key_c, key_a);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(service->count(), before + 1);
  const json& r = reqs[0];
  EXPECT_TRUE(is_uuid_v4(r["requestId"].get<std::string>()));
  // 8.1: caps from the claims cache as the comma-joined string; issuedOn/expiresAt null.
  EXPECT_EQ(r["source"], (json{{"publicKey", key_a},
                               {"contractId", ""},
                               {"linkName", ""},
                               {"capabilities", "wasmcloud:httpserver,wasmcloud:builtin:logging"},
                               {"issuer", iss_a->public_key()},
                               {"issuedOn", nullptr},
                               {"expiresAt", nullptr},
                               {"expired", false}}));
  EXPECT_EQ(r["target"], (json{{"publicKey", key_c},
                               {"contractId", ""},
                               {"linkName", ""},
                               {"issuer", iss_c->public_key()}}));
  EXPECT_EQ(r["host"]["publicKey"], host_id);
}

TEST_F(Policy, InvocationFromDeniedIssuerGetsPolicyError) {
  ASSERT_FALSE(key_a.empty());
  ASSERT_FALSE(key_c.empty());
  EXPECT_EQ(invoke(key_c, key_a), std::string(rpc::errors::kPolicyRejected));
  auto reqs = service->matching("perform_invocation", key_a, key_c);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["source"]["issuer"], iss_c->public_key());
  // The denial is cached as well: no second request.
  EXPECT_EQ(invoke(key_c, key_a), std::string(rpc::errors::kPolicyRejected));
  EXPECT_EQ(service->matching("perform_invocation", key_a, key_c).size(), 1u);
}

TEST_F(Policy, InvocationDecisionsAreCached) {
  ASSERT_FALSE(key_c.empty());
  size_t before = service->count();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(invoke(key_a, key_c), "");
  EXPECT_EQ(service->count(), before);
  EXPECT_EQ(service->matching("perform_invocation", key_c, key_a).size(), 1u);
}

TEST_F(Policy, PolicyChangeOverridesCachedDecision) {
  auto reqs = service->matching("perform_invocation", key_c, key_a);
  ASSERT_EQ(reqs.size(), 1u);
  const std::string id = reqs[0]["requestId"];
  auto change = [](const json& body) { return request(kChangesTopic, body.dump()); };
  // Revoke A -> C.
  EXPECT_EQ(change({{"request_id", id}, {"permitted", false}, {"message", "revoked"}}),
            json::parse(R"({"success":true})"));
  EXPECT_EQ(invoke(key_a, key_c), std::string(rpc::errors::kPolicyRejected));
  // Allow C -> A (cached as denied).
  auto denied = service->matching("perform_invocation", key_a, key_c);
  ASSERT_EQ(denied.size(), 1u);
  EXPECT_EQ(change({{"request_id", denied[0]["requestId"]}, {"permitted", true}, {"message", ""}}),
            json::parse(R"({"success":true})"));
  EXPECT_EQ(invoke(key_c, key_a), "");
  // Restore A -> C.
  EXPECT_EQ(change({{"request_id", id}, {"permitted", true}, {"message", "restored"}}),
            json::parse(R"({"success":true})"));
  EXPECT_EQ(invoke(key_a, key_c), "");
  // The service was never asked again for these pairs.
  EXPECT_EQ(service->matching("perform_invocation", key_c, key_a).size(), 1u);
  EXPECT_EQ(service->matching("perform_invocation", key_a, key_c).size(), 1u);
  // An unknown request id is ignored but acknowledged; a malformed change is refused (8.4).
  EXPECT_EQ(change({{"request_id", "no-such-id"}, {"permitted", false}, {"message", "x"}}),
            json::parse(R"({"success":true})"));
  EXPECT_EQ(invoke(key_a, key_c), "");
  EXPECT_EQ(change({{"requestId", id}, {"permitted", false}, {"message", "x"}}),
            json::parse(R"({"success":false})"));
  EXPECT_EQ(request(kChangesTopic, "not json"), json::parse(R"({"success":false})"));
  EXPECT_EQ(invoke(key_a, key_c), "");
}

TEST_F(Policy, InvocationFromOriginWithoutClaimsDeniedWithoutAsking) {
  auto stranger = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  size_t before = service->count();
  EXPECT_EQ(invoke(stranger, key_a), std::string(rpc::errors::kPolicyRejected));
  EXPECT_EQ(service->count(), before);
}

TEST_F(Policy, StartProviderAllowedForIssuerADeniedForIssuerB) {
  auto [ref_a, key_pa] = make_provider(*iss_a, "policy-http-a");
  auto [ref_b, key_pb] = make_provider(*iss_b, "policy-http-b");
  ASSERT_FALSE(key_pa.empty());
  ASSERT_FALSE(key_pb.empty());

  size_t mark = events->mark();
  auto ack = cmd("lp", {{"provider_ref", ref_b}, {"link_name", "default"}});
  EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
  auto failed = events->wait(mark, "provider_start_failed", {}, 20s);
  ASSERT_TRUE(failed) << "no provider_start_failed; log in " << dir;
  EXPECT_EQ((*failed)["data"]["provider_ref"], ref_b);
  EXPECT_EQ((*failed)["data"]["link_name"], "default");
  EXPECT_EQ((*failed)["data"]["error"],
            "\"" +
                host::errors::starting_provider_denied(
                    key_pb, PolicyService::deny_message(iss_b->public_key(), "start_provider")) +
                "\"");
  EXPECT_EQ(events->count(mark, "provider_started"), 0u);
  EXPECT_TRUE(inventory()["providers"].empty());
  auto reqs_b = service->matching("start_provider", key_pb);
  ASSERT_EQ(reqs_b.size(), 1u);

  mark = events->mark();
  ack = cmd("lp", {{"provider_ref", ref_a}, {"link_name", "default"}});
  EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
  auto started = events->wait(
      mark, "provider_started", [&](const json& d) { return d["public_key"] == key_pa; }, 20s);
  ASSERT_TRUE(started) << "no provider_started; log in " << dir;
  auto reqs = service->matching("start_provider", key_pa);
  ASSERT_EQ(reqs.size(), 1u);
  const json& r = reqs[0];
  EXPECT_EQ(r["action"], "start_provider");
  EXPECT_TRUE(is_uuid_v4(r["requestId"].get<std::string>()));
  // 8.1 target of start_provider; default source.
  EXPECT_EQ(r["target"], (json{{"publicKey", key_pa},
                               {"issuer", iss_a->public_key()},
                               {"linkName", "default"},
                               {"contractId", "wasmcloud:httpserver"}}));
  EXPECT_EQ(r["source"]["publicKey"], "");
  EXPECT_EQ(r["source"]["capabilities"], json::array());
  EXPECT_EQ(r["host"]["publicKey"], host_id);

  // Stop it again (the later tests need no provider).
  mark = events->mark();
  ack = cmd("sp", {{"provider_ref", key_pa},
                   {"link_name", "default"},
                   {"contract_id", "wasmcloud:httpserver"},
                   {"host_id", host_id}});
  EXPECT_EQ(ack["accepted"], true) << ack.dump();
  EXPECT_TRUE(events->wait(mark, "provider_stopped", {}, 10s));
}

TEST_F(Policy, NoRespondersDenies) {
  service->stop_listening();
  auto [ref, key] = make_actor(*iss_a);
  size_t before = service->count();
  json data = start_denied(ref, key, std::string(host::errors::kPolicyNoResponders));
  const std::string err = data.value("error", "");
  ASSERT_EQ(err.rfind(host::errors::kPolicyDeniedStartPrefix, 0), 0u) << err;
  EXPECT_TRUE(is_uuid_v4(err.substr(host::errors::kPolicyDeniedStartPrefix.size()))) << err;
  // An uncached invocation pair is rejected as well (A -> A was never asked).
  EXPECT_EQ(invoke(key_a, key_a), std::string(rpc::errors::kPolicyRejected));
  EXPECT_EQ(service->count(), before);
  // Cached decisions still apply without the service.
  EXPECT_EQ(invoke(key_a, key_c), "");

  // Failures are not cached: once the service listens again the same start succeeds.
  ASSERT_TRUE(service->listen());
  start_ok(ref, key);
  EXPECT_EQ(service->matching("start_actor", key).size(), 1u);
}

TEST_F(Policy, UndecodableAnswerDenies) {
  service->set_mode(PolicyService::Mode::kGarbage);
  auto [ref, key] = make_actor(*iss_a);
  start_denied(ref, key, std::string(host::errors::kPolicyDecodeFailed));
  service->set_mode(PolicyService::Mode::kAnswer);
  start_ok(ref, key);  // not cached
}

TEST_F(Policy, SlowServiceTimesOutAndDenies) {
  service->set_mode(PolicyService::Mode::kSlow);
  auto [ref, key] = make_actor(*iss_a);
  auto t0 = std::chrono::steady_clock::now();
  start_denied(ref, key, std::string(host::errors::kPolicyTimedOut));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(kPolicyTimeoutMs));
  EXPECT_EQ(service->matching("start_actor", key).size(), 1u);  // asked, answered too late
  // A slow answer to an uncached, permitted pair rejects the invocation, and is not cached.
  EXPECT_EQ(invoke(key_a, key_a), std::string(rpc::errors::kPolicyRejected));
  service->set_mode(PolicyService::Mode::kAnswer);
  service->wait_idle();  // the late answers went out
  EXPECT_EQ(invoke(key_a, key_a), "");
  EXPECT_EQ(service->matching("perform_invocation", key_a, key_a).size(), 2u);
  start_ok(ref, key);
  EXPECT_EQ(service->matching("start_actor", key).size(), 2u);
}

// Issue #12.1: the wasmCloud example policy actor answers `"message": null`. A permit with a null
// message starts the actor (it used to throw in the lifecycle task and publish nothing at all);
// a denial with a null message is reported with an empty message.
TEST_F(Policy, NullMessageInDecisionIsLenient) {
  service->set_mode(PolicyService::Mode::kNullMessage);
  auto [ref, key] = make_actor(*iss_a);
  start_ok(ref, key);
  EXPECT_TRUE(running(key));
  EXPECT_EQ(service->matching("start_actor", key).size(), 1u);
  auto [ref_b, key_b] = make_actor(*iss_b);
  start_denied(ref_b, key_b, "");
  service->set_mode(PolicyService::Mode::kAnswer);
}

}  // namespace
}  // namespace wc
