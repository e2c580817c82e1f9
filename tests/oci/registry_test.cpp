// OCI client against a real Debian docker-registry on a free loopback port
// (claims-oci-par.md 4.6-4.11, vector 6.3): push/pull round trip, media types, cache, refusals,
// error mapping, blob corruption, htpasswd Basic auth and bearer-token auth with a test token
// server (cpp-httplib + OpenSSL RS256 JWT with an x5c certificate chain).
#include <crypt.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "support/servers.h"

namespace {

using namespace wc::oci;
namespace fs = std::filesystem;
using wc::testing::RegistryServer;

constexpr const char* kEchoManifestDigest =
    "sha256:f0c85a649d42e65a1f76e810d541776395799e24e4f34ea2000085d92cdcd978";
constexpr const char* kEchoLayerDigest =
    "sha256:81b5dd580f946a6812f3ff3eae371214acc8a3e4952105dcd3c237a4421fcc12";

wc::Bytes echo_wasm() {
  auto b = wc::read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  if (!b) throw std::runtime_error("echo.wasm missing");
  return *b;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class Registry : public ::testing::Test {
 protected:
  void SetUp() override { cache_ = wc::testing::make_temp_dir("wc-oci-cache"); }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(cache_, ec);
  }
  PullOptions pull_opts(const RegistryServer& reg) const {
    PullOptions o;
    o.allowed_insecure = {reg.host()};
    o.cache_dir = cache_;
    o.use_env_credentials = false;
    return o;
  }
  static PushOptions push_opts(const RegistryServer& reg) {
    PushOptions o;
    o.allowed_insecure = {reg.host()};
    return o;
  }
  std::string cache_bin(const RegistryServer& reg, const std::string& repo_tag) const {
    return cache_ + "/" + cache_name(reg.host() + "/" + repo_tag) + ".bin";
  }
  std::string cache_;
  Client client_;
};

TEST_F(Registry, PushThenPullRoundTripAndCache) {
  RegistryServer reg;
  const wc::Bytes wasm = echo_wasm();
  const std::string ref = reg.host() + "/echo:0.3.4";
  auto pushed = client_.push(ref, wasm, push_opts(reg));
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  EXPECT_EQ(pushed->manifest_digest, kEchoManifestDigest);

  // The registry stores the manifest with the spec's media types (4.8, 6.3).
  httplib::Client http("127.0.0.1", reg.port());
  auto m = http.Get("/v2/echo/manifests/0.3.4", {{"Accept", std::string(media::kManifestAccept)}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), media::kOciManifest);
  EXPECT_EQ(m->get_header_value("Docker-Content-Digest"), kEchoManifestDigest);
  EXPECT_EQ(m->body, pushed->manifest);
  auto j = nlohmann::json::parse(m->body);
  EXPECT_EQ(j["config"]["mediaType"], media::kActorConfig);
  EXPECT_EQ(j["layers"][0]["mediaType"], media::kActorLayer);
  EXPECT_EQ(j["layers"][0]["digest"], kEchoLayerDigest);
  EXPECT_FALSE(j.contains("mediaType"));

  auto first = client_.pull(ref, pull_opts(reg));
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->bytes, wasm);
  EXPECT_EQ(first->digest, kEchoManifestDigest);
  EXPECT_EQ(first->media_type, media::kActorLayer);
  EXPECT_FALSE(first->from_cache);
  EXPECT_EQ(first->cache_path,
            cache_ + "/127_0_0_1_" + std::to_string(reg.port()) + "_echo_0_3_4.bin");
  EXPECT_EQ(*wc::read_file(first->cache_path), wasm);
  EXPECT_EQ(read_text(cache_ + "/127_0_0_1_" + std::to_string(reg.port()) + "_echo_0_3_4.digest"),
            kEchoManifestDigest);

  auto second = client_.pull(ref, pull_opts(reg));
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(second->bytes, wasm);
  EXPECT_EQ(second->digest, kEchoManifestDigest);

  // Registry gone: the reference behaviour fails even with a warm cache (4.9) ...
  reg.stop();
  auto revalidate = client_.pull(ref, pull_opts(reg));
  ASSERT_FALSE(revalidate);
  EXPECT_EQ(revalidate.error().code, wc::Code::kUnavailable);
  EXPECT_TRUE(revalidate.error().message.starts_with(errors::kFetchManifestPrefix))
      << revalidate.error().message;
  // ... and the offline policy serves the cached bytes.
  PullOptions offline = pull_opts(reg);
  offline.cache = CachePolicy::kOfflineOk;
  auto cached = client_.pull(ref, offline);
  ASSERT_TRUE(cached) << cached.error().to_string();
  EXPECT_TRUE(cached->from_cache);
  EXPECT_EQ(cached->bytes, wasm);
  EXPECT_EQ(cached->digest, kEchoManifestDigest);
}

