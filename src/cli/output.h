// The output rule every `wasmcloud` subcommand follows (wash's): `-o/--output text|json`; results
// on stdout (a JSON object with "success":true under `-o json`); failures on stderr, one line
// ("Error: ...") or {"success":false,"error":"..."} under `-o json`, and exit code 1 -- usage
// errors (unknown flag, missing argument, bad value, missing subcommand) included. Files a
// subcommand writes are named with `-d/--destination` (`--destination` alone in `reg pull`,
// whose `-d` is wash's `--digest`).
//
// Owned by src/cli; used on the CLI's main thread only.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace wc::cli {

/// Adds `-o,--output text|json` to `cmd`, stored in `output` (default "text"). `extra_names`
/// (e.g. ",--format") adds old spellings of the same option.
CLI::Option* add_output_option(CLI::App* cmd, std::string& output,
                               const std::string& extra_names = "");

/// True when the command line asks for JSON output: `-o json`, `-ojson`, `--output json`,
/// `--output=json` (and the old `--format json`, `--json`). Used to format usage errors, which
/// happen before the options are stored.
bool argv_wants_json(int argc, char** argv);

/// How a stop signal is named in the log of `host` and `up`: "Ctrl-C" for SIGINT, "SIGTERM",
/// else "Signal <n>" (issue #17.8: "Received signal 2" meant nothing to a new user).
std::string signal_text(int sig);

/// The version line of `wasmcloud --version`: this program's version and the wasmCloud host
/// version its hosts report on the lattice (host::kHostVersion, the OTP release it is
/// wire-compatible with), e.g. "wasmcloud-cpp 0.1.0 (its hosts report version 0.63.2 ...)".
std::string version_text();

/// Parses and runs `app`: 0 on success; `--help`/`--version` print and return 0; a failure
/// raised by a subcommand (CLI::RuntimeError, already reported) returns its code; a usage error
/// is printed per the rule above ("Error: <what>" and a hint naming `--help`, or JSON on stderr
/// with `json`) and returns 1. A missing subcommand names the command and its subcommands.
int run_app(CLI::App& app, int argc, char** argv);

}  // namespace wc::cli
