// `wasmcloud ctl`: the operator's control-interface client (wash ctl-like), over
// lattice::CtlClient (control-interface.md 2):
//   ctl get hosts | inventory HOST | claims | links
//   ctl start actor REF [--count N] [--host-id H]
//   ctl scale actor HOST ACTOR_ID REF COUNT
//   ctl stop actor HOST ACTOR_ID [--count N]
//   ctl update actor HOST ACTOR_ID NEW_REF
//   ctl start provider REF [--link-name L] [--host-id H]
//   ctl stop provider HOST PROVIDER_ID LINK_NAME CONTRACT_ID
//   ctl stop host HOST
//   ctl link put ACTOR_ID PROVIDER_ID CONTRACT_ID [KEY=VALUE...] [--link-name L]
//   ctl link del ACTOR_ID CONTRACT_ID [--link-name L]
//   ctl link query (= ctl get links)
// Each group also exists at the top level as wash's short form: `wasmcloud get hosts` is
// `wasmcloud ctl get hosts`.
// Tables by default, `-o json` prints the replies as JSON. Exit 1 with one line on stderr when a
// request fails or is not accepted. Host, actor and provider ids are checked (nkeys of the right
// type) before anything is sent. start/scale/stop wait, like wash, for the host's result event
// (subscribed before the command is sent; ctl_wait.h): exit 0 with the outcome, exit 1 with the
// host's error or after --timeout seconds (default 30); --skip-wait returns after the ack.
// link put waits for the lattice's linkdef_set (the link is stored; the provider checks the values
// only when it receives them), link del looks the link up first ("No link ...", exit 1) and
// waits for linkdef_deleted; every link message names actor, provider, contract and link name.
// NATS server, lattice prefix and control topic prefix: flags, else WASMCLOUD_CTL_HOST/PORT,
// WASMCLOUD_LATTICE_PREFIX, WASMCLOUD_CTL_TOPIC_PREFIX, else those of a running `wasmcloud up`
// (its lattice.json in the default data directory; the rule of `wasmcloud host`, issue #17.9),
// else 127.0.0.1:4222, "default", "wasmbus.ctl". --no-context ignores `up`'s settings.
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/ctl_wait.h"
#include "cli/local_lattice.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "common/json.h"
#include "lattice/ctl_client.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "rpc/claims_entry.h"
#include "rpc/messages.h"