TEST_F(Registry, StaleCacheIsReplacedWhenTagMoves) {
  RegistryServer reg;
  const std::string ref = reg.host() + "/echo:0.3.4";
  const wc::Bytes wasm = echo_wasm();
  ASSERT_TRUE(client_.push(ref, wasm, push_opts(reg)));
  ASSERT_TRUE(client_.pull(ref, pull_opts(reg)));
  PushOptions with_annotation = push_opts(reg);
  with_annotation.annotations = {{"org.example", "v2"}};
  auto moved = client_.push(ref, wasm, with_annotation);
  ASSERT_TRUE(moved);
  ASSERT_NE(moved->manifest_digest, kEchoManifestDigest);
  auto again = client_.pull(ref, pull_opts(reg));
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(again->from_cache);
  EXPECT_EQ(again->digest, moved->manifest_digest);
  EXPECT_EQ(again->bytes, wasm);
}

TEST_F(Registry, PullByDigest) {
  RegistryServer reg;
  ASSERT_TRUE(client_.push(reg.host() + "/echo:0.3.4", echo_wasm(), push_opts(reg)));
  auto r = client_.pull(reg.host() + "/echo@" + kEchoManifestDigest, pull_opts(reg));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->digest, kEchoManifestDigest);
  EXPECT_EQ(r->bytes, echo_wasm());
}

TEST_F(Registry, ProviderArchivePushUsesProviderMediaTypes) {
  RegistryServer reg;
  const wc::Bytes par = {0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5};
  PushOptions o = push_opts(reg);
  o.kind = ArtifactKind::kProvider;
  const std::string ref = reg.host() + "/httpserver:0.1.0";
  auto pushed = client_.push(ref, par, o);
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  auto j = nlohmann::json::parse(pushed->manifest);
  EXPECT_EQ(j["config"]["mediaType"], media::kProviderConfig);
  EXPECT_EQ(j["layers"][0]["mediaType"], media::kProviderLayer);
  auto pulled = client_.pull(ref, pull_opts(reg));
  ASSERT_TRUE(pulled) << pulled.error().to_string();
  EXPECT_EQ(pulled->bytes, par);
  EXPECT_EQ(pulled->media_type, media::kProviderLayer);
}

TEST_F(Registry, ChunkedUploadAcrossSeveralPatches) {
  RegistryServer reg;
  PushOptions o = push_opts(reg);
  o.chunk_size = 300000;  // echo.wasm (1 820 240 bytes) in 7 PATCH requests
  const std::string ref = reg.host() + "/echo:chunked";
  auto pushed = client_.push(ref, echo_wasm(), o);
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  EXPECT_EQ(pushed->manifest_digest, kEchoManifestDigest);
  auto pulled = client_.pull(ref, pull_opts(reg));
  ASSERT_TRUE(pulled);
  EXPECT_EQ(pulled->bytes, echo_wasm());
}

TEST_F(Registry, LatestRefusedForPushAndPull) {
  RegistryServer reg;
  auto p = client_.push(reg.host() + "/echo:latest", echo_wasm(), push_opts(reg));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message, errors::kPushLatestProhibited);
  auto implicit = client_.push(reg.host() + "/echo", echo_wasm(), push_opts(reg));
  ASSERT_FALSE(implicit);
  EXPECT_EQ(implicit.error().message, errors::kPushLatestProhibited);
  auto r = client_.pull(reg.host() + "/echo:latest", pull_opts(reg));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(r.error().message, errors::kLatestProhibited);
  // allow_latest lets both through.
  PushOptions po = push_opts(reg);
  po.allow_latest = true;
  ASSERT_TRUE(client_.push(reg.host() + "/echo:latest", echo_wasm(), po));
  PullOptions o = pull_opts(reg);
  o.allow_latest = true;
  auto ok = client_.pull(reg.host() + "/echo:latest", o);
  ASSERT_TRUE(ok) << ok.error().to_string();
}

