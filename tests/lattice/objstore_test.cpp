// Object store (chunking, actor-rpc-providers.md 3.6) against a real JetStream nats-server:
// round trips across chunk boundaries, meta JSON shape, deletion, corruption detection.
#include "lattice/objstore.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"

namespace wc::lattice {
namespace {

using namespace std::chrono_literals;

class ObjectStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new wc::testing::NatsServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ConnectOptions o;
    o.servers = {server_->url()};
    nc_ = std::move(*Connection::connect(o));
    auto store = ObjectStore::open(*nc_, "default", {}, 2s);
    ASSERT_TRUE(store.has_value()) << store.error().to_string();
    store_ = std::make_unique<ObjectStore>(std::move(*store));
  }
  void TearDown() override {
    store_.reset();
    nc_.reset();
  }
  /// The meta JSON of `name`, read through the JetStream API directly.
  nlohmann::json raw_meta(const std::string& name) {
    nlohmann::json req = {{"last_by_subj", topics::obj_meta_subject("default", name)}};
    auto r = nc_->request("$JS.API.STREAM.MSG.GET.OBJ_default", req.dump(), 2s);
    EXPECT_TRUE(r.has_value());
    auto resp = nlohmann::json::parse(r->text());
    auto data = base64_decode(resp["message"]["data"].get<std::string>());
    EXPECT_TRUE(data.has_value());
    return nlohmann::json::parse(to_string(*data));
  }
  static wc::testing::NatsServer* server_;
  std::unique_ptr<Connection> nc_;
  std::unique_ptr<ObjectStore> store_;
};
wc::testing::NatsServer* ObjectStoreTest::server_ = nullptr;

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 131 + 7) % 251);
  return b;
}

TEST_F(ObjectStoreTest, RoundTripAcrossChunkBoundaries) {
  for (std::size_t n : {std::size_t{1}, kObjectChunkSize - 1, kObjectChunkSize,
                        kObjectChunkSize + 1, std::size_t{1500000}}) {
    std::string name = "obj-" + std::to_string(n);
    Bytes data = pattern(n);
    ASSERT_TRUE(store_->put(name, data)) << n;
    auto back = store_->get(name);
    ASSERT_TRUE(back.has_value()) << back.error().to_string();
    EXPECT_EQ(*back, data) << n;
  }
}

TEST_F(ObjectStoreTest, EmptyObject) {
  ASSERT_TRUE(store_->put("empty", Bytes{}));
  auto back = store_->get("empty");
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->empty());
  EXPECT_EQ(raw_meta("empty")["chunks"], 0);
}

TEST_F(ObjectStoreTest, MetaJsonShape) {
  Bytes data = pattern(300000);
  ASSERT_TRUE(store_->put("7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6", data));
  auto meta = raw_meta("7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6");
  EXPECT_EQ(meta["name"], "7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6");
  EXPECT_TRUE(meta["description"].is_null());
  EXPECT_TRUE(meta["link"].is_null());
  EXPECT_EQ(meta["bucket"], "default");
  EXPECT_EQ(meta["nuid"].get<std::string>().size(), 22u);
  EXPECT_EQ(meta["size"], 300000);
  EXPECT_EQ(meta["chunks"], 3);  // 128 KiB pieces
  EXPECT_EQ(meta["deleted"], false);
  std::string digest = base64url_encode(sha256(data));
  while (digest.size() % 4) digest.push_back('=');
  EXPECT_EQ(meta["digest"], "SHA-256=" + digest);
  EXPECT_TRUE(meta["modified"].is_string());
}

TEST_F(ObjectStoreTest, ReplaceKeepsOnlyTheNewContent) {
  ASSERT_TRUE(store_->put("replace", pattern(200000)));
  Bytes second(5, 9);
  ASSERT_TRUE(store_->put("replace", second));
  auto back = store_->get("replace");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, second);
}

TEST_F(ObjectStoreTest, MissingObjectIsNotFound) {
  auto r = store_->get("never-written");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kNotFound);
  auto d = store_->remove("never-written");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Code::kNotFound);
}

TEST_F(ObjectStoreTest, TakeReadsThenDeletes) {
  Bytes data = pattern(140000);
  ASSERT_TRUE(store_->put("inv-1-r", data));
  auto taken = store_->take("inv-1-r");
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(*taken, data);
  auto again = store_->get("inv-1-r");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Code::kNotFound);
  auto meta = raw_meta("inv-1-r");
  EXPECT_EQ(meta["deleted"], true);
  EXPECT_EQ(meta["size"], 0);
  EXPECT_EQ(meta["chunks"], 0);
}

