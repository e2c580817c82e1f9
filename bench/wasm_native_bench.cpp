// Native tier (tier 1) benchmarks on the real echo actor, each figure beside a baseline measured
// in the same run (ratios in the summary printed at the end):
//   * echo call in reuse mode, native engine      vs a bare wasm2c harness calling the same
//     module compiled as wasm2c does by default (guard pages, no bounds checks) directly
//     (goal <= 1.2x); the bare harness on the host's bounds-checked code (the checks' cost);
//   * fresh instance + call + teardown through the engine (the host's real mode), 1 thread vs
//     the bare harness (goal <= 10 us), 2 threads (both cores busy) vs 1 thread (goal <= 1.5x);
//   * echo call in reuse mode, native             vs the interpreter (expect >= 100x faster);
//   * fresh instance: instantiate alone, and instantiate+call through the engine, vs the reuse
//     call (goal instantiate <= 10 us);
//   * RSS per live echo instance (N = 1,000 and 10,000; after instantiation and after one call
//     each) vs instances made by wasm2c's own instantiate (goal <= 200 KiB each);
//   * background compile time of echo (wasm2c + cc)  vs the interpreter's load time;
//   * start on cached native code after a restart (engine + load + native ready + first call)
//     vs the same start on the interpreter.
// Environment: WC_BENCH_SMOKE=1 (CI: one small instance count, see bench/run_smoke.sh),
// WC_BENCH_INSTANCES=N (override the instance counts with one N).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "wasm/abi.h"
#include "wasm/engine.h"
#include "wasm/native/compiler.h"
#include "wasm/native/glue_abi.h"
#include "wasm/native/native.h"
#include "wasm/native/runtime.h"
#include "wasm/tier.h"

// Heap allocations (operator new) made by the calling thread, for the allocations-per-call
// figure of the fresh-instance benchmark. libstdc++'s operator delete is free(), so it stays.
thread_local std::uint64_t t_allocations = 0;

