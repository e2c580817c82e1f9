// Chunking of large invocations through the JetStream object store (actor-rpc-providers.md 3.6,
// 2.5, 4.4 step 4.6/4.8) end to end: a `wasmcloud host` process on a real nats-server with its
// default max_payload (1 MiB) and JetStream, the real signed echo actor, a "forwarder" actor
// built here (WAT, signed in the test) that passes its request to echo through __host_call, and
// the httpserver provider from the build's archive. Objects are checked in OBJ_default through
// the JetStream API. The tests share one host and run in declaration order.
#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "httpserver/server.h"
#include "lattice/nats.h"
#include "lattice/objstore.h"
#include "lattice/topics.h"
#include "oci/client.h"
#include "par/par.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wat.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace topics = lattice::topics;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";

/// An actor that forwards its operation and payload to echo (actor-to-actor by key, 2.4) and
/// returns echo's answer (or echo's error as its own).
std::string forwarder_wat() {
  return std::string(R"((module
  (import "wasmbus" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wasmbus" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wasmbus" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wasmbus" "__host_call"
    (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasmbus" "__host_response_len" (func $host_response_len (result i32)))
  (import "wasmbus" "__host_response" (func $host_response (param i32)))
  (import "wasmbus" "__host_error_len" (func $host_error_len (result i32)))
  (import "wasmbus" "__host_error" (func $host_error (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "default")
  (data (i32.const 32) ")") +
         kEcho + R"(")
  (func $ensure (param $end i32)
    (local $pages i32)
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then unreachable)))))
  (func (export "__guest_call") (param $op_len i32) (param $len i32) (result i32)
    (local $out i32) (local $n i32)
    (call $ensure (i32.add (i32.const 4096) (local.get $len)))
    (call $guest_request (i32.const 1024) (i32.const 4096))
    (local.set $out (i32.add (i32.const 4096) (local.get $len)))
    (if (i32.ne (call $host_call (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 56)
                  (i32.const 1024) (local.get $op_len) (i32.const 4096) (local.get $len))
                (i32.const 1))
      (then
        (local.set $n (call $host_error_len))
        (call $ensure (i32.add (local.get $out) (local.get $n)))
        (call $host_error (local.get $out))
        (call $guest_error (local.get $out) (local.get $n))
        (return (i32.const 0))))
    (local.set $n (call $host_response_len))
    (call $ensure (i32.add (local.get $out) (local.get $n)))
    (call $host_response (local.get $out))
    (call $guest_response (local.get $out) (local.get $n))
    (i32.const 1)))
)";
}

/// HttpRequest (7.2) POST / with `body`.
Bytes http_request(const Bytes& body) {
  httpserver::HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.body = body;
  return httpserver::encode_http_request(r);
}

/// A body of `n` bytes, every one 'a' (97), so echo's JSON is `97,` per byte.
Bytes body_of(std::size_t n) { return Bytes(n, 'a'); }

/// Checks that `http_response` is echo's answer to http_request(body): status 200, JSON body
/// whose `body` array has body.size() entries of 97.
void expect_echo_of(const Bytes& http_response, const Bytes& body) {
  auto r = httpserver::decode_http_response(http_response);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status_code, 200);
  auto j = json::parse(r->body.begin(), r->body.end(), nullptr, false);
  ASSERT_TRUE(j.is_object());
  ASSERT_TRUE(j["body"].is_array());
  ASSERT_EQ(j["body"].size(), body.size());
  EXPECT_EQ(j["body"].front(), 97);
  EXPECT_EQ(j["body"].back(), 97);
  EXPECT_EQ(j["method"], "POST");
}

