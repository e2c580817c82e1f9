// Thread-safe wasm2c runtime support for the native tier, written against /usr/include/wasm-rt.h
// (Debian's wasm-rt-impl is not used: it keeps trap state in globals and handles signals on one
// thread). Pieces:
//   * linear memories: each memory is a reservation of 8 GiB + 64 KiB of address space
//     (PROT_NONE) behind one header page; its first `rw` bytes (the high-water mark of every
//     memory that used it) are read-write. The generated code checks every access against the
//     memory's current size (compiler.h MemoryChecks::kBounds, wasm2c's
//     WASM_RT_MEMCHECK_SIGNAL_HANDLER=0), so an access past `size` traps out of bounds even when
//     the page behind it is read-write; [size, rw) is kept zero, so memory.grow below `rw` only
//     sets the size, and growth past it only adds permissions. Protections are never removed:
//     no mprotect on the hot path and no TLB shootdown (each one an IPI to the other CPUs,
//     18 % of the host's CPU under HTTP load before, issue #14). Growth is capped by the
//     memory's max_pages, which the instantiating code sets to min(module maximum,
//     Limits::max_memory_bytes). A used reservation is reset in place (memory_reset: template
//     pages copied, other resident pages memset to zero, found with mincore) or zeroed and
//     pooled (memory_free). Measured choice and its numbers: docs/PERFORMANCE.md.
//   * funcref / externref tables (malloc'd arrays) and the process-wide function-type registry.
//   * the watchdog: one lazily started thread that, when an armed per-thread deadline passes,
//     marks it fired and sends the deadline signal to that thread (guard.h).
// Thread-safety: every function here may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <wasm-rt.h>

namespace wc::wasm::native {

/// Address space reserved per linear memory: 4 GiB index + 4 GiB static offset + access size.
inline constexpr std::uint64_t kReservationBytes = (8ull << 30) + 65536;
/// Largest page count a memory may reach (wasm_rt_memory_t::size is 32-bit).
inline constexpr std::uint32_t kMaxPages = 65535;
inline constexpr std::uint64_t kWasmPage = 65536;

/// Allocates a zeroed memory of `initial` pages; max_pages = min(max, cap of this thread's
/// current instantiation (set_alloc_cap)). Returns false when the address space is exhausted.
bool memory_allocate(wasm_rt_memory_t* mem, std::uint32_t initial, std::uint32_t max);
/// wasm memory.grow: old page count, or UINT32_MAX past max_pages / on failure.
std::uint32_t memory_grow(wasm_rt_memory_t* mem, std::uint32_t delta);
/// Returns the reservation to the pool (zeroed) or unmaps it. Null data is a no-op.
void memory_free(wasm_rt_memory_t* mem);
/// Unmaps the reservation at once (no pooling). Null data is a no-op.
void memory_unmap(wasm_rt_memory_t* mem);

/// Unmaps every pooled (free) memory reservation and bumps the trim epoch, on which the native
/// tier's per-module pools of idle instances unmap theirs too. The pool keeps up to 256 zeroed
/// reservations with their small resident footprint (<= 256 KiB each) for fast instantiation;
/// benchmarks trim it before measuring RSS.
void memory_pool_trim();
/// Incremented by each memory_pool_trim().
std::uint64_t memory_pool_trim_epoch();

/// Bytes of the memory's reservation that are read-write (its high-water mark); for tests.
std::uint64_t memory_high_water(const wasm_rt_memory_t& mem);

/// Cap (in pages) applied by memory_allocate on this thread; 0 = no cap beyond kMaxPages.
void set_alloc_cap(std::uint32_t cap_pages);
std::uint32_t alloc_cap();

/// An initialised memory, kept as its non-zero 4 KiB pages.
struct MemorySnapshot {
  std::uint32_t pages = 0;
  std::uint32_t module_max_pages = 0;       ///< the module's declared maximum (0xffffffff = none)
  std::vector<std::uint32_t> page_offsets;  ///< byte offsets of the non-zero 4 KiB pages
  std::vector<std::uint8_t> data;           ///< their contents, 4 KiB each, same order
};
/// Records `mem` (its max_pages as allocated by the module is passed separately).
MemorySnapshot memory_snapshot(const wasm_rt_memory_t& mem, std::uint32_t module_max_pages);
/// Creates `mem` from a snapshot; max_pages = min(module max, cap_pages, kMaxPages) (a cap of 0
/// pages allows no growth).
/// Returns false when the address space is exhausted.
bool memory_from_snapshot(wasm_rt_memory_t* mem, const MemorySnapshot& snap,
                          std::uint32_t cap_pages);
/// Resets a memory made from `snap` (same reservation, kept mapped and read-write) to the
/// snapshot: size snap.pages, contents the snapshot's, every other byte up to the high-water
/// mark zero; max_pages unchanged. No protection change; a footprint above 256 resident pages
/// (1 MiB) besides the template is dropped with MADV_DONTNEED instead of memset. Returns false,
/// leaving the memory as it was, when the reservation grew past 64 MiB (the caller then unmaps it).
bool memory_reset(wasm_rt_memory_t* mem, const MemorySnapshot& snap);

void funcref_table_allocate(wasm_rt_funcref_table_t* t, std::uint32_t n, std::uint32_t max);
void funcref_table_free(wasm_rt_funcref_table_t* t);
std::uint32_t funcref_table_grow(wasm_rt_funcref_table_t* t, std::uint32_t delta,
                                 wasm_rt_funcref_t init);
void externref_table_allocate(wasm_rt_externref_table_t* t, std::uint32_t n, std::uint32_t max);
void externref_table_free(wasm_rt_externref_table_t* t);
std::uint32_t externref_table_grow(wasm_rt_externref_table_t* t, std::uint32_t delta,
                                   wasm_rt_externref_t init);

/// Process-wide function-type index: equal signatures get equal indexes.
std::uint32_t register_func_type(std::uint32_t params, std::uint32_t results,
                                 const wasm_rt_type_t* types);

/// Arms the calling thread's deadline for the frame being entered. Returns the generation to
/// store in wc_frame::gen and sets *fired_gen to the word the watchdog writes. `restore` receives
/// what to pass to disarm() (supports nested guest calls on one thread).
struct DeadlineToken {
  std::int64_t prev_deadline_ns = 0;
  std::uint64_t prev_gen = 0;
};
std::uint64_t deadline_arm(std::chrono::steady_clock::time_point deadline,
                           const std::uint64_t** fired_gen, DeadlineToken* restore);
void deadline_disarm(const DeadlineToken& restore);

/// While the guest waits in a blocking `__host_call` its time does not count (tier.h
/// CallContext::deadline): deadline_suspend() takes the calling thread's armed deadline out of
/// the watchdog's sight, deadline_resume() re-arms it, with the same generation, at
/// `deadline` (the original one moved later by the time blocked). A deadline that fired before
/// the suspension stays fired. Nested guest calls made meanwhile arm and disarm their own.
struct DeadlineSuspension {
  std::int64_t deadline_ns = 0;  ///< 0 = nothing was armed
  std::uint64_t gen = 0;
};
DeadlineSuspension deadline_suspend();
void deadline_resume(const DeadlineSuspension& suspended,
                     std::chrono::steady_clock::time_point deadline);

/// Resident-set size of this process in bytes (from /proc/self/statm), for benchmarks/tests.
std::uint64_t resident_bytes();

}  // namespace wc::wasm::native
