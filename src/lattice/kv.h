// JetStream key-value bucket over libnats' kvStore (libnats 3.4.1): open or create a bucket,
// get, put, create, compare-and-set update, delete, list keys, and a read-modify-write loop
// (`modify`) that retries when another writer changed the key in between.
//
// Owned by src/lattice; used by the host for the v1 buckets of issue #15 (`wadm_state`,
// `CONFIGDATA_{lattice}`, see topics.h "v1"). The LATTICEDATA bucket keeps its own code in
// host/metadata_cache.cpp (it predates this wrapper and watches the stream directly).
//
// Thread-safety: a KvStore may be used from several threads at once (libnats' kvStore and
// jsCtx are thread-safe). It borrows the Connection, which must outlive it. Every call blocks
// for JetStream round trips (at most the `timeout` given to open() each): never call from a
// NATS delivery thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "lattice/nats.h"

namespace wc::lattice {

/// A value read from a bucket with the revision (stream sequence) it was written at.
struct KvValue {
  std::string value;
  std::uint64_t revision = 0;
};

/// Settings of a bucket created by KvStore::open (ignored when it exists).
struct KvBucketOptions {
  /// Values kept per key (1..64).
  std::uint8_t history = 1;
  /// File storage (true) or memory storage.
  bool file_storage = true;
  /// Stream replicas.
  int replicas = 1;
};

/// One bucket.
class KvStore {
 public:
  /// Binds to `bucket` (`[A-Za-z0-9_-]+`). With `create`, a missing bucket is created with
  /// `options` (a concurrent creation by another client is tolerated); without it, a missing
  /// bucket is kNotFound. `js_domain` selects `$JS.<domain>.API`; `timeout` bounds each
  /// JetStream call. Errors: kInvalidArgument (bucket name), kNotFound, kUnavailable /
  /// kDeadlineExceeded (JetStream off or unreachable).
  static Result<KvStore> open(Connection& nc, std::string bucket, bool create,
                              const KvBucketOptions& options = {}, std::string js_domain = {},
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));

  KvStore(KvStore&&) noexcept;
  KvStore& operator=(KvStore&&) noexcept;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;
  ~KvStore();

  /// The current value of `key`; nullopt when the key is missing or deleted. Errors:
  /// kUnavailable / kDeadlineExceeded.
  Result<std::optional<KvValue>> get(std::string_view key);
  /// Writes `value` under `key`; returns the new revision.
  Result<std::uint64_t> put(std::string_view key, std::string_view value);
  /// Writes `value` only when `key` has no value (missing or deleted); returns the revision.
  /// kAlreadyExists when it has one.
  Result<std::uint64_t> create(std::string_view key, std::string_view value);
  /// Writes `value` only when the key's last revision is `last_revision` (compare-and-set);
  /// returns the new revision. kAlreadyExists ("wrong last sequence") when the key changed.
  Result<std::uint64_t> update(std::string_view key, std::string_view value,
                               std::uint64_t last_revision);
  /// Deletes `key` (a delete marker; reads then see no value). Deleting a missing key is fine.
  Status remove(std::string_view key);
  /// Every key with a value (deleted keys left out), in the bucket's order. An empty bucket
  /// gives an empty list.
  Result<std::vector<std::string>> keys();

  /// Read-modify-write of `key` with compare-and-set: reads the value (nullopt when none),
  /// calls `change` with it, and writes what it returns (nullopt: deletes the key, or does
  /// nothing when it had no value; the same text as before: writes nothing). When another
  /// writer changed the key in between, reads again and calls `change` again, up to
  /// `attempts` times (then kAlreadyExists). `change` must be pure (it may run several
  /// times). The same CAS loop wadm uses on its state keys (wadm src/storage/nats_kv.rs).
  Status modify(
      std::string_view key,
      const std::function<std::optional<std::string>(const std::optional<std::string>&)>& change,
      int attempts = 20);

  /// The bucket name.
  const std::string& bucket() const;

 private:
  struct Impl;
  explicit KvStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wc::lattice
