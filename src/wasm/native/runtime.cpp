// Thread-safe wasm2c runtime support. See runtime.h.
#include "wasm/native/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "wasm/native/guard.h"

namespace wc::wasm::native {
namespace {

constexpr std::size_t kOsPage = 4096;
constexpr std::size_t kPoolLimit = 256;

// ---------------------------------------------------------------- reservations
struct Pool {
  std::mutex mu;
  struct Entry {
    std::uint8_t* base;
    std::uint64_t rw;
  };
  std::vector<Entry> free;
};
Pool& pool() {
  static Pool* p = new Pool();  // leaked: reservations may be released during exit
  return *p;
}

// Returns a reservation whose first `rw` bytes are read-write and zero, the rest PROT_NONE.
// Pooled reservations keep their (zeroed) pages resident, so a new instance does not page-fault
// on the pages its predecessor used (see release()).
std::uint8_t* acquire(std::uint64_t rw) {
  Pool::Entry e{nullptr, 0};
  {
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    if (!p.free.empty()) {
      e = p.free.back();
      p.free.pop_back();
    }
  }
  if (e.base == nullptr) {
    void* m = mmap(nullptr, kReservationBytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    e = {static_cast<std::uint8_t*>(m), 0};
  }
  if (rw > e.rw) {
    if (mprotect(e.base + e.rw, rw - e.rw, PROT_READ | PROT_WRITE) != 0) {
      munmap(e.base, kReservationBytes);
      return nullptr;
    }
  } else if (rw < e.rw) {
    // release() left all of [0, e.rw) zero, so the excess keeps its (zero) pages for a later
    // memory.grow; it only has to fault again until then.
    mprotect(e.base + rw, e.rw - rw, PROT_NONE);
  }
  return e.base;
}

// Zeroes a used reservation and pools it. Small footprints (the common case: a call touched a
// few dozen pages) are found with mincore() and cleared with memset, keeping the pages mapped;
// large ones (and every one on a system with swap) are dropped with MADV_DONTNEED.
void release(std::uint8_t* base, std::uint64_t rw) {
  if (base == nullptr) return;
  constexpr std::uint64_t kPoolMaxBytes = 64ull << 20;
  constexpr std::size_t kMaxMemsetPages = 32;
  if (rw > kPoolMaxBytes) {
    munmap(base, kReservationBytes);
    return;
  }
  if (rw > 0) {
    thread_local std::vector<unsigned char> vec;
    const std::size_t pages = rw / kOsPage;
    vec.resize(pages);
    bool cleared = false;
    // mincore() cannot tell a swapped-out page from an untouched one, and a swapped-out page
    // would come back with the previous guest's data: only trust it on a system without swap.
    struct sysinfo si {};
    const bool no_swap = sysinfo(&si) == 0 && si.totalswap == 0;
    if (no_swap && mincore(base, rw, vec.data()) == 0) {
      std::size_t resident = 0;
      for (unsigned char v : vec) resident += v & 1;
      if (resident <= kMaxMemsetPages) {
        for (std::size_t i = 0; i < pages; ++i)
          if (vec[i] & 1) std::memset(base + i * kOsPage, 0, kOsPage);
        cleared = true;
      }
    }
    if (!cleared) madvise(base, rw, MADV_DONTNEED);
  }
  {
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    if (p.free.size() < kPoolLimit) {
      p.free.push_back({base, rw});
      return;
    }
  }
  munmap(base, kReservationBytes);
}

thread_local std::uint32_t tl_cap_pages = 0;

std::uint32_t effective_max(std::uint32_t module_max, std::uint32_t cap_pages) {
  std::uint32_t m = std::min(module_max, kMaxPages);
  if (cap_pages != 0) m = std::min(m, cap_pages);
  return m;
}

// ---------------------------------------------------------------- function types
struct TypeRegistry {
  std::mutex mu;
  std::vector<std::vector<int>> sigs;  // params count, results count, types...
};
TypeRegistry& types() {
  static TypeRegistry* r = new TypeRegistry();
  return *r;
}

// ---------------------------------------------------------------- watchdog
std::int64_t to_ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
std::int64_t now_ns() { return to_ns(std::chrono::steady_clock::now()); }

struct Slot {
  pthread_t tid{};
  std::mutex mu;
  std::int64_t deadline_ns = 0;     // 0 = disarmed
  std::uint64_t gen = 0;            // generation of the armed deadline
  std::uint64_t next_gen = 0;       // monotonic source of generations
  std::uint64_t fired_gen = ~0ull;  // written with __atomic_store_n, read by the signal handler
  std::int64_t last_fire_ns = 0;
};

class Watchdog {
 public:
  static Watchdog& get() {
    static Watchdog* w = new Watchdog();  // leaked; its thread is detached
    return *w;
  }

  void add(Slot* s) {
    std::lock_guard lock(mu_);
    slots_.push_back(s);
  }
  void remove(Slot* s) {
    std::lock_guard lock(mu_);
    slots_.erase(std::remove(slots_.begin(), slots_.end(), s), slots_.end());
  }

  // Called after a slot got a (new) deadline: wake the thread if it sleeps past it.
  void armed(std::int64_t deadline_ns) {
    if (deadline_ns < next_wake_ns_.load(std::memory_order_acquire)) {
      std::lock_guard lock(mu_);
      start_locked();
      next_wake_ns_.store(deadline_ns, std::memory_order_release);
      cv_.notify_one();
    }
  }

 private:
  void start_locked() {
    if (started_) return;
    started_ = true;
    std::thread([this] { loop(); }).detach();
  }

  void loop() {
    // The watchdog never runs guest code; keep the deadline signal away from it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, wc_guard_deadline_signal());
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::unique_lock lock(mu_);
    for (;;) {
      const std::int64_t now = now_ns();
      std::int64_t earliest = INT64_MAX;
      for (Slot* s : slots_) {
        std::lock_guard sl(s->mu);
        if (s->deadline_ns == 0) continue;
        if (now >= s->deadline_ns) {
          const bool first = __atomic_load_n(&s->fired_gen, __ATOMIC_ACQUIRE) != s->gen;
          if (first || now - s->last_fire_ns >= kResendNs) {
            __atomic_store_n(&s->fired_gen, s->gen, __ATOMIC_RELEASE);
            s->last_fire_ns = now;
            pthread_kill(s->tid, wc_guard_deadline_signal());
          }
          earliest = std::min(earliest, now + kResendNs);
        } else {
          earliest = std::min(earliest, s->deadline_ns);
        }
      }
      next_wake_ns_.store(earliest, std::memory_order_release);
      if (earliest == INT64_MAX) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock,
                       std::chrono::steady_clock::time_point(std::chrono::nanoseconds(earliest)));
      }
    }
  }

