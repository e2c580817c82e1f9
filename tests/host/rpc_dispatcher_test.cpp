// RpcDispatcher and InvocationAuthorizer (src/host/rpc_dispatcher.h, authorization.h) against
// fakes: a fake guest module, a FakeBus for replies and host calls, a map as the object store
// and a scripted policy service. Invocations are really signed and validated.
#include "host/rpc_dispatcher.h"

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include "fakes.h"
#include "host/builtins.h"
#include "host/errors.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"

namespace wc::host {
namespace {

using nlohmann::json;
using testing::bytes_of;
using testing::FakeBus;
using testing::FakeModule;
using testing::FakePayloadStore;
using testing::Sent;
namespace topics = lattice::topics;

constexpr const char* kLattice = "unit";
constexpr const char* kKv = "wasmcloud:keyvalue";

struct Fixture {
  wascap::KeyPair cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  std::string actor = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  std::string provider = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  FakeBus ctl, rpc;
  FakePayloadStore objects;
  std::unique_ptr<MetadataCache> metadata;
  std::unique_ptr<PolicyManager> policy;
  std::vector<json> policy_requests;
  bool policy_permits = true;
  std::unique_ptr<rpc::ReplayGuard> replay;
  std::vector<std::pair<bool, json>> rpc_events;
  std::shared_ptr<FakeModule> module = std::make_shared<FakeModule>();
  std::unique_ptr<RpcDispatcher> dispatcher;

  explicit Fixture(bool with_policy = false, bool with_replay = false) {
    MetadataCacheDeps md;
    md.ctl = &ctl;
    md.rpc = &rpc;
    md.post = [](std::function<void()>) { return true; };
    md.lattice_prefix = kLattice;
    metadata = std::make_unique<MetadataCache>(std::move(md));
    policy = std::make_unique<PolicyManager>(
        with_policy ? "policy.topic" : "", std::chrono::milliseconds(100), json::object(),
        [this](const std::string&, const std::string& body,
               std::chrono::milliseconds) -> Result<std::string> {
          auto req = json::parse(body);
          policy_requests.push_back(req);
          return json{{"permitted", policy_permits},
                      {"message", policy_permits ? "" : "no"},
                      {"requestId", req.value("requestId", "")}}
              .dump();
        });
    if (with_replay) replay = std::make_unique<rpc::ReplayGuard>(600);
    RpcDispatcherDeps d;
    d.rpc = &rpc;
    d.objects = &objects;
    d.metadata = metadata.get();
    d.policy = policy.get();
    d.replay = replay.get();
    d.cluster_key = &cluster;
    d.cluster_public_key = cluster.public_key();
    d.cluster_issuers = {cluster.public_key()};
    d.lattice_prefix = kLattice;
    d.rpc_event = [this](bool ok, const json& data) { rpc_events.emplace_back(ok, data); };
    dispatcher = std::make_unique<RpcDispatcher>(std::move(d));
  }

  InvocationTarget target(std::vector<std::string> caps = {kKv}) const {
    InvocationTarget t;
    t.actor_key = actor;
    t.instance_id = "instance-1";
    t.claims.sub = actor;
    t.claims.iss = "AISSUER";
    t.claims.caps = std::move(caps);
    t.module = module;
    return t;
  }

  /// A signed invocation from the provider (linked under kKv) to the actor.
  rpc::Invocation from_provider(Bytes msg = bytes_of("ping"),
                                const wascap::KeyPair* signer = nullptr) const {
    auto inv = rpc::make_invocation(
        signer ? *signer : cluster, rpc::provider_entity(provider, kKv, "default"),
        rpc::actor_entity(actor), "Handler.Handle", std::move(msg), cluster.public_key());
    EXPECT_TRUE(inv) << inv.error().message;
    return *inv;
  }

  rpc::InvocationResponse run(const rpc::Invocation& inv, const InvocationTarget& t) {
    return dispatcher->handle(t, rpc::encode_invocation(inv), "_INBOX.reply");
  }

