// `wasmcloud dashboard [flags]`: serves the web dashboard of one lattice (a lattice client over
// NATS; see src/web/dashboard.h) until SIGINT/SIGTERM. Defaults: http://127.0.0.1:4000,
// NATS at 127.0.0.1:4222, lattice `default`, uploads pushed to 127.0.0.1:5000. Environment:
// WASMCLOUD_DASHBOARD_PORT, WASMCLOUD_DASHBOARD_BIND, WASMCLOUD_LATTICE_PREFIX,
// WASMCLOUD_CTL_TOPIC_PREFIX, WASMCLOUD_CTL_HOST/PORT, WASMCLOUD_DASHBOARD_REGISTRY,
// WASMCLOUD_DASHBOARD_UI_DIR; flags win over the environment.
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "common/log.h"
#include "host/runner.h"
#include "lattice/topics.h"
#include "web/dashboard.h"

extern char** environ;

namespace wc::cli {
namespace {

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    if (auto eq = kv.find('='); eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

struct DashboardFlags {
  std::optional<int> port;
  std::optional<std::string> bind, nats_host, lattice, ctl_prefix, registry, ui_dir;
  std::optional<int> nats_port, refresh_ms;
  std::vector<std::string> allowed_insecure;
  std::string log_level = "info";
  std::string output = "text";  ///< -o: failures as JSON on stderr with "json"
};

}  // namespace

void register_dashboard(CLI::App& app) {
  auto f = std::make_shared<DashboardFlags>();
  auto* cmd = app.add_subcommand("dashboard", "Serve the web dashboard of a lattice until Ctrl-C");
  cmd->add_option("--port,-p", f->port, "HTTP port (WASMCLOUD_DASHBOARD_PORT, default 4000)");
  cmd->add_option("--bind", f->bind,
                  "Listen address (WASMCLOUD_DASHBOARD_BIND, default 127.0.0.1: loopback only)");
  cmd->add_option("--nats-host", f->nats_host, "NATS host (WASMCLOUD_CTL_HOST, default 127.0.0.1)");
  cmd->add_option("--nats-port", f->nats_port, "NATS port (WASMCLOUD_CTL_PORT, default 4222)");
  cmd->add_option("--lattice-prefix,-x", f->lattice,
                  "Lattice prefix (WASMCLOUD_LATTICE_PREFIX, default " +
                      std::string(lattice::topics::kDefaultLattice) + ")");
  cmd->add_option("--ctl-topic-prefix", f->ctl_prefix,
                  "Control topic prefix (WASMCLOUD_CTL_TOPIC_PREFIX, default " +
                      std::string(lattice::topics::kDefaultCtlPrefix) + ")");
  cmd->add_option("--registry", f->registry,
                  "Registry uploads are pushed to (WASMCLOUD_DASHBOARD_REGISTRY, default "
                  "127.0.0.1:5000; plain HTTP for loopback)");
  cmd->add_option("--allowed-insecure", f->allowed_insecure,
                  "Further registries reached over plain HTTP (repeatable)");
  cmd->add_option(
      "--ui-dir", f->ui_dir,
      "Directory of the UI files (WASMCLOUD_DASHBOARD_UI_DIR; default: "
      "../share/wasmcloud/ui beside the executable, else the source tree's src/web/ui)");
  cmd->add_option("--refresh-ms", f->refresh_ms, "Period of the ping/inventory refresh in ms");
  cmd->add_option("--log-level", f->log_level, "trace|debug|info|warn|error");
  add_output_option(cmd, f->output);
  cmd->callback([f] {
    const bool json = f->output == "json";
    init_logging(false, f->log_level);
    web::DashboardConfig cfg;
    if (auto st = web::apply_environment(cfg, environment()); !st) die(st.error().message, json);
    if (f->port) cfg.port = *f->port;
    if (f->bind) cfg.bind = *f->bind;
    if (f->nats_host || f->nats_port) {
      std::string url = cfg.nats.servers.front();
      std::string host = f->nats_host ? *f->nats_host : url.substr(7, url.rfind(':') - 7);
      std::string port =
          f->nats_port ? std::to_string(*f->nats_port) : url.substr(url.rfind(':') + 1);
      cfg.nats.servers = {"nats://" + host + ":" + port};
    }
    if (f->lattice) cfg.lattice = *f->lattice;
    if (f->ctl_prefix) cfg.ctl_prefix = *f->ctl_prefix;
    if (f->registry) cfg.registry = *f->registry;
    if (f->ui_dir) cfg.ui_dir = *f->ui_dir;
    if (f->refresh_ms) cfg.refresh_interval = std::chrono::milliseconds(*f->refresh_ms);
    cfg.allowed_insecure = f->allowed_insecure;
    host::block_termination_signals();
    auto d = web::Dashboard::start(cfg);
    if (!d) die("Failed to start dashboard: " + d.error().message, json);
    std::cout << "Dashboard: " << (*d)->url() << std::endl;
    host::wait_for_termination([] { return false; });
    (*d)->stop();
  });
}

}  // namespace wc::cli
