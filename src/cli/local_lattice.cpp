#include "cli/local_lattice.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

using json = nlohmann::json;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string up_pid_path(const std::string& data_dir) { return data_dir + "/up.pid"; }

/// The pid holding a write lock on `fd`'s file (0 when none, or when it is this process).
pid_t lock_holder(int fd) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return 0;
  return fl.l_pid;
}

json endpoint_json(const host::NatsEndpoint& ep) {
  return json{{"host", ep.host}, {"port", ep.port}, {"url", ep.url()}};
}

bool read_endpoint(const json& j, const char* key, host::NatsEndpoint& ep) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return false;
  auto h = it->find("host");
  auto p = it->find("port");
  if (h == it->end() || !h->is_string() || p == it->end() || !p->is_number_integer()) return false;
  ep.host = h->get<std::string>();
  ep.port = p->get<int>();
  return true;
}

std::string json_text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The first server of `ep` as a URL with "localhost" spelled 127.0.0.1 (for comparisons).
std::string normalized_url(const host::NatsEndpoint& ep) {
  std::string u = ep.url();
  if (auto at = u.find("://localhost:"); at != std::string::npos)
    u.replace(at, std::strlen("://localhost:"), "://127.0.0.1:");
  return u;
}

}  // namespace

std::string default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/wasmcloud-cpp";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/share/wasmcloud-cpp";
  return "./wasmcloud-cpp-data";
}

std::string cluster_seed_path(const std::string& data_dir) { return data_dir + "/cluster.nk"; }

Result<std::string> load_or_create_cluster_seed(const std::string& data_dir) {
  const std::string path = cluster_seed_path(data_dir);
  if (auto bytes = read_file(path)) {
    std::string seed = trimmed(to_string(*bytes));
    auto key = wascap::KeyPair::from_seed(seed);
    if (!key || key->type() != wascap::KeyType::kCluster) {
      return fail(Code::kInvalidArgument, path + " does not hold a cluster seed (SC...)");
    }
    return seed;
  } else if (bytes.error().code != Code::kNotFound) {
    return fail(bytes.error());
  }
  std::string seed = wascap::KeyPair::generate(wascap::KeyType::kCluster).seed() + "\n";
  const mode_t old_mask = ::umask(077);  // the seed file is created 0600, never readable by others
  auto st = write_file(path, as_bytes(seed));
  ::umask(old_mask);
  if (!st) return fail(st.error());
  return trimmed(seed);
}

std::string find_local_cluster_seed() {
  auto bytes = read_file(cluster_seed_path(default_data_dir()));
  return bytes ? trimmed(to_string(*bytes)) : std::string();
}

Result<UpLock> UpLock::acquire(const std::string& data_dir) {
  const std::string path = up_pid_path(data_dir);
  // O_CLOEXEC: the children `up` starts (nats-server, the registry, providers) never hold it.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fail(Code::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
  for (int attempt = 0; attempt < 3; ++attempt) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) == 0) {
      const std::string text = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0)
        spdlog::warn("Cannot write the pid into {}: {}", path, std::strerror(errno));
      return UpLock(fd);
    }
    if (errno != EACCES && errno != EAGAIN) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return fail(Code::kUnavailable, "cannot lock " + path + ": " + why);
    }
    if (pid_t holder = lock_holder(fd); holder > 0) {
      ::close(fd);
      return fail(Code::kAlreadyExists, "wasmcloud up is already running (pid " +
                                            std::to_string(holder) + "); its data directory is " +
                                            data_dir);
    }
    // The holder exited between the two calls: try again.
  }
  ::close(fd);
  return fail(Code::kUnavailable, "cannot lock " + path + ": it keeps changing hands");
}

