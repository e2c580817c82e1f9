// Placement math of the scalers: how many replicas each spread of a spreadscaler gets, which
// hosts a spread's requirements match, and how a spread's replicas sit on those hosts; the same
// for a daemonscaler (replicas on every matching host). Pure functions, no lattice access: the
// reconciler feeds them the hosts it knows (labels from heartbeats) and turns the result into
// control commands.
//
// Owned by src/wadm. Pure and thread-safe. Semantics from wadm v0.4-v0.10
// (`src/scaler/spreadscaler/`, `src/scaler/daemonscaler/`); the remainder rule is ours:
//
//  * Split (spreadscaler): spread i of weight w_i gets floor(R * w_i / W) of the R replicas
//    (W = sum of weights). The k replicas left over go one each to the k spreads with the largest
//    remainder (R * w_i mod W); equal remainders go to the spread declared first. So 5 at
//    40/40/20 is 2/2/1 and 4 at 1/1/1 is 2/1/1. No spread declared: one spread "default", no
//    requirements, all R replicas.
//  * Matching: a host matches a spread when its labels contain every requirement key with the
//    same value (an empty requirement set matches every host).
//  * Within a spread: the matching hosts in host-id order take the spread's count round-robin
//    (count / n each, the first count % n hosts one more); hosts that get 0 are left out.
//    `max_per_host` (1 for capability providers: one instance of a provider and link name per
//    host) caps that; a spread needing more hosts than match is unsatisfiable.
//  * A spread with replicas to place and no matching host is unsatisfiable: the error
//    (kNotFound) names the spread and the requirement no host meets.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "wadm/manifest.h"

namespace wc::wadm {

/// A host as placement sees it: its id and labels.
struct HostLabels {
  std::string host_id;
  std::map<std::string, std::string> labels;
};

/// How many replicas one spread gets (split_replicas).
struct SpreadShare {
  std::string spread;
  std::uint32_t replicas = 0;
};

/// Replicas of one spread on one host.
struct HostCount {
  std::string host_id;
  std::uint32_t replicas = 0;
};

/// Where one spread's replicas go.
struct SpreadPlacement {
  std::string spread;
  std::uint32_t replicas = 0;
  /// Hosts with at least one replica, in host-id order.
  std::vector<HostCount> hosts;
};

/// The spreadscaler split of `props.replicas` over `props.spread` (rule in the file comment), in
/// declaration order. The shares always sum to props.replicas.
std::vector<SpreadShare> split_replicas(const ScalerProperties& props);

/// True when `labels` contains every (key, value) of `requirements`.
bool host_matches(const std::map<std::string, std::string>& requirements,
                  const std::map<std::string, std::string>& labels);

/// Places a spreadscaler on `hosts`: one SpreadPlacement per spread (declaration order; "default"
/// when none is declared). `max_per_host` 0 means no cap. Errors: kNotFound when a spread with
/// replicas has no matching host ("spread 'the-moon' cannot be placed: no host has label
/// region=moon"), or fewer than it needs under `max_per_host`.
Result<std::vector<SpreadPlacement>> place_spreadscaler(const ScalerProperties& props,
                                                        std::span<const HostLabels> hosts,
                                                        std::uint32_t max_per_host = 0);

/// Places a daemonscaler: `props.replicas` on every host matching a spread (every host when no
/// spread is declared; a host matching two spreads is listed under each). `replicas` above
/// `max_per_host` (when not 0) is refused. Errors: kNotFound as above when a spread matches no
/// host; kInvalidArgument for the cap.
Result<std::vector<SpreadPlacement>> place_daemonscaler(const ScalerProperties& props,
                                                        std::span<const HostLabels> hosts,
                                                        std::uint32_t max_per_host = 0);

}  // namespace wc::wadm
