// `wasmcloud keys gen <type> [-o json]`: generate an nkey pair (spec claims-oci-par.md 1.1),
// printed the way wash prints it.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

struct KeysGenArgs {
  std::string type;
  std::string output = "text";
};

}  // namespace

void register_keys(CLI::App& app) {
  auto* keys = app.add_subcommand("keys", "Utilities for generating and managing nkeys");
  keys->require_subcommand(1);
  auto args = std::make_shared<KeysGenArgs>();
  auto* gen = keys->add_subcommand("gen", "Generate a key pair (seed and public key)");
  gen->add_option("keytype", args->type,
                  "Key type: account, module, server, cluster, user, operator, service")
      ->required()
      ->check(
          CLI::IsMember({"account", "module", "server", "cluster", "user", "operator", "service"}));
  add_output_option(gen, args->output);
  gen->callback([args] {
    const auto type = wascap::key_type_from_name(args->type);
    if (!type) {
      // Unreachable through the IsMember check; kept for safety.
      std::cerr << "Unknown key type: " << args->type << "\n";
      throw CLI::RuntimeError(1);
    }
    const wascap::KeyPair kp = wascap::KeyPair::generate(*type);
    if (args->output == "json") {
      nlohmann::ordered_json j;
      j["public_key"] = kp.public_key();
      j["seed"] = kp.seed();
      j["success"] = true;
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "Public Key: " << kp.public_key() << "\nSeed: " << kp.seed()
                << "\n\nRemember that the seed is private, treat it as a secret.\n";
    }
  });
}

}  // namespace wc::cli
