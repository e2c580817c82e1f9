// wasmcloud: one executable, wash-like subcommands (see src/cli/commands.h).
#include <sys/resource.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/output.h"

namespace {

/// Raises this process's soft limit on open files to its hard limit: a host's builtin HTTP
/// server holds one descriptor per connection (up to its max_connections, 16,384 by default)
/// and Debian's default soft limit of 1,024 would cap it near 1,000. Best effort: a failure
/// leaves the limit as it was.
void raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

int main(int argc, char** argv) {
  raise_open_file_limit();
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
