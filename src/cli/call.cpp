// `wasmcloud call ACTOR OPERATION PAYLOAD`: sends one signed invocation to an actor over the
// lattice (actor-rpc-providers.md 2.5, 3.2-3.4) and prints the reply. PAYLOAD is JSON and is sent
// as msgpack (as wash does); `--raw` sends the text bytes as they are. The reply is printed as
// JSON when it decodes as msgpack, else as text. The invocation is signed with the cluster seed
// (--cluster-seed or WASMCLOUD_CLUSTER_SEED, else the local lattice's seed kept by `up`; it must
// be among the receiving host's issuers).
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/ctl_wait.h"
#include "cli/local_lattice.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "common/encoding.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

struct CallArgs {
  std::string actor, operation, payload;
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string lattice{lattice::topics::kDefaultLattice};
  std::string cluster_seed;
  std::string origin;
  int timeout_ms = 2000;
  bool raw = false;
  std::string output = "text";
  std::string env_error;  ///< a bad WASMCLOUD_RPC_PORT, reported unless --nats-port replaces it
};

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

[[noreturn]] void die(const CallArgs& a, const std::string& msg) {
  if (a.output == "json")
    std::cerr << nlohmann::json{{"success", false}, {"error", msg}}.dump() << "\n";
  else
    std::cerr << msg << "\n";
  throw CLI::RuntimeError(1);
}

void run_call(const CallArgs& a) {
  // The actor key is checked before anything else, as `ctl` checks its ids (issue #17.8).
  if (auto st = check_public_key(a.actor, wascap::KeyType::kModule, "actor id"); !st)
    die(a, st.error().message);
  if (a.nats_port == 0 && !a.env_error.empty()) die(a, a.env_error);
  if (auto st = check_port_range("--nats-port", a.nats_port); !st) die(a, st.error().message);
  std::string seed =
      a.cluster_seed.empty() ? find_local_cluster_seed() : a.cluster_seed;  // `up`'s lattice
  // A path to a file holding the seed (e.g. `up`'s cluster.nk) is read, as `claims sign -i`
  // takes "a seed or a file holding it".
  if (!seed.empty() && !seed.starts_with("SC") && std::filesystem::is_regular_file(seed)) {
    auto text = read_file(seed);
    if (!text) die(a, "Cannot read the cluster seed file " + seed + ": " + text.error().message);
    seed.assign(text->begin(), text->end());
    while (!seed.empty() && std::isspace(static_cast<unsigned char>(seed.back()))) seed.pop_back();
  }
  if (seed.empty())
    die(a,
        "A cluster seed is required (--cluster-seed or WASMCLOUD_CLUSTER_SEED; `wasmcloud up` "
        "keeps one in its data directory)");
  auto key = wascap::KeyPair::from_seed(seed);
  if (!key) die(a, "Invalid cluster seed: " + key.error().message);
  Bytes payload;
  if (a.raw) {
    payload.assign(a.payload.begin(), a.payload.end());
  } else {
    auto j = nlohmann::json::parse(a.payload, nullptr, false);
    if (j.is_discarded()) die(a, "Payload is not valid JSON (use --raw to send text)");
    payload = nlohmann::json::to_msgpack(j);
  }
  std::string origin = a.origin.empty()
                           ? wascap::KeyPair::generate(wascap::KeyType::kModule).public_key()
                           : a.origin;
  auto inv = rpc::make_invocation(*key, rpc::actor_entity(origin), rpc::actor_entity(a.actor),
                                  a.operation, payload, key->public_key());
  if (!inv) die(a, inv.error().message);
  lattice::ConnectOptions o;
  o.servers = {"nats://" + a.nats_host + ":" + std::to_string(a.nats_port)};
  o.name = "wasmcloud call";
  auto nc = lattice::Connection::connect(o);
  if (!nc) die(a, "Failed to connect to NATS: " + nc.error().message);
  auto reply =
      (*nc)->request(lattice::topics::rpc_actor(a.lattice, a.actor), rpc::encode_invocation(*inv),
                     std::chrono::milliseconds(a.timeout_ms));
  if (!reply) die(a, "Failed to perform RPC call: " + reply.error().message);
  auto resp = rpc::decode_response(reply->data());
  if (!resp) die(a, resp.error().message);
  if (resp->error) die(a, "Error invoking actor: " + *resp->error);
  auto decoded = nlohmann::json::from_msgpack(resp->msg, true, false);
  // HttpResponse bodies are bytes: show them as text when they are.
  if (!decoded.is_discarded() && decoded.is_object() && decoded.contains("body") &&
      decoded["body"].is_binary()) {
    const auto& b = decoded["body"].get_binary();
    decoded["body"] = std::string(b.begin(), b.end());
  }
  if (a.output == "json") {
    nlohmann::json out{{"success", true}};
    if (!decoded.is_discarded())
      out["response"] = decoded;
    else
      out["response"] = to_string(resp->msg);
    std::cout << out.dump() << "\n";
  } else if (!decoded.is_discarded()) {
    std::cout << "Call response (raw): " << decoded.dump() << "\n";
  } else {
    std::cout << "Call response (raw): " << to_string(resp->msg) << "\n";
  }
}

}  // namespace

void register_call(CLI::App& app) {
  auto a = std::make_shared<CallArgs>();
  a->nats_host = env_or("WASMCLOUD_RPC_HOST", a->nats_host);
  if (auto port = port_from_env("WASMCLOUD_RPC_PORT", 4222)) {
    a->nats_port = *port;
  } else {
    a->nats_port = 0;  // unusable: run_call reports env_error unless --nats-port is given
    a->env_error = port.error().message;
  }
  a->lattice = env_or("WASMCLOUD_LATTICE_PREFIX", a->lattice);
  a->cluster_seed = env_or("WASMCLOUD_CLUSTER_SEED", "");
  auto* cmd = app.add_subcommand("call", "Invoke an actor operation over the lattice");
  cmd->add_option("actor", a->actor, "Actor public key (M...)")->required();
  cmd->add_option("operation", a->operation, "Operation, e.g. HttpServer.HandleRequest")
      ->required();
  cmd->add_option("payload", a->payload, "JSON payload (sent as msgpack)")->required();
  cmd->add_option("--nats-host,-r", a->nats_host, "NATS host (WASMCLOUD_RPC_HOST)");
  cmd->add_option("--nats-port,-p", a->nats_port, "NATS port (WASMCLOUD_RPC_PORT)");
  cmd->add_option("--lattice-prefix,-x", a->lattice, "Lattice prefix");
  cmd->add_option("--cluster-seed,-c", a->cluster_seed,
                  "Cluster seed SC... or a file holding it (WASMCLOUD_CLUSTER_SEED; default: the "
                  "one `wasmcloud up` keeps in its data directory)");
  cmd->add_option("--origin", a->origin, "Origin actor key (default: a random module key)");
  cmd->add_option("--timeout-ms,-t", a->timeout_ms, "Reply timeout in milliseconds");
  cmd->add_flag("--raw", a->raw, "Send PAYLOAD bytes as they are instead of JSON->msgpack");
  add_output_option(cmd, a->output);
  cmd->callback([a] { run_call(*a); });
}

}  // namespace wc::cli
