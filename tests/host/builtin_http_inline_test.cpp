// Inline runs (issue #14.4): ActorSupervisor::try_run_here's rule, and the builtin HTTP server
// answering a known-fast actor on its event loop, sending a slow one to the RPC pool and
// answering a queued request 503 at its deadline. A real ActorSupervisor (the signed echo
// fixture, a FakeModule: the guest is the `run_local` seam here), a real BuiltinHttpServer with
// one event loop on a free loopback port, and real threads standing in for the RPC pool, each
// recorded so that a test can tell which thread ran a request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes.h"
#include "host/actor_supervisor.h"
#include "host/builtin_http.h"
#include "host/host_call_waits.h"
#include "rpc/http.h"

namespace wc::host {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// echo.wasm's subject (fixtures README).
constexpr const char* kEchoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kEchoRef = "registry.test/echo:0.3.4";
constexpr std::uint32_t kStreak = ActorSupervisor::kInlineStreak;

/// One HTTP/1.1 GET on a fresh connection (Connection: close): the status code (0 = no answer).
int get_status(int port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return 0;
  }
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, n);
  ::close(fd);
  if (out.size() < 12 || !out.starts_with("HTTP/1.1 ")) return 0;
  return std::stoi(out.substr(9, 3));
}

/// Milliseconds since `t0`.
long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

struct Rig {
  testing::FakeBus ctl, rpc;
  testing::EventLog events;
  std::unique_ptr<MetadataCache> metadata;
  std::unique_ptr<PolicyManager> policy;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::thread> pool;       // one thread per posted task (the RPC pool stand-in)
  std::set<std::thread::id> pool_ids;  // those threads
  struct Ran {
    std::string path;
    std::thread::id thread;
  };
  std::vector<Ran> ran;  // what the guest ran, in order of completion
  std::unique_ptr<ActorSupervisor> sup;
  std::unique_ptr<BuiltinHttpServer> http;

