// The model store in JetStream KV (model_store.h).
#include "wadm/model_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/json.h"
#include "lattice/topics.h"

namespace wc::wadm {
namespace {

using nlohmann::json;

/// A KV key part: what NATS KV keys allow, without `.` (the separator of our key).
bool is_key_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '=' || c == '/';
  });
}

/// Bytes a KV put adds to the value on the wire (subject, headers): a safe margin.
constexpr std::int64_t kPayloadMargin = 4096;

}  // namespace

const StoredVersion* StoredModel::find(std::string_view v) const {
  for (const auto& sv : versions)
    if (sv.version == v) return &sv;
  return nullptr;
}

json StoredModel::to_json() const {
  json j = {{"name", name}, {"versions", json::array()}};
  for (const auto& v : versions)
    j["versions"].push_back({{"version", v.version}, {"manifest", v.manifest}});
  j["deployed_version"] = deployed_version ? json(*deployed_version) : json(nullptr);
  if (leave_running) j["leave_running"] = true;
  return j;
}

Result<StoredModel> StoredModel::from_json(const json& record) {
  StoredModel m;
  m.name = json_string(record, "name");
  const json* versions = json_member(record, "versions");
  if (m.name.empty() || versions == nullptr || !versions->is_array() || versions->empty())
    return fail(Code::kDataLoss, "not a model record");
  for (const auto& v : *versions) {
    StoredVersion sv{json_string(v, "version"), json()};
    const json* manifest = json_member(v, "manifest");
    if (sv.version.empty() || manifest == nullptr || !manifest->is_object())
      return fail(Code::kDataLoss, "model record '" + m.name + "' has a malformed version");
    sv.manifest = *manifest;
    m.versions.push_back(std::move(sv));
  }
  if (const json* d = json_member(record, "deployed_version"); d != nullptr && d->is_string())
    m.deployed_version = d->get<std::string>();
  m.leave_running = json_bool(record, "leave_running", false);
  return m;
}

Result<std::unique_ptr<ModelStore>> ModelStore::open(lattice::Connection& nc, std::string lattice,
                                                     std::string bucket,
                                                     std::chrono::milliseconds timeout) {
  if (!is_key_token(lattice))
    return fail(Code::kInvalidArgument,
                "lattice '" + lattice + "' cannot name models in a KV key (use [A-Za-z0-9_-])");
  std::unique_ptr<ModelStore> store(new ModelStore());
  store->nc_ = &nc;
  store->lattice_ = std::move(lattice);
  store->bucket_ = std::move(bucket);
  store->timeout_ = timeout;
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = timeout.count();
  natsStatus s = natsConnection_JetStream(&store->js_, nc.raw(), &o);
  if (s != NATS_OK) return fail(lattice::nats_error(s, "model store: JetStream context"));
  s = js_KeyValue(&store->kv_, store->js_, store->bucket_.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = store->bucket_.c_str();
    cfg.Description = "wasmcloud wadm: application manifests";
    cfg.History = 1;
    cfg.StorageType = js_FileStorage;
    cfg.Replicas = 1;
    s = js_CreateKeyValue(&store->kv_, store->js_, &cfg);
    // Another replica may have created it in between with a different description: bind.
    if (s != NATS_OK) s = js_KeyValue(&store->kv_, store->js_, store->bucket_.c_str());
  }
  if (s != NATS_OK)
    return fail(lattice::nats_error(s, "model store: KV bucket '" + store->bucket_ + "'"));
  return store;
}

ModelStore::~ModelStore() {
  if (kv_ != nullptr) kvStore_Destroy(kv_);
  if (js_ != nullptr) jsCtx_Destroy(js_);
}

Result<std::optional<ModelStore::Entry>> ModelStore::get(std::string_view name) {
  const std::string key = lattice::topics::wadm_model_key(lattice_, name);
  kvEntry* e = nullptr;
  natsStatus s = kvStore_Get(&e, kv_, key.c_str());
  if (s == NATS_NOT_FOUND) return std::optional<Entry>();
  if (s != NATS_OK) return fail(lattice::nats_error(s, "model store: reading '" + key + "'"));
  std::string_view value(static_cast<const char*>(kvEntry_Value(e)),
                         static_cast<std::size_t>(kvEntry_ValueLen(e)));
  const std::uint64_t revision = kvEntry_Revision(e);
  json record = json::parse(value, nullptr, false);
  kvEntry_Destroy(e);
  auto model = StoredModel::from_json(record);
  if (!model) return fail(Code::kDataLoss, "model store: '" + key + "': " + model.error().message);
  return std::optional<Entry>(Entry{std::move(*model), revision});
}

