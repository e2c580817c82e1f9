// The native compile pipeline. See compiler.h.
#include "wasm/native/compiler.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "common/encoding.h"
#include "wasm/native/glue.h"
#include "wasm/native/glue_abi.h"

extern "C" char** environ;

namespace wc::wasm::native {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

struct ProcessResult {
  int exit_code = -1;  // -1 = could not start
  std::string output;  // stdout + stderr, truncated
};

// Longest a tool may run: WC_NATIVE_COMPILE_TIMEOUT seconds (default 600).
std::chrono::seconds compile_timeout() {
  const char* t = std::getenv("WC_NATIVE_COMPILE_TIMEOUT");
  const long v = t != nullptr ? std::strtol(t, nullptr, 10) : 0;
  return std::chrono::seconds(v > 0 ? v : 600);
}

// The tool runs under a small supervisor process S forked from the calling thread:
//   host thread --fork--> S (PR_SET_PDEATHSIG SIGTERM) --fork--> tool T (own process group G)
// T (wasm2c, or the cc driver with its cc1/as/ld children) runs in process group G. S waits for
// SIGTERM or SIGCHLD: when the host thread dies (even by SIGKILL) the kernel sends S SIGTERM
// and S kills the whole group G; when T exits, S kills what is left of G (while T is still an
// unreaped zombie, so G's id cannot be reused) and exits with T's status. A death signal on T
// alone would not do: the compiler driver's own children get none. Between fork and exec only
// async-signal-safe calls are made (the host is multi-threaded).
[[noreturn]] void supervise_tool(char* const* args, const char* cwd, int out_fd, pid_t host) {
  sigset_t waitset;
  sigemptyset(&waitset);
  sigaddset(&waitset, SIGTERM);
  sigaddset(&waitset, SIGCHLD);
  sigprocmask(SIG_SETMASK, &waitset, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGTERM, &dfl, nullptr);
  sigaction(SIGCHLD, &dfl, nullptr);  // a host ignoring SIGCHLD would auto-reap the tool
  // Die with the host thread; if it already died between fork and prctl no signal would come.
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != host) _exit(126);
  const pid_t tool = fork();
  if (tool < 0) _exit(127);
  if (tool == 0) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) {
      _exit(127);
    }
    if (cwd != nullptr && chdir(cwd) != 0) _exit(127);
    // The host's sockets and files stay out of the compiler processes.
    close_range(3, ~0U, 0);
    execvp(args[0], args);
    // strerror is not async-signal-safe here: a fixed text for the caller's diagnostics.
    const char* what = args[0];
    std::size_t len = 0;
    while (what[len] != '\0') ++len;
    (void)!write(2, what, len);
    static constexpr char kMsg[] = ": cannot execute (not found or not executable)\n";
    (void)!write(2, kMsg, sizeof kMsg - 1);
    _exit(127);
  }
  setpgid(tool, tool);     // also here, so G exists before any kill(-tool) below
  close_range(0, ~0U, 0);  // S keeps no pipe end open: EOF reaches the host with T's exit
  for (;;) {
    siginfo_t si{};
    const int sig = sigwaitinfo(&waitset, &si);
    if (sig == SIGTERM) {
      kill(-tool, SIGKILL);
      _exit(128 + SIGKILL);
    }
    if (sig != SIGCHLD) continue;
    siginfo_t done{};
    if (waitid(P_PID, static_cast<id_t>(tool), &done, WEXITED | WNOHANG | WNOWAIT) != 0) continue;
    if (done.si_pid != tool) continue;
    kill(-tool, SIGKILL);  // leftovers of the group; T is a zombie, so G is still reserved
    int status = 0;
    while (waitpid(tool, &status, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
}

// The cancel flag of this thread's CancelScope (null = none).
thread_local const std::atomic<bool>* t_cancel = nullptr;

// Runs argv (PATH lookup) under supervise_tool(), capturing stdout+stderr (first 64 KiB),
// killing it (and its whole process group) after compile_timeout() or, within 100 ms, when
// this thread's CancelScope flag is set. No shell.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd = {}) {
  ProcessResult res;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return res;
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t host = getpid();
  const pid_t pid = fork();
  if (pid == 0) supervise_tool(args.data(), cwd.empty() ? nullptr : cwd.c_str(), fds[1], host);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    res.output = std::string(argv[0]) + ": " + std::strerror(errno);
    return res;
  }
  // A tool that hangs must not block the engine's compile thread forever.
  const auto deadline = std::chrono::steady_clock::now() + compile_timeout();
  char buf[4096];
  bool timed_out = false, cancelled = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    cancelled = t_cancel != nullptr && t_cancel->load();
    if (left <= 0 || cancelled) {
      timed_out = !cancelled;
      kill(pid, SIGTERM);  // the supervisor kills the tool's whole process group
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int pr = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      if (res.output.size() < 65536) res.output.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (cancelled) {
    res.exit_code = 125;
    res.output = argv[0] + " cancelled (the engine is being destroyed)\n";
  }
  if (timed_out) {
    res.exit_code = 124;
    res.output = argv[0] + " timed out after " +
                 std::to_string(
                     std::chrono::duration_cast<std::chrono::seconds>(compile_timeout()).count()) +
                 " s\n" + res.output;
  }
  return res;
}

std::string first_lines(std::string_view text, int n) {
  std::string out;
  int lines = 0;
  for (char c : text) {
    if (c == '\n' && ++lines >= n) break;
    out.push_back(c);
  }
  return out;
}

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

// wasm-rt.h (wabt 1.0.32) switches. kBounds (what the host runs): every load and store compares
// its end with the memory's current size (`mem->size`) and traps out of bounds; linear memories
// stay read-write at their high-water mark and are reset without protection changes (runtime.h).
// kGuardPages: no checks in the code, an access past the read-write part of the reservation
// faults; the bench's bare harness baseline only (the runtime no longer shrinks reservations,
// so the host must never run such code). Both: no call-depth counter (stack exhaustion hits the
// guest stack's guard page).
const char* const kBoundsCheckFlags =
    "-fPIC -shared -fvisibility=hidden -fstack-clash-protection -w "
    "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 -DWASM_RT_USE_STACK_DEPTH_COUNT=0";
const char* const kGuardPageFlags =
    "-fPIC -shared -fvisibility=hidden -fstack-clash-protection -w "
    "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1 -DWASM_RT_USE_STACK_DEPTH_COUNT=0";

const char* compile_flags(MemoryChecks checks) {
  return checks == MemoryChecks::kGuardPages ? kGuardPageFlags : kBoundsCheckFlags;
}

}  // namespace

