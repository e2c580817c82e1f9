// Provider archives (PAR): a tar, optionally gzip-compressed, holding `claims.jwt` (the signed
// provider claims) and one executable per target named `<arch>-<os>.bin` (claims-oci-par.md
// 5, 2.10; actor-rpc-providers.md 5.1, 5.3).
//
// Owned by src/par (library wc_par). Pure functions over bytes plus two file helpers; no global
// state; thread-safe. Untrusted archives fail with a wc::Error (texts in par/errors.h), never
// crash: truncated or corrupt tar/gzip data gives kInvalidArgument, a binary whose SHA-256
// differs from the signed `target_hashes` gives kDataLoss, a bad claims signature
// kPermissionDenied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc::par {

/// Name of the claims entry (spec 5.2).
inline constexpr std::string_view kClaimsEntry = "claims.jwt";
/// Largest single entry the reader accepts (bytes); larger entries fail (gzip-bomb guard).
inline constexpr std::size_t kMaxEntryBytes = 512u << 20;

/// A loaded archive: the raw token, its parsed claims and the collected binaries.
struct ProviderArchive {
  std::string token;                     ///< contents of claims.jwt
  wascap::ProviderClaims claims;         ///< parsed (and, if asked, verified) claims
  std::map<std::string, Bytes> targets;  ///< target ("x86_64-linux") -> executable bytes
};

/// The host's native target `<arch>-<os>` with Rust's names, from uname (spec 5.4 step 1):
/// e.g. "x86_64-linux", "aarch64-macos".
std::string native_target();

/// True for target names of the form `<arch>-<os>` made of [a-z0-9_] parts (e.g. "x86_64-linux").
bool is_valid_target_name(std::string_view target);

/// What `par create` signs (spec 5.5, 2.10). `targets` must not be empty.
struct CreateSpec {
  std::string capid;                             ///< contract id, e.g. "wasmcloud:httpserver"
  std::string vendor;                            ///< free text
  std::optional<std::string> name;               ///< written as null when absent
  std::optional<std::int32_t> rev;               ///< revision claim
  std::optional<std::string> ver;                ///< human version
  std::optional<nlohmann::json> config_schema;   ///< optional link-values JSON schema
  std::map<std::string, Bytes> targets;          ///< target -> executable bytes
  std::optional<std::uint64_t> expires_in_days;  ///< exp = now + days * 86400
  std::optional<std::string> jti;                ///< fixed jti (tests); default wascap::new_jti()
  std::optional<std::int64_t> now;  ///< fixed clock (tests); default wascap::now_seconds()
};

/// Builds and signs the claims of `spec` (iss = issuer, sub = subject, target_hashes = upper hex
/// SHA-256 of every binary, wascap_revision 3) and returns the token. Errors
/// (kInvalidArgument): errors::kIssuerNotAccount, errors::kSubjectNotServiceSeed, an empty
/// capid/vendor or no targets, errors::kBadTargetPrefix + name.
Result<std::string> sign_claims(const CreateSpec& spec, const wascap::KeyPair& issuer,
                                const wascap::KeyPair& subject);

/// Writes a tar (GNU headers, mode 0755 entries) with `claims.jwt` first, then `<target>.bin`
/// per binary in name order; gzip (level 9) when `compress`. Errors: kInternal (libarchive).
Result<Bytes> write_archive(std::string_view token, const std::map<std::string, Bytes>& targets,
                            bool compress);

/// sign_claims() then write_archive().
Result<Bytes> create_archive(const CreateSpec& spec, const wascap::KeyPair& issuer,
                             const wascap::KeyPair& subject, bool compress);

/// Adds or replaces the binary of `target` in a loaded archive and re-signs it (spec 5.5
/// `insert`): claims keep capid, vendor, name, rev, ver, config_schema and exp; new jti/iat;
/// target_hashes for every binary. `subject` must be the archive's service key. Returns the new
/// archive bytes (gzip when `compress`). Errors: kInvalidArgument (errors::kBadTargetPrefix,
/// key types, "Subject key does not match the archive's service key"), write_archive() errors.
Result<Bytes> insert_target(const ProviderArchive& archive, const std::string& target, Bytes binary,
                            const wascap::KeyPair& issuer, const wascap::KeyPair& subject,
                            bool compress);