  static constexpr std::int64_t kResendNs = 20'000'000;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot*> slots_;
  std::atomic<std::int64_t> next_wake_ns_{INT64_MAX};
  bool started_ = false;
};

struct SlotHolder {
  Slot slot;
  SlotHolder() {
    slot.tid = pthread_self();
    Watchdog::get().add(&slot);
  }
  ~SlotHolder() { Watchdog::get().remove(&slot); }
};
thread_local SlotHolder tl_slot;

}  // namespace

// ---------------------------------------------------------------- memories
bool memory_allocate(wasm_rt_memory_t* mem, std::uint32_t initial, std::uint32_t max) {
  std::uint8_t* base = acquire(std::uint64_t{initial} * kWasmPage);
  if (base == nullptr) return false;
  mem->data = base;
  mem->pages = initial;
  mem->max_pages = effective_max(max, tl_cap_pages);
  mem->size = static_cast<std::uint32_t>(std::uint64_t{initial} * kWasmPage);
  return true;
}

std::uint32_t memory_grow(wasm_rt_memory_t* mem, std::uint32_t delta) {
  const std::uint32_t old = mem->pages;
  if (delta == 0) return old;
  const std::uint64_t want = std::uint64_t{old} + delta;
  if (want > mem->max_pages || want > kMaxPages) return UINT32_MAX;
  if (mprotect(mem->data + std::uint64_t{old} * kWasmPage, std::uint64_t{delta} * kWasmPage,
               PROT_READ | PROT_WRITE) != 0)
    return UINT32_MAX;
  mem->pages = static_cast<std::uint32_t>(want);
  mem->size = static_cast<std::uint32_t>(want * kWasmPage);
  return old;
}

