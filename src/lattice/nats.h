// A thin RAII C++ layer over libnats (the NATS C client): connections, subscriptions, messages.
//
// Ownership: a Connection owns one natsConnection; a Subscription owns one natsSubscription and
// its callback; a Message owns one natsMsg. None of them is copyable; all are movable (Connection
// is handed out as std::unique_ptr so its address stays stable for callbacks). Raw natsMsg
// pointers never leave this file pair: a received message is wrapped before user code sees it
// and destroyed with its Message, so a message cannot leak or be freed twice.
//
// Threading (libnats semantics):
//  * Every subscription has its own libnats delivery thread. A subscription's handler is called
//    on that thread, one message at a time, in arrival order. Different subscriptions run in
//    parallel. A handler that blocks stalls only its own subscription, but pending messages then
//    pile up and, beyond the pending limits (65 536 messages / 64 MiB), are dropped as a slow
//    consumer. Handlers MUST NOT run guest code or wait for actors: move the Message (it is
//    movable and self-contained) to a worker and return. The one exception is the host's
//    actor subscription running a known-fast actor's invocation when nothing waits behind it
//    (delivery_backlog(), ActorSupervisor::try_run_message_here).
//  * Handlers may call publish/request/respond on any Connection (requests use their own inbox
//    subscription, so no deadlock), and may destroy their own Subscription.
//  * Connection status callbacks (ConnectOptions::on_event) run on libnats' internal callback
//    thread; keep them short (logging, metrics).
//  * Connection methods are thread-safe (libnats locks internally). Subscription and Message
//    objects are used by one thread at a time.
//
// Lifetime: destroying a Subscription unsubscribes and waits until its handler has returned for
// the last time (unless called from inside that handler), so captured state may be freed right
// after. Destroying a Connection closes it; its subscriptions stop delivering (their objects
// stay safe to destroy later). A handler that captures a Connection* must have its
// Subscription destroyed before that Connection.
//
// Errors are wc::Error: kDeadlineExceeded for timeouts, kUnavailable for "no responders" and
// for a closed or disconnected connection, kInvalidArgument for bad subjects, kPermissionDenied
// for authentication/authorization failures, kResourceExhausted for payloads above the server's
// max_payload. Messages carry the libnats status text.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace wc::lattice {

/// NATS message headers as (name, value) pairs in order; a name may repeat.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Turns a libnats status into a wc::Error with `what` as context (see the mapping above).
Error nats_error(natsStatus s, std::string_view what);

/// A received NATS message. Owns the underlying natsMsg; movable, not copyable.
class Message {
 public:
  Message() = default;
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message() = default;

  /// False for a default-constructed or moved-from Message.
  bool valid() const { return msg_ != nullptr; }
  /// Subject the message was published to.
  std::string_view subject() const;
  /// Reply subject ("" when the sender expects no reply).
  std::string_view reply() const;
  /// Payload bytes (valid as long as this Message lives).
  std::span<const std::uint8_t> data() const;
  /// Payload as a string view (no UTF-8 validation).
  std::string_view text() const;
  /// First value of header `name` (case-sensitive, as libnats compares), nullopt if absent.
  std::optional<std::string> header(std::string_view name) const;
  /// All headers, in order (empty when the message has none).
  Headers headers() const;

 private:
  friend class Connection;
  friend struct MessageAccess;
  struct Deleter {
    void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
  };
  explicit Message(natsMsg* m) : msg_(m) {}
  std::unique_ptr<natsMsg, Deleter> msg_;
};

/// Inside a subscription's handler (on its libnats delivery thread): how many messages of that
/// subscription wait in the client behind the one being handled (libnats' pending count), so a
/// handler can tell whether running work right here would delay others. -1 when called outside
/// a handler or when libnats cannot tell (the subscription is closing).
std::int64_t delivery_backlog();

/// Callback for subscriptions; receives ownership of each message. Runs on the subscription's
/// libnats delivery thread (see the threading notes above). Exceptions escaping it are caught
/// and logged.
using MessageHandler = std::function<void(Message)>;

namespace detail {
struct SubState;
}

/// An active asynchronous subscription. Destroying it (or calling unsubscribe()) stops delivery
/// and waits for a running handler to return (except when called from that handler).
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  /// True while subscribed.
  bool valid() const { return sub_ != nullptr; }
  /// Subject (pattern) of the subscription; "" when not valid.
  const std::string& subject() const { return subject_; }
  /// Stops delivery, waits for the handler to finish (at most 10 s; not when called from the
  /// handler itself) and frees the subscription. Idempotent. Never fails: a closed connection
  /// means the subscription is already gone.
  void unsubscribe();
  /// Messages dropped because the handler fell behind (slow consumer), 0 when not valid.
  std::int64_t dropped() const;

 private:
  friend class Connection;
  Subscription(natsSubscription* sub, std::shared_ptr<detail::SubState> state, std::string subject)
      : sub_(sub), state_(std::move(state)), subject_(std::move(subject)) {}
  natsSubscription* sub_ = nullptr;
  std::shared_ptr<detail::SubState> state_;
  std::string subject_;
};

/// Connection state changes reported to ConnectOptions::on_event.
enum class ConnectionEvent {
  kDisconnected,  ///< lost the server; libnats reconnects in the background
  kReconnected,   ///< connected again; subscriptions were re-established by libnats
  kClosed,        ///< closed for good (close(), drain(), destruction)
};
/// Lower-case name of an event ("disconnected", "reconnected", "closed").
std::string_view connection_event_name(ConnectionEvent e);

