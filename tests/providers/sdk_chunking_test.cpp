// Provider SDK chunking (actor-rpc-providers.md 3.6) against a real JetStream nats-server (default
// max_payload 1 MiB): an in-process ProviderRuntime receives chunked invocations, chunks its large
// replies, and chunks call_actor() payloads to a test "actor" (a plain NATS responder).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lattice/nats.h"
#include "lattice/objstore.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "sdk/provider.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc::provider {
namespace {

using namespace std::chrono_literals;
namespace topics = lattice::topics;

constexpr const char* kContract = "wasmcloud:testing";

/// Answers `Test.Double` with the payload twice; anything else echoes the payload.
class DoublingHandler : public ProviderHandler {
 public:
  Status put_link(const LinkDefinition&) override { return ok(); }
  void delete_link(const std::string&) override {}
  Result<Bytes> dispatch(const InvocationContext&, std::string_view operation,
                         std::span<const std::uint8_t> payload) override {
    Bytes out(payload.begin(), payload.end());
    if (operation == "Test.Double") out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
};

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 31 + seed) % 253);
  return b;
}

class SdkChunking : public ::testing::Test {
 protected:
  static inline std::unique_ptr<wc::testing::NatsServer> nats;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<lattice::ObjectStore> store;
  static inline std::optional<wascap::KeyPair> cluster;
  static inline DoublingHandler handler;
  static inline std::unique_ptr<ProviderRuntime> runtime;
  static inline std::string actor, provider;

  static void SetUpTestSuite() {
    nats = std::make_unique<wc::testing::NatsServer>();
    lattice::ConnectOptions co;
    co.servers = {nats->url()};
    auto c = lattice::Connection::connect(co);
    ASSERT_TRUE(c);
    nc = std::move(*c);
    auto s = lattice::ObjectStore::open(*nc, "default", {}, 2s);
    ASSERT_TRUE(s) << s.error().to_string();
    store = std::make_unique<lattice::ObjectStore>(std::move(*s));
    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    actor = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
    provider = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
    HostData hd;
    hd.host_id = wascap::KeyPair::generate(wascap::KeyType::kServer).public_key();
    hd.lattice_rpc_prefix = "default";
    hd.link_name = "default";
    hd.lattice_rpc_url = "127.0.0.1:" + std::to_string(nats->port());
    hd.provider_key = provider;
    hd.invocation_seed = cluster->seed();
    hd.cluster_issuers = {cluster->public_key()};
    hd.link_definitions = {LinkDefinition{actor, provider, "default", kContract, {}, ""}};
    RuntimeOptions ro;
    ro.contract_id = kContract;
    ro.workers = 2;
    auto rt = ProviderRuntime::start(hd, handler, ro);
    ASSERT_TRUE(rt) << rt.error().to_string();
    runtime = std::move(*rt);
  }
  static void TearDownTestSuite() {
    runtime.reset();
    store.reset();
    nc.reset();
    nats.reset();
  }

  /// Sends `payload` from the linked actor to the provider, chunked above 900 KiB like a
  /// wasmbus-rpc sender. `store_object` false leaves the object out (a broken sender).
  static rpc::InvocationResponse invoke(const std::string& operation, const Bytes& payload,
                                        std::string* id = nullptr, bool store_object = true) {
    rpc::SignOptions so;
    so.chunk_threshold = SIZE_MAX;
    auto inv = rpc::make_invocation(*cluster, rpc::actor_entity(actor),
                                    rpc::provider_entity(provider, kContract, "default"), operation,
                                    payload, cluster->public_key(), so);
    EXPECT_TRUE(inv);
    if (id) *id = inv->id;
    if (inv->msg.size() > rpc::kSdkChunkThreshold) {
      if (store_object) {
        EXPECT_TRUE(store->put(inv->id, inv->msg));
      }
      inv->msg.clear();
    }
    auto reply =
        nc->request(topics::rpc_provider("default", provider, "default"),
                    rpc::encode_invocation(*inv), rpc::rpc_timeout_for(payload.size(), 2000ms));
    EXPECT_TRUE(reply) << reply.error().to_string();
    if (!reply) return {};
    auto resp = rpc::decode_response(reply->data());
    EXPECT_TRUE(resp);
    return resp ? *resp : rpc::InvocationResponse{};
  }

