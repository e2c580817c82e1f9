// Private registries at host level (claims-oci-par.md 4.4-4.6, control-interface.md 2.4.6 and
// 3.1.3): a real nats-server, Debian's docker-registry twice (tests/support/servers.h) — once
// with htpasswd Basic auth (bcrypt via `htpasswd -B`), once serving HTTPS with a self-signed
// certificate for 127.0.0.1 (tests/support/registry_auth.h) — the real signed echo actor pushed
// with the OCI client, and two `wasmcloud host` processes:
//   * lattice "auth": plain HTTP allowed for the htpasswd registry, no extra CA;
//   * lattice "tls": the registry's certificate configured with --oci-ca-file.
// The tests share the servers and hosts and run in declaration order (one ctest entry).
#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/registry_auth.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kUser = "alice";
constexpr const char* kPassword = "s3cret-pw";
constexpr const char* kHttpServer = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";

/// One host process on its own lattice, with its event log.
struct LatticeHost {
  std::string lattice, host_id, dir;
  std::optional<wascap::KeyPair> cluster;
  std::unique_ptr<testing::ChildProcess> proc;
  testing::EventLog events;
  lattice::Subscription events_sub;
};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

class RegistryAuth : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> auth_reg, tls_reg;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<LatticeHost> plain, trusting;
  static inline std::string dir, echo_key, auth_ref, tls_ref;
  static inline testing::TlsFiles tls;

  static void start_host(LatticeHost& h, const std::string& lattice,
                         std::vector<std::string> extra_args) {
    h.lattice = lattice;
    h.dir = testing::make_temp_dir("wc-regauth-" + lattice);
    h.cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    auto key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    h.host_id = key.public_key();
    auto sub = nc->subscribe("wasmbus.evt." + lattice, [&h](lattice::Message m) {
      auto j = json::parse(m.text(), nullptr, false);
      if (!j.is_discarded()) h.events.add(std::move(j));
    });
    ASSERT_TRUE(sub);
    h.events_sub = std::move(*sub);
    std::vector<std::string> argv = {std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud",
                                     "host",
                                     "--nats-port",
                                     std::to_string(nats->port()),
                                     "--lattice-prefix",
                                     lattice,
                                     "--no-native",
                                     "--log-level",
                                     "debug",
                                     "--oci-cache-dir",
                                     h.dir + "/oci"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    h.proc = std::make_unique<testing::ChildProcess>(
        argv, h.dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + key.seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + h.cluster->seed(), "TMPDIR=" + h.dir});
  }

  static bool wait_up(const LatticeHost& h) {
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      if (inventory(h).contains("host_id")) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-regauth");
    nats = std::make_unique<testing::NatsServer>();
    auto htpasswd = testing::write_htpasswd(dir, kUser, kPassword);
    ASSERT_TRUE(htpasswd) << htpasswd.error().message;
    auth_reg =
        std::make_unique<testing::RegistryServer>(testing::htpasswd_registry_config(*htpasswd));
    auto cert = testing::make_self_signed_cert(dir);
    ASSERT_TRUE(cert) << cert.error().message;
    tls = *cert;
    tls_reg = std::make_unique<testing::RegistryServer>(testing::tls_registry_config(tls));

    auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo);
    auto claims = wascap::extract_claims(*echo, wascap::now_seconds());
    ASSERT_TRUE(claims);
    echo_key = claims->claims.sub;

    // Push with credentials over HTTP, and over HTTPS trusting the self-signed certificate.
    auth_ref = auth_reg->host() + "/echo:0.3.4";
    oci::PushOptions po;
    po.allowed_insecure = {auth_reg->host()};
    po.basic = oci::BasicAuth{kUser, kPassword};
    auto pushed = oci::Client().push(auth_ref, *echo, po);
    ASSERT_TRUE(pushed) << pushed.error().message;
    tls_ref = tls_reg->host() + "/echo:0.3.4";
    auto pushed_tls =
        oci::Client(oci::ClientOptions{.ca_file = tls.certificate}).push(tls_ref, *echo, {});
    ASSERT_TRUE(pushed_tls) << pushed_tls.error().message;

    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    plain = std::make_unique<LatticeHost>();
    trusting = std::make_unique<LatticeHost>();
    start_host(*plain, "auth", {"--allowed-insecure", auth_reg->host()});
    start_host(*trusting, "tls", {"--oci-ca-file", tls.certificate});
    ASSERT_TRUE(wait_up(*plain)) << "host did not answer; log in " << plain->dir;
    ASSERT_TRUE(wait_up(*trusting)) << "host did not answer; log in " << trusting->dir;
  }

  static void TearDownTestSuite() {
    for (auto* h : {plain.get(), trusting.get()}) {
      if (!h) continue;
      h->events_sub.unsubscribe();
      if (h->proc) h->proc->stop(15);
    }
    plain.reset();
    trusting.reset();
    nc.reset();
    tls_reg.reset();
    auth_reg.reset();
    nats.reset();
  }

  static json request(const std::string& subject, const std::string& body,
                      std::chrono::milliseconds timeout = 5s) {
    return testing::ctl_request(*nc, subject, body, timeout);
  }
  static json inventory(const LatticeHost& h) {
    return request("wasmbus.ctl." + h.lattice + ".get." + h.host_id + ".inv", "");
  }
  static size_t instances(const LatticeHost& h) {
    // Kept in a local: a range-for over a member of the temporary would walk a destroyed object.
    const json inv = inventory(h);
    if (!inv.contains("actors") || !inv["actors"].is_array()) return 0;
    for (const auto& a : inv["actors"])
      if (a["id"] == echo_key) return a["instances"].size();
    return 0;
  }
  static json scale(const LatticeHost& h, const std::string& ref, int count) {
    return request("wasmbus.ctl." + h.lattice + ".cmd." + h.host_id + ".scale",
                   json{{"actor_id", echo_key}, {"actor_ref", ref}, {"count", count}}.dump(), 10s);
  }
  static json registries_put(const LatticeHost& h, const json& body) {
    return request("wasmbus.ctl." + h.lattice + ".registries.put", body.dump());
  }

  /// Scale to 1 must be acked and then fail with actor_start_failed whose error is returned
  /// (inspected); nothing may start.
  static std::string expect_start_fails(LatticeHost& h, const std::string& ref) {
    size_t mark = h.events.mark();
    EXPECT_EQ(scale(h, ref, 1), json::parse(R"({"accepted":true,"error":""})"));
    auto failed = h.events.wait(mark, "actor_start_failed", {}, 20s);
    EXPECT_TRUE(failed) << "no actor_start_failed; log in " << h.dir;
    if (!failed) return {};
    EXPECT_EQ((*failed)["data"]["actor_ref"], ref);
    // No half-started actor: no instance event, nothing in the inventory, no RPC subscriber.
    EXPECT_EQ(h.events.count(mark, "actor_started"), 0u);
    EXPECT_EQ(h.events.count(mark, "actors_started"), 0u);
    EXPECT_EQ(instances(h), 0u);
    auto rpc = nc->request("wasmbus.rpc." + h.lattice + "." + echo_key, "x", 500ms);
    EXPECT_FALSE(rpc) << "an RPC subscriber exists for a failed start";
    return (*failed)["data"]["error"].get<std::string>();
  }

  /// Scale to 1, wait for actor_started, invoke echo through RPC, scale back to 0.
  static void expect_start_and_invoke(LatticeHost& h, const std::string& ref) {
    size_t mark = h.events.mark();
    EXPECT_EQ(scale(h, ref, 1), json::parse(R"({"accepted":true,"error":""})"));
    auto started = h.events.wait(mark, "actor_started", {}, 20s);
    ASSERT_TRUE(started) << "no actor_started; log in " << h.dir;
    EXPECT_EQ((*started)["data"]["public_key"], echo_key);
    EXPECT_EQ((*started)["data"]["image_ref"], ref);
    EXPECT_EQ(h.events.count(mark, "actor_start_failed"), 0u);
    // HttpServer.HandleRequest from the httpserver provider entity: echo answers with JSON
    // naming the request path.
    json http_req = {{"method", "GET"},
                     {"path", "/private"},
                     {"queryString", ""},
                     {"header", json::object()},
                     {"body", json::binary(std::vector<std::uint8_t>{})}};
    auto payload = json::to_msgpack(http_req);
    auto inv = rpc::make_invocation(
        *h.cluster, rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        rpc::actor_entity(echo_key), "HttpServer.HandleRequest",
        Bytes(payload.begin(), payload.end()), h.cluster->public_key());
    ASSERT_TRUE(inv) << inv.error().message;
    auto r =
        nc->request("wasmbus.rpc." + h.lattice + "." + echo_key, rpc::encode_invocation(*inv), 5s);
    ASSERT_TRUE(r) << r.error().message;
    auto resp = rpc::decode_response(r->data());
    ASSERT_TRUE(resp) << resp.error().message;
    EXPECT_EQ(resp->error.value_or(""), "");
    std::string body(resp->msg.begin(), resp->msg.end());
    EXPECT_NE(body.find("/private"), std::string::npos) << body;

    mark = h.events.mark();
    EXPECT_EQ(scale(h, ref, 0)["accepted"], true);
    EXPECT_TRUE(h.events.wait(mark, "actor_stopped", {}, 10s));
  }
};

