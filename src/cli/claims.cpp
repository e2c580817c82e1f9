// `wasmcloud claims inspect | sign`: wash-compatible claims tooling over src/wascap
// (spec claims-oci-par.md 2.12 and 3).
//
// Failures print one line on stderr (a JSON object with `-o json`) and exit 1 by throwing
// CLI::RuntimeError(1); exceptions never leave the CLI.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "cli/table.h"
#include "common/encoding.h"
#include "wascap/claims.h"
#include "wascap/errors.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc::cli {
namespace {

namespace fs = std::filesystem;

// ---- output helpers ------------------------------------------------------------------------

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool looks_like_provider_archive(const Bytes& bytes) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return true;  // gzip
  return bytes.size() >= 262 && std::string(bytes.begin() + 257, bytes.begin() + 262) == "ustar";
}

// ---- claims inspect ------------------------------------------------------------------------

struct InspectArgs {
  std::string file;
  std::string output = "text";
  bool jwt_only = false;
};

void run_inspect(const InspectArgs& a) {
  const bool json = a.output == "json";
  auto bytes = read_file(a.file);
  if (!bytes) die(bytes.error().message, json);
  if (looks_like_provider_archive(*bytes)) {
    die("Inspecting provider archives is not yet supported by `claims inspect`: " + a.file, json);
  }
  auto read = wascap::read_module_claims(*bytes, wascap::now_seconds());
  if (!read) {
    if (read.error().code == Code::kNotFound) {
      die(std::string(wascap::errors::kNoCapabilitiesDiscovered) + a.file, json);
    }
    die(read.error().message, json);
  }
  if (a.jwt_only) {
    if (json) {
      std::cout << nlohmann::ordered_json{{"token", read->token}}.dump(2) << "\n";
    } else {
      std::cout << read->token << "\n";
    }
    return;
  }
  const wascap::ActorClaims& c = read->claims;
  const std::string issuer_label = wascap::key_label(c.iss);
  const std::string subject_label = wascap::key_label(c.sub);
  const std::string name = c.name.value_or("Anonymous");
  const std::string version = c.ver.value_or("None");
  const std::int32_t revision = c.rev.value_or(0);
  const std::string call_alias = c.call_alias.value_or("(Not set)");
  std::vector<std::string> friendly;
  for (const auto& cap : c.caps.value_or(std::vector<std::string>{})) {
    friendly.push_back(wascap::capability_friendly_name(cap));
  }
  std::string tags = "None";
  if (c.tags && !c.tags->empty()) {
    tags.clear();
    for (std::size_t i = 0; i < c.tags->size(); ++i) tags += (i ? "," : "") + (*c.tags)[i];
  }
  const std::string caps_heading = c.prov ? "Capability Provider" : "Capabilities";

  if (json) {
    nlohmann::ordered_json j;
    j[lower(issuer_label)] = c.iss;
    j[lower(subject_label)] = c.sub;
    j["expires"] = read->validation.expires_human;
    j["can_be_used"] = read->validation.not_before_human;
    j["version"] = version;
    j["revision"] = revision;
    j[c.prov ? "capability_provider" : "capabilities"] = friendly;
    j["tags"] = tags;
    j["call_alias"] = call_alias;
    j["name"] = name;
    j["success"] = true;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::string caps_text;
  for (std::size_t i = 0; i < friendly.size(); ++i) caps_text += (i ? "\n" : "") + friendly[i];
  const std::vector<Row> rows = {
      {{name + " - " + subject_label, Align::kCenter}},
      {{issuer_label, Align::kLeft}, {c.iss, Align::kRight}},
      {{subject_label, Align::kLeft}, {c.sub, Align::kRight}},
      {{"Expires", Align::kLeft}, {read->validation.expires_human, Align::kRight}},
      {{"Can Be Used", Align::kLeft}, {read->validation.not_before_human, Align::kRight}},
      {{"Version", Align::kLeft}, {version + " (" + std::to_string(revision) + ")", Align::kRight}},
      {{"Call Alias", Align::kLeft}, {call_alias, Align::kRight}},
      {{caps_heading, Align::kCenter}},
      {{caps_text, Align::kLeft}},
      {{"Tags", Align::kCenter}},
      {{tags, Align::kLeft}},
  };
  std::cout << "\n" << render_table(rows) << "\n";
}

// ---- claims sign ---------------------------------------------------------------------------

struct SignArgs {
  std::string file;
  std::string name;
  std::vector<std::string> caps;
  std::vector<std::string> tags;
  std::optional<std::int32_t> rev;
  std::optional<std::string> ver;
  std::optional<std::string> call_alias;
  bool prov = false;
  std::optional<std::string> issuer;
  std::optional<std::string> subject;
  std::optional<std::uint64_t> expires_days;
  std::optional<std::uint64_t> not_before_days;
  std::optional<std::string> destination;
  std::optional<std::string> keys_dir;
  std::string format = "text";
  bool keyvalue = false, messaging = false, http_client = false, http_server = false,
       blob_store = false, logging = false, events = false;
};

void run_sign(const SignArgs& a) {
  const bool json = a.format == "json";
  auto bytes = read_file(a.file);
  if (!bytes) die(bytes.error().message, json);
  if (a.call_alias) {
    if (auto ok = wascap::validate_call_alias(*a.call_alias); !ok) die(ok.error().message, json);
  }
  // Capability list in wash's order: shortcut flags first, custom contracts last (spec 2.12).
  std::vector<std::string> caps;
  if (a.keyvalue) caps.emplace_back("wasmcloud:keyvalue");
  if (a.messaging) caps.emplace_back("wasmcloud:messaging");
  if (a.http_client) caps.emplace_back("wasmcloud:httpclient");
  if (a.http_server) caps.emplace_back("wasmcloud:httpserver");
  if (a.blob_store) caps.emplace_back("wasmcloud:blobstore");
  if (a.logging) caps.emplace_back("wasmcloud:builtin:logging");
  if (a.events) caps.emplace_back("wasmcloud:eventstreams");
  for (const auto& cap : a.caps) {
    if (std::find(caps.begin(), caps.end(), cap) == caps.end()) caps.push_back(cap);
  }

  const fs::path input(a.file);
  const std::string stem = input.stem().string();
  const std::string keys_dir = a.keys_dir.value_or(default_keys_dir());
  std::vector<std::string> notes;
  nlohmann::ordered_json key_files = nlohmann::ordered_json::object();
  const wascap::KeyPair issuer = resolve_key(a.issuer, wascap::KeyType::kAccount, keys_dir, stem,
                                             json, notes, key_files, false);
  const wascap::KeyPair subject = resolve_key(a.subject, wascap::KeyType::kModule, keys_dir, stem,
                                              json, notes, key_files, false);

  wascap::SignOptions o;
  o.name = a.name;
  o.caps = caps;
  o.tags = a.tags;
  o.rev = a.rev;
  o.ver = a.ver;
  o.call_alias = a.call_alias;
  o.prov = a.prov;
  o.expires_in_days = a.expires_days;
  o.not_before_days = a.not_before_days;
  auto signed_module = wascap::sign_module(*bytes, issuer, subject, o);
  if (!signed_module) die(signed_module.error().message, json);

  const std::string destination =
      a.destination.value_or((input.parent_path() / (stem + "_s.wasm")).string());
  auto written = write_file(destination, signed_module->module);
  if (!written) die("Cannot write " + destination + ": " + written.error().message, json);

  std::string joined;
  for (std::size_t i = 0; i < caps.size(); ++i) joined += (i ? "," : "") + caps[i];
  if (json) {
    nlohmann::ordered_json j;
    j["destination"] = destination;
    j["capabilities"] = caps;
    j["account"] = issuer.public_key();
    j["module"] = subject.public_key();
    j["hash"] = signed_module->claims.hash;
    j["key_files"] = key_files;
    j["success"] = true;
    std::cout << j.dump(2) << "\n";
    return;
  }
  for (const auto& note : notes) std::cout << note << "\n";
  std::cout << "Successfully signed " << destination << " with capabilities: " << joined << "\n";
}

}  // namespace

