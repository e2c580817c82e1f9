// libnats wrapper (see nats.h for ownership and threading).
#include "lattice/nats.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "wascap/nkeys.h"

namespace wc::lattice {

Error nats_error(natsStatus s, std::string_view what) {
  Code code = Code::kInternal;
  switch (s) {
    case NATS_TIMEOUT:
      code = Code::kDeadlineExceeded;
      break;
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_IO_ERROR:
    case NATS_DRAINING:
    case NATS_INVALID_SUBSCRIPTION:
    case NATS_SLOW_CONSUMER:
      code = Code::kUnavailable;
      break;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_QUEUE_NAME:
    case NATS_ADDRESS_MISSING:
    case NATS_PROTOCOL_ERROR:
      code = Code::kInvalidArgument;
      break;
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      code = Code::kPermissionDenied;
      break;
    case NATS_MAX_PAYLOAD:
    case NATS_NO_MEMORY:
    case NATS_INSUFFICIENT_BUFFER:
      code = Code::kResourceExhausted;
      break;
    case NATS_NOT_FOUND:
      code = Code::kNotFound;
      break;
    default:
      break;
  }
  std::string msg(what);
  msg += ": ";
  const char* text = natsStatus_GetText(s);
  msg += text;
  // The calling thread's last libnats error often says more ("Authorization Violation").
  natsStatus last_status = NATS_OK;
  const char* last = nats_GetLastError(&last_status);
  if (last_status == s && last != nullptr) {
    std::string_view detail(last);
    if (!detail.empty() && detail.front() == '(') {  // drop the "(conn.c:1905): " origin
      auto end = detail.find("): ");
      if (end != std::string_view::npos) detail.remove_prefix(end + 3);
    }
    if (!detail.empty() && detail != text) {
      msg += " (";
      msg += detail;
      msg += ")";
    }
  }
  return Error{code, std::move(msg)};
}

std::string_view connection_event_name(ConnectionEvent e) {
  switch (e) {
    case ConnectionEvent::kDisconnected:
      return "disconnected";
    case ConnectionEvent::kReconnected:
      return "reconnected";
    case ConnectionEvent::kClosed:
      return "closed";
  }
  return "unknown";
}

// --- Message ----------------------------------------------------------------------------------

std::string_view Message::subject() const {
  if (!msg_) return {};
  const char* s = natsMsg_GetSubject(msg_.get());
  return s ? std::string_view(s) : std::string_view();
}

std::string_view Message::reply() const {
  if (!msg_) return {};
  const char* s = natsMsg_GetReply(msg_.get());
  return s ? std::string_view(s) : std::string_view();
}

std::span<const std::uint8_t> Message::data() const {
  if (!msg_) return {};
  const char* d = natsMsg_GetData(msg_.get());
  int n = natsMsg_GetDataLength(msg_.get());
  if (d == nullptr || n <= 0) return {};
  return {reinterpret_cast<const std::uint8_t*>(d), static_cast<std::size_t>(n)};
}

std::string_view Message::text() const {
  auto d = data();
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::optional<std::string> Message::header(std::string_view name) const {
  if (!msg_) return std::nullopt;
  const char* value = nullptr;
  std::string key(name);
  if (natsMsgHeader_Get(msg_.get(), key.c_str(), &value) != NATS_OK || value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

Headers Message::headers() const {
  Headers out;
  if (!msg_) return out;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg_.get(), &keys, &count) != NATS_OK || keys == nullptr) return out;
  for (int i = 0; i < count; ++i) {
    const char** values = nullptr;
    int nvalues = 0;
    if (natsMsgHeader_Values(msg_.get(), keys[i], &values, &nvalues) == NATS_OK && values) {
      for (int j = 0; j < nvalues; ++j) out.emplace_back(keys[i], values[j] ? values[j] : "");
      std::free(static_cast<void*>(values));
    }
  }
  std::free(static_cast<void*>(keys));
  return out;
}

/// Wraps raw messages for the callbacks below (the only place a natsMsg* becomes a Message).
struct MessageAccess {
  static Message wrap(natsMsg* m) { return Message(m); }
};

// --- Subscription -----------------------------------------------------------------------------

namespace detail {

/// Shared between a Subscription and libnats (through a heap-allocated shared_ptr passed as the
/// callback closure and freed by the on-complete callback).
struct SubState {
  MessageHandler handler;
  std::atomic<bool> stopping{false};
  /// Thread currently inside the handler (default id when none).
  std::atomic<std::thread::id> delivering{};
  std::mutex mu;
  std::condition_variable cv;
  bool complete = false;
};

using SubHolder = std::shared_ptr<SubState>;

/// The subscription whose handler runs on this thread (delivery_backlog()); null elsewhere.
thread_local natsSubscription* t_delivering = nullptr;

/// Sets t_delivering for the duration of one handler call (nested handlers cannot happen: a
/// delivery thread calls one handler at a time).
struct DeliveringScope {
  explicit DeliveringScope(natsSubscription* sub) { t_delivering = sub; }
  ~DeliveringScope() { t_delivering = nullptr; }
  DeliveringScope(const DeliveringScope&) = delete;
  DeliveringScope& operator=(const DeliveringScope&) = delete;
};

void on_message(natsConnection*, natsSubscription* sub, natsMsg* raw, void* closure) {
  Message msg = MessageAccess::wrap(raw);  // owns the message from here on
  auto& state = *static_cast<SubHolder*>(closure);
  if (state->stopping.load(std::memory_order_acquire)) return;
  const DeliveringScope scope(sub);
  state->delivering.store(std::this_thread::get_id(), std::memory_order_release);
  try {
    state->handler(std::move(msg));
  } catch (const std::exception& e) {
    spdlog::error("NATS message handler threw: {}", e.what());
  } catch (...) {
    spdlog::error("NATS message handler threw a non-standard exception");
  }
  state->delivering.store(std::thread::id(), std::memory_order_release);
}

void on_complete(void* closure) {
  auto* holder = static_cast<SubHolder*>(closure);
  {
    std::lock_guard<std::mutex> lock((*holder)->mu);
    (*holder)->complete = true;
  }
  (*holder)->cv.notify_all();
  delete holder;
}

}  // namespace detail

std::int64_t delivery_backlog() {
  if (detail::t_delivering == nullptr) return -1;
  int msgs = 0, bytes = 0;
  // libnats takes the message being delivered off its list before calling the handler, so
  // this counts only the ones behind it.
  if (natsSubscription_GetPending(detail::t_delivering, &msgs, &bytes) != NATS_OK) return -1;
  return msgs;
}

Subscription::Subscription(Subscription&& other) noexcept
    : sub_(std::exchange(other.sub_, nullptr)),
      state_(std::move(other.state_)),
      subject_(std::move(other.subject_)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    sub_ = std::exchange(other.sub_, nullptr);
    state_ = std::move(other.state_);
    subject_ = std::move(other.subject_);
  }
  return *this;
}

Subscription::~Subscription() { unsubscribe(); }

void Subscription::unsubscribe() {
  if (sub_ == nullptr) return;
  state_->stopping.store(true, std::memory_order_release);
  // Fails harmlessly when the connection is already closed (then the subscription is closed
  // and on_complete has run or will run).
  natsSubscription_Unsubscribe(sub_);
  if (state_->delivering.load(std::memory_order_acquire) != std::this_thread::get_id()) {
    std::unique_lock<std::mutex> lock(state_->mu);
    if (!state_->cv.wait_for(lock, std::chrono::seconds(10), [&] { return state_->complete; })) {
      spdlog::warn("NATS subscription on '{}' did not complete within 10 s", subject_);
    }
  }
  natsSubscription_Destroy(sub_);
  sub_ = nullptr;
  state_.reset();
  subject_.clear();
}

std::int64_t Subscription::dropped() const {
  if (sub_ == nullptr) return 0;
  int64_t n = 0;
  if (natsSubscription_GetDropped(sub_, &n) != NATS_OK) return 0;
  return n;
}

// --- Connection -------------------------------------------------------------------------------

struct Connection::State {
  std::function<void(ConnectionEvent, std::string_view)> on_event;
  std::string jwt;
  std::string seed;
  std::int64_t wait_ms = 100;
  std::int64_t wait_max_ms = 4000;
};

namespace {

using StateHolder = std::shared_ptr<Connection::State>;

/// Trylock rounds of libnats' mutexes before blocking (see Connection::connect).
constexpr std::int64_t kLockSpinCount = 0;

std::string current_url(natsConnection* nc) {
  char buf[512] = {0};
  if (natsConnection_GetConnectedUrl(nc, buf, sizeof(buf)) != NATS_OK) return {};
  return buf;
}

void notify(natsConnection* nc, void* closure, ConnectionEvent e) {
  auto& state = *static_cast<StateHolder*>(closure);
  if (!state->on_event) return;
  try {
    state->on_event(e, current_url(nc));
  } catch (...) {
    spdlog::error("NATS connection event handler threw");
  }
}

void on_disconnected(natsConnection* nc, void* closure) {
  notify(nc, closure, ConnectionEvent::kDisconnected);
}
void on_reconnected(natsConnection* nc, void* closure) {
  notify(nc, closure, ConnectionEvent::kReconnected);
}
/// First successful connection after retry_initial_connect (reported as kReconnected).
void on_connected(natsConnection* nc, void* closure) {
  notify(nc, closure, ConnectionEvent::kReconnected);
}
void on_closed(natsConnection* nc, void* closure) {
  notify(nc, closure, ConnectionEvent::kClosed);
  delete static_cast<StateHolder*>(closure);  // last callback of a connection
}

int64_t reconnect_delay(natsConnection*, int attempts, void* closure) {
  auto& state = *static_cast<StateHolder*>(closure);
  std::int64_t delay = state->wait_ms;
  for (int i = 1; i < attempts && delay < state->wait_max_ms; ++i) delay *= 2;
  if (delay > state->wait_max_ms) delay = state->wait_max_ms;
  thread_local std::minstd_rand rng(std::random_device{}());
  std::int64_t jitter = delay / 10 > 0 ? static_cast<std::int64_t>(rng() % (delay / 10 + 1)) : 0;
  return delay + jitter;
}

natsStatus user_jwt(char** user_jwt, char** custom_err, void* closure) {
  auto& state = *static_cast<StateHolder*>(closure);
  (void)custom_err;
  *user_jwt = strdup(state->jwt.c_str());
  return *user_jwt ? NATS_OK : NATS_NO_MEMORY;
}

natsStatus sign_nonce(char** custom_err, unsigned char** signature, int* signature_length,
                      const char* nonce, void* closure) {
  auto& state = *static_cast<StateHolder*>(closure);
  (void)custom_err;
  return nats_Sign(state->seed.c_str(), nonce, signature, signature_length);
}

/// Owns a natsOptions for the duration of connect().
struct OptionsGuard {
  natsOptions* opts = nullptr;
  ~OptionsGuard() {
    if (opts) natsOptions_Destroy(opts);
  }
};

/// Builds a natsMsg for publish/request with headers. Owned by the returned unique_ptr.
struct MsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using MsgPtr = std::unique_ptr<natsMsg, MsgDeleter>;

Result<MsgPtr> build_msg(std::string_view subject, std::string_view reply,
                         std::span<const std::uint8_t> data, const Headers& headers) {
  std::string subj(subject);
  std::string rep(reply);
  natsMsg* raw = nullptr;
  natsStatus s =
      natsMsg_Create(&raw, subj.c_str(), rep.empty() ? nullptr : rep.c_str(),
                     reinterpret_cast<const char*>(data.data()), static_cast<int>(data.size()));
  if (s != NATS_OK) return fail(nats_error(s, "NATS message"));
  MsgPtr msg(raw);
  for (const auto& [k, v] : headers) {
    s = natsMsgHeader_Add(msg.get(), k.c_str(), v.c_str());
    if (s != NATS_OK) return fail(nats_error(s, "NATS header '" + k + "'"));
  }
  return msg;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::connect(const ConnectOptions& o) {
  if (o.servers.empty()) return fail(Code::kInvalidArgument, "NATS connect: no server URL");
  // libnats spins up to 2000 trylock rounds on a contended mutex before it blocks (the default
  // of its implicit nats_Open). Perf on the host invocation bench (2 cores): natsMutex_Lock
  // spinning was the largest user-space cost (~7 % of all samples), burning the CPU that the lock
  // holder (reader, delivery or publishing thread of the same connection) needs. Block at once
  // instead. Only the first open of the library takes effect; later calls are no-ops.
  static std::once_flag lib_once;
  std::call_once(lib_once, [] { (void)nats_Open(kLockSpinCount); });
  auto state = std::make_shared<State>();
  state->on_event = o.on_event;
  state->jwt = o.jwt;
  state->seed = o.seed;
  state->wait_ms = std::max<std::int64_t>(1, o.reconnect_wait.count());
  state->wait_max_ms = std::max<std::int64_t>(state->wait_ms, o.reconnect_wait_max.count());

  OptionsGuard g;
  natsStatus s = natsOptions_Create(&g.opts);
  if (s != NATS_OK) return fail(nats_error(s, "NATS options"));
  std::vector<const char*> urls;
  urls.reserve(o.servers.size());
  for (const auto& u : o.servers) urls.push_back(u.c_str());
  auto* holder = new StateHolder(state);  // freed by on_closed, or below on failure
  auto check = [&](natsStatus st, const char* what) -> Status {
    if (st != NATS_OK) return fail(nats_error(st, what));
    return ok();
  };
  Status st = [&]() -> Status {
    if (auto r = check(natsOptions_SetServers(g.opts, urls.data(), static_cast<int>(urls.size())),
                       "NATS servers");
        !r)
      return r;
    if (o.no_randomize) {
      if (auto r = check(natsOptions_SetNoRandomize(g.opts, true), "NATS no-randomize"); !r)
        return r;
    }
    if (!o.name.empty()) {
      if (auto r = check(natsOptions_SetName(g.opts, o.name.c_str()), "NATS name"); !r) return r;
    }
    if (o.tls) {
      if (auto r = check(natsOptions_SetSecure(g.opts, true), "NATS TLS"); !r) return r;
    }
    if (!o.creds_file.empty()) {
      if (auto r =
              check(natsOptions_SetUserCredentialsFromFiles(g.opts, o.creds_file.c_str(), nullptr),
                    "NATS credentials file");
          !r)
        return r;
    } else if (!o.jwt.empty() && !o.seed.empty()) {
      if (auto r = check(
              natsOptions_SetUserCredentialsCallbacks(g.opts, user_jwt, holder, sign_nonce, holder),
              "NATS JWT credentials");
          !r)
        return r;
    } else if (!o.seed.empty()) {
      auto kp = wascap::KeyPair::from_seed(o.seed);
      if (!kp) return fail(Code::kInvalidArgument, "NATS nkey seed: " + kp.error().message);
      std::string pk = kp->public_key();
      if (auto r = check(natsOptions_SetNKey(g.opts, pk.c_str(), sign_nonce, holder), "NATS nkey");
          !r)
        return r;
    }
    if (auto r = check(natsOptions_SetTimeout(g.opts, o.connect_timeout.count()), "NATS timeout");
        !r)
      return r;
    if (auto r = check(natsOptions_SetMaxReconnect(g.opts, -1), "NATS reconnect"); !r) return r;
    if (auto r = check(natsOptions_SetCustomReconnectDelay(g.opts, reconnect_delay, holder),
                       "NATS reconnect delay");
        !r)
      return r;
    if (auto r = check(natsOptions_SetSendAsap(g.opts, true), "NATS send-asap"); !r) return r;
    if (auto r =
            check(natsOptions_SetDisconnectedCB(g.opts, on_disconnected, holder), "NATS callbacks");
        !r)
      return r;
    if (auto r =
            check(natsOptions_SetReconnectedCB(g.opts, on_reconnected, holder), "NATS callbacks");
        !r)
      return r;
    if (auto r = check(natsOptions_SetClosedCB(g.opts, on_closed, holder), "NATS callbacks"); !r)
      return r;
    if (o.retry_initial_connect) {
      if (auto r = check(natsOptions_SetRetryOnFailedConnect(g.opts, true, on_connected, holder),
                         "NATS retry");
          !r)
        return r;
    }
    return ok();
  }();
  if (!st) {
    delete holder;
    return fail(st.error());
  }
  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, g.opts);
  if (s == NATS_NOT_YET_CONNECTED && o.retry_initial_connect && nc != nullptr) {
    return std::unique_ptr<Connection>(new Connection(nc, state));
  }
  if (s != NATS_OK) {
    if (nc != nullptr) {
      natsConnection_Destroy(nc);  // on_closed frees the holder
    } else {
      delete holder;
    }
    std::string where = "NATS connect to";
    for (const auto& u : o.servers) where += " " + u;
    return fail(nats_error(s, where));
  }
  return std::unique_ptr<Connection>(new Connection(nc, state));
}

Connection::~Connection() {
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
    nc_ = nullptr;
  }
}

Status Connection::publish(std::string_view subject, std::span<const std::uint8_t> data,
                           const Headers& headers, std::string_view reply) {
  natsStatus s;
  if (headers.empty()) {
    std::string subj(subject);
    if (reply.empty()) {
      s = natsConnection_Publish(nc_, subj.c_str(), data.data(), static_cast<int>(data.size()));
    } else {
      std::string rep(reply);
      s = natsConnection_PublishRequest(nc_, subj.c_str(), rep.c_str(), data.data(),
                                        static_cast<int>(data.size()));
    }
  } else {
    auto msg = build_msg(subject, reply, data, headers);
    if (!msg) return fail(msg.error());
    s = natsConnection_PublishMsg(nc_, msg->get());
  }
  if (s != NATS_OK) return fail(nats_error(s, "NATS publish to '" + std::string(subject) + "'"));
  return ok();
}

Status Connection::publish(std::string_view subject, std::string_view data, const Headers& headers,
                           std::string_view reply) {
  return publish(subject, bytes_of(data), headers, reply);
}

Status Connection::respond(const Message& request, std::span<const std::uint8_t> data,
                           const Headers& headers) {
  if (request.reply().empty()) {
    return fail(
        Code::kInvalidArgument,
        "NATS respond: message on '" + std::string(request.subject()) + "' has no reply subject");
  }
  return publish(request.reply(), data, headers);
}

Status Connection::respond(const Message& request, std::string_view data, const Headers& headers) {
  return respond(request, bytes_of(data), headers);
}

Result<Message> Connection::request(std::string_view subject, std::span<const std::uint8_t> data,
                                    std::chrono::milliseconds timeout, const Headers& headers) {
  natsMsg* reply = nullptr;
  natsStatus s;
  if (headers.empty()) {
    std::string subj(subject);
    s = natsConnection_Request(&reply, nc_, subj.c_str(), data.data(),
                               static_cast<int>(data.size()), timeout.count());
  } else {
    auto msg = build_msg(subject, {}, data, headers);
    if (!msg) return fail(msg.error());
    s = natsConnection_RequestMsg(&reply, nc_, msg->get(), timeout.count());
  }
  Message out = MessageAccess::wrap(reply);  // owns the reply (if any) on every path
  if (s == NATS_OK && out.valid() && natsMsg_IsNoResponders(reply)) s = NATS_NO_RESPONDERS;
  if (s != NATS_OK) return fail(nats_error(s, "NATS request to '" + std::string(subject) + "'"));
  return out;
}

Result<Message> Connection::request(std::string_view subject, std::string_view data,
                                    std::chrono::milliseconds timeout, const Headers& headers) {
  return request(subject, bytes_of(data), timeout, headers);
}

Result<Subscription> Connection::subscribe(std::string_view subject, MessageHandler handler) {
  return subscribe_impl(subject, nullptr, std::move(handler));
}

Result<Subscription> Connection::queue_subscribe(std::string_view subject, std::string_view queue,
                                                 MessageHandler handler) {
  std::string q(queue);
  return subscribe_impl(subject, q.c_str(), std::move(handler));
}

Result<Subscription> Connection::subscribe_impl(std::string_view subject, const char* queue,
                                                MessageHandler handler) {
  if (!handler) return fail(Code::kInvalidArgument, "NATS subscribe: empty handler");
  auto state = std::make_shared<detail::SubState>();
  state->handler = std::move(handler);
  auto* holder = new detail::SubHolder(state);  // freed by detail::on_complete
  std::string subj(subject);
  natsSubscription* sub = nullptr;
  natsStatus s =
      queue ? natsConnection_QueueSubscribe(&sub, nc_, subj.c_str(), queue, detail::on_message,
                                            holder)
            : natsConnection_Subscribe(&sub, nc_, subj.c_str(), detail::on_message, holder);
  if (s != NATS_OK) {
    delete holder;
    return fail(nats_error(s, "NATS subscribe to '" + subj + "'"));
  }
  s = natsSubscription_SetOnCompleteCB(sub, detail::on_complete, holder);
  if (s != NATS_OK) {
    // Without a completion callback we cannot know when the handler is done: keep the state
    // alive forever (a few bytes) rather than risk a use-after-free.
    state->stopping.store(true);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return fail(nats_error(s, "NATS subscribe to '" + subj + "'"));
  }
  return Subscription(sub, std::move(state), std::move(subj));
}

std::string Connection::new_inbox() {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK || inbox == nullptr) return {};
  std::string out(inbox);
  natsInbox_Destroy(inbox);
  return out;
}