namespace wc::cli {
namespace {

using json = nlohmann::json;

struct CtlArgs {
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string lattice{lattice::topics::kDefaultLattice};
  std::string ctl_prefix{lattice::topics::kDefaultCtlPrefix};
  int timeout_ms = 2000;
  int auction_timeout_ms = 2000;
  std::string output = "text";
  // Subcommand arguments.
  std::string host_id, actor_id, actor_ref;
  int count = 1;
  int stop_count = 0;
  std::string scale_count;
  std::string provider_ref, provider_id, link_name = "default", contract_id;
  std::vector<std::string> values;         ///< KEY=VALUE link values
  std::optional<std::string> opt_host_id;  ///< --host-id of start actor|provider
  double wait_timeout_s = 30;              ///< --timeout: how long to wait for the result event
  bool skip_wait = false;                  ///< --skip-wait: return after the ack
  std::string env_error;    ///< a bad WASMCLOUD_CTL_PORT, reported unless --ctl-port replaces it
  bool no_context = false;  ///< --no-context: ignore a running `wasmcloud up`'s lattice.json
  std::set<std::string> env_given;  ///< the WASMCLOUD_* variables set (non-empty)
  std::map<std::string, std::vector<CLI::Option*>> options;  ///< connection options by long name
};

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

/// Takes the NATS server, lattice prefix and control topic prefix of a running `wasmcloud up`
/// (its lattice.json in the default data directory) for those that neither a flag nor a
/// WASMCLOUD_CTL_* / WASMCLOUD_LATTICE_PREFIX variable gives, as `wasmcloud host` does (issue
/// #17.9). Nothing is taken with --no-context, without a running `up`, or when the NATS server
/// given is not up's (another lattice).
void apply_up_context(CtlArgs& a) {
  if (a.no_context) return;
  auto ctx = read_lattice_context(default_data_dir());
  if (!ctx) return;
  auto given = [&](const char* flag, const char* env) {
    for (const CLI::Option* o : a.options[flag])
      if (o->count() > 0) return true;
    return env != nullptr && a.env_given.count(env) > 0;
  };
  const bool host_given = given("--ctl-host", "WASMCLOUD_CTL_HOST");
  const bool port_given = given("--ctl-port", "WASMCLOUD_CTL_PORT");
  if (host_given || port_given) {
    auto local = [](const std::string& h) { return h == "localhost" ? "127.0.0.1" : h; };
    if (local(a.nats_host) != local(ctx->ctl.host) || a.nats_port != ctx->ctl.port) return;
  }
  a.nats_host = ctx->ctl.host;
  a.nats_port = ctx->ctl.port;
  if (!given("--lattice-prefix", "WASMCLOUD_LATTICE_PREFIX")) a.lattice = ctx->lattice_prefix;
  if (!given("--ctl-topic-prefix", "WASMCLOUD_CTL_TOPIC_PREFIX"))
    a.ctl_prefix = ctx->ctl_topic_prefix;
}

/// The callback of a ctl command: `up`'s lattice settings filled in, then `fn`.
std::function<void()> with_context(const std::shared_ptr<CtlArgs>& a, void (*fn)(const CtlArgs&)) {
  return [a, fn] {
    apply_up_context(*a);
    fn(*a);
  };
}

[[noreturn]] void die(const CtlArgs& a, const std::string& msg) {
  if (a.output == "json")
    std::cerr << json{{"success", false}, {"error", msg}}.dump() << "\n";
  else
    std::cerr << msg << "\n";
  throw CLI::RuntimeError(1);
}

/// Runs `fn(connection, client)` with a connected CtlClient.
template <class Fn>
void with_client(const CtlArgs& a, Fn&& fn) {
  if (a.nats_port == 0 && !a.env_error.empty()) die(a, a.env_error);
  if (auto st = check_port_range("--ctl-port", a.nats_port); !st) die(a, st.error().message);
  lattice::ConnectOptions o;
  o.servers = {"nats://" + a.nats_host + ":" + std::to_string(a.nats_port)};
  o.name = "wasmcloud ctl";
  auto nc = lattice::Connection::connect(o);
  if (!nc) die(a, "Failed to connect to NATS: " + nc.error().message);
  lattice::CtlClient client(**nc, a.lattice, a.ctl_prefix, std::chrono::milliseconds(a.timeout_ms),
                            std::chrono::milliseconds(a.auction_timeout_ms));
  fn(**nc, client);
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

/// One line of output for a command that succeeded: `text`, or with `-o json`
/// {"success":true,"accepted":true,"error":"", ...extra}.
void print_success(const CtlArgs& a, const std::string& text, json extra = json::object()) {
  if (a.output == "json") {
    json j{{"success", true}, {"accepted", true}, {"error", ""}};
    j.update(extra);
    std::cout << j.dump() << "\n";
  } else {
    std::cout << text << "\n";
  }
}

/// Ends the command (exit 1) unless `id` is a public nkey of `type` (checked before anything is
/// sent, so that a typo never reaches the lattice).
void check_id(const CtlArgs& a, const std::string& id, wascap::KeyType type, const char* what) {
  if (auto st = check_public_key(id, type, what); !st) die(a, st.error().message);
}

/// The text for a request to `host` that failed: a request nobody subscribes to (NATS "no
/// responders") means no such host runs on this lattice.
std::string request_error(const CtlArgs& a, lattice::Connection& nc, const Error& e,
                          const std::string& host) {
  if (e.code == Code::kUnavailable && nc.connected())
    return "No host " + host + " answered on lattice '" + a.lattice +
           "' (is the host running? `wasmcloud ctl get hosts` lists the hosts)";
  if (e.code == Code::kDeadlineExceeded)
    return "Host " + host + " did not answer within " + std::to_string(a.timeout_ms) +
           " ms (--timeout-ms): " + e.message;
  return "Request failed: " + e.message;
}

/// The text for a lattice-wide request that failed (no host subscribes: no host runs).
std::string lattice_request_error(const CtlArgs& a, lattice::Connection& nc, const Error& e) {
  if (e.code == Code::kUnavailable && nc.connected())
    return "No host answered on lattice '" + a.lattice +
           "' (is a host running? `wasmcloud up` starts one)";
  return "Request failed: " + e.message;
}

/// Ends the command unless the host accepted it.
void check_ack(const CtlArgs& a, lattice::Connection& nc, const Result<lattice::CtlAck>& ack,
               const std::string& what, const std::string& host) {
  if (!ack) die(a, request_error(a, nc, ack.error(), host));
  if (!ack->accepted) die(a, what + " was not accepted: " + ack->error);
}

/// The result of a command whose ack came back but whose outcome is not awaited (--skip-wait).
void print_accepted(const CtlArgs& a, const std::string& what) {
  print_success(a, what + " accepted (not waiting for the result: --skip-wait)");
}

/// Opens the lattice event stream before a command is sent; ends the command when it cannot.
std::unique_ptr<EventStream> open_events(const CtlArgs& a, lattice::Connection& nc) {
  auto s = EventStream::open(nc, a.lattice);
  if (!s) die(a, "Cannot subscribe to the lattice events: " + s.error().message);
  return std::move(*s);
}

std::chrono::steady_clock::time_point wait_deadline(const CtlArgs& a) {
  return std::chrono::steady_clock::now() +
         std::chrono::milliseconds(static_cast<std::int64_t>(a.wait_timeout_s * 1000));
}

/// Feeds events to `judge` until it returns a verdict or the --timeout passes (kUnrelated then).
template <class Judge>
Verdict wait_verdict(EventStream& events, std::chrono::steady_clock::time_point deadline,
                     Judge&& judge) {
  while (auto e = events.next(deadline)) {
    Verdict v = judge(*e);
    if (v.kind != Verdict::Kind::kUnrelated) return v;
  }
  return {};
}

/// "30 s", "1.5 s".
std::string seconds_text(double s) {
  std::ostringstream os;
  os << s << " s";
  return os.str();
}

[[noreturn]] void die_timeout(const CtlArgs& a, const std::string& what, const std::string& host) {
  die(a, "Timed out after " + seconds_text(a.wait_timeout_s) + " waiting for host " + host +
             " to report the result of: " + what +
             " (the request was accepted; the host's log may say more, and `wasmcloud ctl get "
             "inventory " +
             host + "` shows what runs; --timeout sets the wait)");
}

/// The inventory of `host`, or the end of the command with a clear message.
json inventory_or_die(const CtlArgs& a, lattice::Connection& nc, lattice::CtlClient& c,
                      const std::string& host) {
  auto inv = c.host_inventory(host);
  if (!inv) die(a, request_error(a, nc, inv.error(), host));
  if (inv->contains("accepted") && (*inv)["accepted"] == false)
    die(a, "Request was not accepted: " + str(*inv, "error"));
  return *inv;
}

/// The running instances of `actor_id` in an inventory reply, and their reference.
std::pair<std::size_t, std::string> actor_instances(const json& inv, const std::string& actor_id) {
  if (!inv.contains("actors") || !inv["actors"].is_array()) return {0, ""};
  for (const auto& act : inv["actors"]) {
    if (str(act, "id") != actor_id) continue;
    std::size_t n =
        act.contains("instances") && act["instances"].is_array() ? act["instances"].size() : 0;
    return {n, str(act, "image_ref")};
  }
  return {0, ""};
}
void get_hosts(const CtlArgs& a) {
  with_client(a, [&](lattice::Connection&, lattice::CtlClient& c) {
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
  check_id(a, a.host_id, wascap::KeyType::kServer, "host id");
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto inv = std::optional<json>(inventory_or_die(a, nc, c, a.host_id));
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"inventory", *inv}}.dump() << "\n";
      return;
    }
    std::cout << "Host inventory (" << str(*inv, "host_id") << ")\n\n";
    std::vector<std::vector<std::string>> labels;
    // A peer's inventory: labels that are not strings are shown as JSON, never thrown on.
    if (const json* l = json_member(*inv, "labels"); l != nullptr && l->is_object())
      for (auto& [k, v] : l->items())
        labels.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
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
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto r = c.get_claims();
    if (!r) die(a, lattice_request_error(a, nc, r.error()));
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"claims", (*r)["claims"]}}.dump() << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& cl : (*r)["claims"]) {
      auto entry = rpc::claims_entry_from_json(cl);  // the wire layer's one codec (5.3)
      if (!entry) {
        std::cerr << "Ignoring a malformed claims entry: " << entry.error().message << "\n";
        continue;
      }
      rows.push_back({entry->sub, entry->name, entry->iss, entry->caps, entry->version.value_or(""),
                      entry->rev});
    }
    print_table({"Subject", "Name", "Issuer", "Capabilities", "Version", "Revision"}, rows);
  });
}