TEST_F(RegistryAuth, AnonymousPullRefused) {
  auto err = expect_start_fails(*plain, auth_ref);
  EXPECT_EQ(err, quoted(std::string(oci::errors::kFetchBytesPrefix) +
                        std::string(oci::errors::kNotAuthorizedPrefix) + "http://" +
                        auth_reg->host() + "/v2/echo/manifests/0.3.4"));
}

TEST_F(RegistryAuth, WrongPasswordRefusedWithClearError) {
  EXPECT_EQ(
      registries_put(
          *plain,
          {{auth_reg->host(),
            {{"registryType", "oci"}, {"username", kUser}, {"password", "not-the-password"}}}}),
      json::parse(R"({"accepted":true,"error":""})"));
  auto err = expect_start_fails(*plain, auth_ref);
  EXPECT_EQ(err, quoted(std::string(oci::errors::kFetchBytesPrefix) +
                        std::string(oci::errors::kNotAuthorizedPrefix) + "http://" +
                        auth_reg->host() + "/v2/echo/manifests/0.3.4"));
  EXPECT_EQ(err.find("not-the-password"), std::string::npos);  // never echoes credentials
}

TEST_F(RegistryAuth, BadRegistriesPutRefused) {
  EXPECT_EQ(
      request("wasmbus.ctl.auth.registries.put", "not json"),
      json::parse(R"({"accepted":false,"error":"Failed to update registry credential map"})"));
}

