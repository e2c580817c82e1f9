// The model store: every stored application manifest and its versions, and which version is
// deployed, in one JetStream KV bucket (topics::kWadmModelBucket, key `{lattice}.{name}`, history
// 1, file storage), so a restarted or second `wasmcloud wadm` sees exactly what the first stored.
// The record layout is ours (wadm v0.4-v0.10 kept the same facts, `src/model/internal.rs`):
//
//   {"name": "echo-simple",
//    "versions": [{"version": "v0.0.1", "manifest": {...the manifest as JSON...}}, ...],
//    "deployed_version": null | "v0.0.1", "leave_running": true (only after a non-destructive
//    undeploy)}
//
// versions are in the order they were put; the last one is the current version.
//
// Owned by src/wadm (the API server holds one). Thread-safety: the methods may be called from
// several threads (each is a JetStream round trip through libnats, whose KV calls are
// thread-safe); writes are compare-and-set on the KV revision, so concurrent writers (several
// replicas) never lose each other's updates: the loser gets kAlreadyExists and retries. Borrows the
// Connection, which must outlive the store. Calls block (never call from a handler of a
// subscription whose messages the call waits for).
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/nats.h"

namespace wc::wadm {

/// One stored version: its version string and the manifest document (JSON).
struct StoredVersion {
  std::string version;
  nlohmann::json manifest;
};

/// A model: its versions in put order and the deployed one, if any.
struct StoredModel {
  std::string name;
  std::vector<StoredVersion> versions;
  std::optional<std::string> deployed_version;
  /// Undeployed with `non_destructive`: the reconciler leaves what it had started running.
  bool leave_running = false;

  /// The version `v`, nullptr when not stored.
  const StoredVersion* find(std::string_view v) const;
  /// The last version put (versions must not be empty).
  const StoredVersion& current() const { return versions.back(); }
  /// The record JSON (layout in the file comment).
  nlohmann::json to_json() const;
  /// Reads a record; kDataLoss when it is not one (a corrupt or foreign value).
  static Result<StoredModel> from_json(const nlohmann::json& record);
};

/// The store of one lattice's models.
class ModelStore {
 public:
  /// A model and the KV revision it was read at (for compare-and-set writes).
  struct Entry {
    StoredModel model;
    std::uint64_t revision = 0;
  };

  /// Binds to `bucket` (created when missing: history 1, file storage) for models of `lattice`.
  /// `timeout` bounds each JetStream call. Errors: kUnavailable (JetStream not enabled or not
  /// reachable), kDeadlineExceeded, kInvalidArgument (lattice not usable in a KV key).
  static Result<std::unique_ptr<ModelStore>> open(lattice::Connection& nc, std::string lattice,
                                                  std::string bucket,
                                                  std::chrono::milliseconds timeout);
  ~ModelStore();
  ModelStore(const ModelStore&) = delete;
  ModelStore& operator=(const ModelStore&) = delete;

  /// The model `name`; nullopt when there is none (never stored, or deleted).
  Result<std::optional<Entry>> get(std::string_view name);
  /// Writes `model` if the key is still at `expected_revision` (0: it must not exist). Returns the
  /// new revision. Errors: kAlreadyExists (someone wrote in between: re-read and retry),
  /// kResourceExhausted (the record exceeds the server's payload limit), kUnavailable,
  /// kDeadlineExceeded.
  Result<std::uint64_t> write(const StoredModel& model, std::uint64_t expected_revision);
  /// Deletes the model `name` (a KV delete marker). Deleting a missing model is not an error.
  Status remove(std::string_view name);
  /// Every model of this lattice, by name. A record that cannot be read is skipped and logged.
  Result<std::vector<StoredModel>> list();

  /// A raw value and its revision under `key` of the bucket (the reconciler's lease
  /// `_lease.{lattice}` and status records `_status.{lattice}.{name}`); nullopt when absent.
  Result<std::optional<std::pair<std::string, std::uint64_t>>> get_raw(const std::string& key);
  /// Writes `value` under `key` if it is still at `expected_revision` (0: must not exist);
  /// errors as write(). `expected_revision` std::nullopt writes unconditionally.
  Result<std::uint64_t> put_raw(const std::string& key, std::string_view value,
                                std::optional<std::uint64_t> expected_revision);
  /// The lattice prefix the store was opened for.
  const std::string& lattice() const { return lattice_; }

 private:
  ModelStore() = default;
  lattice::Connection* nc_ = nullptr;
  std::string lattice_;
  std::string bucket_;
  std::chrono::milliseconds timeout_{5000};
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
};

}  // namespace wc::wadm
