#include "host/config.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/util.h"

extern char** environ;

namespace wc::host {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

void core_labels(std::map<std::string, std::string>& labels) {
  std::string arch = "unknown";
#if defined(__x86_64__)
  arch = "x86_64";
#elif defined(__aarch64__)
  arch = "aarch64";
#elif defined(__arm__)
  arch = "arm";
#elif defined(__i386__)
  arch = "x86";
#endif
  std::string os = "linux";
#if defined(__APPLE__)
  os = "macos";
#elif defined(__FreeBSD__)
  os = "freebsd";
#endif
  labels["hostcore.arch"] = arch;
  labels["hostcore.os"] = os;
  labels["hostcore.osfamily"] = "unix";
}

bool parse_int(const std::string& text, int& out) {
  try {
    size_t pos = 0;
    int v = std::stoi(text, &pos);
    if (pos != text.size()) return false;
    out = v;
    return true;
  } catch (...) {
    return false;
  }
}

// A positive byte count (decimal digits only).
bool parse_size(const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const std::uint64_t v = std::stoull(text);
  if (v == 0) return false;
  out = v;
  return true;
}

}  // namespace

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> NatsEndpoint::urls() const {
  const std::string scheme = tls ? "tls://" : "nats://";
  std::vector<std::string> out;
  for (auto entry : split_commas(host)) {
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.front())))
      entry.erase(0, 1);
    while (!entry.empty() && std::isspace(static_cast<unsigned char>(entry.back())))
      entry.pop_back();
    if (entry.empty()) continue;
    if (entry.find("://") != std::string::npos) {
      out.push_back(entry);
      continue;
    }
    bool has_port = false;
    if (entry.front() == '[') {
      has_port = entry.find("]:") != std::string::npos;
    } else {
      auto colons = std::count(entry.begin(), entry.end(), ':');
      if (colons > 1) entry = "[" + entry + "]";  // bare IPv6 address
      has_port = colons == 1;
    }
    out.push_back(scheme + entry + (has_port ? "" : ":" + std::to_string(port)));
  }
  if (out.empty()) out.push_back(scheme + "127.0.0.1:" + std::to_string(port));
  return out;
}

std::string NatsEndpoint::url() const { return urls().front(); }

