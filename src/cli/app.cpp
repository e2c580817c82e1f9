// `wasmcloud app put|deploy|undeploy|list|get|versions|status|delete`: a client of the wadm API
// (`wadm.api.{lattice}.model.*`, v1-and-wadm.md section 5) served by `wasmcloud wadm` (or by
// wadm itself). Output per cli/output.h: text tables, or with `-o json` the API's reply under
// {"success": true, ...}. A reply with result error or notfound ends the command with exit code 1
// and its message. `deploy` takes a name (and version) or a manifest file, which it puts first.
//
// Connection flags as `ctl`'s: --ctl-host/-r, --ctl-port/-p, --lattice-prefix/-x (defaults from
// WASMCLOUD_CTL_HOST, WASMCLOUD_CTL_PORT, WASMCLOUD_LATTICE_PREFIX), --timeout-ms/-t.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "cli/ports.h"
#include "common/json.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "wadm/errors.h"
#include "wadm/manifest.h"

namespace wc::cli {
namespace {

using nlohmann::json;

struct AppArgs {
  std::string nats_host = "127.0.0.1";
  int nats_port = 4222;
  std::string lattice = "default";
  int timeout_ms = 5000;
  std::string output = "text";
  std::string env_error;
  // Subcommand arguments.
  std::string file;
  std::string name;
  std::string version;
  bool delete_all = false;
  bool non_destructive = false;
};

std::string env_value(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

/// Left-aligned columns with a header line, two spaces apart (as `ctl get` prints).
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t i = 0; i < r.size(); ++i) {
      s += r[i];
      if (i + 1 < r.size()) s += std::string(w[i] - r[i].size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

/// Sends `body` to `model.{op}[.{name}]` and returns the parsed reply, or dies with a message.
json call(const AppArgs& a, const std::string& op, const std::string& name,
          const std::string& body) {
  const bool js = a.output == "json";
  if (!a.env_error.empty()) die(a.env_error, js);
  if (auto st = check_port_range("--ctl-port", a.nats_port); !st) die(st.error().message, js);
  lattice::ConnectOptions o;
  o.servers = {"nats://" + a.nats_host + ":" + std::to_string(a.nats_port)};
  o.name = "wasmcloud app";
  auto nc = lattice::Connection::connect(o);
  if (!nc) die("Failed to connect to NATS: " + nc.error().message, js);
  const std::string subject = lattice::topics::wadm_api(a.lattice, op, name);
  auto reply = (*nc)->request(subject, body, std::chrono::milliseconds(a.timeout_ms));
  if (!reply) {
    if (reply.error().code == Code::kUnavailable || reply.error().code == Code::kDeadlineExceeded)
      die("No answer from the wadm API on " + subject + " (" + reply.error().message +
              "): is `wasmcloud wadm` running for lattice '" + a.lattice + "'?",
          js);
    die("Request to " + subject + " failed: " + reply.error().message, js);
  }
  json j = json::parse(reply->text(), nullptr, false);
  if (j.is_discarded()) die("The wadm API answered something that is not JSON", js);
  return j;
}

/// Dies with the reply's message unless its result is one of `good`.
void require_result(const AppArgs& a, const json& reply, std::initializer_list<const char*> good) {
  const std::string result = json_string(reply, "result");
  for (const char* g : good)
    if (result == g) return;
  std::string message = json_string(reply, "message");
  if (message.empty()) message = "the wadm API answered result '" + result + "'";
  die(message, a.output == "json");
}

/// Prints `reply` under {"success": true} (json) or `text` (text).
void print(const AppArgs& a, const json& reply, const std::string& text) {
  if (a.output == "json") {
    json out = {{"success", true}};
    if (reply.is_object()) {
      for (const auto& [k, v] : reply.items()) out[k] = v;
    } else {
      out["models"] = reply;
    }
    std::cout << out.dump() << "\n";
  } else {
    std::cout << text;
  }
}

std::string read_manifest(const AppArgs& a, const std::string& file) {
  std::string body;
  if (file == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) die("Cannot read manifest file " + file, a.output == "json");
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return body;
}

void app_put(const AppArgs& a) {
  const std::string body = read_manifest(a, a.file);
  json r = call(a, "put", "", body);
  require_result(a, r, {"created", "newversion"});
  print(a, r,
        json_string(r, "message") + " (" + std::to_string(json_int(r, "total_versions", 0)) +
            " version(s) stored)\n");
}

/// `deploy NAME [VERSION]`, or `deploy FILE`: the manifest is put first (a version already
/// stored is fine) and that version deployed.
void app_deploy(const AppArgs& a) {
  std::string name = a.name;
  std::string version = a.version;
  if (name == "-" || name.find('/') != std::string::npos || name.find('.') != std::string::npos) {
    const std::string body = read_manifest(a, name);
    auto m = wadm::parse_manifest(body);
    if (!m) die(m.error().message, a.output == "json");
    json put = call(a, "put", "", body);
    const std::string exists = std::string(wadm::errors::kVersionExistsPrefix) + m->version +
                               std::string(wadm::errors::kVersionExistsSuffix);
    if (json_string(put, "message") != exists) require_result(a, put, {"created", "newversion"});
    name = m->name;
    version = m->version;
  }
  json body = json::object();
  if (!version.empty()) body["version"] = version;
  json r = call(a, "deploy", name, body.dump());
  require_result(a, r, {"acknowledged"});
  print(a, r,
        json_string(r, "message") + " (`wasmcloud app status " + name + "` shows progress)\n");
}

void app_undeploy(const AppArgs& a) {
  json r = call(a, "undeploy", a.name, json{{"non_destructive", a.non_destructive}}.dump());
  require_result(a, r, {"acknowledged"});
  print(a, r, json_string(r, "message") + "\n");
}

void app_list(const AppArgs& a) {
  json r = call(a, "list", "", "");
  if (!r.is_array()) {
    require_result(a, r, {});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : r) {
    rows.push_back({json_string(m, "name"), json_string(m, "version"),
                    json_string(m, "deployed_version", "-"), json_string(m, "status"),
                    json_string(m, "description")});
  }
  std::ostringstream os;
  if (rows.empty()) {
    os << "No applications stored\n";
  } else {
    os << render_table({"NAME", "LATEST", "DEPLOYED", "STATUS", "DESCRIPTION"}, rows);
  }
  print(a, r, os.str());
}

void app_get(const AppArgs& a) {
  json body = json::object();
  if (!a.version.empty()) body["version"] = a.version;
  json r = call(a, "get", a.name, body.dump());
  require_result(a, r, {"success"});
  const json* manifest = json_member(r, "manifest");
  print(a, r, (manifest != nullptr ? manifest->dump(2) : std::string("{}")) + "\n");
}

void app_versions(const AppArgs& a) {
  json r = call(a, "versions", a.name, "");
  require_result(a, r, {"success"});
  std::vector<std::vector<std::string>> rows;
  if (const json* vs = json_member(r, "versions"); vs != nullptr && vs->is_array())
    for (const auto& v : *vs)
      rows.push_back({json_string(v, "version"), json_bool(v, "deployed", false) ? "yes" : "no"});
  print(a, r, render_table({"VERSION", "DEPLOYED"}, rows));
}

void app_status(const AppArgs& a) {
  json r = call(a, "status", a.name, "");
  require_result(a, r, {"ok"});
  const json* st = json_member(r, "status");
  std::ostringstream os;
  if (st != nullptr) {
    const json* info = json_member(*st, "status");
    os << a.name << " " << json_string(*st, "version") << ": "
       << (info != nullptr ? json_string(*info, "type") : std::string("?"));
    if (info != nullptr && !json_string(*info, "message").empty())
      os << " (" << json_string(*info, "message") << ")";
    os << "\n";
    std::vector<std::vector<std::string>> rows;
    if (const json* cs = json_member(*st, "components"); cs != nullptr && cs->is_array())
      for (const auto& c : *cs) {
        const json* ci = json_member(c, "status");
        std::string traits;
        if (const json* ts = json_member(c, "traits"); ts != nullptr && ts->is_array())
          for (const auto& t : *ts) {
            if (!traits.empty()) traits += ", ";
            const json* ti = json_member(t, "status");
            traits += json_string(t, "type") + "=" +
                      (ti != nullptr ? json_string(*ti, "type") : std::string("?"));
          }
        rows.push_back({json_string(c, "name"), json_string(c, "type"),
                        ci != nullptr ? json_string(*ci, "type") : std::string("?"), traits});
      }
    if (!rows.empty()) os << render_table({"COMPONENT", "TYPE", "STATUS", "TRAITS"}, rows);
  }
  print(a, r, os.str());
}

void app_delete(const AppArgs& a) {
  if (a.version.empty() && !a.delete_all)
    die("app delete needs a VERSION or --all", a.output == "json");
  json body = {{"version", a.version}, {"delete_all", a.delete_all}};
  json r = call(a, "del", a.name, body.dump());
  require_result(a, r, {"deleted", "noop"});
  print(a, r, json_string(r, "message") + "\n");
}

}  // namespace

void register_app(CLI::App& app) {
  auto a = std::make_shared<AppArgs>();
  a->nats_host = env_value("WASMCLOUD_CTL_HOST", a->nats_host);
  if (auto port = port_from_env("WASMCLOUD_CTL_PORT", 4222); port)
    a->nats_port = *port;
  else
    a->env_error = port.error().message;
  a->lattice = env_value("WASMCLOUD_LATTICE_PREFIX", a->lattice);
  auto* g = app.add_subcommand("app",
                               "Declarative applications: store and read manifests through "
                               "the wadm API (`wasmcloud wadm`)");
  g->require_subcommand(1);
  g->add_option("--ctl-host,-r", a->nats_host, "NATS host (WASMCLOUD_CTL_HOST)");
  g->add_option("--ctl-port,-p", a->nats_port, "NATS port (WASMCLOUD_CTL_PORT)")
      ->each([a](const std::string&) { a->env_error.clear(); });
  g->add_option("--lattice-prefix,-x", a->lattice, "Lattice prefix (WASMCLOUD_LATTICE_PREFIX)");
  g->add_option("--timeout-ms,-t", a->timeout_ms, "Request timeout in milliseconds");
  add_output_option(g, a->output);
  g->fallthrough();

  auto* put = g->add_subcommand("put",
                                "Store a manifest (YAML or JSON; a new version of an "
                                "existing application)");
  put->add_option("file", a->file, "Manifest file, or - for stdin")->required();
  put->callback([a] { app_put(*a); });

  auto* deploy = g->add_subcommand(
      "deploy", "Deploy an application: NAME [VERSION], or a manifest FILE (put first)");
  deploy->add_option("name", a->name, "Application name, or a manifest file (path or -)")
      ->required();
  deploy->add_option("version", a->version, "Version (default: the latest put)");
  deploy->callback([a] { app_deploy(*a); });

  auto* undeploy = g->add_subcommand("undeploy", "Undeploy an application (removes what it runs)");
  undeploy->add_option("name", a->name, "Application name")->required();
  undeploy->add_flag("--non-destructive", a->non_destructive,
                     "Leave what it runs in place (no longer reconciled)");
  undeploy->callback([a] { app_undeploy(*a); });

  auto* list = g->add_subcommand("list", "List the stored applications");
  list->callback([a] { app_list(*a); });

  auto* get = g->add_subcommand("get", "Print a stored manifest (as JSON)");
  get->add_option("name", a->name, "Application name")->required();
  get->add_option("version", a->version, "Version (default: the latest put)");
  get->callback([a] { app_get(*a); });

  auto* versions = g->add_subcommand("versions", "List an application's stored versions");
  versions->add_option("name", a->name, "Application name")->required();
  versions->callback([a] { app_versions(*a); });

  auto* status = g->add_subcommand("status", "Show an application's status and components");
  status->add_option("name", a->name, "Application name")->required();
  status->callback([a] { app_status(*a); });

  auto* del = g->add_subcommand("delete", "Delete one version of an application, or all (--all)");
  del->add_option("name", a->name, "Application name")->required();
  del->add_option("version", a->version, "Version to delete");
  del->add_flag("--all", a->delete_all, "Delete every version");
  del->callback([a] { app_delete(*a); });
}

}  // namespace wc::cli
