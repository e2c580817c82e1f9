// wasmbus ABI semantics (spec 1.2, 1.3, 1.5): outcome rules 7.1-7.5, host calls and their
// response/error hand-over, UTF-8 checks, init exports, instance freshness and reuse.
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "wasm/abi.h"
#include "wasm_test_util.h"

namespace wc::wasm {
namespace {

using testing::abi_guest;
using testing::echo_body;
using testing::make_engine;
using testing::no_host_calls;
using testing::wat;

std::shared_ptr<Module> load(const std::string& text, bool reuse = false) {
  auto module = make_engine({}, false, reuse)->load(wat(text));
  EXPECT_TRUE(module.has_value()) << module.error().to_string();
  return module ? *module : nullptr;
}

// Data at 0: "oops" (4), "ok" at 8 (2), "\xff\xfe" at 16 (invalid UTF-8), "bind" at 32,
// "wasmcloud:keyvalue" at 48 (18), "KeyValue.Get" at 80 (12), payload "a3 66 6f 6f" at 96 (4).
const std::string kData =
    "(data (i32.const 0) \"oops\") (data (i32.const 8) \"ok\") (data (i32.const 16) \"\\ff\\fe\")"
    "(data (i32.const 32) \"bind\") (data (i32.const 48) \"wasmcloud:keyvalue\")"
    "(data (i32.const 80) \"KeyValue.Get\") (data (i32.const 96) \"\\a3\\66\\6f\\6f\")";
const std::string kHostCall =
    "(call $host_call (i32.const 32) (i32.const 4) (i32.const 48) (i32.const 18)"
    " (i32.const 80) (i32.const 12) (i32.const 96) (i32.const 4))";

TEST(Abi, GuestErrorFailsTheCallEvenWhenItReturnsOne) {  // 7.2
  auto m = load(abi_guest("(call $err (i32.const 0) (i32.const 4)) (i32.const 1)", kData));
  auto out = m->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kActorError);
  EXPECT_EQ(out.error().message, "oops");
}

TEST(Abi, ReturnCodeOtherThanOneFails) {  // 7.4
  for (int rc : {0, 2, -1}) {
    auto m = load(abi_guest(
        "(call $resp (i32.const 8) (i32.const 2)) (i32.const " + std::to_string(rc) + ")", kData));
    auto out = m->invoke("x", {}, no_host_calls());
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().code, Code::kActorError);
    EXPECT_EQ(out.error().message, "operation failed with exit code `" + std::to_string(rc) + "`");
  }
}

TEST(Abi, SuccessWithoutGuestResponseIsEmpty) {  // 7.5
  auto m = load(abi_guest("(i32.const 1)"));
  auto out = m->invoke("x", as_bytes("payload"), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_TRUE(out->response.empty());
}

TEST(Abi, LastGuestResponseWins) {
  auto m = load(
      abi_guest("(call $resp (i32.const 0) (i32.const 4)) (call $resp (i32.const 8) (i32.const 2))"
                " (i32.const 1)",
                kData));
  auto out = m->invoke("x", {}, no_host_calls());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(to_string(out->response), "ok");
}

TEST(Abi, GuestRequestCopiesOperationAndPayload) {
  auto m = load(abi_guest(echo_body()));
  const Bytes payload{1, 2, 0, 3};
  auto out = m->invoke("HttpServer.HandleRequest", payload, no_host_calls());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->response, (Bytes{1, 2, 0, 3}));
  // and the operation name: respond with the op bytes instead
  auto m2 =
      load(abi_guest("(call $req (i32.const 1024) (i32.const 2048))"
                     " (call $resp (i32.const 1024) (local.get $op_len)) (i32.const 1)"));
  auto out2 = m2->invoke("HttpServer.HandleRequest", {}, no_host_calls());
  ASSERT_TRUE(out2.has_value());
  EXPECT_EQ(to_string(out2->response), "HttpServer.HandleRequest");
}