void memory_free(wasm_rt_memory_t* mem) {
  if (mem->data == nullptr) return;
  release(mem->data, std::uint64_t{mem->pages} * kWasmPage);
  mem->data = nullptr;
  mem->pages = 0;
  mem->size = 0;
}

void memory_pool_trim() {
  std::vector<Pool::Entry> entries;
  {
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    entries.swap(p.free);
  }
  for (const auto& e : entries) munmap(e.base, kReservationBytes);
}

void set_alloc_cap(std::uint32_t cap_pages) { tl_cap_pages = cap_pages; }
std::uint32_t alloc_cap() { return tl_cap_pages; }

MemorySnapshot memory_snapshot(const wasm_rt_memory_t& mem, std::uint32_t module_max_pages) {
  MemorySnapshot s;
  s.pages = mem.pages;
  s.module_max_pages = module_max_pages;
  const std::uint64_t bytes = std::uint64_t{mem.pages} * kWasmPage;
  for (std::uint64_t off = 0; off < bytes; off += kOsPage) {
    const std::uint8_t* p = mem.data + off;
    bool zero = true;
    for (std::size_t i = 0; i < kOsPage; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w != 0) {
        zero = false;
        break;
      }
    }
    if (zero) continue;
    s.page_offsets.push_back(static_cast<std::uint32_t>(off));
    s.data.insert(s.data.end(), p, p + kOsPage);
  }
  return s;
}

bool memory_from_snapshot(wasm_rt_memory_t* mem, const MemorySnapshot& snap,
                          std::uint32_t cap_pages) {
  std::uint8_t* base = acquire(std::uint64_t{snap.pages} * kWasmPage);
  if (base == nullptr) return false;
  for (std::size_t i = 0; i < snap.page_offsets.size(); ++i)
    std::memcpy(base + snap.page_offsets[i], snap.data.data() + i * kOsPage, kOsPage);
  mem->data = base;
  mem->pages = snap.pages;
  mem->max_pages = std::min({snap.module_max_pages, cap_pages, kMaxPages});
  mem->size = static_cast<std::uint32_t>(std::uint64_t{snap.pages} * kWasmPage);
  return true;
}