  Rig() {
    MetadataCacheDeps md;
    md.ctl = &ctl;
    md.rpc = &rpc;
    md.post = [](std::function<void()>) { return true; };
    md.lattice_prefix = "unit";
    metadata = std::make_unique<MetadataCache>(std::move(md));
    policy = std::make_unique<PolicyManager>(
        "", 100ms, json::object(),
        [](const std::string&, const std::string&,
           std::chrono::milliseconds) -> Result<std::string> { return std::string("{}"); });
    ActorSupervisorDeps d;
    // 2 ms instead of the host's 200 µs: the fake guest's fast runs must count as fast under
    // ASan and on a loaded CI machine (one such run took over 200 µs there), and its slow ones
    // sleep 5 ms or more.
    d.inline_threshold = 2ms;
    d.rpc = &rpc;
    d.metadata = metadata.get();
    d.policy = policy.get();
    d.emit = events.emitter();
    d.load = [](const Bytes&, const std::string&) -> Result<std::shared_ptr<wasm::Module>> {
      return std::shared_ptr<wasm::Module>(std::make_shared<testing::FakeModule>());
    };
    Poster post = [this](std::function<void()> task) {
      std::lock_guard lock(mu);
      pool.emplace_back([this, task = std::move(task)] {
        {
          std::lock_guard l(mu);
          pool_ids.insert(std::this_thread::get_id());
        }
        task();
      });
      return true;
    };
    d.post_rpc = post;
    // The guest: "/slow?ms=N" sleeps N ms (a guest blocked in a host call), "/fail" fails like
    // a trap, "/wait" makes a host call that waits outside the run for no measurable time (as
    // RpcDispatcher::request records a lattice request), anything else answers 200 at once.
    d.run_local = [this](const InvocationTarget&, LocalInvocation& inv) {
      auto req = rpc::decode_http_request(inv.payload);
      const std::string path = req ? req->path : std::string(inv.operation);
      const std::string query = req ? req->query_string : "";
      if (path == "/slow")
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::stoi(query.substr(query.find('=') + 1))));
      if (path == "/wait") note_host_call_wait();
      {
        std::lock_guard lock(mu);
        ran.push_back({path, std::this_thread::get_id()});
      }
      cv.notify_all();
      if (path == "/fail") return inv.done(fail(Code::kTrap, "unreachable executed"));
      rpc::HttpResponse r;
      r.body = Bytes(path.begin(), path.end());
      inv.done(rpc::encode_http_response(r));
    };
    d.host_id = "NHOST";
    d.lattice_prefix = "unit";
    sup = std::make_unique<ActorSupervisor>(std::move(d));

    BuiltinHttpDeps h;
    h.invoke_local = [this](const std::string& key, std::shared_ptr<LocalInvocation> inv) {
      return sup->admit_local(key, std::move(inv));
    };
    h.try_run_here = [this](const std::string& key, LocalInvocation& inv) {
      return sup->try_run_here(key, inv);
    };
    h.post_rpc = post;
    h.links_for = [](const std::string&, const std::string&) {
      return std::vector<rpc::LinkDefinition>{};
    };
    h.loop_threads = 1;  // one event loop: a stall of it is observable from another connection
    http = std::make_unique<BuiltinHttpServer>(std::move(h));
  }

  ~Rig() {
    http.reset();
    for (;;) {
      std::vector<std::thread> running;
      {
        std::lock_guard lock(mu);
        running.swap(pool);
      }
      if (running.empty()) break;
      for (auto& t : running) t.join();
    }
  }

  Status start(std::int64_t instances) {
    auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    if (!bytes) return fail(bytes.error());
    return sup->start(*bytes, kEchoRef, instances, {});
  }

  /// Opens the listener for echo; returns its port (0 = none).
  int listen(std::map<std::string, std::string> values = {}) {
    if (!http->start("default", {})) return 0;
    rpc::LinkDefinition ld;
    ld.actor_id = kEchoKey;
    ld.provider_id = builtin_http_server_key();
    ld.link_name = "default";
    ld.contract_id = "wasmcloud:httpserver";
    ld.values = std::move(values);
    ld.values["address"] = "127.0.0.1:0";
    http->link_changed(ld, true);
    return http->port_of(kEchoKey, "default");
  }

  bool on_pool(std::thread::id id) {
    std::lock_guard lock(mu);
    return pool_ids.count(id) != 0;
  }

  /// The last run of `path` (waits up to 5 s for it).
  std::optional<Ran> last_run(const std::string& path) {
    std::unique_lock lock(mu);
    std::optional<Ran> found;
    cv.wait_for(lock, 5s, [&] {
      for (auto it = ran.rbegin(); it != ran.rend(); ++it) {
        if (it->path == path) {
          found = *it;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  std::size_t runs_of(const std::string& path) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& r : ran) n += r.path == path ? 1 : 0;
    return n;
  }
};

/// An in-process invocation whose outcome the test waits for.
struct Call {
  std::shared_ptr<LocalInvocation> inv = std::make_shared<LocalInvocation>();
  std::shared_ptr<std::promise<Result<Bytes>>> promise =
      std::make_shared<std::promise<Result<Bytes>>>();
  std::future<Result<Bytes>> result = promise->get_future();
  std::shared_ptr<std::atomic<int>> answers = std::make_shared<std::atomic<int>>(0);

  explicit Call(const std::string& path) {
    rpc::HttpRequest r;
    r.method = "GET";
    const auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) r.query_string = path.substr(q + 1);
    inv->operation = "HttpServer.HandleRequest";
    inv->payload = rpc::encode_http_request(r);
    inv->done = [p = promise, n = answers](Result<Bytes> out) {
      if (n->fetch_add(1) == 0) p->set_value(std::move(out));
    };
  }
  bool answered_within(std::chrono::milliseconds t) {
    return result.wait_for(t) == std::future_status::ready;
  }
};

/// Waits until no invocation of echo runs or waits (a pool run answers before its slot is
/// freed and its observation recorded).
void wait_idle(Rig& rig) {
  const auto until = Clock::now() + 5s;
  while (rig.sup->load_of(kEchoKey) != std::pair<std::size_t, std::size_t>{0, 0} &&
         Clock::now() < until)
    std::this_thread::sleep_for(1ms);
}

/// Runs `n` fast invocations through admit_local and waits for each (pool observations).
void warm_on_pool(Rig& rig, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i) {
    Call c("/warm");
    ASSERT_TRUE(rig.sup->admit_local(kEchoKey, c.inv));
    ASSERT_TRUE(c.answered_within(5s));
    wait_idle(rig);
  }
}

