// The `wasmcloud` executable's subcommands. Each subcommand lives in its own file in src/cli/
// and registers itself on the CLI11 app here; main.cpp calls every register_* below.
// Exit codes: 0 success, 1 failure (one clear line on stderr; JSON on stderr with `-o json`).
#pragma once

#include <CLI/CLI.hpp>

namespace wc::cli {

// Each register_* adds one subcommand (and its callback) to `app`.
void register_keys(CLI::App& app);       // keys.cpp: keys gen | list | get
void register_claims(CLI::App& app);     // claims.cpp: claims inspect | sign
void register_reg(CLI::App& app);        // reg.cpp: reg push | pull
void register_reg_ping(CLI::App& app);   // reg_ping.cpp: reg ping (after register_reg)
void register_par(CLI::App& app);        // par.cpp: par create | inspect
void register_host(CLI::App& app);       // host.cpp: host (run a lattice host)
void register_call(CLI::App& app);       // call.cpp: call ACTOR OPERATION PAYLOAD
void register_spy(CLI::App& app);        // spy.cpp: spy ACTOR_ID (watch its invocations)
void register_ctl(CLI::App& app);        // ctl.cpp: ctl get|start|scale|stop|update|link,
                                         // and the same groups at the top level
void register_up(CLI::App& app);         // up.cpp: up (NATS + registry + host)
void register_down(CLI::App& app);       // down.cpp: down (stop the `up` of a data directory)
void register_dashboard(CLI::App& app);  // dashboard.cpp: dashboard (web UI of a lattice)
void register_drain(CLI::App& app);      // drain.cpp: drain native|oci|all (cache directories)
void register_wadm(CLI::App& app);       // wadm.cpp: wadm (the declarative-application service)
void register_app(CLI::App& app);        // app.cpp: app put|deploy|undeploy|list|get|...

}  // namespace wc::cli