  /// Messages left on the chunk subjects of OBJ_default (0 once every object was deleted).
  static std::uint64_t chunk_messages() {
    auto r = nc->request("$JS.API.STREAM.INFO.OBJ_default",
                         std::string_view(R"({"subjects_filter":"$O.default.C.>"})"), 2s);
    if (!r) return UINT64_MAX;
    auto j = nlohmann::json::parse(r->text());
    std::uint64_t n = 0;
    if (j["state"].contains("subjects"))
      for (const auto& [subject, count] : j["state"]["subjects"].items()) n += count.get<int>();
    return n;
  }
};

TEST_F(SdkChunking, SmallInvocationStaysInline) {
  Bytes payload = pattern(1000, 1);
  auto resp = invoke("Test.Double", payload);
  ASSERT_FALSE(resp.failed()) << *resp.error;
  EXPECT_EQ(resp.msg.size(), 2000u);
  EXPECT_EQ(resp.content_length, 2000u);
}

TEST_F(SdkChunking, InlineRequestWithChunkedReply) {
  // 600 KB inline; the doubled 1.2 MB reply is above 900 KiB and goes to `<id>-r`.
  Bytes payload = pattern(600000, 2);
  std::string id;
  auto resp = invoke("Test.Double", payload, &id);
  ASSERT_FALSE(resp.failed()) << *resp.error;
  EXPECT_TRUE(resp.msg.empty());
  ASSERT_EQ(resp.content_length, 1200000u);
  auto full = store->take(topics::obj_response_name(id));
  ASSERT_TRUE(full) << full.error().to_string();
  Bytes expected = payload;
  expected.insert(expected.end(), payload.begin(), payload.end());
  EXPECT_EQ(*full, expected);
  EXPECT_EQ(chunk_messages(), 0u);
}

TEST_F(SdkChunking, ChunkedRequestIsReadValidatedAndDeleted) {
  Bytes payload = pattern(2 << 20, 3);
  std::string id;
  auto resp = invoke("Test.Echo", payload, &id);
  ASSERT_FALSE(resp.failed()) << *resp.error;
  EXPECT_TRUE(resp.msg.empty());
  ASSERT_EQ(resp.content_length, payload.size());
  auto full = store->take(topics::obj_response_name(id));
  ASSERT_TRUE(full) << full.error().to_string();
  EXPECT_EQ(*full, payload);
  // The provider deleted the request object after reading it.
  auto gone = store->get(id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Code::kNotFound);
  EXPECT_EQ(chunk_messages(), 0u);
}

TEST_F(SdkChunking, ChunkedRequestWithoutObjectIsAClearErrorAndNextCallWorks) {
  std::string id;
  auto resp = invoke("Test.Echo", pattern(1 << 20, 4), &id, /*store_object=*/false);
  ASSERT_TRUE(resp.failed());
  EXPECT_EQ(resp.error->rfind(std::string(lattice::kChunkReadFailedPrefix) + id + ": ", 0), 0u)
      << *resp.error;
  EXPECT_EQ(resp.invocation_id, id);
  auto next = invoke("Test.Double", pattern(10, 5));
  ASSERT_FALSE(next.failed()) << *next.error;
  EXPECT_EQ(next.msg.size(), 20u);
}

