// `wasmcloud wadm`: the declarative-application service (issue #16) for one lattice, until
// SIGINT/SIGTERM. Answers wadm's API on `wadm.api.{lattice}.model.*` (queue group wadm_server:
// several replicas on one lattice share the requests and the model store) and keeps manifests in
// the JetStream KV bucket wc_wadm_models (src/wadm/api_server.h, model_store.h). NATS needs
// JetStream (`wasmcloud up` starts it so). Each replica runs a reconciler (src/wadm/reconciler.h);
// the one holding the lattice's lease in the bucket acts. `--no-reconcile`: API and store only,
// `model.deploy` is refused with a message saying so.
//
// Flags: --ctl-host/-r, --ctl-port/-p, --lattice-prefix/-x (defaults WASMCLOUD_CTL_HOST,
// WASMCLOUD_CTL_PORT, WASMCLOUD_LATTICE_PREFIX, else 127.0.0.1:4222 and "default"),
// --log-level.
#include <cstdlib>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "common/log.h"
#include "host/runner.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "wadm/api_server.h"

namespace wc::cli {
namespace {

struct WadmArgs {
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string lattice = "default";
  std::string log_level = "info";
  std::string output = "text";
  std::string env_error;
  bool no_reconcile = false;
  int first_backoff_ms = 3000;
  int max_rounds = 6;
};

std::string env_value(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

void run(const WadmArgs& a) {
  const bool json = a.output == "json";
  if (!a.env_error.empty()) die(a.env_error, json);
  if (auto st = check_port_range("--ctl-port", a.nats_port); !st) die(st.error().message, json);
  init_logging(false, a.log_level);
  // Before libnats starts its threads, so that only the wait below receives the signals.
  host::block_termination_signals();
  lattice::ConnectOptions o;
  o.servers = {"nats://" + a.nats_host + ":" + std::to_string(a.nats_port)};
  o.name = "wasmcloud wadm";
  auto nc = lattice::Connection::connect(o);
  if (!nc) die("Failed to connect to NATS: " + nc.error().message, json);
  wadm::ApiServerOptions options;
  options.lattice = a.lattice;
  options.reconcile = !a.no_reconcile;
  options.reconciler.first_backoff = std::chrono::milliseconds(a.first_backoff_ms);
  options.reconciler.max_rounds = a.max_rounds;
  auto server = wadm::ApiServer::start(**nc, options);
  if (!server) die("wadm could not start: " + server.error().message, json);
  spdlog::info("wadm API on {} (queue group {}), models in KV bucket {}, {}", (*server)->subject(),
               lattice::topics::kWadmQueueGroup, lattice::topics::kWadmModelBucket,
               a.no_reconcile ? "no reconciler (--no-reconcile): model.deploy is refused"
                              : "reconciler on (one replica per lattice holds the lease)");
  int sig = host::wait_for_termination([] { return false; });
  spdlog::info("{} received, stopping wadm", signal_text(sig));
  server->reset();
  (void)(*nc)->drain(std::chrono::seconds(2));
}

}  // namespace

void register_wadm(CLI::App& app) {
  auto a = std::make_shared<WadmArgs>();
  a->nats_host = env_value("WASMCLOUD_CTL_HOST", a->nats_host);
  if (auto port = port_from_env("WASMCLOUD_CTL_PORT", 4222); port)
    a->nats_port = *port;
  else
    a->env_error = port.error().message;
  a->lattice = env_value("WASMCLOUD_LATTICE_PREFIX", a->lattice);
  auto* cmd = app.add_subcommand(
      "wadm",
      "Run the declarative-application service (wadm's API and model store) for a lattice "
      "until Ctrl-C");
  cmd->add_option("--ctl-host,-r", a->nats_host, "NATS host (WASMCLOUD_CTL_HOST)");
  cmd->add_option("--ctl-port,-p", a->nats_port, "NATS port (WASMCLOUD_CTL_PORT)")
      ->each([a](const std::string&) { a->env_error.clear(); });
  cmd->add_option("--lattice-prefix,-x", a->lattice, "Lattice prefix (WASMCLOUD_LATTICE_PREFIX)");
  cmd->add_option("--log-level", a->log_level, "trace|debug|info|warn|error");
  cmd->add_flag("--no-reconcile", a->no_reconcile,
                "Serve the API and the model store only: model.deploy is refused");
  cmd->add_option("--first-backoff-ms", a->first_backoff_ms,
                  "Wait after an application's commands before sending more (doubles per round "
                  "up to 30 s)")
      ->check(CLI::Range(10, 600000));
  cmd->add_option("--max-rounds", a->max_rounds,
                  "Rounds of commands without converging before an application is failed")
      ->check(CLI::Range(1, 1000));
  add_output_option(cmd, a->output);
  cmd->callback([a] { run(*a); });
}

}  // namespace wc::cli