  /// The reply the fake bus saw last, decoded.
  rpc::InvocationResponse last_reply() const {
    auto sent = rpc.published();
    EXPECT_FALSE(sent.empty());
    EXPECT_EQ(sent.back().subject, "_INBOX.reply");
    auto r = rpc::decode_response(sent.back().data);
    EXPECT_TRUE(r);
    return *r;
  }
};

// ------------------------------------------------------------------ authorization decisions

TEST(InvocationAuthorizer, ActorOriginsNeedNoClaim) {
  EXPECT_TRUE(InvocationAuthorizer::check_capability_claim(rpc::actor_entity("MA"), std::nullopt));
}

TEST(InvocationAuthorizer, ProviderOriginNeedsTheContractClaimed) {
  auto origin = rpc::provider_entity("VP", kKv, "default");
  EXPECT_TRUE(InvocationAuthorizer::check_capability_claim(
      origin, std::vector<std::string>{"wasmcloud:httpserver", kKv}));
  auto no = InvocationAuthorizer::check_capability_claim(
      origin, std::vector<std::string>{"wasmcloud:httpserver"});
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().code, Code::kPermissionDenied);
  EXPECT_EQ(no.error().message, std::string(rpc::errors::kMissingCapabilityClaim) + kKv);
  EXPECT_FALSE(InvocationAuthorizer::check_capability_claim(origin, std::nullopt));
  // A link name alone makes the origin a provider too (contract "" is never claimed).
  auto half = InvocationAuthorizer::check_capability_claim(rpc::provider_entity("VP", "", "x"),
                                                           std::vector<std::string>{kKv});
  EXPECT_FALSE(half);
}

TEST(InvocationAuthorizer, ProviderCallNeedsTheContractClaimed) {
  EXPECT_TRUE(InvocationAuthorizer::authorize_provider_call({kKv}, kKv));
  auto no = InvocationAuthorizer::authorize_provider_call({"wasmcloud:httpserver"}, kKv);
  ASSERT_FALSE(no);
  EXPECT_EQ(no.error().message, std::string(rpc::errors::kMissingClaimPrefix) + kKv);
}

TEST(InvocationAuthorizer, PerformInvocationRequestMaps) {
  rpc::Invocation inv;
  inv.origin = rpc::provider_entity("VP", kKv, "default");
  inv.target = rpc::actor_entity("MA");
  auto [source, target] = InvocationAuthorizer::perform_invocation_request(
      inv, json{{"caps", ""}, {"iss", "AP"}}, json{{"caps", kKv}, {"iss", "AA"}});
  EXPECT_EQ(source["publicKey"], "VP");
  EXPECT_EQ(source["contractId"], kKv);
  EXPECT_EQ(source["linkName"], "default");
  EXPECT_EQ(source["issuer"], "AP");
  EXPECT_EQ(source["capabilities"], "");
  EXPECT_TRUE(source["issuedOn"].is_null());
  EXPECT_EQ(source["expired"], false);
  EXPECT_EQ(target["publicKey"], "MA");
  EXPECT_EQ(target["issuer"], "AA");
  EXPECT_EQ(target["contractId"], "");
}

TEST(InvocationAuthorizer, PolicyDeniesUnknownClaimsWithoutAsking) {
  Fixture f(/*with_policy=*/true);
  auto st = f.dispatcher->authorizer().authorize_inbound(f.from_provider(), f.target().claims);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, rpc::errors::kPolicyRejected);
  EXPECT_TRUE(f.policy_requests.empty());
}

TEST(InvocationAuthorizer, ClaimIsCheckedBeforeThePolicy) {
  Fixture f(/*with_policy=*/true);
  f.metadata->put_claims(f.provider, json{{"iss", "AP"}});
  f.metadata->put_claims(f.actor, json{{"iss", "AA"}});
  auto st = f.dispatcher->authorizer().authorize_inbound(f.from_provider(), f.target({}).claims);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, std::string(rpc::errors::kMissingCapabilityClaim) + kKv);
  EXPECT_TRUE(f.policy_requests.empty());
}

// ------------------------------------------------------------------ inbound invocations

