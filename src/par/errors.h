// Client-visible error texts of provider archives (PAR).
//
// Owned by src/par. Texts from claims-oci-par.md 5.1-5.4 (the reference's provider-archive crate
// and NIF) plus our own texts for cases the reference does not name. Constants only; thread-safe.
#pragma once

#include <string_view>

namespace wc::par::errors {

/// Fewer than 2 bytes (spec 5.1).
inline constexpr std::string_view kNotEnoughBytes = "Not enough bytes to be a valid PAR file";
/// No claims, or no binary collected (spec 5.3 step 2; also the native target missing, 5.4).
inline constexpr std::string_view kIncompleteArchive =
    "Not enough files found in provider archive. Is this a complete archive?";
/// Followed by the target and a closing `'` (spec 5.3 step 4).
inline constexpr std::string_view kHashMismatchPrefix =
    "File hash and verify hash do not match for '";
/// The native target is not in the archive (control-interface.md 3.6.1).
inline constexpr std::string_view kNoSuitableTarget =
    "No suitable target found in provider archive";
/// The archive has no claims (spec 5.4 step 4).
inline constexpr std::string_view kNoClaims = "No claims found in provider archive";
/// Prefix of tar / gzip decoding failures (truncated or corrupt archive); followed by the
/// libarchive message. Ours: the reference surfaces its tar library's I/O error.
inline constexpr std::string_view kInvalidArchivePrefix = "Invalid provider archive: ";
/// An entry larger than the reader accepts (ours); followed by the entry name.
inline constexpr std::string_view kEntryTooLarge = "Provider archive entry too large: ";
/// Claims subject is not a service ('V') key (ours).
inline constexpr std::string_view kSubjectNotService =
    "Provider claims subject must be a service key (V...)";
/// Claims issuer is not an Account ('A') key (ours).
inline constexpr std::string_view kIssuerNotAccountKey =
    "Provider claims issuer must be an account key (A...)";
/// A path the executable cache built does not resolve under the cache root (ours, defence in
/// depth behind the key checks); followed by the path.
inline constexpr std::string_view kCachePathEscapes =
    "Provider executable path is outside the executable cache: ";
/// Target names must look like `<arch>-<os>` (ours, for `par create`).
inline constexpr std::string_view kBadTargetPrefix =
    "Invalid target name (expected <arch>-<os>, e.g. x86_64-linux): ";
/// `par create` key type checks (ours, mirroring wascap/errors.h for actors).
inline constexpr std::string_view kIssuerNotAccount = "Issuer key must be an account key (SA...)";
inline constexpr std::string_view kSubjectNotServiceSeed =
    "Subject key must be a service key (SV...)";

}  // namespace wc::par::errors
