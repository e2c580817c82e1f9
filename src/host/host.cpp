// Host: start (connections, engine, pools, policy, provider supervisor, control subscriptions,
// host_started), stop and accessors; host facts, lattice events, heartbeats and the shutdown
// sequence (control-interface 6.3). See host.h for the contract, host_impl.h for the layout.
#include <sodium.h>

#include <algorithm>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/host_impl.h"
#include "lattice/cloudevent.h"
#include "lattice/event_data.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "lattice/tracing.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;
namespace ed = lattice::event_data;

}  // namespace

HostFacts Host::Impl::facts() const {
  HostFacts f;
  f.host_id = host_id;
  f.issuer = cluster_pk;
  f.friendly_name = cfg.friendly_name;
  f.labels = current_labels();
  f.uptime_seconds =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count() /
                                 1000);
  f.cluster_issuers = id.cluster_issuers;
  f.js_domain = cfg.js_domain;
  f.ctl_host = cfg.ctl.host;
  f.prov_rpc_host = cfg.prov_rpc.host;
  f.rpc_host = cfg.rpc.host;
  f.lattice_prefix = cfg.lattice_prefix;
  return f;
}

StringMap Host::Impl::current_labels() const {
  MutexLock lock(labels_mu);
  return labels;
}

StringMap Host::Impl::update_labels(const std::function<void(StringMap&)>& change) {
  MutexLock lock(labels_mu);
  change(labels);
  return labels;
}

std::vector<ActorInfo> Host::Impl::snapshot() const {
  return actors ? actors->snapshot() : std::vector<ActorInfo>{};
}

void Host::Impl::emit_rpc_event(bool ok, const json& data) {
  // Off the invocation path (rpc_events.h): the worker only queues it.
  if (rpc_events) rpc_events->enqueue(ok ? ev::kInvocationSucceeded : ev::kInvocationFailed, data);
}

void Host::Impl::emit(std::string_view type, const json& data, bool linkdef_source) {
  if (!ctl) return;
  auto st = lattice::publish_event(*ctl, cfg.lattice_prefix, type,
                                   linkdef_source ? ev::kSourceNotApplicable : host_id, data);
  if (!st) spdlog::debug("Failed to publish {}: {}", type, st.error().message);
  // The v1 counterparts (control_v1.h), whichever protocol caused the change.
  if (auto* v1 = v1_events.load(std::memory_order_acquire)) v1->on_event(type, data);
  // Every change the host reports (and each heartbeat) refreshes its wadm_state entries.
  if (lattice_state) lattice_state->changed();
}

std::vector<ProviderInfo> Host::Impl::provider_snapshot() const {
  std::vector<ProviderInfo> out = providers ? providers->running() : std::vector<ProviderInfo>{};
  if (builtin_http) {
    for (auto& p : builtin_http->running()) out.push_back(std::move(p));
  }
  return out;
}

void Host::Impl::heartbeat() {
  emit(ev::kHostHeartbeat, heartbeat_json(facts(), snapshot(), provider_snapshot()));
}

void Host::Impl::request_stop() {
  {
    MutexLock lock(stop_mu);
    stop_requested = true;
  }
  stop_cv.notify_all();
}

void Host::Impl::maintenance_loop() {
  auto interval = std::chrono::milliseconds(std::max(100, cfg.heartbeat_interval_ms));
  auto next = std::chrono::steady_clock::now() + interval;
  for (;;) {
    MutexLock lock(stop_mu);
    while (!stop_requested && lock.wait_until(stop_cv, next) != std::cv_status::timeout) {
    }
    if (stop_requested) {
      lock.unlock();
      do_stop();
      return;
    }
    lock.unlock();
    heartbeat();
    next += interval;
  }
}

