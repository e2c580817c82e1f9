// Thread-safe wasm2c runtime support. See runtime.h.
#include "wasm/native/runtime.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <time.h>
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
// A reservation whose read-write part grew past this is unmapped instead of pooled.
constexpr std::uint64_t kPoolMaxBytes = 64ull << 20;
// A reset clears at most this many resident 4 KiB pages (besides the template's) with memset; a
// larger footprint is dropped with MADV_DONTNEED, which costs a TLB shootdown and the page
// faults of the next call that touches those pages again, so memset is cheaper for any page
// that is touched again (1 MiB of memset: tens of us). The limit bounds what pooled memories
// keep resident: an idle instance of a module (runtime resets, up to 16 per module) keeps up to
// 1 MiB, a zeroed reservation in the process-wide pool (up to 256) up to 256 KiB.
constexpr std::size_t kMaxMemsetPagesInstance = 256;
constexpr std::size_t kMaxMemsetPagesPooled = 64;
constexpr int kReadWrite = PROT_READ | PROT_WRITE;

// ---------------------------------------------------------------- reservations
// Layout: one read-write header page, then the memory's kReservationBytes, of which the first
// `rw` bytes are read-write and the rest PROT_NONE. `rw` only grows (memory.grow past the
// high-water mark); it never shrinks while the reservation lives, so no protection is removed
// and no TLB shootdown happens on the hot path. Invariant while a memory uses the reservation:
// [size, rw) is zero (the guest cannot write there: the code checks bounds against `size`;
// host functions get GuestMemory{data, size}), so memory.grow below `rw` only updates the size.
struct ReservationHeader {
  std::uint64_t rw;
};
constexpr std::size_t kHeaderBytes = kOsPage;

ReservationHeader* header_of(std::uint8_t* data) {
  return reinterpret_cast<ReservationHeader*>(data - kHeaderBytes);
}