TEST_F(ObjectStoreTest, DigestMismatchIsDataLoss) {
  ASSERT_TRUE(store_->put("corrupt", pattern(1000)));
  auto meta = raw_meta("corrupt");
  meta["digest"] = "SHA-256=AAAA";
  ASSERT_TRUE(nc_->publish(topics::obj_meta_subject("default", "corrupt"), meta.dump(),
                           {{"Nats-Rollup", "sub"}}));
  ASSERT_TRUE(nc_->flush());
  std::this_thread::sleep_for(50ms);
  auto r = store_->get("corrupt");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kDataLoss);
}

TEST_F(ObjectStoreTest, MissingChunksIsDataLoss) {
  ASSERT_TRUE(store_->put("purged", pattern(1000)));
  auto meta = raw_meta("purged");
  meta["nuid"] = "NOCHUNKSHERE0000000000";
  ASSERT_TRUE(nc_->publish(topics::obj_meta_subject("default", "purged"), meta.dump(),
                           {{"Nats-Rollup", "sub"}}));
  ASSERT_TRUE(nc_->flush());
  std::this_thread::sleep_for(50ms);
  auto store = ObjectStore::open(*nc_, "default", {}, 300ms);
  ASSERT_TRUE(store.has_value());
  auto r = store->get("purged");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kDataLoss);
}

TEST_F(ObjectStoreTest, MetaThatIsNotJsonIsDataLoss) {
  ASSERT_TRUE(nc_->publish(topics::obj_meta_subject("default", "garbage"), std::string_view("{"),
                           {{"Nats-Rollup", "sub"}}));
  ASSERT_TRUE(nc_->flush());
  std::this_thread::sleep_for(50ms);
  auto r = store_->get("garbage");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kDataLoss);
}

TEST_F(ObjectStoreTest, EmptyNameIsInvalid) {
  auto st = store_->put("", Bytes{1});
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kInvalidArgument);
}

TEST_F(ObjectStoreTest, InvalidBucketName) {
  auto s = ObjectStore::open(*nc_, "bad.bucket");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Code::kInvalidArgument);
}

TEST_F(ObjectStoreTest, ReopeningAnExistingBucket) {
  ASSERT_TRUE(store_->put("persist", Bytes{1, 2, 3}));
  auto again = ObjectStore::open(*nc_, "default");
  ASSERT_TRUE(again.has_value());
  auto r = again->get("persist");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (Bytes{1, 2, 3}));
}

TEST_F(ObjectStoreTest, CreatedStreamHasTheSpecConfig) {
  auto opened = ObjectStore::open(*nc_, "cfgcheck", {}, 2s);
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  auto r = nc_->request("$JS.API.STREAM.INFO.OBJ_cfgcheck", std::string_view(), 2s);
  ASSERT_TRUE(r.has_value());
  auto info = nlohmann::json::parse(r->text());
  const auto& cfg = info["config"];
  EXPECT_EQ(cfg["subjects"], nlohmann::json::array({"$O.cfgcheck.C.>", "$O.cfgcheck.M.>"}));
  EXPECT_EQ(cfg["discard"], "new");
  EXPECT_EQ(cfg["allow_rollup_hdrs"], true);
  EXPECT_EQ(cfg["storage"], "file");
  EXPECT_EQ(cfg["num_replicas"], 1);
  EXPECT_EQ(cfg["max_age"], 0);
}

TEST_F(ObjectStoreTest, LazyStoreOpensOnFirstUseAndTakeDeletes) {
  LazyObjectStore lazy(*nc_, "lazybucket", {}, 2s);
  // Nothing exists before the first call.
  auto before = nc_->request("$JS.API.STREAM.INFO.OBJ_lazybucket", std::string_view(), 2s);
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(nlohmann::json::parse(before->text()).contains("error"));
  Bytes data = pattern(kObjectChunkSize * 2 + 5);
  ASSERT_TRUE(lazy.put("inv-9", data));
  auto taken = lazy.take("inv-9");
  ASSERT_TRUE(taken.has_value()) << taken.error().to_string();
  EXPECT_EQ(*taken, data);
  // Deleted after reading: no chunk message is left in the stream, only the deleted meta.
  auto info = nc_->request("$JS.API.STREAM.INFO.OBJ_lazybucket",
                           std::string_view(R"({"subjects_filter":"$O.lazybucket.C.>"})"), 2s);
  ASSERT_TRUE(info.has_value());
  auto j = nlohmann::json::parse(info->text());
  EXPECT_EQ(j["state"]["messages"], 1);
  EXPECT_FALSE(j["state"].contains("subjects"));
  auto again = lazy.take("inv-9");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, Code::kNotFound);
}