void get_links(const CtlArgs& a) {
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto r = c.get_links();
    if (!r) die(a, lattice_request_error(a, nc, r.error()));
    if (a.output == "json") {
      std::cout << json{{"success", true}, {"links", (*r)["links"]}}.dump() << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : (*r)["links"]) {
      auto ld = rpc::linkdef_from_json(l);  // the wire layer's one codec (2.4.3)
      if (!ld) {
        std::cerr << "Ignoring a malformed link definition: " << ld.error().message << "\n";
        continue;
      }
      rows.push_back({ld->actor_id, ld->provider_id, ld->link_name, ld->contract_id});
    }
    print_table({"Actor ID", "Provider ID", "Link name", "Contract ID"}, rows);
  });
}

/// First host answering ping when `host` is unset (as the Rust client does for lp).
std::string pick_host(const CtlArgs& a, lattice::CtlClient& c,
                      const std::optional<std::string>& host) {
  if (host) return *host;
  auto hosts = c.ping_hosts();
  if (!hosts) die(a, "Request failed: " + hosts.error().message);
  if (hosts->empty())
    die(a, "No hosts answered on lattice '" + a.lattice + "' within " +
               std::to_string(a.auction_timeout_ms) +
               " ms (is a host running? `wasmcloud up` starts one; --host-id picks one)");
  return str(hosts->front(), "id");
}

void start_actor(const CtlArgs& a) {
  if (a.opt_host_id) check_id(a, *a.opt_host_id, wascap::KeyType::kServer, "host id");
  if (a.count < 1) die(a, "--count must be at least 1");
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    const std::string host = pick_host(a, c, a.opt_host_id);
    auto events = open_events(a, nc);
    const auto deadline = wait_deadline(a);
    check_ack(a, nc, c.start_actor(host, a.actor_ref, a.count), "Start actor request", host);
    if (a.skip_wait) return print_accepted(a, "Start actor request");
    Verdict v = wait_verdict(
        *events, deadline, [&](const json& e) { return judge_start_actor(e, host, a.actor_ref); });
    if (v.kind == Verdict::Kind::kFailed)
      die(a, "Failed to start actor " + a.actor_ref + " on host " + host + ": " + v.error);
    if (v.kind != Verdict::Kind::kSucceeded) die_timeout(a, "start actor " + a.actor_ref, host);
    const json& d = v.event["data"];
    const std::string key = str(d, "public_key");
    const std::string count = str(d, "count");
    std::string name = d.contains("claims") ? str(d["claims"], "name") : "";
    print_success(a,
                  "Actor " + key + (name.empty() ? "" : " (" + name + ")") + " started on host " +
                      host + ": " + count + " instance(s) from " + a.actor_ref,
                  {{"actor_id", key},
                   {"host_id", host},
                   {"actor_ref", a.actor_ref},
                   {"count", json_int(d, "count", 0)}});
  });
}

