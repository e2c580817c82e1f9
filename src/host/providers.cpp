// Provider supervisor: spawn, stdout logging, reaping, health checks, restart with backoff,
// graceful stop (control-interface.md 3.6, 6.2, 6.3). See providers.h.
#include "host/providers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/log.h"
#include "common/thread_annotations.h"
#include "common/trace.h"
#include "host/errors.h"
#include "host/provider_output.h"
#include "host/util.h"
#include "lattice/cloudevent.h"
#include "lattice/event_data.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "rpc/messages.h"
#include "wascap/claims.h"

extern char** environ;

namespace wc::host {

using nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;
namespace ed = lattice::event_data;
using Clock = std::chrono::steady_clock;

namespace {

/// One supervised provider (key, link). Guarded by Impl::mu except the reader thread.
struct Child {
  ProviderInfo info;
  std::string exe;            ///< cached executable path
  std::string configuration;  ///< config_json
  std::string not_before_human, expires_human;
  pid_t pid = -1;      ///< -1 while starting or waiting for a restart
  int stdin_fd = -1;   ///< kept open for the life of the process
  std::thread reader;  ///< re-logs stdout and stderr lines (relay_output)
  Clock::time_point started;
  Clock::time_point next_health;
  bool first_check_done = false;
  bool healthy = false;  ///< 6.2: starts unhealthy
  bool stopping = false;
  int restarts = 0;
  /// Set only when the monitor reaped a crash; the monitor restarts a child only when this is
  /// set and restart_at has passed. A child still being started by start() also has pid -1 and
  /// must never look due for a restart (issue #12.6: that spawned a second process).
  bool awaiting_restart = false;
  Clock::time_point restart_at;
  std::string last_exit;  ///< exit reason of the last crash
};

std::string key_of(const std::string& k, const std::string& l) { return k + "|" + l; }

/// Re-logs one provider output line through the host's logger (issue #17.6: one format per
/// stream). A line in the SDK's format (the host's text or JSON format, common/log.h) keeps its
/// level, message and trace ids and loses its own timestamp; any other line is logged whole, at
/// info from stdout and at warn from stderr. The caller's LogFields name the provider.
void relay_line(std::string_view line, bool from_stderr) {
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  if (auto parsed = parse_log_line(line)) {
    std::optional<trace::Scope> scope;
    if (!parsed->trace_id.empty() && !parsed->span_id.empty()) {
      if (auto ctx =
              trace::parse_traceparent("00-" + parsed->trace_id + "-" + parsed->span_id + "-01"))
        scope.emplace(*ctx);
    }
    spdlog::log(parsed->level, "{}", parsed->message);
    return;
  }
  spdlog::log(from_stderr ? spdlog::level::warn : spdlog::level::info, "{}", line);
}

/// Reads the provider's stdout (`out_fd`) and stderr (`err_fd`) until both close, re-logging
/// each line (relay_line) with the provider's key and link name as log fields; closes both.
void relay_output(int out_fd, int err_fd, LogFields::Fields fields) {
  LogFields scope(std::move(fields));
  struct Stream {
    int fd;
    bool is_stderr;
    ProviderOutputSplitter lines;
  };
  Stream streams[2] = {{out_fd, false, {}}, {err_fd, true, {}}};
  char chunk[4096];
  for (;;) {
    pollfd fds[2];
    nfds_t n = 0;
    Stream* which[2];
    for (auto& st : streams) {
      if (st.fd < 0) continue;
      fds[n] = pollfd{st.fd, POLLIN, 0};
      which[n++] = &st;
    }
    if (n == 0) break;
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      Stream& st = *which[i];
      auto relay = [&st](std::string_view line) { relay_line(line, st.is_stderr); };
      ssize_t got = read(st.fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {  // end of stream (or an error): flush the last partial line
        st.lines.finish(relay);
        close(st.fd);
        st.fd = -1;
        continue;
      }
      st.lines.feed(std::string_view(chunk, static_cast<std::size_t>(got)), relay);
    }
  }
  for (auto& st : streams)
    if (st.fd >= 0) close(st.fd);
}

std::string exit_reason(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status) == 0 ? std::string("normal")
                                    : "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exited";
}

}  // namespace

struct ProviderSupervisor::Impl {
  ProviderSupervisorDeps deps;
  mutable Mutex mu;
  std::condition_variable cv;  // waited on with mu held (monitor_loop)
  std::map<std::string, std::shared_ptr<Child>> children GUARDED_BY(mu);
  bool quit GUARDED_BY(mu) = false;
  std::thread monitor;

  explicit Impl(ProviderSupervisorDeps d) : deps(std::move(d)) {
    monitor = std::thread([this] { monitor_loop(); });
  }