TEST(RpcDispatcher, RunsAValidInvocationAndReplies) {
  Fixture f;
  auto inv = f.from_provider(bytes_of("ping"));
  auto resp = f.run(inv, f.target());
  EXPECT_FALSE(resp.failed()) << *resp.error;
  EXPECT_EQ(f.module->calls, 1);
  EXPECT_EQ(f.module->last_operation, "Handler.Handle");
  EXPECT_EQ(f.module->last_payload, bytes_of("ping"));
  auto reply = f.last_reply();
  EXPECT_EQ(reply.msg, bytes_of("pong"));
  EXPECT_EQ(reply.invocation_id, inv.id);
  EXPECT_EQ(reply.instance_id, "instance-1");
  EXPECT_EQ(reply.content_length, 4u);
  ASSERT_EQ(f.rpc_events.size(), 1u);
  EXPECT_TRUE(f.rpc_events[0].first);
  EXPECT_EQ(f.rpc_events[0].second["operation"], "Handler.Handle");
  EXPECT_EQ(f.rpc_events[0].second["bytes"], 4);
  EXPECT_EQ(f.rpc_events[0].second["source"]["contract_id"], kKv);
  EXPECT_TRUE(f.rpc_events[0].second.contains("duration_ms"));
}

TEST(RpcDispatcher, UndecodableInvocationFailsWithoutEvent) {
  Fixture f;
  auto resp = f.dispatcher->handle(f.target(), bytes_of("\xc1 not msgpack"), "_INBOX.reply");
  ASSERT_TRUE(resp.failed());
  EXPECT_EQ(*f.last_reply().error, rpc::errors::kDeserializeInvocation);
  EXPECT_EQ(f.last_reply().invocation_id, "");
  EXPECT_EQ(f.module->calls, 0);
  EXPECT_TRUE(f.rpc_events.empty());
}

TEST(RpcDispatcher, ForeignClusterSignatureIsRefused) {
  Fixture f;
  auto other = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto resp = f.run(f.from_provider(bytes_of("x"), &other), f.target());
  ASSERT_TRUE(resp.failed());
  EXPECT_EQ(resp.error->rfind(rpc::errors::kAntiForgeryPrefix, 0), 0u) << *resp.error;
  EXPECT_EQ(f.module->calls, 0);
  ASSERT_EQ(f.rpc_events.size(), 1u);
  EXPECT_FALSE(f.rpc_events[0].first);
}

TEST(RpcDispatcher, ReplayedInvocationIsRefused) {
  Fixture f(false, /*with_replay=*/true);
  auto inv = f.from_provider();
  EXPECT_FALSE(f.run(inv, f.target()).failed());
  auto again = f.run(inv, f.target());
  ASSERT_TRUE(again.failed());
  EXPECT_EQ(again.error->rfind(rpc::errors::kAntiForgeryPrefix, 0), 0u);
  EXPECT_EQ(f.module->calls, 1);
}

TEST(RpcDispatcher, MissingCapabilityClaimIsRefused) {
  Fixture f;
  auto resp = f.run(f.from_provider(), f.target({"wasmcloud:httpserver"}));
  ASSERT_TRUE(resp.failed());
  EXPECT_EQ(*f.last_reply().error, std::string(rpc::errors::kMissingCapabilityClaim) + kKv);
  EXPECT_FALSE(f.last_reply().content_length);
  EXPECT_EQ(f.module->calls, 0);
}

TEST(RpcDispatcher, PolicyDecidesWithKnownClaims) {
  Fixture f(/*with_policy=*/true);
  f.metadata->put_claims(f.provider, json{{"iss", "AP"}, {"caps", ""}});
  f.metadata->put_claims(f.actor, json{{"iss", "AA"}, {"caps", kKv}});
  EXPECT_FALSE(f.run(f.from_provider(), f.target()).failed());
  ASSERT_EQ(f.policy_requests.size(), 1u);
  EXPECT_EQ(f.policy_requests[0]["action"], "perform_invocation");
  EXPECT_EQ(f.policy_requests[0]["source"]["publicKey"], f.provider);
  EXPECT_EQ(f.policy_requests[0]["target"]["issuer"], "AA");

  Fixture g(/*with_policy=*/true);
  g.policy_permits = false;
  g.metadata->put_claims(g.provider, json{{"iss", "AP"}});
  g.metadata->put_claims(g.actor, json{{"iss", "AA"}});
  auto resp = g.run(g.from_provider(), g.target());
  ASSERT_TRUE(resp.failed());
  EXPECT_EQ(*resp.error, rpc::errors::kPolicyRejected);
  EXPECT_EQ(g.module->calls, 0);
}

