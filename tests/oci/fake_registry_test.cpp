// The OCI client against a scripted registry (cpp-httplib) for the protocol corners a real
// docker-registry does not produce: manifest lists and platform pick, rejected media types and
// schema versions, 5xx and odd 2xx, blob redirects to another host (Authorization dropped), token
// endpoint answers, which requests carry which headers (claims-oci-par.md 4.6, 4.7, 6.3).
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "support/servers.h"

namespace {

using namespace wc::oci;
using nlohmann::json;
using wc::Result;

struct Seen {
  std::string method, path, authorization, accept, host;
};

// A scripted registry on 127.0.0.1:<free port>. Routes: /v2/, /v2/<repo>/manifests/<ref>,
// /v2/<repo>/blobs/<digest>, /token, /redirected/<digest>. Tests fill the maps and knobs.
class FakeRegistry {
 public:
  /// Plain HTTP, or HTTPS when `cert`/`key` PEM paths are given.
  explicit FakeRegistry(const std::string& cert = {}, const std::string& key = {})
      : server_(cert.empty() ? std::make_unique<httplib::Server>()
                             : std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str())),
        http_(*server_) {
    http_.Get(R"(/v2/)", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (!challenge.empty()) {
        res.status = 401;
        res.set_header("WWW-Authenticate", challenge);
        res.set_content(
            R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
            "application/json");
        return;
      }
      res.set_content("{}", "application/json");
    });
    http_.Get(R"(/v2/echo/manifests/(.+))", [this](const httplib::Request& req,
                                                   httplib::Response& res) {
      record(req);
      if (manifest_status != 200) {
        res.status = manifest_status;
        res.set_content(manifest_error_body, "text/plain");
        return;
      }
      auto it = manifests.find(req.matches[1].str());
      if (it == manifests.end()) {
        res.status = 404;
        res.set_content(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})",
                        "application/json");
        return;
      }
      res.set_content(it->second, "application/vnd.oci.image.manifest.v1+json");
    });
    http_.Get(
        R"(/v2/echo/blobs/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
          record(req);
          const std::string digest = req.matches[1].str();
          if (redirect_blobs) {
            res.status = 307;
            res.set_header("Location",
                           "http://localhost:" + std::to_string(port_) + "/redirected/" + digest);
            return;
          }
          serve_blob(digest, res);
        });
    http_.Get(R"(/redirected/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      serve_blob(req.matches[1].str(), res);
    });
    http_.Get("/token", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.status = token_status;
      res.set_content(token_body, "application/json");
    });
    port_ = wc::testing::free_port();
    thread_ = std::thread([this] { http_.listen("127.0.0.1", port_); });
    if (!wc::testing::wait_port(port_)) throw std::runtime_error("fake registry did not start");
  }
  ~FakeRegistry() {
    http_.stop();
    thread_.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  /// Adds a blob and returns its descriptor JSON.
  json add_blob(const std::string& bytes, const std::string& media_type) {
    const std::string d = wc::oci_digest(wc::as_bytes(bytes));
    blobs[d] = bytes;
    return {{"mediaType", media_type}, {"digest", d}, {"size", bytes.size()}};
  }
  /// Stores an image manifest under `ref` (and its digest) and returns the manifest digest.
  std::string add_manifest(const std::string& ref, const json& m) {
    const std::string body = m.dump();
    const std::string d = wc::oci_digest(wc::as_bytes(body));
    manifests[ref] = body;
    manifests[d] = body;
    return d;
  }

  std::map<std::string, std::string> manifests, blobs;
  /// Digests served as an endless stream of zeros: digest -> Content-Length (0 = chunked).
  std::map<std::string, std::uint64_t> endless;
  std::string challenge;
  int manifest_status = 200;
  std::string manifest_error_body;
  bool redirect_blobs = false;
  int token_status = 200;
  std::string token_body = R"({"token":"tok-123"})";

 private:
  void record(const httplib::Request& req) {
    std::lock_guard lock(mu_);
    seen_.push_back({req.method, req.path, req.get_header_value("Authorization"),
                     req.get_header_value("Accept"), req.get_header_value("Host")});
  }
  void serve_blob(const std::string& digest, httplib::Response& res) {
    if (auto e = endless.find(digest); e != endless.end()) {
      // Zeros without end: with a Content-Length when one is set, else chunked.
      static const std::string kZeros(64u << 10, '\0');
      if (e->second > 0) {
        res.set_content_provider(e->second, "application/octet-stream",
                                 [](size_t, size_t length, httplib::DataSink& sink) {
                                   return sink.write(kZeros.data(),
                                                     std::min(length, kZeros.size()));
                                 });
      } else {
        res.set_chunked_content_provider("application/octet-stream",
                                         [](size_t, httplib::DataSink& sink) {
                                           return sink.write(kZeros.data(), kZeros.size());
                                         });
      }
      return;
    }
    auto it = blobs.find(digest);
    if (it == blobs.end()) {
      res.status = 404;
      res.set_content(
          R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})",
          "application/json");
      return;
    }
    res.set_content(it->second, "application/octet-stream");
  }
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::unique_ptr<httplib::Server> server_;
  httplib::Server& http_;
  int port_ = 0;
  std::thread thread_;
};