// noinline: g++ must not see the malloc inside (it would pair it with delete and warn).
__attribute__((noinline)) void* operator new(std::size_t size) {
  ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

namespace {

using namespace wc;
using namespace wc::wasm;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// ------------------------------------------------------------------ figures and summary
struct Figure {
  double value = 0;
  std::string unit;
  std::string baseline_name;
  double baseline = 0;
  std::string goal;
};
std::map<std::string, Figure>& figures() {
  static std::map<std::string, Figure> f;
  return f;
}
void record(const std::string& name, double value, const std::string& unit,
            const std::string& baseline_name = "", double baseline = 0,
            const std::string& goal = "") {
  figures()[name] = {value, unit, baseline_name, baseline, goal};
}

void print_summary() {
  std::printf(
      "\nSummary (per-call times: CPU time of the benchmark thread; compile and restart: "
      "wall time)\n");
  std::printf("%-44s %14s   %-40s %14s %9s   %s\n", "figure", "value", "baseline (same run)",
              "baseline", "ratio", "goal");
  for (const auto& [name, f] : figures()) {
    if (f.baseline > 0) {
      std::printf("%-44s %11.3f %-3s  %-40s %14.3f %9.2fx   %s\n", name.c_str(), f.value,
                  f.unit.c_str(), f.baseline_name.c_str(), f.baseline, f.value / f.baseline,
                  f.goal.c_str());
    } else {
      std::printf("%-44s %11.3f %-3s  %-40s %14s %10s   %s\n", name.c_str(), f.value,
                  f.unit.c_str(), "(itself a baseline)", "-", "-", f.goal.c_str());
    }
  }
}

// ------------------------------------------------------------------ inputs
bool smoke() { return std::getenv("WC_BENCH_SMOKE") != nullptr; }

std::vector<std::size_t> instance_counts() {
  if (const char* n = std::getenv("WC_BENCH_INSTANCES"))
    return {static_cast<std::size_t>(std::strtoul(n, nullptr, 10))};
  if (smoke()) return {200};
  return {1000, 10000};
}

const Bytes& echo_bytes() {
  static const Bytes b = [] {
    auto r = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    if (!r) {
      std::fprintf(stderr, "echo.wasm: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    return *r;
  }();
  return b;
}

Bytes from_hex(std::string_view hex) {
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

// Spec 10.2 A.1 (the echo reply is spec 10.3 B.1, 113 bytes).
const Bytes& vector_a() {
  static const Bytes b = from_hex(
      "85a66d6574686f64a3474554a470617468a82f666f6f2f626172ab7175657279537472696e67a3783d31"
      "a6686561646572 81a6616363657074 91a32a2f2a a4626f6479c40568656c6c6f");
  return b;
}
constexpr std::string_view kOp = "HttpServer.HandleRequest";

std::string cache_dir() {
  const std::string d = std::string(WC_BINARY_DIR) + "/native-bench-cache";
  fs::create_directories(d);
  return d;
}

NativeCompileRequest echo_request(const std::string& dir) {
  NativeCompileRequest r;
  r.wasm = echo_bytes();
  r.sha256_hex = hex_lower(sha256(echo_bytes()));
  r.cache_dir = dir;
  return r;
}

HostCallHandler no_calls() {
  return [](const HostCall&) -> Result<Bytes> { return fail(Code::kUnavailable, "none"); };
}

std::shared_ptr<Engine> engine(bool native, bool reuse) {
  EngineConfig c;
  c.enable_native = native;
  c.reuse_instances = reuse;
  c.cache_dir = cache_dir();
  auto e = Engine::create(c);
  if (!e) {
    std::fprintf(stderr, "engine: %s\n", e.error().message.c_str());
    std::exit(1);
  }
  return *e;
}

std::shared_ptr<Module> load_echo(Engine& e, bool need_native) {
  auto m = e.load(echo_bytes());
  if (!m) {
    std::fprintf(stderr, "load: %s\n", m.error().message.c_str());
    std::exit(1);
  }
  if (need_native && !(*m)->wait_native(std::chrono::minutes(10))) {
    std::fprintf(stderr, "native tier did not come up (C compiler / wasm2c missing?)\n");
    std::exit(1);
  }
  return *m;
}

void check(const Result<InvokeOutput>& r) {
  if (!r || r->response.size() != 113) {
    std::fprintf(stderr, "echo call failed: %s\n", r ? "wrong size" : r.error().message.c_str());
    std::exit(1);
  }
}

// ------------------------------------------------------------------ bare wasm2c harness
// The same echo module compiled as wasm2c does by default (guard pages + signal handler, no
// bounds checks in the code: compiler.h MemoryChecks::kGuardPages; a private copy of the shared
// object, so it binds its own runtime table), instantiated by wasm2c's own instantiate and
// called directly: imports are two memcpy's, no engine, no AbiCall, no trap frame, no deadline.
// This is the guest's own cost. The harness can also run the host's bounds-checked object
// (MemoryChecks::kBounds, the code the engine runs), which isolates what the checks cost.
struct Bare {
  void* handle = nullptr;
  const wc_module_desc* desc = nullptr;
  wc_rt_api api{};
  std::vector<int> kinds;  // per import: 0 request, 1 response, 2 error, -1 other
};
// The harness in use and the calling thread's instance memory (set before each loop).
Bare* g_bare = nullptr;
thread_local wasm_rt_memory_t* g_bare_mem = nullptr;
thread_local std::size_t g_bare_response_len = 0;

int32_t bare_import(void* /*inst*/, uint32_t index, const uint64_t* a, uint32_t /*n*/,
                    uint64_t* r) {
  std::uint8_t* m = g_bare_mem->data;
  switch (g_bare->kinds[index]) {
    case 0:
      std::memcpy(m + static_cast<std::uint32_t>(a[0]), kOp.data(), kOp.size());
      std::memcpy(m + static_cast<std::uint32_t>(a[1]), vector_a().data(), vector_a().size());
      break;
    case 1:
      g_bare_response_len = static_cast<std::uint32_t>(a[1]);
      break;
    default:
      return 1;
  }
  *r = 0;
  return 0;
}
void bare_trap(int32_t code) {
  std::fprintf(stderr, "bare harness trapped (%d)\n", code);
  std::abort();
}

// The echo shared object compiled with `checks`, built into the bench cache when absent.
std::string echo_object(native::MemoryChecks checks) {
  const auto req = echo_request(cache_dir());
  auto tc = native::detect_toolchain(req.c_compiler, req.cache_dir);
  if (!tc) {
    std::fprintf(stderr, "toolchain: %s\n", tc.error().message.c_str());
    std::exit(1);
  }
  const std::string path = native::cache_path(*tc, req.cache_dir, req.sha256_hex, checks);
  if (!fs::exists(path)) {
    if (auto st = native::build_shared_object(*tc, req.wasm, req.sha256_hex, path, checks); !st) {
      std::fprintf(stderr, "native build: %s\n", st.error().message.c_str());
      std::exit(1);
    }
  }
  return path;
}

Bare* load_bare(native::MemoryChecks checks) {
  const std::string path = echo_object(checks);
  const std::string copy = "/tmp/wc-bench-bare-" + std::to_string(getpid()) + "-" +
                           std::to_string(static_cast<int>(checks)) + ".so";
  fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
  auto* h = new Bare();
  h->handle = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  fs::remove(copy);
  if (h->handle == nullptr) std::exit(1);
  h->api = *native::native_runtime_api();
  h->api.trap = &bare_trap;
  h->api.call_import = &bare_import;
  using Bind = const wc_module_desc* (*)(const wc_rt_api*);
  auto bind = reinterpret_cast<Bind>(dlsym(h->handle, "wc_native_bind_v1"));
  h->desc = bind(&h->api);
  h->desc->init_module();
  for (std::uint32_t i = 0; i < h->desc->n_imports; ++i) {
    const std::string f = h->desc->imports[i].field;
    h->kinds.push_back(f == "__guest_request" ? 0 : f == "__guest_response" ? 1 : -1);
  }
  return h;
}

// The baseline harness (guard pages, no checks: wasm2c's default build).
Bare& bare() {
  static Bare* b = load_bare(native::MemoryChecks::kGuardPages);
  g_bare = b;
  return *b;
}
// The same harness over the host's bounds-checked code.
Bare& bare_bounds() {
  static Bare* b = load_bare(native::MemoryChecks::kBounds);
  g_bare = b;
  return *b;
}

// A wasm2c-instantiated echo instance (header slot + instance struct).
void* bare_instance() {
  Bare& b = *g_bare;
  auto* block =
      static_cast<char*>(std::aligned_alloc(16, 16 + (b.desc->instance_size + 15) / 16 * 16));
  std::memset(block, 0, 16);
  void* inst = block + 16;
  b.desc->instantiate(inst);
  return inst;
}
void bare_free(void* inst) {
  Bare& b = *g_bare;
  for (std::uint32_t i = 0; i < b.desc->n_memories; ++i)
    native::memory_free(
        reinterpret_cast<wasm_rt_memory_t*>(static_cast<char*>(inst) + b.desc->memory_offsets[i]));
  for (std::uint32_t i = 0; i < b.desc->n_funcref_tables; ++i)
    native::funcref_table_free(reinterpret_cast<wasm_rt_funcref_table_t*>(
        static_cast<char*>(inst) + b.desc->funcref_table_offsets[i]));
  std::free(static_cast<char*>(inst) - 16);
}

// Figures use the calling thread's CPU time (kernel time on its behalf included): the machine
// running benchmarks is often shared, and wall time then measures the neighbours. Google
// Benchmark's own table above shows wall ("Time") and CPU side by side.
struct CpuClock {
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<CpuClock>;
  static time_point now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(duration(std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec));
  }
};

double ns_per_iter(CpuClock::time_point t0, benchmark::State& state) {
  const double ns = std::chrono::duration<double, std::nano>(CpuClock::now() - t0).count();
  return state.iterations() > 0 ? ns / static_cast<double>(state.iterations()) : 0;
}

// ------------------------------------------------------------------ benchmarks
// A restart is measured in a child process (this program re-run with WC_BENCH_RESTART_CHILD):
// from its main() to the first echo reply, with nothing of the parent's process-wide state.
double child_start_ms(const char* mode) {
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = 0;
  const std::string cmd = std::string("WC_BENCH_RESTART_CHILD=") + mode + " '" + exe + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  double ms = -1;
  if (std::fscanf(p, "%lf", &ms) != 1) ms = -1;
  pclose(p);
  return ms;
}

int restart_child(const std::string& mode) {
  const auto t0 = Clock::now();
  auto e = engine(mode == "native", false);
  auto m = load_echo(*e, mode == "native");
  auto r = m->invoke(kOp, vector_a(), no_calls());
  check(r);
  if (mode == "native" && r->tier != Tier::kNative) return 1;
  std::printf("%.3f\n", std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  return 0;
}

void BM_StartCached_Native(benchmark::State& state) {
  {
    auto e = engine(true, false);
    load_echo(*e, true);  // make sure the cache holds echo
  }
  double native_ms = 0, interp_ms = 0;
  int n = 0;
  for (auto _ : state) {
    native_ms += child_start_ms("native");
    interp_ms += child_start_ms("interp");
    ++n;
  }
  if (n == 0 || native_ms < 0 || interp_ms < 0) {
    state.SkipWithError("restart child failed");
    return;
  }
  state.counters["native_ms"] = native_ms / n;
  state.counters["interp_ms"] = interp_ms / n;
  record("start on cached native after restart", native_ms / n, "ms",
         "same start on the interpreter", interp_ms / n);
}
BENCHMARK(BM_StartCached_Native)->Unit(benchmark::kMillisecond)->Iterations(3);

// Per-thread figures of a multi-threaded benchmark, averaged once every thread has reported.
struct ThreadFigures {
  std::mutex mu;
  double sum = 0;
  int n = 0;
  // Adds one thread's figure; returns the mean when it was the last of `threads`, else < 0.
  double add(double v, int threads) {
    std::lock_guard lock(mu);
    sum += v;
    if (++n < threads) return -1;
    const double mean = sum / n;
    sum = 0;
    n = 0;
    return mean;
  }
};

// One bare echo call per iteration on `b` (each thread its own instance). `wall_us` (optional)
// receives the wall time per call.
double bare_loop(Bare& b, benchmark::State& state, double* wall_us = nullptr) {
  void* inst = bare_instance();
  g_bare_mem = b.desc->exported_memory(inst);
  const auto op_len = static_cast<std::uint32_t>(kOp.size());
  const auto pl_len = static_cast<std::uint32_t>(vector_a().size());
  const auto w0 = Clock::now();
  auto t0 = CpuClock::now();
  for (auto _ : state) {
    std::uint32_t r = 0;
    b.desc->guest_call(inst, op_len, pl_len, &r);
    benchmark::DoNotOptimize(r);
  }
  const double us = ns_per_iter(t0, state) / 1e3;
  if (wall_us != nullptr)
    *wall_us = std::chrono::duration<double, std::micro>(Clock::now() - w0).count() /
               static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  if (g_bare_response_len != 113) std::fprintf(stderr, "bare: unexpected response length\n");
  bare_free(inst);
  return us;
}

// With 2 threads its wall time per call shows whether the machine gave both threads a core
// (no shared state here: wall = CPU time when it did).
void BM_EchoCall_Bare(benchmark::State& state) {
  static ThreadFigures figs, walls;
  double wall_us = 0;
  const double us = bare_loop(bare(), state, &wall_us);
  const double mean = figs.add(us, state.threads());
  const double wall = walls.add(wall_us, state.threads());
  if (mean < 0) return;
  state.counters["wall_us"] = wall;
  if (state.threads() == 1) {
    record("echo call, bare wasm2c harness", mean, "us");
  } else {
    record("echo call, bare wasm2c harness, 2 threads", mean, "us", "same, 1 thread",
           figures()["echo call, bare wasm2c harness"].value);
    record("echo call, bare wasm2c harness, 2 threads, wall", wall, "us", "its CPU time", mean);
  }
}
BENCHMARK(BM_EchoCall_Bare)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EchoCall_Bare)->Unit(benchmark::kMicrosecond)->Threads(2);

// The guest's cost of the bounds checks the host's code carries (compiler.h MemoryChecks).
void BM_EchoCall_BareBoundsChecked(benchmark::State& state) {
  bare();  // the baseline's figure must exist
  const double us = bare_loop(bare_bounds(), state);
  g_bare = &bare();
  record("echo call, bare harness, bounds-checked code", us, "us", "bare wasm2c harness",
         figures()["echo call, bare wasm2c harness"].value);
}
BENCHMARK(BM_EchoCall_BareBoundsChecked)->Unit(benchmark::kMicrosecond);

std::shared_ptr<Module>& native_reuse() {
  static auto m = [] {
    static auto e = engine(true, true);
    return load_echo(*e, true);
  }();
  return m;
}

void BM_EchoCall_NativeReuse(benchmark::State& state) {
  auto& m = native_reuse();
  auto t0 = CpuClock::now();
  for (auto _ : state) check(m->invoke(kOp, vector_a(), no_calls()));
  const double us = ns_per_iter(t0, state) / 1e3;
  record("echo call, native engine, reuse mode", us, "us", "bare wasm2c harness",
         figures()["echo call, bare wasm2c harness"].value, "<= 1.2x");
}
BENCHMARK(BM_EchoCall_NativeReuse)->Unit(benchmark::kMicrosecond);

void BM_EchoCall_InterpReuse(benchmark::State& state) {
  static auto e = engine(false, true);
  static auto m = load_echo(*e, false);
  auto t0 = CpuClock::now();
  for (auto _ : state) check(m->invoke(kOp, vector_a(), no_calls()));
  const double us = ns_per_iter(t0, state) / 1e3;
  const double native_us = figures()["echo call, native engine, reuse mode"].value;
  record("echo call, interpreter, reuse mode", us, "us", "native engine, reuse mode", native_us,
         ">= 100x (interpreter / native)");
}
BENCHMARK(BM_EchoCall_InterpReuse)->Unit(benchmark::kMicrosecond);

// The host's real mode: a fresh instance per invocation (instantiate + call + teardown through
// the engine). Baseline: the bare harness, i.e. the guest's own cost. With 2 threads both cores
// call at once (each its own fresh instances); its baseline is the 1-thread figure.
void BM_FreshCall_Native(benchmark::State& state) {
  static std::shared_ptr<Module> m = [] {
    static auto e = engine(true, false);
    return load_echo(*e, true);
  }();
  static ThreadFigures figs, walls;
  check(m->invoke(kOp, vector_a(), no_calls()));  // this thread's first instance outside the loop
  const auto w0 = Clock::now();
  const std::uint64_t a0 = t_allocations;
  auto t0 = CpuClock::now();
  for (auto _ : state) check(m->invoke(kOp, vector_a(), no_calls()));
  const double us = ns_per_iter(t0, state) / 1e3;
  const double allocs =
      static_cast<double>(t_allocations - a0) /
      static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  const double wall_us =
      std::chrono::duration<double, std::micro>(Clock::now() - w0).count() /
      static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  const double mean = figs.add(us, state.threads());
  const double wall = walls.add(wall_us, state.threads());
  if (mean < 0) return;
  state.counters["wall_us"] = wall;
  if (state.threads() == 1) {
    state.counters["allocs_per_call"] = allocs;
    record("echo fresh instance + call, heap allocations (operator new)", allocs, "");
    record("echo fresh instance + call, native engine", mean, "us", "bare wasm2c harness",
           figures()["echo call, bare wasm2c harness"].value, "<= 10 us");
    record("echo fresh instance + call, native, wall", wall, "us", "bare wasm2c harness",
           figures()["echo call, bare wasm2c harness"].value);
  } else {
    record("echo fresh instance + call, native, 2 threads", mean, "us", "same, 1 thread",
           figures()["echo fresh instance + call, native engine"].value, "<= 1.5x");
    record("echo fresh instance + call, native, 2 threads, wall", wall, "us", "same, 1 thread",
           figures()["echo fresh instance + call, native, wall"].value);
  }
}
BENCHMARK(BM_FreshCall_Native)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FreshCall_Native)->Unit(benchmark::kMicrosecond)->Threads(2);

std::unique_ptr<CompiledTier>& native_tier() {
  static auto t = [] {
    auto r = native_compile(echo_request(cache_dir()));
    if (!r) {
      std::fprintf(stderr, "native_compile: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    return std::move(*r);
  }();
  return t;
}

void BM_Instantiate_Native(benchmark::State& state) {
  auto& tier = native_tier();
  Limits limits;
  CallContext ctx;
  auto t0 = CpuClock::now();
  for (auto _ : state) {
    auto inst = tier->instantiate(limits, ctx);
    if (!inst) std::exit(1);
    benchmark::DoNotOptimize(inst);
  }
  const double us = ns_per_iter(t0, state) / 1e3;
  // Baseline: wasm2c's own instantiate of the same code (segments re-initialised each time).
  const int n = smoke() ? 50 : 2000;
  bare();
  auto t1 = CpuClock::now();
  for (int i = 0; i < n; ++i) bare_free(bare_instance());
  const double bare_us =
      std::chrono::duration<double, std::micro>(CpuClock::now() - t1).count() / n;
  record("instantiate echo (template copy), native", us, "us", "wasm2c's own instantiate", bare_us,
         "<= 10 us");
}
BENCHMARK(BM_Instantiate_Native)->Unit(benchmark::kMicrosecond);

void BM_LiveInstancesRss(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto& tier = native_tier();
  Limits limits;
  limits.deadline = std::chrono::seconds(60);
  for (auto _ : state) {
    // Baseline: N instances by wasm2c's own instantiate.
    double bare_kib = 0;
    bare();
    {
      native::memory_pool_trim();  // pooled memories would hide the instances' pages
      const auto r0 = native::resident_bytes();
      std::vector<void*> v;
      v.reserve(n);
      for (std::size_t i = 0; i < n; ++i) v.push_back(bare_instance());
      bare_kib = static_cast<double>(native::resident_bytes() - r0) / 1024.0 / n;
      for (void* p : v) bare_free(p);
    }
    native::memory_pool_trim();
    const auto r0 = native::resident_bytes();
    std::vector<std::unique_ptr<TierInstance>> live;
    live.reserve(n);
    CallContext ctx;
    for (std::size_t i = 0; i < n; ++i) {
      auto inst = tier->instantiate(limits, ctx);
      if (!inst) {
        std::fprintf(stderr, "instantiate #%zu: %s\n", i, inst.error().message.c_str());
        std::exit(1);
      }
      live.push_back(std::move(*inst));
    }
    const double fresh_kib = static_cast<double>(native::resident_bytes() - r0) / 1024.0 / n;
    LogHandler log;
    HostCallHandler hc = no_calls();
    for (auto& inst : live) {
      AbiCall abi(kOp, vector_a(), hc, log);
      CallContext c{&abi, &log, Clock::now() + std::chrono::seconds(10)};
      auto rc = inst->call_guest_call(abi.operation_len(), abi.payload_len(), c);
      if (!rc || *rc != 1) std::exit(1);
    }
    const double called_kib = static_cast<double>(native::resident_bytes() - r0) / 1024.0 / n;
    const std::string tag = std::to_string(n) + " live echo instances";
    record("RSS/instance, " + tag + " (new)", fresh_kib, "KiB", "wasm2c's own instantiate",
           bare_kib, "<= 200 KiB");
    record("RSS/instance, " + tag + " (after a call)", called_kib, "KiB",
           "wasm2c's own instantiate", bare_kib, "<= 200 KiB");
    state.counters["KiB_per_instance_new"] = fresh_kib;
    state.counters["KiB_per_instance_called"] = called_kib;
  }
}

void BM_CompileEcho(benchmark::State& state) {
  for (auto _ : state) {
    char tmpl[] = "/tmp/wc-bench-compile-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::exit(1);
    bool compiled = false;
    rusage ru0{}, ru1{};
    getrusage(RUSAGE_CHILDREN, &ru0);
    auto t0 = Clock::now();
    auto path = native::native_build(echo_request(tmpl), &compiled);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    getrusage(RUSAGE_CHILDREN, &ru1);
    auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    const double cpu_s =
        secs(ru1.ru_utime) - secs(ru0.ru_utime) + secs(ru1.ru_stime) - secs(ru0.ru_stime);
    fs::remove_all(tmpl);
    if (!path || !compiled) std::exit(1);
    auto t1 = Clock::now();
    auto e = engine(false, false);
    auto m = load_echo(*e, false);
    const double interp_s = std::chrono::duration<double>(Clock::now() - t1).count();
    record("background compile of echo (wasm2c + cc)", s * 1e3, "ms", "interpreter load of echo",
           interp_s * 1e3);
    record("background compile of echo, CPU of wasm2c+cc", cpu_s * 1e3, "ms",
           "interpreter load of echo", interp_s * 1e3);
  }
}
BENCHMARK(BM_CompileEcho)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

int main(int argc, char** argv) {
  if (const char* child = std::getenv("WC_BENCH_RESTART_CHILD")) return restart_child(child);
  for (std::size_t n : instance_counts())
    benchmark::RegisterBenchmark("BM_LiveInstancesRss", BM_LiveInstancesRss)
        ->Arg(static_cast<std::int64_t>(n))
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  print_summary();
  benchmark::Shutdown();
  return 0;
}
