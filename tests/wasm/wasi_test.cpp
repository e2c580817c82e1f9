// WASI preview 1 as spec 1.7 sets it up: through a module (fd_write reaching the LogHandler,
// random_get, proc_exit, `_start` exiting 0, the wasi_unstable name) and function by function
// over a host-side memory buffer.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "wasm/abi.h"
#include "wasm/tier.h"
#include "wasm_test_util.h"

namespace wc::wasm {
namespace {

using testing::make_engine;
using testing::no_host_calls;
using testing::wat;

// op "write": fd_write(1, iov@0 -> "hello from wasi\n") and fd_write(2, ...) via wasi_unstable;
// op "rand": random_get(256, 32) and respond the 32 bytes; op "exit": proc_exit(7).
const std::string kWasiGuest = R"((module
  (import "wasmbus" "__guest_request" (func $req (param i32 i32)))
  (import "wasmbus" "__guest_response" (func $resp (param i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "fd_write" (func $fd_write0 (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\40\00\00\00\10\00\00\00")
  (data (i32.const 64) "hello from wasi\n")
  (func (export "__guest_call") (param $op_len i32) (param $pl_len i32) (result i32)
    (call $req (i32.const 1024) (i32.const 2048))
    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 119)) ;; 'w'
      (then
        (i32.store (i32.const 512) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
        (i32.store (i32.const 516) (call $fd_write0 (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 20)))
        (i32.store (i32.const 520) (i32.load (i32.const 16)))
        (call $resp (i32.const 512) (i32.const 12))
        (return (i32.const 1))))
    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 114)) ;; 'r'
      (then
        (drop (call $random_get (i32.const 256) (i32.const 32)))
        (call $resp (i32.const 256) (i32.const 32))
        (return (i32.const 1))))
    (call $proc_exit (i32.const 7))
    (i32.const 1)))
)";

TEST(WasiModule, FdWriteReachesTheLogHandler) {
  auto module = make_engine()->load(wat(kWasiGuest));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  std::vector<std::pair<std::string, std::string>> logs;
  auto out =
      (*module)->invoke("write", {}, no_host_calls(),
                        [&](std::string_view s, std::string_view t) { logs.emplace_back(s, t); });
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  // errno 0, errno 0, nwritten 16
  EXPECT_EQ(out->response, (Bytes{0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0}));
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0], (std::pair<std::string, std::string>{"stdout", "hello from wasi\n"}));
  EXPECT_EQ(logs[1], (std::pair<std::string, std::string>{"stderr", "hello from wasi\n"}));
}

TEST(WasiModule, RandomGetFillsTheBuffer) {
  auto module = make_engine()->load(wat(kWasiGuest));
  ASSERT_TRUE(module.has_value());
  auto a = (*module)->invoke("rand", {}, no_host_calls());
  auto b = (*module)->invoke("rand", {}, no_host_calls());
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->response.size(), 32u);
  EXPECT_NE(a->response, b->response);
  EXPECT_NE(a->response, Bytes(32, 0));
}

TEST(WasiModule, ProcExitFailsTheInvocation) {
  auto module = make_engine()->load(wat(kWasiGuest));
  ASSERT_TRUE(module.has_value());
  auto out = (*module)->invoke("exit", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kTrap);
  EXPECT_EQ(out.error().message, "Exited with i32 exit status 7");
  EXPECT_TRUE((*module)->invoke("rand", {}, no_host_calls()).has_value());
}