TEST_F(Registry, PlainHttpRegistryNotOnInsecureListFails) {
  RegistryServer reg;
  ASSERT_TRUE(client_.push(reg.host() + "/echo:0.3.4", echo_wasm(), push_opts(reg)));
  PullOptions o = pull_opts(reg);
  o.allowed_insecure = {"localhost:" + std::to_string(reg.port()), " " + reg.host()};
  auto r = client_.pull(reg.host() + "/echo:0.3.4", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kUnavailable);
  EXPECT_TRUE(r.error().message.starts_with(std::string(errors::kFetchBytesPrefix) +
                                            "error sending request for url (https://" + reg.host() +
                                            "/v2/)"))
      << r.error().message;
  EXPECT_FALSE(fs::exists(cache_bin(reg, "echo:0.3.4")));
}

TEST_F(Registry, MissingTagIsNotFound) {
  RegistryServer reg;
  ASSERT_TRUE(client_.push(reg.host() + "/echo:0.3.4", echo_wasm(), push_opts(reg)));
  auto r = client_.pull(reg.host() + "/echo:0.3.5", pull_opts(reg));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kNotFound);
  EXPECT_EQ(r.error().message,
            "Failed to fetch OCI bytes: Registry error: url http://" + reg.host() +
                "/v2/echo/manifests/0.3.5, envelope: OCI API errors: [OCI API error: manifest "
                "unknown]");
  auto repo = client_.pull(reg.host() + "/nothing:1", pull_opts(reg));
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, wc::Code::kNotFound);
}

TEST_F(Registry, RegistryDownIsUnavailable) {
  const int port = wc::testing::free_port();
  const std::string host = "127.0.0.1:" + std::to_string(port);
  PullOptions o;
  o.allowed_insecure = {host};
  o.cache_dir = cache_;
  o.use_env_credentials = false;
  auto r = client_.pull(host + "/echo:0.3.4", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kUnavailable);
  EXPECT_TRUE(
      r.error().message.starts_with("Failed to fetch OCI bytes: error sending request for "
                                    "url (http://" +
                                    host + "/v2/)"))
      << r.error().message;
  auto p = client_.push(host + "/echo:0.3.4", echo_wasm(), PushOptions{.allowed_insecure = {host}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, wc::Code::kUnavailable);
}

TEST_F(Registry, CorruptedBlobIsDataLossAndNotCached) {
  RegistryServer reg;
  const std::string ref = reg.host() + "/echo:0.3.4";
  ASSERT_TRUE(client_.push(ref, echo_wasm(), push_opts(reg)));
  const std::string hex = std::string(kEchoLayerDigest).substr(7);
  const std::string blob = reg.storage_dir() + "/docker/registry/v2/blobs/sha256/" +
                           hex.substr(0, 2) + "/" + hex + "/data";
  ASSERT_TRUE(fs::exists(blob)) << blob;
  wc::Bytes corrupted = echo_wasm();
  corrupted[1000] ^= 0xff;  // same size, different content
  ASSERT_TRUE(wc::write_file(blob, corrupted));

  auto r = client_.pull(ref, pull_opts(reg));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kDataLoss);
  EXPECT_EQ(r.error().message,
            std::string("Failed to fetch OCI bytes: blob digest mismatch for ") + kEchoLayerDigest);
  EXPECT_FALSE(fs::exists(cache_bin(reg, "echo:0.3.4")));

  // A truncated blob is caught by the size check.
  corrupted.resize(1000);
  ASSERT_TRUE(wc::write_file(blob, corrupted));
  auto t = client_.pull(ref, pull_opts(reg));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, wc::Code::kDataLoss);
  EXPECT_FALSE(fs::exists(cache_bin(reg, "echo:0.3.4")));
}

TEST_F(Registry, ConcurrentPullsFromSeveralThreads) {
  RegistryServer reg;
  const std::string ref = reg.host() + "/echo:0.3.4";
  ASSERT_TRUE(client_.push(ref, echo_wasm(), push_opts(reg)));
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto r = client_.pull(ref, pull_opts(reg));
      if (r && r->digest == kEchoManifestDigest && r->bytes.size() == 1820240) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4);
}

// --- Basic auth (docker-registry `auth: htpasswd`) ---------------------------------------------

// bcrypt through libxcrypt (libcrypt-dev): the hash docker-registry's htpasswd file needs.
std::string bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt))
    throw std::runtime_error("crypt_gensalt_rn failed");
  crypt_data data{};
  const char* h = crypt_r(password.c_str(), salt, &data);
  if (!h || h[0] == '*') throw std::runtime_error("crypt_r failed");
  return h;
}