/// GETs "/warm" until echo is known fast and idle (at most 200 requests).
void warm_http(Rig& rig, int port) {
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(get_status(port, "/warm"), 200);
    wait_idle(rig);
    if (rig.sup->inline_stats(kEchoKey).fast_streak == kStreak) return;
  }
  FAIL() << "echo never observed fast";
}

// ------------------------------------------------------------------ the supervisor's rule

TEST(InlineRule, ANewActorRunsOnThePoolUntilItsLastRunsWereFast) {
  Rig rig;
  Call absent("/x");
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *absent.inv));  // no instance here
  ASSERT_TRUE(rig.start(2));
  Call fresh("/x");
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *fresh.inv));  // never observed
  EXPECT_FALSE(fresh.answered_within(0ms));
  warm_on_pool(rig, kStreak - 1);
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *fresh.inv));  // one observation short
  warm_on_pool(rig, 1);
  EXPECT_EQ(rig.sup->inline_stats(kEchoKey).fast_streak, kStreak);
  Call here("/here");
  ASSERT_TRUE(rig.sup->try_run_here(kEchoKey, *here.inv));
  ASSERT_TRUE(here.answered_within(0ms));  // answered before try_run_here returned
  ASSERT_TRUE(here.result.get());
  auto ran = rig.last_run("/here");
  ASSERT_TRUE(ran);
  EXPECT_EQ(ran->thread, std::this_thread::get_id());
  const auto stats = rig.sup->inline_stats(kEchoKey);
  EXPECT_EQ(stats.inline_runs, 1u);
  EXPECT_EQ(stats.pooled_runs, kStreak);
  EXPECT_EQ(rig.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{0, 0}));
}

TEST(InlineRule, ASlowRunSendsTheNextOnesToThePoolUntilTheyAreFastAgain) {
  Rig rig;
  ASSERT_TRUE(rig.start(2));
  warm_on_pool(rig, kStreak);
  Call slow("/slow?ms=5");
  ASSERT_TRUE(rig.sup->try_run_here(kEchoKey, *slow.inv));  // the run that reveals it
  EXPECT_EQ(rig.sup->inline_stats(kEchoKey).fast_streak, 0u);
  Call next("/next");
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *next.inv));
  // Slow on the pool too: still not inline.
  Call slow_pool("/slow?ms=5");
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, slow_pool.inv));
  ASSERT_TRUE(slow_pool.answered_within(5s));
  wait_idle(rig);
  warm_on_pool(rig, kStreak - 1);
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *next.inv));
  warm_on_pool(rig, 1);
  EXPECT_TRUE(rig.sup->try_run_here(kEchoKey, *next.inv));
  EXPECT_TRUE(next.answered_within(0ms));
}

TEST(InlineRule, ARunThatWaitedInAHostCallIsNeverFastHoweverShort) {
  // An actor whose host call waits outside the run (a lattice request) may wait the call's
  // whole timeout next time: its runs never count as fast, on the pool or inline.
  Rig rig;
  ASSERT_TRUE(rig.start(2));
  for (std::uint32_t i = 0; i < kStreak; ++i) {
    Call c("/wait");
    ASSERT_TRUE(rig.sup->admit_local(kEchoKey, c.inv));
    ASSERT_TRUE(c.answered_within(5s));
    wait_idle(rig);
  }
  EXPECT_EQ(rig.sup->inline_stats(kEchoKey).fast_streak, 0u);
  Call next("/x");
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *next.inv));
  // Known fast, then a run that waits (inline: the run that reveals it) resets the streak.
  warm_on_pool(rig, kStreak);
  Call waits("/wait");
  ASSERT_TRUE(rig.sup->try_run_here(kEchoKey, *waits.inv));
  EXPECT_TRUE(waits.answered_within(0ms));
  EXPECT_EQ(rig.sup->inline_stats(kEchoKey).fast_streak, 0u);
  Call after("/x");
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *after.inv));
}