void scale_actor(const CtlArgs& a) {
  check_id(a, a.host_id, wascap::KeyType::kServer, "host id");
  check_id(a, a.actor_id, wascap::KeyType::kModule, "actor id");
  int count = 0;
  try {
    size_t pos = 0;
    count = std::stoi(a.scale_count, &pos);
    if (pos != a.scale_count.size() || count < 0) throw std::invalid_argument("count");
  } catch (...) {
    die(a, "COUNT must be a non-negative integer, not '" + a.scale_count + "'");
  }
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto events = open_events(a, nc);
    // The current count tells which event to wait for (none comes when nothing changes).
    auto [running, running_ref] =
        actor_instances(inventory_or_die(a, nc, c, a.host_id), a.actor_id);
    const auto deadline = wait_deadline(a);
    check_ack(a, nc, c.scale_actor(a.host_id, a.actor_id, a.actor_ref, count),
              "Scale actor request", a.host_id);
    if (a.skip_wait) return print_accepted(a, "Scale actor request");
    const std::string target = std::to_string(count) + " instance(s)";
    json extra{{"actor_id", a.actor_id}, {"host_id", a.host_id}, {"count", count}};
    if (running == static_cast<std::size_t>(count))
      return print_success(a,
                           "Actor " + a.actor_id + " already has " + target + " on host " +
                               a.host_id + "; nothing to do",
                           extra);
    const std::string from = "from " + std::to_string(running) + " to " + target;
    if (running > static_cast<std::size_t>(count)) {
      std::size_t stopped = 0;
      while (stopped < running - count) {
        Verdict v = wait_verdict(*events, deadline, [&](const json& e) {
          return judge_actor_stopped(e, a.host_id, a.actor_id);
        });
        if (v.kind != Verdict::Kind::kSucceeded)
          die_timeout(a, "scale actor " + a.actor_id + " " + from, a.host_id);
        ++stopped;
      }
      return print_success(a, "Scaled actor " + a.actor_id + " on host " + a.host_id + " " + from,
                           extra);
    }
    const std::string ref = a.actor_ref.empty() ? running_ref : a.actor_ref;
    Verdict v = wait_verdict(*events, deadline, [&](const json& e) {
      return judge_scale_up(e, a.host_id, a.actor_id, ref);
    });
    if (v.kind == Verdict::Kind::kFailed)
      die(a, "Failed to scale actor " + a.actor_id + " on host " + a.host_id + " " + from + ": " +
                 v.error);
    if (v.kind != Verdict::Kind::kSucceeded)
      die_timeout(a, "scale actor " + a.actor_id + " " + from, a.host_id);
    print_success(a, "Scaled actor " + a.actor_id + " on host " + a.host_id + " " + from, extra);
  });
}

void stop_actor(const CtlArgs& a) {
  check_id(a, a.host_id, wascap::KeyType::kServer, "host id");
  check_id(a, a.actor_id, wascap::KeyType::kModule, "actor id");
  if (a.stop_count < 0) die(a, "--count must be 0 (all instances) or more");
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto events = open_events(a, nc);
    auto running = actor_instances(inventory_or_die(a, nc, c, a.host_id), a.actor_id).first;
    if (running == 0)
      die(a, "Actor " + a.actor_id + " is not running on host " + a.host_id + " (nothing to stop)");
    const auto deadline = wait_deadline(a);
    check_ack(a, nc, c.stop_actor(a.host_id, a.actor_id, a.stop_count), "Stop actor request",
              a.host_id);
    if (a.skip_wait) return print_accepted(a, "Stop actor request");
    const std::size_t expected =
        a.stop_count == 0 ? running : std::min<std::size_t>(running, a.stop_count);
    for (std::size_t stopped = 0; stopped < expected; ++stopped) {
      Verdict v = wait_verdict(*events, deadline, [&](const json& e) {
        return judge_actor_stopped(e, a.host_id, a.actor_id);
      });
      if (v.kind != Verdict::Kind::kSucceeded)
        die_timeout(a, "stop actor " + a.actor_id, a.host_id);
    }
    print_success(a,
                  "Stopped " + std::to_string(expected) + " instance(s) of actor " + a.actor_id +
                      " on host " + a.host_id + " (" + std::to_string(running - expected) +
                      " remaining)",
                  {{"actor_id", a.actor_id},
                   {"host_id", a.host_id},
                   {"stopped", expected},
                   {"remaining", running - expected}});
  });
}