class BasicAuthRegistry : public Registry {
 protected:
  void SetUp() override {
    Registry::SetUp();
    dir_ = wc::testing::make_temp_dir("wc-htpasswd");
    std::ofstream(dir_ + "/htpasswd") << "alice:" << bcrypt("s3cret") << "\n";
    reg_ = std::make_unique<RegistryServer>(
        "auth:\n  htpasswd:\n    realm: basic-realm\n"
        "    path: " +
        dir_ + "/htpasswd\n");
    PushOptions o = push_opts(*reg_);
    o.basic = BasicAuth{"alice", "s3cret"};
    auto pushed = client_.push(ref(), echo_wasm(), o);
    ASSERT_TRUE(pushed) << pushed.error().to_string();
  }
  void TearDown() override {
    reg_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    Registry::TearDown();
  }
  std::string ref() const { return reg_->host() + "/echo:0.3.4"; }
  std::string dir_;
  std::unique_ptr<RegistryServer> reg_;
};

TEST_F(BasicAuthRegistry, AnonymousRefused) {
  auto r = client_.pull(ref(), pull_opts(*reg_));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(r.error().message, "Failed to fetch OCI bytes: Not authorized: url http://" +
                                   reg_->host() + "/v2/echo/manifests/0.3.4");
  auto p = client_.push(reg_->host() + "/echo:0.3.5", echo_wasm(), push_opts(*reg_));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, wc::Code::kPermissionDenied);
}

TEST_F(BasicAuthRegistry, WrongPasswordRefused) {
  PullOptions o = pull_opts(*reg_);
  o.basic = BasicAuth{"alice", "wrong"};
  auto r = client_.pull(ref(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(r.error().message, "Failed to fetch OCI bytes: Not authorized: url http://" +
                                   reg_->host() + "/v2/echo/manifests/0.3.4");
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos);  // never echo credentials
  EXPECT_FALSE(fs::exists(cache_bin(*reg_, "echo:0.3.4")));
}

TEST_F(BasicAuthRegistry, RightPasswordFromRegistriesPut) {
  CredentialStore store;
  ASSERT_TRUE(
      store.merge_json(R"({"http://)" + reg_->host() +
                       R"(":{"registryType":"oci","username":"alice","password":"s3cret"}})"));
  PullOptions o = pull_opts(*reg_);
  o.credentials = &store;
  auto r = client_.pull(ref(), o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->bytes, echo_wasm());
  EXPECT_EQ(r->digest, kEchoManifestDigest);
  auto again = client_.pull(ref(), o);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->from_cache);
}

// --- Bearer tokens (docker-registry `auth: token`) ---------------------------------------------