class Chunking : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<lattice::ObjectStore> store;
  static inline std::unique_ptr<testing::EventLog> events;
  static inline lattice::Subscription events_sub;
  static inline std::optional<wascap::KeyPair> cluster;
  static inline std::string host_id, dir, forwarder, http_key, http_ref;

  static void push(const std::string& ref, const Bytes& bytes, oci::ArtifactKind kind) {
    oci::PushOptions po;
    po.kind = kind;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, bytes, po);
    ASSERT_TRUE(r) << r.error().message;
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-chunk-it");
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    auto echo_bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo_bytes);
    push(registry->host() + "/echo:1", *echo_bytes, oci::ArtifactKind::kActor);
    std::string wat_error;
    auto fwd = wasm::testing::wat_to_wasm(forwarder_wat(), &wat_error);
    ASSERT_FALSE(fwd.empty()) << wat_error;
    wascap::SignOptions so;
    so.name = "forwarder";
    auto signed_fwd = wascap::sign_module(fwd, wascap::KeyPair::generate(wascap::KeyType::kAccount),
                                          wascap::KeyPair::generate(wascap::KeyType::kModule), so);
    ASSERT_TRUE(signed_fwd) << signed_fwd.error().message;
    forwarder = signed_fwd->claims.sub;
    push(registry->host() + "/forwarder:1", signed_fwd->module, oci::ArtifactKind::kActor);
    const std::string pdir = std::string(WC_BINARY_DIR) + "/providers/";
    auto archive = par::load_archive_file(pdir + "httpserver.par.gz");
    ASSERT_TRUE(archive);
    http_key = archive->claims.sub;
    http_ref = registry->host() + "/httpserver:0.1.0";
    push(http_ref, *read_file(pdir + "httpserver.par.gz"), oci::ArtifactKind::kProvider);

    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    auto host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = host_key.public_key();
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                                 registry->host(), "--log-level", "debug", "--oci-cache-dir",
                                 dir + "/oci"},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key.seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster->seed(), "TMPDIR=" + dir});
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    auto s = lattice::ObjectStore::open(*nc, "default", {}, 5s);
    ASSERT_TRUE(s) << s.error().to_string();
    store = std::make_unique<lattice::ObjectStore>(std::move(*s));
    events = std::make_unique<testing::EventLog>();
    auto sub = testing::record_events(*nc, *events);
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    ASSERT_TRUE(testing::wait_host_answers(*nc, host_id)) << "host did not answer; log in " << dir;
    start_actor("echo", kEcho);
    start_actor("forwarder", forwarder);
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    if (host_proc) host_proc->stop(15);
    host_proc.reset();
    store.reset();
    nc.reset();
    registry.reset();
    nats.reset();
  }

  static json request(const std::string& subject, const std::string& body,
                      std::chrono::milliseconds timeout = 5s) {
    return testing::ctl_request(*nc, subject, body, timeout);
  }
  static json cmd(const std::string& op, const json& body) {
    return testing::host_cmd(*nc, host_id, op, body.dump());
  }
  static json inventory() { return testing::host_inventory(*nc, host_id); }
  static void start_actor(const std::string& name, const std::string& key) {
    ASSERT_EQ(cmd("scale", {{"actor_id", key},
                            {"actor_ref", registry->host() + "/" + name + ":1"},
                            {"count", 1}})["accepted"],
              true);
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      const json inv = inventory();
      for (const auto& a : inv["actors"])
        if (a["id"] == key) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "actor " << name << " did not start; log in " << dir;
  }

  /// Result of one invocation sent as a wasmbus-rpc sender would.
  struct Call {
    std::string id;
    rpc::InvocationResponse resp;
    std::size_t reply_msg = 0;  ///< size of the msg on the wire
  };
  /// Sends `payload` to `actor`; the payload goes to the object store when above
  /// `chunk_above` (unless `store_object` is false: a broken sender).
  static Call invoke(const std::string& actor, const Bytes& payload, std::size_t chunk_above,
                     bool store_object = true) {
    Call call;
    rpc::SignOptions so;
    so.chunk_threshold = SIZE_MAX;
    auto inv = rpc::make_invocation(*cluster, rpc::actor_entity("system"), rpc::actor_entity(actor),
                                    "HttpServer.HandleRequest", payload, cluster->public_key(), so);
    EXPECT_TRUE(inv);
    call.id = inv->id;
    if (inv->msg.size() > chunk_above) {
      if (store_object) {
        EXPECT_TRUE(store->put(inv->id, inv->msg));
      }
      inv->msg.clear();
    }
    auto reply =
        nc->request(topics::rpc_actor("default", actor), rpc::encode_invocation(*inv), 30s);
    EXPECT_TRUE(reply) << reply.error().to_string() << "; log in " << dir;
    if (!reply) return call;
    auto resp = rpc::decode_response(reply->data());
    EXPECT_TRUE(resp);
    if (resp) call.resp = std::move(*resp);
    call.reply_msg = call.resp.msg.size();
    return call;
  }
  /// The full result of a successful call: msg, or the `<id>-r` object (checked to exist, then
  /// read and deleted).
  static Bytes result_of(const Call& call) {
    if (!(call.resp.content_length && *call.resp.content_length > call.resp.msg.size()))
      return call.resp.msg;
    auto full = store->take(topics::obj_response_name(call.id));
    EXPECT_TRUE(full) << full.error().to_string();
    return full ? *full : Bytes{};
  }

  /// Stream state of OBJ_default restricted to `filter`: subject -> message count.
  static std::map<std::string, int> subjects(const std::string& filter) {
    auto r = nc->request("$JS.API.STREAM.INFO.OBJ_default",
                         json{{"subjects_filter", filter}}.dump(), 5s);
    std::map<std::string, int> out;
    if (!r) return out;
    auto j = json::parse(r->text(), nullptr, false);
    if (j.is_object() && j["state"].contains("subjects"))
      for (const auto& [s, n] : j["state"]["subjects"].items()) out[s] = n.get<int>();
    return out;
  }
  /// The meta JSON of `name` (null when the object never existed).
  static json meta(const std::string& name) {
    auto r =
        nc->request("$JS.API.STREAM.MSG.GET.OBJ_default",
                    json{{"last_by_subj", topics::obj_meta_subject("default", name)}}.dump(), 5s);
    if (!r) return nullptr;
    auto j = json::parse(r->text(), nullptr, false);
    if (!j.is_object() || !j.contains("message")) return nullptr;
    auto data = base64_decode(j["message"]["data"].get<std::string>());
    if (!data) return nullptr;
    return json::parse(to_string(*data), nullptr, false);
  }
};