const std::string kWasm = std::string("\0asm\1\0\0\0", 8) + "payload";

class Fake : public ::testing::Test {
 protected:
  PullOptions opts() const {
    PullOptions o;
    o.allowed_insecure = {reg_.host()};
    o.cache = CachePolicy::kNone;
    o.use_env_credentials = false;
    return o;
  }
  json image(const std::string& layer_type = std::string(media::kActorLayer)) {
    return {{"schemaVersion", 2},
            {"config", reg_.add_blob("{}", std::string(media::kActorConfig))},
            {"layers", json::array({reg_.add_blob(kWasm, layer_type)})}};
  }
  Result<PullResult> pull(const std::string& tag = "1") const {
    return client_.pull(reg_.host() + "/echo:" + tag, opts());
  }
  void expect_error(const Result<PullResult>& r, wc::Code code, const std::string& message) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(r.error().message, std::string(errors::kFetchBytesPrefix) + message);
  }
  FakeRegistry reg_;
  Client client_;
};

TEST_F(Fake, AnonymousRequestSequenceAndHeaders) {
  reg_.add_manifest("1", image());
  auto r = pull();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(wc::to_string(r->bytes), kWasm);
  auto seen = reg_.seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].path, "/v2/");
  EXPECT_EQ(seen[0].accept, "*/*");
  EXPECT_EQ(seen[1].path, "/v2/echo/manifests/1");
  EXPECT_EQ(seen[1].accept, media::kManifestAccept);
  EXPECT_TRUE(seen[2].path.starts_with("/v2/echo/blobs/sha256:"));
  EXPECT_EQ(seen[3].accept, media::kManifestAccept);
  for (const auto& s : seen) EXPECT_EQ(s.authorization, "");
}

TEST_F(Fake, BasicCredentialsNotSentWithoutChallenge) {
  reg_.add_manifest("1", image());
  PullOptions o = opts();
  o.basic = BasicAuth{"u", "p"};
  ASSERT_TRUE(client_.pull(reg_.host() + "/echo:1", o));
  for (const auto& s : reg_.seen()) EXPECT_EQ(s.authorization, "");
}

TEST_F(Fake, BasicChallengeSendsBasicOnLaterRequests) {
  reg_.add_manifest("1", image());
  reg_.challenge = R"(Basic realm="basic-realm")";
  PullOptions o = opts();
  o.basic = BasicAuth{"u", "p"};
  ASSERT_TRUE(client_.pull(reg_.host() + "/echo:1", o));
  auto seen = reg_.seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].authorization, "");
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i].authorization, "Basic dTpw");
}

