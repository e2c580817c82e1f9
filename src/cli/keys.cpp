// `wasmcloud keys gen <type> [-o json]`: generate an nkey pair (spec claims-oci-par.md 1.1),
// printed the way wash prints it. `keys list` and `keys get NAME` show the key files in the keys
// directory ($WASH_KEYS, else ~/.wash/keys; keyfiles.h), as wash's.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "common/encoding.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

struct KeysGenArgs {
  std::string type;
  std::string output = "text";
};

/// Arguments of `keys list` and `keys get`.
struct KeysDirArgs {
  std::string dir;   ///< empty = default_keys_dir()
  std::string name;  ///< `keys get`: a file name, with or without ".nk"
  std::string output = "text";
};

/// The `.nk` files of `dir`, sorted by name; an absent directory has none.
std::vector<std::string> key_files_in(const std::string& dir, bool json) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return names;
  fs::directory_iterator it(dir, ec);
  if (ec) die("Cannot read the keys directory " + dir + ": " + ec.message(), json);
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".nk") && entry.is_regular_file(ec)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// `keys list`: the key files, as wash prints them (a banner naming the directory, one name a
/// line), or {"success":true,"keys_dir":...,"keys":[...]}.
void keys_list(const KeysDirArgs& a) {
  const bool json = a.output == "json";
  const std::string dir = a.dir.empty() ? default_keys_dir() : a.dir;
  const auto names = key_files_in(dir, json);
  if (json) {
    nlohmann::ordered_json j;
    j["success"] = true;
    j["keys_dir"] = dir;
    j["keys"] = names;
    std::cout << j.dump() << "\n";
    return;
  }
  if (names.empty()) {
    std::cout << "No keys found in " << dir
              << " (`wasmcloud claims sign` and `par create` generate them there)\n";
    return;
  }
  const std::string rule(68, '=');
  std::cout << rule << "\nKeys found in " << dir << "\n" << rule << "\n";
  for (const auto& n : names) std::cout << n << "\n";
}

/// `keys get NAME`: the seed held by <dir>/NAME(.nk), as wash prints it; with `-o json` also
/// its public key and file. A name with a '/' is refused (it would leave the directory).
void keys_get(const KeysDirArgs& a) {
  const bool json = a.output == "json";
  const std::string dir = a.dir.empty() ? default_keys_dir() : a.dir;
  if (a.name.empty() || a.name.find('/') != std::string::npos || a.name == "." || a.name == "..")
    die("Invalid key name '" + a.name + "': a file name in " + dir + ", e.g. mykey_module", json);
  const std::string file = a.name.ends_with(".nk") ? a.name : a.name + ".nk";
  const std::string path = dir + "/" + file;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    die("No key named '" + a.name + "' in " + dir + " (`wasmcloud keys list` lists them)", json);
  auto content = read_file(path);
  if (!content) die("Cannot read " + path + ": " + content.error().message, json);
  std::string seed = to_string(*content);
  while (!seed.empty() && (seed.back() == '\n' || seed.back() == '\r' || seed.back() == ' '))
    seed.pop_back();
  if (!json) {
    std::cout << seed << "\n";
    return;
  }
  nlohmann::ordered_json j;
  j["success"] = true;
  j["name"] = file;
  j["path"] = path;
  j["seed"] = seed;
  if (auto kp = wascap::KeyPair::from_seed(seed)) j["public_key"] = kp->public_key();
  std::cout << j.dump() << "\n";
}

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

  auto dir_args = std::make_shared<KeysDirArgs>();
  auto* list = keys->add_subcommand("list", "List the key files in the keys directory");
  list->add_option("--directory,--keys-dir", dir_args->dir,
                   "Keys directory (default: $WASH_KEYS, else ~/.wash/keys)");
  add_output_option(list, dir_args->output);
  list->callback([dir_args] { keys_list(*dir_args); });
  auto* get = keys->add_subcommand("get", "Print the seed in one key file of the keys directory");
  get->add_option("keyname", dir_args->name, "Key file name, e.g. mykey_module(.nk)")->required();
  get->add_option("--directory,--keys-dir", dir_args->dir,
                  "Keys directory (default: $WASH_KEYS, else ~/.wash/keys)");
  add_output_option(get, dir_args->output);
  get->callback([dir_args] { keys_get(*dir_args); });
}

}  // namespace wc::cli