TEST_F(Chunking, InlineRequestLargerReplyComesThroughTheObjectStore) {
  // 600 KiB is below every request threshold, so the request travels inline; echo's JSON
  // answer (~1.8 MB) is above 900 KiB and comes back as `<id>-r`.
  const Bytes body = body_of(600 * 1024);
  auto call = invoke(kEcho, http_request(body), rpc::kSdkChunkThreshold);
  ASSERT_FALSE(call.resp.failed()) << *call.resp.error;
  EXPECT_EQ(call.reply_msg, 0u);
  ASSERT_TRUE(call.resp.content_length);
  EXPECT_GT(*call.resp.content_length, rpc::kSdkChunkThreshold);
  EXPECT_TRUE(meta(call.id).is_null());  // the request never went to the store
  // The reply object exists until the caller reads it.
  EXPECT_EQ(meta(topics::obj_response_name(call.id))["deleted"], false);
  const Bytes result = result_of(call);
  EXPECT_EQ(result.size(), *call.resp.content_length);
  expect_echo_of(result, body);
  EXPECT_EQ(meta(topics::obj_response_name(call.id))["deleted"], true);
  EXPECT_TRUE(subjects("$O.default.C.>").empty());
}

TEST_F(Chunking, TwoMebibyteBodyIsChunkedBothWays) {
  const Bytes body = body_of(2 << 20);
  auto call = invoke(kEcho, http_request(body), rpc::kSdkChunkThreshold);
  ASSERT_FALSE(call.resp.failed()) << *call.resp.error;
  EXPECT_EQ(call.reply_msg, 0u);
  // The host read the request object and deleted it.
  const json req_meta = meta(call.id);
  ASSERT_TRUE(req_meta.is_object());
  EXPECT_EQ(req_meta["deleted"], true);
  EXPECT_EQ(req_meta["size"], 0);
  expect_echo_of(result_of(call), body);
  EXPECT_TRUE(subjects("$O.default.C.>").empty());
}