TEST_F(Fake, BearerChallengeFetchesTokenWithScopeAndService) {
  reg_.add_manifest("1", image());
  reg_.challenge = "Bearer realm=\"http://" + reg_.host() + "/token\",service=\"fake.example\"";
  reg_.token_body = R"({"access_token":"acc-9"})";
  PullOptions o = opts();
  o.basic = BasicAuth{"u", "p"};
  ASSERT_TRUE(client_.pull(reg_.host() + "/echo:1", o));
  auto seen = reg_.seen();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[1].path, "/token");
  EXPECT_EQ(seen[1].authorization, "Basic dTpw");
  for (size_t i = 2; i < seen.size(); ++i) EXPECT_EQ(seen[i].authorization, "Bearer acc-9");
}

TEST_F(Fake, TokenEndpointBadJson) {
  reg_.add_manifest("1", image());
  reg_.challenge = "Bearer realm=\"http://" + reg_.host() + "/token\"";
  reg_.token_body = "<html>";
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_TRUE(
      r.error().message.starts_with("Failed to fetch OCI bytes: Failed to decode registry "
                                    "token: "))
      << r.error().message;
}

TEST_F(Fake, TokenEndpointRefusal) {
  reg_.challenge = "Bearer realm=\"http://" + reg_.host() + "/token\"";
  reg_.token_status = 403;
  reg_.token_body = "denied";
  expect_error(pull(), wc::Code::kPermissionDenied, "Authentication failure: denied");
}

TEST_F(Fake, ManifestListPicksHostPlatform) {
  const std::string inner = reg_.add_manifest("inner", image());
  json list = {
      {"schemaVersion", 2},
      {"mediaType", media::kDockerManifestList},
      {"manifests", json::array({{{"mediaType", media::kOciManifest},
                                  {"digest", "sha256:" + std::string(64, 'a')},
                                  {"size", 1},
                                  {"platform", {{"os", "windows"}, {"architecture", "amd64"}}}},
                                 {{"mediaType", media::kOciManifest},
                                  {"digest", inner},
                                  {"size", 1},
#if defined(__aarch64__)
                                  {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}
#else
                                  {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}
#endif
                                 }})}};
  reg_.add_manifest("1", list);
  auto r = pull();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->digest, inner);
  EXPECT_EQ(wc::to_string(r->bytes), kWasm);
}

TEST_F(Fake, ManifestListWithoutHostPlatform) {
  json list = {
      {"schemaVersion", 2},
      {"manifests", json::array({{{"digest", "sha256:" + std::string(64, 'a')},
                                  {"platform", {{"os", "plan9"}, {"architecture", "mips"}}}}})}};
  reg_.add_manifest("1", list);
  expect_error(pull(), wc::Code::kNotFound, std::string(errors::kNoPlatformMatch));
}

TEST_F(Fake, ExplicitOciIndexMediaTypeRejected) {
  json index = {
      {"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", json::array()}};
  reg_.add_manifest("1", index);
  expect_error(pull(), wc::Code::kUnsupported,
               "Unsupported media type: application/vnd.oci.image.index.v1+json");
}

TEST_F(Fake, SchemaVersionOneRejected) {
  json m = image();
  m["schemaVersion"] = 1;
  reg_.add_manifest("1", m);
  expect_error(pull(), wc::Code::kUnsupported, "Unsupported schema version: 1");
}

TEST_F(Fake, GenericWasmLayerRejected) {
  reg_.add_manifest("1", image("application/vnd.wasm.content.layer.v1+wasm"));
  expect_error(pull(), wc::Code::kUnsupported,
               "Incompatible layer media type: application/vnd.wasm.content.layer.v1+wasm");
}

TEST_F(Fake, LegacyTarLayerAccepted) {
  reg_.add_manifest("1", image(std::string(media::kLegacyLayer)));
  auto r = pull();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->media_type, media::kLegacyLayer);
}

TEST_F(Fake, NoLayers) {
  json m = image();
  m["layers"] = json::array();
  reg_.add_manifest("1", m);
  expect_error(pull(), wc::Code::kInvalidArgument, "No layers to pull");
}

