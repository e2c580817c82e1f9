// `wasmcloud ctl`: the operator's control-interface client (wash ctl-like), over
// lattice::CtlClient (control-interface.md 2):
//   ctl get hosts | inventory HOST | claims | links
//   ctl start actor REF [--count N] [--host-id H]
//   ctl scale actor HOST ACTOR_ID REF COUNT
//   ctl stop actor HOST ACTOR_ID [--count N]
// Tables by default, `-o json` prints the replies as JSON. Exit 1 with one line on stderr when a
// request fails or is not accepted.
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "lattice/ctl_client.h"
#include "lattice/nats.h"

namespace wc::cli {
namespace {

using json = nlohmann::json;

struct CtlArgs {
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string lattice = "default";
  std::string ctl_prefix = "wasmbus.ctl";
  int timeout_ms = 2000;
  int auction_timeout_ms = 2000;
  std::string output = "text";
  // Subcommand arguments.
  std::string host_id, actor_id, actor_ref;
  int count = 1;
  int stop_count = 0;
  std::string scale_count;
  std::string provider_ref, provider_id, link_name = "default", contract_id;
  std::vector<std::string> values;  ///< KEY=VALUE link values
};

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

[[noreturn]] void die(const CtlArgs& a, const std::string& msg) {
  if (a.output == "json")
    std::cerr << json{{"success", false}, {"error", msg}}.dump() << "\n";
  else
    std::cerr << msg << "\n";
  throw CLI::RuntimeError(1);
}

/// Runs `fn` with a connected CtlClient.
template <class Fn>
void with_client(const CtlArgs& a, Fn&& fn) {
  lattice::ConnectOptions o;
  o.servers = {"nats://" + a.nats_host + ":" + std::to_string(a.nats_port)};
  o.name = "wasmcloud ctl";
  auto nc = lattice::Connection::connect(o);
  if (!nc) die(a, "Failed to connect to NATS: " + nc.error().message);
  lattice::CtlClient client(**nc, a.lattice, a.ctl_prefix, std::chrono::milliseconds(a.timeout_ms),
                            std::chrono::milliseconds(a.auction_timeout_ms));
  fn(client);
}

/// Prints rows as a left-aligned table with a header.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::ostringstream os;
    for (size_t i = 0; i < r.size(); ++i) {
      os << std::left << std::setw(static_cast<int>(w[i]) + (i + 1 < r.size() ? 2 : 0)) << r[i];
    }
    std::string s = os.str();
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::cout << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void print_ack(const CtlArgs& a, const Result<lattice::CtlAck>& ack, const std::string& what) {
  if (!ack) die(a, "Request failed: " + ack.error().message);
  if (!ack->accepted) die(a, what + " was not accepted: " + ack->error);
  if (a.output == "json")
    std::cout << json{{"success", true}, {"accepted", true}, {"error", ""}}.dump() << "\n";
  else
    std::cout << what << " accepted\n";
}

void get_hosts(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    auto hosts = c.ping_hosts();
    if (!hosts) die(a, "Request failed: " + hosts.error().message);
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"hosts", *hosts}}.dump() << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : *hosts)
      rows.push_back({str(h, "id"), str(h, "friendly_name"), str(h, "uptime_human")});
    print_table({"Host ID", "Friendly name", "Uptime"}, rows);
  });
}

void get_inventory(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    auto inv = c.host_inventory(a.host_id);
    if (!inv) die(a, "Request failed: " + inv.error().message);
    if (inv->contains("accepted") && (*inv)["accepted"] == false)
      die(a, "Request was not accepted: " + str(*inv, "error"));
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"inventory", *inv}}.dump() << "\n";
      return;
    }
    std::cout << "Host inventory (" << str(*inv, "host_id") << ")\n\n";
    std::vector<std::vector<std::string>> labels;
    for (auto& [k, v] : (*inv)["labels"].items()) labels.push_back({k, v.get<std::string>()});
    print_table({"Label", "Value"}, labels);
    std::cout << "\n";
    std::vector<std::vector<std::string>> actors;
    for (const auto& act : (*inv)["actors"])
      actors.push_back({str(act, "id"), str(act, "name"), str(act, "image_ref"),
                        std::to_string(act["instances"].size())});
    if (actors.empty())
      std::cout << "No actors found\n";
    else
      print_table({"Actor ID", "Name", "Image reference", "Instances"}, actors);
    std::cout << "\n";
    std::vector<std::vector<std::string>> providers;
    for (const auto& p : (*inv)["providers"])
      providers.push_back({str(p, "id"), str(p, "name"), str(p, "link_name"), str(p, "contract_id"),
                           str(p, "image_ref")});
    if (providers.empty())
      std::cout << "No providers found\n";
    else
      print_table({"Provider ID", "Name", "Link name", "Contract ID", "Image reference"},
                  providers);
  });
}

