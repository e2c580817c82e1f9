// The keyvalue provider executable, launched as a host launches it, against real nats-server
// and redis-server; the test sends KeyValue.* invocations signed like a host signs them.
#include <gtest/gtest.h>

#include "harness.h"
#include "keyvalue/redis.h"
#include "rpc/errors.h"
#include "rpc/msgpack.h"
#include "sdk/errors.h"
#include "support/servers.h"

namespace wc::provider::testing {
namespace {

using namespace std::chrono_literals;
namespace mp = rpc::mp::serde;

class KeyValueProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto nc = lattice::Connection::connect({.servers = {nats_.url()}});
    ASSERT_TRUE(nc) << nc.error().message;
    nc_ = std::move(*nc);
    hd_ = make_host_data(nats_.url(), cluster_, provider_.public_key(), "kvtest");
    log_ = wc::testing::make_temp_dir("keyvalue-provider") + "/provider.log";
    proc_ = std::make_unique<ProviderProcess>(WC_KEYVALUE_PROVIDER, hd_, log_);
    ASSERT_TRUE(wait_healthy(*nc_, hd_)) << slurp(log_);
    ASSERT_TRUE(send_link(*nc_, hd_,
                          LinkDefinition{actor_,
                                         provider_.public_key(),
                                         "default",
                                         "wasmcloud:keyvalue",
                                         {{"URL", redis_.url()}},
                                         ""}));
  }

  /// Sends `op` as the host would for `actor` (signed with `key`) and returns the response.
  rpc::InvocationResponse invoke(const std::string& op, const Bytes& payload,
                                 const std::string& actor, const wascap::KeyPair& key) {
    auto inv = rpc::make_invocation(
        key, rpc::actor_entity(actor),
        rpc::provider_entity(provider_.public_key(), "wasmcloud:keyvalue", "default"), op, payload,
        key.public_key());
    EXPECT_TRUE(inv);
    auto r =
        nc_->request(lattice::topics::rpc_provider("kvtest", provider_.public_key(), "default"),
                     rpc::encode_invocation(*inv), 5s);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) return {};
    auto resp = rpc::decode_response(r->data());
    EXPECT_TRUE(resp);
    if (resp) {
      EXPECT_EQ(resp->invocation_id, inv->id);
    }
    return resp ? *resp : rpc::InvocationResponse{};
  }
  rpc::InvocationResponse invoke(const std::string& op, const Bytes& payload) {
    return invoke(op, payload, actor_, cluster_);
  }

  static Bytes str(const std::string& s) { return mp::Writer().str(s).bytes(); }
  static Bytes increment(const std::string& key, std::int64_t by) {
    return mp::Writer().map(2).str("key").str(key).str("value").int64(by).bytes();
  }
  static std::int64_t as_int(const rpc::InvocationResponse& r) {
    auto h = mp::parse(r.msg);
    EXPECT_TRUE(h);
    return h ? *mp::as_int(h->get(), "result") : -1;
  }
  static bool as_bool(const rpc::InvocationResponse& r) {
    auto h = mp::parse(r.msg);
    EXPECT_TRUE(h);
    return h && *mp::as_bool(h->get(), "result");
  }
  static std::vector<std::string> as_list(const rpc::InvocationResponse& r) {
    auto h = mp::parse(r.msg);
    EXPECT_TRUE(h);
    auto v = h ? mp::as_string_array(h->get(), "result") : std::vector<std::string>{};
    return v ? *v : std::vector<std::string>{};
  }

  /// What Redis itself holds (checked with a separate client).
  std::optional<std::string> redis_get(const std::string& key) {
    keyvalue::RedisPool pool(*keyvalue::parse_redis_url(redis_.url()));
    auto r = pool.command({"GET", key});
    if (!r || r->type != keyvalue::Reply::Type::kString) return std::nullopt;
    return r->str;
  }

  wc::testing::NatsServer nats_;
  wc::testing::RedisServer redis_;
  std::unique_ptr<lattice::Connection> nc_;
  wascap::KeyPair cluster_ = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  wascap::KeyPair provider_ = wascap::KeyPair::generate(wascap::KeyType::kService);
  std::string actor_ = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  HostData hd_;
  std::string log_;
  std::unique_ptr<ProviderProcess> proc_;
};