UpLock& UpLock::operator=(UpLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

UpLock::~UpLock() {
  if (fd_ < 0) return;
  // The pid file stays (removing a lock file races with a starting `up`); its text is cleared.
  (void)::ftruncate(fd_, 0);
  ::close(fd_);
}

pid_t running_up_pid(const std::string& data_dir) {
  // Never called by `up` itself: closing any descriptor of the file would drop its own lock.
  const int fd = ::open(up_pid_path(data_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const pid_t holder = lock_holder(fd);
  ::close(fd);
  return holder;
}

std::string lattice_context_path(const std::string& data_dir) { return data_dir + "/lattice.json"; }

Status write_lattice_context(const std::string& data_dir, const LatticeContext& ctx) {
  json j{{"written_by", "wasmcloud up"},
         {"pid", ctx.pid},
         {"host_id", ctx.host_id},
         {"ctl_nats", endpoint_json(ctx.ctl)},
         {"rpc_nats", endpoint_json(ctx.rpc)},
         {"prov_rpc_nats", endpoint_json(ctx.prov_rpc)},
         {"lattice_prefix", ctx.lattice_prefix},
         {"ctl_topic_prefix", ctx.ctl_topic_prefix},
         {"cluster_seed_file", ctx.cluster_seed_file},
         {"allowed_insecure", ctx.allowed_insecure},
         {"js_domain", ctx.js_domain},
         {"websocket_url", ctx.websocket_url}};
  return write_file(lattice_context_path(data_dir), as_bytes(j.dump(2) + "\n"));
}

void remove_lattice_context(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::remove(lattice_context_path(data_dir), ec);
}

std::optional<LatticeContext> read_lattice_context(const std::string& data_dir,
                                                   std::string* why_not) {
  auto say = [&](std::string text) -> std::optional<LatticeContext> {
    if (why_not) *why_not = std::move(text);
    return std::nullopt;
  };
  const std::string path = lattice_context_path(data_dir);
  auto bytes = read_file(path);
  if (!bytes) return say("no " + path);
  const json j = json::parse(to_string(*bytes), nullptr, false);
  if (!j.is_object()) return say(path + " is not a JSON object");
  LatticeContext ctx;
  if (auto it = j.find("pid"); it != j.end() && it->is_number_integer()) ctx.pid = it->get<pid_t>();
  if (ctx.pid <= 0 || !read_endpoint(j, "ctl_nats", ctx.ctl) ||
      !read_endpoint(j, "rpc_nats", ctx.rpc))
    return say(path + " lacks its pid or NATS servers");
  if (!read_endpoint(j, "prov_rpc_nats", ctx.prov_rpc)) ctx.prov_rpc = ctx.rpc;
  const pid_t running = running_up_pid(data_dir);
  if (running != ctx.pid)
    return say(path + " is stale: it names pid " + std::to_string(ctx.pid) + ", " +
               (running > 0 ? "but wasmcloud up runs as pid " + std::to_string(running)
                            : std::string("but wasmcloud up is not running")));
  ctx.host_id = json_text(j, "host_id");
  if (auto p = json_text(j, "lattice_prefix"); !p.empty()) ctx.lattice_prefix = p;
  if (auto p = json_text(j, "ctl_topic_prefix"); !p.empty()) ctx.ctl_topic_prefix = p;
  ctx.cluster_seed_file = json_text(j, "cluster_seed_file");
  ctx.js_domain = json_text(j, "js_domain");
  ctx.websocket_url = json_text(j, "websocket_url");
  if (auto it = j.find("allowed_insecure"); it != j.end() && it->is_array())
    for (const auto& r : *it)
      if (r.is_string() && !r.get<std::string>().empty())
        ctx.allowed_insecure.push_back(r.get<std::string>());
  return ctx;
}

std::vector<std::string> apply_lattice_context(
    host::HostConfig& cfg, const LatticeContext& ctx,
    const std::function<bool(const char* flag, const char* env)>& given, std::string* why_not) {
  std::vector<std::string> taken;
  const bool nats_given =
      given("--nats-host", nullptr) || given("--nats-port", nullptr) ||
      given("--ctl-host", "WASMCLOUD_CTL_HOST") || given("--ctl-port", "WASMCLOUD_CTL_PORT") ||
      given("--rpc-host", "WASMCLOUD_RPC_HOST") || given("--rpc-port", "WASMCLOUD_RPC_PORT") ||
      given("--prov-rpc-host", "WASMCLOUD_PROV_RPC_HOST") ||
      given("--prov-rpc-port", "WASMCLOUD_PROV_RPC_PORT");
  if (nats_given) {
    if (normalized_url(cfg.ctl) != normalized_url(ctx.ctl) ||
        normalized_url(cfg.rpc) != normalized_url(ctx.rpc)) {
      if (why_not)
        *why_not = "the NATS servers given (" + cfg.ctl.url() + ") are not wasmcloud up's (" +
                   ctx.ctl.url() + ")";
      return taken;
    }
  } else {
    for (auto [mine, ups] : {std::pair{&cfg.ctl, &ctx.ctl}, std::pair{&cfg.rpc, &ctx.rpc},
                             std::pair{&cfg.prov_rpc, &ctx.prov_rpc}}) {
      mine->host = ups->host;
      mine->port = ups->port;
    }
    taken.push_back("NATS " + cfg.ctl.url());
  }
  if (!given("--lattice-prefix", "WASMCLOUD_LATTICE_PREFIX")) {
    cfg.lattice_prefix = ctx.lattice_prefix;
    taken.push_back("lattice prefix " + ctx.lattice_prefix);
  }
  if (!given("--ctl-topic-prefix", "WASMCLOUD_CTL_TOPIC_PREFIX") &&
      cfg.ctl_topic_prefix != ctx.ctl_topic_prefix) {
    cfg.ctl_topic_prefix = ctx.ctl_topic_prefix;
    taken.push_back("control topic prefix " + ctx.ctl_topic_prefix);
  }
  if (!given("--cluster-seed", "WASMCLOUD_CLUSTER_SEED") && !ctx.cluster_seed_file.empty()) {
    auto bytes = read_file(ctx.cluster_seed_file);
    std::string seed = bytes ? trimmed(to_string(*bytes)) : std::string();
    auto key = wascap::KeyPair::from_seed(seed);
    if (key && key->type() == wascap::KeyType::kCluster) {
      cfg.cluster_seed = seed;
      taken.push_back("cluster seed " + ctx.cluster_seed_file);
    } else {
      spdlog::warn(
          "wasmcloud up's cluster seed file {} is {}; this host's invocations will be "
          "foreign to up's host (set WASMCLOUD_CLUSTER_SEED)",
          ctx.cluster_seed_file,
          bytes ? "not a cluster seed (SC...)" : "unreadable: " + bytes.error().message);
    }
  }
  std::string added;
  for (const auto& r : ctx.allowed_insecure) {
    if (std::find(cfg.allowed_insecure.begin(), cfg.allowed_insecure.end(), r) !=
        cfg.allowed_insecure.end())
      continue;
    cfg.allowed_insecure.push_back(r);
    added += (added.empty() ? "" : ",") + r;
  }
  if (!added.empty()) taken.push_back("allowed-insecure registries " + added);
  if (!given("--js-domain", "WASMCLOUD_JS_DOMAIN") && !ctx.js_domain.empty()) {
    cfg.js_domain = ctx.js_domain;
    taken.push_back("JetStream domain " + ctx.js_domain);
  }
  return taken;
}

}  // namespace wc::cli