TEST(InlineRule, NotWhenEverySlotIsBusyOrAnInvocationIsQueued) {
  Rig rig;
  ASSERT_TRUE(rig.start(1));
  warm_on_pool(rig, kStreak);
  Call busy("/slow?ms=300");
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, busy.inv));  // takes the only slot
  Call queued("/queued");
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, queued.inv));
  EXPECT_EQ(rig.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{1, 1}));
  Call here("/here");
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *here.inv));
  EXPECT_FALSE(here.answered_within(0ms));
  ASSERT_TRUE(busy.answered_within(5s));
  ASSERT_TRUE(queued.answered_within(5s));  // FIFO: the queued one ran, not overtaken
  wait_idle(rig);
  EXPECT_EQ(rig.runs_of("/here"), 0u);
}

TEST(InlineRule, AnInlineRunPastTheThresholdKeepsOtherThreadsOut) {
  Rig rig;
  ASSERT_TRUE(rig.start(2));
  warm_on_pool(rig, kStreak);
  Call slow("/slow?ms=400");
  std::thread other([&] { EXPECT_TRUE(rig.sup->try_run_here(kEchoKey, *slow.inv)); });
  std::this_thread::sleep_for(50ms);
  Call here("/here");
  // A slot is free and the streak still says fast (the slow run has not ended), but it has
  // been running for more than the threshold.
  EXPECT_EQ(rig.sup->inline_stats(kEchoKey).fast_streak, kStreak);
  EXPECT_FALSE(rig.sup->try_run_here(kEchoKey, *here.inv));
  other.join();
  EXPECT_TRUE(slow.answered_within(0ms));
}

TEST(InlineRule, AQueuedInvocationItsCallerClaimedNeitherRunsNorIsAnswered) {
  Rig rig;
  ASSERT_TRUE(rig.start(1));
  Call busy("/slow?ms=200");
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, busy.inv));
  Call gone("/gone");
  gone.inv->claim = std::make_shared<std::atomic<bool>>(false);
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, gone.inv));
  ASSERT_FALSE(gone.inv->claim->exchange(true));  // the caller answers it itself
  Call after("/after");
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, after.inv));
  ASSERT_TRUE(after.answered_within(5s));  // the slot passed on to the next one
  EXPECT_EQ(rig.runs_of("/gone"), 0u);
  EXPECT_EQ(*gone.answers, 0);
  // Claimed by the supervisor first: the caller's exchange finds it taken.
  Call ran("/ran");
  ran.inv->claim = std::make_shared<std::atomic<bool>>(false);
  ASSERT_TRUE(rig.sup->admit_local(kEchoKey, ran.inv));
  ASSERT_TRUE(ran.answered_within(5s));
  EXPECT_TRUE(ran.inv->claim->exchange(true));
}

// ------------------------------------------------------------------ through HTTP

TEST(BuiltinHttpInline, AFastActorIsAnsweredOnTheEventLoop) {
  Rig rig;
  ASSERT_TRUE(rig.start(4));
  const int port = rig.listen();
  ASSERT_GT(port, 0);
  for (std::uint32_t i = 0; i < kStreak; ++i) ASSERT_EQ(get_status(port, "/first"), 200);
  auto first = rig.last_run("/first");
  ASSERT_TRUE(first);
  EXPECT_TRUE(rig.on_pool(first->thread));  // a new actor starts on the pool
  // Preemption of a run does not count as slow, but a run that blocked on a lock can: allow a
  // few retries before concluding that nothing runs inline.
  for (int i = 0; i < 3 * static_cast<int>(kStreak); ++i) ASSERT_EQ(get_status(port, "/then"), 200);
  const auto stats = rig.sup->inline_stats(kEchoKey);
  EXPECT_GE(stats.inline_runs, 1u);
  auto then = rig.last_run("/then");
  ASSERT_TRUE(then);
  EXPECT_FALSE(rig.on_pool(then->thread));
  EXPECT_NE(then->thread, std::this_thread::get_id());  // the event loop's thread
}

