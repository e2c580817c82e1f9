#include "cli/output.h"

#include <csignal>
#include <cstring>
#include <exception>
#include <iostream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "host/config.h"

namespace wc::cli {
namespace {

/// This program's own version (CMake's PROJECT_VERSION).
constexpr const char* kCliVersion = "0.1.0";

/// "wasmcloud ctl update": the names of the subcommands given on the command line, deepest last.
CLI::App* deepest_parsed(CLI::App& app, std::string& path) {
  CLI::App* cur = &app;
  path = "wasmcloud";
  for (;;) {
    auto parsed = cur->get_subcommands();
    if (parsed.empty()) return cur;
    cur = parsed.front();
    path += " " + cur->get_name();
  }
}

/// The usage error's text, with the command it is about when CLI11 does not say.
std::string usage_text(CLI::App& app, const CLI::ParseError& e) {
  std::string what = e.what();
  std::string path;
  CLI::App* cmd = deepest_parsed(app, path);
  if (e.get_name() == "RequiredError" && what.starts_with("A subcommand is required")) {
    std::string names;
    for (CLI::App* sub : cmd->get_subcommands([](CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    return "`" + path + "` needs a subcommand: " + names;
  }
  if (path != "wasmcloud") return "`" + path + "`: " + what;
  return what;
}

}  // namespace

std::string signal_text(int sig) {
  if (sig == SIGINT) return "Ctrl-C";
  if (sig == SIGTERM) return "SIGTERM";
  return "Signal " + std::to_string(sig);
}

std::string version_text() {
  return std::string("wasmcloud-cpp ") + kCliVersion + " (its hosts report version " +
         host::kHostVersion + " to the lattice: wire-compatible with the wasmCloud OTP host " +
         host::kHostVersion + ")";
}

CLI::Option* add_output_option(CLI::App* cmd, std::string& output, const std::string& extra_names) {
  return cmd->add_option("-o,--output" + extra_names, output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
}

bool argv_wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json" || a == "-ojson" || a == "--output=json" || a == "--format=json") return true;
    if ((a == "-o" || a == "--output" || a == "--format") && i + 1 < argc &&
        std::strcmp(argv[i + 1], "json") == 0)
      return true;
  }
  return false;
}

int run_app(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // the subcommand reported its failure
  } catch (const CLI::ParseError& e) {
    const std::string text = usage_text(app, e);
    if (argv_wants_json(argc, argv)) {
      std::cerr << nlohmann::ordered_json{{"success", false}, {"error", text}}.dump() << "\n";
    } else {
      std::cerr << "Error: " << text << "\nRun with --help for more information.\n";
    }
    return 1;
  } catch (const std::exception& e) {
    // A reply of an unexpected shape from a peer (e.g. a host's inventory with a label that is
    // not a string) reaches here instead of aborting the process.
    const std::string text = std::string("unexpected data: ") + e.what();
    if (argv_wants_json(argc, argv)) {
      std::cerr << nlohmann::ordered_json{{"success", false}, {"error", text}}.dump() << "\n";
    } else {
      std::cerr << "Error: " << text << "\n";
    }
    return 1;
  }
  return 0;
}

}  // namespace wc::cli
