// Actor lifecycle limits and defects end to end (issues #11.3, #12.4, #12.5): a `wasmcloud host`
// process started with `--max-instances 5` on a real nats-server (max_payload raised to 4 MiB so
// that an oversized control request reaches the host) and a real docker-registry holding the
// signed echo fixture and one actor signed at revisions 1 and 2 under two tags.
// The tests share the host and run in declaration order (one ctest entry); each leaves no actor
// running.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "host/control.h"
#include "host/errors.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr int kMaxInstances = 5;

class Lifecycle : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<testing::EventLog> events;
  static inline lattice::Subscription events_sub;
  static inline std::string host_id, dir, echo_ref, updatable_key;

  static void push(const std::string& ref, const Bytes& bytes) {
    oci::PushOptions po;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, bytes, po);
    ASSERT_TRUE(r) << r.error().message;
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-lifecycle-it");
    const std::string nats_conf = dir + "/nats.conf";
    std::ofstream(nats_conf) << "max_payload: 4194304\n";
    nats = std::make_unique<testing::NatsServer>(0, std::vector<std::string>{"-c", nats_conf});
    registry = std::make_unique<testing::RegistryServer>();
    auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo);
    echo_ref = registry->host() + "/echo:0.3.4";
    push(echo_ref, *echo);
    // The echo code signed by one module key at revisions 1 and 2, under two tags.
    auto unsigned_echo = wascap::strip_token_sections(*echo);
    ASSERT_TRUE(unsigned_echo);
    auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
    auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
    updatable_key = module.public_key();
    for (int rev : {1, 2}) {
      wascap::SignOptions o;
      o.name = "updatable";
      o.caps = {"wasmcloud:httpserver"};
      o.rev = rev;
      auto m = wascap::sign_module(*unsigned_echo, account, module, o);
      ASSERT_TRUE(m) << m.error().message;
      push(registry->host() + "/updatable:" + std::to_string(rev), m->module);
    }

    auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    auto host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = host_key.public_key();
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                                 registry->host(), "--no-native", "--log-level", "debug",
                                 "--oci-cache-dir", dir + "/oci", "--max-instances",
                                 std::to_string(kMaxInstances)},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key.seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster.seed(), "TMPDIR=" + dir});

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
    nc.reset();
    registry.reset();
    nats.reset();
  }

  static json cmd(const std::string& op, const json& body) {
    return testing::host_cmd(*nc, host_id, op, body.dump());
  }
  static json inventory() { return testing::host_inventory(*nc, host_id); }
  /// Instances of `key` in the inventory (empty when it does not run).
  static json instances(const std::string& key) {
    const json inv = inventory();  // kept alive: the loop walks into it
    for (const auto& a : inv["actors"])
      if (a["id"] == key) return a["instances"];
    return json::array();
  }
  static std::string image_ref(const std::string& key) {
    const json inv = inventory();  // kept alive: the loop walks into it
    for (const auto& a : inv["actors"])
      if (a["id"] == key) return a["image_ref"];
    return {};
  }
  static std::size_t total_instances() {
    std::size_t n = 0;
    const json inv = inventory();  // kept alive: the loop walks into it
    for (const auto& a : inv["actors"]) n += a["instances"].size();
    return n;
  }
  /// Stops every instance of `key` and waits until the inventory shows none.
  static void stop_all(const std::string& key) {
    auto ack = cmd("sa", {{"actor_ref", key}, {"count", 0}});
    EXPECT_EQ(ack["accepted"], true) << ack.dump();
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!instances(key).empty() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(instances(key).empty());
  }
  static const json kAccepted;
};

const json Lifecycle::kAccepted = json::parse(R"({"accepted":true,"error":""})");

// #11.3: a reference longer than any OCI client accepts is refused in the ack, naming the field
// and the limit, and nothing starts.
TEST_F(Lifecycle, OversizedReferenceRefusedInTheAck) {
  size_t mark = events->mark();
  const std::string long_ref = registry->host() + "/" + std::string(10000, 'a') + ":1";
  auto ack = cmd("la", {{"actor_ref", long_ref}, {"count", 1}});
  EXPECT_EQ(
      ack, (json{{"accepted", false},
                 {"error", host::errors::field_too_long("actor_ref", host::kMaxReferenceLength)}}));
  ack = cmd("scale", {{"actor_id", kEcho}, {"actor_ref", long_ref}, {"count", 1}});
  EXPECT_EQ(ack["accepted"], false);
  EXPECT_EQ(ack["error"], host::errors::field_too_long("actor_ref", host::kMaxReferenceLength));
  ack =
      cmd("la", {{"actor_ref", echo_ref},
                 {"annotations", {{"k", std::string(host::kMaxAnnotationValueLength + 1, 'v')}}}});
  EXPECT_EQ(ack["error"],
            host::errors::field_too_long("annotations", host::kMaxAnnotationValueLength));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(events->count(mark, "actor_start_failed"), 0u);  // refused before any work
  EXPECT_EQ(events->count(mark, "actor_started"), 0u);
  EXPECT_EQ(total_instances(), 0u);
}

