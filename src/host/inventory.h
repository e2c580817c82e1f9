// The host's view of what runs on it (actors and their instances) and the JSON shapes built from
// it: host inventory, heartbeat, ping reply (control-interface.md 2.3.1, 2.4.1, 4.4.3), and the
// pure scale decision of control-interface.md 3.3 / stop selection of 3.4.
//
// Owned by src/host. Plain values and pure functions; thread-safe. The live registry lives in
// host.cpp and produces snapshots of these types under its lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/control.h"

namespace wc::host {

/// One running actor instance (control-interface 2.3.1 `instances[]`).
struct InstanceInfo {
  std::string instance_id;  ///< UUID v4 given at start
  StringMap annotations;    ///< annotations of the start request
  std::string image_ref;    ///< reference it was started from ("" for raw bytes)
  std::int64_t revision = 0;
};

/// One actor public key running on the host with its instances in registry (start) order.
struct ActorInfo {
  std::string public_key;
  std::string name;  ///< claims name, "" when none
  std::vector<InstanceInfo> instances;
};

/// One provider instance as the inventory shows it (control-interface 2.3.1 ProviderDescription).
struct ProviderInfo {
  std::string public_key;  ///< V...
  std::string link_name;
  std::string contract_id;
  std::string image_ref;
  std::string name;  ///< claims name, "" when none
  std::string instance_id;
  StringMap annotations;
  std::int64_t revision = 0;
};

/// ProviderDescription JSON object (2.3.1).
nlohmann::json provider_json(const ProviderInfo& p);

/// Identity fields shared by inventory, ping and heartbeat.
struct HostFacts {
  std::string host_id;
  std::string issuer;  ///< cluster public key
  std::string friendly_name;
  StringMap labels;
  std::uint64_t uptime_seconds = 0;
  std::vector<std::string> cluster_issuers;
  std::optional<std::string> js_domain;
  std::string ctl_host, prov_rpc_host, rpc_host, lattice_prefix;
};

/// HostInventory reply (2.3.1); `image_ref` of an actor = its first instance's.
nlohmann::json inventory_json(const HostFacts& facts, const std::vector<ActorInfo>& actors,
                              const std::vector<ProviderInfo>& providers = {});
/// `ping.hosts` reply (2.4.1).
nlohmann::json ping_reply_json(const HostFacts& facts);
/// `host_heartbeat` event data (4.4.3): actors = key -> instance count; providers =
/// `{public_key, link_name, contract_id}` per running provider.
nlohmann::json heartbeat_json(const HostFacts& facts, const std::vector<ActorInfo>& actors,
                              const std::vector<ProviderInfo>& providers = {});

/// What a scale request asks the supervisor to do (control-interface 3.3).
struct ScalePlan {
  enum class Kind { kNothing, kStop, kStart, kError };
  Kind kind = Kind::kNothing;
  std::int64_t count = 0;  ///< instances to stop (kStop) or start (kStart)
  std::string reference;   ///< effective reference for kStart
  std::string error;       ///< kError: errors::kScaleWithoutReference
};

/// The 3.3 decision: effective ref = `requested_ref` if non-empty, else the first running
/// instance's ref when `running` >= 1, else ""; diff = running - desired; 0 -> nothing; > 0 ->
/// stop diff; < 0 with a ref -> start -diff; < 0 without -> error.
ScalePlan plan_scale(std::size_t running, const std::string& first_instance_ref,
                     const std::string& requested_ref, std::int64_t desired);

/// Indices (into `instances`, ascending) of the instances a stop of `count` with `filter` halts:
/// the instances whose annotations contain every key/value of `filter` (an empty filter matches
/// all), then the first `count` of those in registry order (count == 0 -> all of them). Ours:
/// OTP (3.4 step 2) took the first `count` instances before filtering, so a stop with
/// annotations could halt nothing while matching instances ran.
std::vector<std::size_t> select_instances_to_stop(const std::vector<InstanceInfo>& instances,
                                                  std::int64_t count, const StringMap& filter);

}  // namespace wc::host