TEST_F(Chunking, SameHostActorCallTakesNoObjectAndOnlyTheReplyIsChunked) {
  // The forwarder's host call to echo, which runs on the same host, is made in-process (issue
  // #14.5): nothing of it goes through the object store; only the forwarder's reply, above the
  // 900 KiB threshold, is chunked.
  const auto before = subjects("$O.default.M.>");
  const Bytes body = body_of(800 * 1024);
  auto call = invoke(forwarder, http_request(body), rpc::kSdkChunkThreshold);
  ASSERT_FALSE(call.resp.failed()) << *call.resp.error;
  expect_echo_of(result_of(call), body);
  std::size_t added = 0;
  for (const auto& [subject, n] : subjects("$O.default.M.>")) added += !before.contains(subject);
  EXPECT_EQ(added, 1u);
}

TEST_F(Chunking, ActorOriginatedCallsAreChunkedAbove700KiB) {
  // Echo on a second host only, so the forwarder's call crosses the lattice. 800 KiB travels
  // inline to the forwarder (below 900 KiB); its host call to echo is above the host's 700 KiB
  // threshold, so the host chunks it; echo's host chunks its reply, the forwarder's host reads
  // it, and the forwarder's reply is chunked again: three objects, all deleted once read.
  auto second_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
  const std::string second_id = second_key.public_key();
  testing::ChildProcess second(
      std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                               "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                               registry->host(), "--log-level", "debug", "--oci-cache-dir",
                               dir + "/oci2"},
      dir + "/host2.log",
      std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + second_key.seed(),
                               "WASMCLOUD_CLUSTER_SEED=" + cluster->seed(), "TMPDIR=" + dir});
  ASSERT_TRUE(testing::wait_host_answers(*nc, second_id)) << "second host; log in " << dir;
  auto scale_echo = [&](const std::string& host, int count) {
    ASSERT_EQ(
        testing::host_cmd(
            *nc, host, "scale",
            json{{"actor_id", kEcho}, {"actor_ref", registry->host() + "/echo:1"}, {"count", count}}
                .dump())["accepted"],
        true);
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      std::size_t n = 0;
      const json inv = testing::host_inventory(*nc, host);
      for (const auto& a : inv["actors"])
        if (a["id"] == kEcho) n = a["instances"].size();
      if (n == static_cast<std::size_t>(count)) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "echo did not reach " << count << " on " << host;
  };
  scale_echo(second_id, 1);
  scale_echo(host_id, 0);
  const auto before = subjects("$O.default.M.>");
  const Bytes body = body_of(800 * 1024);
  auto call = invoke(forwarder, http_request(body), rpc::kSdkChunkThreshold);
  ASSERT_FALSE(call.resp.failed()) << *call.resp.error;
  EXPECT_TRUE(meta(call.id).is_null());
  expect_echo_of(result_of(call), body);
  auto after = subjects("$O.default.M.>");
  std::vector<std::string> added;
  for (const auto& [subject, n] : after)
    if (!before.contains(subject)) added.push_back(subject);
  EXPECT_EQ(added.size(), 3u);
  for (const auto& subject : added) {
    auto r = nc->request("$JS.API.STREAM.MSG.GET.OBJ_default",
                         json{{"last_by_subj", subject}}.dump(), 5s);
    ASSERT_TRUE(r);
    auto j = json::parse(r->text());
    auto data = base64_decode(j["message"]["data"].get<std::string>());
    ASSERT_TRUE(data);
    EXPECT_EQ(json::parse(to_string(*data))["deleted"], true) << subject;
  }
  EXPECT_TRUE(subjects("$O.default.C.>").empty());
  // Back to the suite's shape: echo on the first host only.
  scale_echo(host_id, 1);
  second.stop(15);
}

TEST_F(Chunking, SmallHostCallStaysInline) {
  const auto before = subjects("$O.default.M.>");
  const Bytes body = body_of(1000);
  auto call = invoke(forwarder, http_request(body), rpc::kSdkChunkThreshold);
  ASSERT_FALSE(call.resp.failed()) << *call.resp.error;
  EXPECT_GT(call.reply_msg, 0u);
  expect_echo_of(call.resp.msg, body);
  EXPECT_EQ(subjects("$O.default.M.>").size(), before.size());
}