std::uint8_t* map_reservation() {
  void* m = mmap(nullptr, kHeaderBytes + kReservationBytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  if (mprotect(m, kHeaderBytes, kReadWrite) != 0) {
    munmap(m, kHeaderBytes + kReservationBytes);
    return nullptr;
  }
  // Resets count resident 4 KiB pages; a transparent huge page (THP "always") would make a
  // small footprint look like 512 pages and send every reset down the MADV_DONTNEED path.
  madvise(m, kHeaderBytes + kReservationBytes, MADV_NOHUGEPAGE);
  auto* data = static_cast<std::uint8_t*>(m) + kHeaderBytes;
  header_of(data)->rw = 0;
  return data;
}

void unmap_reservation(std::uint8_t* data) {
  munmap(data - kHeaderBytes, kHeaderBytes + kReservationBytes);
}

// Makes [0, bytes) read-write; never shrinks. False when mprotect fails.
bool ensure_rw(std::uint8_t* data, std::uint64_t bytes) {
  ReservationHeader* h = header_of(data);
  if (bytes <= h->rw) return true;
  if (mprotect(data + h->rw, bytes - h->rw, kReadWrite) != 0) return false;
  h->rw = bytes;
  return true;
}

// Whether the system has swap, re-read at most every 100 ms (sysinfo() costs about 0.5 us,
// too much per call). Without swap a non-resident anonymous page is zero; with swap it may be a
// swapped-out page of a previous guest. Window: a swap area enabled less than 100 ms before a
// reset, with a page of that reservation swapped out in between, would be missed.
bool swap_configured() {
  static std::atomic<std::int64_t> next_check_ns{0};
  static std::atomic<bool> swap{true};
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  const std::int64_t now = std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  if (now >= next_check_ns.load(std::memory_order_relaxed)) {
    struct sysinfo si {};
    swap.store(sysinfo(&si) != 0 || si.totalswap != 0, std::memory_order_relaxed);
    next_check_ns.store(now + 100'000'000, std::memory_order_relaxed);
  }
  return swap.load(std::memory_order_relaxed);
}

// Copies the snapshot's non-zero pages into `data`.
void copy_template(std::uint8_t* data, const MemorySnapshot* snap) {
  if (snap == nullptr) return;
  for (std::size_t i = 0; i < snap->page_offsets.size(); ++i)
    std::memcpy(data + snap->page_offsets[i], snap->data.data() + i * kOsPage, kOsPage);
}

// Brings [0, rw) of a used reservation back to `snap` (its non-zero pages; every other byte
// zero; null = all zero) without changing protections: mincore() finds the resident pages, the
// template's pages are copied, every other resident page is cleared with memset. A non-resident
// page is zero (never touched or dropped) unless the system has swap: then each run of them is
// dropped with MADV_DONTNEED (no present page, so no TLB shootdown). A footprint larger than
// `max_memset_pages` is dropped whole with MADV_DONTNEED. Returns false (nothing done) when the
// reservation is too big to keep.
bool reset_reservation(std::uint8_t* data, const MemorySnapshot* snap,
                       std::size_t max_memset_pages) {
  const std::uint64_t rw = header_of(data)->rw;
  if (rw > kPoolMaxBytes) return false;
  if (rw == 0) return true;
  const std::size_t pages = rw / kOsPage;
  thread_local std::vector<unsigned char> vec;  // grows to the largest reservation, then stays
  if (vec.size() < pages) vec.resize(pages);
  if (mincore(data, rw, vec.data()) != 0) {
    madvise(data, rw, MADV_DONTNEED);
    copy_template(data, snap);
    return true;
  }
  const std::uint32_t* tmpl = snap != nullptr ? snap->page_offsets.data() : nullptr;
  const std::size_t n_tmpl = snap != nullptr ? snap->page_offsets.size() : 0;
  std::size_t resident = 0;
  for (std::size_t i = 0; i < pages; ++i) resident += vec[i] & 1;
  if (resident > max_memset_pages + n_tmpl) {
    madvise(data, rw, MADV_DONTNEED);
    copy_template(data, snap);
    return true;
  }
  const bool swap = swap_configured();
  std::size_t t = 0;              // next template page
  std::size_t run_start = pages;  // start of the current run of non-resident pages (swap only)
  for (std::size_t i = 0; i <= pages; ++i) {
    const bool is_tmpl = t < n_tmpl && tmpl[t] == i * kOsPage;
    const bool clear_run = i == pages || is_tmpl || (vec[i] & 1);
    if (swap && clear_run && run_start < i) {
      madvise(data + run_start * kOsPage, (i - run_start) * kOsPage, MADV_DONTNEED);
      run_start = pages;
    }
    if (i == pages) break;
    if (is_tmpl) {
      std::memcpy(data + i * kOsPage, snap->data.data() + t * kOsPage, kOsPage);
      ++t;
    } else if (vec[i] & 1) {
      std::memset(data + i * kOsPage, 0, kOsPage);
    } else if (run_start == pages) {
      run_start = i;
    }
  }
  return true;
}

struct Pool {
  std::mutex mu;
  std::vector<std::uint8_t*> free;  // zeroed reservations (capacity kPoolLimit, reserved)
  Pool() { free.reserve(kPoolLimit); }
};
Pool& pool() {
  static Pool* p = new Pool();  // leaked: reservations may be released during exit
  return *p;
}

// A zeroed reservation whose first `rw` bytes are read-write (more may be, all zero). Pooled
// reservations keep their zeroed pages resident, so a new memory does not page-fault on the
// pages its predecessor used.
std::uint8_t* acquire(std::uint64_t rw) {
  std::uint8_t* data = nullptr;
  {
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    if (!p.free.empty()) {
      data = p.free.back();
      p.free.pop_back();
    }
  }
  if (data == nullptr) data = map_reservation();
  if (data == nullptr) return nullptr;
  if (!ensure_rw(data, rw)) {
    unmap_reservation(data);
    return nullptr;
  }
  return data;
}

// Zeroes a used reservation and pools it (or unmaps it when too big or the pool is full).
void release(std::uint8_t* data) {
  if (data == nullptr) return;
  if (!reset_reservation(data, nullptr, kMaxMemsetPagesPooled)) {
    unmap_reservation(data);
    return;
  }
  {
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    if (p.free.size() < kPoolLimit) {
      p.free.push_back(data);
      return;
    }
  }
  unmap_reservation(data);
}

std::atomic<std::uint64_t> g_trim_epoch{0};

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
  // [size, rw) is zero (see ReservationHeader); only growth past the high-water mark changes a
  // protection (adding permissions: no TLB shootdown).
  if (!ensure_rw(mem->data, want * kWasmPage)) return UINT32_MAX;
  mem->pages = static_cast<std::uint32_t>(want);
  mem->size = static_cast<std::uint32_t>(want * kWasmPage);
  return old;
}

void memory_free(wasm_rt_memory_t* mem) {
  if (mem->data == nullptr) return;
  release(mem->data);
  mem->data = nullptr;
  mem->pages = 0;
  mem->size = 0;
}

void memory_unmap(wasm_rt_memory_t* mem) {
  if (mem->data == nullptr) return;
  unmap_reservation(mem->data);
  mem->data = nullptr;
  mem->pages = 0;
  mem->size = 0;
}

void memory_pool_trim() {
  g_trim_epoch.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::uint8_t*> entries;
  entries.reserve(kPoolLimit);
  {
    Pool& p = pool();
    std::lock_guard lock(p.mu);
    entries.swap(p.free);
    p.free.reserve(kPoolLimit);
  }
  for (std::uint8_t* e : entries) unmap_reservation(e);
}

std::uint64_t memory_pool_trim_epoch() { return g_trim_epoch.load(std::memory_order_relaxed); }

std::uint64_t memory_high_water(const wasm_rt_memory_t& mem) {
  return mem.data != nullptr ? header_of(mem.data)->rw : 0;
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
  copy_template(base, &snap);
  mem->data = base;
  mem->pages = snap.pages;
  mem->max_pages = std::min({snap.module_max_pages, cap_pages, kMaxPages});
  mem->size = static_cast<std::uint32_t>(std::uint64_t{snap.pages} * kWasmPage);
  return true;
}

bool memory_reset(wasm_rt_memory_t* mem, const MemorySnapshot& snap) {
  if (mem->data == nullptr || !reset_reservation(mem->data, &snap, kMaxMemsetPagesInstance))
    return false;
  mem->pages = snap.pages;
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