void register_claims(CLI::App& app) {
  auto* claims = app.add_subcommand("claims", "Inspect and sign actor claims (JWTs)");
  claims->require_subcommand(1);

  auto ia = std::make_shared<InspectArgs>();
  auto* inspect = claims->add_subcommand("inspect", "Show the claims embedded in an actor module");
  inspect->add_option("file", ia->file, "Signed WebAssembly module")->required();
  add_output_option(inspect, ia->output);
  inspect->add_flag("--jwt-only", ia->jwt_only, "Print only the raw JWT");
  inspect->callback([ia] { run_inspect(*ia); });

  auto sa = std::make_shared<SignArgs>();
  auto* sign = claims->add_subcommand("sign", "Sign an actor module with capability claims");
  sign->add_option("file", sa->file, "WebAssembly module to sign")->required();
  sign->add_option("-n,--name", sa->name, "Friendly name of the actor")->required();
  sign->add_option("-c,--cap", sa->caps, "Capability contract ID (repeatable)");
  sign->add_option("-t,--tag", sa->tags, "Tag (repeatable)");
  sign->add_option("-r,--rev", sa->rev, "Revision number");
  sign->add_option("-v,--ver", sa->ver, "Human-readable version, e.g. 0.1.0");
  sign->add_option("-a,--call-alias", sa->call_alias, "Call alias ([a-z0-9_/])");
  sign->add_flag("-p,--prov", sa->prov, "Mark the module as a capability provider");
  sign->add_option("-i,--issuer", sa->issuer, "Issuer account seed (SA...) or a file holding it");
  sign->add_option("-s,--subject", sa->subject, "Subject module seed (SM...) or a file holding it");
  sign->add_option("-x,--expires,--expires-in-days", sa->expires_days,
                   "Days until the token expires");
  sign->add_option("-b,--nbf,--not-before-days", sa->not_before_days,
                   "Days until the token becomes valid");
  sign->add_option("-d,--destination", sa->destination,
                   "Output file (default <stem>_s.wasm next to the input)");
  sign->add_option("--keys-dir", sa->keys_dir,
                   "Where generated keys are written (default $WASH_KEYS or ~/.wash/keys)");
  add_output_option(sign, sa->format, ",--format");
  sign->add_flag("-k,--keyvalue", sa->keyvalue, "Add wasmcloud:keyvalue");
  sign->add_flag("-g,--msg", sa->messaging, "Add wasmcloud:messaging");
  sign->add_flag("--http_client,--http-client", sa->http_client, "Add wasmcloud:httpclient");
  sign->add_flag("-q,--http_server,--http-server", sa->http_server, "Add wasmcloud:httpserver");
  sign->add_flag("-f,--blob_store,--blob-store", sa->blob_store, "Add wasmcloud:blobstore");
  sign->add_flag("-l,--logging", sa->logging, "Add wasmcloud:builtin:logging");
  sign->add_flag("-e,--events", sa->events, "Add wasmcloud:eventstreams");
  sign->callback([sa] { run_sign(*sa); });
}

}  // namespace wc::cli
