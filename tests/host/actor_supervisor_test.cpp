// ActorSupervisor (src/host/actor_supervisor.h) with real signed modules from the shared fixtures
// and fakes for everything else: fetch, engine, bus, RPC pool, events. Covers starts, the
// one-reference rule, the instance limit and reservations, stops with annotation filters,
// scale plans, live update and the RPC instance slots.
#include "host/actor_supervisor.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "fakes.h"
#include "host/errors.h"
#include "host/util.h"
#include "lattice/events.h"
#include "lattice/topics.h"

namespace wc::host {
namespace {

using nlohmann::json;
using testing::EventLog;
using testing::FakeBus;
using testing::FakeModule;
namespace topics = lattice::topics;
namespace ev = lattice::events;

constexpr const char* kLattice = "unit";
/// echo.wasm's subject (fixtures README): Echo, rev 4, caps wasmcloud:httpserver.
constexpr const char* kEchoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kEchoRef = "registry.test/echo:0.3.4";

Bytes fixture(const std::string& name) {
  auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + name);
  EXPECT_TRUE(b) << name << ": " << b.error().message;
  return b ? *b : Bytes{};
}

struct Fixture {
  FakeBus ctl, rpc;
  EventLog events;
  std::unique_ptr<MetadataCache> metadata;
  std::unique_ptr<PolicyManager> policy;
  bool policy_permits = true;
  std::map<std::string, Bytes> registry;  // reference -> module bytes (the fetch fake)
  std::vector<std::string> fetched;
  int loads = 0;
  std::vector<std::function<void()>> rpc_tasks;  // posted, not yet run
  bool refuse_posts = false;                     // the RPC pool is shut down
  std::vector<InvocationTarget> ran;
  std::vector<std::string> not_running;
  std::unique_ptr<ActorSupervisor> sup;

  explicit Fixture(std::int64_t max_instances = 0, bool with_policy = false) {
    MetadataCacheDeps md;
    md.ctl = &ctl;
    md.rpc = &rpc;
    md.post = [](std::function<void()>) { return true; };
    md.lattice_prefix = kLattice;
    metadata = std::make_unique<MetadataCache>(std::move(md));
    policy = std::make_unique<PolicyManager>(
        with_policy ? "policy" : "", std::chrono::milliseconds(100), json::object(),
        [this](const std::string&, const std::string& body,
               std::chrono::milliseconds) -> Result<std::string> {
          auto req = json::parse(body);
          return json{{"permitted", policy_permits},
                      {"message", "not here"},
                      {"requestId", req.value("requestId", "")}}
              .dump();
        });
    registry[kEchoRef] = fixture("echo.wasm");
    ActorSupervisorDeps d;
    d.rpc = &rpc;
    d.metadata = metadata.get();
    d.policy = policy.get();
    d.emit = events.emitter();
    d.fetch = [this](const std::string& ref) -> Result<Bytes> {
      fetched.push_back(ref);
      auto it = registry.find(ref);
      if (it == registry.end()) return fail(Code::kNotFound, "manifest unknown: " + ref);
      return it->second;
    };
    d.load = [this](const Bytes&, const std::string&) -> Result<std::shared_ptr<wasm::Module>> {
      ++loads;
      return std::shared_ptr<wasm::Module>(std::make_shared<FakeModule>());
    };
    d.post_rpc = [this](std::function<void()> task) {
      if (refuse_posts) return false;
      rpc_tasks.push_back(std::move(task));
      return true;
    };
    d.run = [this](const InvocationTarget& t, const lattice::Message&) { ran.push_back(t); };
    d.run_local = [this](const InvocationTarget& t, LocalInvocation& inv) {
      ran.push_back(t);
      inv.done(Bytes{'o', 'k'});
    };
    d.reply_not_running = [this](const std::string& key, const lattice::Message&) {
      not_running.push_back(key);
    };
    d.host_id = "NHOST";
    d.lattice_prefix = kLattice;
    d.max_instances = max_instances;
    sup = std::make_unique<ActorSupervisor>(std::move(d));
  }