/// `ctl update actor HOST ACTOR_ID NEW_REF`: the host answers `upd` after the update is done
/// (2.3.5), with actor_updated / actor_update_failed per instance published before its answer on
/// the same connection; so the answer waits up to --timeout and the events are read right after.
void update_actor(CtlArgs a) {
  check_id(a, a.host_id, wascap::KeyType::kServer, "host id");
  check_id(a, a.actor_id, wascap::KeyType::kModule, "actor id");
  a.timeout_ms = std::max(a.timeout_ms, static_cast<int>(a.wait_timeout_s * 1000));
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto events = open_events(a, nc);
    const std::string what =
        "Update of actor " + a.actor_id + " on host " + a.host_id + " to " + a.actor_ref;
    auto ack = c.update_actor(a.host_id, a.actor_id, a.actor_ref);
    if (!ack) die(a, request_error(a, nc, ack.error(), a.host_id));
    if (!ack->accepted) die(a, what + " failed: " + ack->error);
    json extra{{"actor_id", a.actor_id}, {"host_id", a.host_id}, {"actor_ref", a.actor_ref}};
    Verdict v =
        wait_verdict(*events, std::chrono::steady_clock::now() + std::chrono::milliseconds(500),
                     [&](const json& e) { return judge_update_actor(e, a.host_id, a.actor_id); });
    if (v.kind == Verdict::Kind::kFailed) die(a, what + " failed: " + v.error);
    if (v.kind == Verdict::Kind::kSucceeded)
      return print_success(
          a, "Actor " + a.actor_id + " on host " + a.host_id + " updated to " + a.actor_ref, extra);
    print_success(a,
                  "Actor " + a.actor_id + " updated to " + a.actor_ref +
                      " (no instance runs on host " + a.host_id + "; new instances start from it)",
                  extra);
  });
}

void start_provider(const CtlArgs& a) {
  if (a.opt_host_id) check_id(a, *a.opt_host_id, wascap::KeyType::kServer, "host id");
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    const std::string host = pick_host(a, c, a.opt_host_id);
    auto events = open_events(a, nc);
    const auto deadline = wait_deadline(a);
    check_ack(a, nc, c.start_provider(host, a.provider_ref, a.link_name), "Start provider request",
              host);
    if (a.skip_wait) return print_accepted(a, "Start provider request");
    Verdict v = wait_verdict(*events, deadline, [&](const json& e) {
      return judge_start_provider(e, host, a.provider_ref, a.link_name);
    });
    if (v.kind == Verdict::Kind::kFailed)
      die(a, "Failed to start provider " + a.provider_ref + " on host " + host + ": " + v.error);
    if (v.kind != Verdict::Kind::kSucceeded)
      die_timeout(a,
                  "start provider " + a.provider_ref + " (link " + a.link_name +
                      "; a provider with the same key and link name may already be running)",
                  host);
    const json& d = v.event["data"];
    const std::string key = str(d, "public_key");
    std::string name = d.contains("claims") ? str(d["claims"], "name") : "";
    print_success(a,
                  "Provider " + key + (name.empty() ? "" : " (" + name + ")") +
                      " started on host " + host + " (link " + a.link_name + ", contract " +
                      str(d, "contract_id") + ")",
                  {{"provider_id", key},
                   {"host_id", host},
                   {"link_name", a.link_name},
                   {"contract_id", str(d, "contract_id")}});
  });
}

void stop_provider(const CtlArgs& a) {
  check_id(a, a.host_id, wascap::KeyType::kServer, "host id");
  check_id(a, a.provider_id, wascap::KeyType::kService, "provider id");
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto events = open_events(a, nc);
    json inv = inventory_or_die(a, nc, c, a.host_id);
    bool running = false;
    if (inv.contains("providers") && inv["providers"].is_array())
      for (const auto& p : inv["providers"])
        running = running || (str(p, "id") == a.provider_id && str(p, "link_name") == a.link_name);
    if (!running)
      die(a, "Provider " + a.provider_id + " (link " + a.link_name + ") is not running on host " +
                 a.host_id + " (nothing to stop)");
    const auto deadline = wait_deadline(a);
    check_ack(a, nc, c.stop_provider(a.host_id, a.provider_id, a.link_name, a.contract_id),
              "Stop provider request", a.host_id);
    if (a.skip_wait) return print_accepted(a, "Stop provider request");
    Verdict v = wait_verdict(*events, deadline, [&](const json& e) {
      return judge_stop_provider(e, a.host_id, a.provider_id, a.link_name);
    });
    if (v.kind != Verdict::Kind::kSucceeded)
      die_timeout(a, "stop provider " + a.provider_id, a.host_id);
    print_success(
        a, "Provider " + a.provider_id + " (link " + a.link_name + ") stopped on host " + a.host_id,
        {{"provider_id", a.provider_id}, {"host_id", a.host_id}, {"link_name", a.link_name}});
  });
}