TEST_F(Fake, ManifestNotJson) {
  reg_.manifests["1"] = "this is not json";
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kInvalidArgument);
}

TEST_F(Fake, ServerErrorText) {
  reg_.manifest_status = 500;
  reg_.manifest_error_body = "boom";
  expect_error(
      pull(), wc::Code::kUnavailable,
      "Server error: url http://" + reg_.host() + "/v2/echo/manifests/1, code: 500, message: boom");
}

TEST_F(Fake, NonJson4xxBody) {
  reg_.manifest_status = 400;
  reg_.manifest_error_body = "plain text";
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kInvalidArgument);
  EXPECT_TRUE(
      r.error().message.starts_with("Failed to fetch OCI bytes: Registry error: url http://" +
                                    reg_.host() + "/v2/echo/manifests/1, envelope: "))
      << r.error().message;
}

TEST_F(Fake, OtherSuccessStatusIsSpecViolation) {
  reg_.manifest_status = 204;
  expect_error(pull(), wc::Code::kUnavailable,
               "OCI distribution spec violation: Expected HTTP Status 200 OK, got 204 instead");
}

TEST_F(Fake, MissingBlobIsNotFound) {
  json m = image();
  reg_.blobs.erase(m["layers"][0]["digest"].get<std::string>());
  reg_.add_manifest("1", m);
  auto r = pull();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kNotFound);
}

TEST_F(Fake, OverlongBlobIsSizeMismatch) {
  json m = image();
  const std::string d = m["layers"][0]["digest"];
  reg_.blobs[d] = kWasm + "extra bytes";
  reg_.add_manifest("1", m);
  expect_error(pull(), wc::Code::kDataLoss, "blob size mismatch for " + d);
}

TEST_F(Fake, ManifestByDigestVerified) {
  const std::string d = reg_.add_manifest("1", image());
  reg_.manifests[d] = json{{"schemaVersion", 2}}.dump();  // served body no longer matches
  expect_error(client_.pull(reg_.host() + "/echo@" + d, opts()), wc::Code::kDataLoss,
               "manifest digest mismatch for " + d);
}

TEST_F(Fake, BlobRedirectToOtherHostDropsAuthorization) {
  reg_.add_manifest("1", image());
  reg_.challenge = "Bearer realm=\"http://" + reg_.host() + "/token\"";
  reg_.redirect_blobs = true;
  auto r = pull();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(wc::to_string(r->bytes), kWasm);
  int redirected = 0;
  for (const auto& s : reg_.seen()) {
    if (s.path.starts_with("/redirected/")) {
      ++redirected;
      EXPECT_EQ(s.authorization, "") << "Authorization must not follow a redirect to another host";
    } else if (s.path.starts_with("/v2/echo/")) {
      EXPECT_EQ(s.authorization, "Bearer tok-123");
    }
  }
  EXPECT_EQ(redirected, 2);
}

// --- size limits (issue 11.2): declared sizes checked before any download, streamed layers cut
// off at their declared size or at the limit, memory bounded while streaming ----------------

const std::string kZeroDigest = "sha256:" + std::string(64, '0');

json endless_image(FakeRegistry& reg, std::optional<std::uint64_t> declared,
                   std::uint64_t content_length) {
  reg.endless[kZeroDigest] = content_length;
  json layer = {{"mediaType", media::kActorLayer}, {"digest", kZeroDigest}};
  if (declared) layer["size"] = *declared;
  return {{"schemaVersion", 2},
          {"config", reg.add_blob("{}", std::string(media::kActorConfig))},
          {"layers", json::array({layer})}};
}

bool blob_requested(const FakeRegistry& reg) {
  for (const auto& s : reg.seen())
    if (s.path.find("/blobs/") != std::string::npos) return true;
  return false;
}

/// Peak resident set of this process (VmHWM), bytes.
std::uint64_t peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

