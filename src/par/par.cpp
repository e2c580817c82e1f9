// Provider archive reading and writing over libarchive (see par.h).
#include "par/par.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "par/errors.h"
#include "wascap/jwt.h"

namespace wc::par {
namespace {

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string archive_message(archive* a, std::string_view fallback) {
  const char* s = archive_error_string(a);
  return s != nullptr ? std::string(s) : std::string(fallback);
}

/// File stem of an entry path (spec 5.2): last path component without its last extension.
std::string stem_of(std::string_view path) {
  if (auto slash = path.find_last_of('/'); slash != std::string_view::npos) {
    path.remove_prefix(slash + 1);
  }
  if (auto dot = path.find_last_of('.'); dot != std::string_view::npos && dot > 0) {
    path = path.substr(0, dot);
  }
  return std::string(path);
}

std::string map_arch(std::string_view m) {
  if (m == "x86_64" || m == "amd64") return "x86_64";
  if (m == "aarch64" || m == "arm64") return "aarch64";
  if (m.starts_with("arm")) return "arm";
  if (m == "i386" || m == "i486" || m == "i586" || m == "i686") return "x86";
  if (m == "ppc64" || m == "ppc64le") return "powerpc64";
  return std::string(m);  // riscv64, s390x, mips, mips64
}

std::string map_os(std::string_view s) {
  if (s == "Linux") return "linux";
  if (s == "Darwin") return "macos";
  if (s == "FreeBSD") return "freebsd";
  if (s == "NetBSD") return "netbsd";
  if (s == "OpenBSD") return "openbsd";
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) && u < 0x80 ? static_cast<char>(std::tolower(u)) : '_');
  }
  return out;
}

la_ssize_t append_cb(archive*, void* client, const void* buf, size_t n) {
  auto* out = static_cast<Bytes*>(client);
  const auto* p = static_cast<const std::uint8_t*>(buf);
  out->insert(out->end(), p, p + n);
  return static_cast<la_ssize_t>(n);
}

}  // namespace

bool path_is_under(const std::filesystem::path& path, const std::filesystem::path& root) {
  std::error_code ec;
  const auto p = std::filesystem::weakly_canonical(path, ec);
  if (ec) return false;
  const auto r = std::filesystem::weakly_canonical(root, ec);
  if (ec) return false;
  auto pi = p.begin();
  for (auto ri = r.begin(); ri != r.end(); ++ri, ++pi) {
    if (ri->empty()) continue;  // trailing separator of the root
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

std::string native_target() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown-unknown";
  return map_arch(u.machine) + "-" + map_os(u.sysname);
}

bool is_valid_target_name(std::string_view target) {
  const auto dash = target.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == target.size()) return false;
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::islower(u) || std::isdigit(u) || c == '_' || c == '-')) return false;
  }
  return true;
}

Result<std::string> sign_claims(const CreateSpec& spec, const wascap::KeyPair& issuer,
                                const wascap::KeyPair& subject) {
  if (issuer.type() != wascap::KeyType::kAccount) {
    return fail(Code::kInvalidArgument, std::string(errors::kIssuerNotAccount));
  }
  if (subject.type() != wascap::KeyType::kService) {
    return fail(Code::kInvalidArgument, std::string(errors::kSubjectNotServiceSeed));
  }
  if (spec.capid.empty()) return fail(Code::kInvalidArgument, "Capability contract id is required");
  if (spec.vendor.empty()) return fail(Code::kInvalidArgument, "Vendor is required");
  if (spec.targets.empty()) {
    return fail(Code::kInvalidArgument, "A provider archive needs at least one binary");
  }
  wascap::ProviderClaims c;
  const std::int64_t now = spec.now ? *spec.now : wascap::now_seconds();
  if (spec.expires_in_days) {
    c.exp = static_cast<std::uint64_t>(now) + *spec.expires_in_days * 86400;
  }
  c.jti = spec.jti ? *spec.jti : wascap::new_jti();
  c.iat = static_cast<std::uint64_t>(now);
  c.iss = issuer.public_key();
  c.sub = subject.public_key();
  c.wascap_revision = wascap::kWascapRevision;
  c.name = spec.name;
  c.capid = spec.capid;
  c.vendor = spec.vendor;
  c.rev = spec.rev;
  c.ver = spec.ver;
  c.config_schema = spec.config_schema;
  for (const auto& [target, bytes] : spec.targets) {
    if (!is_valid_target_name(target)) {
      return fail(Code::kInvalidArgument, std::string(errors::kBadTargetPrefix) + target);
    }
    c.target_hashes[target] = hex_upper(sha256(bytes));
  }
  return wascap::sign_provider_claims(c, issuer);
}