Result<std::uint64_t> ModelStore::write(const StoredModel& model, std::uint64_t expected_revision) {
  const std::string key = lattice::topics::wadm_model_key(lattice_, model.name);
  const std::string data = model.to_json().dump();
  const std::int64_t limit = nc_->max_payload();
  if (limit > 0 && static_cast<std::int64_t>(data.size()) > limit - kPayloadMargin)
    return fail(Code::kResourceExhausted,
                "model " + model.name + " would take " + std::to_string(data.size()) +
                    " bytes, above the NATS payload limit of " + std::to_string(limit) +
                    " bytes: delete old versions first");
  std::uint64_t rev = 0;
  natsStatus s =
      expected_revision == 0
          ? kvStore_Create(&rev, kv_, key.c_str(), data.data(), static_cast<int>(data.size()))
          : kvStore_Update(&rev, kv_, key.c_str(), data.data(), static_cast<int>(data.size()),
                           expected_revision);
  if (s == NATS_OK) return rev;
  Error err = lattice::nats_error(s, "model store: writing '" + key + "'");
  // Tell a lost compare-and-set from a failure: the key moved on since it was read.
  kvEntry* e = nullptr;
  natsStatus g = kvStore_Get(&e, kv_, key.c_str());
  std::uint64_t now = 0;
  if (g == NATS_OK) {
    now = kvEntry_Revision(e);
    kvEntry_Destroy(e);
  }
  if ((g == NATS_OK && now != expected_revision) || (g == NATS_NOT_FOUND && expected_revision != 0))
    return fail(Code::kAlreadyExists, "model " + model.name + " was changed concurrently");
  return fail(std::move(err));
}

Status ModelStore::remove(std::string_view name) {
  const std::string key = lattice::topics::wadm_model_key(lattice_, name);
  natsStatus s = kvStore_Delete(kv_, key.c_str());
  if (s != NATS_OK) return fail(lattice::nats_error(s, "model store: deleting '" + key + "'"));
  return ok();
}

Result<std::vector<StoredModel>> ModelStore::list() {
  kvKeysList keys{};
  kvWatchOptions o;
  kvWatchOptions_Init(&o);
  o.Timeout = timeout_.count();
  natsStatus s = kvStore_Keys(&keys, kv_, &o);
  std::vector<StoredModel> out;
  if (s == NATS_NOT_FOUND) return out;
  if (s != NATS_OK) return fail(lattice::nats_error(s, "model store: listing keys"));
  const std::string prefix = lattice_ + ".";
  std::vector<std::string> names;
  for (int i = 0; i < keys.Count; ++i) {
    std::string_view k = keys.Keys[i];
    if (k.size() > prefix.size() && k.substr(0, prefix.size()) == prefix &&
        k.find('.', prefix.size()) == std::string_view::npos)
      names.emplace_back(k.substr(prefix.size()));
  }
  kvKeysList_Destroy(&keys);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto e = get(n);
    if (!e) {
      if (e.error().code == Code::kDataLoss) {
        spdlog::warn("wadm: skipping model record {}: {}", n, e.error().message);
        continue;
      }
      return fail(e.error());
    }
    if (*e) out.push_back(std::move((*e)->model));
  }
  return out;
}

Result<std::optional<std::pair<std::string, std::uint64_t>>> ModelStore::get_raw(
    const std::string& key) {
  kvEntry* e = nullptr;
  natsStatus s = kvStore_Get(&e, kv_, key.c_str());
  using Value = std::optional<std::pair<std::string, std::uint64_t>>;
  if (s == NATS_NOT_FOUND) return Value();
  if (s != NATS_OK) return fail(lattice::nats_error(s, "model store: reading '" + key + "'"));
  Value v = std::make_pair(std::string(static_cast<const char*>(kvEntry_Value(e)),
                                       static_cast<std::size_t>(kvEntry_ValueLen(e))),
                           kvEntry_Revision(e));
  kvEntry_Destroy(e);
  return v;
}

Result<std::uint64_t> ModelStore::put_raw(const std::string& key, std::string_view value,
                                          std::optional<std::uint64_t> expected_revision) {
  std::uint64_t rev = 0;
  const int len = static_cast<int>(value.size());
  natsStatus s =
      !expected_revision ? kvStore_Put(&rev, kv_, key.c_str(), value.data(), len)
      : *expected_revision == 0
          ? kvStore_Create(&rev, kv_, key.c_str(), value.data(), len)
          : kvStore_Update(&rev, kv_, key.c_str(), value.data(), len, *expected_revision);
  if (s == NATS_OK) return rev;
  if (expected_revision) {
    auto now = get_raw(key);
    if (now &&
        ((*now && (*now)->second != *expected_revision) || (!*now && *expected_revision != 0)))
      return fail(Code::kAlreadyExists, "'" + key + "' was changed concurrently");
  }
  return fail(lattice::nats_error(s, "model store: writing '" + key + "'"));
}

}  // namespace wc::wadm