TEST_F(Chunking, ChunkedInvocationWithoutObjectIsAClearErrorAndHostServesTheNext) {
  auto call = invoke(kEcho, http_request(body_of(1 << 20)), rpc::kSdkChunkThreshold,
                     /*store_object=*/false);
  ASSERT_TRUE(call.resp.failed());
  EXPECT_EQ(call.resp.error->rfind(std::string(lattice::kChunkReadFailedPrefix) + call.id, 0), 0u)
      << *call.resp.error;
  EXPECT_EQ(call.resp.invocation_id, call.id);
  const Bytes body = body_of(5);
  auto next = invoke(kEcho, http_request(body), rpc::kSdkChunkThreshold);
  ASSERT_FALSE(next.resp.failed()) << *next.resp.error;
  expect_echo_of(next.resp.msg, body);
}

TEST_F(Chunking, CorruptObjectIsAClearError) {
  // The object's meta claims a digest its content does not have.
  const Bytes payload = http_request(body_of(1 << 20));
  rpc::SignOptions so;
  so.chunk_threshold = SIZE_MAX;
  auto inv = rpc::make_invocation(*cluster, rpc::actor_entity("system"), rpc::actor_entity(kEcho),
                                  "HttpServer.HandleRequest", payload, cluster->public_key(), so);
  ASSERT_TRUE(inv);
  ASSERT_TRUE(store->put(inv->id, payload));
  json m = meta(inv->id);
  m["digest"] = "SHA-256=AAAA";
  ASSERT_TRUE(nc->publish(topics::obj_meta_subject("default", inv->id), m.dump(),
                          {{"Nats-Rollup", "sub"}}));
  ASSERT_TRUE(nc->flush());
  inv->msg.clear();
  auto reply = nc->request(topics::rpc_actor("default", kEcho), rpc::encode_invocation(*inv), 30s);
  ASSERT_TRUE(reply);
  auto resp = rpc::decode_response(reply->data());
  ASSERT_TRUE(resp && resp->failed());
  EXPECT_EQ(resp->error->rfind(std::string(lattice::kChunkReadFailedPrefix) + inv->id, 0), 0u)
      << *resp->error;
  EXPECT_NE(resp->error->find("digest"), std::string::npos) << *resp->error;
}

TEST_F(Chunking, HttpServerPassesTwoMebibytesAndKeeps413AboveMaxContentLen) {
  auto mark = events->mark();
  auto ack = cmd("lp", {{"provider_ref", http_ref}, {"link_name", "default"}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  ASSERT_TRUE(events->wait(
      mark, "provider_started", [&](const json& d) { return d["public_key"] == http_key; }, 20s));
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until &&
         !nc->request("wasmbus.rpc.default." + http_key + ".default.health", "", 200ms))
    std::this_thread::sleep_for(50ms);
  const int port = testing::free_port();
  auto link = request("wasmbus.ctl.default.linkdefs.put",
                      json{{"actor_id", kEcho},
                           {"provider_id", http_key},
                           {"contract_id", "wasmcloud:httpserver"},
                           {"link_name", "default"},
                           {"values", {{"address", "127.0.0.1:" + std::to_string(port)}}}}
                          .dump());
  ASSERT_EQ(link["accepted"], true) << link.dump();
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(60);
  const std::string body(2 << 20, 'a');
  // The listener binds when the link arrives: wait for it.
  for (auto t = std::chrono::steady_clock::now() + 15s;
       std::chrono::steady_clock::now() < t && !cli.Get("/");)
    std::this_thread::sleep_for(100ms);
  auto res = cli.Post("/big", body, "application/octet-stream");
  ASSERT_TRUE(res) << "no HTTP answer; log in " << dir;
  ASSERT_EQ(res->status, 200) << "log in " << dir;
  auto j = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(j.is_object());
  ASSERT_EQ(j["body"].size(), body.size());
  EXPECT_EQ(j["path"], "/big");
  EXPECT_EQ(j["body"].back(), 97);
  // Above the default max_content_len (10 MiB) the provider still refuses.
  auto big = cli.Post("/big", std::string((10 << 20) + 1, 'a'), "application/octet-stream");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
}

}  // namespace
}  // namespace wc
