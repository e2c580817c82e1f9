// The hot-reload watcher (src/web/hot_reload.h) without a lattice: polls are driven by the
// test, the update request goes to a recording fake. A settled change with new, signed bytes
// sends cmd.{host}.upd once; unchanged bytes, unsigned bytes and refusals send nothing more and
// are reported in the watch and the event log.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "web/hot_reload.h"
#include "web/messages.h"

namespace wc::web {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HotReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "wc-hotreload-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/actor.wasm";
    copy_fixture("echo.wasm");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void copy_fixture(const std::string& name) {
    auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/" + name);
    ASSERT_TRUE(bytes.has_value());
    write(to_string(*bytes));
  }
  void write(const std::string& text) {
    // A later modification time than the last write (coarse file system clocks).
    std::this_thread::sleep_for(20ms);
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
  }
  std::string hash_now() {
    auto bytes = read_file(path_);
    return bytes ? hex_lower(sha256(*bytes)) : "";
  }
  HotReloadWatcher::SendUpdate recorder() {
    return [this](const CtlRequest& r) -> Result<lattice::CtlAck> {
      sent_.push_back(r);
      return ack_;
    };
  }

  std::string dir_, path_;
  std::vector<CtlRequest> sent_;
  Result<lattice::CtlAck> ack_ = lattice::CtlAck{true, ""};
  LatticeState state_{"default"};
  EventLog log_;
};

TEST_F(HotReloadTest, ASettledChangeSendsOneUpdate) {
  HotReloadWatcher w(recorder(), state_, log_, 1h);
  w.watch(path_, "NHOST", "MECHO", 2, hash_now());
  w.poll();
  EXPECT_TRUE(sent_.empty());  // nothing changed
  copy_fixture("kvcounter.wasm");
  w.poll();
  EXPECT_TRUE(sent_.empty());  // changed once: wait for it to settle
  w.poll();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].operation, "cmd.NHOST.upd");
  EXPECT_EQ(sent_[0].body["actor_id"], "MECHO");
  EXPECT_EQ(sent_[0].body["new_actor_ref"], "file://" + path_);
  w.poll();
  EXPECT_EQ(sent_.size(), 1u);
  auto entries = log_.after(0);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].type, "hot_reload");
  EXPECT_EQ(entries[0].level, "info");
  EXPECT_TRUE(entries[0].summary.starts_with("Hot reload: " + path_ + " updated to revision"))
      << entries[0].summary;
  EXPECT_TRUE(state_.actor_for_ref("file://" + path_).has_value());
  const auto j = w.to_json();
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["path"], path_);
  EXPECT_EQ(j[0]["host_id"], "NHOST");
  EXPECT_EQ(j[0]["count"], 2);
  EXPECT_EQ(j[0]["last_error"], "");
}

TEST_F(HotReloadTest, SameBytesWrittenAgainSendNothing) {
  HotReloadWatcher w(recorder(), state_, log_, 1h);
  w.watch(path_, "NHOST", "MECHO", 1, hash_now());
  copy_fixture("echo.wasm");
  w.poll();
  w.poll();
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(log_.after(0).empty());
}

TEST_F(HotReloadTest, UnsignedBytesAreReportedNotSent) {
  HotReloadWatcher w(recorder(), state_, log_, 1h);
  w.watch(path_, "NHOST", "MECHO", 1, hash_now());
  write("not a module");
  w.poll();
  w.poll();
  EXPECT_TRUE(sent_.empty());
  const auto j = w.to_json();
  EXPECT_TRUE(j[0]["last_error"].get<std::string>().starts_with(messages::kClaimsRefusedPrefix));
  auto entries = log_.after(0);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].level, "error");
}

TEST_F(HotReloadTest, ARefusedUpdateIsReported) {
  ack_ = lattice::CtlAck{false, "actor is not running"};
  HotReloadWatcher w(recorder(), state_, log_, 1h);
  w.watch(path_, "NHOST", "MECHO", 1, hash_now());
  copy_fixture("kvcounter.wasm");
  w.poll();
  w.poll();
  EXPECT_EQ(sent_.size(), 1u);
  EXPECT_EQ(w.to_json()[0]["last_error"], "actor is not running");
  ack_ = fail(Code::kUnavailable, "no responders");
  copy_fixture("echo.wasm");
  w.poll();
  w.poll();
  EXPECT_EQ(sent_.size(), 2u);
  EXPECT_EQ(w.to_json()[0]["last_error"], messages::kNoRespondersActorStart);
  auto entries = log_.after(0);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].data["host_id"], "NHOST");
}

TEST_F(HotReloadTest, AMissingFileIsReported) {
  HotReloadWatcher w(recorder(), state_, log_, 1h);
  w.watch(path_, "NHOST", "MECHO", 1, hash_now());
  fs::remove(path_);
  w.poll();
  w.poll();
  EXPECT_TRUE(sent_.empty());
  EXPECT_NE(w.to_json()[0]["last_error"], "");
}

TEST_F(HotReloadTest, UnwatchStopsWatching) {
  HotReloadWatcher w(recorder(), state_, log_, 1h);
  w.watch(path_, "NHOST", "MECHO", 1, hash_now());
  EXPECT_TRUE(w.unwatch(path_));
  EXPECT_FALSE(w.unwatch(path_));
  EXPECT_TRUE(w.to_json().empty());
  copy_fixture("kvcounter.wasm");
  w.poll();
  w.poll();
  EXPECT_TRUE(sent_.empty());
}

TEST_F(HotReloadTest, TheThreadPollsAndJoinEndsIt) {
  HotReloadWatcher w(recorder(), state_, log_, 10ms);
  w.watch(path_, "NHOST", "MECHO", 1, hash_now());
  w.start();
  copy_fixture("kvcounter.wasm");
  for (int i = 0; i < 500 && log_.after(0).empty(); ++i) std::this_thread::sleep_for(10ms);
  const auto t0 = std::chrono::steady_clock::now();
  w.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(sent_.size(), 1u);
  w.join();  // idempotent
}

TEST(FileStamps, MissingFileHasNoStamp) {
  EXPECT_EQ(stamp_of("/no/such/file"), FileStamp{});
  EXPECT_EQ(stamp_of("/no/such/file").size, -1);
}

}  // namespace
}  // namespace wc::web