TEST(BuiltinHttpInline, ASlowActorStallsItsLoopOnceThenRunsOnThePoolWhileOthersAreServed) {
  Rig rig;
  ASSERT_TRUE(rig.start(4));
  const int port = rig.listen();
  ASSERT_GT(port, 0);
  warm_http(rig, port);
  // The run that reveals it runs inline and holds the only event loop: another connection
  // waits for it (the documented cost, once per observation window).
  auto slow1 = std::async(std::launch::async, [&] { return get_status(port, "/slow?ms=800"); });
  std::this_thread::sleep_for(100ms);
  auto t0 = Clock::now();
  EXPECT_EQ(get_status(port, "/other"), 200);
  EXPECT_GE(ms_since(t0), 500);
  EXPECT_EQ(slow1.get(), 200);
  auto s1 = rig.last_run("/slow");
  ASSERT_TRUE(s1);
  EXPECT_FALSE(rig.on_pool(s1->thread));
  // Observed slow: the next one runs on the pool, and the loop serves others meanwhile.
  auto slow2 = std::async(std::launch::async, [&] { return get_status(port, "/slow?ms=800"); });
  std::this_thread::sleep_for(100ms);
  t0 = Clock::now();
  EXPECT_EQ(get_status(port, "/other"), 200);
  EXPECT_LT(ms_since(t0), 400);
  EXPECT_EQ(slow2.get(), 200);
  auto s2 = rig.last_run("/slow");
  ASSERT_TRUE(s2);
  EXPECT_TRUE(rig.on_pool(s2->thread));
}

TEST(BuiltinHttpInline, AFailingGuestInlineIsAnswered500AndTheLoopGoesOn) {
  Rig rig;
  ASSERT_TRUE(rig.start(2));
  const int port = rig.listen();
  ASSERT_GT(port, 0);
  warm_http(rig, port);
  const auto before = rig.sup->inline_stats(kEchoKey).inline_runs;
  EXPECT_EQ(get_status(port, "/fail"), 500);
  auto failed = rig.last_run("/fail");
  ASSERT_TRUE(failed);
  EXPECT_FALSE(rig.on_pool(failed->thread));
  EXPECT_GT(rig.sup->inline_stats(kEchoKey).inline_runs, before);
  EXPECT_EQ(get_status(port, "/after"), 200);
  EXPECT_EQ(rig.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{0, 0}));
}

TEST(BuiltinHttpInline, PoolRequestsAreAnswered503AtTheirDeadlineQueuedOnesNeverRun) {
  Rig rig;
  ASSERT_TRUE(rig.start(1));
  const int port = rig.listen({{"config_json", R"({"timeout_ms": 300})"}});
  ASSERT_GT(port, 0);
  // A new actor runs on the pool; this one holds the only slot for 1 s.
  auto t_busy = Clock::now();
  auto busy = std::async(std::launch::async, [&] { return get_status(port, "/slow?ms=1000"); });
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(rig.sup->load_of(kEchoKey).first, 1u);
  const auto t0 = Clock::now();
  EXPECT_EQ(get_status(port, "/queued"), 503);
  const auto waited = ms_since(t0);
  EXPECT_GE(waited, 250);  // its deadline: 300 ms after it arrived
  EXPECT_LT(waited, 800);  // not when the slot freed (900 ms later)
  // The running one is answered at its deadline too, not when the guest ends.
  EXPECT_EQ(busy.get(), 503);
  EXPECT_LT(ms_since(t_busy), 800);
  // The guest runs to its end (result dropped); the slot then skips the timed-out request.
  wait_idle(rig);
  EXPECT_EQ(rig.runs_of("/slow"), 1u);
  EXPECT_EQ(rig.runs_of("/queued"), 0u);
  EXPECT_EQ(get_status(port, "/next"), 200);
  EXPECT_EQ(rig.runs_of("/queued"), 0u);
}

}  // namespace
}  // namespace wc::host
