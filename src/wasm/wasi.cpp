// WASI preview 1 as the 0.63 host sets it up (spec/actor-rpc-providers.md 1.7): argv
// `main.wasm`, empty environment, no preopened directories, stdin at EOF, stdout/stderr to the
// LogHandler, real clocks, OS randomness (libsodium), clock sleeps in poll_oneoff, proc_exit as a
// trap; everything else fails with EBADF / ENOTSUP / ENOSYS. Shared by both tiers; stateless.
#include <sodium.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>

#include "wasm/abi.h"
#include "wasm/tier.h"

namespace wc::wasm {

namespace {

// WASI errno values (preview 1).
constexpr std::uint32_t kSuccess = 0;
constexpr std::uint32_t kEbadf = 8;
constexpr std::uint32_t kEfault = 21;
constexpr std::uint32_t kEinval = 28;
constexpr std::uint32_t kEnosys = 52;
constexpr std::uint32_t kEnotsup = 58;
constexpr std::uint32_t kEspipe = 70;

struct WasiFn {
  std::string_view name;
  std::string_view params;
  std::string_view results;
};

// Spec 1.7's full preview-1 list with wasm signatures.
constexpr WasiFn kWasiFns[] = {
    {"args_get", "ii", "i"},
    {"args_sizes_get", "ii", "i"},
    {"environ_get", "ii", "i"},
    {"environ_sizes_get", "ii", "i"},
    {"clock_res_get", "ii", "i"},
    {"clock_time_get", "iIi", "i"},
    {"fd_advise", "iIIi", "i"},
    {"fd_allocate", "iII", "i"},
    {"fd_close", "i", "i"},
    {"fd_datasync", "i", "i"},
    {"fd_fdstat_get", "ii", "i"},
    {"fd_fdstat_set_flags", "ii", "i"},
    {"fd_fdstat_set_rights", "iII", "i"},
    {"fd_filestat_get", "ii", "i"},
    {"fd_filestat_set_size", "iI", "i"},
    {"fd_filestat_set_times", "iIIi", "i"},
    {"fd_pread", "iiiIi", "i"},
    {"fd_prestat_get", "ii", "i"},
    {"fd_prestat_dir_name", "iii", "i"},
    {"fd_pwrite", "iiiIi", "i"},
    {"fd_read", "iiii", "i"},
    {"fd_readdir", "iiiIi", "i"},
    {"fd_renumber", "ii", "i"},
    {"fd_seek", "iIii", "i"},
    {"fd_sync", "i", "i"},
    {"fd_tell", "ii", "i"},
    {"fd_write", "iiii", "i"},
    {"path_create_directory", "iii", "i"},
    {"path_filestat_get", "iiiii", "i"},
    {"path_filestat_set_times", "iiiiIIi", "i"},
    {"path_link", "iiiiiii", "i"},
    {"path_open", "iiiiiIIii", "i"},
    {"path_readlink", "iiiiii", "i"},
    {"path_remove_directory", "iii", "i"},
    {"path_rename", "iiiiii", "i"},
    {"path_symlink", "iiiii", "i"},
    {"path_unlink_file", "iii", "i"},
    {"poll_oneoff", "iiii", "i"},
    {"proc_exit", "i", ""},
    {"proc_raise", "i", "i"},
    {"sched_yield", "", "i"},
    {"random_get", "ii", "i"},
    {"sock_accept", "iii", "i"},
    {"sock_recv", "iiiiii", "i"},
    {"sock_send", "iiiii", "i"},
    {"sock_shutdown", "ii", "i"},
};

constexpr std::string_view kArgv0 = "main.wasm";

bool is_stdio(std::uint32_t fd) { return fd <= 2; }

/// Little-endian stores into guest memory; false when out of bounds.
bool store_u8(GuestMemory mem, std::uint32_t ptr, std::uint8_t v) {
  auto s = mem.slice(ptr, 1);
  if (!s) return false;
  (*s)[0] = v;
  return true;
}
bool store_u16(GuestMemory mem, std::uint32_t ptr, std::uint16_t v) {
  auto s = mem.slice(ptr, 2);
  if (!s) return false;
  for (int i = 0; i < 2; ++i) (*s)[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return true;
}
bool store_u32(GuestMemory mem, std::uint32_t ptr, std::uint32_t v) {
  auto s = mem.slice(ptr, 4);
  if (!s) return false;
  for (int i = 0; i < 4; ++i) (*s)[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return true;
}
bool store_u64(GuestMemory mem, std::uint32_t ptr, std::uint64_t v) {
  auto s = mem.slice(ptr, 8);
  if (!s) return false;
  for (int i = 0; i < 8; ++i) (*s)[i] = static_cast<std::uint8_t>(v >> (8 * i));
  return true;
}
bool load_u32(GuestMemory mem, std::uint32_t ptr, std::uint32_t* v) {
  auto s = mem.slice(ptr, 4);
  if (!s) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<std::uint32_t>((*s)[i]) << (8 * i);
  return true;
}
bool load_u64(GuestMemory mem, std::uint32_t ptr, std::uint64_t* v) {
  auto s = mem.slice(ptr, 8);
  if (!s) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= static_cast<std::uint64_t>((*s)[i]) << (8 * i);
  return true;
}

/// Maps a WASI clock id to a POSIX clock; false for unknown ids.
bool posix_clock(std::uint32_t id, clockid_t* out) {
  switch (id) {
    case 0:
      *out = CLOCK_REALTIME;
      return true;
    case 1:
      *out = CLOCK_MONOTONIC;
      return true;
    case 2:
      *out = CLOCK_PROCESS_CPUTIME_ID;
      return true;
    case 3:
      *out = CLOCK_THREAD_CPUTIME_ID;
      return true;
    default:
      return false;
  }
}

std::uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // cannot happen on Linux; no safe fallback for RNG
  });
}

/// fd_write on stdout/stderr: gathers the iovecs and forwards them to the log handler.
std::uint32_t fd_write(GuestMemory mem, std::span<const std::uint64_t> a, const LogHandler& log) {
  const auto fd = static_cast<std::uint32_t>(a[0]);
  const auto iovs = static_cast<std::uint32_t>(a[1]);
  const auto iovs_len = static_cast<std::uint32_t>(a[2]);
  const auto nwritten = static_cast<std::uint32_t>(a[3]);
  if (fd != 1 && fd != 2) return kEbadf;
  std::string text;
  std::uint64_t total = 0;
  for (std::uint32_t i = 0; i < iovs_len; ++i) {
    std::uint32_t buf = 0, len = 0;
    const std::uint64_t at = iovs + 8ull * i;
    if (at + 8 > mem.size) return kEfault;
    if (!load_u32(mem, static_cast<std::uint32_t>(at), &buf) ||
        !load_u32(mem, static_cast<std::uint32_t>(at + 4), &len))
      return kEfault;
    auto bytes = mem.slice(buf, len);
    if (!bytes) return kEfault;
    text.append(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    total += len;
  }
  if (!store_u32(mem, nwritten, static_cast<std::uint32_t>(total))) return kEfault;
  if (log && !text.empty()) {
    try {
      log(fd == 1 ? "stdout" : "stderr", text);
    } catch (...) {  // logging must never fail the guest
    }
  }
  return kSuccess;
}

/// poll_oneoff: clock subscriptions sleep (bounded by the invocation deadline); stdin reads and
/// stdout/stderr writes are ready at once; other fds report EBADF.
/// Subscription layout: preview 1 (48 bytes, clock id at +16) or snapshot 0 (56 bytes, a u64
/// identifier first so the clock id is at +24). Events are 32 bytes in both.
struct SubscriptionLayout {
  std::uint32_t size;
  std::uint32_t clock_id;  ///< offset of clock id; timeout at +8, flags at +24 from it
};
constexpr SubscriptionLayout kPreview1Subscription{48, 16};
constexpr SubscriptionLayout kSnapshot0Subscription{56, 24};

std::uint32_t poll_oneoff(GuestMemory mem, std::span<const std::uint64_t> a,
                          std::chrono::steady_clock::time_point deadline,
                          SubscriptionLayout layout) {
  const auto in = static_cast<std::uint32_t>(a[0]);
  const auto out = static_cast<std::uint32_t>(a[1]);
  const auto nsubs = static_cast<std::uint32_t>(a[2]);
  const auto nevents_ptr = static_cast<std::uint32_t>(a[3]);
  if (nsubs == 0) return kEinval;
  if (static_cast<std::uint64_t>(in) + std::uint64_t{layout.size} * nsubs > mem.size ||
      static_cast<std::uint64_t>(out) + 32ull * nsubs > mem.size)
    return kEfault;

  struct Sub {
    std::uint64_t userdata;
    std::uint8_t tag;
    std::uint64_t wake_mono;  // clock subscriptions: CLOCK_MONOTONIC deadline in ns
    std::uint32_t fd;
  };
  std::vector<Sub> subs;
  bool any_fd_ready = false;
  for (std::uint32_t i = 0; i < nsubs; ++i) {
    const std::uint32_t base = in + layout.size * i;
    Sub s{};
    load_u64(mem, base, &s.userdata);
    s.tag = mem.data[base + 8];
    if (s.tag == 0) {
      std::uint32_t id = 0;
      std::uint64_t timeout = 0;
      const std::uint32_t c = base + layout.clock_id;
      load_u32(mem, c, &id);
      load_u64(mem, c + 8, &timeout);
      const auto flags = static_cast<std::uint16_t>(mem.data[c + 24] | (mem.data[c + 25] << 8));
      clockid_t clock{};
      if (!posix_clock(id, &clock)) return kEinval;
      const std::uint64_t now = now_ns(clock);
      std::uint64_t relative = timeout;
      if (flags & 1) relative = timeout > now ? timeout - now : 0;  // absolute time
      s.wake_mono = now_ns(CLOCK_MONOTONIC) + relative;
    } else if (s.tag == 1 || s.tag == 2) {
      load_u32(mem, base + 16, &s.fd);
      any_fd_ready = true;
    } else {
      return kEinval;
    }
    subs.push_back(s);
  }

  if (!any_fd_ready) {
    std::uint64_t wake = UINT64_MAX;
    for (const auto& s : subs) wake = std::min(wake, s.wake_mono);
    const std::uint64_t now = now_ns(CLOCK_MONOTONIC);
    if (wake > now) {
      auto sleep_until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(wake - now);
      std::this_thread::sleep_until(std::min(sleep_until, deadline));
    }
  }

  const std::uint64_t now = now_ns(CLOCK_MONOTONIC);
  std::uint32_t nevents = 0;
  for (const auto& s : subs) {
    std::uint16_t error = 0;
    if (s.tag == 0) {
      if (any_fd_ready || s.wake_mono > now) continue;
    } else {
      const bool ok = (s.tag == 1 && s.fd == 0) || (s.tag == 2 && (s.fd == 1 || s.fd == 2));
      error = ok ? 0 : static_cast<std::uint16_t>(kEbadf);
    }
    const std::uint32_t ev = out + 32 * nevents;
    std::memset(mem.data + ev, 0, 32);
    store_u64(mem, ev, s.userdata);
    store_u16(mem, ev + 8, error);
    store_u8(mem, ev + 10, s.tag);
    if (s.tag == 1 && error == 0) store_u16(mem, ev + 24, 1);  // stdin: hangup (EOF)
    ++nevents;
  }
  if (!store_u32(mem, nevents_ptr, nevents)) return kEfault;
  return kSuccess;
}

/// Functions whose `wasi_unstable` (snapshot 0) memory layout differs from preview 1 in what
/// this host writes or reads; resolved to these internal names (see wasi_unstable_variant).
constexpr std::string_view kUnstableVariants[] = {"unstable.fd_filestat_get",
                                                  "unstable.poll_oneoff"};
constexpr std::string_view kUnstablePrefix = "unstable.";

}  // namespace

std::string_view wasi_unstable_variant(std::string_view name) {
  for (auto v : kUnstableVariants)
    if (v.substr(kUnstablePrefix.size()) == name) return v;
  return {};
}

bool wasi_signature(std::string_view name, std::string_view* canonical, std::string_view* params,
                    std::string_view* results) {
  if (name.starts_with(kUnstablePrefix)) {
    auto variant = wasi_unstable_variant(name.substr(kUnstablePrefix.size()));
    if (variant.empty()) return false;
    if (!wasi_signature(name.substr(kUnstablePrefix.size()), nullptr, params, results))
      return false;
    if (canonical) *canonical = variant;
    return true;
  }
  for (const auto& fn : kWasiFns) {
    if (fn.name != name) continue;
    if (canonical) *canonical = fn.name;
    if (params) *params = fn.params;
    if (results) *results = fn.results;
    return true;
  }
  return false;
}

bool wasi_provides(std::string_view name) {
  return wasi_signature(name, nullptr, nullptr, nullptr);
}

Result<std::uint32_t> wasi_call(std::string_view name, GuestMemory mem,
                                std::span<const std::uint64_t> args, const LogHandler& log) {
  return wasi_call(name, mem, args, log, std::chrono::steady_clock::time_point::max());
}

Result<std::uint32_t> wasi_call(std::string_view name, GuestMemory mem,
                                std::span<const std::uint64_t> args, const LogHandler& log,
                                std::chrono::steady_clock::time_point deadline) {
  std::string_view params;
  if (!wasi_signature(name, nullptr, &params, nullptr)) return kEnosys;
  if (args.size() < params.size()) return kEinval;
  const auto a = [&](std::size_t i) { return static_cast<std::uint32_t>(args[i]); };

  if (name == "proc_exit") {
    return fail(Code::kTrap,
                std::string(kProcExitPrefix) + std::to_string(static_cast<std::int32_t>(a(0))));
  }
  if (name == "args_sizes_get") {
    if (!store_u32(mem, a(0), 1) ||
        !store_u32(mem, a(1), static_cast<std::uint32_t>(kArgv0.size() + 1)))
      return kEfault;
    return kSuccess;
  }
  if (name == "args_get") {
    auto buf = mem.slice(a(1), static_cast<std::uint32_t>(kArgv0.size() + 1));
    if (!buf || !store_u32(mem, a(0), a(1))) return kEfault;
    std::memcpy(buf->data(), kArgv0.data(), kArgv0.size());
    (*buf)[kArgv0.size()] = 0;
    return kSuccess;
  }
  if (name == "environ_sizes_get") {
    if (!store_u32(mem, a(0), 0) || !store_u32(mem, a(1), 0)) return kEfault;
    return kSuccess;
  }
  if (name == "environ_get") return kSuccess;
  if (name == "clock_res_get") {
    clockid_t clock{};
    if (!posix_clock(a(0), &clock)) return kEinval;
    timespec ts{};
    clock_getres(clock, &ts);
    const std::uint64_t res = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
                              static_cast<std::uint64_t>(ts.tv_nsec);
    return store_u64(mem, a(1), res == 0 ? 1 : res) ? kSuccess : kEfault;
  }
  if (name == "clock_time_get") {
    clockid_t clock{};
    if (!posix_clock(a(0), &clock)) return kEinval;
    return store_u64(mem, a(2), now_ns(clock)) ? kSuccess : kEfault;
  }
  if (name == "random_get") {
    auto buf = mem.slice(a(0), a(1));
    if (!buf) return kEfault;
    ensure_sodium();
    if (!buf->empty()) randombytes_buf(buf->data(), buf->size());
    return kSuccess;
  }
  if (name == "sched_yield") {
    std::this_thread::yield();
    return kSuccess;
  }
  if (name == "poll_oneoff") return poll_oneoff(mem, args, deadline, kPreview1Subscription);
  if (name == "unstable.poll_oneoff")
    return poll_oneoff(mem, args, deadline, kSnapshot0Subscription);
  if (name == "unstable.fd_filestat_get") {
    // snapshot 0 filestat: 56 bytes (u32 nlink), filetype at +16
    if (!is_stdio(a(0))) return kEbadf;
    auto buf = mem.slice(a(1), 56);
    if (!buf) return kEfault;
    std::memset(buf->data(), 0, 56);
    (*buf)[16] = 2;  // filetype: character_device
    return kSuccess;
  }
  if (name == "proc_raise") return kEnosys;
  if (name.starts_with("sock_")) return kEnotsup;
  if (name.starts_with("path_")) return kEbadf;  // no preopened directories
  if (name == "fd_write") return fd_write(mem, args, log);
  if (name == "fd_read") {
    if (a(0) != 0) return kEbadf;
    return store_u32(mem, a(3), 0) ? kSuccess : kEfault;  // stdin: empty stream
  }
  if (name == "fd_prestat_get" || name == "fd_prestat_dir_name") return kEbadf;
  if (name == "fd_close") return is_stdio(a(0)) ? kSuccess : kEbadf;
  if (name == "fd_fdstat_get") {
    const std::uint32_t fd = a(0);
    if (!is_stdio(fd)) return kEbadf;
    auto buf = mem.slice(a(1), 24);
    if (!buf) return kEfault;
    std::memset(buf->data(), 0, 24);
    (*buf)[0] = 2;  // filetype: character_device
    // rights: fd_read (bit 1) for stdin, fd_write (bit 6) for stdout/stderr, plus poll (bit 27)
    const std::uint64_t rights = (fd == 0 ? (1ull << 1) : (1ull << 6)) | (1ull << 27);
    store_u64(mem, a(1) + 8, rights);
    return kSuccess;
  }
  if (name == "fd_filestat_get") {
    if (!is_stdio(a(0))) return kEbadf;
    auto buf = mem.slice(a(1), 64);
    if (!buf) return kEfault;
    std::memset(buf->data(), 0, 64);
    (*buf)[16] = 2;  // filetype: character_device
    return kSuccess;
  }
  if (name == "fd_seek" || name == "fd_tell") return is_stdio(a(0)) ? kEspipe : kEbadf;
  if (name.starts_with("fd_")) return is_stdio(a(0)) ? kEnotsup : kEbadf;
  return kEnosys;
}

}  // namespace wc::wasm