TEST(Abi, InvalidUtf8GuestErrorTraps) {
  auto m = load(abi_guest("(call $err (i32.const 16) (i32.const 2)) (i32.const 0)", kData));
  auto out = m->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kTrap);
  EXPECT_NE(out.error().message.find("UTF-8"), std::string::npos) << out.error().message;
}

TEST(Abi, HostCallPassesItsArgumentsAndTheGuestReadsTheResponse) {
  // Host call; on 1 read the response into 512 and return it as the guest response.
  auto m = load(abi_guest(
      "(if (i32.ne " + kHostCall +
          " (i32.const 1)) (then (return (i32.const 0))))"
          " (call $hr (i32.const 512)) (call $resp (i32.const 512) (call $hr_len)) (i32.const 1)",
      kData));
  std::string binding, ns, op;
  Bytes payload;
  auto handler = [&](const HostCall& c) -> Result<Bytes> {
    binding = c.binding;
    ns = c.ns;
    op = c.operation;
    payload.assign(c.payload.begin(), c.payload.end());
    return Bytes{0x82, 0xa5, 'v', 'a', 'l', 'u', 'e'};
  };
  auto out = m->invoke("x", {}, handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(binding, "bind");
  EXPECT_EQ(ns, "wasmcloud:keyvalue");
  EXPECT_EQ(op, "KeyValue.Get");
  EXPECT_EQ(payload, (Bytes{0xa3, 0x66, 0x6f, 0x6f}));
  // __host_response consumed the response, so __host_response_len is now 0 -> empty response.
  EXPECT_TRUE(out->response.empty());
}

TEST(Abi, HostResponseIsReadableBeforeItIsConsumed) {
  auto m = load(abi_guest("(drop " + kHostCall +
                              ") (i32.store (i32.const 600) (call $hr_len))"
                              " (call $hr (i32.const 512)) (call $resp (i32.const 512)"
                              " (i32.load (i32.const 600))) (i32.const 1)",
                          kData));
  auto out = m->invoke("x", {}, [](const HostCall&) -> Result<Bytes> { return Bytes{7, 8, 9}; });
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, (Bytes{7, 8, 9}));
}

TEST(Abi, FailedHostCallReturnsZeroAndTheGuestReadsTheError) {
  // Respond with: the host call's return value (4 bytes) then the host error text.
  auto m2 = load(abi_guest("(i32.store (i32.const 512) " + kHostCall +
                               ") (i32.store (i32.const 508) (call $he_len))"
                               " (call $he (i32.const 516))"
                               " (call $resp (i32.const 512) (i32.add (i32.const 4)"
                               " (i32.load (i32.const 508)))) (i32.const 1)",
                           kData));
  auto handler = [](const HostCall&) -> Result<Bytes> {
    return fail(Code::kUnavailable, "Host call function failed: no route");
  };
  auto out = m2->invoke("x", {}, handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  const std::string text = "Host call function failed: no route";
  Bytes expect{0, 0, 0, 0};
  expect.insert(expect.end(), text.begin(), text.end());
  EXPECT_EQ(out->response, expect);
}

TEST(Abi, AThrowingHandlerBecomesAHostError) {
  auto m = load(abi_guest("(drop " + kHostCall + ") (i32.const 1)", kData));
  auto out = m->invoke("x", {},
                       [](const HostCall&) -> Result<Bytes> { throw std::runtime_error("boom"); });
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kActorError);
  EXPECT_EQ(out.error().message, "host call handler failed: boom");
}

TEST(Abi, UnconsumedHostErrorFailsTheCall) {  // 7.3
  auto m = load(abi_guest("(drop " + kHostCall + ") (i32.const 1)", kData));
  auto out = m->invoke("x", {}, [](const HostCall&) -> Result<Bytes> {
    return fail(Code::kUnavailable, "no link");
  });
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kActorError);
  EXPECT_EQ(out.error().message, "no link");
}

