// The dashboard's actions: each POST form becomes control-interface requests over NATS
// (requests.h) — auctions, scale, provider start/stop, link put/delete, hot-reload start — and
// one JSON reply (dashboard.h lists the routes and reply shapes). Owned by the Dashboard
// (src/web). Original behaviour: control-interface.md 7.2; texts: web/messages.h.
//
// Thread-safety: every method may be called from any HTTP worker at once; Actions holds no
// mutable state of its own (CtlClient, LatticeState and HotReloadWatcher lock internally).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/ctl_client.h"
#include "wascap/claims.h"
#include "web/forms.h"
#include "web/hot_reload.h"
#include "web/requests.h"
#include "web/state.h"

namespace wc::web {

/// An action outcome: HTTP status and the reply body `{"accepted","error",...details}`.
struct Reply {
  int status = 200;
  nlohmann::json body;
};

/// 200 `details` + `"accepted": true, "error": ""`.
Reply accepted(nlohmann::json details = nlohmann::json::object());
/// `status` `{"accepted": false, "error": message}`.
Reply refused(int status, std::string message);
/// A failed lattice request as 502 in the original's words: `no_responders` for kUnavailable,
/// `timeout` for kDeadlineExceeded, the error's own text otherwise.
Reply lattice_failure(const Error& e, std::string_view no_responders, std::string_view timeout);

/// Sends one of the dashboard's control requests and parses the acknowledgement. Errors as
/// CtlClient::request, kInvalidArgument for a reply that is not an ack.
Result<lattice::CtlAck> command(lattice::CtlClient& client, const CtlRequest& r);

/// True for a `host[:port]` registry on a loopback address (127.*, localhost, [::1]).
bool is_loopback_registry(std::string_view registry);

/// Registries reached over plain HTTP when pulling or pushing `reference`: `allowed_insecure`,
/// plus `registry` (the upload registry) and the reference's own registry when loopback.
std::vector<std::string> insecure_registries(const std::string& registry,
                                             const std::vector<std::string>& allowed_insecure,
                                             std::string_view reference);

/// The control actions (see the file comment).
class Actions {
 public:
  /// `ctl` sends the requests; `registry` and `allowed_insecure` are DashboardConfig's. All
  /// references must outlive the Actions.
  Actions(lattice::CtlClient& ctl, LatticeState& state, HotReloadWatcher& watcher,
          std::string registry, std::vector<std::string> allowed_insecure);

  /// Start actor: claims of the reference (known, file://, or pulled) for its id, auction.actor
  /// when no host is given, then cmd.{host}.scale. `known_actor_id` skips the claims lookup.
  Reply start_actor(const StartActorForm& f, std::string known_actor_id = {});
  /// Hot reload: reads and checks the file, cmd.{host}.scale with file://path, then watches it.
  Reply hot_reload(const HotReloadForm& f);
  /// `{"path"}`: stops watching (400 messages::kNotWatched when not watched).
  Reply stop_watch(const nlohmann::json& body);
  /// cmd.{host}.scale (count 0 stops the actor); the reference is looked up when not given.
  Reply scale(const ScaleForm& f);
  /// auction.provider when no host is given, then cmd.{host}.lp.
  Reply start_provider(const StartProviderForm& f);
  /// cmd.{host}.sp.
  Reply stop_provider(const StopProviderForm& f);
  /// linkdefs.put.
  Reply put_link(const LinkForm& f);
  /// linkdefs.del.
  Reply delete_link(const LinkForm& f);

  /// insecure_registries() with this dashboard's registry settings.
  std::vector<std::string> insecure_for(std::string_view reference) const;
  /// The upload registry (`host[:port]`).
  const std::string& registry() const { return registry_; }

 private:
  /// Claims of the module behind `ref` (file:// read locally, else pulled from the registry).
  Result<wascap::ModuleClaims> claims_for(const std::string& ref);
  /// Sends an auction request and returns the first bidder's host ID.
  Result<std::string> auction_host(const CtlRequest& auction, std::string_view no_responders);

  lattice::CtlClient& ctl_;
  LatticeState& state_;
  HotReloadWatcher& watcher_;
  const std::string registry_;
  const std::vector<std::string> allowed_insecure_;
};

}  // namespace wc::web
