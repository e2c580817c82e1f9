// JetStream object store, as wasmCloud uses it to move large invocation payloads ("chunking").
//
// Owned by src/lattice. Layout per actor-rpc-providers.md 3.6 (compatible with the nats.rs 0.24
// object store the Rust peers use): bucket = lattice prefix; stream `OBJ_<bucket>` with subjects
// `$O.<bucket>.C.>` and `$O.<bucket>.M.>`, discard new, rollup headers allowed, file storage,
// one replica; content published in chunks of at most 128 KiB to `$O.<bucket>.C.<nuid>`; an
// object-info JSON (name, description, link, bucket, nuid, size, chunks, modified, digest,
// deleted) published to `$O.<bucket>.M.<base64url-padded name>` with `Nats-Rollup: sub`; digest
// `SHA-256=<base64url with padding>`. Request payloads are stored under the invocation id,
// responses under `<id>-r` (topics::obj_response_name); the reader deletes after reading.
//
// Thread-safety: an ObjectStore may be used from several threads (each call uses its own
// JetStream requests; libnats' jsCtx is thread-safe). It borrows the Connection, which must
// outlive it. Calls block for JetStream round trips (do not call from NATS handlers of the
// same subscription you are waiting on; worker threads are fine).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"
#include "lattice/nats.h"

namespace wc::lattice {

/// Maximum chunk size (bytes) written by put().
inline constexpr std::size_t kObjectChunkSize = 131072;

/// Error text prefixes of chunked-payload failures, as they appear in an InvocationResponse
/// `error` (not reference texts: the reference host invokes the actor with an empty payload and
/// its hosts return empty bytes; we fail the call instead). Followed by the object name and
/// ": <object store error>".
inline constexpr std::string_view kChunkReadFailedPrefix = "Failed to read chunked payload ";
/// Followed by the object name and ": <object store error>".
inline constexpr std::string_view kChunkWriteFailedPrefix = "Failed to store chunked payload ";

/// One object bucket.
class ObjectStore {
 public:
  /// Binds to bucket `bucket` (must match `[a-zA-Z0-9_-]+`), creating its stream when it does
  /// not exist. `js_domain` selects `$JS.<domain>.API`. `timeout` bounds each JetStream API
  /// call. Errors: kInvalidArgument (bucket name), kUnavailable (JetStream not enabled /
  /// unreachable), kDeadlineExceeded.
  static Result<ObjectStore> open(Connection& nc, std::string bucket, std::string js_domain = {},
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

  ObjectStore(ObjectStore&&) noexcept;
  ObjectStore& operator=(ObjectStore&&) noexcept;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;
  ~ObjectStore();

  /// Stores `data` under `name` (replacing an earlier object of that name and purging its
  /// chunks). Errors: kInvalidArgument (empty name), kUnavailable / kDeadlineExceeded
  /// (JetStream), kResourceExhausted (stream limits).
  Status put(std::string_view name, std::span<const std::uint8_t> data);
  /// Reads the object. Errors: kNotFound (no such object, or deleted), kDataLoss (chunks
  /// missing, size or digest mismatch), kUnavailable / kDeadlineExceeded.
  Result<Bytes> get(std::string_view name);
  /// Marks the object deleted (meta with deleted=true, size and chunks 0) and purges its chunks.
  /// kNotFound when there is no such object.
  Status remove(std::string_view name);
  /// get() followed by remove() — what a receiver does with a chunked payload.
  Result<Bytes> take(std::string_view name);

  /// The bucket name.
  const std::string& bucket() const;

 private:
  struct Impl;
  explicit ObjectStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The object store of one lattice as RPC senders and receivers use it (3.6): opened on the
/// first call that needs it (creating the stream when missing) and retried on the next call when
/// opening failed. Thread-safe; borrows the Connection, which must outlive it.
class LazyObjectStore {
 public:
  /// Nothing is contacted until the first call. Arguments as for ObjectStore::open().
  LazyObjectStore(Connection& nc, std::string bucket, std::string js_domain = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// The opened store (valid as long as this object). Errors: those of ObjectStore::open().
  Result<ObjectStore*> store();
  /// Stores a chunked payload under `name` (an invocation id, or topics::obj_response_name()).
  /// Errors: kUnavailable etc. with the message `kChunkWriteFailedPrefix + name + ": " + detail`.
  Status put(std::string_view name, std::span<const std::uint8_t> data);
  /// Reads and deletes the object `name`. Errors keep the ObjectStore code (kNotFound, kDataLoss,
  /// kUnavailable, kDeadlineExceeded) with the message
  /// `kChunkReadFailedPrefix + name + ": " + detail`.
  Result<Bytes> take(std::string_view name);

 private:
  Connection* nc_;
  std::string bucket_;
  std::string domain_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace wc::lattice
