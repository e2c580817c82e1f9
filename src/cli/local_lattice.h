// The local lattice that `wasmcloud up` runs: where it keeps its data, its cluster seed and the
// settings other commands on the same machine use to join it (`call` signs invocations its host
// accepts; `wasmcloud host` joins its lattice, issue #17.1).
//
// Files in the data directory:
//   cluster.nk    the cluster seed (SC..., mode 0600)
//   up.pid        the pid of the running `up`, write-locked (fcntl) for as long as it runs: the
//                 lock, not the text, says whether an `up` runs, so a file left by a killed `up`
//                 never blocks the next one (issue #17.7)
//   lattice.json  the running `up`'s lattice settings (NATS servers, lattice prefix, cluster seed
//                 file, insecure registries, JetStream domain, NATS WebSocket URL); written
//                 atomically once its host runs, removed when it stops; ignored when no `up` holds
//                 the up.pid lock
// Owned by src/cli. Not thread-safe (the CLI's main thread).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "host/config.h"
#include "lattice/topics.h"

namespace wc::cli {

/// $XDG_DATA_HOME/wasmcloud-cpp, else ~/.local/share/wasmcloud-cpp, else ./wasmcloud-cpp-data.
std::string default_data_dir();

/// Path of the cluster seed file of the local lattice in `data_dir`.
std::string cluster_seed_path(const std::string& data_dir);

/// Reads the cluster seed kept in `data_dir`, or generates one and writes it (0600) when there is
/// none. Errors: kInvalidArgument (the file holds no valid cluster seed), kUnavailable (I/O).
Result<std::string> load_or_create_cluster_seed(const std::string& data_dir);

/// The cluster seed kept by `up` in the default data directory, or "" when there is none.
std::string find_local_cluster_seed();

/// The lock that makes `up` one per data directory: `<data_dir>/up.pid`, holding the pid of its
/// owner and a fcntl write lock released by the kernel when the owner exits, however it exits.
/// Movable, not copyable; the lock is released when the object is destroyed.
class UpLock {
 public:
  /// Takes the lock and writes this process's pid into the file. Errors: kAlreadyExists with
  /// "wasmcloud up is already running (pid N); its data directory is D" when another process holds
  /// it; kUnavailable (the file cannot be created or locked).
  static Result<UpLock> acquire(const std::string& data_dir);

  UpLock(UpLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UpLock& operator=(UpLock&& other) noexcept;
  UpLock(const UpLock&) = delete;
  UpLock& operator=(const UpLock&) = delete;
  /// Empties the pid file and releases the lock.
  ~UpLock();

 private:
  explicit UpLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Pid of the `up` holding the lock in `data_dir`, or 0 when none does (no file, or a file left
/// by an `up` that has exited).
pid_t running_up_pid(const std::string& data_dir);

/// What `up` records about its lattice in `<data_dir>/lattice.json` (no secrets: the cluster
/// seed is named by its file, which is 0600).
struct LatticeContext {
  pid_t pid = 0;                          ///< the `up` process
  std::string host_id;                    ///< its host
  host::NatsEndpoint ctl, rpc, prov_rpc;  ///< host and port only (no credentials)
  std::string lattice_prefix{lattice::topics::kDefaultLattice};
  std::string ctl_topic_prefix{lattice::topics::kDefaultCtlPrefix};
  std::string cluster_seed_file;  ///< "" = `up` was given its seed (not recorded)
  std::vector<std::string> allowed_insecure;
  std::string js_domain;  ///< "" = none
  /// NATS over WebSocket for wasmCloud's lattice client and washboard ("ws://127.0.0.1:4223";
  /// issue #15); "" = none started or found.
  std::string websocket_url;
};

/// Path of the lattice settings file in `data_dir`.
std::string lattice_context_path(const std::string& data_dir);

/// Writes `ctx` to `<data_dir>/lattice.json` atomically (temporary file + rename), mode 0644.
/// Errors: kUnavailable (I/O).
Status write_lattice_context(const std::string& data_dir, const LatticeContext& ctx);

/// Removes `<data_dir>/lattice.json` if present. Never fails.
void remove_lattice_context(const std::string& data_dir);

/// The settings of the `up` running with `data_dir`; nullopt when there is no lattice.json,
/// when it is unreadable or not ours, or when it is stale (no `up` holds the lock, or the lock's
/// holder is not the pid it names). `why_not` (optional) receives the reason as text.
std::optional<LatticeContext> read_lattice_context(const std::string& data_dir,
                                                   std::string* why_not = nullptr);

/// Fills the settings of `cfg` that the user did not give with those of `ctx` (issue #17.1, as
/// wash's contexts). `given(flag, env)` says whether a flag (e.g. "--lattice-prefix") or a
/// WASMCLOUD_* variable / host_config.json key (e.g. "WASMCLOUD_LATTICE_PREFIX") set a value.
/// When the user named NATS servers other than `up`'s, nothing is taken (another lattice) and
/// `why_not` says so. The cluster seed is read from ctx.cluster_seed_file; `up`'s insecure
/// registries are added to the user's list. Returns the settings taken, as "name value" texts
/// for one log line (never the seed itself); empty when none.
std::vector<std::string> apply_lattice_context(
    host::HostConfig& cfg, const LatticeContext& ctx,
    const std::function<bool(const char* flag, const char* env)>& given,
    std::string* why_not = nullptr);

}  // namespace wc::cli