TEST_F(Fake, DeclaredSizeAboveLimitRefusedBeforeAnyBlob) {
  reg_.add_manifest("1", endless_image(reg_, 10ull << 30, 10ull << 30));
  PullOptions o = opts();
  o.max_bytes = 1u << 20;
  o.max_bytes_setting = "X_LIMIT";
  expect_error(client_.pull(reg_.host() + "/echo:1", o), wc::Code::kResourceExhausted,
               "artifact too large: the manifest declares 10737418240 bytes, more than the limit "
               "of 1048576 bytes (raise it with X_LIMIT)");
  EXPECT_FALSE(blob_requested(reg_)) << "no blob may be requested once the size is refused";
}

TEST_F(Fake, DeclaredSizesOfAllLayersAddUp) {
  json m = image();
  json layer = m["layers"][0];
  layer["size"] = 600u << 10;
  m["layers"] = json::array({layer, layer});
  reg_.add_manifest("1", m);
  PullOptions o = opts();
  o.max_bytes = 1u << 20;
  expect_error(client_.pull(reg_.host() + "/echo:1", o), wc::Code::kResourceExhausted,
               "artifact too large: the manifest declares 1228800 bytes, more than the limit of "
               "1048576 bytes");
  EXPECT_FALSE(blob_requested(reg_));
}

TEST_F(Fake, DefaultLimitIsClientMaxBlobBytes) {
  reg_.add_manifest("1", endless_image(reg_, 2u << 20, 0));
  Client small(ClientOptions{.max_blob_bytes = 1u << 20});
  expect_error(small.pull(reg_.host() + "/echo:1", opts()), wc::Code::kResourceExhausted,
               "artifact too large: the manifest declares 2097152 bytes, more than the limit of "
               "1048576 bytes");
}

TEST_F(Fake, EndlessLayerWithoutDeclaredSizeCutAtLimit) {
  reg_.add_manifest("1", endless_image(reg_, std::nullopt, 0));
  PullOptions o = opts();
  o.max_bytes = 1u << 20;
  o.max_bytes_setting = "X_LIMIT";
  expect_error(client_.pull(reg_.host() + "/echo:1", o), wc::Code::kResourceExhausted,
               "artifact too large: the registry sent more, more than the limit of 1048576 bytes "
               "(raise it with X_LIMIT)");
}

TEST_F(Fake, EndlessLayerLongerThanDeclaredIsSizeMismatch) {
  reg_.add_manifest("1", endless_image(reg_, 1000, 0));
  expect_error(pull(), wc::Code::kDataLoss, "blob size mismatch for " + kZeroDigest);
}

TEST_F(Fake, LargeLayerStreamsToDiskWithBoundedMemory) {
  // 200 MiB declared and sent (zeros, so the digest fails at the end): the bytes go to a
  // temporary file, not to memory; before the fix the body grew in a string.
  reg_.add_manifest("1", endless_image(reg_, 200u << 20, 200u << 20));
  PullOptions o = opts();
  o.max_bytes = 256u << 20;
  const std::uint64_t before = peak_rss();
  expect_error(client_.pull(reg_.host() + "/echo:1", o), wc::Code::kDataLoss,
               "blob digest mismatch for " + kZeroDigest);
  const std::uint64_t after = peak_rss();
  ASSERT_GT(before, 0u);
  EXPECT_LT(after - before, 50u << 20) << "peak RSS grew by " << (after - before) << " bytes";
}