TEST(RpcDispatcher, GuestErrorIsAFailedReplyWithZeroLength) {
  Fixture f;
  f.module->error = "boom";
  auto resp = f.run(f.from_provider(), f.target());
  ASSERT_TRUE(resp.failed());
  EXPECT_EQ(*f.last_reply().error, "boom");
  EXPECT_EQ(f.last_reply().content_length, 0u);
  ASSERT_EQ(f.rpc_events.size(), 1u);
  EXPECT_FALSE(f.rpc_events[0].first);
}

TEST(RpcDispatcher, ChunkedPayloadIsReadFromTheStore) {
  Fixture f;
  Bytes big(1000, 'a');
  auto inv = f.from_provider(big);
  f.objects.objects[inv.id] = big;
  inv.msg.clear();  // content_length (1000) > msg: chunked
  EXPECT_FALSE(f.run(inv, f.target()).failed());
  EXPECT_EQ(f.module->last_payload, big);
  EXPECT_TRUE(f.objects.objects.empty());  // taken

  auto missing = f.run(inv, f.target());
  ASSERT_TRUE(missing.failed());
  EXPECT_NE(missing.error->find("not found"), std::string::npos);
}

TEST(RpcDispatcher, LargeResultGoesToTheStore) {
  Fixture f;
  f.module->response = Bytes(rpc::kSdkChunkThreshold + 1, 'z');
  auto inv = f.from_provider();
  auto resp = f.run(inv, f.target());
  EXPECT_FALSE(resp.failed());
  auto reply = f.last_reply();
  EXPECT_TRUE(reply.msg.empty());
  EXPECT_EQ(reply.content_length, rpc::kSdkChunkThreshold + 1);
  ASSERT_TRUE(f.objects.objects.count(topics::obj_response_name(inv.id)));
  EXPECT_EQ(f.objects.objects[topics::obj_response_name(inv.id)].size(),
            rpc::kSdkChunkThreshold + 1);

  Fixture g;
  g.module->response = Bytes(rpc::kSdkChunkThreshold + 1, 'z');
  g.objects.fail_puts = true;
  auto failed = g.run(g.from_provider(), g.target());
  ASSERT_TRUE(failed.failed());
  EXPECT_EQ(g.last_reply().content_length, 0u);
}

TEST(RpcDispatcher, NotRunningReply) {
  Fixture f;
  f.dispatcher->reply_not_running("MGONE", "_INBOX.reply");
  EXPECT_EQ(*f.last_reply().error, std::string(rpc::errors::kNotRunningPrefix) + "MGONE" +
                                       std::string(rpc::errors::kNotRunningSuffix));
  f.dispatcher->reply_not_running("MGONE", "");
  EXPECT_EQ(f.rpc.published().size(), 1u);
}

// ------------------------------------------------------------------ host calls

LinkDefinition kv_link(const Fixture& f) {
  LinkDefinition ld;
  ld.actor_id = f.actor;
  ld.provider_id = f.provider;
  ld.link_name = "default";
  ld.contract_id = kKv;
  ld.id = topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name);
  return ld;
}

wasm::HostCall call_to(std::string_view ns, std::string_view op, std::span<const std::uint8_t> p) {
  return wasm::HostCall{"", ns, op, p};
}

TEST(RpcDispatcher, HostCallWithoutLinkIsNotAuthorized) {
  Fixture f;
  Bytes p = bytes_of("k");
  auto r = f.dispatcher->host_call(f.actor, {kKv}, call_to(kKv, "KeyValue.Get", p));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, std::string(rpc::errors::kHostCallFailedPrefix) +
                                   std::string(rpc::errors::kMissingLinkPrefix) + kKv + " on " +
                                   kLattice);
  EXPECT_TRUE(f.rpc.requests().empty());
}

