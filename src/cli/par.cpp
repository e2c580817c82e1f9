// `wasmcloud par create | insert | inspect`: provider archives over src/par (claims-oci-par.md
// 5.5, 3.5).
//
// Failures print one line on stderr (a JSON object with `-o json`) and exit 1 by throwing
// CLI::RuntimeError(1); exceptions never leave the CLI.
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "cli/table.h"
#include "common/encoding.h"
#include "par/par.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

namespace fs = std::filesystem;

// ---- par create ------------------------------------------------------------------------------

struct CreateArgs {
  std::string capid, vendor, name, arch, binary;
  std::optional<std::string> issuer, subject, ver, destination, keys_dir, schema;
  std::optional<std::int32_t> rev;
  bool compress = false;
  std::string output = "text";
};

void run_create(const CreateArgs& a) {
  const bool json = a.output == "json";
  if (!par::is_valid_target_name(a.arch)) {
    die("Invalid target name (expected <arch>-<os>, e.g. x86_64-linux): " + a.arch, json);
  }
  auto binary = read_file(a.binary);
  if (!binary) die("Cannot read " + a.binary + ": " + binary.error().message, json);
  std::string stem = fs::path(a.binary).stem().string();
  const std::string keys_dir = a.keys_dir.value_or(default_keys_dir());
  std::vector<std::string> notes;
  nlohmann::ordered_json key_files = nlohmann::ordered_json::object();
  const auto issuer = resolve_key(a.issuer, wascap::KeyType::kAccount, keys_dir, stem, json, notes,
                                  key_files, true);
  const auto subject = resolve_key(a.subject, wascap::KeyType::kService, keys_dir, stem, json,
                                   notes, key_files, true);

  par::CreateSpec spec;
  spec.capid = a.capid;
  spec.vendor = a.vendor;
  spec.name = a.name;
  spec.rev = a.rev;
  spec.ver = a.ver;
  if (a.schema) {
    auto text = read_file(*a.schema);
    if (!text) die("Cannot read " + *a.schema + ": " + text.error().message, json);
    auto parsed = nlohmann::json::parse(to_string(*text), nullptr, false);
    if (parsed.is_discarded()) die("Schema file is not valid JSON: " + *a.schema, json);
    spec.config_schema = std::move(parsed);
  }
  spec.targets[a.arch] = std::move(*binary);
  auto archive = par::create_archive(spec, issuer, subject, a.compress);
  if (!archive) die(archive.error().message, json);

  std::string destination = a.destination.value_or(stem + (a.compress ? ".par.gz" : ".par"));
  if (a.compress && !destination.ends_with(".gz")) destination += ".gz";
  auto written = write_file(destination, *archive);
  if (!written) die("Cannot write " + destination + ": " + written.error().message, json);

  if (json) {
    nlohmann::ordered_json j;
    j["file"] = destination;
    j["account"] = issuer.public_key();
    j["service"] = subject.public_key();
    j["capability_contract_id"] = a.capid;
    j["key_files"] = key_files;
    j["success"] = true;
    std::cout << j.dump(2) << "\n";
    return;
  }
  for (const auto& note : notes) std::cout << note << "\n";
  std::cout << "Successfully created archive " << destination << "\n";
}

// ---- par insert ------------------------------------------------------------------------------

struct InsertArgs {
  std::string archive, arch, binary;
  std::optional<std::string> issuer, subject, keys_dir;
  std::string output = "text";
};