TEST_F(SdkChunking, ChunkedRequestWithTamperedObjectFailsTheHash) {
  // The object holds different bytes than the token hashed: refused after de-chunking.
  Bytes payload = pattern(1 << 20, 6);
  rpc::SignOptions so;
  so.chunk_threshold = SIZE_MAX;
  auto inv = rpc::make_invocation(*cluster, rpc::actor_entity(actor),
                                  rpc::provider_entity(provider, kContract, "default"), "Test.Echo",
                                  payload, cluster->public_key(), so);
  ASSERT_TRUE(inv);
  payload[12345] ^= 0xff;
  ASSERT_TRUE(store->put(inv->id, payload));
  inv->msg.clear();
  auto reply = nc->request(topics::rpc_provider("default", provider, "default"),
                           rpc::encode_invocation(*inv), 15s);
  ASSERT_TRUE(reply);
  auto resp = rpc::decode_response(reply->data());
  ASSERT_TRUE(resp && resp->failed());
  EXPECT_NE(resp->error->find("hash"), std::string::npos) << *resp->error;
}

/// A test actor on `wasmbus.rpc.default.<actor>`: de-chunks the request (recording what it saw)
/// and answers with `reply_size` bytes, chunked above 900 KiB unless `store_reply` is false.
struct FakeActor {
  std::size_t seen_msg = 0;
  std::uint64_t seen_content_length = 0;
  Bytes seen_payload;
  std::size_t reply_size = 0;
  bool store_reply = true;
  lattice::Subscription sub;

  void serve(lattice::Connection& conn, lattice::ObjectStore& objects, const std::string& key) {
    sub = std::move(*conn.subscribe(topics::rpc_actor("default", key), [&](lattice::Message m) {
      auto inv = rpc::decode_invocation(m.data());
      if (!inv) return;
      seen_msg = inv->msg.size();
      seen_content_length = inv->content_length.value_or(0);
      seen_payload = inv->msg;
      if (rpc::is_chunked(*inv)) seen_payload = objects.take(inv->id).value_or(Bytes{});
      auto resp = rpc::success_response(inv->id, "i", pattern(reply_size, 9));
      if (resp.msg.size() > rpc::kSdkChunkThreshold) {
        if (store_reply) (void)objects.put(topics::obj_response_name(inv->id), resp.msg);
        resp.msg.clear();
      }
      (void)conn.respond(m, rpc::encode_response(resp));
    }));
    (void)conn.flush();
  }
};

TEST_F(SdkChunking, CallActorChunksBothWays) {
  const std::string target = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  FakeActor fake;
  fake.reply_size = 2 << 20;
  fake.serve(*nc, *store, target);
  Bytes payload = pattern(1 << 20, 7);
  auto out = runtime->call_actor(target, "Test.Big", payload);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, pattern(2 << 20, 9));
  EXPECT_EQ(fake.seen_msg, 0u);
  EXPECT_EQ(fake.seen_content_length, payload.size());
  EXPECT_EQ(fake.seen_payload, payload);
  EXPECT_EQ(chunk_messages(), 0u);
}

TEST_F(SdkChunking, CallActorAtTheThresholdStaysInline) {
  const std::string target = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  FakeActor fake;
  fake.reply_size = 10;
  fake.serve(*nc, *store, target);
  auto out = runtime->call_actor(target, "Test.Edge", pattern(rpc::kSdkChunkThreshold, 8));
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(fake.seen_msg, rpc::kSdkChunkThreshold);
  EXPECT_EQ(fake.seen_payload.size(), rpc::kSdkChunkThreshold);
}

TEST_F(SdkChunking, CallActorWithMissingResponseObjectFails) {
  const std::string target = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  FakeActor fake;
  fake.reply_size = 1 << 20;
  fake.store_reply = false;
  fake.serve(*nc, *store, target);
  auto out = runtime->call_actor(target, "Test.Lost", pattern(100, 1));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Code::kNotFound);
  EXPECT_EQ(out.error().message.rfind(std::string(lattice::kChunkReadFailedPrefix), 0), 0u)
      << out.error().message;
}

}  // namespace
}  // namespace wc::provider