// ----------------------------------------------------------------- toolchain
namespace {

// "<resolved path> <size> <inode> <mtime ns>" of an executable (PATH lookup), or "" if absent.
std::string exe_fingerprint(const std::string& name) {
  std::string path;
  if (name.find('/') != std::string::npos) {
    path = name;
  } else {
    const char* env = std::getenv("PATH");
    std::string dirs = env != nullptr ? env : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const auto end = std::min(dirs.find(':', start), dirs.size());
      const std::string cand =
          (end > start ? dirs.substr(start, end - start) : std::string(".")) + "/" + name;
      if (access(cand.c_str(), X_OK) == 0) {
        path = cand;
        break;
      }
      start = end + 1;
    }
  }
  if (path.empty()) return {};
  char real[PATH_MAX];
  if (realpath(path.c_str(), real) == nullptr) return {};
  struct stat st {};
  if (stat(real, &st) != 0) return {};
  return std::string(real) + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_ino) +
         " " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

CancelScope::CancelScope(const std::atomic<bool>* flag) : saved_(t_cancel) { t_cancel = flag; }
CancelScope::~CancelScope() { t_cancel = saved_; }

namespace {

std::mutex g_toolchains_mu;
std::map<std::string, Toolchain> g_toolchains;  // by compiler command; guarded by the mutex

// The toolchain without its identities yet (tc.cc, wasm2c, cflags from the environment).
Toolchain toolchain_for(const std::string& cc) {
  Toolchain tc;
  tc.cc = cc;
  const char* w = std::getenv("WC_WASM2C");
  tc.wasm2c = (w != nullptr && *w != 0) ? w : "wasm2c";
  const char* f = std::getenv("WC_NATIVE_CFLAGS");
  tc.cflags = (f != nullptr && *f != 0) ? f : "-O2";
  return tc;
}

// `<cache_dir>/toolchain-<key>.id` for these executables, "" when one of them is absent.
std::string identity_file(const Toolchain& tc, std::string_view cache_dir) {
  const auto words = split_words(tc.cc);
  if (cache_dir.empty() || words.empty()) return {};
  const std::string cc_fp = exe_fingerprint(words[0]);
  const std::string w2c_fp = exe_fingerprint(tc.wasm2c);
  if (cc_fp.empty() || w2c_fp.empty()) return {};
  const std::string k = tc.cc + "\n" + cc_fp + "\n" + tc.wasm2c + "\n" + w2c_fp;
  return std::string(cache_dir) + "/toolchain-" + hex_lower(sha256(as_bytes(k))).substr(0, 32) +
         ".id";
}

// Fills the identities from `id_file` (written by detect_toolchain); false when absent or bad.
bool read_identity(const std::string& id_file, Toolchain& tc) {
  if (id_file.empty()) return false;
  auto text = read_file(id_file);
  if (!text) return false;
  const std::string t = to_string(*text);
  const auto nl = t.find('\n');
  if (nl == std::string::npos || nl == 0 || nl + 1 >= t.size()) return false;
  tc.cc_identity = t.substr(0, nl);
  tc.wasm2c_version = trim(std::string_view(t).substr(nl + 1));
  return true;
}

}  // namespace