  Status start(std::int64_t count, const StringMap& annotations = {},
               const std::string& ref = kEchoRef) {
    return sup->start(registry.count(ref) ? registry[ref] : fixture("echo.wasm"), ref, count,
                      annotations);
  }
  std::size_t instances() const {
    auto s = sup->snapshot();
    return s.empty() ? 0 : s[0].instances.size();
  }
  void run_one_rpc_task() {
    ASSERT_FALSE(rpc_tasks.empty());
    auto t = std::move(rpc_tasks.front());
    rpc_tasks.erase(rpc_tasks.begin());
    t();
  }
};

std::shared_ptr<lattice::Message> message() { return std::make_shared<lattice::Message>(); }

// ------------------------------------------------------------------ starts

TEST(ActorSupervisor, StartRegistersInstancesSubscribesOnceAndPublishes) {
  Fixture f;
  ASSERT_TRUE(f.start(3, {{"app", "a"}}));
  auto snap = f.sup->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].public_key, kEchoKey);
  EXPECT_EQ(snap[0].name, "Echo");
  ASSERT_EQ(snap[0].instances.size(), 3u);
  EXPECT_EQ(snap[0].instances[0].image_ref, kEchoRef);
  EXPECT_EQ(snap[0].instances[0].annotations.at("app"), "a");
  EXPECT_EQ(snap[0].instances[0].revision, 4);
  EXPECT_EQ(f.events.of(ev::kActorStarted).size(), 3u);
  EXPECT_EQ(f.events.of(ev::kRefmapSet).size(), 3u);
  auto agg = f.events.of(ev::kActorsStarted);
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_EQ(agg[0].data["count"], 3);
  EXPECT_EQ(agg[0].data["host_id"], "NHOST");
  EXPECT_EQ(agg[0].data["claims"]["caps"], json::array({"wasmcloud:httpserver"}));
  EXPECT_EQ(f.rpc.subscribed(),
            std::vector<std::string>{topics::rpc_actor(kLattice, kEchoKey) + " queue=" +
                                     topics::rpc_actor_queue_group(kLattice, kEchoKey)});
  // Claims and reference map reach the metadata cache.
  ASSERT_TRUE(f.metadata->claims(kEchoKey));
  EXPECT_EQ((*f.metadata->claims(kEchoKey))["rev"], "4");
  EXPECT_EQ(f.metadata->resolve_reference(kEchoRef), kEchoKey);

  // A second start with the same reference adds instances and reuses the module.
  ASSERT_TRUE(f.start(2));
  EXPECT_EQ(f.instances(), 5u);
  EXPECT_EQ(f.loads, 1);
  EXPECT_EQ(f.rpc.subscribed().size(), 1u);
  EXPECT_EQ(f.sup->running_instances(), 5);
}

TEST(ActorSupervisor, SecondReferenceForARunningActorIsRefused) {
  Fixture f;
  ASSERT_TRUE(f.start(1));
  f.registry["registry.test/echo:other"] = fixture("echo.wasm");
  auto st = f.start(1, {}, "registry.test/echo:other");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kAlreadyExists);
  EXPECT_EQ(st.error().message, errors::other_reference(kEchoKey, "registry.test/echo:other"));
  auto failed = f.events.of(ev::kActorsStartFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].data["public_key"], kEchoKey);
  EXPECT_EQ(f.instances(), 1u);
}

TEST(ActorSupervisor, UnsignedModuleIsRefusedWithNoKey) {
  Fixture f;
  auto st = f.sup->start(testing::bytes_of("\0asm\x01\0\0\0"), "registry.test/x:1", 1, {});
  ASSERT_FALSE(st);
  auto failed = f.events.of(ev::kActorsStartFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].data["public_key"], "N/A");
  EXPECT_TRUE(f.sup->snapshot().empty());
  EXPECT_EQ(f.loads, 0);
}