// #11.3: a control request over 1 MiB is refused before it is parsed.
TEST_F(Lifecycle, OversizedControlRequestRefused) {
  const std::string body = json{{"actor_ref", std::string(2 * 1024 * 1024, 'a')}}.dump();
  auto ack = testing::ctl_request(*nc, "wasmbus.ctl.default.cmd." + host_id + ".la", body, 10s);
  EXPECT_EQ(ack, (json{{"accepted", false},
                       {"error", host::errors::request_too_large(body.size(),
                                                                 host::kMaxControlRequestBytes)}}));
  // Linkdefs and the lattice-wide subjects are guarded the same way.
  auto ld = testing::ctl_request(*nc, "wasmbus.ctl.default.linkdefs.put", body, 10s);
  EXPECT_EQ(ld["accepted"], false);
  EXPECT_EQ(ld["error"],
            host::errors::request_too_large(body.size(), host::kMaxControlRequestBytes));
  EXPECT_TRUE(inventory().contains("host_id"));  // still answering
}

// #11.3: many `la` requests of count 1 cannot exceed the host's instance limit: the ones past it
// are refused in the ack and with actor_start_failed, and the inventory stays at the limit.
TEST_F(Lifecycle, InstanceLimitHoldsAcrossRequests) {
  size_t mark = events->mark();
  const int requests = kMaxInstances + 4;
  int accepted = 0;
  std::vector<std::string> refusals;
  for (int i = 0; i < requests; ++i) {
    auto ack = cmd("la", {{"actor_ref", echo_ref}, {"count", 1}});
    if (ack["accepted"] == true)
      ++accepted;
    else
      refusals.push_back(ack.value("error", ""));
  }
  EXPECT_EQ(accepted, kMaxInstances);
  ASSERT_EQ(refusals.size(), static_cast<size_t>(requests - kMaxInstances));
  for (const auto& e : refusals)
    EXPECT_EQ(e, host::errors::host_instance_limit(1, kMaxInstances, kMaxInstances));
  EXPECT_EQ(events->wait_count(mark, "actor_started", kMaxInstances, 30s),
            static_cast<size_t>(kMaxInstances))
      << "log in " << dir;
  EXPECT_EQ(events->wait_count(mark, "actor_start_failed", refusals.size(), 5s), refusals.size());
  auto failed = events->wait(mark, "actor_start_failed");
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["data"]["actor_ref"], echo_ref);
  EXPECT_EQ((*failed)["data"]["error"],
            "\"" + host::errors::host_instance_limit(1, kMaxInstances, kMaxInstances) + "\"");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(total_instances(), static_cast<size_t>(kMaxInstances));

  // A scale past the limit is refused too; one within it (the same total) is accepted.
  auto ack =
      cmd("scale", {{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", kMaxInstances + 1}});
  EXPECT_EQ(ack,
            (json{{"accepted", false},
                  {"error", host::errors::host_instance_limit(1, kMaxInstances, kMaxInstances)}}));
  EXPECT_EQ(cmd("scale", {{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", kMaxInstances}}),
            kAccepted);
  // Scaling down frees room again.
  EXPECT_EQ(cmd("scale", {{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", 2}}), kAccepted);
  auto until = std::chrono::steady_clock::now() + 10s;
  while (total_instances() != 2 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(total_instances(), 2u);
  EXPECT_EQ(cmd("la", {{"actor_ref", echo_ref}, {"count", kMaxInstances - 2}}), kAccepted);
  EXPECT_EQ(cmd("la", {{"actor_ref", echo_ref}, {"count", 1}})["accepted"], false);
  until = std::chrono::steady_clock::now() + 10s;
  while (total_instances() != kMaxInstances && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(total_instances(), static_cast<size_t>(kMaxInstances));
  stop_all(kEcho);
}

// #12.5: with one instance without annotations and one with {"foo":"bar"}, a stop of count 1
// filtered by {"foo":"bar"} stops the matching one.
TEST_F(Lifecycle, StopWithAnnotationsFiltersBeforeCounting) {
  size_t mark = events->mark();
  ASSERT_EQ(cmd("la", {{"actor_ref", echo_ref}, {"count", 1}}), kAccepted);
  ASSERT_TRUE(events->wait(mark, "actors_started", {}, 20s)) << "log in " << dir;
  mark = events->mark();
  ASSERT_EQ(cmd("la", {{"actor_ref", echo_ref}, {"count", 1}, {"annotations", {{"foo", "bar"}}}}),
            kAccepted);
  ASSERT_TRUE(events->wait(mark, "actors_started", {}, 20s));
  ASSERT_EQ(instances(kEcho).size(), 2u);

  mark = events->mark();
  EXPECT_EQ(cmd("sa", {{"actor_ref", kEcho}, {"count", 1}, {"annotations", {{"foo", "bar"}}}}),
            kAccepted);
  auto stopped = events->wait(mark, "actor_stopped", {}, 5s);
  ASSERT_TRUE(stopped);
  EXPECT_EQ((*stopped)["data"]["annotations"], (json{{"foo", "bar"}}));
  auto agg = events->wait(mark, "actors_stopped", {}, 5s);
  ASSERT_TRUE(agg);
  EXPECT_EQ((*agg)["data"]["remaining"], 1);
  EXPECT_EQ((*agg)["data"]["annotations"], (json{{"foo", "bar"}}));
  auto left = instances(kEcho);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["annotations"], json::object());

  // A filter nothing matches stops nothing.
  mark = events->mark();
  EXPECT_EQ(cmd("sa", {{"actor_ref", kEcho}, {"count", 0}, {"annotations", {{"foo", "bar"}}}}),
            kAccepted);
  EXPECT_EQ(events->count(mark, "actor_stopped"), 0u);
  EXPECT_EQ(instances(kEcho).size(), 1u);
  stop_all(kEcho);
}

// #12.4: after a live update to a new reference, inventory, claims and further scaling use it.
TEST_F(Lifecycle, LiveUpdateThenScaleUsesTheNewReference) {
  const std::string v1 = registry->host() + "/updatable:1";
  const std::string v2 = registry->host() + "/updatable:2";
  size_t mark = events->mark();
  ASSERT_EQ(cmd("scale", {{"actor_id", updatable_key}, {"actor_ref", v1}, {"count", 2}}),
            kAccepted);
  ASSERT_EQ(events->wait_count(mark, "actor_started", 2, 20s), 2u) << "log in " << dir;

  mark = events->mark();
  EXPECT_EQ(cmd("upd", {{"actor_id", updatable_key}, {"new_actor_ref", v2}}), kAccepted);
  EXPECT_EQ(events->wait_count(mark, "actor_updated", 2, 10s), 2u);
  auto refmap = events->wait(mark, "refmap_set");
  ASSERT_TRUE(refmap);
  EXPECT_EQ((*refmap)["data"], (json{{"oci_url", v2}, {"public_key", updatable_key}}));
  EXPECT_EQ(image_ref(updatable_key), v2);
  const json updated = instances(updatable_key);
  EXPECT_EQ(updated.size(), 2u);
  for (const auto& i : updated) EXPECT_EQ(i["revision"], 2);
  const json claims = testing::ctl_request(*nc, "wasmbus.ctl.default.get.claims", "");
  bool found = false;
  for (const auto& c : claims["claims"])
    if (c["sub"] == updatable_key) {
      found = true;
      EXPECT_EQ(c["rev"], "2");
    }
  EXPECT_TRUE(found) << claims.dump();

  // Scaling with the new reference works; the old one is now the "different reference".
  mark = events->mark();
  EXPECT_EQ(cmd("scale", {{"actor_id", updatable_key}, {"actor_ref", v2}, {"count", 3}}),
            kAccepted);
  auto started = events->wait(mark, "actor_started", {}, 20s);
  ASSERT_TRUE(started) << "log in " << dir;
  EXPECT_EQ((*started)["data"]["image_ref"], v2);
  EXPECT_EQ(events->count(mark, "actor_start_failed"), 0u);
  EXPECT_EQ(instances(updatable_key).size(), 3u);
  EXPECT_EQ(image_ref(updatable_key), v2);

  mark = events->mark();
  EXPECT_EQ(cmd("scale", {{"actor_id", updatable_key}, {"actor_ref", v1}, {"count", 4}}),
            kAccepted);
  auto failed = events->wait(mark, "actor_start_failed", {}, 20s);
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["data"]["error"],
            "\"" + host::errors::other_reference(updatable_key, v1) + "\"");
  EXPECT_EQ(instances(updatable_key).size(), 3u);
  stop_all(updatable_key);
}

}  // namespace
}  // namespace wc
