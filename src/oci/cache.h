// The on-disk artifact cache of pulls (claims-oci-par.md 4.9) and the temporary files a pull
// streams into. Owned by src/oci, internal to wc_oci (pull.cpp uses it; tests/oci/cache_test.cpp
// tests it). Layout: one pair of files per lowercased reference in the cache directory,
//   <dir>/<cache_name(reference)>.bin      the artifact bytes (concatenated layers)
//   <dir>/<cache_name(reference)>.digest   the manifest digest they came from ("sha256:<hex>")
// Nothing is ever evicted (`wasmcloud drain` empties the directory). Writers publish a file by
// renaming a uniquely named temporary file next to it, so concurrent pulls (threads or
// processes) and readers never see a partial file; the last writer wins. Every function may be
// called from several threads at once.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::oci::detail {

/// The two cache files of one reference (see the file comment).
struct CacheFiles {
  std::string bin;     ///< `<dir>/<name>.bin`
  std::string digest;  ///< `<dir>/<name>.digest`
};

/// The cache files of `lower_reference` (already lowercased) in `dir`.
CacheFiles cache_files(std::string_view dir, std::string_view lower_reference);

/// What the cache holds for a pull limited to `limit` bytes.
enum class CacheProbe {
  kMiss,      ///< no `.bin` file
  kTooLarge,  ///< a `.bin` file above the limit (or of unknown size): pull again
  kPresent,   ///< a `.bin` file within the limit: check its digest against the registry
};

/// Looks at `files.bin` (see CacheProbe).
CacheProbe probe_cache(const CacheFiles& files, std::uint64_t limit);

/// A cached artifact: its bytes and the digest stored beside them ("" when there is none).
struct CachedArtifact {
  Bytes bytes;
  std::string digest;
};

/// Reads `files`. Errors: those of read_file for the `.bin` file (a missing `.digest` is "").
Result<CachedArtifact> read_cached(const CacheFiles& files);

/// The digest stored in `files.digest`, nullopt when the file cannot be read.
std::optional<std::string> cached_digest(const CacheFiles& files);

/// Publishes a verified download: renames `temp_path` (a file in the cache directory) to
/// `files.bin`, then writes `digest` to `files.digest` (nothing when `digest` is empty). A
/// failure is logged as a warning and leaves the cache as it was (the pull still succeeds).
void store_cached(const CacheFiles& files, const std::string& temp_path, const std::string& digest);

/// A name beside `path` unique to this process, thread and call:
/// `<path>.tmp.<pid>.<thread hash>.<counter>`.
std::string temp_name(const std::string& path);

/// Writes `data` to `path` through a temp_name() file and a rename (atomic for readers).
/// Errors: kUnavailable "cannot create/write cache file ..." / "cannot rename cache file to ...".
Status atomic_write(const std::string& path, std::string_view data);

/// The whole content of `path`, nullopt when it cannot be opened.
std::optional<std::string> read_text(const std::string& path);

/// A temporary file opened for writing ("wb"); closed and removed on destruction. get() is null
/// when it could not be created.
class TempFile {
 public:
  /// Creates (truncates) `path`.
  explicit TempFile(std::string path);
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();
  /// The open stream, null after close() or when creation failed.
  std::FILE* get() const { return file_; }
  /// The file's path.
  const std::string& path() const { return path_; }
  /// Closes the stream (idempotent); false when a write could not be flushed.
  bool close();

 private:
  std::string path_;
  std::FILE* file_;
};

}  // namespace wc::oci::detail