Result<Toolchain> known_toolchain(std::string_view c_compiler, std::string_view cache_dir) {
  const std::string key(c_compiler.empty() ? "cc" : c_compiler);
  std::lock_guard lock(g_toolchains_mu);
  if (auto it = g_toolchains.find(key); it != g_toolchains.end()) return it->second;
  Toolchain tc = toolchain_for(key);
  if (!read_identity(identity_file(tc, cache_dir), tc))
    return fail(Code::kNotFound, "toolchain not identified yet: " + key);
  g_toolchains.emplace(key, tc);
  return tc;
}

Result<Toolchain> detect_toolchain(std::string_view c_compiler, std::string_view cache_dir) {
  auto& cache = g_toolchains;
  const std::string key(c_compiler.empty() ? "cc" : c_compiler);
  std::lock_guard lock(g_toolchains_mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  Toolchain tc = toolchain_for(key);
  auto words = split_words(tc.cc);
  if (words.empty()) return fail(Code::kUnavailable, "no C compiler: empty compiler command");

  // On-disk identity, valid while both executables are unchanged.
  const std::string id_file = identity_file(tc, cache_dir);
  if (read_identity(id_file, tc)) {
    cache.emplace(key, tc);
    return tc;
  }

  auto v = words;
  v.push_back("--version");
  ProcessResult r = run_process(v);
  if (r.exit_code != 0)
    return fail(Code::kUnavailable,
                "no C compiler: `" + tc.cc + " --version` failed: " + first_lines(r.output, 2));
  tc.cc_identity = first_lines(r.output, 1);
  v = words;
  v.push_back("-dumpmachine");
  r = run_process(v);
  if (r.exit_code == 0) tc.cc_identity += " / " + first_lines(r.output, 1);

  r = run_process({tc.wasm2c, "--version"});
  if (r.exit_code != 0)
    return fail(Code::kUnavailable, "wasm2c not found: " + first_lines(r.output, 2));
  tc.wasm2c_version = trim(first_lines(r.output, 1));
  if (!id_file.empty()) {
    const std::string text = tc.cc_identity + "\n" + tc.wasm2c_version + "\n";
    (void)write_file(id_file, as_bytes(text));  // best effort
  }
  cache.emplace(key, tc);
  return tc;
}

std::string cache_path(const Toolchain& tc, std::string_view cache_dir, std::string_view sha256_hex,
                       MemoryChecks checks) {
  std::ostringstream k;
  k << "module " << sha256_hex << "\ncc " << tc.cc_identity << "\nwasm2c " << tc.wasm2c_version
    << "\nflags " << tc.cflags << ' ' << compile_flags(checks) << "\nabi " << WC_NATIVE_ABI_VERSION
    << '\n';
  const std::string text = k.str();
  const auto digest = sha256(as_bytes(text));
  std::string dir(cache_dir);
  if (!dir.empty() && dir.back() != '/') dir.push_back('/');
  return dir + hex_lower(digest) + ".so";
}

Status build_shared_object(const Toolchain& tc, std::span<const std::uint8_t> wasm,
                           std::string_view sha256_hex, const std::string& path,
                           MemoryChecks checks) {
  std::error_code ec;
  const fs::path target(path);
  fs::create_directories(target.parent_path(), ec);
  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/.build-XXXXXX", target.parent_path().c_str());
  if (mkdtemp(tmpl) == nullptr)
    return fail(Code::kInternal, std::string("native build: mkdtemp: ") + std::strerror(errno));
  const fs::path dir(tmpl);
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(d, e);
    }
  } cleanup{dir};

  const std::string prefix = "wc" + std::string(sha256_hex.substr(0, 16));
  if (auto st = write_file((dir / "module.wasm").string(), wasm); !st) return st;
  ProcessResult r =
      run_process({tc.wasm2c, "-n", prefix, "module.wasm", "-o", "module.c"}, dir.string());
  if (r.exit_code != 0) return fail(Code::kInternal, "wasm2c failed: " + first_lines(r.output, 5));
  auto c = read_file((dir / "module.c").string());
  auto h = read_file((dir / "module.h").string());
  if (!c || !h) return fail(Code::kInternal, "wasm2c produced no output");
  const std::string patched = patch_generated_c(to_string(*c));
  if (auto st = write_file((dir / "module.c").string(), as_bytes(patched)); !st) return st;
  auto glue = generate_glue(to_string(*h), "module.h", prefix);
  if (!glue) return fail(glue.error());
  if (auto st = write_file((dir / "glue.c").string(), as_bytes(*glue)); !st) return st;

  std::vector<std::string> argv = split_words(tc.cc);
  for (auto& w : split_words(tc.cflags)) argv.push_back(w);
  for (auto& w : split_words(compile_flags(checks))) argv.push_back(w);
  for (const char* a : {"-o", "module.so", "module.c", "glue.c", "-lm"}) argv.emplace_back(a);
  r = run_process(argv, dir.string());
  if (r.exit_code != 0)
    return fail(Code::kInternal, "C compiler failed (" + tc.cc + "): " + first_lines(r.output, 8));
  if (std::rename((dir / "module.so").c_str(), path.c_str()) != 0)
    return fail(Code::kInternal,
                "native build: rename into cache: " + std::string(std::strerror(errno)));
  return ok();
}

}  // namespace wc::wasm::native