void get_claims(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    auto r = c.get_claims();
    if (!r) die(a, "Request failed: " + r.error().message);
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"claims", (*r)["claims"]}}.dump() << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& cl : (*r)["claims"])
      rows.push_back({str(cl, "sub"), str(cl, "name"), str(cl, "iss"), str(cl, "caps"),
                      str(cl, "version"), str(cl, "rev")});
    print_table({"Subject", "Name", "Issuer", "Capabilities", "Version", "Revision"}, rows);
  });
}

void get_links(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    auto r = c.get_links();
    if (!r) die(a, "Request failed: " + r.error().message);
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"links", (*r)["links"]}}.dump() << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : (*r)["links"])
      rows.push_back(
          {str(l, "actor_id"), str(l, "provider_id"), str(l, "link_name"), str(l, "contract_id")});
    print_table({"Actor ID", "Provider ID", "Link name", "Contract ID"}, rows);
  });
}

void start_actor(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    std::string host = a.host_id;
    if (host.empty()) {
      auto hosts = c.ping_hosts();
      if (!hosts || hosts->empty()) die(a, "No hosts answered; pass --host-id");
      host = str(hosts->front(), "id");
    }
    print_ack(a, c.start_actor(host, a.actor_ref, a.count), "Start actor request");
  });
}

void scale_actor(const CtlArgs& a) {
  int count = 0;
  try {
    size_t pos = 0;
    count = std::stoi(a.scale_count, &pos);
    if (pos != a.scale_count.size() || count < 0) throw std::invalid_argument("count");
  } catch (...) {
    die(a, "COUNT must be a non-negative integer");
  }
  with_client(a, [&](lattice::CtlClient& c) {
    print_ack(a, c.scale_actor(a.host_id, a.actor_id, a.actor_ref, count), "Scale actor request");
  });
}

void stop_actor(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    print_ack(a, c.stop_actor(a.host_id, a.actor_id, a.stop_count), "Stop actor request");
  });
}

/// First host answering ping when `host` is empty (as the Rust client does for lp).
std::string pick_host(const CtlArgs& a, lattice::CtlClient& c, const std::string& host) {
  if (!host.empty()) return host;
  auto hosts = c.ping_hosts();
  if (!hosts || hosts->empty()) die(a, "No hosts answered; pass --host-id");
  return str(hosts->front(), "id");
}

void start_provider(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    print_ack(a, c.start_provider(pick_host(a, c, a.host_id), a.provider_ref, a.link_name),
              "Start provider request");
  });
}

void stop_provider(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    print_ack(a, c.stop_provider(a.host_id, a.provider_id, a.link_name, a.contract_id),
              "Stop provider request");
  });
}

void link_put(const CtlArgs& a) {
  std::map<std::string, std::string> values;
  for (const auto& kv : a.values) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) die(a, "Link values must be KEY=VALUE: " + kv);
    values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  with_client(a, [&](lattice::CtlClient& c) {
    print_ack(a, c.advertise_link(a.actor_id, a.provider_id, a.contract_id, a.link_name, values),
              "Link put request");
  });
}

void link_del(const CtlArgs& a) {
  with_client(a, [&](lattice::CtlClient& c) {
    print_ack(a, c.remove_link(a.actor_id, a.contract_id, a.link_name), "Link delete request");
  });
}

}  // namespace

