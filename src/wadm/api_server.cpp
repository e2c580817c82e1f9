// The wadm API server (api_server.h). Reply shapes: wadm v0.4-v0.10 `src/server/types.rs`
// (v0.10's status words: undeployed | reconciling | deployed | failed).
#include "wadm/api_server.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/json.h"
#include "lattice/topics.h"
#include "wadm/errors.h"
#include "wadm/manifest.h"

namespace wc::wadm {
namespace {

using nlohmann::json;

/// Attempts of a read-modify-write before giving up on concurrent writers.
constexpr int kCasAttempts = 8;

json error_reply(std::string message) {
  return {{"result", "error"}, {"message", std::move(message)}};
}

std::string not_found_text(std::string_view name) {
  return std::string(errors::kModelNotFoundPrefix) + std::string(name) +
         std::string(errors::kModelNotFoundSuffix);
}

/// Parses an optional JSON object body: empty -> {}. nullopt when it is not an object.
std::optional<json> object_body(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

std::string description_of(const json& manifest) {
  const json* meta = json_member(manifest, "metadata");
  const json* ann = meta != nullptr ? json_member(*meta, "annotations") : nullptr;
  return ann != nullptr ? json_string(*ann, "description") : std::string();
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::start(lattice::Connection& nc,
                                                    ApiServerOptions options) {
  if (options.bucket.empty()) options.bucket = std::string(lattice::topics::kWadmModelBucket);
  std::unique_ptr<ApiServer> server(new ApiServer());
  server->nc_ = &nc;
  server->options_ = std::move(options);
  auto store = ModelStore::open(nc, server->options_.lattice, server->options_.bucket,
                                server->options_.kv_timeout);
  if (!store) return fail(store.error());
  server->store_ = std::move(*store);
  if (server->options_.reconcile) {
    server->options_.reconciler.lattice = server->options_.lattice;
    auto r = Reconciler::start(nc, *server->store_, server->options_.reconciler);
    if (!r) return fail(r.error());
    server->reconciler_ = std::move(*r);
  }
  server->subject_ = lattice::topics::wadm_api_subscribe(server->options_.lattice);
  const std::string prefix = lattice::topics::wadm_api(server->options_.lattice, "");
  ApiServer* self = server.get();
  auto sub = nc.queue_subscribe(
      server->subject_, lattice::topics::kWadmQueueGroup, [self, prefix](lattice::Message msg) {
        if (msg.reply().empty()) return;  // nobody to answer
        // `{prefix}{op}` or `{prefix}{op}.{name}`; prefix ends with "model." (wadm_api(l, "")).
        std::string_view rest = msg.subject();
        json reply;
        if (rest.size() <= prefix.size() || rest.substr(0, prefix.size()) != prefix) {
          reply = error_reply("Unknown wadm API request");
        } else {
          rest.remove_prefix(prefix.size());
          std::string_view op = rest.substr(0, rest.find('.'));
          std::string_view name;
          if (op.size() < rest.size()) name = rest.substr(op.size() + 1);
          reply = self->handle(op, name, msg.text());
        }
        if (auto st = self->nc_->respond(msg, reply.dump()); !st)
          spdlog::warn("wadm: reply to {} failed: {}", msg.subject(), st.error().message);
      });
  if (!sub) return fail(sub.error());
  server->sub_ = std::move(*sub);
  if (auto st = nc.flush(); !st) return fail(st.error());
  return server;
}

ApiServer::~ApiServer() { sub_.unsubscribe(); }

json ApiServer::handle(std::string_view op, std::string_view name, std::string_view body) {
  ++requests_;
  try {
    const bool named = op != "put" && op != "list";
    if (named && !is_valid_model_name(name))
      return error_reply("Unknown wadm API request 'model." + std::string(op) +
                         (name.empty() ? "" : "." + std::string(name)) +
                         "': it needs a model name of [A-Za-z0-9_-]");
    if (!named && !name.empty())
      return error_reply("Unknown wadm API request 'model." + std::string(op) + "." +
                         std::string(name) + "'");
    if (op == "put") return put(body);
    if (op == "list") return list();
    if (op == "get") return get(name, body);
    if (op == "versions") return versions(name);
    if (op == "del") return del(name, body);
    if (op == "deploy") return deploy(name, body);
    if (op == "undeploy") return undeploy(name, body);
    if (op == "status") return status(name);
    return error_reply("Unknown wadm API request 'model." + std::string(op) + "'");
  } catch (const std::exception& e) {
    // nlohmann::json on unexpected shapes; the store and parser do not throw.
    spdlog::error("wadm: model.{} {} failed: {}", op, name, e.what());
    return error_reply(std::string(errors::kStorageError));
  }
}

json ApiServer::put(std::string_view body) {
  json reply = {{"result", "error"},
                {"current_version", ""},
                {"total_versions", 0},
                {"name", ""},
                {"message", ""}};
  auto manifest = parse_manifest(body);
  if (!manifest) {
    reply["message"] = manifest.error().message;
    return reply;
  }
  reply["name"] = manifest->name;
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    auto entry = store_->get(manifest->name);
    if (!entry) {
      spdlog::error("wadm: put {}: {}", manifest->name, entry.error().message);
      reply["message"] = std::string(errors::kStorageError);
      return reply;
    }
    StoredModel model;
    std::uint64_t revision = 0;
    if (*entry) {
      model = std::move((*entry)->model);
      revision = (*entry)->revision;
    } else {
      model.name = manifest->name;
    }
    if (model.find(manifest->version) != nullptr) {
      reply["message"] = std::string(errors::kVersionExistsPrefix) + manifest->version +
                         std::string(errors::kVersionExistsSuffix);
      return reply;
    }
    const bool created = model.versions.empty();
    model.versions.push_back({manifest->version, manifest->document});
    auto written = store_->write(model, revision);
    if (!written) {
      if (written.error().code == Code::kAlreadyExists) continue;
      spdlog::error("wadm: put {}: {}", manifest->name, written.error().message);
      reply["message"] = written.error().code == Code::kResourceExhausted
                             ? written.error().message
                             : std::string(errors::kStorageError);
      return reply;
    }
    reply["result"] = created ? "created" : "newversion";
    reply["current_version"] = manifest->version;
    reply["total_versions"] = model.versions.size();
    reply["message"] = "Successfully put manifest " + manifest->name + " " + manifest->version;
    return reply;
  }
  reply["message"] = std::string(errors::kStorageError);
  return reply;
}

json ApiServer::get(std::string_view name, std::string_view body) {
  auto req = object_body(body);
  if (!req) return error_reply("Unable to parse get model request: not a JSON object");
  const std::string version = json_string(*req, "version");
  auto entry = store_->get(name);
  if (!entry) return error_reply(std::string(errors::kStorageError));
  if (!*entry) return {{"result", "notfound"}, {"message", not_found_text(name)}};
  const StoredModel& model = (*entry)->model;
  if (version.empty() || version == kLatestVersion)
    return {{"result", "success"},
            {"message", "Successfully fetched model " + std::string(name)},
            {"manifest", model.current().manifest}};
  const StoredVersion* v = model.find(version);
  if (v == nullptr)
    return {
        {"result", "notfound"},
        {"message", "Model " + std::string(name) + " with version " + version + " doesn't exist"}};
  return {{"result", "success"},
          {"message", "Successfully fetched model " + std::string(name) + " " + version},
          {"manifest", v->manifest}};
}

json ApiServer::list() {
  auto models = store_->list();
  if (!models) return error_reply(std::string(errors::kStorageError));
  json out = json::array();
  for (const auto& m : *models) {
    const std::string description = description_of(m.current().manifest);
    json status_type = "undeployed";
    json status_message = nullptr;
    if (m.deployed_version) {
      json st = deployed_status(m);
      status_type = st["status"]["type"];
      status_message = json_string(st["status"], "message");
    }
    out.push_back(
        {{"name", m.name},
         {"version", m.current().version},
         {"description", description.empty() ? json(nullptr) : json(description)},
         {"deployed_version", m.deployed_version ? json(*m.deployed_version) : json(nullptr)},
         {"status", status_type},
         {"status_message", status_message}});
  }
  return out;
}

json ApiServer::versions(std::string_view name) {
  auto entry = store_->get(name);
  if (!entry) return error_reply(std::string(errors::kStorageError));
  if (!*entry)
    return {{"result", "notfound"}, {"message", not_found_text(name)}, {"versions", json::array()}};
  const StoredModel& model = (*entry)->model;
  json versions = json::array();
  for (const auto& v : model.versions)
    versions.push_back({{"version", v.version}, {"deployed", model.deployed_version == v.version}});
  return {{"result", "success"},
          {"message", "Successfully fetched versions for model " + std::string(name)},
          {"versions", std::move(versions)}};
}

json ApiServer::del(std::string_view name, std::string_view body) {
  auto req = object_body(body);
  if (!req) return error_reply("Unable to parse delete model request: not a JSON object");
  const std::string version = json_string(*req, "version");
  const bool delete_all = json_bool(*req, "delete_all", false);
  if (version.empty() && !delete_all)
    return error_reply(
        "Unable to parse delete model request: it needs a version or "
        "\"delete_all\": true");
  const std::string model_name(name);
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    auto entry = store_->get(name);
    if (!entry) return error_reply(std::string(errors::kStorageError));
    if (!*entry)
      return {{"result", "noop"},
              {"message", "Model " + model_name + " doesn't exist"},
              {"undeploy", false}};
    StoredModel model = std::move((*entry)->model);
    if (delete_all) {
      if (auto st = store_->remove(name); !st)
        return error_reply(std::string(errors::kStorageError));
      wake();
      return {{"result", "deleted"},
              {"message", "Successfully deleted model " + model_name},
              {"undeploy", model.deployed_version.has_value()}};
    }
    if (model.find(version) == nullptr)
      return {{"result", "noop"},
              {"message", "Model version " + version + " doesn't exist"},
              {"undeploy", false}};
    const bool undeploy = model.deployed_version == version;
    std::erase_if(model.versions, [&](const StoredVersion& v) { return v.version == version; });
    if (undeploy) model.deployed_version.reset();
    if (model.versions.empty()) {
      if (auto st = store_->remove(name); !st)
        return error_reply(std::string(errors::kStorageError));
    } else if (auto w = store_->write(model, (*entry)->revision); !w) {
      if (w.error().code == Code::kAlreadyExists) continue;
      return error_reply(std::string(errors::kStorageError));
    }
    wake();
    return {{"result", "deleted"},
            {"message", "Successfully deleted version " + version + " of model " + model_name},
            {"undeploy", undeploy}};
  }
  return error_reply(std::string(errors::kStorageError));
}

json ApiServer::deploy(std::string_view name, std::string_view body) {
  auto req = object_body(body);
  if (!req) return error_reply("Unable to parse deploy model request: not a JSON object");
  const std::string version = json_string(*req, "version");
  auto entry = store_->get(name);
  if (!entry) return error_reply(std::string(errors::kStorageError));
  if (!*entry) return {{"result", "notfound"}, {"message", not_found_text(name)}};
  if (!version.empty() && version != kLatestVersion && (*entry)->model.find(version) == nullptr)
    return error_reply("Model with the name " + std::string(name) +
                       " does not have the specified version to deploy");
  if (!reconciler_) return error_reply(std::string(errors::kNoReconciler));
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    if (attempt > 0) {
      entry = store_->get(name);
      if (!entry) return error_reply(std::string(errors::kStorageError));
      if (!*entry) return {{"result", "notfound"}, {"message", not_found_text(name)}};
    }
    StoredModel model = (*entry)->model;
    const std::string chosen =
        version.empty() || version == kLatestVersion ? model.current().version : version;
    if (model.find(chosen) == nullptr)
      return error_reply("Model with the name " + std::string(name) +
                         " does not have the specified version to deploy");
    model.deployed_version = chosen;
    model.leave_running = false;
    auto w = store_->write(model, (*entry)->revision);
    if (!w) {
      if (w.error().code == Code::kAlreadyExists) continue;
      return error_reply(std::string(errors::kStorageError));
    }
    // A fresh status until the reconciler writes its own (never a stale one of an earlier
    // deployment of the same version).
    (void)store_->put_raw(
        status_key(options_.lattice, model.name),
        json{{"version", chosen},
             {"status", {{"type", "reconciling"}, {"message", "waiting for the reconciler"}}},
             {"components", json::array()}}
            .dump(),
        std::nullopt);
    wake();
    return {{"result", "acknowledged"},
            {"message", "Successfully deployed model " + std::string(name) + " " + chosen}};
  }
  return error_reply(std::string(errors::kStorageError));
}

json ApiServer::undeploy(std::string_view name, std::string_view body) {
  auto req = object_body(body);
  if (!req) return error_reply("Unable to parse undeploy model request: not a JSON object");
  const bool non_destructive = json_bool(*req, "non_destructive", false);
  for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
    auto entry = store_->get(name);
    if (!entry) return error_reply(std::string(errors::kStorageError));
    if (!*entry) return {{"result", "notfound"}, {"message", not_found_text(name)}};
    StoredModel model = (*entry)->model;
    if (!model.deployed_version) {
      wake();  // a retry of an earlier undeploy: let the reconciler look again
      return {{"result", "acknowledged"},
              {"message", "Model " + std::string(name) + " was already undeployed"}};
    }
    model.deployed_version.reset();
    model.leave_running = non_destructive;
    auto w = store_->write(model, (*entry)->revision);
    if (!w) {
      if (w.error().code == Code::kAlreadyExists) continue;
      return error_reply(std::string(errors::kStorageError));
    }
    wake();
    return {{"result", "acknowledged"},
            {"message", "Successfully undeployed model " + std::string(name)}};
  }
  return error_reply(std::string(errors::kStorageError));
}