TEST(ActorSupervisor, PolicyDenialStopsTheStart) {
  Fixture f(0, /*with_policy=*/true);
  f.policy_permits = false;
  auto st = f.start(1);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kPermissionDenied);
  EXPECT_EQ(st.error().message, std::string(errors::kStartingActorDeniedPrefix) + "not here");
  auto failed = f.events.of(ev::kActorsStartFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].data["error"].get<std::string>().rfind(errors::kPolicyDeniedStartPrefix, 0),
            0u);
  EXPECT_TRUE(f.sup->snapshot().empty());
}

// ------------------------------------------------------------------ instance limit, reservations

TEST(ActorSupervisor, StartPastTheHostLimitIsRefused) {
  Fixture f(/*max_instances=*/2);
  auto st = f.start(3);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kResourceExhausted);
  EXPECT_EQ(st.error().message, errors::host_instance_limit(3, 0, 2));
  ASSERT_TRUE(f.start(2));
  EXPECT_FALSE(f.start(1));
}

TEST(ActorSupervisor, ReservationsCountAgainstTheLimitUntilGivenBack) {
  Fixture f(/*max_instances=*/5);
  auto a = f.sup->reserve(3);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 3);
  auto b = f.sup->reserve(3);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, errors::host_instance_limit(3, 3, 5));
  f.sup->release(3);
  EXPECT_EQ(f.sup->reserved(), 0);
  EXPECT_TRUE(f.sup->reserve(5));
  f.sup->release(5);
}

TEST(ActorSupervisor, ATaskTurnsItsReservationIntoInstances) {
  Fixture f(/*max_instances=*/10);
  auto n = f.sup->reserve(4);
  ASSERT_TRUE(n);
  f.sup->begin_task(*n);
  ASSERT_TRUE(f.start(3));  // 3 of the 4 become running instances
  EXPECT_EQ(f.sup->reserved(), 1);
  f.sup->end_task();  // the 4th is given back
  EXPECT_EQ(f.sup->reserved(), 0);
  EXPECT_EQ(f.sup->running_instances(), 3);
}

TEST(ActorSupervisor, ScaleReservesOnlyBeyondTheRunningInstances) {
  Fixture f(/*max_instances=*/6);
  ASSERT_TRUE(f.start(4));
  const std::string key = kEchoKey;
  auto same = f.sup->reserve(4, &key);  // already at 4
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, 0);
  auto more = f.sup->reserve(6, &key);  // 2 more
  ASSERT_TRUE(more);
  EXPECT_EQ(*more, 2);
  EXPECT_FALSE(f.sup->reserve(7, &key));  // 4 running + 2 reserved + 1 > 6
}

// ------------------------------------------------------------------ stops

TEST(ActorSupervisor, StopWithAnnotationsHaltsOnlyMatchingInstances) {
  Fixture f;
  ASSERT_TRUE(f.start(2, {{"app", "a"}}));
  ASSERT_TRUE(f.start(2, {{"app", "b"}}));
  f.sup->stop(kEchoKey, 1, {{"app", "b"}});
  auto snap = f.sup->snapshot();
  ASSERT_EQ(snap[0].instances.size(), 3u);
  int b = 0;
  for (const auto& i : snap[0].instances) b += i.annotations.at("app") == "b";
  EXPECT_EQ(b, 1);
  auto stopped = f.events.of(ev::kActorsStopped);
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].data["count"], 1);
  EXPECT_EQ(stopped[0].data["remaining"], 3);
  EXPECT_EQ(stopped[0].data["annotations"]["app"], "b");
  ASSERT_EQ(f.events.of(ev::kActorStopped).size(), 1u);
  EXPECT_EQ(f.events.of(ev::kActorStopped)[0].data["annotations"]["app"], "b");
  // A filter that matches nothing halts nothing.
  f.sup->stop(kEchoKey, 5, {{"app", "zzz"}});
  EXPECT_EQ(f.instances(), 3u);
}

