// Provider runtime (see provider.h).
#include "sdk/provider.h"

#include <spdlog/spdlog.h>

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/thread_annotations.h"
#include "lattice/nats.h"
#include "lattice/objstore.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/msgpack.h"
#include "sdk/errors.h"
#include "sdk/validate.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"

namespace wc::provider {
namespace mp = rpc::mp::serde;
namespace {

/// Fixed-size pool running queued jobs in FIFO order. Destruction drops jobs not yet started and
/// joins the running ones.
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t n) {
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) {
      threads_.emplace_back([this] { loop(); });
    }
  }
  ~WorkerPool() {
    {
      MutexLock lock(mu_);
      stopping_ = true;
      jobs_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void post(std::function<void()> job) {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> job;
      {
        MutexLock lock(mu_);
        while (!stopping_ && jobs_.empty()) lock.wait(cv_);
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      try {
        job();
      } catch (const std::exception& e) {
        spdlog::error("provider worker: unexpected exception: {}", e.what());
      }
    }
  }
  Mutex mu_;
  std::condition_variable cv_;  // waited on with mu_ held
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_;  // constructor and destructor only
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace

Bytes encode_health(const HealthStatus& h) {
  return rpc::encode_health_response(to_health_response(h));
}

rpc::HealthCheckResponse to_health_response(const HealthStatus& h) {
  rpc::HealthCheckResponse r;
  r.healthy = h.healthy;
  if (!h.message.empty()) r.message = h.message;
  return r;
}

struct ProviderRuntime::Impl {
  HostData hd;
  ProviderHandler* handler = nullptr;
  RuntimeOptions options;
  std::optional<wascap::KeyPair> cluster_key;
  std::unique_ptr<lattice::Connection> conn;
  /// Chunked payloads (3.6): bucket = lattice prefix, opened on first use as wasmbus-rpc does.
  std::unique_ptr<lattice::LazyObjectStore> objects;
  std::vector<lattice::Subscription> subs;
  std::unique_ptr<WorkerPool> pool;

  mutable Mutex links_mu;
  // By actor id (the SDK keys links by actor).
  std::map<std::string, LinkDefinition> links GUARDED_BY(links_mu);

  Mutex stop_mu;
  std::condition_variable stop_cv;  // waited on with stop_mu held
  bool stop_requested GUARDED_BY(stop_mu) = false;
  std::once_flag finished;

  void request_stop() EXCLUDES(stop_mu) {
    {
      MutexLock lock(stop_mu);
      stop_requested = true;
    }
    stop_cv.notify_all();
  }

  bool is_linked(const std::string& actor) const EXCLUDES(links_mu) {
    MutexLock lock(links_mu);
    return links.contains(actor);
  }

  void put_link(const LinkDefinition& ld) EXCLUDES(links_mu) {
    if (is_linked(ld.actor_id)) {
      spdlog::debug("link for actor {} already present; put ignored", ld.actor_id);
      return;
    }
    if (auto s = handler->put_link(ld); !s) {
      spdlog::error("link from actor {} refused: {}", ld.actor_id, s.error().message);
      return;
    }
    MutexLock lock(links_mu);
    links[ld.actor_id] = ld;
    spdlog::info("linked actor {} ({})", ld.actor_id, ld.contract_id);
  }

  void delete_link(const std::string& actor) EXCLUDES(links_mu) {
    {
      MutexLock lock(links_mu);
      if (links.erase(actor) == 0) return;
    }
    handler->delete_link(actor);
    spdlog::info("unlinked actor {}", actor);
  }

  void on_linkdef(lattice::Message msg) EXCLUDES(links_mu) {
    if (msg.subject().ends_with(".get")) {
      // wasmbus-rpc's `linkdefs.get`: the recorded links as a msgpack map actor id -> link.
      if (msg.reply().empty()) return;
      std::vector<LinkDefinition> all;
      {
        MutexLock lock(links_mu);
        for (const auto& [actor, ld] : links) all.push_back(ld);
      }
      Bytes out = mp::Writer().map(static_cast<std::uint32_t>(all.size())).bytes();
      for (const auto& ld : all) {
        const Bytes key = mp::Writer().str(ld.actor_id).bytes();
        const Bytes value = encode_linkdef(ld);
        out.insert(out.end(), key.begin(), key.end());
        out.insert(out.end(), value.begin(), value.end());
      }
      (void)conn->respond(msg, out);
      return;
    }
    auto ld = decode_linkdef(msg.data());
    if (!ld) {
      spdlog::warn("bad link definition on {}: {}", msg.subject(), ld.error().message);
    } else if (msg.subject().ends_with(".put")) {
      put_link(*ld);
    } else if (msg.subject().ends_with(".del")) {
      delete_link(ld->actor_id);
    }
    // Not part of the protocol (hosts publish without reply): a requester gets an empty ack
    // once the link was applied, which lets tools and tests synchronize.
    if (!msg.reply().empty()) (void)conn->respond(msg, std::span<const std::uint8_t>{});
  }

  void on_health(const lattice::Message& msg) {
    const HealthStatus h = handler->health();
    if (hd.test_mode()) {
      (void)conn->respond(msg, rpc::health_response_to_json(to_health_response(h)).dump());
    } else {
      (void)conn->respond(msg, encode_health(h));
    }
  }

  void on_shutdown(const lattice::Message& msg) {
    std::string host;
    auto j = nlohmann::json::parse(msg.text(), nullptr, false);
    if (j.is_object()) {
      if (auto it = j.find("host_id"); it != j.end() && it->is_string()) host = *it;
    }
    if (!host.empty() && host != hd.host_id) {
      spdlog::debug("shutdown request for host {} ignored", host);
      return;
    }
    spdlog::info("shutdown requested");
    if (!msg.reply().empty()) (void)conn->respond(msg, std::string_view("shutting down"));
    request_stop();
  }

  void reply(const lattice::Message& msg, rpc::InvocationResponse resp) {
    if (msg.reply().empty()) return;
    resp.content_length = resp.msg.size();
    if (!resp.error && resp.invocation_id && resp.msg.size() > rpc::kSdkChunkThreshold) {
      // 3.6: the response goes to the object store as `<id>-r`; msg empty, content_length kept.
      const std::string name = lattice::topics::obj_response_name(*resp.invocation_id);
      if (auto st = objects->put(name, resp.msg); !st) {
        spdlog::warn("invocation {}: {}", *resp.invocation_id, st.error().message);
        resp.error = st.error().message;
        resp.content_length = 0;
      }
      resp.msg.clear();
    }
    if (auto s = conn->respond(msg, rpc::encode_response(resp, rpc::ResponseStyle::kSdk)); !s) {
      spdlog::warn("cannot reply to invocation: {}", s.error().message);
    }
  }

  void handle_invocation(const lattice::Message& msg) {
    rpc::InvocationResponse resp;
    auto inv = rpc::decode_invocation(msg.data());
    if (!inv) {
      resp.error = inv.error().message;
      reply(msg, std::move(resp));
      return;
    }
    resp.invocation_id = inv->id;
    if (rpc::is_chunked(*inv)) {
      // 3.5 provider side: de-chunk first, so the hash check below covers the full payload.
      auto payload = objects->take(inv->id);
      if (!payload) {
        spdlog::warn("invocation {}: {}", inv->id, payload.error().message);
        resp.error = payload.error().message;
        reply(msg, std::move(resp));
        return;
      }
      inv->msg = std::move(*payload);
    }
    auto valid = validate_provider_invocation(
        *inv, hd.provider_key, hd.cluster_issuers,
        [this](const std::string& actor) { return is_linked(actor); }, wascap::now_seconds());
    if (!valid) {
      spdlog::warn("invocation {} from {} refused: {}", inv->id, inv->origin.public_key,
                   valid.error().message);
      resp.error = valid.error().message;
      reply(msg, std::move(resp));
      return;
    }
    InvocationContext ctx{inv->origin, inv->id};
    auto out = handler->dispatch(ctx, inv->operation, inv->msg);
    if (out) {
      resp.msg = std::move(*out);
    } else {
      resp.error = out.error().message;
    }
    reply(msg, std::move(resp));
  }
};

ProviderRuntime::ProviderRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProviderRuntime::~ProviderRuntime() {
  stop();
  wait();
}

Result<std::unique_ptr<ProviderRuntime>> ProviderRuntime::start(HostData host_data,
                                                                ProviderHandler& handler,
                                                                RuntimeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->hd = std::move(host_data);
  impl->handler = &handler;
  impl->options = std::move(options);
  const HostData& hd = impl->hd;
  if (hd.test_mode()) {
    impl->cluster_key = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  } else {
    auto key = wascap::KeyPair::from_seed(hd.invocation_seed);
    if (!key) {
      return fail(Code::kInvalidArgument,
                  std::string(errors::kHostDataPrefix) + "invocation_seed: " + key.error().message);
    }
    impl->cluster_key = std::move(*key);
  }
  lattice::ConnectOptions co;
  co.servers = {hd.nats_url()};
  co.name = impl->options.name;
  co.jwt = hd.lattice_rpc_user_jwt;
  co.seed = hd.lattice_rpc_user_seed;
  co.tls = hd.lattice_rpc_tls;
  auto conn = lattice::Connection::connect(co);
  if (!conn) return fail(conn.error());
  impl->conn = std::move(*conn);
  impl->objects = std::make_unique<lattice::LazyObjectStore>(
      *impl->conn, impl->hd.lattice_rpc_prefix, impl->hd.js_domain.value_or(""));
  impl->pool = std::make_unique<WorkerPool>(impl->options.workers);

  std::unique_ptr<ProviderRuntime> rt(new ProviderRuntime(std::move(impl)));
  Impl* p = rt->impl_.get();
  handler.attach(*rt);
  for (const auto& ld : p->hd.link_definitions) p->put_link(ld);

  namespace topics = lattice::topics;
  const std::string& lattice = p->hd.lattice_rpc_prefix;
  const std::string& key = p->hd.provider_key;
  const std::string& link = p->hd.link_name;
  const std::string rpc_subject = topics::rpc_provider(lattice, key, link);
  auto rpc_sub =
      p->conn->queue_subscribe(rpc_subject, topics::kProviderQueueGroup, [p](lattice::Message m) {
        auto shared = std::make_shared<lattice::Message>(std::move(m));
        p->pool->post([p, shared] { p->handle_invocation(*shared); });
      });
  if (!rpc_sub) return fail(rpc_sub.error());
  p->subs.push_back(std::move(*rpc_sub));
  // One subscription for put and del keeps their order (see provider.h).
  auto ld_sub = p->conn->subscribe(rpc_subject + ".linkdefs.*",
                                   [p](lattice::Message m) { p->on_linkdef(std::move(m)); });
  if (!ld_sub) return fail(ld_sub.error());
  p->subs.push_back(std::move(*ld_sub));
  auto health_sub = p->conn->subscribe(topics::rpc_health(lattice, key, link),
                                       [p](lattice::Message m) { p->on_health(m); });
  if (!health_sub) return fail(health_sub.error());
  p->subs.push_back(std::move(*health_sub));
  auto shutdown_sub = p->conn->subscribe(topics::rpc_shutdown(lattice, key, link),
                                         [p](lattice::Message m) { p->on_shutdown(m); });
  if (!shutdown_sub) return fail(shutdown_sub.error());
  p->subs.push_back(std::move(*shutdown_sub));
  if (auto f = p->conn->flush(); !f) return fail(f.error());
  spdlog::info("provider {} ({}) serving {} on {}", key, p->options.contract_id, rpc_subject,
               p->hd.nats_url());
  return rt;
}

void ProviderRuntime::stop() { impl_->request_stop(); }

void ProviderRuntime::wait() {
  Impl* p = impl_.get();
  {
    MutexLock lock(p->stop_mu);
    while (!p->stop_requested) lock.wait(p->stop_cv);
  }
  std::call_once(p->finished, [p] {
    for (auto& s : p->subs) s.unsubscribe();
    p->pool.reset();  // joins running invocations
    for (const auto& ld : [p] {
           MutexLock lock(p->links_mu);
           std::vector<LinkDefinition> all;
           for (const auto& [actor, ld] : p->links) all.push_back(ld);
           return all;
         }()) {
      p->delete_link(ld.actor_id);
    }
    p->handler->shutdown();
    (void)p->conn->drain(std::chrono::seconds(2));
  });
}

Result<Bytes> ProviderRuntime::call_actor(const std::string& actor_id, std::string_view operation,
                                          Bytes payload,
                                          std::optional<std::chrono::milliseconds> timeout) {
  Impl* p = impl_.get();
  rpc::SignOptions so;
  so.chunk_threshold = SIZE_MAX;  // the token hashes the full payload, chunked or not (3.4)
  auto inv = rpc::make_invocation(
      *p->cluster_key,
      rpc::provider_entity(p->hd.provider_key, p->options.contract_id, p->hd.link_name),
      rpc::actor_entity(actor_id), std::string(operation), std::move(payload), p->hd.host_id, so);
  if (!inv) return fail(inv.error());
  auto wait = timeout.value_or(p->hd.rpc_timeout());
  if (inv->msg.size() > rpc::kSdkChunkThreshold) {
    // 3.6: the payload goes to the object store under the invocation id; msg is sent empty and
    // content_length keeps the full size. wasmbus-rpc adds 13 s to the timeout when it chunks.
    if (auto st = p->objects->put(inv->id, inv->msg); !st) return fail(st.error());
    inv->msg.clear();
    wait += kChunkedTimeoutExtra;
  }
  const Bytes body = rpc::encode_invocation(*inv, rpc::EntityOrder::kSdk);
  auto reply =
      p->conn->request(lattice::topics::rpc_actor(p->hd.lattice_rpc_prefix, actor_id), body, wait);
  if (!reply) return fail(reply.error());
  auto resp = rpc::decode_response(reply->data());
  if (!resp) return fail(resp.error());
  if (resp->error) return fail(Code::kActorError, *resp->error);
  if (resp->content_length && *resp->content_length > resp->msg.size()) {
    auto full = p->objects->take(lattice::topics::obj_response_name(inv->id));
    if (!full) return fail(full.error());
    return std::move(*full);
  }
  return std::move(resp->msg);
}

const HostData& ProviderRuntime::host_data() const { return impl_->hd; }

std::optional<LinkDefinition> ProviderRuntime::link(const std::string& actor_id) const {
  MutexLock lock(impl_->links_mu);
  auto it = impl_->links.find(actor_id);
  if (it == impl_->links.end()) return std::nullopt;
  return it->second;
}

std::vector<LinkDefinition> ProviderRuntime::links() const {
  MutexLock lock(impl_->links_mu);
  std::vector<LinkDefinition> out;
  for (const auto& [actor, ld] : impl_->links) out.push_back(ld);
  return out;
}

int run_provider(ProviderHandler& handler, RuntimeOptions options) {
  // Writes to closed sockets must fail with EPIPE, not kill the provider. SIGINT/SIGTERM are
  // blocked here (inherited by every thread) and turned into a graceful stop below.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // The host's text format until the host data says which format and level the host uses; then
  // the host's own (common/log.h), so the lines the host re-logs keep their level (#17.6).
  init_logging(false, "info");
  // Beyond the original: a provider never outlives the host process that launched it. When
  // that process dies (even by SIGKILL) the kernel sends SIGTERM, which stops us gracefully
  // above; a parent that died before the prctl is caught by comparing getppid().
  const pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) {
    spdlog::error("the host process that launched this provider has exited");
    return 1;
  }
  auto hd = read_host_data(std::cin);
  if (!hd) {
    spdlog::error("{}", hd.error().message);
    return 1;
  }
  init_logging(hd->structured_logging, hd->log_level);
  auto rt = ProviderRuntime::start(std::move(*hd), handler, std::move(options));
  if (!rt) {
    spdlog::error("provider start failed: {}", rt.error().message);
    return 1;
  }
  ProviderRuntime* runtime = rt->get();
  std::thread([stop_signals, runtime] {
    int sig = 0;
    if (sigwait(&stop_signals, &sig) == 0) {
      spdlog::info("signal {} received, stopping", sig);
      runtime->stop();
    }
  }).detach();
  runtime->wait();
  rt->reset();
  spdlog::info("provider stopped");
  return 0;
}

}  // namespace wc::provider
