// Subject builders of topics.h. Plain string concatenation; see the header for the sources.
#include "lattice/topics.h"

#include <initializer_list>

#include "common/encoding.h"

namespace wc::lattice::topics {
namespace {

/// Joins the parts with '.'.
std::string join(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size() + 1;
  std::string out;
  out.reserve(n);
  for (auto p : parts) {
    if (!out.empty()) out.push_back('.');
    out.append(p);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string ctl_root(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice});
}
std::string ctl_queue_group(std::string_view lattice, std::string_view ctl) {
  return ctl_root(lattice, ctl);
}
std::string ctl_subject(std::string_view lattice, std::string_view operation,
                        std::string_view ctl) {
  return join({ctl, lattice, operation});
}
std::string ctl_cmd(std::string_view lattice, std::string_view host, std::string_view op,
                    std::string_view ctl) {
  return join({ctl, lattice, "cmd", host, op});
}
std::string ctl_cmd_subscribe(std::string_view lattice, std::string_view host,
                              std::string_view ctl) {
  return join({ctl, lattice, "cmd", host, "*"});
}
std::string ctl_get_inventory(std::string_view lattice, std::string_view host,
                              std::string_view ctl) {
  return join({ctl, lattice, "get", host, "inv"});
}
std::string ctl_ping_hosts(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "ping", "hosts"});
}
std::string ctl_get_subscribe(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "get", "*"});
}
std::string ctl_get_claims(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "get", "claims"});
}
std::string ctl_get_links(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "get", "links"});
}
std::string ctl_linkdefs_subscribe(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "linkdefs", "*"});
}
std::string ctl_linkdefs_put(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "linkdefs", "put"});
}
std::string ctl_linkdefs_del(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "linkdefs", "del"});
}
std::string ctl_registries_put(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "registries", "put"});
}
std::string ctl_auction_subscribe(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "auction", ">"});
}
std::string ctl_auction_actor(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "auction", "actor"});
}
std::string ctl_auction_provider(std::string_view lattice, std::string_view ctl) {
  return join({ctl, lattice, "auction", "provider"});
}

std::optional<std::string> ctl_operation(std::string_view subject, std::string_view lattice,
                                         std::string_view ctl) {
  std::string root = ctl_root(lattice, ctl) + ".";
  if (!starts_with(subject, root) || subject.size() == root.size()) return std::nullopt;
  return std::string(subject.substr(root.size()));
}

std::string events(std::string_view lattice) { return join({kEventPrefix, lattice}); }
std::string rpc_events(std::string_view lattice) { return join({kRpcEventPrefix, lattice}); }

std::string rpc_actor(std::string_view lattice, std::string_view actor_key) {
  return join({kRpcPrefix, lattice, actor_key});
}
std::string rpc_actor_queue_group(std::string_view lattice, std::string_view actor_key) {
  return rpc_actor(lattice, actor_key);
}
std::string rpc_provider(std::string_view lattice, std::string_view provider_key,
                         std::string_view link_name) {
  return join({kRpcPrefix, lattice, provider_key, link_name});
}
std::string rpc_linkdefs_put(std::string_view lattice, std::string_view provider_key,
                             std::string_view link_name) {
  return join({kRpcPrefix, lattice, provider_key, link_name, "linkdefs", "put"});
}
std::string rpc_linkdefs_del(std::string_view lattice, std::string_view provider_key,
                             std::string_view link_name) {
  return join({kRpcPrefix, lattice, provider_key, link_name, "linkdefs", "del"});
}
std::string rpc_health(std::string_view lattice, std::string_view provider_key,
                       std::string_view link_name) {
  return join({kRpcPrefix, lattice, provider_key, link_name, "health"});
}
std::string rpc_shutdown(std::string_view lattice, std::string_view provider_key,
                         std::string_view link_name) {
  return join({kRpcPrefix, lattice, provider_key, link_name, "shutdown"});
}

std::optional<RpcActorSubject> parse_rpc_actor(std::string_view subject) {
  std::string_view tokens[4];
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = subject.find('.', start);
    std::string_view tok =
        subject.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (tok.empty() || count == 4) return std::nullopt;
    tokens[count++] = tok;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (count != 4 || tokens[0] != "wasmbus" || tokens[1] != "rpc") return std::nullopt;
  return RpcActorSubject{std::string(tokens[2]), std::string(tokens[3])};
}

std::string config_request(std::string_view lattice) {
  return join({kConfigPrefix, lattice, "req"});
}

std::string js_api(std::string_view js_domain) {
  if (js_domain.empty()) return "$JS.API";
  return join({"$JS", js_domain, "API"});
}
std::string js_stream_create(std::string_view stream, std::string_view js_domain) {
  return join({js_api(js_domain), "STREAM", "CREATE", stream});
}
std::string js_stream_info(std::string_view stream, std::string_view js_domain) {
  return join({js_api(js_domain), "STREAM", "INFO", stream});
}
std::string js_stream_delete(std::string_view stream, std::string_view js_domain) {
  return join({js_api(js_domain), "STREAM", "DELETE", stream});
}
std::string js_consumer_create(std::string_view stream, std::string_view js_domain) {
  return join({js_api(js_domain), "CONSUMER", "CREATE", stream});
}

std::string kv_bucket(std::string_view lattice) { return "LATTICEDATA_" + std::string(lattice); }
std::string kv_stream(std::string_view lattice) { return "KV_" + kv_bucket(lattice); }
std::string kv_stream_subjects(std::string_view lattice) {
  return join({"$KV", kv_bucket(lattice), ">"});
}
std::string kv_key(std::string_view lattice, std::string_view key, std::string_view js_domain) {
  std::string s = join({"$KV", kv_bucket(lattice), key});
  if (js_domain.empty()) return s;
  return join({"$JS", js_domain, "API", s});
}

