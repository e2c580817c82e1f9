// The provider archives the build produces, used as a host uses them: load the native target,
// verify, extract to the executable cache, launch with host data on stdin, health check,
// shutdown.
#include <gtest/gtest.h>

#include <filesystem>

#include "harness.h"
#include "par/par.h"
#include "support/servers.h"

namespace wc::provider::testing {
namespace {

using namespace std::chrono_literals;

class ArchiveLaunchTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ArchiveLaunchTest, LoadCacheLaunchHealthShutdown) {
  const std::string archive_path = std::string(WC_PROVIDER_ARCHIVE_DIR) + "/" + GetParam();
  auto archive = par::load_archive_file(archive_path, {.only_target = par::native_target()});
  ASSERT_TRUE(archive) << archive_path << ": " << archive.error().message;
  EXPECT_TRUE(archive->claims.sub.starts_with('V'));
  const std::string tmp = wc::testing::make_temp_dir("archive-launch");
  auto exe = par::extract_to_cache(*archive, "default", tmp);
  ASSERT_TRUE(exe) << exe.error().message;

  wc::testing::NatsServer nats;
  auto nc = lattice::Connection::connect({.servers = {nats.url()}});
  ASSERT_TRUE(nc);
  const auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  const HostData hd = make_host_data(nats.url(), cluster, archive->claims.sub, "default");
  const std::string log = tmp + "/provider.log";
  ProviderProcess proc(*exe, hd, log);
  ASSERT_TRUE(wait_healthy(**nc, hd)) << slurp(log);
  auto r = (*nc)->request(lattice::topics::rpc_shutdown("default", hd.provider_key, "default"),
                          R"({"host_id":")" + hd.host_id + R"("})", 2s);
  ASSERT_TRUE(r);
  EXPECT_EQ(proc.wait_exit(5s), 0) << slurp(log);
  std::filesystem::remove_all(tmp);
}

INSTANTIATE_TEST_SUITE_P(BuiltArchives, ArchiveLaunchTest,
                         ::testing::Values("httpserver.par.gz", "keyvalue.par.gz"));

}  // namespace
}  // namespace wc::provider::testing