TEST(RpcDispatcher, HostCallToALinkedProviderNeedsTheClaim) {
  Fixture f;
  f.metadata->put_link(kv_link(f));
  Bytes p = bytes_of("k");
  auto r =
      f.dispatcher->host_call(f.actor, {"wasmcloud:httpserver"}, call_to(kKv, "KeyValue.Get", p));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, std::string(rpc::errors::kHostCallFailedPrefix) +
                                   std::string(rpc::errors::kMissingClaimPrefix) + kKv);
  EXPECT_TRUE(f.rpc.requests().empty());
}

TEST(RpcDispatcher, HostCallToALinkedProviderIsSignedAndRouted) {
  Fixture f;
  f.metadata->put_link(kv_link(f));
  f.rpc.respond_with([&](const Sent& s) -> Result<Bytes> {
    auto inv = rpc::decode_invocation(s.data);
    EXPECT_TRUE(inv);
    EXPECT_TRUE(rpc::validate_invocation(*inv, std::vector<std::string>{f.cluster.public_key()},
                                         wascap::now_seconds()));
    EXPECT_EQ(inv->target.public_key, f.provider);
    EXPECT_EQ(inv->origin.public_key, f.actor);
    EXPECT_EQ(inv->operation, "KeyValue.Get");
    rpc::InvocationResponse resp;
    resp.msg = bytes_of("value");
    return rpc::encode_response(resp);
  });
  Bytes p = bytes_of("k");
  auto r = f.dispatcher->host_call(f.actor, {kKv}, call_to(kKv, "KeyValue.Get", p));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, bytes_of("value"));
  auto reqs = f.rpc.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].subject, topics::rpc_provider(kLattice, f.provider, "default"));
  ASSERT_EQ(f.rpc_events.size(), 1u);
  EXPECT_TRUE(f.rpc_events[0].first);
  EXPECT_EQ(f.rpc_events[0].second["dest"]["contract_id"], kKv);
}

TEST(RpcDispatcher, HostCallFailuresAreHostErrors) {
  Fixture f;
  f.metadata->put_link(kv_link(f));
  Bytes p = bytes_of("k");
  // No responder: request timeout text.
  auto r = f.dispatcher->host_call(f.actor, {kKv}, call_to(kKv, "KeyValue.Get", p));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, std::string(rpc::errors::kHostCallFailedPrefix) +
                                   std::string(rpc::errors::kRequestTimeout));
  // The provider's error.
  f.rpc.respond_with([](const Sent&) -> Result<Bytes> {
    rpc::InvocationResponse resp;
    resp.error = "no such key";
    return rpc::encode_response(resp);
  });
  r = f.dispatcher->host_call(f.actor, {kKv}, call_to(kKv, "KeyValue.Get", p));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, std::string(rpc::errors::kHostCallFailedPrefix) + "no such key");
  // Garbage.
  f.rpc.respond_with([](const Sent&) -> Result<Bytes> { return bytes_of("\xc1"); });
  r = f.dispatcher->host_call(f.actor, {kKv}, call_to(kKv, "KeyValue.Get", p));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, std::string(rpc::errors::kHostCallFailedPrefix) +
                                   std::string(rpc::errors::kDeserializeResponse));
  ASSERT_EQ(f.rpc_events.size(), 3u);
  for (const auto& [ok, data] : f.rpc_events) EXPECT_FALSE(ok);
}

TEST(RpcDispatcher, HostCallToAnActorByAliasNeedsNoClaim) {
  Fixture f;
  const auto other = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  wascap::ActorClaims c;
  c.sub = other;
  c.call_alias = "echoer";
  f.metadata->cache_actor_claims(c);
  f.rpc.respond_with([](const Sent&) -> Result<Bytes> {
    rpc::InvocationResponse resp;
    resp.msg = bytes_of("hi");
    return rpc::encode_response(resp);
  });
  Bytes p = bytes_of("x");
  auto r = f.dispatcher->host_call(f.actor, {}, call_to("echoer", "Echo.Say", p));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(f.rpc.requests().size(), 1u);
  EXPECT_EQ(f.rpc.requests()[0].subject, topics::rpc_actor(kLattice, other));
  auto direct = f.dispatcher->host_call(f.actor, {}, call_to(other, "Echo.Say", p));
  EXPECT_TRUE(direct);
  EXPECT_EQ(f.rpc.requests()[1].subject, topics::rpc_actor(kLattice, other));
}

