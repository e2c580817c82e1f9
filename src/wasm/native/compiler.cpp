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
#include "wasm/native/glue_abi.h"

extern "C" const char wc_glue_abi_text[];
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

// Runs argv (PATH lookup) under supervise_tool(), capturing stdout+stderr (first 64 KiB),
// killing it (and its whole process group) after compile_timeout(). No shell.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& cwd = {}) {
  ProcessResult res;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return res;
  std::vector<char*> args;
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
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      timed_out = true;
      kill(pid, SIGTERM);  // the supervisor kills the tool's whole process group
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int pr = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
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

// wasm-rt.h (wabt 1.0.32) switches: bounds checks by guard pages + signal handler, no call-depth
// counter (stack exhaustion hits the guest stack's guard page). The runtime relies on both.
const char* kCompileFlags =
    "-fPIC -shared -fvisibility=hidden -fstack-clash-protection -w "
    "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1 -DWASM_RT_USE_STACK_DEPTH_COUNT=0";

// ----------------------------------------------------------------- header parsing
std::string c_string_literal(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == ':' || c == ' ') {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\%03o", c);
      out += b;
    }
  }
  return out + "\"";
}

// "u32" -> 'i' etc.; 0 when not a scalar type.
char letter_of(std::string_view t) {
  if (t == "u32") return 'i';
  if (t == "u64") return 'I';
  if (t == "f32") return 'f';
  if (t == "f64") return 'F';
  return 0;
}

struct Decl {
  std::string ret;
  std::string name;
  std::vector<std::string> params;
};

