#include "cli/keyfiles.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/encoding.h"

namespace wc::cli {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::string read_seed_file(const std::string& path, const std::string& kind, bool json) {
  auto content = read_file(path);
  if (!content) die("Cannot read " + kind + " key " + path + ": " + content.error().message, json);
  return trim(to_string(*content));
}

}  // namespace

void die(const std::string& message, bool json) {
  if (json) {
    nlohmann::ordered_json j;
    j["success"] = false;
    j["error"] = message;
    std::cerr << j.dump() << "\n";
  } else {
    std::string line = message;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::cerr << "Error: " << line << "\n";
  }
  throw CLI::RuntimeError(1);
}

std::string default_keys_dir() {
  if (const char* env = std::getenv("WASH_KEYS"); env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.wash/keys";
}

wascap::KeyPair resolve_key(const std::optional<std::string>& flag, wascap::KeyType type,
                            const std::string& keys_dir, const std::string& stem, bool json,
                            std::vector<std::string>& notes, nlohmann::ordered_json& key_files,
                            bool require_type) {
  const std::string kind(wascap::key_type_name(type));
  std::string seed;
  if (flag) {
    seed = flag->size() == wascap::kSeedLength && (*flag)[0] == 'S'
               ? *flag
               : read_seed_file(*flag, kind, json);
  } else {
    const std::string path = keys_dir + "/" + stem + "_" + kind + ".nk";
    key_files[kind] = path;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      const wascap::KeyPair kp = wascap::KeyPair::generate(type);
      fs::create_directories(keys_dir, ec);
      if (ec) die("Cannot create key directory " + keys_dir + ": " + ec.message(), json);
      auto written = write_file(path, as_bytes(kp.seed()));
      if (!written) die("Cannot write " + path + ": " + written.error().message, json);
      ::chmod(path.c_str(), 0600);
      notes.push_back("No keypair found in \"" + path +
                      "\".\nWe will generate one for you and place it there.\nIf you'd like to "
                      "use alternative keys, you can supply them as a flag.");
      return kp;
    }
    seed = read_seed_file(path, kind, json);
  }
  auto kp = wascap::KeyPair::from_seed(seed);
  if (!kp) die("Invalid " + kind + " seed: " + kp.error().message, json);
  if (require_type && kp->type() != type)
    die("The " + kind + " key must be a " + kind + " seed", json);
  return *kp;
}

}  // namespace wc::cli
