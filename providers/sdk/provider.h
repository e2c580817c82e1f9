// The C++ capability-provider SDK: what a wasmbus-rpc provider does after the host started it
// (actor-rpc-providers.md 5.9), so a provider only implements ProviderHandler.
//
// Lifecycle: read host data (stdin line, 5.4) -> ProviderRuntime::start() connects to the lattice
// RPC NATS, calls put_link() for every host-data link, subscribes the RPC subject (queue group
// `rpc`), `.linkdefs.put|del|get`, `.health`, `.shutdown` -> wait() returns after a shutdown
// request for this host (or stop()) -> the handler's shutdown() ran and the connection is drained.
//
// Chunking (3.6): inbound invocations with content_length > len(msg) are read from the
// lattice's object store (bucket = lattice prefix, stream created on first use) and deleted
// before validation; replies above 900 KiB are stored as `<id>-r` and sent with an empty msg.
//
// Threading: NATS delivery threads never run handler code for invocations: every inbound
// invocation is queued to a worker pool (RuntimeOptions::workers threads), so a slow dispatch()
// never stalls delivery. Link puts/deletes are applied in arrival order on one delivery thread
// (one `.linkdefs.*` subscription), so put_link/delete_link are never concurrent with each other
// but may run concurrently with dispatch(). call_actor() is thread-safe and may be called from
// any thread (e.g. HTTP server threads). Owned by providers/sdk.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "rpc/invocation.h"
#include "sdk/host_data.h"
#include "sdk/link.h"

namespace wc::provider {

/// Who is calling, for dispatch().
struct InvocationContext {
  rpc::WasmCloudEntity origin;  ///< the calling actor (origin.public_key = actor id)
  std::string invocation_id;
};

/// Provider health as answered on `.health` (HealthCheckResponse, 7.6 / 5.5).
struct HealthStatus {
  bool healthy = true;
  std::string message;  ///< omitted when empty
};

/// What a provider implements. Called from SDK threads (see the file comment).
class ProviderRuntime;

class ProviderHandler {
 public:
  virtual ~ProviderHandler() = default;
  /// Called once by ProviderRuntime::start() after connecting and before the first put_link(),
  /// so the handler can keep the runtime (for call_actor()).
  virtual void attach(ProviderRuntime& runtime) { (void)runtime; }
  /// A new link for `ld.actor_id` (from host data or `.linkdefs.put`; never called twice for
  /// the same actor without delete_link() in between). An error refuses the link: it is logged
  /// and not recorded, so invocations from that actor stay "unlinked".
  virtual Status put_link(const LinkDefinition& ld) = 0;
  /// The link of `actor_id` was deleted (`.linkdefs.del`) or the provider shuts down.
  virtual void delete_link(const std::string& actor_id) = 0;
  /// Handles one validated invocation from a linked actor: returns the msgpack output (empty
  /// for operations without output), or an Error whose message becomes the InvocationResponse
  /// `error`.
  virtual Result<Bytes> dispatch(const InvocationContext& ctx, std::string_view operation,
                                 std::span<const std::uint8_t> payload) = 0;
  /// Answer of a health check; default healthy.
  virtual HealthStatus health() { return {}; }
  /// Called once when the provider stops, after every link was deleted.
  virtual void shutdown() {}
};

/// Tuning of the runtime.
struct RuntimeOptions {
  /// Capability contract id of this provider ("wasmcloud:httpserver"); goes into the origin
  /// entity of outbound invocations (3.1). Required.
  std::string contract_id;
  /// Worker threads for inbound invocations.
  std::size_t workers = 8;
  /// NATS connection name.
  std::string name = "wasmcloud-cpp provider";
};

/// Added to the timeout of an outbound call whose payload is chunked (4.5: wasmbus-rpc sender).
inline constexpr std::chrono::milliseconds kChunkedTimeoutExtra{13000};

/// The wire value of a handler's answer: rpc::HealthCheckResponse with `message` unset when
/// `h.message` is empty.
rpc::HealthCheckResponse to_health_response(const HealthStatus& h);
/// Encodes HealthCheckResponse `{healthy, message?}` as msgpack (7.6) with the wire layer's codec
/// (rpc::encode_health_response).
Bytes encode_health(const HealthStatus& h);

/// A running provider. Create with start(); destroy after wait() returned (destruction also
/// stops it).
class ProviderRuntime {
 public:
  /// Connects and subscribes (see the file comment). Errors: kInvalidArgument (bad
  /// invocation_seed), the NATS connect/subscribe errors.
  static Result<std::unique_ptr<ProviderRuntime>> start(HostData host_data,
                                                        ProviderHandler& handler,
                                                        RuntimeOptions options);
  ~ProviderRuntime();
  ProviderRuntime(const ProviderRuntime&) = delete;
  ProviderRuntime& operator=(const ProviderRuntime&) = delete;

  /// Blocks until a shutdown request for this host arrived or stop() was called, then deletes
  /// every link, calls handler.shutdown(), drains the connection. Idempotent.
  void wait();
  /// Asks wait() to return (thread-safe, any thread).
  void stop();

  /// Sends `operation` with `payload` to the actor `actor_id` (5.9: origin = this provider's
  /// entity, host_id = host data host_id, token signed with invocation_seed, subject
  /// `wasmbus.rpc.<prefix>.<actor_id>`) and returns the response `msg`. `timeout` defaults to
  /// the host data's default_rpc_timeout_ms. Chunking (3.6): a payload above
  /// rpc::kSdkChunkThreshold is stored in the lattice's object store under the invocation id
  /// and sent with an empty msg, and the timeout grows by kChunkedTimeoutExtra; a response whose
  /// content_length exceeds its msg is read (and deleted) from `<id>-r`.
  /// Errors: kDeadlineExceeded (no reply in time), kUnavailable (no responders / disconnected),
  /// kActorError (the response carried `error`; message = that text), kInvalidArgument
  /// (undecodable response), the LazyObjectStore put/take errors (lattice/objstore.h texts).
  Result<Bytes> call_actor(const std::string& actor_id, std::string_view operation, Bytes payload,
                           std::optional<std::chrono::milliseconds> timeout = {});

  /// The host data this provider was started with.
  const HostData& host_data() const;
  /// The recorded link of `actor_id`, if any.
  std::optional<LinkDefinition> link(const std::string& actor_id) const;
  /// Every recorded link.
  std::vector<LinkDefinition> links() const;

  struct Impl;

 private:
  explicit ProviderRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The whole `main()` of a provider executable: logging to stderr in the host's format and level
/// (common/log.h init_logging with the host data's `structured_logging` and `log_level`; the
/// host re-logs the lines, issue #17.6), host data from stdin, start, wait. SIGPIPE is ignored;
/// SIGINT/SIGTERM stop the provider like a shutdown request. Returns the process exit code (0 after
/// a clean shutdown, 1 on a start failure, with one line on stderr). Call it before starting other
/// threads.
int run_provider(ProviderHandler& handler, RuntimeOptions options);

}  // namespace wc::provider