/// `ctl stop host HOST_ID`: `cmd.{host}.stop` (2.3.8), then waits for the host's host_stopped,
/// which it publishes after stopping its actors and providers (6.3).
void stop_host(const CtlArgs& a) {
  check_id(a, a.host_id, wascap::KeyType::kServer, "host id");
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto events = open_events(a, nc);
    const auto deadline = wait_deadline(a);
    check_ack(a, nc, c.stop_host(a.host_id), "Stop host request for host " + a.host_id, a.host_id);
    if (a.skip_wait) return print_accepted(a, "Stop host request for host " + a.host_id);
    Verdict v = wait_verdict(*events, deadline,
                             [&](const json& e) { return judge_host_stopped(e, a.host_id); });
    if (v.kind != Verdict::Kind::kSucceeded) die_timeout(a, "stop host " + a.host_id, a.host_id);
    print_success(a, "Host " + a.host_id + " stopped (its actors and providers were stopped first)",
                  {{"host_id", a.host_id}});
  });
}

/// "link from actor M... to provider V... (contract C, link name L)": how every link_put and
/// link_del message names the link (issue #17.4: the host's log names only its hash).
std::string link_text(const LinkKey& l) {
  return "link from actor " + l.actor_id +
         (l.provider_id.empty() ? "" : " to provider " + l.provider_id) + " (contract " +
         l.contract_id + ", link name " + l.link_name + ")";
}

json link_json(const LinkKey& l) {
  return {{"actor_id", l.actor_id},
          {"provider_id", l.provider_id},
          {"contract_id", l.contract_id},
          {"link_name", l.link_name}};
}

/// `ctl link put`: sends `linkdefs.put` and waits for the lattice's linkdef_set of that link
/// (ctl_wait.h), which says the link is stored; the provider checks the values only when it
/// receives them, and a refusal appears only in its log, which the success text says.
void link_put(const CtlArgs& a) {
  check_id(a, a.actor_id, wascap::KeyType::kModule, "actor id");
  check_id(a, a.provider_id, wascap::KeyType::kService, "provider id");
  LinkKey link{a.actor_id, a.contract_id, a.link_name, a.provider_id, {}};
  for (const auto& kv : a.values) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      die(a, "Link values must be KEY=VALUE, not '" + kv + "' (" + link_text(link) + ")");
    link.values[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto events = open_events(a, nc);
    const auto deadline = wait_deadline(a);
    auto ack = c.advertise_link(a.actor_id, a.provider_id, a.contract_id, a.link_name, link.values);
    if (!ack)
      die(a, "Link put of the " + link_text(link) +
                 " failed: " + lattice_request_error(a, nc, ack.error()));
    if (!ack->accepted)
      die(a, "Link put of the " + link_text(link) + " was not accepted: " + ack->error);
    json extra = link_json(link);
    extra["values"] = link.values;
    if (a.skip_wait) {
      extra["stored"] = false;
      return print_success(
          a, "Link put request for the " + link_text(link) + " accepted (not waiting: --skip-wait)",
          extra);
    }
    Verdict v =
        wait_verdict(*events, deadline, [&](const json& e) { return judge_linkdef_set(e, link); });
    if (v.kind != Verdict::Kind::kSucceeded)
      die(a, "Timed out after " + seconds_text(a.wait_timeout_s) +
                 " waiting for the lattice to confirm the " + link_text(link) +
                 " (the request was accepted; `wasmcloud ctl get links` lists the stored links; "
                 "--timeout sets the wait)");
    extra["stored"] = true;
    print_success(a,
                  "Link stored in the lattice: " + link_text(link) + ". Provider " + a.provider_id +
                      " checks the values when it receives the link; a refusal (e.g. a bad "
                      "port) appears only in its log",
                  extra);
  });
}

/// `ctl link del`: looks the link up first (`get.links`; the host acks the deletion of a link it
/// does not have as a success, 2.4.5), says "No link ..." (exit 1) when there is none, else
/// sends `linkdefs.del` and waits for the lattice's linkdef_deleted of that link.
void link_del(const CtlArgs& a) {
  check_id(a, a.actor_id, wascap::KeyType::kModule, "actor id");
  LinkKey link{a.actor_id, a.contract_id, a.link_name, "", {}};
  with_client(a, [&](lattice::Connection& nc, lattice::CtlClient& c) {
    auto links = c.get_links();
    if (!links)
      die(a, "Cannot look up the " + link_text(link) + ": " +
                 lattice_request_error(a, nc, links.error()));
    bool found = false;
    if (const json* list = json_member(*links, "links"); list != nullptr && list->is_array())
      for (const auto& l : *list)
        if (!found && str(l, "actor_id") == link.actor_id &&
            str(l, "contract_id") == link.contract_id && str(l, "link_name") == link.link_name) {
          found = true;
          link.provider_id = str(l, "provider_id");
        }
    if (!found)
      die(a, "No " + link_text(link) + " in lattice '" + a.lattice +
                 "' (nothing to delete; `wasmcloud ctl get links` lists the links)");
    auto events = open_events(a, nc);
    const auto deadline = wait_deadline(a);
    auto ack = c.remove_link(a.actor_id, a.contract_id, a.link_name);
    if (!ack)
      die(a, "Link delete of the " + link_text(link) +
                 " failed: " + lattice_request_error(a, nc, ack.error()));
    if (!ack->accepted)
      die(a, "Link delete of the " + link_text(link) + " was not accepted: " + ack->error);
    json extra = link_json(link);
    if (a.skip_wait) {
      extra["deleted"] = false;
      return print_success(
          a,
          "Link delete request for the " + link_text(link) + " accepted (not waiting: --skip-wait)",
          extra);
    }
    Verdict v = wait_verdict(*events, deadline,
                             [&](const json& e) { return judge_linkdef_deleted(e, link); });
    if (v.kind != Verdict::Kind::kSucceeded)
      die(a, "Timed out after " + seconds_text(a.wait_timeout_s) +
                 " waiting for the lattice to confirm the deletion of the " + link_text(link) +
                 " (the request was accepted; `wasmcloud ctl get links` lists the stored links; "
                 "--timeout sets the wait)");
    extra["deleted"] = true;
    print_success(a, "Link deleted from the lattice: " + link_text(link), extra);
  });
}

