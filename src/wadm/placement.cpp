// Placement math (placement.h; the rules are in its file comment).
#include "wadm/placement.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace wc::wadm {
namespace {

/// The spreads of `props`, or the single "default" spread when none is declared.
std::vector<Spread> spreads_of(const ScalerProperties& props) {
  if (!props.spread.empty()) return props.spread;
  Spread d;
  d.name = "default";
  return {d};
}

std::string requirement_text(const std::map<std::string, std::string>& req) {
  std::string s;
  for (const auto& [k, v] : req) {
    if (!s.empty()) s += ", ";
    s += k + "=" + v;
  }
  return s;
}

/// The hosts matching `spread`, sorted by id, or the kNotFound error naming what is unmet.
Result<std::vector<const HostLabels*>> matching_hosts(const Spread& spread,
                                                      std::span<const HostLabels> hosts) {
  std::vector<const HostLabels*> out;
  for (const auto& h : hosts)
    if (host_matches(spread.requirements, h.labels)) out.push_back(&h);
  std::sort(out.begin(), out.end(),
            [](const HostLabels* a, const HostLabels* b) { return a->host_id < b->host_id; });
  if (!out.empty()) return out;
  const std::string head = "spread '" + spread.name + "' cannot be placed: ";
  if (hosts.empty()) return fail(Code::kNotFound, head + "no hosts in the lattice");
  for (const auto& [k, v] : spread.requirements) {
    bool any = std::any_of(hosts.begin(), hosts.end(), [&](const HostLabels& h) {
      auto it = h.labels.find(k);
      return it != h.labels.end() && it->second == v;
    });
    if (!any) return fail(Code::kNotFound, head + "no host has label " + k + "=" + v);
  }
  return fail(Code::kNotFound,
              head + "no host has all of the labels " + requirement_text(spread.requirements));
}

}  // namespace

std::vector<SpreadShare> split_replicas(const ScalerProperties& props) {
  const std::vector<Spread> spreads = spreads_of(props);
  const std::uint64_t total = props.replicas;
  std::uint64_t weight_sum = 0;
  for (const auto& s : spreads) weight_sum += s.weight;
  std::vector<SpreadShare> out;
  std::vector<std::uint64_t> remainder;
  std::uint64_t given = 0;
  for (const auto& s : spreads) {
    const std::uint64_t scaled = total * s.weight;
    const std::uint64_t share = weight_sum == 0 ? 0 : scaled / weight_sum;
    out.push_back({s.name, static_cast<std::uint32_t>(share)});
    remainder.push_back(weight_sum == 0 ? 0 : scaled % weight_sum);
    given += share;
  }
  // Largest remainder first; ties to the spread declared first (stable order of indices).
  std::vector<std::size_t> order(out.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t i = 0; given < total && !order.empty(); i = (i + 1) % order.size()) {
    ++out[order[i]].replicas;
    ++given;
  }
  return out;
}

bool host_matches(const std::map<std::string, std::string>& requirements,
                  const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : requirements) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

Result<std::vector<SpreadPlacement>> place_spreadscaler(const ScalerProperties& props,
                                                        std::span<const HostLabels> hosts,
                                                        std::uint32_t max_per_host) {
  const std::vector<Spread> spreads = spreads_of(props);
  const std::vector<SpreadShare> shares = split_replicas(props);
  std::vector<SpreadPlacement> out;
  for (std::size_t i = 0; i < spreads.size(); ++i) {
    SpreadPlacement p{spreads[i].name, shares[i].replicas, {}};
    if (p.replicas == 0) {
      out.push_back(std::move(p));
      continue;
    }
    auto matching = matching_hosts(spreads[i], hosts);
    if (!matching) return fail(matching.error());
    const std::uint64_t n = matching->size();
    if (max_per_host != 0 && p.replicas > n * max_per_host)
      return fail(
          Code::kNotFound,
          "spread '" + p.spread + "' cannot be placed: it needs " +
              std::to_string((p.replicas + max_per_host - 1) / max_per_host) + " hosts matching " +
              (spreads[i].requirements.empty() ? std::string("any labels")
                                               : requirement_text(spreads[i].requirements)) +
              " (at most " + std::to_string(max_per_host) + " per host), found " +
              std::to_string(n));
    const std::uint64_t base = p.replicas / n;
    const std::uint64_t extra = p.replicas % n;
    for (std::uint64_t h = 0; h < n; ++h) {
      const auto count = static_cast<std::uint32_t>(base + (h < extra ? 1 : 0));
      if (count > 0) p.hosts.push_back({(*matching)[h]->host_id, count});
    }
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<SpreadPlacement>> place_daemonscaler(const ScalerProperties& props,
                                                        std::span<const HostLabels> hosts,
                                                        std::uint32_t max_per_host) {
  if (max_per_host != 0 && props.replicas > max_per_host)
    return fail(Code::kInvalidArgument, "daemonscaler replicas " + std::to_string(props.replicas) +
                                            " exceed " + std::to_string(max_per_host) +
                                            " per host");
  std::vector<SpreadPlacement> out;
  for (const auto& spread : spreads_of(props)) {
    SpreadPlacement p{spread.name, 0, {}};
    if (props.replicas > 0) {
      auto matching = matching_hosts(spread, hosts);
      if (!matching) return fail(matching.error());
      for (const HostLabels* h : *matching) {
        p.hosts.push_back({h->host_id, props.replicas});
        p.replicas += props.replicas;
      }
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace wc::wadm