std::string NatsEndpoint::address() const {
  std::string u = url();
  return u.substr(u.find("://") + 3);
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::map<std::string, std::string> make_labels(const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> labels;
  for (const auto& [k, v] : env) {
    if (k.rfind("HOST_", 0) == 0 && k.size() > 5) labels[lower(k.substr(5))] = v;
  }
  for (const auto& [k, v] : env) {
    static constexpr std::string_view kPrefix = "WASMCLOUD_LABEL_";
    if (k.rfind(kPrefix, 0) == 0 && k.size() > kPrefix.size())
      labels[lower(k.substr(kPrefix.size()))] = v;
  }
  core_labels(labels);
  return labels;
}

HostConfig load_config(const std::map<std::string, std::string>& env,
                       const std::string& json_file) {
  HostConfig cfg;
  // host_config.json (spec 1.4 step 2): missing or unparseable = empty.
  nlohmann::json file = nlohmann::json::object();
  if (!json_file.empty()) {
    std::ifstream in(json_file);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      file = nlohmann::json::parse(ss.str(), nullptr, false);
      if (!file.is_object()) file = nlohmann::json::object();
    }
  }
  // One lookup: environment wins over the file; values as strings.
  auto get_value = [&](const char* env_name, const char* json_key) -> std::optional<std::string> {
    if (auto it = env.find(env_name); it != env.end()) return it->second;
    if (auto it = file.find(json_key); it != file.end()) {
      if (it->is_string()) return it->get<std::string>();
      if (it->is_boolean()) return std::string(it->get<bool>() ? "true" : "false");
      if (it->is_number_integer()) return std::to_string(it->get<long long>());
      if (it->is_array()) {
        std::string joined;
        for (const auto& x : *it) {
          if (!x.is_string()) continue;
          if (!joined.empty()) joined += ",";
          joined += x.get<std::string>();
        }
        return joined;
      }
    }
    return std::nullopt;
  };
  auto get = [&](const char* env_name, const char* json_key) -> std::optional<std::string> {
    auto v = get_value(env_name, json_key);
    if (v && !v->empty()) cfg.given.insert(env_name);
    return v;
  };
  auto set_str = [&](std::string& field, const char* e, const char* j) {
    if (auto v = get(e, j)) field = *v;
  };
  auto set_int = [&](int& field, const char* e, const char* j) {
    if (auto v = get(e, j)) {
      if (!parse_int(*v, field))
        cfg.config_errors.push_back(std::string(env.count(e) ? e : j) + "='" + *v +
                                    "' is not an integer");
    }
  };
  auto set_bool = [&](bool& field, const char* e, const char* j) {
    if (auto v = get(e, j)) field = parse_bool(*v);
  };
  auto set_endpoint = [&](NatsEndpoint& ep, const char* name, const char* key) {
    std::string e = std::string("WASMCLOUD_") + name, j = key;
    set_str(ep.host, (e + "_HOST").c_str(), (j + "_host").c_str());
    set_int(ep.port, (e + "_PORT").c_str(), (j + "_port").c_str());
    set_str(ep.seed, (e + "_SEED").c_str(), (j + "_seed").c_str());
    set_str(ep.jwt, (e + "_JWT").c_str(), (j + "_jwt").c_str());
    set_bool(ep.tls, (e + "_TLS").c_str(), (j + "_tls").c_str());
  };

  set_str(cfg.lattice_prefix, "WASMCLOUD_LATTICE_PREFIX", "lattice_prefix");
  set_str(cfg.ctl_topic_prefix, "WASMCLOUD_CTL_TOPIC_PREFIX", "ctl_topic_prefix");
  set_str(cfg.host_seed, "WASMCLOUD_HOST_SEED", "host_seed");
  set_str(cfg.cluster_seed, "WASMCLOUD_CLUSTER_SEED", "cluster_seed");
  if (auto v = get("WASMCLOUD_CLUSTER_ISSUERS", "cluster_issuers")) {
    cfg.cluster_issuers.clear();
    for (auto& s : split_commas(*v))
      if (!s.empty()) cfg.cluster_issuers.push_back(s);
  }
  set_endpoint(cfg.rpc, "RPC", "rpc");
  set_endpoint(cfg.ctl, "CTL", "ctl");
  set_endpoint(cfg.prov_rpc, "PROV_RPC", "prov_rpc");
  set_int(cfg.rpc_timeout_ms, "WASMCLOUD_RPC_TIMEOUT_MS", "rpc_timeout_ms");
  set_int(cfg.max_execution_time_ms, "WASMCLOUD_MAX_EXECUTION_TIME_MS", "max_execution_time_ms");
  set_int(cfg.invocation_replay_window_s, "WASMCLOUD_INVOCATION_REPLAY_WINDOW_S",
          "invocation_replay_window_s");
  set_int(cfg.metrics_port, "WASMCLOUD_METRICS_PORT", "metrics_port");
  set_int(cfg.max_instances, "WASMCLOUD_MAX_INSTANCES", "max_instances");
  set_str(cfg.metrics_host, "WASMCLOUD_METRICS_HOST", "metrics_host");
  if (auto v = get("WASMCLOUD_JS_DOMAIN", "js_domain"); v && !v->empty()) cfg.js_domain = *v;
  if (auto v = get("WASMCLOUD_OCI_ALLOW_LATEST", "allow_latest")) cfg.allow_latest = *v == "true";
  set_str(cfg.oci_ca_file, "WASMCLOUD_OCI_CA_FILE", "oci_ca_file");
  auto set_size = [&](std::uint64_t& field, const char* e, const char* j) {
    if (auto v = get(e, j); v && !parse_size(*v, field))
      cfg.config_errors.push_back(std::string(env.count(e) ? e : j) + "='" + *v +
                                  "' is not a positive byte count");
  };
  set_size(cfg.max_actor_size, "WASMCLOUD_MAX_ACTOR_SIZE", "max_actor_size");
  set_size(cfg.max_provider_size, "WASMCLOUD_MAX_PROVIDER_SIZE", "max_provider_size");
  if (auto v = get("WASMCLOUD_OCI_ALLOWED_INSECURE", "allowed_insecure"))
    cfg.allowed_insecure = split_commas(*v);
  set_bool(cfg.config_service_enabled, "WASMCLOUD_CONFIG_SERVICE", "config_service_enabled");
  set_bool(cfg.structured_logging, "WASMCLOUD_STRUCTURED_LOGGING_ENABLED",
           "structured_logging_enabled");
  {
    auto lvl = get("WASMCLOUD_LOG_LEVEL", "log_level");
    if (!lvl) lvl = get("WASMCLOUD_STRUCTURED_LOG_LEVEL", "structured_log_level");
    if (lvl) {
      std::string l = lower(*lvl);
      while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.pop_back();
      while (!l.empty() && std::isspace(static_cast<unsigned char>(l.front()))) l.erase(0, 1);
      if (l == "warning") l = "warn";
      if (l == "trace" || l == "debug" || l == "info" || l == "warn" || l == "error") {
        cfg.log_level = l;
      } else {
        spdlog::warn("Unexpected log level '{}'. Defaulting to 'debug'", *lvl);
        cfg.log_level = "debug";
      }
    }
  }
  set_bool(cfg.enable_ipv6, "WASMCLOUD_ENABLE_IPV6", "enable_ipv6");
  set_bool(cfg.builtin_http_inline, "WASMCLOUD_BUILTIN_HTTP_INLINE", "builtin_http_inline");
  set_bool(cfg.allow_file_load, "WASMCLOUD_ALLOW_FILE_LOAD", "enable_start_from_fs");
  set_int(cfg.provider_shutdown_delay_ms, "WASMCLOUD_PROV_SHUTDOWN_DELAY_MS", "provider_delay");
  set_str(cfg.policy_topic, "WASMCLOUD_POLICY_TOPIC", "policy_topic");
  set_int(cfg.policy_timeout_ms, "WASMCLOUD_POLICY_TIMEOUT", "policy_timeout_ms");
  {
    std::string p = cfg.lattice_prefix;
    for (auto& c : p)
      if (c == '-') c = '_';
    if (auto it = env.find("WASMCLOUD_POLICY_CHANGES_TOPIC_" + p); it != env.end())
      cfg.policy_changes_topic = it->second;
    else if (auto it2 = env.find("WASMCLOUD_POLICY_CHANGES_TOPIC"); it2 != env.end())
      cfg.policy_changes_topic = it2->second;
  }
  if (auto it = env.find("OCI_REGISTRY"); it != env.end()) cfg.oci_registry = it->second;
  if (auto it = env.find("OCI_REGISTRY_USER"); it != env.end()) cfg.oci_registry_user = it->second;
  if (auto it = env.find("OCI_REGISTRY_PASSWORD"); it != env.end())
    cfg.oci_registry_password = it->second;
  cfg.labels = make_labels(env);
  return cfg;
}