TEST_F(Fake, FailedPullLeavesNoFileAndGoodPullOnlyCacheFiles) {
  const std::string dir = wc::testing::make_temp_dir("wc-oci-stream");
  reg_.add_manifest("bad", endless_image(reg_, 1000, 0));
  reg_.add_manifest("1", image());
  PullOptions o = opts();
  o.cache = CachePolicy::kRevalidate;
  o.cache_dir = dir;
  ASSERT_FALSE(client_.pull(reg_.host() + "/echo:bad", o));
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "a failed pull left a file behind";
  auto r = client_.pull(reg_.host() + "/echo:1", o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(wc::to_string(r->bytes), kWasm);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  const std::string base = wc::oci::cache_name(reg_.host() + "/echo:1");
  EXPECT_EQ(names, (std::vector<std::string>{base + ".bin", base + ".digest"}));
  auto cached = wc::read_file(dir + "/" + base + ".bin");
  ASSERT_TRUE(cached);
  EXPECT_EQ(wc::to_string(*cached), kWasm);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_F(Fake, CachedFileAboveLimitIsPulledAgain) {
  const std::string dir = wc::testing::make_temp_dir("wc-oci-cachecap");
  const std::string digest = reg_.add_manifest("1", image());
  const std::string base = dir + "/" + wc::oci::cache_name(reg_.host() + "/echo:1");
  // A cache entry with the current manifest digest but larger than the limit.
  ASSERT_TRUE(wc::write_file(base + ".bin", wc::as_bytes(std::string(4096, 'x'))));
  ASSERT_TRUE(wc::write_file(base + ".digest", wc::as_bytes(digest)));
  PullOptions o = opts();
  o.cache = CachePolicy::kRevalidate;
  o.cache_dir = dir;
  o.max_bytes = 1024;
  auto r = client_.pull(reg_.host() + "/echo:1", o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->from_cache);
  EXPECT_EQ(wc::to_string(r->bytes), kWasm);
  auto cached = wc::read_file(base + ".bin");
  ASSERT_TRUE(cached);
  EXPECT_EQ(wc::to_string(*cached), kWasm);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// --- scheme-prefixed references (issue 12.10) -------------------------------------------------

TEST_F(Fake, SchemePrefixedReferencesPull) {
  reg_.add_manifest("1", image());
  for (const std::string scheme : {"oci://", "http://", "HTTP://", "https://"}) {
    auto r = client_.pull(scheme + reg_.host() + "/echo:1", opts());
    ASSERT_TRUE(r) << scheme << ": " << r.error().to_string();
    EXPECT_EQ(wc::to_string(r->bytes), kWasm);
  }
}

TEST_F(Fake, HttpSchemeRefusedWhenRegistryNotAllowedInsecure) {
  reg_.add_manifest("1", image());
  PullOptions o = opts();
  o.allowed_insecure = {"127.0.0.1:1"};
  auto r = client_.pull("http://" + reg_.host() + "/echo:1", o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(r.error().message, errors::http_scheme_not_allowed(reg_.host()));
  EXPECT_TRUE(reg_.seen().empty()) << "the registry must not be contacted";
}

// HTTPS (4.4): a registry with a self-signed certificate for 127.0.0.1 is reached with the
// client's CA file option and refused without it.
TEST(FakeTls, CaFileOption) {
  const std::string dir = wc::testing::make_temp_dir("wc-oci-tls");
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
                          "/key.pem -out " + dir + "/cert.pem -days 2 -subj /CN=127.0.0.1 " +
                          "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  FakeRegistry reg(dir + "/cert.pem", dir + "/key.pem");
  json m = {{"schemaVersion", 2},
            {"config", reg.add_blob("{}", std::string(media::kActorConfig))},
            {"layers", json::array({reg.add_blob(kWasm, std::string(media::kActorLayer))})}};
  reg.add_manifest("1", m);
  PullOptions o;
  o.cache = CachePolicy::kNone;
  o.use_env_credentials = false;

  Client trusting(ClientOptions{.ca_file = dir + "/cert.pem"});
  auto r = trusting.pull(reg.host() + "/echo:1", o);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(wc::to_string(r->bytes), kWasm);

  Client system_store;
  auto refused = system_store.pull(reg.host() + "/echo:1", o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, wc::Code::kUnavailable);
  EXPECT_TRUE(refused.error().message.starts_with(
      "Failed to fetch OCI bytes: error sending request for url (https://" + reg.host()))
      << refused.error().message;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