TEST(Abi, GuestErrorTakesPrecedenceOverAPendingHostError) {  // 7.2 before 7.3
  auto m = load(abi_guest("(drop " + kHostCall +
                              ") (call $err (i32.const 0) (i32.const 4))"
                              " (i32.const 0)",
                          kData));
  auto out = m->invoke("x", {}, [](const HostCall&) -> Result<Bytes> {
    return fail(Code::kUnavailable, "no link");
  });
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, "oops");
}

TEST(Abi, InvalidUtf8InHostCallNamespaceTraps) {
  auto m =
      load(abi_guest("(drop (call $host_call (i32.const 32) (i32.const 4) (i32.const 16)"
                     " (i32.const 2) (i32.const 80) (i32.const 12) (i32.const 96)"
                     " (i32.const 4))) (i32.const 1)",
                     kData));
  bool called = false;
  auto out = m->invoke("x", {}, [&](const HostCall&) -> Result<Bytes> {
    called = true;
    return Bytes{};
  });
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kTrap);
  EXPECT_NE(out.error().message.find("UTF-8"), std::string::npos) << out.error().message;
  EXPECT_FALSE(called);
}

TEST(Abi, HostCallWithOutOfBoundsPayloadTraps) {
  auto m =
      load(abi_guest("(drop (call $host_call (i32.const 32) (i32.const 4) (i32.const 48)"
                     " (i32.const 18) (i32.const 80) (i32.const 12) (i32.const 65500)"
                     " (i32.const 100))) (i32.const 1)",
                     kData));
  auto out = m->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, "out of bounds memory access");
}

TEST(Abi, ConsoleLogReachesTheLogHandler) {
  auto m = load(
      "(module (import \"wasmbus\" \"__console_log\" (func $log (param i32 i32)))"
      " (memory (export \"memory\") 1) (data (i32.const 0) \"hello console\")"
      " (func (export \"__guest_call\") (param i32 i32) (result i32)"
      "   (call $log (i32.const 0) (i32.const 13)) (i32.const 1)))");
  std::vector<std::pair<std::string, std::string>> logs;
  auto out = m->invoke("x", {}, no_host_calls(),
                       [&](std::string_view s, std::string_view t) { logs.emplace_back(s, t); });
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].first, "console");
  EXPECT_EQ(logs[0].second, "hello console");
}

// A guest with a counter global: `_initialize` sets it to 10, `_start` multiplies by 2 when it
// is 10 (so the order shows), __guest_call adds 1 and responds with the value.
const std::string kInitGuest = abi_guest(
    "(global.set $g (i32.add (global.get $g) (i32.const 1)))"
    " (i32.store (i32.const 0) (global.get $g)) (call $resp (i32.const 0) (i32.const 4))"
    " (i32.const 1)",
    "(global $g (mut i32) (i32.const 0))"
    "(func (export \"_initialize\") (global.set $g (i32.const 10)))"
    "(func (export \"_start\") (if (i32.eq (global.get $g) (i32.const 10))"
    "  (then (global.set $g (i32.const 20)))))");

TEST(Abi, InitExportsRunInOrderOnAFreshInstanceEveryCall) {
  auto m = load(kInitGuest);
  for (int i = 0; i < 3; ++i) {
    auto out = m->invoke("x", {}, no_host_calls());
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    EXPECT_EQ(out->response, (Bytes{21, 0, 0, 0}));  // state never survives (spec 1.4)
  }
}

