// Guest faults on the native tier: each ends the invocation with the same error (code and tier.h
// text) as on the interpreter, 8 threads trapping at once harm nothing, and the next invocation
// of the same module succeeds. Fails when a C compiler exists and native code did not run.
// Also the fresh-instance pool (NativeMemoryPool.*): a fresh instance starts from the template
// (size, data, globals, zeros) whatever earlier instances did to the same pooled memory, its
// bounds are its current size, the cap holds, and no protection changes on the way (this binary
// interposes mprotect and madvise to count the runtime's calls).
#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>

#include <thread>
#include <vector>

#include "native_test_util.h"
#include "wasm/tier.h"

// The runtime (linked statically into this test) calls these instead of libc's: counted, then
// forwarded.
namespace {
std::atomic<int> g_mprotect_calls{0};
std::atomic<int> g_madvise_calls{0};
}  // namespace

extern "C" int mprotect(void* addr, size_t len, int prot) noexcept {
  using Fn = int (*)(void*, size_t, int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "mprotect"));
  g_mprotect_calls.fetch_add(1, std::memory_order_relaxed);
  return real(addr, len, prot);
}

extern "C" int madvise(void* addr, size_t len, int advice) noexcept {
  using Fn = int (*)(void*, size_t, int);
  static const Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "madvise"));
  g_madvise_calls.fetch_add(1, std::memory_order_relaxed);
  return real(addr, len, advice);
}