TEST_F(ObjectStoreTest, LazyStoreTakeOfMissingObjectNamesIt) {
  LazyObjectStore lazy(*nc_, "default", {}, 2s);
  auto r = lazy.take("no-such-invocation");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kNotFound);
  EXPECT_EQ(
      r.error().message.rfind(std::string(kChunkReadFailedPrefix) + "no-such-invocation: ", 0), 0u)
      << r.error().message;
}

TEST_F(ObjectStoreTest, LazyStoreInvalidBucketFailsEveryCall) {
  LazyObjectStore lazy(*nc_, "bad.bucket", {}, 2s);
  auto st = lazy.put("x", Bytes{1});
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Code::kInvalidArgument);
  EXPECT_EQ(st.error().message.rfind(std::string(kChunkWriteFailedPrefix) + "x: ", 0), 0u);
  EXPECT_FALSE(lazy.store().has_value());
}

TEST(ObjectStoreNoJetStream, OpenFailsWithUnavailable) {
  // A server without JetStream: its API subjects have no responders.
  std::string dir = wc::testing::make_temp_dir("wc-nojs");
  int port = wc::testing::free_port();
  wc::testing::ChildProcess proc({"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port)},
                                 dir + "/nats.log");
  ASSERT_TRUE(wc::testing::wait_port(port));
  ConnectOptions o;
  o.servers = {"nats://127.0.0.1:" + std::to_string(port)};
  auto nc = Connection::connect(o);
  ASSERT_TRUE(nc.has_value());
  auto s = ObjectStore::open(**nc, "default", {}, 500ms);
  ASSERT_FALSE(s.has_value());
  EXPECT_TRUE(s.error().code == Code::kUnavailable || s.error().code == Code::kDeadlineExceeded)
      << s.error().to_string();
}

}  // namespace
}  // namespace wc::lattice

namespace wc::lattice {
namespace {

// End to end: a chunked invocation and a chunked reply over NATS (actor-rpc-providers.md 3.6).
TEST_F(ObjectStoreTest, ChunkedInvocationAndChunkedReply) {
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  const std::vector<std::string> issuers = {cluster.public_key()};
  const std::string actor = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
  ObjectStore* store = store_.get();
  Connection* nc = nc_.get();

  // Receiver: de-chunks the request, validates it, answers with a reply above 900 KiB.
  auto sub = nc_->queue_subscribe(
      topics::rpc_actor("default", actor), topics::rpc_actor_queue_group("default", actor),
      [&, store, nc](Message m) {
        auto inv = rpc::decode_invocation(m.data());
        rpc::InvocationResponse resp;
        if (!inv) {
          resp = rpc::failure_response("", "i", inv.error().message, false);
        } else if (auto st = rpc::validate_invocation(*inv, issuers, wascap::now_seconds()); !st) {
          resp = rpc::failure_response(inv->id, "i", rpc::anti_forgery_message(st.error().message),
                                       false);
        } else {
          Bytes payload = inv->msg;
          if (rpc::is_chunked(*inv)) payload = store->take(inv->id).value_or(Bytes{});
          Bytes result(payload.size() * 2, 0x5a);
          resp = rpc::success_response(inv->id, "i", result);
          if (result.size() > rpc::kSdkChunkThreshold) {
            (void)store->put(topics::obj_response_name(inv->id), result);
            resp.msg.clear();
          }
        }
        (void)nc->respond(m, rpc::encode_response(resp));
      });
  ASSERT_TRUE(sub && nc_->flush());

  // Sender: signs the full payload, moves it to the object store, sends msg empty.
  Bytes payload(1500000, 0x11);
  rpc::SignOptions o;
  o.chunk_threshold = SIZE_MAX;
  auto inv = rpc::make_invocation(cluster, rpc::actor_entity("system"), rpc::actor_entity(actor),
                                  "HttpServer.HandleRequest", payload, cluster.public_key(), o);
  ASSERT_TRUE(inv.has_value());
  ASSERT_TRUE(store_->put(inv->id, inv->msg));
  inv->msg.clear();
  auto reply = nc_->request(topics::rpc_actor("default", actor), rpc::encode_invocation(*inv),
                            rpc::rpc_timeout_for(payload.size(), rpc::kDefaultRpcTimeout));
  ASSERT_TRUE(reply.has_value()) << reply.error().to_string();
  auto resp = rpc::decode_response(reply->data());
  ASSERT_TRUE(resp.has_value());
  ASSERT_FALSE(resp->failed()) << *resp->error;
  EXPECT_TRUE(resp->msg.empty());
  ASSERT_EQ(resp->content_length, 3000000u);
  auto result = store_->take(topics::obj_response_name(inv->id));
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  EXPECT_EQ(result->size(), 3000000u);
  EXPECT_FALSE(store_->get(inv->id).has_value());  // the receiver deleted the request object
}

}  // namespace
}  // namespace wc::lattice
