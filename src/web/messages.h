// Every text the dashboard shows a person or a client matches on, in one place.
//
// Owned by src/web. Texts marked "original" are the wasmCloud OTP dashboard's exact messages
// (control-interface.md 7.2); the others are this dashboard's own (forms the original did not
// validate, cross-site refusal, registry push). Constants only; thread-safe.
#pragma once

#include <string_view>

namespace wc::web::messages {

// --- Start actor (original, 7.2 modals) -------------------------------------------------------
inline constexpr std::string_view kPleaseSelectFile = "Please select a file";
inline constexpr std::string_view kUploadTooLarge =
    "Uploaded actor was too large, must be under 16000000 bytes";
inline constexpr std::string_view kUnableToStartActorPrefix = "Unable to start actor, ";
inline constexpr std::string_view kNoRespondersActorAuction = "No responders to actor auction";
inline constexpr std::string_view kAuctionTimedOut =
    "Auction request timed out, no suitable hosts found";
inline constexpr std::string_view kAuctionNoHostId = "Auction response did not contain Host ID";
inline constexpr std::string_view kNoRespondersActorStart = "No responders to actor start request";
inline constexpr std::string_view kActorStartTimedOut = "Request to start actor timed out";

// --- Start provider (original) ----------------------------------------------------------------
inline constexpr std::string_view kNoRespondersProviderAuction =
    "No responders to provider auction";
inline constexpr std::string_view kNoRespondersProviderStart =
    "No responders to start provider request";
inline constexpr std::string_view kProviderStartTimedOut = "Request to start provider timed out";
inline constexpr std::string_view kPleaseSelectProviderFile =
    "Please select a provider archive file";
inline constexpr std::string_view kProviderTooLarge =
    "Provider archive too large (limit: 64.0MB). Consider the --compress option to `par create`";

// --- Link definitions (original) --------------------------------------------------------------
inline constexpr std::string_view kSelectActorToLink = "Please select an Actor ID to link";
inline constexpr std::string_view kSelectProviderToLink = "Please select a Provider ID to link";
inline constexpr std::string_view kErrorPublishingLink = "Error publishing link definition";

// --- This dashboard's own validation texts ----------------------------------------------------
inline constexpr std::string_view kEnterOciReference = "Please enter an OCI reference";
inline constexpr std::string_view kReplicasAtLeastOne =
    "Replicas must be a whole number of at least 1";
inline constexpr std::string_view kReplicasAtLeastZero =
    "Replicas must be a whole number of at least 0";
inline constexpr std::string_view kEnterAbsolutePath =
    "Please enter the absolute path of a signed actor module";
inline constexpr std::string_view kSelectHost = "Please select a host";
inline constexpr std::string_view kSelectActor = "Please select an actor";
inline constexpr std::string_view kSelectProvider = "Please select a provider";
inline constexpr std::string_view kEnterContractId = "Please enter a contract ID";
inline constexpr std::string_view kEnterLinkName = "Please enter a link name";
inline constexpr std::string_view kBadLinkValues = "Link values must look like KEY1=VAL1,KEY2=VAL2";
inline constexpr std::string_view kBadJsonBody = "Request body is not a JSON object";
/// A form field (a multipart upload's text fields) that is not UTF-8 text.
inline constexpr std::string_view kFormNotUtf8 = "Form fields must be UTF-8 text";
inline constexpr std::string_view kNoRespondersStopProvider =
    "No responders to stop provider request";
inline constexpr std::string_view kNoRespondersScale = "No responders to scale actor request";
inline constexpr std::string_view kRequestTimedOut = "Request to the lattice timed out";
inline constexpr std::string_view kNoRespondersLink = "No responders to link definition request";
inline constexpr std::string_view kRegistryPushFailedPrefix =
    "Unable to push the module to the registry: ";
inline constexpr std::string_view kRegistryPullFailedPrefix =
    "Unable to read the actor's claims from the registry: ";
inline constexpr std::string_view kClaimsRefusedPrefix = "The actor's claims were refused: ";
inline constexpr std::string_view kNotWatched = "That file is not being watched";
inline constexpr std::string_view kNotConnected = "The dashboard is not connected to NATS";
/// `/api/events` refused (503) past the total or per-client stream limit.
inline constexpr std::string_view kTooManyStreams =
    "Too many open event streams; close another dashboard tab or retry later";

// --- Applications (the wadm API, issue #16) ----------------------------------------------------
/// Shown in the Applications view when no wadm service answers `model.list` on the lattice.
inline constexpr std::string_view kNoWadm =
    "No wadm service answers on this lattice (start one with `wasmcloud wadm`, or `wasmcloud up`)";
/// The Applications view before the dashboard first asked wadm.
inline constexpr std::string_view kWadmNotAskedYet = "Asking the lattice for wadm…";
/// A wadm reply that is not the API's shape.
inline constexpr std::string_view kWadmBadReply = "Unexpected reply from the wadm service";
inline constexpr std::string_view kBadAppName =
    "Please name an application (no dots, wildcards or spaces)";

// --- Cross-site protection --------------------------------------------------------------------
inline constexpr std::string_view kCrossSiteRefused = "Cross-site request refused";
inline constexpr std::string_view kBadCsrfToken = "Missing or wrong CSRF token";
inline constexpr std::string_view kBadHost = "Unknown Host header";

}  // namespace wc::web::messages
