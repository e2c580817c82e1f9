// Guest faults end one invocation with a clear Error and harm nothing else (DESIGN.md
// "WebAssembly execution", spec 1.5 step 7.1): traps, limits (memory cap, call depth, deadline),
// ABI misuse; concurrently on 8 threads; the next invocation succeeds.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "wasm/tier.h"
#include "wasm_test_util.h"

namespace wc::wasm {
namespace {

using testing::abi_guest;
using testing::echo_body;
using testing::make_engine;
using testing::no_host_calls;
using testing::wat;

/// A guest whose __guest_call traps when the operation is "trap" (op_len 4) and echoes otherwise.
std::string trap_or_echo(const std::string& trap_code, const std::string& extra = "") {
  return abi_guest(
      "(if (i32.eq (local.get $op_len) (i32.const 4)) (then " + trap_code + "))" + echo_body(),
      extra);
}

struct TrapCase {
  const char* name;
  std::string code;   // run when the operation is "trap"
  std::string extra;  // extra module fields
  Code expect_code;
  std::string_view expect_message;
};

std::vector<TrapCase> trap_cases() {
  return {
      {"unreachable", "(unreachable)", "", Code::kTrap, kTrapUnreachable},
      {"oob_load", "(drop (i32.load (i32.const 65534)))", "", Code::kTrap, kTrapOutOfBounds},
      {"oob_store", "(i32.store (i32.const 70000) (i32.const 1))", "", Code::kTrap,
       kTrapOutOfBounds},
      {"div_by_zero",
       "(drop (i32.div_s (i32.const 1) (i32.sub (local.get $op_len) (i32.const 4))))", "",
       Code::kTrap, kTrapDivByZero},
      {"int_overflow", "(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))", "", Code::kTrap,
       kTrapIntOverflow},
      {"stack_overflow", "(drop (call $rec (i32.const 0)))",
       "(func $rec (param i32) (result i32) (i32.add (i32.const 1) (call $rec (local.get 0))))",
       Code::kTrap, kTrapCallStack},
      {"indirect_type_mismatch", "(drop (call_indirect (type $void_to_i32) (i32.const 0)))",
       "(type $void_to_i32 (func (result i32)))"
       "(func $takes_i32 (param i32) (result i32) (local.get 0))"
       "(table 1 funcref) (elem (i32.const 0) $takes_i32)",
       Code::kTrap, kTrapIndirectType},
      {"undefined_element", "(drop (call_indirect (type $void_to_i32) (i32.const 5)))",
       "(type $void_to_i32 (func (result i32))) (table 1 funcref)", Code::kTrap,
       kTrapUndefinedElement},
      {"guest_request_oob", "(call $req (i32.const 65534) (i32.const 0)) (return (i32.const 1))",
       "", Code::kTrap, kTrapOutOfBounds},
      {"guest_request_twice",
       "(call $req (i32.const 0) (i32.const 100)) (call $req (i32.const 0) (i32.const 100))", "",
       Code::kTrap, "unexpected `__guest_request`"},
      {"guest_response_oob", "(call $resp (i32.const 65000) (i32.const 1000))", "", Code::kTrap,
       kTrapOutOfBounds},
      {"host_response_unexpected", "(call $hr (i32.const 0))", "", Code::kTrap,
       "unexpected `__host_response`"},
      {"host_error_unexpected", "(call $he (i32.const 0))", "", Code::kTrap,
       "unexpected `__host_error`"},
  };
}

class Traps : public ::testing::TestWithParam<TrapCase> {};

TEST_P(Traps, EndsTheInvocationWithAClearErrorAndTheNextOneSucceeds) {
  const auto& c = GetParam();
  for (bool reuse : {false, true}) {
    auto eng = make_engine({}, false, reuse);
    auto module = eng->load(wat(trap_or_echo(c.code, c.extra)));
    ASSERT_TRUE(module.has_value()) << module.error().to_string();
    auto bad = (*module)->invoke("trap", as_bytes("payload"), no_host_calls());
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, c.expect_code) << bad.error().to_string();
    EXPECT_EQ(bad.error().message, c.expect_message);
    auto good = (*module)->invoke("echo!", as_bytes("payload"), no_host_calls());
    ASSERT_TRUE(good.has_value()) << good.error().to_string();
    EXPECT_EQ(to_string(good->response), "payload");
  }
}

INSTANTIATE_TEST_SUITE_P(All, Traps, ::testing::ValuesIn(trap_cases()),
                         [](const ::testing::TestParamInfo<TrapCase>& p) {
                           return std::string(p.param.name);
                         });

TEST(TrapsConcurrent, EightThreadsTrappingAtOnceThenAllSucceed) {
  auto engine = make_engine();
  auto module = engine->load(wat(trap_or_echo(
      "(drop (call $rec (i32.const 0)))",
      "(func $rec (param i32) (result i32) (i32.add (i32.const 1) (call $rec (local.get 0))))")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  std::atomic<int> trapped{0}, echoed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        auto bad = (*module)->invoke("trap", as_bytes("x"), no_host_calls());
        if (!bad && bad.error().message == kTrapCallStack) ++trapped;
        auto good = (*module)->invoke("echo!", as_bytes("hi"), no_host_calls());
        if (good && to_string(good->response) == "hi") ++echoed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(trapped.load(), 32);
  EXPECT_EQ(echoed.load(), 32);
}

TEST(TrapsConcurrent, EightDifferentTrapsAtOnce) {
  auto engine = make_engine();
  auto cases = trap_cases();
  std::vector<std::shared_ptr<Module>> modules;
  for (int i = 0; i < 8; ++i) {
    auto m = engine->load(wat(trap_or_echo(cases[i].code, cases[i].extra)));
    ASSERT_TRUE(m.has_value());
    modules.push_back(*m);
  }
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto bad = modules[i]->invoke("trap", as_bytes("payload"), no_host_calls());
      if (!bad && bad.error().message == cases[i].expect_message) ++right;
      auto good = modules[i]->invoke("echo!", as_bytes("ok"), no_host_calls());
      if (good && to_string(good->response) == "ok") ++right;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), 16);
}

TEST(Limits, MemoryGrowPastTheCapReturnsMinusOne) {
  Limits limits;
  limits.max_memory_bytes = 4 * 65536;
  auto engine = make_engine(limits);
  // Responds with the 4-byte results of growing by 2 pages (ok: old size 1) then by 5 (fails: -1).
  auto module =
      engine->load(wat(abi_guest("(i32.store (i32.const 0) (memory.grow (i32.const 2)))"
                                 "(i32.store (i32.const 4) (memory.grow (i32.const 5)))"
                                 "(i32.store (i32.const 8) (memory.size))"
                                 "(call $resp (i32.const 0) (i32.const 12)) (i32.const 1)")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("grow", {}, no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, (Bytes{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0}));
}

TEST(Limits, MemoryGrowIsBoundedByTheModulesOwnMaximumToo) {
  auto engine = make_engine();
  auto module =
      engine->load(wat(abi_guest("(i32.store (i32.const 0) (memory.grow (i32.const 2)))"
                                 "(call $resp (i32.const 0) (i32.const 4)) (i32.const 1)",
                                 "", "wasmbus", 2)));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("grow", {}, no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, (Bytes{0xff, 0xff, 0xff, 0xff}));
}

TEST(Limits, InfiniteLoopStopsAtTheDeadline) {
  Limits limits;
  limits.deadline = std::chrono::milliseconds(200);
  auto engine = make_engine(limits);
  auto module = engine->load(wat(trap_or_echo("(loop $l (br $l))")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  const auto start = std::chrono::steady_clock::now();
  auto out = (*module)->invoke("trap", {}, no_host_calls());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(out.error().message, kTrapDeadline);
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::milliseconds(700));
  // Nothing keeps spinning: the thread is free and the next call succeeds at once.
  auto good = (*module)->invoke("echo!", as_bytes("after"), no_host_calls());
  ASSERT_TRUE(good.has_value()) << good.error().to_string();
  EXPECT_EQ(to_string(good->response), "after");
}

TEST(Limits, EightInfiniteLoopsAllStopAtTheDeadline) {
  Limits limits;
  limits.deadline = std::chrono::milliseconds(200);
  auto engine = make_engine(limits);
  auto module = engine->load(wat(trap_or_echo("(loop $l (br $l))")));
  ASSERT_TRUE(module.has_value());
  std::atomic<int> stopped{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto out = (*module)->invoke("trap", {}, no_host_calls());
      if (!out && out.error().code == Code::kDeadlineExceeded) ++stopped;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stopped.load(), 8);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
}

TEST(Limits, CallDepthFollowsTheConfiguredLimit) {
  // Recursion to depth 500 passes with the default limit and traps with a limit of 100.
  const std::string guest =
      abi_guest("(drop (call $down (i32.const 500))) (i32.const 1)",
                "(func $down (param i32) (result i32)"
                "  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))"
                "    (else (call $down (i32.sub (local.get 0) (i32.const 1))))))");
  auto deep = make_engine()->load(wat(guest));
  ASSERT_TRUE(deep.has_value());
  EXPECT_TRUE((*deep)->invoke("x", {}, no_host_calls()).has_value());
  Limits limits;
  limits.max_call_depth = 100;
  auto shallow = make_engine(limits)->load(wat(guest));
  ASSERT_TRUE(shallow.has_value());
  auto out = (*shallow)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, kTrapCallStack);
}

TEST(Limits, RecursionWithManyLocalsTrapsWithoutExhaustingMemory) {
  // 40000 locals per frame x 10000 frames would need ~6 GB of interpreter value stack; the depth
  // limit shrinks for such modules so the call traps as a stack overflow instead.
  std::string locals;
  for (int i = 0; i < 40000; ++i) locals += " i32";
  auto engine = make_engine();
  auto module =
      engine->load(wat(trap_or_echo("(drop (call $rec (i32.const 0)))",
                                    "(func $rec (param i32) (result i32) (local" + locals +
                                        ") (i32.add (i32.const 1) (call $rec (local.get 0))))")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("trap", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, kTrapCallStack);
  EXPECT_TRUE((*module)->invoke("echo!", {}, no_host_calls()).has_value());
}

TEST(Limits, StartSectionLoopStopsAtTheDeadline) {
  Limits limits;
  limits.deadline = std::chrono::milliseconds(150);
  auto engine = make_engine(limits);
  auto module =
      engine->load(wat(abi_guest(echo_body(), "(func $spin (loop $l (br $l))) (start $spin)")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kDeadlineExceeded);
}

}  // namespace
}  // namespace wc::wasm