/// Shutdown of control-interface 6.3. Runs once.
void Host::Impl::do_stop() {
  std::call_once(stop_once, [this] {
    stopping = true;
    spdlog::info("Host {} stopping", host_id);
    if (control) control->close();
    if (v1_control) v1_control->close();
    if (v1_links) v1_links->close();
    if (metadata) metadata->close();
    if (lifecycle_pool) lifecycle_pool->shutdown();
    if (ctl_pool) ctl_pool->shutdown();
    if (actors) actors->stop_all();
    if (providers) providers->stop_all();  // 6.3 step 2
    if (builtin_http) builtin_http->stop_all();
    if (rpc_pool) rpc_pool->shutdown();
    if (rpc_events) rpc_events->stop();  // the last invocations' events, before the close
    if (lattice_state) lattice_state->remove_and_stop(std::chrono::seconds(3));
    emit(ev::kHostStopped, ed::host_stopped(current_labels()));
    if (ctl) (void)ctl->flush(std::chrono::seconds(2));
    if (rpc) (void)rpc->flush(std::chrono::seconds(1));
    if (ctl) ctl->close();
    if (rpc) rpc->close();
    {
      MutexLock lock(stop_mu);
      stopped = true;
      stop_requested = true;
    }
    stop_cv.notify_all();
    spdlog::info("Host {} stopped", host_id);
  });
}

// ------------------------------------------------------------------ Host