namespace wc::wasm {
namespace {

using testing::abi_guest;
using testing::outcome;

// A guest whose "ok" operation echoes and whose other operations run `fault`.
std::string faulting_guest(const std::string& fault, const std::string& extra = "",
                           int max_pages = 0) {
  // Operation names: "ok" (2 bytes) echoes; anything else faults.
  return abi_guest(
      "(if (i32.ne (local.get $op_len) (i32.const 2)) (then " + fault + "))" + testing::echo_body(),
      extra, "wasmbus", max_pages);
}

struct TrapCase {
  const char* name;
  std::string wat;
  Code code;
  std::string_view message;
  Limits limits;
};

Limits short_deadline() {
  Limits l;
  l.deadline = std::chrono::milliseconds(300);
  return l;
}
Limits small_cap() {
  Limits l;
  l.max_memory_bytes = 2 * 65536;
  return l;
}

const char* kRecursion =
    "(func $rec (param i32) (result i32)"
    "  (i32.store (i32.const 16) (call $rec (i32.add (local.get 0) (i32.load (i32.const 8)))))"
    "  (i32.add (i32.load (i32.const 16)) (i32.const 1)))";
const char* kTable =
    "(type $v_i (func (result i32)))"
    "(table 3 funcref) (elem (i32.const 0) $takes_i32 $gives_i32)"
    "(func $takes_i32 (param i32))"
    "(func $gives_i32 (result i32) (i32.const 5))";

std::vector<TrapCase> cases() {
  return {
      {"unreachable", faulting_guest("unreachable"), Code::kTrap, kTrapUnreachable, {}},
      {"oob_load",
       faulting_guest("(drop (i32.load (i32.const 70000)))"),
       Code::kTrap,
       kTrapOutOfBounds,
       {}},
      {"oob_store",
       faulting_guest("(i32.store (i32.add (local.get $pl_len) (i32.const 65535)) (i32.const 1))"),
       Code::kTrap,
       kTrapOutOfBounds,
       {}},
      {"oob_huge_offset",
       faulting_guest("(drop (i64.load offset=4000000000 (local.get $pl_len)))"),
       Code::kTrap,
       kTrapOutOfBounds,
       {}},
      {"div_by_zero",
       faulting_guest("(drop (i32.div_s (i32.const 1) (local.get $pl_len)))"),
       Code::kTrap,
       kTrapDivByZero,
       {}},
      {"int_overflow",
       faulting_guest(
           "(drop (i32.div_s (i32.const 0x80000000) (i32.sub (local.get $pl_len) (i32.const 1))))"),
       Code::kTrap,
       kTrapIntOverflow,
       {}},
      {"stack_overflow",
       faulting_guest("(drop (call $rec (i32.const 0)))", kRecursion),
       Code::kTrap,
       kTrapCallStack,
       {}},
      {"indirect_type_mismatch",
       faulting_guest("(drop (call_indirect (type $v_i) (i32.const 0)))", kTable),
       Code::kTrap,
       kTrapIndirectType,
       {}},
      {"indirect_undefined_element",
       faulting_guest("(drop (call_indirect (type $v_i) (i32.const 7)))", kTable),
       Code::kTrap,
       kTrapUndefinedElement,
       {}},
      {"indirect_uninitialized_element",
       faulting_guest("(drop (call_indirect (type $v_i) (i32.const 2)))", kTable),
       Code::kTrap,
       kTrapUninitializedElement,
       {}},
      {"infinite_loop", faulting_guest("(loop $l (br $l))"), Code::kDeadlineExceeded, kTrapDeadline,
       short_deadline()},
      {"guest_request_oob",
       faulting_guest("(call $req (i32.const 65534) (i32.const 0))"),
       Code::kTrap,
       kTrapOutOfBounds,
       {}},
  };
}

class NativeTraps : public ::testing::TestWithParam<std::size_t> {};

TEST_P(NativeTraps, SameErrorAsInterpreterAndNextCallSucceeds) {
  const TrapCase c = cases()[GetParam()];
  SCOPED_TRACE(c.name);
  auto bytes = testing::wat(c.wat);
  ASSERT_FALSE(bytes.empty());
  auto interp = testing::make_engine(c.limits);
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"), c.limits);
  auto im = interp->load(bytes);
  auto nm = native->load(bytes);
  ASSERT_TRUE(im.has_value()) << im.error().to_string();
  ASSERT_TRUE(nm.has_value()) << nm.error().to_string();
  const bool on_native = testing::require_native(**nm);
  const Bytes payload{'p', 'a', 'y'};
  // Payload length 0 drives the div-by-zero and overflow cases; the op name "bad" faults.
  auto a = (*im)->invoke("bad", {}, testing::no_host_calls());
  const auto t0 = std::chrono::steady_clock::now();
  auto b = (*nm)->invoke("bad", {}, testing::no_host_calls());
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code, c.code) << b.error().to_string();
  EXPECT_EQ(b.error().message, c.message);
  EXPECT_EQ(outcome(a), outcome(b));
  if (c.code == Code::kDeadlineExceeded) {
    EXPECT_LT(took, std::chrono::seconds(2));
  }
  auto ok = (*nm)->invoke("ok", payload, testing::no_host_calls());
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_EQ(ok->response, payload);
  if (on_native) {
    EXPECT_EQ(ok->tier, Tier::kNative);
  }
}

TEST_P(NativeTraps, EightThreadsTrapAtOnce) {
  const TrapCase c = cases()[GetParam()];
  SCOPED_TRACE(c.name);
  auto bytes = testing::wat(c.wat);
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"), c.limits);
  auto nm = native->load(bytes);
  ASSERT_TRUE(nm.has_value());
  const bool on_native = testing::require_native(**nm);
  std::atomic<int> right{0}, wrong{0}, healthy{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < (c.code == Code::kDeadlineExceeded ? 1 : 5); ++i) {
        auto b = (*nm)->invoke("bad", {}, testing::no_host_calls());
        (!b && b.error().code == c.code && b.error().message == c.message ? right : wrong)
            .fetch_add(1);
        auto ok = (*nm)->invoke("ok", Bytes{1, 2}, testing::no_host_calls());
        if (ok && ok->response == Bytes{1, 2} && (!on_native || ok->tier == Tier::kNative))
          healthy.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const int n = 8 * (c.code == Code::kDeadlineExceeded ? 1 : 5);
  EXPECT_EQ(right.load(), n);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(healthy.load(), n);
}

INSTANTIATE_TEST_SUITE_P(All, NativeTraps, ::testing::Range<std::size_t>(0, cases().size()),
                         [](const auto& param_info) {
                           return std::string(cases()[param_info.param].name);
                         });

TEST(NativeLimits, MemoryGrowPastTheCapReturnsMinusOne) {
  // Grows by 1 page (allowed: 1 -> 2) then by 1 more (past the 2-page cap): answers both results.
  const std::string body =
      "(i32.store (i32.const 0) (memory.grow (i32.const 1)))"
      "(i32.store (i32.const 4) (memory.grow (i32.const 1)))"
      "(call $resp (i32.const 0) (i32.const 8)) (i32.const 1)";
  auto bytes = testing::wat(abi_guest(body));
  auto interp = testing::make_engine(small_cap());
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"), small_cap());
  auto im = interp->load(bytes);
  auto nm = native->load(bytes);
  ASSERT_TRUE(im && nm);
  testing::require_native(**nm);
  auto a = (*im)->invoke("x", {}, testing::no_host_calls());
  auto b = (*nm)->invoke("x", {}, testing::no_host_calls());
  ASSERT_TRUE(b.has_value()) << b.error().to_string();
  EXPECT_EQ(b->response, (Bytes{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(outcome(a), outcome(b));
}

TEST(NativeLimits, InitialMemoryOverTheCapFailsInstantiation) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  auto bytes = testing::wat(abi_guest(testing::echo_body()));
  Limits tiny;
  tiny.max_memory_bytes = 65536;
  // Through the tier directly: instantiate with a cap below the module's 1 page.
  NativeCompileRequest req;
  req.wasm = bytes;
  req.sha256_hex = hex_lower(sha256(bytes));
  req.cache_dir = testing::native_cache_dir("traps");
  auto tier = native_compile(req);
  ASSERT_TRUE(tier.has_value()) << tier.error().to_string();
  Limits zero;
  zero.max_memory_bytes = 0;
  CallContext ctx;
  auto inst = (*tier)->instantiate(zero, ctx);
  ASSERT_FALSE(inst.has_value());
  EXPECT_EQ(inst.error().code, Code::kResourceExhausted);
  EXPECT_EQ(inst.error().message, kTrapMemoryCap);
  auto fine = (*tier)->instantiate(tiny, ctx);
  EXPECT_TRUE(fine.has_value());
}

TEST(NativeLimits, DeadlineDuringAHostCallIsReportedWhenItReturns) {
  const std::string body =
      "(drop (call $host_call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)"
      " (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))"
      "(loop $l (br $l)) (i32.const 1)";
  auto bytes = testing::wat(abi_guest(body));
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"), short_deadline());
  auto nm = native->load(bytes);
  ASSERT_TRUE(nm.has_value());
  testing::require_native(**nm);
  auto slow = [](const HostCall&) -> Result<Bytes> {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return Bytes{};
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto r = (*nm)->invoke("x", {}, slow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kDeadlineExceeded);
  EXPECT_EQ(r.error().message, kTrapDeadline);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace wc::wasm

namespace wc::wasm {
namespace {

// Guest code runs on a dedicated guest stack sized from Limits::max_call_depth, so a thread
// with a small stack can run a deep guest, and the depth bound does not depend on the caller.
TEST(NativeStack, DeepRecursionOnASmallThreadStack) {
  // $down(n) recurses n times (not a tail call: it stores after the call).
  const std::string extra =
      "(func $down (param i32) (result i32)"
      "  (if (i32.eqz (local.get 0)) (then (return (i32.const 0))))"
      "  (i32.store (i32.const 16) (call $down (i32.sub (local.get 0) (i32.const 1))))"
      "  (i32.add (i32.load (i32.const 16)) (i32.const 1)))";
  const std::string body =
      "(i32.store (i32.const 0) (call $down (i32.const 5000)))"
      "(call $resp (i32.const 0) (i32.const 4)) (i32.const 1)";
  auto bytes = testing::wat(testing::abi_guest(body, extra));
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"));
  auto nm = native->load(bytes);
  ASSERT_TRUE(nm.has_value());
  const bool on_native = testing::require_native(**nm);
  Result<InvokeOutput> out = fail(Code::kInternal, "not run");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  struct Job {
    Module* m;
    Result<InvokeOutput>* out;
  } job{nm->get(), &out};
  pthread_t tid;
  ASSERT_EQ(pthread_create(
                &tid, &attr,
                [](void* p) -> void* {
                  auto* j = static_cast<Job*>(p);
                  *j->out = j->m->invoke("x", {}, testing::no_host_calls());
                  return nullptr;
                },
                &job),
            0);
  pthread_join(tid, nullptr);
  pthread_attr_destroy(&attr);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, (Bytes{0x88, 0x13, 0, 0}));  // 5000
  if (on_native) {
    EXPECT_EQ(out->tier, Tier::kNative);
  }
}

}  // namespace
}  // namespace wc::wasm

namespace wc::wasm {
namespace {

// Short-lived threads each run guest code that overflows its stack: their alternate signal
// stacks and guest stacks are set up per thread and released when the thread ends.
TEST(NativeStack, ManyShortLivedThreadsTrapAndExit) {
  const std::string extra =
      "(func $rec (param i32) (result i32)"
      "  (i32.store (i32.const 16) (call $rec (i32.add (local.get 0) (i32.const 1))))"
      "  (i32.load (i32.const 16)))";
  auto bytes =
      testing::wat(testing::abi_guest("(drop (call $rec (i32.const 0))) (i32.const 1)", extra));
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"));
  auto nm = native->load(bytes);
  ASSERT_TRUE(nm.has_value());
  testing::require_native(**nm);
  std::atomic<int> trapped{0};
  for (int round = 0; round < 10; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        auto r = (*nm)->invoke("x", {}, testing::no_host_calls());
        if (!r && r.error().message == kTrapCallStack) trapped.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(trapped.load(), 40);
}

// A fault outside guest code is not a trap: the process still dies (the handler passes it on).
TEST(NativeSignalsDeathTest, HostCrashIsNotSwallowed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto bytes = testing::wat(testing::abi_guest(testing::echo_body()));
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"));
  auto nm = native->load(bytes);
  ASSERT_TRUE(nm.has_value());
  if (!testing::require_native(**nm)) GTEST_SKIP() << "intentionally skipped: no native tier";
  EXPECT_DEATH(
      {
        // Handlers are installed by the native call; then the host itself faults.
        auto r = (*nm)->invoke("x", Bytes{1}, testing::no_host_calls());
        if (r) {
          volatile int* volatile p = nullptr;
          *p = 1;
        }
      },
      "");
}

}  // namespace
}  // namespace wc::wasm

namespace wc::wasm {
namespace {

// Memories are pooled between instances: what one instance wrote (also in pages it grew) is
// gone for the next one, and pages past the next one's size are out of bounds again.
TEST(NativeMemoryPool, NextInstanceSeesZerosAndItsOwnBounds) {
  // op "w" (1 byte): grow by 2, write 0xdeadbeef at 150000 and at 100; op "rr" (2 bytes): grow
  // by 2, answer the words at 150000 and 100; op "oob" (3 bytes): read 150000 without growing.
  const std::string body =
      "(if (i32.eq (local.get $op_len) (i32.const 3))"
      "  (then (drop (i32.load (i32.const 150000)))))"
      "(drop (memory.grow (i32.const 2)))"
      "(if (i32.eq (local.get $op_len) (i32.const 1))"
      "  (then (i32.store (i32.const 150000) (i32.const 0xdeadbeef))"
      "        (i32.store (i32.const 100) (i32.const 0xdeadbeef))))"
      "(i32.store (i32.const 200) (i32.load (i32.const 150000)))"
      "(i32.store (i32.const 204) (i32.load (i32.const 100)))"
      "(call $resp (i32.const 200) (i32.const 8)) (i32.const 1)";
  auto bytes = testing::wat(testing::abi_guest(body));
  auto native = testing::make_native_engine(testing::native_cache_dir("traps"));
  auto nm = native->load(bytes);
  ASSERT_TRUE(nm.has_value());
  const bool on_native = testing::require_native(**nm);
  for (int i = 0; i < 5; ++i) {
    auto w = (*nm)->invoke("w", {}, testing::no_host_calls());
    ASSERT_TRUE(w.has_value()) << w.error().to_string();
    EXPECT_EQ(w->response, (Bytes{0xef, 0xbe, 0xad, 0xde, 0xef, 0xbe, 0xad, 0xde}));
    auto oob = (*nm)->invoke("oob", {}, testing::no_host_calls());
    ASSERT_FALSE(oob.has_value());
    EXPECT_EQ(oob.error().message, kTrapOutOfBounds);
    auto rr = (*nm)->invoke("rr", {}, testing::no_host_calls());
    ASSERT_TRUE(rr.has_value()) << rr.error().to_string();
    EXPECT_EQ(rr->response, Bytes(8, 0));
    if (on_native) {
      EXPECT_EQ(rr->tier, Tier::kNative);
    }
  }
}

// A guest whose operations (by operation length) dirty its instance or report on it:
//   1 "w":   grow by 3 pages, overwrite the data segment word at 16, write at 65532 and 200000,
//            set the mutable global to 9;
//   3 "ggg": grow by 3 pages, then report with the word at 200000 in the last slot;
//   4 / 5:   i32.load at 65533 / i32.store8 at 65536 (just past 1 page: out of bounds);
//   6:       grow by 1, i32.load at 131069 (just past 2 pages);
//   7:       grow by 1, i32.load at 131068 (the last word of 2 pages: fine);
//   8:       grow by 40 pages and write one byte into each 4 KiB page (a large footprint);
//   9:       grow by 1100 pages (past the 64 MiB up to which a memory is kept) and write at
//            the last word;
//   other:   report.
// Report: memory.size (pages), the word at 16 (template "abcd"), the global (template 5), the
// word at 65532 (template 0).
std::string template_guest() {
  const std::string extra =
      "(global $g (mut i32) (i32.const 5))"
      "(data (i32.const 16) \"abcd\")";
  const std::string body =
      "(local $i i32)"
      "(if (i32.eq (local.get $op_len) (i32.const 1)) (then"
      "  (drop (memory.grow (i32.const 3)))"
      "  (i32.store (i32.const 16) (i32.const 0x11111111))"
      "  (i32.store (i32.const 65532) (i32.const 0x33333333))"
      "  (i32.store (i32.const 200000) (i32.const 0x22222222))"
      "  (global.set $g (i32.const 9))))"
      "(if (i32.eq (local.get $op_len) (i32.const 4)) (then"
      "  (drop (i32.load (i32.const 65533)))))"
      "(if (i32.eq (local.get $op_len) (i32.const 5)) (then"
      "  (i32.store8 (i32.const 65536) (i32.const 1))))"
      "(if (i32.eq (local.get $op_len) (i32.const 6)) (then"
      "  (drop (memory.grow (i32.const 1))) (drop (i32.load (i32.const 131069)))))"
      "(if (i32.eq (local.get $op_len) (i32.const 7)) (then"
      "  (drop (memory.grow (i32.const 1))) (drop (i32.load (i32.const 131068)))))"
      "(if (i32.eq (local.get $op_len) (i32.const 8)) (then"
      "  (drop (memory.grow (i32.const 40)))"
      "  (local.set $i (i32.const 65536))"
      "  (block $done (loop $l"
      "    (br_if $done (i32.ge_u (local.get $i) (i32.const 2686976)))"
      "    (i32.store8 (local.get $i) (i32.const 0x5a))"
      "    (local.set $i (i32.add (local.get $i) (i32.const 4096)))"
      "    (br $l)))))"
      "(if (i32.eq (local.get $op_len) (i32.const 9)) (then"
      "  (drop (memory.grow (i32.const 1100)))"
      "  (i32.store (i32.const 72155132) (i32.const 0x44444444))))"
      "(i32.store (i32.const 300) (memory.size))"
      "(i32.store (i32.const 304) (i32.load (i32.const 16)))"
      "(i32.store (i32.const 308) (global.get $g))"
      "(i32.store (i32.const 312) (i32.load (i32.const 65532)))"
      "(if (i32.eq (local.get $op_len) (i32.const 3)) (then"
      "  (drop (memory.grow (i32.const 3)))"
      "  (i32.store (i32.const 312) (i32.load (i32.const 200000)))))"
      "(call $resp (i32.const 300) (i32.const 16)) (i32.const 1)";
  return abi_guest(body, extra);
}

// The report of a pristine instance: 1 page, "abcd", 5, 0.
const Bytes kPristine{1, 0, 0, 0, 'a', 'b', 'c', 'd', 5, 0, 0, 0, 0, 0, 0, 0};

struct TemplateModules {
  std::shared_ptr<Engine> interp_engine, native_engine;
  std::shared_ptr<Module> interp, native;
  bool on_native = false;
};
TemplateModules load_template_guest(Limits limits = {}) {
  TemplateModules t;
  auto bytes = testing::wat(template_guest());
  t.interp_engine = testing::make_engine(limits);
  t.native_engine = testing::make_native_engine(testing::native_cache_dir("traps"), limits);
  auto im = t.interp_engine->load(bytes);
  auto nm = t.native_engine->load(bytes);
  EXPECT_TRUE(im && nm);
  if (!im || !nm) return t;
  t.interp = *im;
  t.native = *nm;
  t.on_native = testing::require_native(*t.native);
  return t;
}

Result<InvokeOutput> call(Module& m, std::size_t op_len) {
  return m.invoke(std::string(op_len, 'x'), {}, testing::no_host_calls());
}

// A fresh instance after one that grew its memory, rewrote its data and set its global starts
// from the template: the initial size, the data segment, the global's initial value, zeros in
// the pages the earlier instance grew into.
TEST(NativeMemoryPool, FreshInstanceStartsFromTheTemplate) {
  auto t = load_template_guest();
  ASSERT_TRUE(t.native);
  for (int i = 0; i < 10; ++i) {
    auto w = call(*t.native, 1);
    ASSERT_TRUE(w.has_value()) << w.error().to_string();
    EXPECT_EQ(w->response,
              (Bytes{4, 0, 0, 0, 0x11, 0x11, 0x11, 0x11, 9, 0, 0, 0, 0x33, 0x33, 0x33, 0x33}));
    auto r = call(*t.native, 2);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->response, kPristine) << "round " << i;
    auto g = call(*t.native, 3);
    ASSERT_TRUE(g.has_value()) << g.error().to_string();
    EXPECT_EQ(g->response, kPristine) << "round " << i << ": the grown page kept old data";
    if (t.on_native) {
      EXPECT_EQ(r->tier, Tier::kNative);
    }
  }
  EXPECT_EQ(outcome(call(*t.interp, 2)), outcome(call(*t.native, 2)));
}

// Bounds are the current size, not the pooled reservation's read-write high-water mark.
TEST(NativeMemoryPool, AccessJustPastTheCurrentSizeTrapsAfterAnEarlierInstanceGrew) {
  auto t = load_template_guest();
  ASSERT_TRUE(t.native);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(call(*t.native, 1).has_value());  // grows the reservation to 4 pages
    for (std::size_t op : {4, 5, 6}) {
      auto r = call(*t.native, op);
      ASSERT_FALSE(r.has_value()) << "op " << op;
      EXPECT_EQ(r.error().code, Code::kTrap);
      EXPECT_EQ(r.error().message, kTrapOutOfBounds) << "op " << op;
      EXPECT_EQ(outcome(call(*t.interp, op)), outcome(r)) << "op " << op;
    }
    auto fine = call(*t.native, 7);
    ASSERT_TRUE(fine.has_value()) << fine.error().to_string();
    EXPECT_EQ(fine->response[0], 2);
    EXPECT_EQ(outcome(call(*t.interp, 7)), outcome(fine));
  }
}

// The cap (Limits::max_memory_bytes) holds although reservations stay read-write at their
// high-water mark: an instance under a 2-page cap after uncapped instances grew to 4 pages.
TEST(NativeMemoryPool, CapHoldsAfterAnEarlierInstanceGrewTheReservation) {
  {
    auto uncapped = load_template_guest();
    ASSERT_TRUE(uncapped.native);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(call(*uncapped.native, 1).has_value());
  }  // its pooled memories go back to the process-wide pool
  Limits cap;
  cap.max_memory_bytes = 2 * 65536;
  auto t = load_template_guest(cap);
  ASSERT_TRUE(t.native);
  for (int i = 0; i < 4; ++i) {
    auto w = call(*t.native, 1);  // memory.grow 3 fails: the size stays 1 page
    ASSERT_FALSE(w.has_value());
    EXPECT_EQ(w.error().message, kTrapOutOfBounds);  // its store at 200000
    EXPECT_EQ(outcome(call(*t.interp, 1)), outcome(w));
    auto fine = call(*t.native, 7);  // grow 1 -> 2 pages: allowed
    ASSERT_TRUE(fine.has_value()) << fine.error().to_string();
    EXPECT_EQ(fine->response[0], 2);
    auto r = call(*t.native, 2);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->response, kPristine);
  }
}

// A footprint too large for memset (40 pages written) is dropped instead; still zero after.
TEST(NativeMemoryPool, LargeFootprintIsResetToo) {
  auto t = load_template_guest();
  ASSERT_TRUE(t.native);
  for (int i = 0; i < 3; ++i) {
    auto big = call(*t.native, 8);
    ASSERT_TRUE(big.has_value()) << big.error().to_string();
    EXPECT_EQ(big->response[0], 41);
    auto g = call(*t.native, 3);
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->response, kPristine);
  }
}

// A memory grown past 64 MiB is unmapped instead of kept; the next instance is pristine too.
TEST(NativeMemoryPool, HugeMemoryIsNotKept) {
  auto t = load_template_guest();
  ASSERT_TRUE(t.native);
  for (int i = 0; i < 2; ++i) {
    auto huge = call(*t.native, 9);
    ASSERT_TRUE(huge.has_value()) << huge.error().to_string();
    EXPECT_EQ(huge->response[0] | (huge->response[1] << 8), 1101);
    auto g = call(*t.native, 3);
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->response, kPristine);
  }
}

// Fresh instances on several threads at once: each sees a pristine instance.
TEST(NativeMemoryPool, ConcurrentFreshInstancesArePristine) {
  auto t = load_template_guest();
  ASSERT_TRUE(t.native);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!call(*t.native, 1).has_value()) ++bad;
        auto r = call(*t.native, 3);
        if (!r || r->response != kPristine) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

// The hot path changes no protection and drops no page (issue #14: every mprotect that removes
// permissions, and every MADV_DONTNEED, is a TLB shootdown of the other CPUs): once the pooled
// memory reached its high-water mark, fresh instances of a guest that grows its memory on every
// call make neither call.
TEST(NativeMemoryPool, FreshInstancesChangeNoProtections) {
  auto t = load_template_guest();
  ASSERT_TRUE(t.native);
  if (!t.on_native) GTEST_SKIP() << "intentionally skipped: no native tier";
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(call(*t.native, 1).has_value());
  const int mprotect0 = g_mprotect_calls.load();
  const int madvise0 = g_madvise_calls.load();
  for (int i = 0; i < 200; ++i) {
    auto w = call(*t.native, 1);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->tier, Tier::kNative);
  }
  EXPECT_EQ(g_mprotect_calls.load() - mprotect0, 0);
  EXPECT_EQ(g_madvise_calls.load() - madvise0, 0);
}

}  // namespace
}  // namespace wc::wasm
