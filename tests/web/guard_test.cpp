// RequestGuard: Host allow-list, Origin / Sec-Fetch-Site checks and the CSRF token.
#include <gtest/gtest.h>

#include "web/guard.h"
#include "web/messages.h"

namespace wc::web {
namespace {

RequestGuard guard() { return RequestGuard(RequestGuard::default_hosts("127.0.0.1", 4000), "tok"); }

GuardHeaders good() { return {"127.0.0.1:4000", "http://127.0.0.1:4000", "same-origin", "tok"}; }

TEST(Guard, DefaultHostsAreLoopbackNamesWithThePort) {
  auto h = RequestGuard::default_hosts("127.0.0.1", 4000);
  EXPECT_TRUE(h.contains("127.0.0.1:4000"));
  EXPECT_TRUE(h.contains("localhost:4000"));
  EXPECT_TRUE(h.contains("[::1]:4000"));
  EXPECT_FALSE(h.contains("127.0.0.1:4001"));
  EXPECT_TRUE(RequestGuard::default_hosts("10.1.2.3", 80).contains("10.1.2.3:80"));
  EXPECT_TRUE(RequestGuard::default_hosts("::1", 80).contains("[::1]:80"));
}

TEST(Guard, NewTokensAreLongAndDifferent) {
  auto a = RequestGuard::new_token(), b = RequestGuard::new_token();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
}

TEST(Guard, SameOriginPostWithTokenPasses) { EXPECT_TRUE(guard().check_write(good())); }

TEST(Guard, PostWithoutOriginButWithTokenPasses) {
  auto h = good();
  h.origin.clear();
  h.sec_fetch_site.clear();
  EXPECT_TRUE(guard().check_write(h));
}

TEST(Guard, WrongOriginIsRefused) {
  auto h = good();
  h.origin = "http://evil.example";
  auto st = guard().check_write(h);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kPermissionDenied);
  EXPECT_EQ(st.error().message, messages::kCrossSiteRefused);
}

TEST(Guard, OriginWithOtherPortIsRefused) {
  auto h = good();
  h.origin = "http://127.0.0.1:4001";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kCrossSiteRefused);
}

TEST(Guard, HttpsOrNullOriginIsRefused) {
  auto h = good();
  h.origin = "https://127.0.0.1:4000";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kCrossSiteRefused);
  h.origin = "null";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kCrossSiteRefused);
}

TEST(Guard, CrossSiteFetchMetadataIsRefused) {
  auto h = good();
  h.origin.clear();
  h.sec_fetch_site = "cross-site";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kCrossSiteRefused);
  h.sec_fetch_site = "same-site";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kCrossSiteRefused);
}

TEST(Guard, MissingTokenIsRefused) {
  auto h = good();
  h.csrf_token.clear();
  EXPECT_EQ(guard().check_write(h).error().message, messages::kBadCsrfToken);
}

TEST(Guard, WrongTokenIsRefused) {
  auto h = good();
  h.csrf_token = "tol";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kBadCsrfToken);
  h.csrf_token = "tokk";
  EXPECT_EQ(guard().check_write(h).error().message, messages::kBadCsrfToken);
}

TEST(Guard, UnknownHostHeaderIsRefusedForReadsAndWrites) {
  auto h = good();
  h.host = "attacker.example:4000";
  EXPECT_EQ(guard().check_read(h).error().message, messages::kBadHost);
  EXPECT_EQ(guard().check_write(h).error().message, messages::kBadHost);
  h.host.clear();
  EXPECT_EQ(guard().check_read(h).error().message, messages::kBadHost);
}

TEST(Guard, EmptyConfiguredTokenRefusesEverything) {
  RequestGuard g(RequestGuard::default_hosts("127.0.0.1", 4000), "");
  auto h = good();
  h.csrf_token.clear();
  EXPECT_EQ(g.check_write(h).error().message, messages::kBadCsrfToken);
}

}  // namespace
}  // namespace wc::web