TEST_F(KeyValueProviderTest, IncrementGetSetDelContains) {
  auto r = invoke("KeyValue.Increment", increment("counter::foobar", 5));
  ASSERT_FALSE(r.failed()) << *r.error;
  EXPECT_EQ(as_int(r), 5);
  EXPECT_EQ(r.content_length, r.msg.size());
  r = invoke("KeyValue.Increment", increment("counter::foobar", -2));
  EXPECT_EQ(as_int(r), 3);
  EXPECT_EQ(redis_get("counter::foobar"), "3");

  r = invoke("KeyValue.Set", mp::Writer()
                                 .map(3)
                                 .str("key")
                                 .str("greeting")
                                 .str("value")
                                 .str("hello")
                                 .str("expires")
                                 .uint64(0)
                                 .bytes());
  ASSERT_FALSE(r.failed()) << *r.error;
  EXPECT_TRUE(r.msg.empty());
  EXPECT_EQ(redis_get("greeting"), "hello");

  r = invoke("KeyValue.Get", str("greeting"));
  ASSERT_FALSE(r.failed());
  EXPECT_EQ(
      hex_lower(r.msg),
      hex_lower(mp::Writer().map(2).str("value").str("hello").str("exists").boolean(true).bytes()));
  r = invoke("KeyValue.Get", str("missing"));
  EXPECT_EQ(hex_lower(r.msg), "82a576616c7565a0a6657869737473c2");

  EXPECT_TRUE(as_bool(invoke("KeyValue.Contains", str("greeting"))));
  EXPECT_TRUE(as_bool(invoke("KeyValue.Del", str("greeting"))));
  EXPECT_FALSE(as_bool(invoke("KeyValue.Contains", str("greeting"))));
  EXPECT_FALSE(as_bool(invoke("KeyValue.Del", str("greeting"))));
  EXPECT_EQ(redis_get("greeting"), std::nullopt);
}