TEST(Abi, FreshInstancesNeverSeeEarlierState) {
  // Each call reports memory.size, the byte at 100 and what table slot 0 returns, then grows
  // memory, overwrites the byte, repoints the table and bumps a global. Every call must still see
  // the initial state (1 page, 0x11, function $one, global 5) — also on the 8 calls that run
  // concurrently.
  auto m = load(abi_guest(
      "(i32.store8 (i32.const 0) (memory.size))"
      " (i32.store8 (i32.const 1) (i32.load8_u (i32.const 100)))"
      " (i32.store8 (i32.const 2) (call_indirect $t (type $v2i) (i32.const 0)))"
      " (i32.store8 (i32.const 3) (global.get $g))"
      " (drop (memory.grow (i32.const 3)))"
      " (i32.store8 (i32.const 100) (i32.const 0xee))"
      " (i32.store8 (i32.const 200000) (i32.const 0xee))"
      " (table.set $t (i32.const 0) (ref.func $two))"
      " (global.set $g (i32.const 99))"
      " (call $resp (i32.const 0) (i32.const 4)) (i32.const 1)",
      "(type $v2i (func (result i32)))"
      "(func $one (result i32) (i32.const 1)) (func $two (result i32) (i32.const 2))"
      "(table $t 1 funcref) (elem (table $t) (i32.const 0) func $one) (elem declare func $two)"
      "(global $g (mut i32) (i32.const 5)) (data (i32.const 100) \"\\11\")"));
  ASSERT_NE(m, nullptr);
  const Bytes initial{1, 0x11, 1, 5};
  for (int i = 0; i < 4; ++i) {
    auto out = m->invoke("x", {}, no_host_calls());
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    EXPECT_EQ(out->response, initial) << "call " << i;
  }
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto out = m->invoke("x", {}, no_host_calls());
        if (out && out->response == initial) ++fresh;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 40);
}

TEST(Abi, ReusedInstancesKeepStateAndRunInitOnce) {
  auto m = load(kInitGuest, /*reuse=*/true);
  for (std::uint8_t i = 0; i < 3; ++i) {
    auto out = m->invoke("x", {}, no_host_calls());
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    EXPECT_EQ(out->response, (Bytes{static_cast<std::uint8_t>(21 + i), 0, 0, 0}));
  }
}

TEST(Abi, ReusedInstanceIsDiscardedAfterATrap) {
  auto m = load(abi_guest("(global.set $g (i32.add (global.get $g) (i32.const 1)))"
                          " (if (i32.eq (local.get $op_len) (i32.const 4)) (then unreachable))"
                          " (i32.store (i32.const 0) (global.get $g))"
                          " (call $resp (i32.const 0) (i32.const 4)) (i32.const 1)",
                          "(global $g (mut i32) (i32.const 0))"),
                /*reuse=*/true);
  EXPECT_EQ(m->invoke("x", {}, no_host_calls())->response, (Bytes{1, 0, 0, 0}));
  EXPECT_EQ(m->invoke("x", {}, no_host_calls())->response, (Bytes{2, 0, 0, 0}));
  EXPECT_FALSE(m->invoke("trap", {}, no_host_calls()).has_value());
  EXPECT_EQ(m->invoke("x", {}, no_host_calls())->response, (Bytes{1, 0, 0, 0}));
}

TEST(Abi, GuestMemorySliceIsBoundsChecked) {
  std::vector<std::uint8_t> buf(100);
  GuestMemory mem{buf.data(), buf.size()};
  EXPECT_TRUE(mem.slice(0, 100).has_value());
  EXPECT_TRUE(mem.slice(100, 0).has_value());
  EXPECT_FALSE(mem.slice(1, 100).has_value());
  EXPECT_FALSE(mem.slice(0xffffffffu, 2).has_value());
  EXPECT_EQ(mem.slice(101, 0).error().message, "out of bounds memory access");
}

TEST(Abi, AbiCallFinishAppliesTheRulesInOrder) {
  HostCallHandler h;
  LogHandler l;
  AbiCall call("op", {}, h, l);
  EXPECT_EQ(call.finish(fail(Code::kTrap, "boom")).error().message, "boom");  // 7.1
  EXPECT_EQ(call.finish(1).value(), Bytes{});                                 // 7.5
  EXPECT_EQ(call.finish(0).error().message, "operation failed with exit code `0`");
}

}  // namespace
}  // namespace wc::wasm