/// The ctl arguments with the defaults of the WASMCLOUD_CTL_* variables.
std::shared_ptr<CtlArgs> make_ctl_args() {
  auto a = std::make_shared<CtlArgs>();
  a->nats_host = env_or("WASMCLOUD_CTL_HOST", a->nats_host);
  if (auto port = port_from_env("WASMCLOUD_CTL_PORT", 4222)) {
    a->nats_port = *port;
  } else {
    a->nats_port = 0;  // unusable: with_client reports env_error unless --ctl-port is given
    a->env_error = port.error().message;
  }
  a->lattice = env_or("WASMCLOUD_LATTICE_PREFIX", a->lattice);
  a->ctl_prefix = env_or("WASMCLOUD_CTL_TOPIC_PREFIX", a->ctl_prefix);
  for (const char* name : {"WASMCLOUD_CTL_HOST", "WASMCLOUD_CTL_PORT", "WASMCLOUD_LATTICE_PREFIX",
                           "WASMCLOUD_CTL_TOPIC_PREFIX"})
    if (!env_or(name, "").empty()) a->env_given.insert(name);
  return a;
}

/// The connection and output options of `ctl` (and of each top-level short form), then
/// fallthrough, so that the subcommands added later accept them too.
void add_connection_options(CLI::App* cmd, CtlArgs& a) {
  a.options["--ctl-host"].push_back(
      cmd->add_option("--ctl-host,-r", a.nats_host, "NATS host (WASMCLOUD_CTL_HOST)"));
  a.options["--ctl-port"].push_back(
      cmd->add_option("--ctl-port,-p", a.nats_port, "NATS port (WASMCLOUD_CTL_PORT)"));
  a.options["--lattice-prefix"].push_back(cmd->add_option(
      "--lattice-prefix,-x", a.lattice, "Lattice prefix (WASMCLOUD_LATTICE_PREFIX)"));
  a.options["--ctl-topic-prefix"].push_back(cmd->add_option(
      "--ctl-topic-prefix", a.ctl_prefix, "Control topic prefix (WASMCLOUD_CTL_TOPIC_PREFIX)"));
  cmd->add_flag("--no-context", a.no_context,
                "Ignore the lattice settings of a running `wasmcloud up` (its lattice.json), "
                "used otherwise for what no flag or WASMCLOUD_* variable gives");
  cmd->add_option("--timeout-ms,-t", a.timeout_ms, "Request timeout in milliseconds");
  cmd->add_option("--auction-timeout-ms", a.auction_timeout_ms,
                  "How long to collect ping/auction replies, milliseconds");
  add_output_option(cmd, a.output);
  cmd->fallthrough();
}

/// Adds a ctl command group `name` under `parent` and returns it: a subcommand of `ctl`, or with
/// `short_form` a top-level `wasmcloud <name>` that carries the connection options itself.
CLI::App* add_group(CLI::App* parent, const std::shared_ptr<CtlArgs>& a, const std::string& name,
                    const std::string& description, bool short_form) {
  auto* g = parent->add_subcommand(
      name, short_form ? description + " (short for `wasmcloud ctl " + name + "`)" : description);
  g->require_subcommand(1);
  if (short_form) add_connection_options(g, *a);
  g->fallthrough();
  return g;
}