TEST_F(KeyValueProviderTest, ListsAndSets) {
  for (const char* v : {"a", "b", "c"}) {
    auto r = invoke("KeyValue.ListAdd",
                    mp::Writer().map(2).str("listName").str("l").str("value").str(v).bytes());
    ASSERT_FALSE(r.failed()) << *r.error;
  }
  auto range = invoke("KeyValue.ListRange", mp::Writer()
                                                .map(3)
                                                .str("listName")
                                                .str("l")
                                                .str("start")
                                                .int64(0)
                                                .str("stop")
                                                .int64(-1)
                                                .bytes());
  EXPECT_EQ(as_list(range), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(
      as_bool(invoke("KeyValue.ListDel",
                     mp::Writer().map(2).str("listName").str("l").str("value").str("b").bytes())));
  EXPECT_TRUE(as_bool(invoke("KeyValue.ListClear", str("l"))));

  for (auto [set, v] : {std::pair{"s1", "x"}, std::pair{"s1", "y"}, std::pair{"s2", "y"}}) {
    auto r = invoke("KeyValue.SetAdd",
                    mp::Writer().map(2).str("setName").str(set).str("value").str(v).bytes());
    EXPECT_EQ(as_int(r), 1);
  }
  auto inter =
      invoke("KeyValue.SetIntersection", mp::Writer().array(2).str("s1").str("s2").bytes());
  EXPECT_EQ(as_list(inter), std::vector<std::string>{"y"});
  auto uni =
      as_list(invoke("KeyValue.SetUnion", mp::Writer().array(2).str("s1").str("s2").bytes()));
  std::sort(uni.begin(), uni.end());
  EXPECT_EQ(uni, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(
      as_int(invoke("KeyValue.SetDel",
                    mp::Writer().map(2).str("setName").str("s1").str("value").str("x").bytes())),
      1);
  EXPECT_EQ(as_list(invoke("KeyValue.SetQuery", str("s1"))), std::vector<std::string>{"y"});
  EXPECT_TRUE(as_bool(invoke("KeyValue.SetClear", str("s1"))));
}

TEST_F(KeyValueProviderTest, BadInputAndUnknownOperationAreErrors) {
  auto r = invoke("KeyValue.Increment", str("not a map"));
  ASSERT_TRUE(r.failed());
  EXPECT_TRUE(r.error->starts_with(errors::kDeserializePrefix)) << *r.error;
  r = invoke("KeyValue.Frobnicate", str("x"));
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(*r.error, "Method not handled KeyValue.Frobnicate");
  r = invoke("KeyValue.Get", Bytes{});
  ASSERT_TRUE(r.failed());
}

TEST_F(KeyValueProviderTest, RedisDownGivesAnErrorAndRecoveryWorks) {
  ASSERT_EQ(as_int(invoke("KeyValue.Increment", increment("c", 1))), 1);
  redis_.stop();
  auto r = invoke("KeyValue.Increment", increment("c", 1));
  ASSERT_TRUE(r.failed());
  EXPECT_NE(r.error->find("Redis connection error"), std::string::npos) << *r.error;
  redis_.restart();  // same port, empty data (no persistence)
  r = invoke("KeyValue.Increment", increment("c", 7));
  ASSERT_FALSE(r.failed()) << *r.error;
  EXPECT_EQ(as_int(r), 7);
}

TEST_F(KeyValueProviderTest, ForeignClusterKeyIsRefused) {
  const auto foreign = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto r = invoke("KeyValue.Increment", increment("c", 1), actor_, foreign);
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(*r.error, errors::kIssuerNotInList);
  EXPECT_EQ(redis_get("c"), std::nullopt);
}

TEST_F(KeyValueProviderTest, UnlinkedActorIsRefused) {
  const std::string stranger = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  auto r = invoke("KeyValue.Increment", increment("c", 1), stranger, cluster_);
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(*r.error, "unlinked actor: '" + stranger + "'");
  // After the link is deleted, the formerly linked actor is refused too.
  ASSERT_TRUE(send_link(
      *nc_, hd_,
      LinkDefinition{actor_, provider_.public_key(), "default", "wasmcloud:keyvalue", {}, ""},
      /*put=*/false));
  r = invoke("KeyValue.Increment", increment("c", 1));
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(*r.error, "unlinked actor: '" + actor_ + "'");
}

TEST_F(KeyValueProviderTest, UndecodableInvocationGetsAnError) {
  auto r = nc_->request(lattice::topics::rpc_provider("kvtest", provider_.public_key(), "default"),
                        Bytes{0x01, 0x02}, 2s);
  ASSERT_TRUE(r);
  auto resp = rpc::decode_response(r->data());
  ASSERT_TRUE(resp);
  ASSERT_TRUE(resp->failed());
  EXPECT_EQ(*resp->error, rpc::errors::kDeserializeInvocation);
}

TEST_F(KeyValueProviderTest, LinkdefsGetListsTheLinks) {
  auto r = nc_->request(
      lattice::topics::rpc_provider("kvtest", provider_.public_key(), "default") + ".linkdefs.get",
      Bytes{}, 2s);
  ASSERT_TRUE(r);
  auto h = mp::parse(r->data());
  ASSERT_TRUE(h);
  const auto* ld = mp::find(h->get(), actor_);
  ASSERT_NE(ld, nullptr);
  EXPECT_EQ(*mp::string_or(*ld, "contract_id"), "wasmcloud:keyvalue");
}

TEST_F(KeyValueProviderTest, ShutdownExits0) {
  auto r = nc_->request(lattice::topics::rpc_shutdown("kvtest", provider_.public_key(), "default"),
                        R"({"host_id":")" + hd_.host_id + R"("})", 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text(), "shutting down");
  EXPECT_EQ(proc_->wait_exit(5s), 0) << slurp(log_);
}

}  // namespace
}  // namespace wc::provider::testing

namespace wc::provider::testing {
namespace {

TEST_F(KeyValueProviderTest, SigtermStopsGracefully) {
  proc_->send_signal(SIGTERM);
  EXPECT_EQ(proc_->wait_exit(std::chrono::seconds(5)), 0) << slurp(log_);
}

}  // namespace
}  // namespace wc::provider::testing
