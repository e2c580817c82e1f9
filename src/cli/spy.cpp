// `wasmcloud spy ACTOR_ID [--count N] [--timeout S]`: watches the invocations sent to an actor on
// the lattice (wash spy-like). It subscribes to the actor's RPC subject,
// wasmbus.rpc.{lattice}.{actor} (actor-rpc-providers.md 4.3), with a plain subscription -- not
// the host's queue group -- so it only observes: the host still receives and answers every
// invocation. One line per invocation: UTC time, origin entity, operation, payload size and
// invocation id; with `-o json` one JSON object per line. A message on the subject that is not an
// invocation is reported as such. Runs until Ctrl-C/SIGTERM, --count invocations or --timeout
// seconds (exit 0 in each case); a line on stderr says what is watched once the subscription is
// in place. NATS: --nats-host/--nats-port (WASMCLOUD_RPC_HOST/PORT), --lattice-prefix
// (WASMCLOUD_LATTICE_PREFIX).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <mutex>

#include <nats/nats.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/ctl_wait.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "host/runner.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "rpc/invocation.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

struct SpyArgs {
  std::string actor;
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string lattice{lattice::topics::kDefaultLattice};
  int count = 0;         ///< 0 = no limit
  double timeout_s = 0;  ///< 0 = no limit
  std::string output = "text";
  std::string env_error;  ///< a bad WASMCLOUD_RPC_PORT, reported unless --nats-port replaces it
};

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

/// Now as "2026-12-07T13:52:09.123Z".
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[80];  // room for any int year (gcc -Wformat-truncation under -Werror)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ms));
  return buf;
}

/// An entity as text: the actor key, or "KEY (contract, link name)" for a provider.
std::string entity_text(const rpc::WasmCloudEntity& e) {
  if (e.is_actor()) return e.public_key;
  return e.public_key + " (" + e.contract_id + ", " + e.link_name + ")";
}

/// The line (text or JSON) for one message seen on the actor's subject.
std::string spy_line(const SpyArgs& a, const lattice::Message& m) {
  const std::string time = utc_now();
  auto inv = rpc::decode_invocation(m.data());
  if (!inv) {
    if (a.output == "json")
      return nlohmann::json{{"time", time},
                            {"invocation", false},
                            {"size", m.data().size()},
                            {"error", inv.error().message}}
          .dump();
    return time + "  (not an invocation: " + std::to_string(m.data().size()) + " bytes, " +
           inv.error().message + ")";
  }
  const std::uint64_t size = inv->content_length.value_or(inv->msg.size());
  if (a.output == "json") {
    nlohmann::json origin{{"public_key", inv->origin.public_key},
                          {"contract_id", inv->origin.contract_id},
                          {"link_name", inv->origin.link_name}};
    return nlohmann::json{{"time", time},
                          {"origin", origin},
                          {"target", inv->target.public_key},
                          {"operation", inv->operation},
                          {"size", size},
                          {"id", inv->id}}
        .dump();
  }
  return time + "  " + entity_text(inv->origin) + " -> " + inv->operation + "  " +
         std::to_string(size) + " bytes  id " + inv->id;
}

void run_spy(const SpyArgs& a) {
  const bool json = a.output == "json";
  if (auto st = cli::check_public_key(a.actor, wascap::KeyType::kModule, "actor id"); !st)
    die(st.error().message, json);
  if (a.nats_port == 0 && !a.env_error.empty()) die(a.env_error, json);
  if (auto st = check_port_range("--nats-port", a.nats_port); !st) die(st.error().message, json);
  if (a.count < 0) die("--count must be 0 (no limit) or more", json);
  if (a.timeout_s < 0) die("--timeout must be 0 (no limit) or more seconds", json);
  // Before the NATS threads start: they inherit the mask, and Ctrl-C reaches the wait below.
  host::block_termination_signals();
  lattice::ConnectOptions o;
  o.servers = {"nats://" + a.nats_host + ":" + std::to_string(a.nats_port)};
  o.name = "wasmcloud spy";
  auto nc = lattice::Connection::connect(o);
  if (!nc) die("Failed to connect to NATS: " + nc.error().message, json);
  const std::string subject = lattice::topics::rpc_actor(a.lattice, a.actor);
  std::mutex mu;
  std::atomic<int> seen{0};
  auto sub = (*nc)->subscribe(subject, [&](lattice::Message m) {
    const std::string line = spy_line(a, m);
    std::lock_guard lock(mu);
    if (a.count > 0 && seen.load() >= a.count) return;
    std::cout << line << std::endl;
    seen.fetch_add(1);
  });
  if (!sub) die("Cannot subscribe to " + subject + ": " + sub.error().message, json);
  if (auto st = (*nc)->flush(); !st)
    die("Cannot subscribe to " + subject + ": " + st.error().message, json);
  std::cerr << "Watching the invocations of " << a.actor << " on " << subject << " (Ctrl-C stops)"
            << std::endl;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000));
  host::wait_for_termination([&] {
    if (a.count > 0 && seen.load() >= a.count) return true;
    return a.timeout_s > 0 && std::chrono::steady_clock::now() >= deadline;
  });
  sub->unsubscribe();
  nc->reset();
  nats_CloseAndWait(2000);
}

}  // namespace

void register_spy(CLI::App& app) {
  auto a = std::make_shared<SpyArgs>();
  a->nats_host = env_or("WASMCLOUD_RPC_HOST", a->nats_host);
  if (auto port = port_from_env("WASMCLOUD_RPC_PORT", 4222)) {
    a->nats_port = *port;
  } else {
    a->nats_port = 0;  // unusable: run_spy reports env_error unless --nats-port is given
    a->env_error = port.error().message;
  }
  a->lattice = env_or("WASMCLOUD_LATTICE_PREFIX", a->lattice);
  auto* cmd = app.add_subcommand(
      "spy", "Watch the invocations sent to an actor on the lattice (observes only)");
  cmd->add_option("actor", a->actor, "Actor public key (M...)")->required();
  cmd->add_option("--count,-n", a->count, "Stop after this many invocations (default: no limit)");
  cmd->add_option("--timeout", a->timeout_s, "Stop after this many seconds (default: no limit)");
  cmd->add_option("--nats-host,-r", a->nats_host, "NATS host (WASMCLOUD_RPC_HOST)");
  cmd->add_option("--nats-port,-p", a->nats_port, "NATS port (WASMCLOUD_RPC_PORT)");
  cmd->add_option("--lattice-prefix,-x", a->lattice, "Lattice prefix (WASMCLOUD_LATTICE_PREFIX)");
  add_output_option(cmd, a->output);
  cmd->callback([a] { run_spy(*a); });
}

}  // namespace wc::cli