Result<Bytes> write_archive(std::string_view token, const std::map<std::string, Bytes>& targets,
                            bool compress) {
  std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
  if (!a) return fail(Code::kInternal, "libarchive: cannot allocate a writer");
  Bytes out;
  if (archive_write_set_format_gnutar(a.get()) != ARCHIVE_OK) {
    return fail(Code::kInternal, "libarchive: " + archive_message(a.get(), "gnutar"));
  }
  if (compress) {
    if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
        archive_write_set_filter_option(a.get(), "gzip", "compression-level", "9") != ARCHIVE_OK) {
      return fail(Code::kInternal, "libarchive: " + archive_message(a.get(), "gzip"));
    }
  }
  // No padding of the last block beyond the tar trailer.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &out, nullptr, append_cb, nullptr) != ARCHIVE_OK) {
    return fail(Code::kInternal, "libarchive: " + archive_message(a.get(), "open"));
  }
  auto add = [&](const std::string& name, std::span<const std::uint8_t> data) -> Status {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0755);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) {
      return fail(Code::kInternal, "libarchive: " + archive_message(a.get(), "header"));
    }
    if (!data.empty() && archive_write_data(a.get(), data.data(), data.size()) !=
                             static_cast<la_ssize_t>(data.size())) {
      return fail(Code::kInternal, "libarchive: " + archive_message(a.get(), "data"));
    }
    return ok();
  };
  if (auto s = add(std::string(kClaimsEntry), as_bytes(token)); !s) return fail(s.error());
  for (const auto& [target, bytes] : targets) {
    if (auto s = add(target + ".bin", bytes); !s) return fail(s.error());
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return fail(Code::kInternal, "libarchive: " + archive_message(a.get(), "close"));
  }
  return out;
}

Result<Bytes> create_archive(const CreateSpec& spec, const wascap::KeyPair& issuer,
                             const wascap::KeyPair& subject, bool compress) {
  auto token = sign_claims(spec, issuer, subject);
  if (!token) return fail(token.error());
  return write_archive(*token, spec.targets, compress);
}

Result<Bytes> insert_target(const ProviderArchive& archive, const std::string& target, Bytes binary,
                            const wascap::KeyPair& issuer, const wascap::KeyPair& subject,
                            bool compress) {
  if (subject.public_key() != archive.claims.sub) {
    return fail(Code::kInvalidArgument,
                "Subject key does not match the archive's service key " + archive.claims.sub);
  }
  CreateSpec spec;
  spec.capid = archive.claims.capid;
  spec.vendor = archive.claims.vendor;
  spec.name = archive.claims.name;
  spec.rev = archive.claims.rev;
  spec.ver = archive.claims.ver;
  spec.config_schema = archive.claims.config_schema;
  spec.targets = archive.targets;
  spec.targets[target] = std::move(binary);
  const std::int64_t now = wascap::now_seconds();
  spec.now = now;
  auto token = sign_claims(spec, issuer, subject);
  if (!token) return fail(token.error());
  if (archive.claims.exp) {
    // Keep the original expiry: re-sign with the same exp (days are not recoverable exactly).
    auto claims = wascap::decode_provider_token(*token);
    if (!claims) return fail(claims.error());
    claims->exp = archive.claims.exp;
    token = wascap::sign_provider_claims(*claims, issuer);
  }
  return write_archive(*token, spec.targets, compress);
}

Result<ProviderArchive> load_archive(std::span<const std::uint8_t> bytes,
                                     const LoadOptions& options) {
  if (bytes.size() < 2) return fail(Code::kInvalidArgument, std::string(errors::kNotEnoughBytes));
  const bool gz = bytes[0] == 0x1f && bytes[1] == 0x8b;
  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  if (!a) return fail(Code::kInternal, "libarchive: cannot allocate a reader");
  if (gz) archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  auto corrupt = [&](std::string_view fallback) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kInvalidArchivePrefix) + archive_message(a.get(), fallback));
  };
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
    return corrupt("cannot open");
  }
  ProviderArchive out;
  bool have_claims = false;
  while (true) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return corrupt("bad entry header");
    const auto type = archive_entry_filetype(e);
    // GNU writers with type byte NUL/'0' give AE_IFREG; skip directories and links.
    if (type != AE_IFREG && type != 0) {
      archive_read_data_skip(a.get());
      continue;
    }
    const char* path = archive_entry_pathname(e);
    const std::string stem = stem_of(path != nullptr ? path : "");
    const bool is_claims = stem == "claims";
    if (!is_claims && options.only_target && stem != *options.only_target) {
      if (archive_read_data_skip(a.get()) != ARCHIVE_OK) return corrupt("truncated entry");
      continue;
    }
    const la_int64_t size = archive_entry_size(e);
    if (size < 0 || static_cast<std::uint64_t>(size) > kMaxEntryBytes) {
      return fail(Code::kResourceExhausted, std::string(errors::kEntryTooLarge) + stem);
    }
    Bytes data(static_cast<std::size_t>(size));
    std::size_t got = 0;
    while (got < data.size()) {
      const la_ssize_t n = archive_read_data(a.get(), data.data() + got, data.size() - got);
      if (n < 0) return corrupt("read error");
      if (n == 0) {
        return fail(Code::kInvalidArgument,
                    std::string(errors::kInvalidArchivePrefix) + "Truncated entry " + stem);
      }
      got += static_cast<std::size_t>(n);
    }
    if (is_claims) {
      out.token = to_string(data);
      have_claims = true;
    } else {
      out.targets[stem] = std::move(data);
    }
  }
  if (!have_claims || out.targets.empty()) {
    return fail(Code::kNotFound, std::string(errors::kIncompleteArchive));
  }
  auto claims = options.verify_signature
                    ? wascap::verify_provider_token(
                          out.token, options.now ? *options.now : wascap::now_seconds())
                    : wascap::decode_provider_token(out.token);
  if (!claims) return fail(claims.error());
  out.claims = std::move(*claims);
  // The subject names the executable cache directory and the provider's NATS subjects: only a
  // canonical Service key is accepted (a `sub` like "V/../../x" must never reach a path).
  if (!wascap::check_public_key(out.claims.sub, wascap::KeyType::kService)) {
    return fail(Code::kPermissionDenied, std::string(errors::kSubjectNotService));
  }
  if (!wascap::check_public_key(out.claims.iss, wascap::KeyType::kAccount)) {
    return fail(Code::kPermissionDenied, std::string(errors::kIssuerNotAccountKey));
  }
  for (const auto& [target, data] : out.targets) {
    auto it = out.claims.target_hashes.find(target);
    if (it == out.claims.target_hashes.end() || it->second != hex_upper(sha256(data))) {
      return fail(Code::kDataLoss, std::string(errors::kHashMismatchPrefix) + target + "'");
    }
  }
  return out;
}