// Parses "RET NAME(P1, P2);" (parameter names, if any, are dropped).
bool parse_decl(std::string_view line, Decl* d) {
  const std::string l = trim(line);
  const auto open = l.find('(');
  const auto close = l.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  const std::string head = trim(std::string_view(l).substr(0, open));
  const auto sp = head.find_last_of(" *");
  if (sp == std::string::npos) return false;
  d->name = head.substr(sp + 1);
  d->ret = trim(std::string_view(head).substr(0, sp + 1));
  d->params.clear();
  std::string cur;
  for (char c : std::string_view(l).substr(open + 1, close - open - 1)) {
    if (c == ',') {
      d->params.push_back(trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!trim(cur).empty()) d->params.push_back(trim(cur));
  return !d->name.empty();
}

// Extracts the two quoted names of "/* import: 'a' 'b' */" or the one of "/* export: 'a' */".
std::vector<std::string> quoted_names(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    const auto a = line.find('\'', i);
    if (a == std::string_view::npos) break;
    const auto b = line.find('\'', a + 1);
    if (b == std::string_view::npos) break;
    out.emplace_back(line.substr(a + 1, b - a - 1));
    i = b + 1;
  }
  return out;
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

Result<Toolchain> detect_toolchain(std::string_view c_compiler, std::string_view cache_dir) {
  static std::mutex mu;
  static std::map<std::string, Toolchain> cache;
  const std::string key(c_compiler.empty() ? "cc" : c_compiler);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;

  Toolchain tc;
  tc.cc = key;
  const char* w = std::getenv("WC_WASM2C");
  tc.wasm2c = (w != nullptr && *w != 0) ? w : "wasm2c";
  const char* f = std::getenv("WC_NATIVE_CFLAGS");
  tc.cflags = (f != nullptr && *f != 0) ? f : "-O2";

  auto words = split_words(tc.cc);
  if (words.empty()) return fail(Code::kUnavailable, "no C compiler: empty compiler command");

  // On-disk identity, valid while both executables are unchanged.
  std::string id_file;
  if (!cache_dir.empty()) {
    const std::string cc_fp = exe_fingerprint(words[0]);
    const std::string w2c_fp = exe_fingerprint(tc.wasm2c);
    if (!cc_fp.empty() && !w2c_fp.empty()) {
      const std::string k = tc.cc + "\n" + cc_fp + "\n" + tc.wasm2c + "\n" + w2c_fp;
      id_file = std::string(cache_dir) + "/toolchain-" +
                hex_lower(sha256(as_bytes(k))).substr(0, 32) + ".id";
      if (auto text = read_file(id_file)) {
        const std::string t = to_string(*text);
        const auto nl = t.find('\n');
        if (nl != std::string::npos && nl > 0 && nl + 1 < t.size()) {
          tc.cc_identity = t.substr(0, nl);
          tc.wasm2c_version = trim(std::string_view(t).substr(nl + 1));
          cache.emplace(key, tc);
          return tc;
        }
      }
    }
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

std::string cache_path(const Toolchain& tc, std::string_view cache_dir,
                       std::string_view sha256_hex) {
  std::ostringstream k;
  k << "module " << sha256_hex << "\ncc " << tc.cc_identity << "\nwasm2c " << tc.wasm2c_version
    << "\nflags " << tc.cflags << ' ' << kCompileFlags << "\nabi " << WC_NATIVE_ABI_VERSION << '\n';
  const std::string text = k.str();
  const auto digest = sha256(as_bytes(text));
  std::string dir(cache_dir);
  if (!dir.empty() && dir.back() != '/') dir.push_back('/');
  return dir + hex_lower(digest) + ".so";
}

// ----------------------------------------------------------------- glue
Result<std::string> generate_glue(std::string_view header, std::string_view header_file,
                                  std::string_view prefix) {
  const std::string inst_t = "Z_" + std::string(prefix) + "_instance_t";
  std::vector<std::string> lines;
  {
    std::string cur;
    for (char c : header) {
      if (c == '\n') {
        lines.push_back(std::move(cur));
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    lines.push_back(cur);
  }
  auto unsupported = [](const std::string& what) {
    return fail(Code::kUnsupported, "native tier: " + what);
  };

  // Instance struct fields.
  struct ImportField {
    std::string type;  // "struct Z_x_instance_t"
    std::string field;
  };
  std::vector<ImportField> import_fields;
  std::vector<std::string> memories, funcref_tables, externref_tables;
  bool in_struct = false, saw_struct = false;
  std::string instantiate_line;
  struct Imp {
    std::string module, field;
    Decl decl;
  };
  std::vector<Imp> imports;
  std::map<std::string, Decl> exports;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string l = trim(lines[i]);
    if (l == "typedef struct " + inst_t + " {") {
      in_struct = saw_struct = true;
      continue;
    }
    if (in_struct) {
      if (l.rfind("}", 0) == 0) {
        in_struct = false;
        continue;
      }
      if (l.empty()) continue;
      std::string decl = l;
      if (decl.back() != ';') return unsupported("unexpected instance field `" + l + "`");
      decl.pop_back();
      const auto sp = decl.find_last_of(" *");
      if (sp == std::string::npos) return unsupported("unexpected instance field `" + l + "`");
      const std::string type = trim(std::string_view(decl).substr(0, sp + 1));
      const std::string name = decl.substr(sp + 1);
      if (type.rfind("struct Z_", 0) == 0 && type.back() == '*') {
        import_fields.push_back({trim(std::string_view(type).substr(0, type.size() - 1)), name});
      } else if (type == "wasm_rt_memory_t") {
        memories.push_back(name);
      } else if (type == "wasm_rt_funcref_table_t") {
        funcref_tables.push_back(name);
      } else if (type == "wasm_rt_externref_table_t") {
        externref_tables.push_back(name);
      } else if (letter_of(type) == 0) {
        return unsupported("imported memory, table or global (`" + l + "`)");
      }
      continue;
    }
    if (l.rfind("void Z_" + std::string(prefix) + "_instantiate(", 0) == 0) {
      instantiate_line = l;
      continue;
    }
    if (l.rfind("/* import: ", 0) == 0 && i + 1 < lines.size()) {
      auto q = quoted_names(l);
      Decl d;
      if (q.size() != 2 || !parse_decl(lines[i + 1], &d) || d.params.empty())
        return unsupported("non-function import `" + l + "`");
      imports.push_back({q[0], q[1], d});
      ++i;
      continue;
    }
    if (l.rfind("/* export: ", 0) == 0 && i + 1 < lines.size()) {
      auto q = quoted_names(l);
      Decl d;
      if (q.size() == 1 && parse_decl(lines[i + 1], &d)) exports[q[0]] = d;
      ++i;
      continue;
    }
  }
  if (!saw_struct) return unsupported("instance struct not found in wasm2c header");
  if (memories.size() != 1) return unsupported("module must define exactly one memory");

  Decl inst_decl;
  if (!parse_decl(instantiate_line, &inst_decl))
    return unsupported("instantiate declaration not found in wasm2c header");

  std::ostringstream g;
  g << "/* Generated by wasmcloud-cpp (src/wasm/native/compiler.cpp). Do not edit. */\n"
    << "#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n"
    << "#include \"" << header_file << "\"\n"
    << "#if !WASM_RT_MEMCHECK_SIGNAL_HANDLER || WASM_RT_USE_STACK_DEPTH_COUNT\n"
    << "#error \"the wasmcloud-cpp native runtime needs guard-page bounds checks\"\n"
    << "#endif\n"
    << "#define WC_TRAP_HOST " << WC_TRAP_HOST << "\n"
    << wc_glue_abi_text << "\n"
    << "static const wc_rt_api* rt;\n"
    << "typedef " << inst_t << " I;\n"
    << "void wasm_rt_trap(wasm_rt_trap_t c) { rt->trap((int32_t)c); __builtin_unreachable(); }\n"
    << "bool wasm_rt_is_initialized(void) { return true; }\n"
    << "void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t i, uint32_t x) "
       "{ rt->allocate_memory(m, i, x); }\n"
    << "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t d) "
       "{ return rt->grow_memory(m, d); }\n"
    << "void wasm_rt_free_memory(wasm_rt_memory_t* m) { rt->free_memory(m); }\n"
    << "void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t n, uint32_t x) "
       "{ rt->allocate_funcref_table(t, n, x); }\n"
    << "void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) "
       "{ rt->free_funcref_table(t); }\n"
    << "uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t d, "
       "wasm_rt_funcref_t v) { return rt->grow_funcref_table(t, d, v); }\n"
    << "void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t n, "
       "uint32_t x) { rt->allocate_externref_table(t, n, x); }\n"
    << "void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) "
       "{ rt->free_externref_table(t); }\n"
    << "uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t d, "
       "wasm_rt_externref_t v) { return rt->grow_externref_table(t, d, v); }\n"
    << "uint32_t wasm_rt_register_func_type(uint32_t p, uint32_t r, ...) {\n"
       "  wasm_rt_type_t t[p + r + 1]; va_list ap; va_start(ap, r);\n"
       "  for (uint32_t i = 0; i < p + r; ++i) t[i] = (wasm_rt_type_t)va_arg(ap, int);\n"
       "  va_end(ap); return rt->register_func_type(p, r, t);\n}\n";

  // Import trampolines.
  std::ostringstream table;
  for (std::size_t k = 0; k < imports.size(); ++k) {
    const Imp& imp = imports[k];
    const Decl& d = imp.decl;
    const std::string ctx_type =
        trim(std::string_view(d.params[0])
                 .substr(0, d.params[0].find('*') == std::string::npos ? d.params[0].size()
                                                                       : d.params[0].find('*')));
    std::string field;
    for (const auto& f : import_fields)
      if (f.type == ctx_type) field = f.field;
    if (field.empty())
      return unsupported("import context field for `" + imp.module + "` not found");
    std::string params, results;
    for (std::size_t p = 1; p < d.params.size(); ++p) {
      const char c = letter_of(d.params[p]);
      if (c == 0) return unsupported("import parameter type `" + d.params[p] + "`");
      params.push_back(c);
    }
    if (d.ret != "void") {
      const char c = letter_of(d.ret);
      if (c == 0) return unsupported("import result type `" + d.ret + "`");
      results.push_back(c);
    }
    g << d.ret << ' ' << d.name << '(' << d.params[0] << " ctx";
    for (std::size_t p = 1; p < d.params.size(); ++p) g << ", " << d.params[p] << " a" << p;
    g << ") {\n  uint64_t args[" << (params.size() + 1) << "] = {";
    for (std::size_t p = 1; p < d.params.size(); ++p) {
      const char c = params[p - 1];
      if (c == 'i' || c == 'I') {
        g << "(uint64_t)a" << p << ", ";
      } else if (c == 'f') {
        g << "0, ";
      } else {
        g << "0, ";
      }
    }
    g << "0};\n";
    for (std::size_t p = 1; p < d.params.size(); ++p) {
      const char c = params[p - 1];
      if (c == 'f')
        g << "  { uint32_t b; memcpy(&b, &a" << p << ", 4); args[" << p - 1 << "] = b; }\n";
      if (c == 'F') g << "  memcpy(&args[" << p - 1 << "], &a" << p << ", 8);\n";
    }
    g << "  uint64_t r = 0;\n"
      << "  void* inst = (char*)ctx - offsetof(I, " << field << ");\n"
      << "  if (rt->call_import(inst, " << k << "u, args, " << params.size()
      << "u, &r)) rt->trap(WC_TRAP_HOST);\n";
    if (d.ret == "u32") g << "  return (u32)r;\n";
    if (d.ret == "u64") g << "  return (u64)r;\n";
    if (d.ret == "f32")
      g << "  { uint32_t b = (uint32_t)r; f32 v; memcpy(&v, &b, 4); return v; }\n";
    if (d.ret == "f64") g << "  { f64 v; memcpy(&v, &r, 8); return v; }\n";
    if (d.ret == "void") g << "  (void)r;\n";
    g << "}\n";
    table << "  {" << c_string_literal(imp.module) << ", " << c_string_literal(imp.field) << ", "
          << c_string_literal(params) << ", " << c_string_literal(results) << "},\n";
  }
  if (!imports.empty()) g << "static const wc_import_desc imports[] = {\n" << table.str() << "};\n";

  auto offsets = [&](const char* name, const std::vector<std::string>& fields) {
    if (fields.empty()) return;
    g << "static const size_t " << name << "[] = {";
    for (const auto& f : fields) g << "offsetof(I, " << f << "), ";
    g << "};\n";
  };
  offsets("mem_offsets", memories);
  offsets("funcref_offsets", funcref_tables);
  offsets("externref_offsets", externref_tables);

  // instantiate / relocate: import context pointers point at their own field (so direct calls
  // and wasm2c 1.0.32's table entries for imported functions, which use the field's address,
  // both pass the same pointer).
  g << "static void g_instantiate(void* p) {\n  I* inst = (I*)p;\n  " << inst_decl.name << "(inst";
  for (std::size_t p = 1; p < inst_decl.params.size(); ++p) {
    const std::string t =
        trim(std::string_view(inst_decl.params[p]).substr(0, inst_decl.params[p].find('*')));
    std::string field;
    for (const auto& f : import_fields)
      if (f.type == t) field = f.field;
    if (field.empty()) return unsupported("instantiate parameter `" + inst_decl.params[p] + "`");
    g << ", (" << t << "*)&inst->" << field;
  }
  g << ");\n}\n";
  g << "static void g_relocate(void* p) {\n  I* inst = (I*)p;\n  (void)inst;\n";
  for (const auto& f : import_fields)
    g << "  inst->" << f.field << " = (" << f.type << "*)&inst->" << f.field << ";\n";
  g << "}\n";

  auto export_fn = [&](const std::string& name, const std::string& ret,
                       std::size_t nparams) -> const Decl* {
    auto it = exports.find(name);
    if (it == exports.end()) return nullptr;
    const Decl& d = it->second;
    if (d.ret != ret || d.params.size() != nparams + 1) return nullptr;
    for (std::size_t p = 1; p < d.params.size(); ++p)
      if (d.params[p] != "u32") return nullptr;
    return &d;
  };
  const Decl* mem = nullptr;
  if (auto it = exports.find("memory");
      it != exports.end() && it->second.ret == "wasm_rt_memory_t*")
    mem = &it->second;
  const Decl* gc = export_fn("__guest_call", "u32", 2);
  const Decl* st = export_fn("_start", "void", 0);
  const Decl* in = export_fn("_initialize", "void", 0);
  if (mem)
    g << "static wasm_rt_memory_t* g_memory(void* p) { return " << mem->name << "((I*)p); }\n";
  if (gc)
    g << "static void g_guest_call(void* p, uint32_t a, uint32_t b, uint32_t* r) { *r = "
      << gc->name << "((I*)p, a, b); }\n";
  if (st) g << "static void g_start(void* p) { " << st->name << "((I*)p); }\n";
  if (in) g << "static void g_initialize(void* p) { " << in->name << "((I*)p); }\n";

  g << "static const wc_module_desc desc = {\n"
    << "  " << WC_NATIVE_ABI_VERSION << ", sizeof(I),\n"
    << "  " << imports.size() << ", " << (imports.empty() ? "NULL" : "imports") << ",\n"
    << "  " << memories.size() << ", mem_offsets,\n"
    << "  " << funcref_tables.size() << ", "
    << (funcref_tables.empty() ? "NULL" : "funcref_offsets") << ",\n"
    << "  " << externref_tables.size() << ", "
    << (externref_tables.empty() ? "NULL" : "externref_offsets") << ",\n"
    << "  Z_" << prefix << "_init_module, g_instantiate, g_relocate,\n"
    << "  " << (mem ? "g_memory" : "NULL") << ", " << (gc ? "g_guest_call" : "NULL") << ", "
    << (st ? "g_start" : "NULL") << ", " << (in ? "g_initialize" : "NULL") << "\n};\n"
    << "__attribute__((visibility(\"default\"))) const wc_module_desc* wc_native_bind_v"
    << WC_NATIVE_ABI_VERSION << "(const wc_rt_api* api) { rt = api; return &desc; }\n";
  return g.str();
}

std::string patch_generated_c(std::string c) {
  const std::string start = "#define CALL_INDIRECT(table, t, ft, x, ...)";
  auto pos = c.find(start);
  if (pos == std::string::npos) return c;
  // End of the macro: the first line not ending with a backslash.
  std::size_t end = pos;
  while (true) {
    const auto nl = c.find('\n', end);
    if (nl == std::string::npos) return c;
    std::size_t last = nl;
    while (last > end && (c[last - 1] == ' ' || c[last - 1] == '\r')) --last;
    end = nl + 1;
    if (last == 0 || c[last - 1] != '\\') break;
  }
  const std::string mine =
      "#undef CALL_INDIRECT\n"
      "#define CALL_INDIRECT(table, t, ft, x, ...)                                  \\\n"
      "  ((LIKELY((x) < table.size) || (wasm_rt_trap((wasm_rt_trap_t)101), 0)),     \\\n"
      "   (LIKELY(table.data[x].func != 0) || (wasm_rt_trap((wasm_rt_trap_t)102), 0)), \\\n"
      "   (LIKELY(table.data[x].func_type == func_types[ft]) || TRAP(CALL_INDIRECT)), \\\n"
      "   ((t)table.data[x].func)(__VA_ARGS__))\n";
  c.insert(end, mine);
  return c;
}

Status build_shared_object(const Toolchain& tc, std::span<const std::uint8_t> wasm,
                           std::string_view sha256_hex, const std::string& path) {
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
  for (auto& w : split_words(kCompileFlags)) argv.push_back(w);
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
