// Helpers shared by the subcommands that sign things (`claims sign`, `par create|insert`) or
// report failures the wash way: one error line on stderr (or a JSON object), exit code 1, and
// wash-style key files (<keys dir>/<stem>_<kind>.nk, seed text, mode 0600).
// Used on the CLI's main thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wascap/nkeys.h"

namespace wc::cli {

/// Prints `message` as one line on stderr ("Error: ...", newlines folded) or, with `json`,
/// {"success":false,"error":message}, then ends the command with exit code 1 (CLI::RuntimeError,
/// which never leaves the CLI).
[[noreturn]] void die(const std::string& message, bool json);

/// $WASH_KEYS, else ~/.wash/keys (where wash keeps generated keys).
std::string default_keys_dir();

/// A signing key: from `flag` (a seed "S..." or a file holding one), else from
/// <keys_dir>/<stem>_<kind>.nk, generated there (0600) when missing, in which case `notes` gets
/// wash's explanation. `key_files[kind]` records the file used. With `require_type`, a seed of
/// another key type is refused. Failures end the command through die().
wascap::KeyPair resolve_key(const std::optional<std::string>& flag, wascap::KeyType type,
                            const std::string& keys_dir, const std::string& stem, bool json,
                            std::vector<std::string>& notes, nlohmann::ordered_json& key_files,
                            bool require_type);

}  // namespace wc::cli