/// How to load an archive.
struct LoadOptions {
  /// Collect only this target (the host passes native_target(), spec 5.4 step 2); others are
  /// skipped unread. nullopt = collect all.
  std::optional<std::string> only_target;
  /// Verify the claims signature and dates (our recommendation, spec 2.10 / appendix C 13).
  /// false = decode only (the reference).
  bool verify_signature = true;
  /// Clock for the date checks (Unix seconds); default now.
  std::optional<std::int64_t> now;
};

/// Loads an archive from bytes (spec 5.3): gzip detected by the magic `1f 8b`; entries keyed by
/// file stem; `claims` = the token, every other regular entry a target. Errors, in order:
/// errors::kNotEnoughBytes (< 2 bytes, kInvalidArgument); errors::kInvalidArchivePrefix + the
/// libarchive text (corrupt/truncated, kInvalidArgument); errors::kEntryTooLarge;
/// errors::kIncompleteArchive (no claims or no binary collected — also when only_target is
/// absent, kNotFound); token decoding errors (kInvalidArgument); with verify_signature the
/// wascap::verify_provider_token texts (kPermissionDenied); errors::kSubjectNotService;
/// errors::kHashMismatchPrefix + target + "'" (kDataLoss) for any collected binary whose hash
/// is missing from or differs from target_hashes.
Result<ProviderArchive> load_archive(std::span<const std::uint8_t> bytes,
                                     const LoadOptions& options = {});

/// read_file() then load_archive().
Result<ProviderArchive> load_archive_file(const std::string& path, const LoadOptions& options = {});

/// The executable for `target` (default native_target()) of a loaded archive. Error
/// errors::kNoSuitableTarget (kNotFound) when absent.
Result<std::span<const std::uint8_t>> select_binary(const ProviderArchive& archive,
                                                    std::optional<std::string> target = {});

/// Effective revision (actor-rpc-providers.md 5.1): `rev` if present and non-zero, else `iat`
/// truncated to int32.
std::int32_t effective_revision(const wascap::ProviderClaims& claims);

/// True when `path`, with `.`/`..` and existing symlinks resolved (weakly_canonical), is `root`
/// or lies below it (component-wise, so "/tmp/cache2" is not under "/tmp/cache"). False when
/// either cannot be resolved.
bool path_is_under(const std::filesystem::path& path, const std::filesystem::path& root);

/// The executable cache path of spec 5.4 step 5:
/// `<tmp>/wasmcloudcache/<sub>/<revision>/<contract>_<link>` with contract id and link name
/// lower-cased and every non-alphanumeric ASCII character replaced by '_'. `tmp_dir` empty =
/// $TMPDIR or /tmp.
std::string cache_path(const wascap::ProviderClaims& claims, std::string_view link_name,
                       std::string tmp_dir = {});

/// Writes `binary` to cache_path() with mode 0755 and returns the path; creates directories.
/// An existing regular file with the same bytes is reused (spec 5.4 step 6 reuses any existing
/// file; we check it), anything else at that name is replaced atomically (temporary file +
/// rename, so a planted symlink is never followed). Before writing, beyond the reference: the
/// claims subject must be a canonical Service key (errors::kSubjectNotService,
/// kPermissionDenied) and the target directory, symlinks resolved, must lie under
/// `<tmp>/wasmcloudcache` (errors::kCachePathEscapes + path, kPermissionDenied). Errors:
/// kUnavailable (I/O). `tmp_dir` empty = $TMPDIR or /tmp.
Result<std::string> extract_to_cache(const ProviderArchive& archive, std::string_view link_name,
                                     std::string tmp_dir = {});

}  // namespace wc::par
