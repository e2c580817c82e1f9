// ProviderSupervisor (src/host/providers.h) with a real executable from a real signed archive,
// no NATS: issue #12.6, a provider being started must never be "restarted" by the monitor, so
// every start gives exactly one process and every stop leaves none. The child is "still
// starting" while spawn() gathers its link definitions; the test's links_for answers slowly (as
// a loaded host does), so the monitor (100 ms tick) always looks at a child in that state, and
// a CPU-bound thread loads the machine meanwhile. Processes are counted in /proc by the cached
// executable's path.
#include "host/providers.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "lattice/events.h"
#include "lattice/nats.h"
#include "par/par.h"
#include "rpc/messages.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Pids of live (non-zombie) processes whose command line mentions `needle`.
std::vector<int> processes_with(const std::string& needle) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    if (cmd.find(needle) != std::string::npos) out.push_back(std::atoi(e->d_name));
  }
  ::closedir(d);
  return out;
}

/// Keeps every formatted line. Formats on the logging thread, as the host's stderr sink does (the
/// log fields are thread-local; spdlog's ringbuffer sink would format later, on the reader).
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    lines_.emplace_back(buf.data(), buf.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

class ProviderSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wc_supervisor_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A provider that runs until killed.
    const std::string script = "#!/bin/sh\nwhile :; do sleep 1; done\n";
    par::CreateSpec spec;
    spec.capid = "wasmcloud:testing";
    spec.vendor = "tests";
    spec.name = "sleeper";
    spec.rev = 1;
    spec.targets[par::native_target()] = Bytes(script.begin(), script.end());
    auto bytes = par::create_archive(spec, wascap::KeyPair::generate(wascap::KeyType::kAccount),
                                     wascap::KeyPair::generate(wascap::KeyType::kService), false);
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto loaded = par::load_archive(*bytes, {.only_target = par::native_target()});
    ASSERT_TRUE(loaded) << loaded.error().message;
    archive_ = std::move(*loaded);
  }
  void TearDown() override {
    for (int pid : processes_with(dir_.string())) ::kill(pid, SIGKILL);
    fs::remove_all(dir_);
  }

  fs::path dir_;
  par::ProviderArchive archive_;
};

TEST_F(ProviderSupervisorTest, EveryStartIsOneProcessAndEveryStopLeavesNone) {
  std::mutex mu;
  std::vector<std::string> event_types;
  ProviderSupervisorDeps deps;
  deps.emit = [&](std::string_view type, const nlohmann::json&) {
    std::lock_guard lock(mu);
    event_types.emplace_back(type);
  };
  deps.links_for = [](const std::string&, const std::string&) {
    std::this_thread::sleep_for(250ms);  // a slow answer: the child stays "starting" meanwhile
    return std::vector<LinkDefinition>{};
  };
  deps.lattice_prefix = "default";
  deps.cache_dir = dir_.string();
  deps.restart_backoff_min = 10ms;  // a wrongly "due" restart would happen at once
  ProviderSupervisor sup(deps);

  std::atomic<bool> busy{true};
  std::thread load([&] {
    volatile unsigned long x = 0;
    while (busy.load(std::memory_order_relaxed)) x = x + 1;
  });

  constexpr int kRounds = 8;
  const std::string key = archive_.claims.sub;
  const std::string exe = par::cache_path(archive_.claims, "default", dir_.string());
  int max_seen = 0, left_after_stop = 0;
  for (int i = 0; i < kRounds; ++i) {
    ProviderStart start;
    start.archive = archive_;
    start.image_ref = "file:///sleeper.par";
    auto info = sup.start(std::move(start));
    ASSERT_TRUE(info) << info.error().message;
    // Give the monitor (100 ms tick) several looks at the child.
    std::this_thread::sleep_for(350ms);
    const int n = static_cast<int>(processes_with(exe).size());
    max_seen = std::max(max_seen, n);
    EXPECT_EQ(n, 1) << "round " << i;
    if (n > 1) {  // kill the extra ones, or stop() would wait for their stdout forever
      for (int pid : processes_with(exe)) ::kill(pid, SIGKILL);
    }
    EXPECT_EQ(sup.stop(key, "default"), 1u);
    left_after_stop += static_cast<int>(processes_with(exe).size());
  }
  busy = false;
  load.join();
  EXPECT_EQ(max_seen, 1);
  EXPECT_EQ(left_after_stop, 0);
  std::lock_guard lock(mu);
  const auto started = std::count(event_types.begin(), event_types.end(),
                                  std::string(lattice::events::kProviderStarted));
  EXPECT_EQ(started, kRounds) << "a provider_started without a start: a spurious restart";
}

