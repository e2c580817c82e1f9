// wasmcloud: one executable, wash-like subcommands (see src/cli/commands.h).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/output.h"

int main(int argc, char** argv) {
  CLI::App app{"wasmcloud-cpp: a wasmCloud lattice host and its operator tools"};
  app.require_subcommand(1);
  app.set_version_flag("--version", wc::cli::version_text());
  wc::cli::register_keys(app);
  wc::cli::register_claims(app);
  wc::cli::register_reg(app);
  wc::cli::register_reg_ping(app);
  wc::cli::register_par(app);
  wc::cli::register_host(app);
  wc::cli::register_call(app);
  wc::cli::register_spy(app);
  wc::cli::register_ctl(app);
  wc::cli::register_up(app);
  wc::cli::register_down(app);
  wc::cli::register_dashboard(app);
  wc::cli::register_drain(app);
  wc::cli::register_wadm(app);
  wc::cli::register_app(app);
  return wc::cli::run_app(app, argc, argv);
}