  void emit(std::string_view type, const json& data) {
    if (deps.emit) deps.emit(type, data);
  }

  /// The identity fields of `c`'s provider events (views into c.info).
  static ed::ProviderIdentity identity(const Child& c) {
    return {c.info.public_key, c.info.link_name, c.info.contract_id};
  }

  /// Spawns `c.exe` with the host-data line; sets pid, stdin_fd, reader. Called without `mu`.
  Status spawn(Child& c) EXCLUDES(mu) {
    rpc::HostData hd = deps.base_host_data;
    hd.link_name = c.info.link_name;
    hd.provider_key = c.info.public_key;
    hd.instance_id = c.info.instance_id;
    hd.config_json = c.configuration;
    hd.env_values = {};
    hd.link_definitions.clear();
    if (deps.links_for) {
      for (const auto& ld : deps.links_for(c.info.public_key, c.info.link_name)) {
        rpc::LinkDefinition p;
        p.actor_id = ld.actor_id;
        p.provider_id = ld.provider_id;
        p.link_name = ld.link_name;
        p.contract_id = ld.contract_id;
        p.values = std::map<std::string, std::string>(ld.values.begin(), ld.values.end());
        p.id = ld.id;
        hd.link_definitions.push_back(std::move(p));
      }
    }
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) return fail(Code::kUnavailable, "pipe failed");
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
      close(in_pipe[0]);
      close(in_pipe[1]);
      return fail(Code::kUnavailable, "pipe failed");
    }
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
      for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) close(fd);
      return fail(Code::kUnavailable, "pipe failed");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    // stderr too: the host re-logs both streams in its own format (issue #17.6).
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    char* argv[] = {const_cast<char*>(c.exe.c_str()), nullptr};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, c.exe.c_str(), &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
      close(in_pipe[1]);
      close(out_pipe[0]);
      close(err_pipe[0]);
      return fail(Code::kUnavailable,
                  "Failed to start provider executable " + c.exe + ": " + std::strerror(rc));
    }
    std::string line = rpc::encode_line(hd);
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      ssize_t n = write(in_pipe[1], p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the child died early; the monitor reaps and reports it
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    if (c.reader.joinable()) c.reader.join();
    {
      MutexLock lock(mu);
      c.pid = pid;
      c.stdin_fd = in_pipe[1];
      c.started = Clock::now();
      c.next_health = c.started + deps.health_first;
      c.first_check_done = false;
      c.healthy = false;
    }
    LogFields::Fields fields{{"provider_id", c.info.public_key}, {"link_name", c.info.link_name}};
    c.reader =
        std::thread([out = out_pipe[0], err = err_pipe[0], fields = std::move(fields)]() mutable {
          relay_output(out, err, std::move(fields));
        });
    return ok();
  }

  /// Closes stdin and joins the reader after the process is gone.
  static void release(Child& c) {
    if (c.stdin_fd >= 0) close(c.stdin_fd);
    c.stdin_fd = -1;
    if (c.reader.joinable()) c.reader.join();
  }

  Result<ProviderInfo> start(ProviderStart spec) EXCLUDES(mu) {
    const auto& claims = spec.archive.claims;
    auto child = std::make_shared<Child>();
    child->info.public_key = claims.sub;
    child->info.link_name = spec.link_name;
    child->info.contract_id = claims.capid;
    child->info.image_ref = spec.image_ref;
    child->info.name = claims.name.value_or("");
    child->info.instance_id = lattice::uuid_v4();
    child->info.annotations = spec.annotations;
    child->info.revision = par::effective_revision(claims);
    child->configuration = spec.configuration;
    const auto k = key_of(claims.sub, spec.link_name);
    {
      MutexLock lock(mu);
      if (quit) return fail(Code::kUnavailable, "host is stopping");
      if (children.count(k))
        return fail(Code::kAlreadyExists, std::string(errors::kProviderAlreadyRunningOnHost));
      children[k] = child;  // reserve the slot while extracting and spawning
    }
    auto drop = [&] {
      MutexLock lock(mu);
      children.erase(k);
    };
    auto exe = par::extract_to_cache(spec.archive, spec.link_name, deps.cache_dir);
    if (!exe) {
      drop();
      return fail(exe.error());
    }
    child->exe = *exe;
    if (auto st = spawn(*child); !st) {
      drop();
      return fail(st.error());
    }
    spdlog::info("Started provider {} ({}, link {}) as process {}", claims.sub, claims.capid,
                 spec.link_name, child->pid);
    json cl{{"issuer", claims.iss},
            {"tags", nullptr},
            {"name", claims.name ? json(*claims.name) : json(nullptr)},
            {"version", claims.ver ? json(*claims.ver) : json(nullptr)},
            {"not_before_human", claims.nbf ? std::to_string(*claims.nbf) : std::string("never")},
            {"expires_human", claims.exp ? std::to_string(*claims.exp) : std::string("never")}};
    emit(ev::kProviderStarted,
         ed::provider_started({claims.sub, spec.link_name, claims.capid}, spec.image_ref,
                              child->info.instance_id, spec.annotations, cl));
    cv.notify_all();
    return child->info;
  }

  /// Shutdown request, SIGKILL, reap, provider_stopped "normal". `c` is already out of the map
  /// (or marked stopping) so the monitor leaves it alone.
  void stop_child(Child& c) {
    if (c.pid > 0) {
      if (deps.rpc) {
        auto subject =
            topics::rpc_shutdown(deps.lattice_prefix, c.info.public_key, c.info.link_name);
        auto r = deps.rpc->request(subject, rpc::shutdown_request_json(deps.base_host_data.host_id),
                                   std::chrono::seconds(2));
        if (!r) spdlog::debug("Provider shutdown request: {}", r.error().message);
      }
      // Give a graceful exit a moment, then kill.
      for (int i = 0; i < 20; ++i) {
        if (waitpid(c.pid, nullptr, WNOHANG) == c.pid) {
          c.pid = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (c.pid > 0) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, nullptr, 0);
        c.pid = -1;
      }
    }
    release(c);
    emit(ev::kProviderStopped, ed::provider_stopped(identity(c), c.info.instance_id,
                                                    c.info.annotations, ed::kStopNormal));
    spdlog::info("Stopped provider {} (link {})", c.info.public_key, c.info.link_name);
  }

  std::size_t stop(const std::string& key, const std::string& link) EXCLUDES(mu) {
    std::shared_ptr<Child> c;
    {
      MutexLock lock(mu);
      auto it = children.find(key_of(key, link));
      if (it == children.end()) return 0;
      c = it->second;
      c->stopping = true;
      children.erase(it);
    }
    stop_child(*c);
    return 1;
  }

  void stop_all() EXCLUDES(mu) {
    std::vector<std::shared_ptr<Child>> all;
    {
      MutexLock lock(mu);
      for (auto& [k, c] : children) {
        c->stopping = true;
        all.push_back(c);
      }
      children.clear();
    }
    for (auto& c : all) stop_child(*c);
  }

  /// The provider's answer to a health check (actor-rpc-providers.md 5.5, 7.6): a msgpack
  /// HealthCheckResponse, or its JSON form (providers in test mode). Beyond 0.63, which counted
  /// any reply as healthy, `healthy: false` is honoured (#13.2); an answer that is neither still
  /// counts as healthy, as in 0.63.
  static rpc::HealthCheckResponse read_health_reply(std::span<const std::uint8_t> body) {
    if (auto h = rpc::decode_health_response(body)) return *h;
    if (auto h = rpc::health_response_from_json(
            std::string_view(reinterpret_cast<const char*>(body.data()), body.size())))
      return *h;
    return rpc::HealthCheckResponse{.healthy = true, .message = std::nullopt};
  }

  void health_check(const std::shared_ptr<Child>& c) EXCLUDES(mu) {
    auto subject = topics::rpc_health(deps.lattice_prefix, c->info.public_key, c->info.link_name);
    bool ok = false;
    std::string message;
    if (deps.rpc != nullptr) {
      auto reply = deps.rpc->request(subject, std::span(rpc::kHealthRequest), deps.rpc_timeout);
      if (reply) {
        auto health = read_health_reply(reply->data());
        ok = health.healthy;
        message = health.message.value_or("");
      }
    }
    if (!ok && !message.empty())
      spdlog::warn("Provider {} (link {}) reports itself unhealthy: {}", c->info.public_key,
                   c->info.link_name, message.substr(0, 1024));
    bool was;
    {
      MutexLock lock(mu);
      was = c->healthy;
      c->healthy = ok;
    }
    const char* type = !was && ok   ? ev::kHealthCheckPassed.data()
                       : was && !ok ? ev::kHealthCheckFailed.data()
                                    : ev::kHealthCheckStatus.data();
    emit(type, ed::health_check(identity(*c)));
  }

  void monitor_loop() EXCLUDES(mu) {
    MutexLock lock(mu);
    while (!quit) {
      lock.wait_for(cv, std::chrono::milliseconds(100));
      if (quit) break;
      auto now = Clock::now();
      std::vector<std::shared_ptr<Child>> crashed, restart, check;
      for (auto& [k, c] : children) {
        if (c->stopping) continue;
        if (c->pid > 0) {
          int status = 0;
          pid_t r = waitpid(c->pid, &status, WNOHANG);
          if (r == c->pid) {
            c->pid = -1;
            c->awaiting_restart = true;
            auto backoff = deps.restart_backoff_min * (1 << std::min(c->restarts, 6));
            c->restart_at = now + std::min(backoff, deps.restart_backoff_max);
            ++c->restarts;
            crashed.push_back(c);
            spdlog::warn(
                "Provider {} (link {}) {}; restarting in {} ms", c->info.public_key,
                c->info.link_name, exit_reason(status),
                std::chrono::duration_cast<std::chrono::milliseconds>(c->restart_at - now).count());
            c->last_exit = exit_reason(status);
            continue;
          }
          if (now >= c->next_health) {
            if (!c->first_check_done) {
              c->first_check_done = true;
              c->next_health = c->started + deps.health_interval;
            } else {
              c->next_health += deps.health_interval;
            }
            check.push_back(c);
          }
        } else if (c->awaiting_restart && now >= c->restart_at) {
          c->awaiting_restart = false;
          restart.push_back(c);
        }
      }
      lock.unlock();
      for (auto& c : crashed) {
        release(*c);
        emit(ev::kProviderStopped, ed::provider_stopped(identity(*c), c->info.instance_id,
                                                        c->info.annotations, c->last_exit));
      }
      for (auto& c : restart) restart_child(c);
      for (auto& c : check) health_check(c);
      lock.lock();
    }
  }

  void restart_child(const std::shared_ptr<Child>& c) EXCLUDES(mu) {
    {
      MutexLock lock(mu);
      if (c->stopping || quit) return;
    }
    c->info.instance_id = lattice::uuid_v4();
    auto st = spawn(*c);
    if (!st) {
      spdlog::error("Failed to restart provider {}: {}", c->info.public_key, st.error().message);
      MutexLock lock(mu);
      c->restart_at = Clock::now() + deps.restart_backoff_max;
      c->awaiting_restart = true;
      return;
    }
    bool orphan;
    {
      MutexLock lock(mu);
      orphan = c->stopping || quit;
    }
    if (orphan) {  // stopped while restarting: stop_child may have missed the new process
      kill(c->pid, SIGKILL);
      waitpid(c->pid, nullptr, 0);
      c->pid = -1;
      release(*c);
      return;
    }
    spdlog::info("Restarted provider {} (link {}) as process {}", c->info.public_key,
                 c->info.link_name, c->pid);
    emit(ev::kProviderStarted,
         ed::provider_started(identity(*c), c->info.image_ref, c->info.instance_id,
                              c->info.annotations, json::object()));
  }
};

