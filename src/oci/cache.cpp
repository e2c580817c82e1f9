// The pull cache and temporary files (see cache.h).
#include "oci/cache.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <spdlog/spdlog.h>

#include "oci/client.h"
#include "oci/reference.h"

namespace wc::oci {

std::string default_cache_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/wasmcloud_ocicache";
}

namespace detail {

CacheFiles cache_files(std::string_view dir, std::string_view lower_reference) {
  const std::string base = std::string(dir) + "/" + cache_name(lower_reference);
  return {base + ".bin", base + ".digest"};
}

CacheProbe probe_cache(const CacheFiles& files, std::uint64_t limit) {
  std::error_code ec;
  if (!std::filesystem::exists(files.bin, ec)) return CacheProbe::kMiss;
  // file_size reports (uintmax_t)-1 on error: above any limit.
  if (std::filesystem::file_size(files.bin, ec) > limit) return CacheProbe::kTooLarge;
  return CacheProbe::kPresent;
}

std::optional<std::string> cached_digest(const CacheFiles& files) {
  return read_text(files.digest);
}

Result<CachedArtifact> read_cached(const CacheFiles& files) {
  auto bytes = read_file(files.bin);
  if (!bytes) return fail(bytes.error());
  return CachedArtifact{std::move(*bytes), cached_digest(files).value_or("")};
}

void store_cached(const CacheFiles& files, const std::string& temp_path,
                  const std::string& digest) {
  std::error_code ec;
  std::filesystem::rename(temp_path, files.bin, ec);
  if (ec) {
    spdlog::warn("OCI cache write failed: cannot rename {} to {}", temp_path, files.bin);
  } else if (!digest.empty()) {
    if (auto d = atomic_write(files.digest, digest); !d)
      spdlog::warn("OCI cache write failed: {}", d.error().message);
  }
}

std::string temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())) + "." +
         std::to_string(counter++);
}

Status atomic_write(const std::string& path, std::string_view data) {
  const std::string tmp = temp_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fail(Code::kUnavailable, "cannot create cache file " + tmp);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return fail(Code::kUnavailable, "cannot write cache file " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return fail(Code::kUnavailable, "cannot rename cache file to " + path);
  }
  return ok();
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TempFile::TempFile(std::string path)
    : path_(std::move(path)), file_(std::fopen(path_.c_str(), "wb")) {}

TempFile::~TempFile() {
  close();
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

bool TempFile::close() {
  bool good = true;
  if (file_) good = std::fclose(file_) == 0;
  file_ = nullptr;
  return good;
}

}  // namespace detail
}  // namespace wc::oci