TEST(RpcDispatcher, LargeHostCallPayloadIsChunked) {
  Fixture f;
  f.metadata->put_link(kv_link(f));
  std::string stored;
  f.rpc.respond_with([&](const Sent& s) -> Result<Bytes> {
    auto inv = rpc::decode_invocation(s.data);
    EXPECT_TRUE(inv && inv->msg.empty() && inv->content_length == rpc::kHostChunkThreshold + 1);
    stored = inv->id;
    return rpc::encode_response(rpc::InvocationResponse{});
  });
  Bytes p(rpc::kHostChunkThreshold + 1, 'q');
  auto r = f.dispatcher->host_call(f.actor, {kKv}, call_to(kKv, "KeyValue.Set", p));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_FALSE(stored.empty());
  ASSERT_TRUE(f.objects.objects.count(stored));
  EXPECT_EQ(f.objects.objects[stored].size(), p.size());
}

TEST(RpcDispatcher, GuestHostCallsReachBuiltinsAndUnknownBuiltinsTrap) {
  Fixture f;
  f.module->call_ns = "wasmcloud:builtin:numbergen";
  f.module->call_operation = "NumberGen.GenerateGuid";
  f.module->call_payload = {};
  EXPECT_FALSE(f.run(f.from_provider(), f.target()).failed());
  ASSERT_TRUE(f.module->host_result && *f.module->host_result);
  auto h = msgpack::unpack(reinterpret_cast<const char*>((*f.module->host_result)->data()),
                           (*f.module->host_result)->size());
  EXPECT_EQ(h.get().as<std::string>().size(), 36u);

  Fixture g;
  g.module->call_ns = "wasmcloud:builtin:nosuch";
  EXPECT_FALSE(g.run(g.from_provider(), g.target()).failed());
  ASSERT_TRUE(g.module->host_result);
  ASSERT_FALSE(*g.module->host_result);
  EXPECT_EQ(g.module->host_result->error().code, Code::kTrap);
  EXPECT_EQ(g.module->host_result->error().message,
            errors::unknown_builtin("wasmcloud:builtin:nosuch"));
}

// ------------------------------------------------------------------ builtins

Bytes range_request(std::uint64_t min, std::uint64_t max) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(2);
  pk.pack(std::string("min"));
  pk.pack(min);
  pk.pack(std::string("max"));
  pk.pack(max);
  return Bytes(buf.data(), buf.data() + buf.size());
}

TEST(Builtins, RandomInRangeStaysInRangeEvenWhenSwapped) {
  for (auto [lo, hi] : {std::pair<std::uint64_t, std::uint64_t>{5, 7}, {7, 5}, {9, 9}}) {
    Bytes p = range_request(lo, hi);
    for (int i = 0; i < 50; ++i) {
      auto r =
          builtin_numbergen(call_to("wasmcloud:builtin:numbergen", "NumberGen.RandomInRange", p));
      ASSERT_TRUE(r) << r.error().message;
      auto v = msgpack::unpack(reinterpret_cast<const char*>(r->data()), r->size())
                   .get()
                   .as<std::uint32_t>();
      EXPECT_GE(v, std::min(lo, hi));
      EXPECT_LE(v, std::max(lo, hi));
    }
  }
}

TEST(Builtins, BadPayloadsAndOperationsTrap) {
  Bytes too_big = range_request(0, 0x1'0000'0000ull);
  auto r = builtin_numbergen(call_to("x", "NumberGen.RandomInRange", too_big));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kTrap);
  EXPECT_EQ(r.error().message.rfind("failed to deserialize range request", 0), 0u);
  Bytes junk = bytes_of("\xc1");
  EXPECT_FALSE(builtin_logging("MA", call_to("x", "Logging.WriteLog", junk)));
  auto op = builtin_logging("MA", call_to("x", "Logging.Nope", junk));
  ASSERT_FALSE(op);
  EXPECT_EQ(op.error().message, errors::unknown_operation("Logging.Nope"));
  EXPECT_FALSE(builtin_numbergen(call_to("x", "NumberGen.Nope", junk)));
}

}  // namespace
}  // namespace wc::host
