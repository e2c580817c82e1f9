// The references uploads are pushed under (src/web/uploads.h). Uploads through HTTP, to a real
// registry: server_test.cpp.
#include <gtest/gtest.h>

#include "web/uploads.h"

namespace wc::web {
namespace {

TEST(Uploads, RepositoryComponentFromAFileName) {
  EXPECT_EQ(repo_component("HTTP_Server v2"), "http-server-v2");
  EXPECT_EQ(repo_component("--a..b__"), "a-b");
  EXPECT_EQ(repo_component("provider-"), "provider");
  EXPECT_EQ(repo_component("***"), "upload");
  EXPECT_EQ(repo_component(""), "upload");
}

TEST(Uploads, ShortHash) {
  EXPECT_EQ(short_hash("ABCDEF0123456789ABCDEF"), "abcdef012345");
  EXPECT_EQ(short_hash("AbC"), "abc");
}

}  // namespace
}  // namespace wc::web