/// Issue #17.6: whatever a provider prints on stdout or stderr reaches the host's log in the
/// host's format, once per line, with the provider's key and link name: a line in the SDK's
/// format (text or JSON) keeps its level and message, any other line is logged whole (info from
/// stdout, warn from stderr), and an endless line is cut into 16 KiB pieces.
TEST_F(ProviderSupervisorTest, ProviderOutputIsRelayedThroughTheHostLogger) {
  const std::string script =
      "#!/bin/sh\n"
      "echo 'plain stdout line'\n"
      "echo 'plain stderr line' >&2\n"
      "echo '2026-12-07T13:00:00.123456Z warning sdk text line' >&2\n"
      "echo '{\"timestamp\":\"t\",\"level\":\"error\",\"logger\":\"wasmcloud\",\"message\":"
      "\"sdk json line\"}' >&2\n"
      "head -c 20000 /dev/zero | tr '\\0' x\n"
      "echo\n"
      "while :; do sleep 1; done\n";
  par::CreateSpec spec;
  spec.capid = "wasmcloud:testing";
  spec.vendor = "tests";
  spec.name = "talker";
  spec.rev = 1;
  spec.targets[par::native_target()] = Bytes(script.begin(), script.end());
  auto bytes = par::create_archive(spec, wascap::KeyPair::generate(wascap::KeyType::kAccount),
                                   wascap::KeyPair::generate(wascap::KeyType::kService), false);
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto archive = par::load_archive(*bytes, {.only_target = par::native_target()});
  ASSERT_TRUE(archive) << archive.error().message;

  auto sink = std::make_shared<LineSink>();
  init_logging(true, "debug", sink);
  ProviderSupervisorDeps deps;
  deps.lattice_prefix = "default";
  deps.cache_dir = dir_.string();
  std::vector<nlohmann::json> relayed;
  {
    ProviderSupervisor sup(deps);
    ProviderStart start;
    start.archive = *archive;
    start.image_ref = "file:///talker.par";
    start.link_name = "default";
    auto info = sup.start(std::move(start));
    ASSERT_TRUE(info) << info.error().message;
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      relayed.clear();
      for (const auto& line : sink->lines()) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
        if (j.contains("provider_id")) relayed.push_back(std::move(j));
      }
      if (relayed.size() >= 6) break;
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(sup.stop(archive->claims.sub, "default"), 1u);
  }
  init_logging(false, "info");
  auto find = [&](const std::string& message) -> const nlohmann::json* {
    for (const auto& j : relayed)
      if (j["message"] == message) return &j;
    return nullptr;
  };
  struct Want {
    std::string message, level;
  };
  for (const Want& w : {Want{"plain stdout line", "info"}, Want{"plain stderr line", "warning"},
                        Want{"sdk text line", "warning"}, Want{"sdk json line", "error"}}) {
    const nlohmann::json* j = find(w.message);
    ASSERT_NE(j, nullptr) << w.message << " not relayed";
    EXPECT_EQ((*j)["level"], w.level) << j->dump();
    EXPECT_EQ((*j)["provider_id"], archive->claims.sub) << j->dump();
    EXPECT_EQ((*j)["link_name"], "default") << j->dump();
  }
  std::string seen;  // on failure: what was relayed (level and message length)
  for (const auto& j : relayed)
    seen += " [" + j.value("level", "?") + " " +
            std::to_string(j.value("message", std::string()).size()) + " " +
            j.value("message", std::string()).substr(0, 20) + "]";
  EXPECT_NE(find(std::string(16 * 1024, 'x')), nullptr) << "the long line's first piece;" << seen;
  EXPECT_NE(find(std::string(20000 - 16 * 1024, 'x')), nullptr) << "the long line's rest";
}

/// Issue #13.2: the supervisor reads the provider's HealthCheckResponse (msgpack, 7.6) instead of
/// counting any reply as healthy. A responder on a real nats-server plays the provider's health
/// subject: `healthy: false` keeps it unhealthy (health_check_status), `true` passes it
/// (health_check_passed), `false` again fails it (health_check_failed).
TEST_F(ProviderSupervisorTest, HealthAnswersAreReadNotJustReceived) {
  testing::NatsServer nats;
  lattice::ConnectOptions o;
  o.servers = {nats.url()};
  auto conn = lattice::Connection::connect(o);
  ASSERT_TRUE(conn) << conn.error().message;
  auto responder = lattice::Connection::connect(o);
  ASSERT_TRUE(responder) << responder.error().message;

  std::atomic<bool> healthy{false};
  std::atomic<int> asked{0};
  auto* resp = responder->get();
  const std::string subject = "wasmbus.rpc.default." + archive_.claims.sub + ".default.health";
  auto sub = resp->subscribe(subject, [&, resp](lattice::Message m) {
    rpc::HealthCheckResponse h;
    h.healthy = healthy.load();
    if (!h.healthy) h.message = "database unreachable";
    (void)resp->respond(m, rpc::encode_health_response(h));
    ++asked;
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(resp->flush());

  std::mutex mu;
  std::vector<std::string> events;
  ProviderSupervisorDeps deps;
  deps.emit = [&](std::string_view type, const nlohmann::json&) {
    std::lock_guard lock(mu);
    events.emplace_back(type);
  };
  deps.rpc = conn->get();
  deps.lattice_prefix = "default";
  deps.cache_dir = dir_.string();
  deps.health_first = 100ms;
  deps.health_interval = 300ms;
  auto health_events = [&] {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.find("health_check") != std::string::npos) out.push_back(e);
    return out;
  };
  auto wait_for = [&](std::size_t n) {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until && health_events().size() < n)
      std::this_thread::sleep_for(20ms);
    return health_events();
  };
  ProviderSupervisor sup(deps);
  ProviderStart start;
  start.archive = archive_;
  start.image_ref = "file:///sleeper.par";
  ASSERT_TRUE(sup.start(std::move(start)));

  auto seen = wait_for(1);
  ASSERT_GE(seen.size(), 1u);
  EXPECT_EQ(seen[0], lattice::events::kHealthCheckStatus) << "an unhealthy answer passed";
  healthy = true;
  seen = wait_for(seen.size() + 2);
  EXPECT_NE(std::find(seen.begin(), seen.end(), std::string(lattice::events::kHealthCheckPassed)),
            seen.end());
  healthy = false;
  seen = wait_for(seen.size() + 2);
  EXPECT_NE(std::find(seen.begin(), seen.end(), std::string(lattice::events::kHealthCheckFailed)),
            seen.end());
  EXPECT_GE(asked.load(), 3);
  EXPECT_EQ(sup.stop(archive_.claims.sub, "default"), 1u);
}

}  // namespace
}  // namespace wc::host