TEST(ActorSupervisor, StopAllRemovesTheActorWithoutAggregateEvent) {
  Fixture f;
  ASSERT_TRUE(f.start(2));
  f.sup->stop_all();
  EXPECT_TRUE(f.sup->snapshot().empty());
  EXPECT_EQ(f.events.of(ev::kActorStopped).size(), 2u);
  EXPECT_TRUE(f.events.of(ev::kActorsStopped).empty());  // count 0 = everything, no aggregate
  EXPECT_EQ(f.sup->running_instances(), 0);
}

// ------------------------------------------------------------------ scale and launch

TEST(ActorSupervisor, ScaleFollowsThePlan) {
  Fixture f;
  ScaleActorRequest up;
  up.actor_id = kEchoKey;
  up.actor_ref = kEchoRef;
  up.count = 3;
  f.sup->scale(up);
  EXPECT_EQ(f.instances(), 3u);
  EXPECT_EQ(f.fetched, std::vector<std::string>{kEchoRef});

  ScaleActorRequest down = up;
  down.actor_ref = "";  // the running instances' reference
  down.count = 1;
  f.sup->scale(down);
  EXPECT_EQ(f.instances(), 1u);
  ASSERT_EQ(f.events.of(ev::kActorsStopped).size(), 1u);
  EXPECT_EQ(f.events.of(ev::kActorsStopped)[0].data["count"], 2);

  f.sup->scale(down);  // nothing to do
  EXPECT_EQ(f.instances(), 1u);
  EXPECT_EQ(f.fetched.size(), 1u);
}

TEST(ActorSupervisor, ScaleFailuresPublishActorStartFailed) {
  Fixture f;
  ScaleActorRequest none;
  none.actor_id = kEchoKey;
  none.count = 2;  // nothing running and no reference
  f.sup->scale(none);
  ASSERT_EQ(f.events.of(ev::kActorStartFailed).size(), 1u);

  ScaleActorRequest missing = none;
  missing.actor_ref = "registry.test/missing:1";
  f.sup->scale(missing);
  auto failed = f.events.of(ev::kActorStartFailed);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[1].data["actor_ref"], "registry.test/missing:1");
  EXPECT_EQ(failed[1].data["error"], inspect("manifest unknown: registry.test/missing:1"));
  EXPECT_TRUE(f.sup->snapshot().empty());
}

TEST(ActorSupervisor, LaunchFetchesAndStarts) {
  Fixture f;
  LaunchActorRequest req;
  req.actor_ref = kEchoRef;
  req.count = 2;
  req.annotations = {{"k", "v"}};
  f.sup->launch(req);
  EXPECT_EQ(f.instances(), 2u);
  req.actor_ref = "registry.test/nope:1";
  f.sup->launch(req);
  auto failed = f.events.of(ev::kActorStartFailed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].data["actor_ref"], "registry.test/nope:1");
}

// ------------------------------------------------------------------ live update

TEST(ActorSupervisor, LiveUpdateRefusals) {
  Fixture f;
  auto file = f.sup->live_update("file:///tmp/echo.wasm");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().message, errors::kLiveUpdateFromFileDisabled);

  auto unknown = f.sup->live_update(kEchoRef);  // no claims cached for the key
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, errors::live_update_unknown_actor(kEchoKey));

  ASSERT_TRUE(f.start(1));  // caches rev 4
  auto same = f.sup->live_update(kEchoRef);
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().message, errors::live_update_not_newer(4, 4));
  EXPECT_TRUE(f.events.of(ev::kActorUpdated).empty());
}

