// The wadm API on NATS (v1-and-wadm.md section 5; wadm v0.4-v0.10 `src/server/`): requests on
// `wadm.api.{lattice}.model.{put|list|get.{name}|versions.{name}|del.{name}|deploy.{name}|
// undeploy.{name}|status.{name}}` answered with wadm's JSON reply shapes, models kept in the
// ModelStore. Every replica joins queue group `wadm_server`, so each request is answered once and
// replicas share the store (compare-and-set writes).
//
// With ApiServerOptions::reconcile, `model.deploy` records the deployed version and wakes the
// Reconciler, `model.undeploy` clears it, and `model.status` / `model.list` report what the
// reconciler (of whichever replica holds the lease) wrote. Without it, `model.deploy` answers
// `{result: "error"}` with errors::kNoReconciler and stores nothing, and status is `undeployed`.
//
// Owned by the `wasmcloud wadm` process (src/cli/wadm.cpp). Threading: one NATS subscription; its
// libnats delivery thread handles one request at a time (KV round trips included), so requests to
// one replica are answered in order. handle() is also safe to call from another thread (the store
// is). Destroying the server unsubscribes and waits for a running handler; the Connection must
// outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/nats.h"
#include "wadm/model_store.h"
#include "wadm/reconciler.h"

namespace wc::wadm {

/// Settings of an ApiServer.
struct ApiServerOptions {
  /// Lattice prefix: the `{lattice}` of the subjects and of the store keys.
  std::string lattice = "default";
  /// KV bucket of the model store (topics::kWadmModelBucket unless a test isolates itself).
  std::string bucket;
  /// Bound of each JetStream call.
  std::chrono::milliseconds kv_timeout{5000};
  /// Run a Reconciler (its lattice is `lattice`): `model.deploy` / `undeploy` then record the
  /// deployment and the reconciler converges the lattice. false: deploy is refused with
  /// errors::kNoReconciler (an API-only replica).
  bool reconcile = false;
  ReconcilerOptions reconciler;
};

/// The API server of one lattice.
class ApiServer {
 public:
  /// Opens the model store and subscribes. Errors: those of ModelStore::open and of the
  /// subscription (kUnavailable when NATS is gone).
  static Result<std::unique_ptr<ApiServer>> start(lattice::Connection& nc,
                                                  ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  /// Answers one request: `op` is the subject's token after `model.` (put, list, get, ...),
  /// `name` the model name token ("" for put and list), `body` the payload. Returns the reply
  /// JSON (an object, or for `list` an array). Never throws.
  nlohmann::json handle(std::string_view op, std::string_view name, std::string_view body);

  /// The subject subscribed to (`wadm.api.{lattice}.model.>`).
  const std::string& subject() const { return subject_; }
  /// The reconciler (nullptr without ApiServerOptions::reconcile).
  Reconciler* reconciler() const { return reconciler_.get(); }
  /// Requests answered so far.
  std::uint64_t requests() const { return requests_.load(); }

 private:
  ApiServer() = default;
  nlohmann::json put(std::string_view body);
  nlohmann::json get(std::string_view name, std::string_view body);
  nlohmann::json list();
  nlohmann::json versions(std::string_view name);
  nlohmann::json del(std::string_view name, std::string_view body);
  nlohmann::json deploy(std::string_view name, std::string_view body);
  nlohmann::json undeploy(std::string_view name, std::string_view body);
  nlohmann::json status(std::string_view name);
  /// The status object of a deployed model from the reconciler's record (reconciling while
  /// there is none for its deployed version yet).
  nlohmann::json deployed_status(const StoredModel& model);
  void wake() {
    if (reconciler_) reconciler_->wake();
  }

  lattice::Connection* nc_ = nullptr;
  ApiServerOptions options_;
  std::string subject_;
  std::unique_ptr<ModelStore> store_;
  std::unique_ptr<Reconciler> reconciler_;  // after store_: destroyed before it
  std::atomic<std::uint64_t> requests_{0};
  // Declared last: destroyed first, so no handler runs while the members above go away.
  lattice::Subscription sub_;
};

}  // namespace wc::wadm