Status Connection::flush(std::chrono::milliseconds timeout) {
  natsStatus s = natsConnection_FlushTimeout(nc_, timeout.count());
  if (s != NATS_OK) return fail(nats_error(s, "NATS flush"));
  return ok();
}

Status Connection::drain(std::chrono::milliseconds timeout) {
  natsStatus s = natsConnection_DrainTimeout(nc_, timeout.count());
  if (s != NATS_OK) return fail(nats_error(s, "NATS drain"));
  // Wait until the drain finished and the connection is closed.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (natsConnection_Status(nc_) != NATS_CONN_STATUS_CLOSED) {
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(Code::kDeadlineExceeded, "NATS drain: not complete in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ok();
}

void Connection::close() { natsConnection_Close(nc_); }

bool Connection::connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

std::string Connection::connected_url() const { return current_url(nc_); }

std::vector<std::string> Connection::known_servers() const {
  std::vector<std::string> out;
  char** servers = nullptr;
  int count = 0;
  if (natsConnection_GetServers(nc_, &servers, &count) != NATS_OK) return out;
  for (int i = 0; i < count; ++i) {
    out.emplace_back(servers[i]);
    std::free(servers[i]);
  }
  std::free(servers);
  return out;
}

std::int64_t Connection::max_payload() const { return natsConnection_GetMaxPayload(nc_); }

}  // namespace wc::lattice
