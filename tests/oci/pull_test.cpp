// Pull without a registry (src/oci/pull.cpp): what is refused before any network. Pulls from a
// real registry: registry_test.cpp (docker-registry), fake_registry_test.cpp (protocol corners,
// the cache).
#include <gtest/gtest.h>

#include "oci/client.h"
#include "oci/errors.h"

namespace {

using namespace wc::oci;

TEST(Pull, LatestRefusedBeforeAnyNetwork) {
  PullOptions o;
  o.cache = CachePolicy::kNone;
  auto r = pull("127.0.0.1:1/echo:LATEST", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(r.error().message, errors::kLatestProhibited);
}

TEST(Pull, BadReferenceVerbatim) {
  PullOptions o;
  o.cache = CachePolicy::kNone;
  auto r = pull("127.0.0.1:1/ec ho:1", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::kInvalidReferenceFormat);
}

}  // namespace