std::optional<KvSubject> parse_kv_subject(std::string_view subject) {
  if (starts_with(subject, "$JS.")) {
    // `$JS.{domain}.API.$KV....`
    std::size_t pos = subject.find(".API.$KV.");
    if (pos == std::string_view::npos) return std::nullopt;
    subject.remove_prefix(pos + 5);
  }
  constexpr std::string_view kPrefix = "$KV.LATTICEDATA_";
  if (!starts_with(subject, kPrefix)) return std::nullopt;
  subject.remove_prefix(kPrefix.size());
  std::size_t dot = subject.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == subject.size()) return std::nullopt;
  return KvSubject{std::string(subject.substr(0, dot)), std::string(subject.substr(dot + 1))};
}

std::string v1_ctl_root(std::string_view lattice, std::string_view ctl) {
  return join({ctl, kV1Version, lattice});
}
std::string v1_ctl_subject(std::string_view lattice, std::string_view operation,
                           std::string_view ctl) {
  return join({ctl, kV1Version, lattice, operation});
}
std::optional<std::string> v1_ctl_operation(std::string_view subject, std::string_view lattice,
                                            std::string_view ctl) {
  const std::string root = v1_ctl_root(lattice, ctl) + ".";
  if (!starts_with(subject, root) || subject.size() == root.size()) return std::nullopt;
  return std::string(subject.substr(root.size()));
}

std::string v1_id_key(std::string_view id) { return std::string(kV1IdKeyPrefix) + std::string(id); }
bool is_valid_v1_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}
std::string linkdef_key(std::string_view linkdef_id) {
  return std::string(kLinkdefKeyPrefix) + std::string(linkdef_id);
}
std::string claims_key(std::string_view public_key) {
  return std::string(kClaimsKeyPrefix) + std::string(public_key);
}
std::string refmap_key(std::string_view reference) {
  return std::string(kRefmapKeyPrefix) + base64url_encode(as_bytes(reference));
}
std::string linkdef_id(std::string_view actor_id, std::string_view contract_id,
                       std::string_view link_name) {
  std::string all;
  all.reserve(actor_id.size() + contract_id.size() + link_name.size());
  all.append(actor_id).append(contract_id).append(link_name);
  return hex_upper(sha256(as_bytes(all)));
}

std::string legacy_cache_stream(std::string_view lattice) {
  return "LATTICECACHE_" + std::string(lattice);
}
std::string legacy_cache_subjects(std::string_view lattice) { return join({"lc", lattice, ">"}); }

std::string obj_stream(std::string_view bucket) { return "OBJ_" + std::string(bucket); }
std::string obj_chunk_subject(std::string_view bucket, std::string_view nuid) {
  return join({"$O", bucket, "C", nuid});
}
std::string obj_meta_subject(std::string_view bucket, std::string_view object_name) {
  std::string name = base64url_encode(as_bytes(object_name));
  while (name.size() % 4 != 0) name.push_back('=');
  return join({"$O", bucket, "M", name});
}
std::string obj_response_name(std::string_view invocation_id) {
  return std::string(invocation_id) + "-r";
}

std::string v1_lattice_root(std::string_view lattice) { return join({"wasmbus.ctl.v1", lattice}); }
std::string v1_links_subscribe(std::string_view lattice) {
  return join({"wasmbus.ctl.v1", lattice, "link", "*"});
}
std::string v1_config_subscribe(std::string_view lattice) {
  return join({"wasmbus.ctl.v1", lattice, "config", "*", "*"});
}
std::string v1_link(std::string_view lattice, std::string_view op) {
  return join({"wasmbus.ctl.v1", lattice, "link", op});
}
std::string v1_config(std::string_view lattice, std::string_view op, std::string_view name) {
  return join({"wasmbus.ctl.v1", lattice, "config", op, name});
}
std::string v1_event_subject(std::string_view lattice, std::string_view name) {
  return join({kEventPrefix, lattice, name});
}
std::string v1_config_bucket(std::string_view lattice) {
  return "CONFIGDATA_" + std::string(lattice);
}
std::string v1_links_bucket(std::string_view lattice) {
  return "wc_v1_links_" + std::string(lattice);
}
std::string v1_link_key(std::string_view source_id, std::string_view name,
                        std::string_view wit_namespace, std::string_view wit_package) {
  std::string all;
  all.append(source_id).push_back('\0');
  all.append(name).push_back('\0');
  all.append(wit_namespace).push_back('\0');
  all.append(wit_package);
  return hex_upper(sha256(as_bytes(all)));
}
std::string wadm_state_hosts_key(std::string_view lattice) {
  return "host_" + std::string(lattice);
}
std::string wadm_state_components_key(std::string_view lattice) {
  return "component_" + std::string(lattice);
}
std::string wadm_state_providers_key(std::string_view lattice) {
  return "provider_" + std::string(lattice);
}

std::string wadm_api_subscribe(std::string_view lattice) {
  return std::string(kWadmApiPrefix) + "." + std::string(lattice) + ".model.>";
}

std::string wadm_api(std::string_view lattice, std::string_view op, std::string_view name) {
  std::string s =
      std::string(kWadmApiPrefix) + "." + std::string(lattice) + ".model." + std::string(op);
  if (!name.empty()) s += "." + std::string(name);
  return s;
}

std::string wadm_model_key(std::string_view lattice, std::string_view name) {
  return std::string(lattice) + "." + std::string(name);
}

}  // namespace wc::lattice::topics
