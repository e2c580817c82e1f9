// A claims entry: the flattened, string-valued claims of one actor or provider that hosts store
// under `CLAIMS_{public key}` in the metadata bucket and return in `get.claims` replies
// (control-interface.md 5.3, 2.4.2). One type with one JSON codec for the host (writer and
// reader of the bucket), the dashboard and the CLI (readers of `get.claims`).
//
// Owned by src/rpc (the wire layer). Plain values and pure functions; thread-safe; the decoder
// takes untrusted JSON and fails with an Error, never throws.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace wc::rpc {

/// The fields of control-interface.md 5.3 `CLAIMS_*`.
struct ClaimsEntry {
  std::string sub;         ///< public key (M... actor, V... provider)
  std::string iss;         ///< issuer (A... account key)
  std::string name;        ///< name or ""
  std::string call_alias;  ///< call alias or ""
  std::string caps;        ///< capability contract ids joined with "," (no spaces), "" if none
  std::string tags;        ///< tags joined with ",", "" if none
  std::string rev = "0";   ///< revision as a decimal string
  std::optional<std::string> version;  ///< version string; nullopt = JSON null (token has none)
  std::string contract_id;             ///< provider contract id; "" for actors
  /// Only for providers that declare one: the schema as a JSON-encoded string (5.3).
  std::optional<std::string> config_schema;
  bool operator==(const ClaimsEntry&) const = default;
};

/// The JSON object of 5.3: every field (`version` null when unset), `config_schema` only when set.
nlohmann::json claims_entry_to_json(const ClaimsEntry& c);
/// Parses that object. `sub` is a required non-empty string; the other string fields absent or
/// null -> "" (as the 0.28 client reads them, 2.4.2), `rev` absent or null -> "0", `version` and
/// `config_schema` absent or null -> nullopt; unknown keys are ignored. Errors: kInvalidArgument
/// "claims entry: <detail>" (not an object, missing field `sub`, `x` is not a string).
Result<ClaimsEntry> claims_entry_from_json(const nlohmann::json& j);

}  // namespace wc::rpc