void run_insert(const InsertArgs& a) {
  const bool json = a.output == "json";
  if (!par::is_valid_target_name(a.arch)) {
    die("Invalid target name (expected <arch>-<os>, e.g. x86_64-linux): " + a.arch, json);
  }
  auto bytes = read_file(a.archive);
  if (!bytes) die("Cannot read " + a.archive + ": " + bytes.error().message, json);
  const bool compressed = bytes->size() >= 2 && (*bytes)[0] == 0x1f && (*bytes)[1] == 0x8b;
  auto archive = par::load_archive(*bytes);
  if (!archive) die(archive.error().message, json);
  auto binary = read_file(a.binary);
  if (!binary) die("Cannot read " + a.binary + ": " + binary.error().message, json);
  // Keys default to the ones `par create` generated for this archive's binary stem.
  std::string stem = fs::path(a.archive).filename().string();
  stem = stem.substr(0, stem.find('.'));
  const std::string keys_dir = a.keys_dir.value_or(default_keys_dir());
  std::vector<std::string> notes;
  nlohmann::ordered_json key_files = nlohmann::ordered_json::object();
  const auto issuer = resolve_key(a.issuer, wascap::KeyType::kAccount, keys_dir, stem, json, notes,
                                  key_files, true);
  const auto subject = resolve_key(a.subject, wascap::KeyType::kService, keys_dir, stem, json,
                                   notes, key_files, true);
  auto out = par::insert_target(*archive, a.arch, std::move(*binary), issuer, subject, compressed);
  if (!out) die(out.error().message, json);
  auto written = write_file(a.archive, *out);
  if (!written) die("Cannot write " + a.archive + ": " + written.error().message, json);
  if (json) {
    std::cout << nlohmann::ordered_json{{"file", a.archive}, {"target", a.arch}, {"success", true}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "Successfully inserted " << a.binary << " into archive " << a.archive << "\n";
}

// ---- par inspect (table of claims-oci-par.md 3.5 in the layout of 3.2) -------------------------

struct InspectArgs {
  std::string file;
  std::string output = "text";
};

void run_inspect(const InspectArgs& a) {
  const bool json = a.output == "json";
  auto archive = par::load_archive_file(a.file);
  if (!archive) die(archive.error().message, json);
  const wascap::ProviderClaims& c = archive->claims;
  const std::string name = c.name.value_or("None");
  const std::string version = c.ver.value_or("None");
  const std::string revision = c.rev ? std::to_string(*c.rev) : "None";
  std::vector<std::string> targets;
  for (const auto& [target, bytes] : archive->targets) targets.push_back(target);
  if (json) {
    nlohmann::ordered_json j;
    j["name"] = name;
    j["issuer"] = c.iss;
    j["service"] = c.sub;
    j["capability_contract_id"] = c.capid;
    j["vendor"] = c.vendor;
    j["version"] = version;
    j["revision"] = revision;
    j["targets"] = targets;
    if (c.config_schema) j["schema"] = *c.config_schema;
    j["success"] = true;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::string target_text;
  for (std::size_t i = 0; i < targets.size(); ++i) target_text += (i ? "\n" : "") + targets[i];
  std::vector<Row> rows = {
      {{name + " - Provider Archive", Align::kCenter}},
      {{"Account", Align::kLeft}, {c.iss, Align::kRight}},
      {{"Service", Align::kLeft}, {c.sub, Align::kRight}},
      {{"Capability Contract ID", Align::kLeft}, {c.capid, Align::kRight}},
      {{"Vendor", Align::kLeft}, {c.vendor, Align::kRight}},
      {{"Version", Align::kLeft}, {version, Align::kRight}},
      {{"Revision", Align::kLeft}, {revision, Align::kRight}},
      {{"Supported Architecture Targets", Align::kCenter}},
      {{target_text, Align::kLeft}},
  };
  if (c.config_schema) {
    rows.push_back({{"\nLink Definition Schema", Align::kCenter}});
    rows.push_back({{"\nUse the JSON output option to extract the schema", Align::kLeft}});
  }
  std::cout << "\n" << render_table(rows) << "\n";
}

}  // namespace

void register_par(CLI::App& app) {
  auto* par_cmd = app.add_subcommand("par", "Create and inspect provider archives");
  par_cmd->require_subcommand(1);

  auto ca = std::make_shared<CreateArgs>();
  auto* create = par_cmd->add_subcommand("create", "Build a signed provider archive");
  create->add_option("--capid", ca->capid, "Capability contract ID, e.g. wasmcloud:httpserver")
      ->required();
  create->add_option("--vendor", ca->vendor, "Vendor name")->required();
  create->add_option("-n,--name", ca->name, "Provider name")->required();
  create->add_option("--arch", ca->arch, "Target of the binary, <arch>-<os>, e.g. x86_64-linux")
      ->required();
  create->add_option("-b,--binary", ca->binary, "Provider executable")->required();
  create->add_option("-i,--issuer", ca->issuer, "Issuer account seed (SA...) or a file holding it");
  create->add_option("-s,--subject", ca->subject,
                     "Subject service seed (SV...) or a file holding it");
  create->add_option("-r,--rev,--revision", ca->rev, "Revision number");
  create->add_option("-v,--ver,--vers", ca->ver, "Human-readable version, e.g. 0.1.0");
  create->add_option("--schema", ca->schema, "JSON schema file of the link values");
  create->add_flag("--compress", ca->compress, "gzip the archive (.par.gz)");
  create->add_option("-d,--destination", ca->destination,
                     "Output file (default <binary stem>.par[.gz])");
  create->add_option("--keys-dir,--directory", ca->keys_dir,
                     "Where generated keys are written (default $WASH_KEYS or ~/.wash/keys)");
  add_output_option(create, ca->output, ",--format");
  create->callback([ca] { run_create(*ca); });

  auto na = std::make_shared<InsertArgs>();
  auto* insert = par_cmd->add_subcommand("insert", "Add or replace a target binary (re-signs)");
  insert->add_option("archive", na->archive, "Provider archive to update in place")->required();
  insert->add_option("--arch", na->arch, "Target of the binary, <arch>-<os>")->required();
  insert->add_option("-b,--binary", na->binary, "Provider executable")->required();
  insert->add_option("-i,--issuer", na->issuer, "Issuer account seed (SA...) or a file holding it");
  insert->add_option("-s,--subject", na->subject,
                     "Subject service seed (SV...) or a file holding it; must be the archive's");
  insert->add_option("--keys-dir,--directory", na->keys_dir,
                     "Where keys are looked up (default $WASH_KEYS or ~/.wash/keys)");
  add_output_option(insert, na->output, ",--format");
  insert->callback([na] { run_insert(*na); });

  auto ia = std::make_shared<InspectArgs>();
  auto* inspect = par_cmd->add_subcommand("inspect", "Show the claims and targets of an archive");
  inspect->add_option("file", ia->file, "Provider archive (.par or .par.gz)")->required();
  add_output_option(inspect, ia->output);
  inspect->callback([ia] { run_inspect(*ia); });
}

}  // namespace wc::cli
