// `wasmcloud host [flags]`: runs one lattice host until SIGINT/SIGTERM (or `cmd.{host}.stop`),
// then stops its actors, publishes host_stopped and exits 0. Configuration: the WASMCLOUD_*
// environment of control-interface.md 1.5, ./host_config.json, and flags (see --help).
#include <iostream>
#include <memory>

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/keyfiles.h"
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
  host::add_host_flags(*cmd, *cfg);
  auto output = std::make_shared<std::string>("text");
  add_output_option(cmd, *output);
  cmd->callback([cfg, output] {
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
    host::block_termination_signals();
    auto h = host::Host::start(*cfg);
    if (!h) die("Failed to start host: " + h.error().message, json);
    auto& hostp = *h;
    int sig = host::wait_for_termination([&] { return hostp->stopping(); });
    if (sig != 0) spdlog::info("{} received, stopping", signal_text(sig));
    hostp->stop();
    h->reset();
    // Let libnats finish its callback threads before static destructors run (spdlog).
    nats_CloseAndWait(2000);
  });
}

}  // namespace wc::cli
