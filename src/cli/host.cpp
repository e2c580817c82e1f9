// `wasmcloud host [flags]`: runs one lattice host until SIGINT/SIGTERM (or `cmd.{host}.stop`),
// then stops its actors, publishes host_stopped and exits 0. Configuration: the WASMCLOUD_*
// environment of control-interface.md 1.5, ./host_config.json, and flags (see --help).
//
// Joining `wasmcloud up` (issue #17.1): when an `up` runs with the default data directory (or
// --up-data-dir), its lattice.json supplies every setting the user did not give by flag,
// WASMCLOUD_* variable or host_config.json: NATS servers, lattice prefix, control topic prefix,
// cluster seed (read from up's cluster.nk), JetStream domain; up's plain-HTTP registry is added
// to the allowed-insecure list. Like a wash context; --no-context ignores it. When the NATS
// servers given are not up's, nothing is taken (another lattice). One info line names what was
// taken.
//
// Under systemd (Type=notify, packaging/wasmcloud-host.service) it reports READY=1 once the host
// has joined the lattice and STOPPING=1 when it begins to stop.
#include <iostream>
#include <memory>

#include <nats/nats.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "cli/commands.h"
#include "cli/host_flags.h"
#include "cli/keyfiles.h"
#include "cli/local_lattice.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "common/log.h"
#include "host/config.h"
#include "host/host.h"
#include "host/runner.h"

namespace wc::cli {

void register_host(CLI::App& app) {
  auto cfg = std::make_shared<host::HostConfig>(host::load_config(host::process_environment()));
  auto* cmd = app.add_subcommand("host", "Run a wasmCloud lattice host until Ctrl-C");
  add_host_flags(*cmd, *cfg);
  auto output = std::make_shared<std::string>("text");
  add_output_option(cmd, *output);
  auto no_context = std::make_shared<bool>(false);
  auto up_data_dir = std::make_shared<std::string>();
  cmd->add_flag("--no-context", *no_context,
                "Ignore the lattice settings of a running `wasmcloud up` (its lattice.json)");
  cmd->add_option("--up-data-dir", *up_data_dir,
                  "Data directory of the `wasmcloud up` whose lattice to join when no flag or "
                  "WASMCLOUD_* variable says otherwise (default: up's default, "
                  "$XDG_DATA_HOME/wasmcloud-cpp or ~/.local/share/wasmcloud-cpp)");
  cmd->callback([cmd, cfg, output, no_context, up_data_dir] {
    const bool json = *output == "json";
    host::finish_flags(*cfg);
    // Bad WASMCLOUD_* values are refused, never replaced by a default behind the user's back.
    for (const auto& e : cfg->config_errors) die(e, json);
    for (const auto& [flag, port] :
         {std::pair<const char*, int>{"--nats-port/--ctl-port", cfg->ctl.port},
          {"--rpc-port", cfg->rpc.port},
          {"--prov-rpc-port", cfg->prov_rpc.port}})
      if (auto st = check_port_range(flag, port); !st) die(st.error().message, json);
    init_logging(cfg->structured_logging, cfg->log_level);
    if (!*no_context) {
      const std::string dir = up_data_dir->empty() ? default_data_dir() : *up_data_dir;
      std::string why_not;
      if (auto ctx = read_lattice_context(dir, &why_not)) {
        auto given = [&](const char* flag, const char* env) {
          const CLI::Option* opt = flag ? cmd->get_option_no_throw(flag) : nullptr;
          return (opt && opt->count() > 0) || (env && cfg->given.count(env) > 0);
        };
        auto taken = apply_lattice_context(*cfg, *ctx, given, &why_not);
        if (!taken.empty()) {
          std::string list;
          for (const auto& t : taken) list += (list.empty() ? "" : ", ") + t;
          spdlog::info(
              "Joining the lattice of wasmcloud up (pid {}): {} from {} (flags and WASMCLOUD_* "
              "variables override these; --no-context ignores them)",
              ctx->pid, list, lattice_context_path(dir));
        } else {
          spdlog::debug("Not joining wasmcloud up's lattice: {}", why_not);
        }
      } else {
        spdlog::debug("No wasmcloud up lattice to join: {}", why_not);
      }
    }
    host::block_termination_signals();
    auto h = host::Host::start(*cfg);
    if (!h) die("Failed to start host: " + h.error().message, json);
    auto& hostp = *h;
    // systemd readiness (Type=notify, packaging/wasmcloud-host.service): Host::start returns
    // once host_started is published and the control subjects are subscribed. Without
    // $NOTIFY_SOCKET (a terminal, a container) sd_notify does nothing.
    (void)sd_notifyf(0, "READY=1\nSTATUS=Host %s (%s) joined lattice '%s'",
                     hostp->host_id().c_str(), hostp->friendly_name().c_str(),
                     hostp->lattice().c_str());
    int sig = host::wait_for_termination([&] { return hostp->stopping(); });
    if (sig != 0) spdlog::info("{} received, stopping", signal_text(sig));
    (void)sd_notify(0, "STOPPING=1");
    hostp->stop();
    h->reset();
    // Let libnats finish its callback threads before static destructors run (spdlog).
    nats_CloseAndWait(2000);
  });
}

}  // namespace wc::cli