TEST_F(RegistryAuth, RightCredentialsViaRegistriesPutStartAndInvoke) {
  // The key as a URL: normalised to "127.0.0.1:PORT" (4.5), replacing the wrong entry.
  EXPECT_EQ(
      registries_put(*plain,
                     {{"http://" + auth_reg->host() + "/ignored/path",
                       {{"registryType", "oci"}, {"username", kUser}, {"password", kPassword}}}}),
      json::parse(R"({"accepted":true,"error":""})"));
  expect_start_and_invoke(*plain, auth_ref);
}

TEST_F(RegistryAuth, TlsRegistryWithCaConfiguredSucceeds) {
  expect_start_and_invoke(*trusting, tls_ref);
}

TEST_F(RegistryAuth, TlsRegistryWithoutCaFailsCleanly) {
  auto err = expect_start_fails(*plain, tls_ref);
  const std::string prefix = "\"" + std::string(oci::errors::kFetchBytesPrefix) +
                             "error sending request for url (https://" + tls_reg->host() +
                             "/v2/): ";
  EXPECT_EQ(err.rfind(prefix, 0), 0u) << err;
  EXPECT_NE(err.find("certificate"), std::string::npos) << err;
  // The host is still fine: the plain registry still works with the stored credentials.
  expect_start_and_invoke(*plain, auth_ref);
}

}  // namespace
}  // namespace wc