void finish_flags(HostConfig& cfg) { core_labels(cfg.labels); }

std::chrono::milliseconds execution_budget(const HostConfig& cfg) {
  if (cfg.max_execution_time_ms > 0) return std::chrono::milliseconds(cfg.max_execution_time_ms);
  return std::chrono::milliseconds(std::max(cfg.rpc_timeout_ms, 15000)) +
         std::chrono::milliseconds(15000);
}

HostIdentity resolve_identity(const HostConfig& cfg) {
  std::optional<wascap::KeyPair> host_key;
  if (!cfg.host_seed.empty()) {
    auto kp = wascap::KeyPair::from_seed(cfg.host_seed);
    if (kp && kp->type() == wascap::KeyType::kServer) {
      host_key = *kp;
    } else {
      spdlog::error(
          "Failed to obtain host public key from seed: ({}). Generating a new host key instead.",
          kp ? std::string("not a server seed") : kp.error().message);
    }
  }
  if (!host_key) host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);

  std::optional<wascap::KeyPair> cluster_key;
  bool adhoc = false;
  if (!cfg.cluster_seed.empty()) {
    auto kp = wascap::KeyPair::from_seed(cfg.cluster_seed);
    if (kp && kp->type() == wascap::KeyType::kCluster) {
      cluster_key = *kp;
    } else {
      // Never log the seed itself (docs/ARCHITECTURE.md): only the reason.
      spdlog::warn("Invalid cluster seed: {}, generating a new cluster seed instead.",
                   kp ? std::string("not a cluster seed") : kp.error().message);
    }
  }
  std::vector<std::string> issuers;
  if (!cluster_key) {
    cluster_key = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    adhoc = true;
    issuers = {cluster_key->public_key()};
    spdlog::warn(
        "The host is running with an ad-hoc cluster key {}. To let other hosts accept its "
        "invocations, start this host with WASMCLOUD_CLUSTER_SEED set and share the seed",
        cluster_key->public_key());
  } else {
    issuers = cfg.cluster_issuers;
    auto own = cluster_key->public_key();
    bool present = false;
    for (const auto& i : issuers) present = present || i == own;
    if (!present) issuers.insert(issuers.begin(), own);
  }
  return HostIdentity{*host_key, *cluster_key, std::move(issuers), adhoc};
}

}  // namespace wc::host
