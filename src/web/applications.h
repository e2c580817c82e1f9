// The dashboard's Applications view: declarative applications as the wadm API reports them
// (`wadm.api.{lattice}.model.list` and `model.status.{name}`, v1-and-wadm.md section 5; our
// service is src/wadm, started by `wasmcloud wadm` or `wasmcloud up`), plus deploy / undeploy
// through the same API, and the annotation rule that marks an actor or provider as managed by
// wadm. The dashboard stays a lattice client: everything here is a NATS request.
//
// Owned by the Dashboard (src/web): its refresher thread calls Applications::refresh, HTTP
// workers call snapshot / deploy / undeploy. Thread-safety: Applications locks internally
// (`mu_`, a leaf, never held across a request); the free functions are pure.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "web/actions.h"

namespace wc::web {

/// Annotation keys and value wadm puts on everything it starts (v1-and-wadm.md 5.3; the same
/// facts as src/wadm/reconciler.h kManagedByKey / kManagedByValue / kAppSpecKey, repeated here
/// because src/web does not depend on src/wadm).
inline constexpr std::string_view kManagedByAnnotation = "wasmcloud.dev/managed-by";
inline constexpr std::string_view kManagedByWadm = "wadm";
inline constexpr std::string_view kAppSpecAnnotation = "wasmcloud.dev/appspec";

/// The application name when the annotations object `annotations` carries
/// `wasmcloud.dev/managed-by=wadm` (then `wasmcloud.dev/appspec`, or "?" when that is missing);
/// "" when it does not (or `annotations` is not an object).
std::string wadm_app_of(const nlohmann::json& annotations);

/// The Applications view when the wadm API answered: `list` is the `model.list` reply (an
/// array of `{name, version, deployed_version, status, status_message}`), `statuses` maps an
/// application name to its `model.status.{name}` reply (`{result, status: {version,
/// status: {type, message}, components: [{name, type, status: {type, message}}]}}`); a missing
/// or malformed status leaves the application without components. Result:
/// `{"available": true, "message": "", "apps": [{"name", "latest_version", "deployed_version"
/// (string, "" when undeployed), "status", "status_message", "components": [{"name", "type",
/// "status", "status_message"}]}]}`. A `list` that is an object (an error reply) gives no apps
/// and its `message`; any other shape gives no apps and messages::kWadmBadReply.
nlohmann::json applications_view(const nlohmann::json& list,
                                 const std::map<std::string, nlohmann::json>& statuses);

/// The view when no wadm service answered: `{"available": false, "message", "apps": []}`.
nlohmann::json applications_unavailable(std::string_view message);

/// True for an application name that can be a NATS subject token: 1..255 bytes, none of
/// `.`, `*`, `>`, whitespace or control characters.
bool valid_app_name(std::string_view name);

/// The Applications view and actions (see the file comment).
class Applications {
 public:
  /// Sends `body` to `subject` and returns the reply's text. Errors as lattice::Connection::
  /// request: kUnavailable (no responders), kDeadlineExceeded (timeout).
  using Request =
      std::function<Result<std::string>(const std::string& subject, const std::string& body)>;

  /// `lattice` names the API subjects (topics::wadm_api); `request` must outlive this.
  Applications(std::string lattice, Request request);

  /// Asks `model.list`, then `model.status.{name}` per application, and replaces the view.
  /// No wadm (no responders, timeout): the unavailable view with messages::kNoWadm. Returns
  /// true when the view changed.
  bool refresh();
  /// The current view (applications_view shape); before the first refresh: unavailable with
  /// messages::kWadmNotAskedYet.
  nlohmann::json snapshot() const;

  /// `{"name", "version"?}` → `model.deploy.{name}` `{"version"?}`; 200 when wadm answers
  /// `acknowledged`, 400 for a bad name/version, 502 with wadm's message or kNoWadm otherwise.
  Reply deploy(const nlohmann::json& body);
  /// `{"name"}` → `model.undeploy.{name}` `{"non_destructive": false}`; replies as deploy.
  Reply undeploy(const nlohmann::json& body);

 private:
  Reply send(std::string_view op, const std::string& name, const nlohmann::json& body);

  const std::string lattice_;
  Request request_;
  mutable std::mutex mu_;
  nlohmann::json view_;  // guarded by mu_
};

}  // namespace wc::web
