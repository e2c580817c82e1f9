// The pull cache (src/oci/cache.h, claims-oci-par.md 4.9): its path rules, what a pull may
// serve from it, publishing a download, and the temporary files a pull streams into.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "oci/cache.h"
#include "oci/client.h"
#include "oci/reference.h"

namespace {

using namespace wc::oci;
using namespace wc::oci::detail;
namespace fs = std::filesystem;

/// A fresh empty directory, removed when the test ends.
class CacheDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "wc-oci-cache-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }
  std::string dir_;
};

TEST(CachePaths, OnePairOfFilesPerReference) {
  const auto f = cache_files("/c", "localhost:5000/echo:0.3.4");
  EXPECT_EQ(f.bin, "/c/localhost_5000_echo_0_3_4.bin");
  EXPECT_EQ(f.digest, "/c/localhost_5000_echo_0_3_4.digest");
  EXPECT_EQ(cache_files("/c", "reg.io/a@sha256:ab").bin, "/c/reg_io_a@sha256_ab.bin");
}

TEST(CachePaths, DefaultDirectoryFollowsTmpdir) {
  const char* saved = std::getenv("TMPDIR");
  const std::string old = saved ? saved : "";
  setenv("TMPDIR", "/var/tmp//", 1);
  EXPECT_EQ(default_cache_dir(), "/var/tmp/wasmcloud_ocicache");
  setenv("TMPDIR", "", 1);
  EXPECT_EQ(default_cache_dir(), "/tmp/wasmcloud_ocicache");
  unsetenv("TMPDIR");
  EXPECT_EQ(default_cache_dir(), "/tmp/wasmcloud_ocicache");
  if (saved) setenv("TMPDIR", old.c_str(), 1);
}

TEST_F(CacheDir, ProbeSeesMissTooLargeAndPresent) {
  const auto f = cache_files(dir_, "reg.io/echo:1");
  EXPECT_EQ(probe_cache(f, 10), CacheProbe::kMiss);
  write(f.bin, "12345");
  EXPECT_EQ(probe_cache(f, 5), CacheProbe::kPresent);
  EXPECT_EQ(probe_cache(f, 4), CacheProbe::kTooLarge);
}

TEST_F(CacheDir, StoreThenReadBack) {
  const auto f = cache_files(dir_, "reg.io/echo:1");
  const std::string temp = temp_name(f.bin);
  write(temp, "artifact");
  store_cached(f, temp, "sha256:abc");
  EXPECT_FALSE(fs::exists(temp));
  auto c = read_cached(f);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(wc::to_string(c->bytes), "artifact");
  EXPECT_EQ(c->digest, "sha256:abc");
  EXPECT_EQ(cached_digest(f), "sha256:abc");
  EXPECT_EQ(entries(), 2u);  // no temporary file left behind
}

TEST_F(CacheDir, StoreWithoutDigestWritesNoDigestFile) {
  const auto f = cache_files(dir_, "reg.io/echo:1");
  const std::string temp = temp_name(f.bin);
  write(temp, "x");
  store_cached(f, temp, "");
  EXPECT_TRUE(fs::exists(f.bin));
  EXPECT_FALSE(fs::exists(f.digest));
  auto c = read_cached(f);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->digest, "");
  EXPECT_EQ(cached_digest(f), std::nullopt);
}

TEST_F(CacheDir, StoreOfAMissingDownloadLeavesTheCacheAlone) {
  const auto f = cache_files(dir_, "reg.io/echo:1");
  write(f.bin, "old");
  write(f.digest, "sha256:old");
  store_cached(f, dir_ + "/no-such-temp", "sha256:new");
  auto c = read_cached(f);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(wc::to_string(c->bytes), "old");
  EXPECT_EQ(c->digest, "sha256:old");
}

TEST_F(CacheDir, ReadOfAMissingEntryFails) {
  EXPECT_FALSE(read_cached(cache_files(dir_, "reg.io/none:1")).has_value());
}

TEST_F(CacheDir, AtomicWriteReplacesTheFile) {
  const std::string p = dir_ + "/f.digest";
  ASSERT_TRUE(atomic_write(p, "one").has_value());
  ASSERT_TRUE(atomic_write(p, "two").has_value());
  EXPECT_EQ(read_text(p), "two");
  EXPECT_EQ(entries(), 1u);
  auto bad = atomic_write(dir_ + "/no/such/dir/f", "x");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, wc::Code::kUnavailable);
  EXPECT_EQ(read_text(dir_ + "/absent"), std::nullopt);
}

TEST_F(CacheDir, TempFileIsRemovedWhenDone) {
  std::string path;
  {
    TempFile t(temp_name(dir_ + "/x.bin"));
    ASSERT_NE(t.get(), nullptr);
    path = t.path();
    EXPECT_GE(std::fputs("data", t.get()), 0);
    EXPECT_TRUE(t.close());
    EXPECT_EQ(t.get(), nullptr);
    EXPECT_EQ(read_text(path), "data");
  }
  EXPECT_FALSE(fs::exists(path));
  TempFile none(dir_ + "/no/such/dir/x");
  EXPECT_EQ(none.get(), nullptr);
}

TEST(CacheTempNames, UniquePerCallAndThreadBesideThePath) {
  std::set<std::string> names;
  std::vector<std::string> from_threads(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { from_threads[i] = temp_name("/c/a.bin"); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 10; ++i) names.insert(temp_name("/c/a.bin"));
  for (auto& n : from_threads) names.insert(n);
  EXPECT_EQ(names.size(), 14u);
  for (const auto& n : names) EXPECT_TRUE(n.starts_with("/c/a.bin.tmp.")) << n;
}

}  // namespace