// ---------------------------------------------------------------- tables
void funcref_table_allocate(wasm_rt_funcref_table_t* t, std::uint32_t n, std::uint32_t max) {
  t->data = static_cast<wasm_rt_funcref_t*>(
      std::calloc(std::max<std::uint32_t>(n, 1), sizeof(wasm_rt_funcref_t)));
  if (t->data == nullptr) std::abort();
  t->size = n;
  t->max_size = max;
}
void funcref_table_free(wasm_rt_funcref_table_t* t) {
  std::free(t->data);
  t->data = nullptr;
  t->size = 0;
}
std::uint32_t funcref_table_grow(wasm_rt_funcref_table_t* t, std::uint32_t delta,
                                 wasm_rt_funcref_t init) {
  const std::uint32_t old = t->size;
  const std::uint64_t want = std::uint64_t{old} + delta;
  if (want > t->max_size || want > (1u << 24)) return UINT32_MAX;
  if (delta == 0) return old;
  auto* d =
      static_cast<wasm_rt_funcref_t*>(std::realloc(t->data, want * sizeof(wasm_rt_funcref_t)));
  if (d == nullptr) return UINT32_MAX;
  for (std::uint64_t i = old; i < want; ++i) d[i] = init;
  t->data = d;
  t->size = static_cast<std::uint32_t>(want);
  return old;
}
void externref_table_allocate(wasm_rt_externref_table_t* t, std::uint32_t n, std::uint32_t max) {
  t->data = static_cast<wasm_rt_externref_t*>(
      std::calloc(std::max<std::uint32_t>(n, 1), sizeof(wasm_rt_externref_t)));
  if (t->data == nullptr) std::abort();
  t->size = n;
  t->max_size = max;
}
void externref_table_free(wasm_rt_externref_table_t* t) {
  std::free(t->data);
  t->data = nullptr;
  t->size = 0;
}
std::uint32_t externref_table_grow(wasm_rt_externref_table_t* t, std::uint32_t delta,
                                   wasm_rt_externref_t init) {
  const std::uint32_t old = t->size;
  const std::uint64_t want = std::uint64_t{old} + delta;
  if (want > t->max_size || want > (1u << 24)) return UINT32_MAX;
  if (delta == 0) return old;
  auto* d =
      static_cast<wasm_rt_externref_t*>(std::realloc(t->data, want * sizeof(wasm_rt_externref_t)));
  if (d == nullptr) return UINT32_MAX;
  for (std::uint64_t i = old; i < want; ++i) d[i] = init;
  t->data = d;
  t->size = static_cast<std::uint32_t>(want);
  return old;
}

std::uint32_t register_func_type(std::uint32_t params, std::uint32_t results,
                                 const wasm_rt_type_t* tv) {
  std::vector<int> sig;
  sig.reserve(2 + params + results);
  sig.push_back(static_cast<int>(params));
  sig.push_back(static_cast<int>(results));
  for (std::uint32_t i = 0; i < params + results; ++i) sig.push_back(static_cast<int>(tv[i]));
  TypeRegistry& r = types();
  std::lock_guard lock(r.mu);
  for (std::size_t i = 0; i < r.sigs.size(); ++i)
    if (r.sigs[i] == sig) return static_cast<std::uint32_t>(i + 1);
  r.sigs.push_back(std::move(sig));
  return static_cast<std::uint32_t>(r.sigs.size());
}

// ---------------------------------------------------------------- deadlines
std::uint64_t deadline_arm(std::chrono::steady_clock::time_point deadline,
                           const std::uint64_t** fired_gen, DeadlineToken* restore) {
  Slot& s = tl_slot.slot;
  const std::int64_t d = std::max<std::int64_t>(to_ns(deadline), 1);
  std::uint64_t gen;
  {
    std::lock_guard lock(s.mu);
    restore->prev_deadline_ns = s.deadline_ns;
    restore->prev_gen = s.gen;
    gen = ++s.next_gen;
    s.gen = gen;
    s.deadline_ns = d;
  }
  *fired_gen = &s.fired_gen;
  Watchdog::get().armed(d);
  return gen;
}

void deadline_disarm(const DeadlineToken& restore) {
  Slot& s = tl_slot.slot;
  std::lock_guard lock(s.mu);
  s.deadline_ns = restore.prev_deadline_ns;
  if (restore.prev_deadline_ns != 0) s.gen = restore.prev_gen;
}

DeadlineSuspension deadline_suspend() {
  Slot& s = tl_slot.slot;
  std::lock_guard lock(s.mu);
  DeadlineSuspension out{s.deadline_ns, s.gen};
  s.deadline_ns = 0;
  return out;
}

void deadline_resume(const DeadlineSuspension& suspended,
                     std::chrono::steady_clock::time_point deadline) {
  if (suspended.deadline_ns == 0) return;
  Slot& s = tl_slot.slot;
  const std::int64_t d = std::max<std::int64_t>(to_ns(deadline), 1);
  {
    std::lock_guard lock(s.mu);
    s.gen = suspended.gen;
    s.deadline_ns = d;
  }
  Watchdog::get().armed(d);
}

std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace wc::wasm::native