ProviderSupervisor::ProviderSupervisor(ProviderSupervisorDeps deps)
    : impl_(std::make_unique<Impl>(std::move(deps))) {}

ProviderSupervisor::~ProviderSupervisor() {
  stop_all();
  {
    MutexLock lock(impl_->mu);
    impl_->quit = true;
  }
  impl_->cv.notify_all();
  if (impl_->monitor.joinable()) impl_->monitor.join();
}

Result<ProviderInfo> ProviderSupervisor::start(ProviderStart spec) {
  return impl_->start(std::move(spec));
}

std::size_t ProviderSupervisor::stop(const std::string& public_key, const std::string& link_name) {
  return impl_->stop(public_key, link_name);
}

void ProviderSupervisor::stop_all() { impl_->stop_all(); }

bool ProviderSupervisor::supervised(const std::string& public_key,
                                    const std::string& link_name) const {
  MutexLock lock(impl_->mu);
  return impl_->children.count(key_of(public_key, link_name)) > 0;
}

std::vector<ProviderInfo> ProviderSupervisor::running() const {
  std::vector<ProviderInfo> out;
  MutexLock lock(impl_->mu);
  for (const auto& [k, c] : impl_->children) {
    if (c->pid <= 0 || c->stopping) continue;
    // A child that has exited but is not reaped yet (a zombie) is not listed either.
    siginfo_t si{};
    if (waitid(P_PID, static_cast<id_t>(c->pid), &si, WEXITED | WNOHANG | WNOWAIT) != 0) continue;
    if (si.si_pid != 0) continue;
    out.push_back(c->info);
  }
  return out;
}

int ProviderSupervisor::pid_of(const std::string& public_key, const std::string& link_name) const {
  MutexLock lock(impl_->mu);
  auto it = impl_->children.find(key_of(public_key, link_name));
  return it == impl_->children.end() ? -1 : it->second->pid;
}

}  // namespace wc::host