json ApiServer::deployed_status(const StoredModel& model) {
  const std::string& version = *model.deployed_version;
  auto rec = store_->get_raw(status_key(options_.lattice, model.name));
  if (rec && *rec) {
    json j = json::parse((*rec)->first, nullptr, false);
    if (json_string(j, "version") == version && json_member(j, "status") != nullptr) return j;
  }
  return {{"version", version},
          {"status", {{"type", "reconciling"}, {"message", "waiting for the reconciler"}}},
          {"components", json::array()}};
}

json ApiServer::status(std::string_view name) {
  auto entry = store_->get(name);
  if (!entry) return error_reply(std::string(errors::kStorageError));
  if (!*entry) return {{"result", "notfound"}, {"message", not_found_text(name)}};
  const StoredModel& model = (*entry)->model;
  if (model.deployed_version)
    return {{"result", "ok"},
            {"message", "Successfully fetched status for model " + std::string(name)},
            {"status", deployed_status(model)}};
  const StoredVersion& shown =
      model.deployed_version && model.find(*model.deployed_version) != nullptr
          ? *model.find(*model.deployed_version)
          : model.current();
  const json undeployed = {{"type", "undeployed"}};
  json components = json::array();
  auto parsed = manifest_from_json(shown.manifest);
  if (parsed) {
    for (const auto& c : parsed->components) {
      json traits = json::array();
      for (const auto& t : c.traits)
        traits.push_back({{"type", trait_type_name(t.type)}, {"status", undeployed}});
      components.push_back({{"name", c.name},
                            {"type", component_type_name(c.type)},
                            {"status", undeployed},
                            {"traits", std::move(traits)}});
    }
  }
  return {{"result", "ok"},
          {"message", "Successfully fetched status for model " + std::string(name)},
          {"status",
           {{"version", shown.version},
            {"status", {{"type", "undeployed"}, {"message", "not deployed"}}},
            {"components", std::move(components)}}}};
}

}  // namespace wc::wadm
