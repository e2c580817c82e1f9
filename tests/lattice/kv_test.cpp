// KvStore (lattice/kv.h) against a real JetStream nats-server: bucket creation and binding,
// get/put/create/update/remove/keys, compare-and-set refusals, and the read-modify-write loop
// under concurrent writers (no writer's change is lost).
#include "lattice/kv.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "support/servers.h"

namespace wc::lattice {
namespace {

using namespace std::chrono_literals;

class KvStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new wc::testing::NatsServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ConnectOptions o;
    o.servers = {server_->url()};
    auto nc = Connection::connect(o);
    ASSERT_TRUE(nc.has_value()) << nc.error().to_string();
    nc_ = std::move(*nc);
  }
  /// A bucket name unique to the running test.
  static std::string bucket_name() {
    std::string n = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    return "kvtest_" + n;
  }
  static wc::testing::NatsServer* server_;
  std::unique_ptr<Connection> nc_;
};
wc::testing::NatsServer* KvStoreTest::server_ = nullptr;

TEST_F(KvStoreTest, MissingBucketWithoutCreateIsNotFound) {
  auto kv = KvStore::open(*nc_, bucket_name(), false, {}, {}, 2s);
  ASSERT_FALSE(kv.has_value());
  EXPECT_EQ(kv.error().code, Code::kNotFound);
}

TEST_F(KvStoreTest, InvalidBucketNameIsRefused) {
  auto kv = KvStore::open(*nc_, "bad.name", true, {}, {}, 2s);
  ASSERT_FALSE(kv.has_value());
  EXPECT_EQ(kv.error().code, Code::kInvalidArgument);
}

TEST_F(KvStoreTest, CreatesBucketThenBindsToIt) {
  auto kv = KvStore::open(*nc_, bucket_name(), true, {}, {}, 2s);
  ASSERT_TRUE(kv.has_value()) << kv.error().to_string();
  // The stream exists with the KV settings asked for: history 1, file storage.
  auto info = nc_->request("$JS.API.STREAM.INFO.KV_" + bucket_name(), "", 2s);
  ASSERT_TRUE(info.has_value());
  auto j = nlohmann::json::parse(info->text());
  EXPECT_EQ(j["config"]["max_msgs_per_subject"], 1);
  EXPECT_EQ(j["config"]["storage"], "file");
  auto again = KvStore::open(*nc_, bucket_name(), false, {}, {}, 2s);
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(again->bucket(), bucket_name());
}

TEST_F(KvStoreTest, PutGetKeysRemove) {
  auto kv = KvStore::open(*nc_, bucket_name(), true, {}, {}, 2s);
  ASSERT_TRUE(kv.has_value());
  auto empty = kv->keys();
  ASSERT_TRUE(empty.has_value()) << empty.error().to_string();
  EXPECT_TRUE(empty->empty());
  auto missing = kv->get("nothing");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());

  auto r1 = kv->put("a", "one");
  ASSERT_TRUE(r1.has_value());
  ASSERT_TRUE(kv->put("b", "two").has_value());
  auto a = kv->get("a");
  ASSERT_TRUE(a.has_value() && a->has_value());
  EXPECT_EQ((*a)->value, "one");
  EXPECT_EQ((*a)->revision, *r1);
  auto keys = kv->keys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, (std::vector<std::string>{"a", "b"}));

  ASSERT_TRUE(kv->remove("a").has_value());
  auto gone = kv->get("a");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  keys = kv->keys();
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, (std::vector<std::string>{"b"}));
}

TEST_F(KvStoreTest, CreateAndUpdateAreCompareAndSet) {
  auto kv = KvStore::open(*nc_, bucket_name(), true, {}, {}, 2s);
  ASSERT_TRUE(kv.has_value());
  auto r1 = kv->create("k", "v1");
  ASSERT_TRUE(r1.has_value()) << r1.error().to_string();
  auto dup = kv->create("k", "v2");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, Code::kAlreadyExists);

  auto r2 = kv->update("k", "v2", *r1);
  ASSERT_TRUE(r2.has_value()) << r2.error().to_string();
  auto stale = kv->update("k", "v3", *r1);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, Code::kAlreadyExists);
  auto now = kv->get("k");
  ASSERT_TRUE(now.has_value() && now->has_value());
  EXPECT_EQ((*now)->value, "v2");

  // A deleted key can be created again.
  ASSERT_TRUE(kv->remove("k").has_value());
  EXPECT_TRUE(kv->create("k", "v4").has_value());
}

TEST_F(KvStoreTest, ModifyFromManyWritersLosesNoChange) {
  auto kv = KvStore::open(*nc_, bucket_name(), true, {}, {}, 2s);
  ASSERT_TRUE(kv.has_value());
  constexpr int kWriters = 4;
  constexpr int kEach = 10;
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Connection>> conns;
  std::vector<std::unique_ptr<KvStore>> stores;
  for (int w = 0; w < kWriters; ++w) {
    ConnectOptions o;
    o.servers = {server_->url()};
    conns.push_back(std::move(*Connection::connect(o)));
    auto s = KvStore::open(*conns.back(), bucket_name(), false, {}, {}, 2s);
    ASSERT_TRUE(s.has_value());
    stores.push_back(std::make_unique<KvStore>(std::move(*s)));
  }
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        auto st = stores[w]->modify(
            "map",
            [&](const std::optional<std::string>& cur) -> std::optional<std::string> {
              nlohmann::json m = cur ? nlohmann::json::parse(*cur) : nlohmann::json::object();
              m["w" + std::to_string(w) + "_" + std::to_string(i)] = i;
              return m.dump();
            },
            200);
        if (!st) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto v = kv->get("map");
  ASSERT_TRUE(v.has_value() && v->has_value());
  EXPECT_EQ(nlohmann::json::parse((*v)->value).size(), static_cast<std::size_t>(kWriters * kEach));
}

TEST_F(KvStoreTest, ModifyReturningNulloptDeletesAndSameValueWritesNothing) {
  auto kv = KvStore::open(*nc_, bucket_name(), true, {}, {}, 2s);
  ASSERT_TRUE(kv.has_value());
  auto r = kv->put("k", "same");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(kv->modify("k", [](const std::optional<std::string>& c) { return c; }).has_value());
  auto v = kv->get("k");
  ASSERT_TRUE(v.has_value() && v->has_value());
  EXPECT_EQ((*v)->revision, *r);  // nothing written
  ASSERT_TRUE(kv->modify("k", [](const std::optional<std::string>&) {
                  return std::optional<std::string>{};
                }).has_value());
  v = kv->get("k");
  ASSERT_TRUE(v.has_value());
  EXPECT_FALSE(v->has_value());
}

}  // namespace
}  // namespace wc::lattice