/// How to connect. Authentication: `creds_file` (a NATS .creds file with JWT and seed) wins;
/// else `jwt` + `seed` (user JWT auth, nonce signed with the seed); else `seed` alone (nkey auth);
/// else anonymous (control-interface.md 1.6).
struct ConnectOptions {
  /// Server URLs (`nats://host:port`, `tls://…`) of one cluster. libnats keeps them in a pool
  /// (plus the servers the cluster advertises in INFO `connect_urls`) and fails over to the next
  /// one when the current server is lost. The pool is shuffled unless `no_randomize`.
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};
  /// Keep `servers` in the given order: connect to the first reachable one (the preferred
  /// node) and, on reconnect, try the others in order (natsOptions_SetNoRandomize).
  bool no_randomize = false;
  /// Connection name shown by the server (`nats-server` monitoring).
  std::string name;
  std::string creds_file;
  std::string jwt;
  /// nkey seed (`SU…`). Secret: never logged.
  std::string seed;
  /// Require TLS.
  bool tls = false;
  /// Timeout of one connection attempt.
  std::chrono::milliseconds connect_timeout{2000};
  /// First reconnect delay; doubles per round over the server list up to reconnect_wait_max,
  /// plus up to 10 % jitter. Reconnects are attempted forever.
  std::chrono::milliseconds reconnect_wait{100};
  std::chrono::milliseconds reconnect_wait_max{4000};
  /// When the first connection fails: false → connect() fails with kUnavailable; true →
  /// connect() succeeds and libnats keeps trying in the background (kReconnected on success).
  bool retry_initial_connect = false;
  /// Status callback (runs on libnats' callback thread); may be empty.
  std::function<void(ConnectionEvent event, std::string_view server_url)> on_event;
};

/// One NATS connection. Thread-safe; see the file comment for callbacks.
class Connection {
 public:
  /// Connects (SendAsap on: every publish is written immediately instead of by libnats'
  /// flusher thread; measured request/reply p50 on loopback ~0.1 ms with a SendAsap responder vs
  /// ~1.0 ms without; automatic reconnect forever). Errors: kUnavailable (no server reachable),
  /// kPermissionDenied (authentication refused), kInvalidArgument (bad URL, seed or creds file).
  static Result<std::unique_ptr<Connection>> connect(const ConnectOptions& options);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  /// Closes (without draining) and frees the connection.
  ~Connection();

  /// Publishes `data` on `subject` with optional headers and reply subject.
  Status publish(std::string_view subject, std::span<const std::uint8_t> data,
                 const Headers& headers = {}, std::string_view reply = {});
  /// Same, for text payloads (JSON).
  Status publish(std::string_view subject, std::string_view data, const Headers& headers = {},
                 std::string_view reply = {});
  /// Publishes a reply to `request.reply()`. kInvalidArgument when the request has no reply
  /// subject.
  Status respond(const Message& request, std::span<const std::uint8_t> data,
                 const Headers& headers = {});
  Status respond(const Message& request, std::string_view data, const Headers& headers = {});

  /// Sends a request and waits for the first reply. Errors: kDeadlineExceeded (no reply within
  /// `timeout`), kUnavailable (no responders: nobody subscribes to `subject`; or disconnected).
  Result<Message> request(std::string_view subject, std::span<const std::uint8_t> data,
                          std::chrono::milliseconds timeout, const Headers& headers = {});
  Result<Message> request(std::string_view subject, std::string_view data,
                          std::chrono::milliseconds timeout, const Headers& headers = {});

  /// Subscribes `handler` to `subject` (wildcards allowed).
  Result<Subscription> subscribe(std::string_view subject, MessageHandler handler);
  /// Subscribes as a member of queue group `queue` (each message goes to one member).
  Result<Subscription> queue_subscribe(std::string_view subject, std::string_view queue,
                                       MessageHandler handler);

  /// A fresh unique inbox subject (`_INBOX.…`) for scatter/gather replies.
  std::string new_inbox();

  /// Round trip to the server: everything published before has been processed by it.
  /// kDeadlineExceeded after `timeout`.
  Status flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Drains: stops all subscriptions after their pending messages were handled, flushes
  /// publishes, then closes. Waits up to `timeout` for completion.
  Status drain(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Closes the connection now (idempotent). Later calls fail with kUnavailable.
  void close();

  /// True while connected (false while reconnecting or after close).
  bool connected() const;
  /// URL of the server currently connected to ("" if none).
  std::string connected_url() const;
  /// Every server URL in the connection's pool: the configured ones plus those discovered
  /// from the cluster's INFO `connect_urls` (deduplicated by libnats). A lone server with one
  /// configured URL reports 1 entry; empty after close().
  std::vector<std::string> known_servers() const;
  /// Largest payload the server accepts (bytes), 0 when unknown.
  std::int64_t max_payload() const;
  /// The libnats handle, for JetStream (js*) calls that this wrapper does not cover. Owned by
  /// this Connection: do not close or destroy it.
  natsConnection* raw() const { return nc_; }

  /// Internal: shared with libnats callbacks.
  struct State;

 private:
  Connection(natsConnection* nc, std::shared_ptr<State> state)
      : nc_(nc), state_(std::move(state)) {}
  Result<Subscription> subscribe_impl(std::string_view subject, const char* queue,
                                      MessageHandler handler);
  natsConnection* nc_ = nullptr;
  std::shared_ptr<State> state_;
};

}  // namespace wc::lattice