TEST(ActorSupervisor, LiveUpdateReplacesTheModuleOfEveryInstance) {
  Fixture f;
  const std::string old_ref = "registry.test/echo:0.3.3";
  f.registry[old_ref] = fixture("echo.wasm");
  ASSERT_TRUE(f.start(2, {}, old_ref));
  // The lattice knew an older revision of the actor.
  f.metadata->put_claims(kEchoKey, json{{"sub", kEchoKey}, {"rev", "3"}});
  ASSERT_TRUE(f.sup->live_update(kEchoRef));
  EXPECT_EQ(f.loads, 2);
  auto updated = f.events.of(ev::kActorUpdated);
  ASSERT_EQ(updated.size(), 2u);
  EXPECT_EQ(updated[0].data["revision"], 4);
  const auto snap = f.sup->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  for (const auto& i : snap[0].instances) {
    EXPECT_EQ(i.image_ref, kEchoRef);
    EXPECT_EQ(i.revision, 4);
  }
  EXPECT_EQ(f.metadata->resolve_reference(kEchoRef), kEchoKey);
}

// ------------------------------------------------------------------ RPC slots

TEST(ActorSupervisor, AtMostCountInvocationsRunTheRestWaitInOrder) {
  Fixture f;
  ASSERT_TRUE(f.start(2));
  for (int i = 0; i < 3; ++i) f.sup->admit(kEchoKey, message());
  EXPECT_EQ(f.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{2, 1}));
  EXPECT_EQ(f.rpc_tasks.size(), 2u);
  f.run_one_rpc_task();  // finishes, frees its slot, the queued one is posted
  EXPECT_EQ(f.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{2, 0}));
  EXPECT_EQ(f.rpc_tasks.size(), 2u);
  f.run_one_rpc_task();
  f.run_one_rpc_task();
  EXPECT_EQ(f.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{0, 0}));
  ASSERT_EQ(f.ran.size(), 3u);
  // Round robin over the two instances.
  EXPECT_NE(f.ran[0].instance_id, f.ran[1].instance_id);
  EXPECT_EQ(f.ran[0].instance_id, f.ran[2].instance_id);
  EXPECT_EQ(f.ran[0].actor_key, kEchoKey);
  ASSERT_TRUE(f.ran[0].claims.caps);
  EXPECT_TRUE(f.ran[0].module);
}

TEST(ActorSupervisor, InvocationsForAStoppedActorAreAnsweredNotRunning) {
  Fixture f;
  f.sup->admit(kEchoKey, message());
  EXPECT_EQ(f.not_running, std::vector<std::string>{kEchoKey});
  ASSERT_TRUE(f.start(1));
  f.sup->admit(kEchoKey, message());  // runs
  f.sup->admit(kEchoKey, message());  // waits
  f.sup->stop(kEchoKey, 0, {});
  EXPECT_EQ(f.not_running.size(), 2u);  // the waiting one, answered at once
  f.run_one_rpc_task();                 // the running one completes normally
  EXPECT_EQ(f.ran.size(), 1u);
  EXPECT_EQ(f.not_running.size(), 2u);
}

TEST(ActorSupervisor, RefusedPostGivesTheSlotBack) {
  Fixture f;
  ASSERT_TRUE(f.start(1));
  f.refuse_posts = true;  // a pool that is shut down refuses the task
  f.sup->admit(kEchoKey, message());
  EXPECT_EQ(f.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{0, 0}));
  f.refuse_posts = false;
  f.sup->admit(kEchoKey, message());  // the slot is free again
  EXPECT_EQ(f.sup->load_of(kEchoKey).first, 1u);
  EXPECT_EQ(f.rpc_tasks.size(), 1u);
}

// ------------------------------------------------------------------ in-process invocations

/// A LocalInvocation that records its outcome.
struct LocalCall {
  std::shared_ptr<LocalInvocation> inv = std::make_shared<LocalInvocation>();
  std::shared_ptr<std::optional<Result<Bytes>>> out =
      std::make_shared<std::optional<Result<Bytes>>>();
  explicit LocalCall(std::size_t payload = 1, std::chrono::steady_clock::time_point deadline =
                                                  std::chrono::steady_clock::time_point::max()) {
    inv->operation = "HttpServer.HandleRequest";
    inv->payload.assign(payload, 'x');
    inv->deadline = deadline;
    inv->done = [o = out](Result<Bytes> r) { *o = std::move(r); };
  }
};