std::string start_exits_with(int status) {
  return R"((module
  (import "wasmbus" "__guest_response" (func $resp (param i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ran")
  (func (export "_start") (call $proc_exit (i32.const )" +
         std::to_string(status) + R"()))
  (func (export "__guest_call") (param i32 i32) (result i32)
    (call $resp (i32.const 0) (i32.const 3)) (i32.const 1))))";
}

TEST(WasiModule, ProcExitZeroFromStartIsNormalCompletion) {
  auto module = make_engine()->load(wat(start_exits_with(0)));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(to_string(out->response), "ran");
}

TEST(WasiModule, ProcExitNonZeroFromStartFails) {
  auto module = make_engine()->load(wat(start_exits_with(3)));
  ASSERT_TRUE(module.has_value());
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, "Exited with i32 exit status 3");
}

// --- function by function, over a host buffer ---

class Wasi : public ::testing::Test {
 protected:
  Result<std::uint32_t> call(std::string_view name, std::vector<std::uint64_t> args) {
    return wasi_call(name, GuestMemory{mem_.data(), mem_.size()}, args, log_);
  }
  std::uint32_t u32(std::size_t at) const {
    return mem_[at] | mem_[at + 1] << 8 | mem_[at + 2] << 16 |
           static_cast<std::uint32_t>(mem_[at + 3]) << 24;
  }
  std::uint64_t u64(std::size_t at) const {
    return u32(at) | static_cast<std::uint64_t>(u32(at + 4)) << 32;
  }
  void put_u32(std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) mem_[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void put_u64(std::size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) mem_[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }

  std::vector<std::uint8_t> mem_ = std::vector<std::uint8_t>(4096);
  LogHandler log_;
};

TEST_F(Wasi, ArgvIsMainWasm) {
  EXPECT_EQ(call("args_sizes_get", {0, 4}).value(), 0u);
  EXPECT_EQ(u32(0), 1u);
  EXPECT_EQ(u32(4), 10u);
  EXPECT_EQ(call("args_get", {100, 200}).value(), 0u);
  EXPECT_EQ(u32(100), 200u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&mem_[200]), 10),
            std::string("main.wasm\0", 10));
}

TEST_F(Wasi, EnvironmentIsEmpty) {
  put_u32(0, 99);
  put_u32(4, 99);
  EXPECT_EQ(call("environ_sizes_get", {0, 4}).value(), 0u);
  EXPECT_EQ(u32(0), 0u);
  EXPECT_EQ(u32(4), 0u);
  EXPECT_EQ(call("environ_get", {0, 4}).value(), 0u);
}

TEST_F(Wasi, NoPreopensAndPathCallsFail) {
  EXPECT_EQ(call("fd_prestat_get", {3, 0}).value(), 8u);  // EBADF
  EXPECT_EQ(call("path_open", {3, 0, 0, 4, 0, 0, 0, 0, 0}).value(), 8u);
  EXPECT_EQ(call("path_unlink_file", {3, 0, 4}).value(), 8u);
}

TEST_F(Wasi, StdinIsAtEof) {
  put_u32(0, 100);  // iovec {buf=100, len=16}
  put_u32(4, 16);
  put_u32(8, 77);
  EXPECT_EQ(call("fd_read", {0, 0, 1, 8}).value(), 0u);
  EXPECT_EQ(u32(8), 0u);
  EXPECT_EQ(call("fd_read", {5, 0, 1, 8}).value(), 8u);
}

TEST_F(Wasi, FdWriteGathersIovecsToTheLog) {
  std::string got;
  log_ = [&](std::string_view stream, std::string_view text) {
    got += std::string(stream) + ":" + std::string(text);
  };
  std::memcpy(&mem_[100], "abc", 3);
  std::memcpy(&mem_[200], "defg", 4);
  put_u32(0, 100);
  put_u32(4, 3);
  put_u32(8, 200);
  put_u32(12, 4);
  EXPECT_EQ(call("fd_write", {1, 0, 2, 20}).value(), 0u);
  EXPECT_EQ(u32(20), 7u);
  EXPECT_EQ(got, "stdout:abcdefg");
  EXPECT_EQ(call("fd_write", {9, 0, 2, 20}).value(), 8u);      // EBADF
  EXPECT_EQ(call("fd_write", {1, 4090, 2, 20}).value(), 21u);  // EFAULT
}

TEST_F(Wasi, ClocksWork) {
  EXPECT_EQ(call("clock_time_get", {0, 1, 0}).value(), 0u);
  const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  EXPECT_NEAR(static_cast<double>(u64(0)), static_cast<double>(wall), 5e9);
  EXPECT_EQ(call("clock_time_get", {1, 1, 8}).value(), 0u);
  EXPECT_GT(u64(8), 0u);
  EXPECT_EQ(call("clock_res_get", {1, 16}).value(), 0u);
  EXPECT_GT(u64(16), 0u);
  EXPECT_EQ(call("clock_time_get", {99, 1, 0}).value(), 28u);  // EINVAL
}

TEST_F(Wasi, RandomGetUsesTheOsRng) {
  EXPECT_EQ(call("random_get", {100, 64}).value(), 0u);
  EXPECT_NE(std::vector<std::uint8_t>(mem_.begin() + 100, mem_.begin() + 164),
            std::vector<std::uint8_t>(64, 0));
  EXPECT_EQ(call("random_get", {4090, 64}).value(), 21u);  // EFAULT
}

TEST_F(Wasi, PollOneoffSleepsForAClockSubscription) {
  // subscription at 0: userdata 42, tag clock, id monotonic, timeout 30 ms relative.
  put_u64(0, 42);
  mem_[8] = 0;
  put_u32(16, 1);
  put_u64(24, 30'000'000);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(call("poll_oneoff", {0, 1024, 1, 2000}).value(), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  EXPECT_EQ(u32(2000), 1u);
  EXPECT_EQ(u64(1024), 42u);
  EXPECT_EQ(mem_[1024 + 10], 0);  // event type clock
}

TEST_F(Wasi, PollOneoffNeverSleepsPastTheDeadline) {
  put_u64(0, 1);
  put_u32(16, 1);
  put_u64(24, 60'000'000'000ull);  // one minute
  const auto start = std::chrono::steady_clock::now();
  auto r = wasi_call("poll_oneoff", GuestMemory{mem_.data(), mem_.size()},
                     std::vector<std::uint64_t>{0, 1024, 1, 2000}, log_,
                     start + std::chrono::milliseconds(50));
  EXPECT_TRUE(r.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(Wasi, ProcExitTrapsWithTheStatus) {
  auto r = call("proc_exit", {static_cast<std::uint32_t>(-2)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kTrap);
  EXPECT_EQ(r.error().message, "Exited with i32 exit status -2");
}

TEST_F(Wasi, UnsupportedCallsReturnTheirErrno) {
  EXPECT_EQ(call("sock_accept", {3, 0, 0}).value(), 58u);  // ENOTSUP
  EXPECT_EQ(call("sock_send", {3, 0, 0, 0, 0}).value(), 58u);
  EXPECT_EQ(call("proc_raise", {9}).value(), 52u);  // ENOSYS
  EXPECT_EQ(call("no_such_function", {}).value(), 52u);
  EXPECT_EQ(call("sched_yield", {}).value(), 0u);
  EXPECT_EQ(call("fd_seek", {1, 0, 0, 0}).value(), 70u);  // ESPIPE
  EXPECT_EQ(call("fd_close", {7}).value(), 8u);
}

TEST_F(Wasi, FdstatOfStdioIsACharacterDevice) {
  EXPECT_EQ(call("fd_fdstat_get", {1, 0}).value(), 0u);
  EXPECT_EQ(mem_[0], 2);  // character_device
  EXPECT_EQ(call("fd_fdstat_get", {4, 0}).value(), 8u);
}

TEST_F(Wasi, SnapshotZeroFilestatIsFiftySixBytes) {
  std::fill(mem_.begin(), mem_.begin() + 80, 0x77);
  auto import = resolve_import("wasi_unstable", "fd_filestat_get", "ii", "i");
  ASSERT_TRUE(import.has_value());
  EXPECT_EQ(import->field, "unstable.fd_filestat_get");
  EXPECT_EQ(call(import->field, {1, 0}).value(), 0u);
  EXPECT_EQ(mem_[16], 2);
  EXPECT_EQ(mem_[55], 0);
  EXPECT_EQ(mem_[56], 0x77);  // nothing written past the snapshot-0 struct
  EXPECT_EQ(resolve_import("wasi_snapshot_preview1", "fd_filestat_get", "ii", "i")->field,
            "fd_filestat_get");
}

TEST_F(Wasi, SnapshotZeroPollOneoffReadsItsOwnSubscriptionLayout) {
  // snapshot 0 clock subscription: userdata, tag, identifier u64 @16, clock id @24, timeout @32.
  put_u64(0, 7);
  mem_[8] = 0;
  put_u64(16, 12345);
  put_u32(24, 1);
  put_u64(32, 20'000'000);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(call("unstable.poll_oneoff", {0, 1024, 1, 2000}).value(), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  EXPECT_EQ(u32(2000), 1u);
  EXPECT_EQ(u64(1024), 7u);
}

TEST(WasiNames, EveryPreview1FunctionIsProvidedUnderBothModuleNames) {
  for (std::string_view name :
       {"args_get", "fd_write", "path_open", "poll_oneoff", "proc_exit", "random_get",
        "sock_shutdown", "fd_readdir", "clock_time_get", "sched_yield"}) {
    EXPECT_TRUE(wasi_provides(name)) << name;
    std::string_view canonical, params, results;
    ASSERT_TRUE(wasi_signature(name, &canonical, &params, &results));
    EXPECT_TRUE(resolve_import("wasi_snapshot_preview1", name, params, results).has_value());
    EXPECT_TRUE(resolve_import("wasi_unstable", name, params, results).has_value());
  }
  EXPECT_FALSE(wasi_provides("fd_frobnicate"));
  EXPECT_EQ(resolve_import("wasi_snapshot_preview1", "fd_frobnicate", "", "i").error().message,
            "unknown import: `wasi_snapshot_preview1::fd_frobnicate` has not been defined");
}

}  // namespace
}  // namespace wc::wasm