void register_ctl(CLI::App& app) {
  auto a = std::make_shared<CtlArgs>();
  a->nats_host = env_or("WASMCLOUD_CTL_HOST", a->nats_host);
  a->nats_port = std::atoi(env_or("WASMCLOUD_CTL_PORT", "4222").c_str());
  a->lattice = env_or("WASMCLOUD_LATTICE_PREFIX", a->lattice);
  a->ctl_prefix = env_or("WASMCLOUD_CTL_TOPIC_PREFIX", a->ctl_prefix);
  auto* ctl = app.add_subcommand("ctl", "Interact with a wasmCloud lattice (control interface)");
  ctl->require_subcommand(1);
  ctl->add_option("--ctl-host,-r", a->nats_host, "NATS host (WASMCLOUD_CTL_HOST)");
  ctl->add_option("--ctl-port,-p", a->nats_port, "NATS port (WASMCLOUD_CTL_PORT)");
  ctl->add_option("--lattice-prefix,-x", a->lattice, "Lattice prefix");
  ctl->add_option("--ctl-topic-prefix", a->ctl_prefix, "Control topic prefix");
  ctl->add_option("--timeout-ms,-t", a->timeout_ms, "Request timeout in milliseconds");
  ctl->add_option("--auction-timeout-ms", a->auction_timeout_ms,
                  "How long to collect ping/auction replies, milliseconds");
  ctl->add_option("-o,--output", a->output, "text or json")->check(CLI::IsMember({"text", "json"}));
  ctl->fallthrough();

  auto* get = ctl->add_subcommand("get", "Query lattice state");
  get->require_subcommand(1);
  get->add_subcommand("hosts", "List hosts (ping)")->callback([a] { get_hosts(*a); });
  auto* inv = get->add_subcommand("inventory", "Inventory of one host");
  inv->add_option("host_id", a->host_id, "Host ID (N...)")->required();
  inv->callback([a] { get_inventory(*a); });
  get->add_subcommand("claims", "Claims known to the lattice")->callback([a] { get_claims(*a); });
  get->add_subcommand("links", "Link definitions")->callback([a] { get_links(*a); });
  get->fallthrough();

  auto* start = ctl->add_subcommand("start", "Start an actor or a provider");
  start->require_subcommand(1);
  auto* sa = start->add_subcommand("actor", "Start an actor from a reference");
  sa->add_option("actor_ref", a->actor_ref, "OCI reference or file:// path")->required();
  sa->add_option("--count,-c", a->count, "Instances to start");
  sa->add_option("--host-id", a->host_id, "Target host (default: the first host to answer)");
  sa->callback([a] { start_actor(*a); });
  auto* sp = start->add_subcommand("provider", "Start a capability provider from a reference");
  sp->add_option("provider_ref", a->provider_ref, "OCI reference or file:// path")->required();
  sp->add_option("--link-name,-l", a->link_name, "Link name");
  sp->add_option("--host-id", a->host_id, "Target host (default: the first host to answer)");
  sp->callback([a] { start_provider(*a); });
  start->fallthrough();

  auto* scale = ctl->add_subcommand("scale", "Scale an actor on a host");
  scale->require_subcommand(1);
  auto* sc = scale->add_subcommand("actor", "Set the number of instances of an actor");
  sc->add_option("host_id", a->host_id, "Host ID")->required();
  sc->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  sc->add_option("actor_ref", a->actor_ref, "Reference to start new instances from")->required();
  sc->add_option("count", a->scale_count, "Desired number of instances")->required();
  sc->callback([a] { scale_actor(*a); });
  scale->fallthrough();

  auto* stop = ctl->add_subcommand("stop", "Stop an actor or a provider");
  stop->require_subcommand(1);
  auto* st = stop->add_subcommand("actor", "Stop instances of an actor");
  st->add_option("host_id", a->host_id, "Host ID")->required();
  st->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  st->add_option("--count,-c", a->stop_count, "Instances to stop (0 = all)");
  st->callback([a] { stop_actor(*a); });
  auto* stp = stop->add_subcommand("provider", "Stop a capability provider");
  stp->add_option("host_id", a->host_id, "Host ID")->required();
  stp->add_option("provider_id", a->provider_id, "Provider public key (V...)")->required();
  stp->add_option("link_name", a->link_name, "Link name")->required();
  stp->add_option("contract_id", a->contract_id, "Contract ID")->required();
  stp->callback([a] { stop_provider(*a); });
  stop->fallthrough();
  auto* link = ctl->add_subcommand("link", "Put or delete link definitions");
  link->require_subcommand(1);
  auto* lput = link->add_subcommand("put", "Link an actor to a provider");
  lput->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  lput->add_option("provider_id", a->provider_id, "Provider public key (V...)")->required();
  lput->add_option("contract_id", a->contract_id, "Contract ID")->required();
  lput->add_option("values", a->values, "KEY=VALUE link values");
  lput->add_option("--link-name,-l", a->link_name, "Link name");
  lput->callback([a] { link_put(*a); });
  auto* ldel = link->add_subcommand("del", "Delete a link definition");
  ldel->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  ldel->add_option("contract_id", a->contract_id, "Contract ID")->required();
  ldel->add_option("--link-name,-l", a->link_name, "Link name");
  ldel->callback([a] { link_del(*a); });
  link->fallthrough();
}

}  // namespace wc::cli