TEST(ActorSupervisor, LocalInvocationsTakeSlotsAndAnActorWithoutInstancesIsNotTakenOn) {
  Fixture f;
  LocalCall absent;
  EXPECT_FALSE(f.sup->admit_local(kEchoKey, absent.inv));
  EXPECT_FALSE(absent.out->has_value());  // untouched: the caller goes to the lattice
  ASSERT_TRUE(f.start(1));
  LocalCall first, second;
  EXPECT_TRUE(f.sup->admit_local(kEchoKey, first.inv));
  EXPECT_TRUE(f.sup->admit_local(kEchoKey, second.inv));
  EXPECT_EQ(f.sup->load_of(kEchoKey), (std::pair<std::size_t, std::size_t>{1, 1}));
  f.run_one_rpc_task();
  f.run_one_rpc_task();
  ASSERT_TRUE(first.out->has_value() && second.out->has_value());
  EXPECT_EQ(**first.out, (Bytes{'o', 'k'}));
  EXPECT_EQ(**second.out, (Bytes{'o', 'k'}));
  EXPECT_EQ(f.ran.size(), 2u);
}

TEST(ActorSupervisor, AQueuedLocalInvocationPastItsDeadlineIsAnsweredWithoutRunning) {
  Fixture f;
  ASSERT_TRUE(f.start(1));
  LocalCall busy;
  LocalCall late(1, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
  ASSERT_TRUE(f.sup->admit_local(kEchoKey, busy.inv));
  ASSERT_TRUE(f.sup->admit_local(kEchoKey, late.inv));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  f.run_one_rpc_task();  // busy runs; late is posted
  f.run_one_rpc_task();  // late: past its deadline
  ASSERT_TRUE(late.out->has_value());
  ASSERT_FALSE(**late.out);
  EXPECT_EQ((*late.out)->error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(f.ran.size(), 1u);  // only busy ran the guest
}

TEST(ActorSupervisor, TheQueueOfLocalInvocationsIsBounded) {
  Fixture f;
  ASSERT_TRUE(f.start(1));
  LocalCall running;
  ASSERT_TRUE(f.sup->admit_local(kEchoKey, running.inv));
  std::vector<LocalCall> queued(ActorSupervisor::kMaxQueuedLocal);
  for (auto& c : queued) ASSERT_TRUE(f.sup->admit_local(kEchoKey, c.inv));
  LocalCall over;
  EXPECT_TRUE(f.sup->admit_local(kEchoKey, over.inv));
  ASSERT_TRUE(over.out->has_value());
  ASSERT_FALSE(**over.out);
  EXPECT_EQ((*over.out)->error().code, Code::kResourceExhausted);
  EXPECT_EQ((*over.out)->error().message, errors::kTooManyQueued);
  EXPECT_FALSE(queued.back().out->has_value());  // the queued ones wait
  // Bytes bound too: one payload that does not fit is refused although the count allows it.
  f.sup->stop(kEchoKey, 0, {});  // the queued ones are told "not running"
  EXPECT_TRUE(queued.front().out->has_value());
  ASSERT_TRUE(f.start(1));
  LocalCall again;
  ASSERT_TRUE(f.sup->admit_local(kEchoKey, again.inv));
  LocalCall huge(ActorSupervisor::kMaxQueuedLocalBytes + 1);
  EXPECT_TRUE(f.sup->admit_local(kEchoKey, huge.inv));
  ASSERT_TRUE(huge.out->has_value());
  EXPECT_EQ((*huge.out)->error().code, Code::kResourceExhausted);
}

}  // namespace
}  // namespace wc::host