/// The groups get, start, scale, stop, update and link with their subcommands, under `ctl` or,
/// with `short_form`, at the top level (issue #17.9: wash's short forms).
void add_ctl_groups(CLI::App* parent, const std::shared_ptr<CtlArgs>& a, bool short_form) {
  // start/scale/stop/link wait for the host's result event unless told not to.
  auto add_wait_flags = [a](CLI::App* cmd) {
    cmd->add_option("--timeout", a->wait_timeout_s,
                    "Seconds to wait for the host to report the result (default 30)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--skip-wait", a->skip_wait,
                  "Return as soon as the host accepts the request, without waiting for the result");
  };

  auto* get = add_group(parent, a, "get", "Query lattice state", short_form);
  get->add_subcommand("hosts", "List hosts (ping)")->callback(with_context(a, get_hosts));
  auto* inv = get->add_subcommand("inventory", "Inventory of one host");
  inv->add_option("host_id", a->host_id, "Host ID (N...)")->required();
  inv->callback(with_context(a, get_inventory));
  get->add_subcommand("claims", "Claims known to the lattice")
      ->callback(with_context(a, get_claims));
  get->add_subcommand("links", "Link definitions")->callback(with_context(a, get_links));

  auto* start = add_group(parent, a, "start", "Start an actor or a provider", short_form);
  auto* sa = start->add_subcommand("actor", "Start an actor from a reference");
  sa->add_option("actor_ref", a->actor_ref, "OCI reference or file:// path")->required();
  sa->add_option("--count,-c", a->count, "Instances to start");
  sa->add_option("--host-id", a->opt_host_id, "Target host (default: the first host to answer)");
  add_wait_flags(sa);
  sa->callback(with_context(a, start_actor));
  auto* sp = start->add_subcommand("provider", "Start a capability provider from a reference");
  sp->add_option("provider_ref", a->provider_ref,
                 "OCI reference, file:// path or builtin://httpserver (the host's own HTTP server)")
      ->required();
  sp->add_option("--link-name,-l", a->link_name, "Link name");
  sp->add_option("--host-id", a->opt_host_id, "Target host (default: the first host to answer)");
  add_wait_flags(sp);
  sp->callback(with_context(a, start_provider));

  auto* scale = add_group(parent, a, "scale", "Scale an actor on a host", short_form);
  auto* sc = scale->add_subcommand("actor", "Set the number of instances of an actor");
  sc->add_option("host_id", a->host_id, "Host ID")->required();
  sc->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  sc->add_option("actor_ref", a->actor_ref, "Reference to start new instances from")->required();
  sc->add_option("count", a->scale_count, "Desired number of instances")->required();
  add_wait_flags(sc);
  sc->callback(with_context(a, scale_actor));

  auto* stop = add_group(parent, a, "stop", "Stop an actor, a provider or a host", short_form);
  auto* st = stop->add_subcommand("actor", "Stop instances of an actor");
  st->add_option("host_id", a->host_id, "Host ID")->required();
  st->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  st->add_option("--count,-c", a->stop_count, "Instances to stop (0 = all)");
  add_wait_flags(st);
  st->callback(with_context(a, stop_actor));
  auto* stp = stop->add_subcommand("provider", "Stop a capability provider");
  stp->add_option("host_id", a->host_id, "Host ID")->required();
  stp->add_option("provider_id", a->provider_id, "Provider public key (V...)")->required();
  stp->add_option("link_name", a->link_name, "Link name")->required();
  stp->add_option("contract_id", a->contract_id, "Contract ID")->required();
  add_wait_flags(stp);
  stp->callback(with_context(a, stop_provider));
  auto* sh = stop->add_subcommand("host", "Stop a host (its actors and providers first)");
  sh->add_option("host_id", a->host_id, "Host ID (N...)")->required();
  add_wait_flags(sh);
  sh->callback(with_context(a, stop_host));

  auto* update =
      add_group(parent, a, "update", "Update (replace the module of) a running actor", short_form);
  auto* ua = update->add_subcommand("actor", "Live-update an actor to a new reference");
  ua->add_option("host_id", a->host_id, "Host ID")->required();
  ua->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  ua->add_option("new_actor_ref", a->actor_ref, "Reference of the new module")->required();
  ua->add_option("--timeout", a->wait_timeout_s,
                 "Seconds to wait for the host to finish the update (default 30)")
      ->check(CLI::PositiveNumber);
  ua->callback(with_context(a, [](const CtlArgs& args) { update_actor(args); }));

  auto* link = add_group(parent, a, "link", "Put, delete or list link definitions", short_form);
  auto* lput = link->add_subcommand("put", "Link an actor to a provider");
  lput->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  lput->add_option("provider_id", a->provider_id, "Provider public key (V...)")->required();
  lput->add_option("contract_id", a->contract_id, "Contract ID")->required();
  lput->add_option("values", a->values, "KEY=VALUE link values");
  lput->add_option("--link-name,-l", a->link_name, "Link name");
  add_wait_flags(lput);
  lput->callback(with_context(a, link_put));
  auto* ldel = link->add_subcommand("del", "Delete a link definition");
  ldel->add_option("actor_id", a->actor_id, "Actor public key (M...)")->required();
  ldel->add_option("contract_id", a->contract_id, "Contract ID")->required();
  ldel->add_option("--link-name,-l", a->link_name, "Link name");
  add_wait_flags(ldel);
  ldel->callback(with_context(a, link_del));
  link->add_subcommand("query", "List link definitions (as `get links`)")
      ->callback(with_context(a, get_links));
}

}  // namespace

void register_ctl(CLI::App& app) {
  auto a = make_ctl_args();
  auto* ctl = app.add_subcommand("ctl", "Interact with a wasmCloud lattice (control interface)");
  ctl->require_subcommand(1);
  add_connection_options(ctl, *a);
  add_ctl_groups(ctl, a, false);
  // The short forms have arguments of their own: only one command runs per process, but CLI11
  // binds each option to one variable.
  add_ctl_groups(&app, make_ctl_args(), true);
}

}  // namespace wc::cli
