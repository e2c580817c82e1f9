// A provider archive through a real registry as a host acquires it (actor-rpc-providers.md
// 5.2-5.3): push with the provider media types, pull, load the native target, verify, write the
// executable cache, run it.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "oci/client.h"
#include "par/par.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc::par {
namespace {

TEST(ParRegistryTest, PushPullLoadCacheAndRun) {
  if (native_target() != "x86_64-linux" && native_target() != "aarch64-linux") {
    GTEST_SKIP() << "intentionally skipped: script provider targets Linux";
  }
  wc::testing::RegistryServer reg;
  const auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  const auto service = wascap::KeyPair::generate(wascap::KeyType::kService);
  CreateSpec spec;
  spec.capid = "wasmcloud:testing";
  spec.vendor = "tests";
  spec.name = "Script";
  spec.rev = 7;
  const std::string script = "#!/bin/sh\necho provider-ran\n";
  spec.targets[native_target()] = Bytes(script.begin(), script.end());
  auto archive = create_archive(spec, account, service, true);
  ASSERT_TRUE(archive) << archive.error().message;

  oci::Client client;
  oci::PushOptions po;
  po.kind = oci::ArtifactKind::kProvider;
  po.allowed_insecure = {reg.host()};
  const std::string ref = reg.host() + "/script-provider:0.1.0";
  auto pushed = client.push(ref, *archive, po);
  ASSERT_TRUE(pushed) << pushed.error().message;
  oci::PullOptions pl;
  pl.allowed_insecure = {reg.host()};
  pl.cache = oci::CachePolicy::kNone;
  auto pulled = client.pull(ref, pl);
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(pulled->media_type, oci::media::kProviderLayer);

  auto loaded = load_archive(pulled->bytes, {.only_target = native_target()});
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->claims.sub, service.public_key());
  const std::string tmp = wc::testing::make_temp_dir("par-cache");
  auto path = extract_to_cache(*loaded, "default", tmp);
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path,
            tmp + "/wasmcloudcache/" + service.public_key() + "/7/wasmcloud_testing_default");
  FILE* p = ::popen(path->c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {};
  const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, p);
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(std::string(buf, n), "provider-ran\n");
  // A second extraction reuses the existing file (spec 5.4 step 6).
  auto again = extract_to_cache(*loaded, "default", tmp);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *path);
  std::filesystem::remove_all(tmp);
}

}  // namespace
}  // namespace wc::par