Result<ProviderArchive> load_archive_file(const std::string& path, const LoadOptions& options) {
  auto bytes = read_file(path);
  if (!bytes) return fail(bytes.error());
  return load_archive(*bytes, options);
}

Result<std::span<const std::uint8_t>> select_binary(const ProviderArchive& archive,
                                                    std::optional<std::string> target) {
  const std::string want = target ? *target : native_target();
  auto it = archive.targets.find(want);
  if (it == archive.targets.end()) {
    return fail(Code::kNotFound, std::string(errors::kNoSuitableTarget));
  }
  return std::span<const std::uint8_t>(it->second);
}

std::int32_t effective_revision(const wascap::ProviderClaims& claims) {
  if (claims.rev && *claims.rev != 0) return *claims.rev;
  return static_cast<std::int32_t>(claims.iat);
}

std::string cache_path(const wascap::ProviderClaims& claims, std::string_view link_name,
                       std::string tmp_dir) {
  if (tmp_dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    tmp_dir = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  return tmp_dir + "/wasmcloudcache/" + claims.sub + "/" +
         std::to_string(effective_revision(claims)) + "/" + sanitize(claims.capid) + "_" +
         sanitize(link_name);
}

Result<std::string> extract_to_cache(const ProviderArchive& archive, std::string_view link_name,
                                     std::string tmp_dir) {
  auto binary = select_binary(archive);
  if (!binary) return fail(binary.error());
  if (!wascap::check_public_key(archive.claims.sub, wascap::KeyType::kService)) {
    return fail(Code::kPermissionDenied, std::string(errors::kSubjectNotService));
  }
  if (tmp_dir.empty()) {
    const char* env = std::getenv("TMPDIR");
    tmp_dir = env != nullptr && *env != '\0' ? env : "/tmp";
  }
  const std::string path = cache_path(archive.claims, link_name, tmp_dir);
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::path(tmp_dir) / "wasmcloudcache";
  // Defence in depth: the directory the file goes into, with `..` and every symlink resolved,
  // must lie under the resolved cache root - checked before anything is created and again once
  // the directories exist.
  const fs::path dir = fs::path(path).parent_path();
  if (!path_is_under(dir, root)) {
    return fail(Code::kPermissionDenied, std::string(errors::kCachePathEscapes) + path);
  }
  fs::create_directories(dir, ec);
  if (ec) return fail(Code::kUnavailable, "Cannot create " + path + ": " + ec.message());
  if (!path_is_under(dir, root)) {
    return fail(Code::kPermissionDenied, std::string(errors::kCachePathEscapes) + path);
  }
  // Spec 5.4 step 6 reuses an existing file; we reuse it only when it is a regular file (not a
  // symlink) holding exactly this binary, and otherwise replace it.
  const auto st = fs::symlink_status(path, ec);
  if (!ec && fs::is_regular_file(st)) {
    auto existing = read_file(path);
    if (existing && existing->size() == binary->size() &&
        std::equal(existing->begin(), existing->end(), binary->begin())) {
      return path;
    }
  }
  // Write a private temporary file next to it, then rename over the final name (atomic; a
  // symlink planted at the final name is replaced, never followed).
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return fail(Code::kUnavailable, "Cannot create a file in " + path);
  ::close(fd);
  if (auto w = write_file(tmp, *binary); !w) {
    ::unlink(tmp.c_str());
    return fail(w.error());
  }
  if (::chmod(tmp.c_str(), 0755) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(Code::kUnavailable, "Cannot install " + path);
  }
  return path;
}

}  // namespace wc::par
