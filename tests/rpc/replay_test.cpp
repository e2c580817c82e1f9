// ReplayGuard (src/rpc/replay.h): a repeated invocation id is refused within its token's
// validity window, a token older than the window is refused, memory stays bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/replay.h"
#include "wascap/nkeys.h"

namespace wc::rpc {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;

TEST(ReplayGuard, SecondUseOfAnIdIsRefusedWithTheReplayText) {
  ReplayGuard guard(300);
  ASSERT_TRUE(guard.check("id-1", kNow, kNow));
  auto again = guard.check("id-1", kNow, kNow + 10);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kPermissionDenied);
  EXPECT_EQ(again.error().message, errors::kReplayedInvocation);
  EXPECT_TRUE(guard.check("id-2", kNow, kNow + 10));
}

TEST(ReplayGuard, TokenOlderThanTheWindowIsRefusedAndIdsAreForgottenAfterIt) {
  ReplayGuard guard(300);
  auto old = guard.check("old", kNow - 300, kNow);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().message, errors::kTokenTooOld);
  ASSERT_TRUE(guard.check("a", kNow, kNow));
  EXPECT_EQ(guard.size(), 1u);
  // Once the window has passed the id is dropped, and its token is too old to be accepted.
  auto late = guard.check("a", kNow, kNow + 300);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().message, errors::kTokenTooOld);
  EXPECT_EQ(guard.size(), 0u);
}

TEST(ReplayGuard, FullGuardDropsTheOldestAndRefusesTokensNoYoungerThanThem) {
  ReplayGuard guard(300, 3);
  ASSERT_TRUE(guard.check("a", kNow - 10, kNow));
  ASSERT_TRUE(guard.check("b", kNow - 5, kNow));
  ASSERT_TRUE(guard.check("c", kNow, kNow));
  ASSERT_TRUE(guard.check("d", kNow, kNow));  // drops "a"
  EXPECT_EQ(guard.size(), 3u);
  // "a" is forgotten, but its token (and any as old) is now too old: still no replay.
  auto a = guard.check("a", kNow - 10, kNow);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, errors::kTokenTooOld);
  auto b = guard.check("b", kNow - 5, kNow);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, errors::kReplayedInvocation);
}

TEST(ReplayGuard, ConcurrentChecksOfOneIdAcceptExactlyOne) {
  ReplayGuard guard;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      if (guard.check("same", kNow, kNow)) ++accepted;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 1);
}

TEST(ReplayGuard, ValidateInvocationReportsTheSignedTokenIdentity) {
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  SignOptions so;
  so.iat = kNow - 7;
  auto inv = make_invocation(
      cluster, actor_entity(wascap::KeyPair::generate(wascap::KeyType::kModule).public_key()),
      actor_entity(wascap::KeyPair::generate(wascap::KeyType::kModule).public_key()), "Op",
      Bytes{1, 2, 3}, cluster.public_key(), so);
  ASSERT_TRUE(inv);
  std::vector<std::string> issuers{cluster.public_key()};
  TokenFacts facts;
  ASSERT_TRUE(validate_invocation(*inv, issuers, kNow, &facts));
  EXPECT_EQ(facts.iat, kNow - 7);
  EXPECT_EQ(facts.sub, inv->id);
  EXPECT_EQ(facts.jti.size(), 22u);
  // The envelope id is not signed: changing it does not change the replay key.
  auto renamed = *inv;
  renamed.id = "another-id";
  TokenFacts facts2;
  ASSERT_TRUE(validate_invocation(renamed, issuers, kNow, &facts2));
  EXPECT_EQ(facts2.replay_key(), facts.replay_key());
}

}  // namespace
}  // namespace wc::rpc
