// The wasmbus ABI and WASI on the native tier: the same guests give the same outcome (response
// bytes or error code + text), the same host calls and the same guest log lines as on the
// interpreter — host calls that succeed and fail, guest errors, the `wapc` module name, WASI
// stdout/stderr, proc_exit, `_initialize`/`_start`, i64 WASI arguments, memory.grow seen by the
// host. Fails when a C compiler exists and native code did not run.
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "native_test_util.h"

namespace wc::wasm {
namespace {

using testing::abi_guest;
using testing::outcome;

struct Case {
  const char* name;
  std::string wat;
  std::string op;
  Bytes payload;
  bool succeeds;  ///< whether the invocation is expected to succeed (on both tiers)
};

// host_call("default", "wasmcloud:test", "Op.Name", payload) then answers the host response,
// or the host error text when the call failed.
const char* kCallOut =
    "(data (i32.const 512) \"defaultwasmcloud:testOp.Name\")"
    "(func $call_out (param $pl_len i32) (result i32)"
    "  (local $ok i32) (local $n i32)"
    "  (local.set $ok (call $host_call (i32.const 512) (i32.const 7) (i32.const 519) (i32.const 14)"
    "     (i32.const 533) (i32.const 7) (i32.const 2048) (local.get $pl_len)))"
    "  (if (local.get $ok)"
    "    (then (local.set $n (call $hr_len)) (call $hr (i32.const 4096))"
    "          (call $resp (i32.const 4096) (local.get $n)))"
    "    (else (local.set $n (call $he_len)) (call $he (i32.const 4096))"
    "          (call $err (i32.const 4096) (local.get $n))))"
    "  (local.get $ok))";
const char* kCallOutBody =
    "(call $req (i32.const 1024) (i32.const 2048)) (call $call_out (local.get $pl_len))";

const char* kWasiGuest = R"((module
  (import "wasmbus" "__guest_request" (func $req (param i32 i32)))
  (import "wasmbus" "__guest_response" (func $resp (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write0 (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello from wasi\n")
  (func (export "__guest_call") (param $op_len i32) (param $pl_len i32) (result i32)
    (call $req (i32.const 1024) (i32.const 2048))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (drop (call $fd_write0 (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 100) (call $args_sizes (i32.const 104) (i32.const 108)))
    (i32.store (i32.const 112) (call $fd_seek (i32.const 1) (i64.const -5) (i32.const 0) (i32.const 116)))
    (if (i32.eq (local.get $pl_len) (i32.const 1)) (then (call $proc_exit (i32.const 3))))
    (call $resp (i32.const 100) (i32.const 20))
    (i32.const 1)))
)";

const char* kInitGuest = R"((module
  (import "wasmbus" "__guest_response" (func $resp (param i32 i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 1))
  (func (export "_initialize") (global.set $g (i32.add (global.get $g) (i32.const 10))))
  (func (export "_start") (global.set $g (i32.mul (global.get $g) (i32.const 3))))
  (func (export "__guest_call") (param i32 i32) (result i32)
    (i32.store (i32.const 0) (global.get $g))
    (global.set $g (i32.add (global.get $g) (i32.const 1000)))
    (call $resp (i32.const 0) (i32.const 4))
    (i32.const 1)))
)";

std::vector<Case> cases() {
  return {
      {"echo", abi_guest(testing::echo_body()), "Echo.Op", Bytes{1, 2, 3}, true},
      {"wapc_echo", abi_guest(testing::echo_body(), "", "wapc"), "Echo.Op", Bytes{4, 5}, true},
      {"host_call_ok", abi_guest(kCallOutBody, kCallOut), "x", Bytes{'o', 'k'}, true},
      {"host_call_fails", abi_guest(kCallOutBody, kCallOut), "x", Bytes{'n', 'o'}, false},
      {"guest_error",
       abi_guest("(call $err (i32.const 0) (i32.const 5)) (i32.const 0)",
                 "(data (i32.const 0) \"boom!\")"),
       "x",
       {},
       false},
      {"return_code_7", abi_guest("(i32.const 7)"), "x", {}, false},
      {"second_guest_request",
       abi_guest("(call $req (i32.const 1024) (i32.const 2048))"
                 "(call $req (i32.const 1024) (i32.const 2048)) (i32.const 1)"),
       "x",
       {},
       false},
      {"host_response_without_call",
       abi_guest("(call $hr (i32.const 0)) (i32.const 1)"),
       "x",
       {},
       false},
      {"grow_then_request_high",
       abi_guest("(drop (memory.grow (i32.const 2)))"
                 "(call $req (i32.const 150000) (i32.const 160000))"
                 "(call $resp (i32.const 160000) (local.get $pl_len)) (i32.const 1)"),
       "x", Bytes{9, 8, 7}, true},
      {"wasi", kWasiGuest, "x", Bytes{}, true},
      {"wasi_proc_exit", kWasiGuest, "x", Bytes{1}, false},
      {"initialize_then_start_every_call", kInitGuest, "x", {}, true},
  };
}

struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  HostCallHandler host() {
    return [this](const HostCall& c) -> Result<Bytes> {
      add("call " + std::string(c.binding) + "|" + std::string(c.ns) + "|" +
          std::string(c.operation) + "|" + hex_lower(c.payload));
      if (to_string(c.payload) == "ok") return Bytes{'r', 'e', 's', 'u', 'l', 't'};
      return fail(Code::kUnavailable, "provider said no");
    };
  }
  LogHandler log() {
    return [this](std::string_view stream, std::string_view text) {
      add("log " + std::string(stream) + "|" + std::string(text));
    };
  }
  void add(std::string e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
};

class NativeAbi : public ::testing::TestWithParam<std::size_t> {};

TEST_P(NativeAbi, SameOutcomeCallsAndLogsAsInterpreter) {
  const Case c = cases()[GetParam()];
  SCOPED_TRACE(c.name);
  auto bytes = testing::wat(c.wat);
  ASSERT_FALSE(bytes.empty());
  auto interp = testing::make_engine();
  auto native = testing::make_native_engine(testing::native_cache_dir("abi"));
  auto im = interp->load(bytes);
  auto nm = native->load(bytes);
  ASSERT_TRUE(im.has_value()) << im.error().to_string();
  ASSERT_TRUE(nm.has_value()) << nm.error().to_string();
  const bool on_native = testing::require_native(**nm);
  for (int round = 0; round < 2; ++round) {  // fresh instances: the same answer twice
    Recorder ri, rn;
    auto a = (*im)->invoke(c.op, c.payload, ri.host(), ri.log());
    auto b = (*nm)->invoke(c.op, c.payload, rn.host(), rn.log());
    EXPECT_EQ(outcome(a), outcome(b));
    EXPECT_EQ(b.has_value(), c.succeeds) << outcome(b);
    EXPECT_EQ(ri.events, rn.events);
    if (b && on_native) {
      EXPECT_EQ(b->tier, Tier::kNative);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, NativeAbi, ::testing::Range<std::size_t>(0, cases().size()),
                         [](const auto& param_info) {
                           return std::string(cases()[param_info.param].name);
                         });

TEST(NativeAbiReuse, GuestStateSurvivesOnlyInReuseMode) {
  auto bytes = testing::wat(kInitGuest);
  for (bool reuse : {false, true}) {
    SCOPED_TRACE(reuse ? "reuse" : "fresh");
    auto interp = testing::make_engine({}, false, reuse);
    auto native = testing::make_native_engine(testing::native_cache_dir("abi"), {}, reuse);
    auto im = interp->load(bytes);
    auto nm = native->load(bytes);
    ASSERT_TRUE(im && nm);
    testing::require_native(**nm);
    for (int i = 0; i < 3; ++i) {
      auto a = (*im)->invoke("x", {}, testing::no_host_calls());
      auto b = (*nm)->invoke("x", {}, testing::no_host_calls());
      EXPECT_EQ(outcome(a), outcome(b)) << "call " << i;
    }
  }
}

}  // namespace
}  // namespace wc::wasm

namespace wc::wasm {
namespace {

// A wasm start section without imports runs once, into the template every instance copies.
TEST(NativeStartSection, StartWithoutImportsRunsOnNative) {
  const std::string extra =
      "(global $g (mut i32) (i32.const 1))"
      "(func $init (global.set $g (i32.add (global.get $g) (i32.const 41))))"
      "(start $init)";
  const std::string body =
      "(i32.store (i32.const 0) (global.get $g))"
      "(global.set $g (i32.const 0))"
      "(call $resp (i32.const 0) (i32.const 4)) (i32.const 1)";
  auto bytes = testing::wat(abi_guest(body, extra));
  auto interp = testing::make_engine();
  auto native = testing::make_native_engine(testing::native_cache_dir("abi"));
  auto im = interp->load(bytes);
  auto nm = native->load(bytes);
  ASSERT_TRUE(im && nm);
  const bool on_native = testing::require_native(**nm);
  for (int i = 0; i < 2; ++i) {
    auto a = (*im)->invoke("x", {}, testing::no_host_calls());
    auto b = (*nm)->invoke("x", {}, testing::no_host_calls());
    ASSERT_TRUE(b.has_value()) << b.error().to_string();
    EXPECT_EQ(b->response, (Bytes{42, 0, 0, 0}));
    EXPECT_EQ(outcome(a), outcome(b));
    if (on_native) {
      EXPECT_EQ(b->tier, Tier::kNative);
    }
  }
}

// A start section that calls an import cannot be captured in a template: the module stays on
// the interpreter (a documented limit of the native tier) and still answers like it.
TEST(NativeStartSection, StartCallingAnImportStaysOnTheInterpreter) {
  const std::string extra =
      "(func $init (call $resp (i32.const 0) (i32.const 0)))"
      "(start $init)";
  auto bytes = testing::wat(abi_guest(testing::echo_body(), extra));
  auto interp = testing::make_engine();
  auto native = testing::make_native_engine(testing::native_cache_dir("abi"));
  auto im = interp->load(bytes);
  auto nm = native->load(bytes);
  ASSERT_TRUE(im && nm);
  EXPECT_FALSE((*nm)->wait_native(std::chrono::seconds(120)));
  auto a = (*im)->invoke("x", Bytes{1}, testing::no_host_calls());
  auto b = (*nm)->invoke("x", Bytes{1}, testing::no_host_calls());
  EXPECT_EQ(outcome(a), outcome(b));
  if (b) {
    EXPECT_EQ(b->tier, Tier::kInterpreter);
  }
}

// A data segment past the memory end fails instantiation on both tiers alike.
TEST(NativeStartSection, DataSegmentOutOfBoundsFailsLikeTheInterpreter) {
  auto bytes = testing::wat(abi_guest(testing::echo_body(), "(data (i32.const 65534) \"abcd\")"),
                            /*validate=*/true);
  auto interp = testing::make_engine();
  auto native = testing::make_native_engine(testing::native_cache_dir("abi"));
  auto im = interp->load(bytes);
  auto nm = native->load(bytes);
  if (!im) {
    ASSERT_FALSE(nm.has_value());
    EXPECT_EQ(im.error().message, nm.error().message);
    return;
  }
  ASSERT_TRUE(nm.has_value());
  (*nm)->wait_native(std::chrono::seconds(120));
  auto a = (*im)->invoke("x", {}, testing::no_host_calls());
  auto b = (*nm)->invoke("x", {}, testing::no_host_calls());
  EXPECT_FALSE(b.has_value());
  EXPECT_EQ(outcome(a), outcome(b));
}

}  // namespace
}  // namespace wc::wasm