// A minimal token service: Basic-authenticated, issues RS256 JWTs carrying an x5c chain of a
// self-signed certificate that the registry trusts through `rootcertbundle`.
class TokenServer {
 public:
  TokenServer(std::string dir, std::string service, std::string issuer)
      : dir_(std::move(dir)), service_(std::move(service)), issuer_(std::move(issuer)) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir_ +
                            "/key.pem -out " + dir_ +
                            "/cert.pem -days 2 -subj /CN=wc-test-token "
                            ">/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
    FILE* kf = std::fopen((dir_ + "/key.pem").c_str(), "r");
    key_ = PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr);
    std::fclose(kf);
    FILE* cf = std::fopen((dir_ + "/cert.pem").c_str(), "r");
    X509* cert = PEM_read_X509(cf, nullptr, nullptr, nullptr);
    std::fclose(cf);
    if (!key_ || !cert) throw std::runtime_error("cannot load test key/cert");
    unsigned char* der = nullptr;
    int len = i2d_X509(cert, &der);
    cert_b64_ = wc::base64_encode(std::span<const std::uint8_t>(der, static_cast<size_t>(len)));
    OPENSSL_free(der);
    X509_free(cert);

    server_.Get("/token", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      const std::string expected =
          "Basic " + wc::base64_encode(wc::as_bytes(std::string("bob:hunter2")));
      if (req.get_header_value("Authorization") != expected) {
        res.status = 401;
        res.set_content(R"({"details":"invalid credentials"})", "application/json");
        return;
      }
      last_scope = req.get_param_value("scope");
      last_service = req.get_param_value("service");
      res.set_content(nlohmann::json{{"token", jwt(last_scope)}}.dump(), "application/json");
    });
    port_ = wc::testing::free_port();
    thread_ = std::thread([this] { server_.listen("127.0.0.1", port_); });
    if (!wc::testing::wait_port(port_)) throw std::runtime_error("token server did not start");
  }
  ~TokenServer() {
    server_.stop();
    thread_.join();
    EVP_PKEY_free(key_);
  }
  std::string realm() const { return "http://127.0.0.1:" + std::to_string(port_) + "/token"; }
  std::string cert_path() const { return dir_ + "/cert.pem"; }

  std::atomic<int> requests{0};
  std::string last_scope, last_service;

 private:
  std::string jwt(const std::string& scope) const {
    // scope = "repository:<name>:<actions>"
    nlohmann::json access = nlohmann::json::array();
    auto c1 = scope.find(':'), c2 = scope.rfind(':');
    if (c1 != std::string::npos && c2 > c1) {
      nlohmann::json actions = nlohmann::json::array();
      std::string acts = scope.substr(c2 + 1);
      for (size_t s = 0; s <= acts.size();) {
        size_t e = acts.find(',', s);
        if (e == std::string::npos) e = acts.size();
        actions.push_back(acts.substr(s, e - s));
        s = e + 1;
      }
      access.push_back({{"type", scope.substr(0, c1)},
                        {"name", scope.substr(c1 + 1, c2 - c1 - 1)},
                        {"actions", actions}});
    }
    const long now = static_cast<long>(std::time(nullptr));
    nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5c", {cert_b64_}}};
    nlohmann::json claims = {{"iss", issuer_},
                             {"sub", "bob"},
                             {"aud", service_},
                             {"exp", now + 300},
                             {"nbf", now - 10},
                             {"iat", now},
                             {"jti", std::to_string(now) + "-" + std::to_string(requests.load())},
                             {"access", access}};
    std::string signing = wc::base64url_encode(wc::as_bytes(header.dump())) + "." +
                          wc::base64url_encode(wc::as_bytes(claims.dump()));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t sig_len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
    EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char*>(signing.data()),
                   signing.size());
    std::vector<unsigned char> sig(sig_len);
    EVP_DigestSign(ctx, sig.data(), &sig_len,
                   reinterpret_cast<const unsigned char*>(signing.data()), signing.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(sig_len);
    return signing + "." + wc::base64url_encode(sig);
  }

  std::string dir_, service_, issuer_, cert_b64_;
  EVP_PKEY* key_ = nullptr;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

class TokenRegistry : public Registry {
 protected:
  void SetUp() override {
    Registry::SetUp();
    dir_ = wc::testing::make_temp_dir("wc-token");
    tokens_ = std::make_unique<TokenServer>(dir_, "wc-test-registry", "wc-test-issuer");
    reg_ = std::make_unique<RegistryServer>(
        "auth:\n  token:\n    realm: " + tokens_->realm() +
        "\n    service: wc-test-registry\n    issuer: wc-test-issuer\n    rootcertbundle: " +
        tokens_->cert_path() + "\n");
  }
  void TearDown() override {
    reg_.reset();
    tokens_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    Registry::TearDown();
  }
  std::string dir_;
  std::unique_ptr<TokenServer> tokens_;
  std::unique_ptr<RegistryServer> reg_;
};

TEST_F(TokenRegistry, PushAndPullWithBearerToken) {
  const std::string ref = reg_->host() + "/echo:0.3.4";
  PushOptions po = push_opts(*reg_);
  po.basic = BasicAuth{"bob", "hunter2"};
  auto pushed = client_.push(ref, echo_wasm(), po);
  ASSERT_TRUE(pushed) << pushed.error().to_string();
  EXPECT_EQ(tokens_->last_scope, "repository:echo:pull,push");
  EXPECT_EQ(tokens_->last_service, "wc-test-registry");

  PullOptions o = pull_opts(*reg_);
  o.basic = BasicAuth{"bob", "hunter2"};
  auto r = client_.pull(ref, o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->bytes, echo_wasm());
  EXPECT_EQ(r->digest, kEchoManifestDigest);
  EXPECT_EQ(tokens_->last_scope, "repository:echo:pull");
}

TEST_F(TokenRegistry, TokenEndpointRefusalIsAuthenticationFailure) {
  PullOptions o = pull_opts(*reg_);
  o.basic = BasicAuth{"bob", "nope"};
  auto r = client_.pull(reg_->host() + "/echo:0.3.4", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(
      r.error().message,
      R"(Failed to fetch OCI bytes: Authentication failure: {"details":"invalid credentials"})");
  EXPECT_EQ(r.error().message.find("nope"), std::string::npos);
  auto anon = client_.pull(reg_->host() + "/echo:0.3.4", pull_opts(*reg_));
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, wc::Code::kPermissionDenied);
}

}  // namespace