Host::Host(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Host::~Host() { stop(); }

Result<std::unique_ptr<Host>> Host::start(HostConfig config) {
  if (sodium_init() < 0) return fail(Code::kInternal, "libsodium failed to initialise");
  auto identity = resolve_identity(config);
  auto impl = std::make_unique<Impl>(std::move(config), std::move(identity));
  auto& cfg = impl->cfg;

  auto connect = [&](const NatsEndpoint& ep,
                     const std::string& role) -> Result<std::unique_ptr<lattice::Connection>> {
    lattice::ConnectOptions o;
    o.servers = ep.urls();
    o.no_randomize = true;  // the first listed server is this host's own node
    o.name = "wasmcloud-host " + role + " " + impl->host_id;
    o.seed = ep.seed;
    o.jwt = ep.jwt;
    o.tls = ep.tls;
    o.reconnect_wait_max = std::chrono::milliseconds(4000);
    std::string r = role;
    Impl* self = impl.get();
    o.on_event = [r, self](lattice::ConnectionEvent e, std::string_view url) {
      spdlog::info("NATS {} connection {} ({})", r, lattice::connection_event_name(e), url);
      if (e == lattice::ConnectionEvent::kReconnected)
        self->metrics.nats_reconnect(r == "ctl" ? metrics::NatsConnection::kCtl
                                                : metrics::NatsConnection::kRpc);
      // The metadata watch consumer may have been dropped while the host was away (5.5).
      if (r == "ctl" && e == lattice::ConnectionEvent::kReconnected && self->ctl_pool)
        self->ctl_pool->post([self] {
          if (self->metadata && !self->stopping) self->metadata->rewatch();
        });
    };
    return lattice::Connection::connect(o);
  };
  impl->metrics.set_host_info(impl->host_id, cfg.lattice_prefix, kHostVersion);
  if (cfg.metrics_port != 0) {
    auto server = metrics::Server::start(impl->metrics, cfg.metrics_host, cfg.metrics_port);
    if (!server) return fail(server.error());
    impl->metrics_server = std::move(*server);
    spdlog::info("Serving metrics on http://{}:{}/metrics", cfg.metrics_host, cfg.metrics_port);
  }
  auto ctl = connect(cfg.ctl, "ctl");
  if (!ctl) return fail(ctl.error());
  impl->ctl = std::move(*ctl);
  auto rpc = connect(cfg.rpc, "rpc");
  if (!rpc) return fail(rpc.error());
  impl->rpc = std::move(*rpc);
  impl->ctl_bus = std::make_unique<ConnectionBus>(*impl->ctl);
  impl->rpc_bus = std::make_unique<ConnectionBus>(*impl->rpc);
  impl->objects =
      std::make_unique<lattice::LazyObjectStore>(*impl->rpc, cfg.lattice_prefix, impl->js_domain());

  if (cfg.invocation_replay_window_s > 0)
    impl->replay = std::make_unique<rpc::ReplayGuard>(cfg.invocation_replay_window_s);

  wasm::EngineConfig ec;
  ec.limits.deadline = execution_budget(cfg);
  ec.enable_native = cfg.native_tier;
  ec.cache_dir = cfg.native_cache_dir;
  ec.on_native_compile = [m = &impl->metrics](std::chrono::duration<double> t, bool ok) {
    m->native_compile(t, ok);
  };
  auto engine = wasm::Engine::create(ec);
  if (!engine) return fail(engine.error());
  impl->engine = *engine;

  json host_obj{{"publicKey", impl->host_id},
                {"issuer", impl->cluster_pk},
                {"latticeId", cfg.lattice_prefix},
                {"labels", cfg.labels},
                {"clusterIssuers", impl->id.cluster_issuers}};
  Impl* raw = impl.get();
  impl->policy = std::make_unique<PolicyManager>(
      cfg.policy_topic, std::chrono::milliseconds(cfg.policy_timeout_ms), host_obj,
      [raw](const std::string& subject, const std::string& body,
            std::chrono::milliseconds timeout) -> Result<std::string> {
        auto r = raw->ctl->request(subject, body, timeout);
        if (!r) return fail(r.error());
        return std::string(r->text());
      });

  impl->ctl_pool = std::make_unique<Executor>(2, "control");
  impl->lifecycle_pool = std::make_unique<Executor>(1, "lifecycle");
  impl->rpc_pool = std::make_unique<Executor>(
      static_cast<std::size_t>(std::max(1, cfg.executor_threads)), "rpc");

  {
    // Created before anything can emit (emit() reads it); its thread starts after host_started.
    LatticeStateDeps d;
    d.stale_after = std::max(std::chrono::milliseconds(120000),
                             std::chrono::milliseconds(10LL * cfg.heartbeat_interval_ms));
    d.lattice = cfg.lattice_prefix;
    d.host_id = impl->host_id;
    d.view = [raw] {
      return make_host_state_view(
          raw->facts(), raw->snapshot(), raw->provider_snapshot(), kHostVersion,
          std::chrono::system_clock::now(),
          // v1 ids as host.get reports them (v1_control is set before this thread starts).
          [raw](const std::string& key) { return raw->v1_control->component_id_of(key); },
          [raw](const std::string& key, const std::string& link) {
            return raw->v1_control->provider_id_of(key, link);
          },
          [raw](const std::string& key) { return raw->metadata->claims(key); });
    };
    d.modify = [raw](const std::string& key, const auto& change) -> Status {
      // Disconnected (the server gone, or reconnecting): fail now rather than wait out a KV
      // round trip's timeout, so a stopping host whose NATS server is gone stops promptly; the
      // writer retries after a reconnect.
      if (!raw->ctl->connected())
        return fail(Code::kUnavailable, "wadm_state: not connected to NATS");
      if (!raw->state_kv) {  // writer thread only
        auto kv = lattice::KvStore::open(*raw->ctl, std::string(topics::kWadmStateBucket), true, {},
                                         raw->js_domain());
        if (!kv) return fail(kv.error());
        raw->state_kv = std::make_unique<lattice::KvStore>(std::move(*kv));
      }
      return raw->state_kv->modify(key, change);
    };
    impl->lattice_state = std::make_unique<LatticeStateWriter>(std::move(d));
  }
  {
    MetadataCacheDeps d;
    d.ctl = impl->ctl_bus.get();
    d.rpc = impl->rpc_bus.get();
    d.emit = [raw](std::string_view type, const json& data, bool linkdef_source) {
      raw->emit(type, data, linkdef_source);
    };
    d.post = [raw](std::function<void()> task) { return raw->ctl_pool->post(std::move(task)); };
    // Set before the watch starts (metadata->open() below); read by control pool threads.
    d.link_changed = [raw](const LinkDefinition& link, bool set) {
      if (raw->builtin_http) raw->builtin_http->link_changed(link, set);
    };
    d.lattice_prefix = cfg.lattice_prefix;
    d.js_domain = impl->js_domain();
    impl->metadata = std::make_unique<MetadataCache>(std::move(d));
  }
  impl->payloads = std::make_unique<ObjectPayloadStore>(*impl->objects);
  {
    RpcEventPublisher::Options o;
    o.source = impl->host_id;
    const std::string subject = topics::rpc_events(cfg.lattice_prefix);
    impl->rpc_events = std::make_unique<RpcEventPublisher>(
        o, [raw, subject](const std::string& event, const lattice::Headers& headers) {
          auto st = raw->ctl->publish(subject, event, headers);
          if (!st) spdlog::debug("Failed to publish invocation event: {}", st.error().message);
        });
  }
  {
    RpcDispatcherDeps d;
    d.rpc = impl->rpc_bus.get();
    d.objects = impl->payloads.get();
    d.metadata = impl->metadata.get();
    d.policy = impl->policy.get();
    d.replay = impl->replay.get();
    d.cluster_key = &impl->id.cluster_key;
    d.cluster_public_key = impl->cluster_pk;
    d.cluster_issuers = impl->id.cluster_issuers;
    d.lattice_prefix = cfg.lattice_prefix;
    d.rpc_timeout = std::chrono::milliseconds(cfg.rpc_timeout_ms);
    d.rpc_event = [raw](bool ok, const json& data) { raw->emit_rpc_event(ok, data); };
    // Read at call time: the actor supervisor is created below, before any invocation runs.
    d.call_local = [raw, timeout = d.rpc_timeout](
                       const std::string& key, const rpc::WasmCloudEntity& origin,
                       std::string_view operation, std::span<const std::uint8_t> payload) {
      LocalInvocation inv{
          origin, std::string(operation), Bytes(payload.begin(), payload.end()), {}};
      return raw->actors->call_local(key, std::move(inv), timeout);
    };
    impl->dispatcher = std::make_unique<RpcDispatcher>(std::move(d));
  }
  {
    ActorSupervisorDeps d;
    d.rpc = impl->rpc_bus.get();
    d.metadata = impl->metadata.get();
    d.policy = impl->policy.get();
    d.emit = [raw](std::string_view type, const json& data, bool linkdef_source) {
      raw->emit(type, data, linkdef_source);
    };
    d.fetch = [raw](const std::string& ref) { return raw->fetch_artifact(ref, false); };
    d.load = [raw](const Bytes& module, const std::string& name) {
      return raw->engine->load(module, name);
    };
    d.post_rpc = [raw](std::function<void()> task) { return raw->rpc_pool->post(std::move(task)); };
    d.run = [raw](const InvocationTarget& target, const lattice::Message& m) {
      // Continue the caller's trace (traceparent header) or start one; logs and events carry it.
      trace::Scope trace_scope(lattice::trace_for(m));
      (void)raw->dispatcher->handle(target, m.data(), m.reply());
    };
    d.run_local = [raw](const InvocationTarget& target, LocalInvocation& inv) {
      inv.done(raw->dispatcher->invoke_local(target, inv.origin, inv.operation, inv.payload));
    };
    d.reply_not_running = [raw](const std::string& key, const lattice::Message& m) {
      raw->dispatcher->reply_not_running(key, m.reply());
    };
    d.metrics_for = [raw](const std::string& key) { return &raw->metrics.actor(key); };
    d.host_id = impl->host_id;
    d.lattice_prefix = cfg.lattice_prefix;
    d.allow_file_load = cfg.allow_file_load;
    d.max_instances = cfg.max_instances;
    impl->actors = std::make_unique<ActorSupervisor>(std::move(d));
  }

  {
    ProviderSupervisorDeps d;
    d.emit = [raw](std::string_view type, const json& data) { raw->emit(type, data); };
    d.rpc = impl->rpc.get();
    d.links_for = [raw](const std::string& key, const std::string& link) {
      return raw->metadata->links_for(key, link);
    };
    auto& hd = d.base_host_data;  // 3.6.2
    hd.host_id = impl->host_id;
    hd.lattice_rpc_prefix = cfg.lattice_prefix;
    hd.lattice_rpc_user_jwt = cfg.prov_rpc.jwt;
    hd.lattice_rpc_user_seed = cfg.prov_rpc.seed;
    hd.lattice_rpc_url = cfg.prov_rpc.address();  // the preferred server; libnats finds the rest
    hd.lattice_rpc_tls = cfg.prov_rpc.tls;
    hd.invocation_seed = impl->id.cluster_key.seed();
    hd.cluster_issuers = impl->id.cluster_issuers;
    hd.default_rpc_timeout_ms = static_cast<std::uint64_t>(std::max(1, cfg.rpc_timeout_ms));
    hd.js_domain = cfg.js_domain;
    hd.structured_logging = cfg.structured_logging;
    hd.log_level = cfg.log_level;
    d.lattice_prefix = cfg.lattice_prefix;
    d.rpc_timeout = std::chrono::milliseconds(std::max(1, cfg.rpc_timeout_ms));
    impl->providers = std::make_unique<ProviderSupervisor>(std::move(d));
  }

  {
    BuiltinHttpDeps d;
    d.invoke_local = [raw](const std::string& key, std::shared_ptr<LocalInvocation> inv) {
      return raw->actors->admit_local(key, std::move(inv));
    };
    if (cfg.builtin_http_inline) {
      d.try_run_here = [raw](const std::string& key, LocalInvocation& inv) {
        return raw->actors->try_run_here(key, inv);
      };
    }
    d.invoke_remote = [raw](const rpc::WasmCloudEntity& origin, const std::string& key,
                            std::string_view operation, Bytes payload) {
      return raw->dispatcher->call_actor(origin, key, operation, std::move(payload));
    };
    d.post_rpc = [raw](std::function<void()> task) { return raw->rpc_pool->post(std::move(task)); };
    d.links_for = [raw](const std::string& key, const std::string& link) {
      return raw->metadata->links_for(key, link);
    };
    d.emit = [raw](std::string_view type, const json& data, bool linkdef_source) {
      raw->emit(type, data, linkdef_source);
    };
    d.default_timeout = std::chrono::milliseconds(std::max(1, cfg.rpc_timeout_ms));
    impl->builtin_http = std::make_unique<BuiltinHttpServer>(std::move(d));
  }

  impl->metadata->open();
  {
    ControlServerDeps d;
    d.ctl = impl->ctl_bus.get();
    d.actors = impl->actors.get();
    d.metadata = impl->metadata.get();
    d.policy = impl->policy.get();
    d.creds = &impl->creds;
    d.post_control = [raw](std::function<void()> task) {
      return raw->ctl_pool->post(std::move(task));
    };
    d.post_lifecycle = [raw](std::function<void()> task) {
      return raw->lifecycle_pool->post(std::move(task));
    };
    d.emit = [raw](std::string_view type, const json& data, bool linkdef_source) {
      raw->emit(type, data, linkdef_source);
    };
    d.facts = [raw] { return raw->facts(); };
    d.providers = [raw] { return raw->provider_snapshot(); };
    d.provider_supervised = [raw](const std::string& key, const std::string& link) {
      return raw->provider_supervised(key, link);
    };
    d.stop_provider = [raw](const std::string& key, const std::string& link) {
      raw->stop_provider(key, link);
    };
    d.launch_provider = [raw](const StartProviderRequest& req) { raw->launch_provider(req); };
    d.resolve_provider_key = [raw](const std::string& ref) {
      return raw->resolve_provider_key(ref);
    };
    d.heartbeat = [raw] { raw->heartbeat(); };
    d.request_stop = [raw] { raw->request_stop(); };
    d.host_id = impl->host_id;
    d.lattice_prefix = cfg.lattice_prefix;
    d.ctl_topic_prefix = cfg.ctl_topic_prefix;
    d.policy_changes_topic = cfg.policy_changes_topic;
    d.labels = cfg.labels;
    d.current_labels = [raw] { return raw->current_labels(); };
    d.allow_file_load = cfg.allow_file_load;
    impl->control = std::make_unique<ControlServer>(std::move(d));
  }
  if (auto st = impl->control->subscribe(); !st) return fail(st.error());
  {
    V1ControlServerDeps d;
    d.ctl = impl->ctl_bus.get();
    d.actors = impl->actors.get();
    d.metadata = impl->metadata.get();
    d.creds = &impl->creds;
    d.post_control = [raw](std::function<void()> task) {
      return raw->ctl_pool->post(std::move(task));
    };
    d.post_lifecycle = [raw](std::function<void()> task) {
      return raw->lifecycle_pool->post(std::move(task));
    };
    d.facts = [raw] { return raw->facts(); };
    d.providers = [raw] { return raw->provider_snapshot(); };
    d.provider_supervised = [raw](const std::string& key, const std::string& link) {
      return raw->provider_supervised(key, link);
    };
    d.stop_provider = [raw](const std::string& key, const std::string& link) {
      raw->stop_provider(key, link);
    };
    d.launch_provider = [raw](const StartProviderRequest& req) { raw->launch_provider(req); };
    d.resolve_provider_key = [raw](const std::string& ref) {
      return raw->resolve_provider_key(ref);
    };
    d.update_labels = [raw](const std::function<void(StringMap&)>& change) {
      return raw->update_labels(change);
    };
    d.heartbeat = [raw] { raw->heartbeat(); };
    d.request_stop = [raw] { raw->request_stop(); };
    d.host_id = impl->host_id;
    d.lattice_prefix = cfg.lattice_prefix;
    d.ctl_topic_prefix = cfg.ctl_topic_prefix;
    d.version = kHostVersion;
    d.allow_file_load = cfg.allow_file_load;
    impl->v1_control = std::make_unique<V1ControlServer>(std::move(d));
    impl->v1_events.store(impl->v1_control.get(), std::memory_order_release);
  }
  if (auto st = impl->v1_control->subscribe(); !st) return fail(st.error());
  {
    V1LinkServiceDeps d;
    d.ctl = impl->ctl.get();
    d.metadata = impl->metadata.get();
    d.post = [raw](std::function<void()> task) { return raw->ctl_pool->post(std::move(task)); };
    d.lattice = cfg.lattice_prefix;
    d.host_id = impl->host_id;
    d.js_domain = impl->js_domain();
    d.actor_id = [raw](const std::string& key) { return raw->v1_control->component_id_of(key); };
    d.provider_id = [raw](const std::string& key, const std::string& link) {
      return raw->v1_control->provider_id_of(key, link);
    };
    impl->v1_links = std::make_unique<V1LinkService>(std::move(d));
    if (auto st = impl->v1_links->open(); !st)
      spdlog::warn("v1 links and named config unavailable: {}", st.error().message);
  }
  if (cfg.config_service_enabled) impl->control->query_config_service();
  impl->emit(ev::kHostStarted, ed::host_started(cfg.labels, cfg.friendly_name, kHostVersion));
  impl->lattice_state->start();
  (void)impl->ctl->flush(std::chrono::seconds(2));
  spdlog::info("Host {} ({}) started on lattice '{}' (control {}, rpc {})", impl->host_id,
               cfg.friendly_name, cfg.lattice_prefix, cfg.ctl.url(), cfg.rpc.url());
  impl->maintenance = std::thread([raw] { raw->maintenance_loop(); });
  return std::unique_ptr<Host>(new Host(std::move(impl)));
}

void Host::stop() {
  if (!impl_) return;
  impl_->request_stop();
  if (impl_->maintenance.joinable()) {
    if (impl_->maintenance.get_id() == std::this_thread::get_id()) {
      impl_->maintenance.detach();
    } else {
      impl_->maintenance.join();
    }
  }
  impl_->do_stop();
}

bool Host::wait_stopped(std::chrono::milliseconds timeout) {
  MutexLock lock(impl_->stop_mu);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->stopped) {
    if (lock.wait_until(impl_->stop_cv, deadline) == std::cv_status::timeout) return impl_->stopped;
  }
  return true;
}

bool Host::stopping() const { return impl_->stopping.load(); }
const std::string& Host::host_id() const { return impl_->host_id; }
const std::string& Host::cluster_key() const { return impl_->cluster_pk; }
const std::string& Host::lattice() const { return impl_->cfg.lattice_prefix; }
const std::string& Host::friendly_name() const { return impl_->cfg.friendly_name; }
std::vector<ActorInfo> Host::actors() const { return impl_->snapshot(); }

}  // namespace wc::host
