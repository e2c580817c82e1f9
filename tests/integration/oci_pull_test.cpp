// OCI pulls through a real `wasmcloud host` process (claims-oci-par.md 4.1-4.7; issues 11.2,
// 12.10, 17.1): size limits with bounded memory, scheme-prefixed references, plain-HTTP
// registries reached over TLS. Real parts: nats-server, Debian's docker-registry (plain HTTP)
// holding the signed echo actor, two host processes:
//   * lattice "open": --allowed-insecure lists the docker-registry and a scripted registry;
//   * lattice "strict": nothing allowed insecure.
// The scripted registry (cpp-httplib in this process) serves manifests declaring huge layers and
// layers streaming zeros without end. The host's peak RSS (VmHWM of the child) is read from
// /proc after each oversized pull. The tests share the servers and run in declaration order
// (one ctest entry).
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1u << 20;
/// The bound the host's peak RSS must stay under through every oversized pull (issue 11.2).
constexpr std::uint64_t kRssBound = 100 * kMiB;
const std::string kZeroDigest = "sha256:" + std::string(64, '0');

/// A scripted registry on 127.0.0.1: manifests by "repo:tag", blobs by digest, and layers of
/// zeros without end (`endless`: digest -> Content-Length, 0 = chunked). Records blob GETs.
class ScriptedRegistry {
 public:
  ScriptedRegistry() {
    http_.Get("/v2/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{}", "application/json");
    });
    http_.Get(R"(/v2/(.+)/manifests/(.+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                std::lock_guard lock(mu_);
                auto it = manifests_.find(req.matches[1].str() + ":" + req.matches[2].str());
                if (it == manifests_.end()) {
                  res.status = 404;
                  res.set_content(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]})",
                                  "application/json");
                  return;
                }
                res.set_content(it->second, std::string(oci::media::kOciManifest));
              });
    http_.Get(R"(/v2/(.+)/blobs/(.+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                static const std::string kZeros(64u << 10, '\0');
                std::lock_guard lock(mu_);
                const std::string digest = req.matches[2].str();
                blob_gets_.push_back(req.matches[1].str() + "@" + digest);
                if (auto b = blobs_.find(digest); b != blobs_.end()) {
                  res.set_content(b->second, "application/octet-stream");
                } else if (auto e = endless_.find(req.matches[1].str()); e != endless_.end()) {
                  if (e->second > 0) {
                    res.set_content_provider(e->second, "application/octet-stream",
                                             [](size_t, size_t length, httplib::DataSink& sink) {
                                               return sink.write(kZeros.data(),
                                                                 std::min(length, kZeros.size()));
                                             });
                  } else {
                    res.set_chunked_content_provider(
                        "application/octet-stream", [](size_t, httplib::DataSink& sink) {
                          return sink.write(kZeros.data(), kZeros.size());
                        });
                  }
                } else {
                  res.status = 404;
                }
              });
    port_ = testing::free_port();
    thread_ = std::thread([this] { http_.listen("127.0.0.1", port_); });
    if (!testing::wait_port(port_)) throw std::runtime_error("scripted registry did not start");
  }
  ~ScriptedRegistry() {
    http_.stop();
    thread_.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  /// `repo:1` with a `{}` config and one layer of zeros (digest of nothing real) whose
  /// descriptor declares `declared` bytes (none when nullopt) and whose GET streams
  /// `content_length` bytes (0 = without end, chunked).
  void add_endless(const std::string& repo, std::string_view layer_type,
                   std::optional<std::uint64_t> declared, std::uint64_t content_length) {
    const std::string config = "{}";
    const std::string config_digest = oci_digest(as_bytes(config));
    json layer = {{"mediaType", layer_type}, {"digest", kZeroDigest}};
    if (declared) layer["size"] = *declared;
    json m = {{"schemaVersion", 2},
              {"config",
               {{"mediaType", oci::media::kActorConfig},
                {"digest", config_digest},
                {"size", config.size()}}},
              {"layers", json::array({layer})}};
    std::lock_guard lock(mu_);
    blobs_[config_digest] = config;
    endless_[repo] = content_length;
    manifests_[repo + ":1"] = m.dump();
  }
  /// Whether the layer blob of `repo` was requested.
  bool layer_requested(const std::string& repo) {
    std::lock_guard lock(mu_);
    for (const auto& g : blob_gets_)
      if (g == repo + "@" + kZeroDigest) return true;
    return false;
  }

 private:
  httplib::Server http_;
  std::mutex mu_;
  std::map<std::string, std::string> manifests_, blobs_;
  std::map<std::string, std::uint64_t> endless_;
  std::vector<std::string> blob_gets_;
  int port_ = 0;
  std::thread thread_;
};

/// One host process on its own lattice, with its event log.
struct LatticeHost {
  std::string lattice, host_id, dir;
  std::unique_ptr<testing::ChildProcess> proc;
  testing::EventLog events;
  lattice::Subscription events_sub;
};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

class OciPull : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<ScriptedRegistry> scripted;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<LatticeHost> open, strict;
  static inline std::string echo_key, echo_ref;

  static void start_host(LatticeHost& h, const std::string& lattice,
                         const std::vector<std::string>& extra_args) {
    h.lattice = lattice;
    h.dir = testing::make_temp_dir("wc-ocipull-" + lattice);
    auto key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
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
                                     "--oci-cache-dir",
                                     h.dir + "/oci"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    h.proc = std::make_unique<testing::ChildProcess>(
        argv, h.dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + key.seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster.seed(), "TMPDIR=" + h.dir});
  }

  static json request(const std::string& subject, const std::string& body,
                      std::chrono::milliseconds timeout = 5s) {
    return testing::ctl_request(*nc, subject, body, timeout);
  }
  static json cmd(const LatticeHost& h, const std::string& op, const json& body) {
    return request("wasmbus.ctl." + h.lattice + ".cmd." + h.host_id + "." + op, body.dump(), 10s);
  }
  static bool wait_up(const LatticeHost& h) {
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      if (request("wasmbus.ctl." + h.lattice + ".get." + h.host_id + ".inv", "")
              .contains("host_id"))
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  static void SetUpTestSuite() {
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    scripted = std::make_unique<ScriptedRegistry>();
    auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo);
    auto claims = wascap::extract_claims(*echo, wascap::now_seconds());
    ASSERT_TRUE(claims);
    echo_key = claims->claims.sub;
    echo_ref = registry->host() + "/echo:0.3.4";
    oci::PushOptions po;
    po.allowed_insecure = {registry->host()};
    auto pushed = oci::Client().push(echo_ref, *echo, po);
    ASSERT_TRUE(pushed) << pushed.error().message;

    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    open = std::make_unique<LatticeHost>();
    strict = std::make_unique<LatticeHost>();
    start_host(*open, "open", {"--allowed-insecure", registry->host() + "," + scripted->host()});
    start_host(*strict, "strict", {});
    ASSERT_TRUE(wait_up(*open)) << "host did not answer; log in " << open->dir;
    ASSERT_TRUE(wait_up(*strict)) << "host did not answer; log in " << strict->dir;
  }

  static void TearDownTestSuite() {
    for (auto* h : {open.get(), strict.get()}) {
      if (!h) continue;
      h->events_sub.unsubscribe();
      if (h->proc) h->proc->stop(15);
    }
    open.reset();
    strict.reset();
    nc.reset();
    scripted.reset();
    registry.reset();
    nats.reset();
  }

  /// Peak resident set (VmHWM) of the host process, bytes (recorded as the test property
  /// host_vmhwm_bytes, seen with --gtest_output=xml); 0 when unreadable.
  static std::uint64_t host_peak_rss(const LatticeHost& h) {
    std::ifstream in("/proc/" + std::to_string(h.proc->pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with("VmHWM:")) continue;
      const std::uint64_t bytes = std::stoull(line.substr(6)) * 1024;
      ::testing::Test::RecordProperty("host_vmhwm_bytes", std::to_string(bytes));
      return bytes;
    }
    return 0;
  }

  /// Scale echo to 1 from `ref`: acked, then actor_start_failed; returns its (inspected) error.
  static std::string expect_actor_fails(LatticeHost& h, const std::string& ref) {
    size_t mark = h.events.mark();
    EXPECT_EQ(cmd(h, "scale", {{"actor_id", echo_key}, {"actor_ref", ref}, {"count", 1}}),
              json::parse(R"({"accepted":true,"error":""})"));
    auto failed = h.events.wait(mark, "actor_start_failed", {}, 60s);
    EXPECT_TRUE(failed) << "no actor_start_failed; log in " << h.dir;
    if (!failed) return {};
    EXPECT_EQ((*failed)["data"]["actor_ref"], ref);
    EXPECT_EQ(h.events.count(mark, "actor_started"), 0u);
    return (*failed)["data"]["error"].get<std::string>();
  }

  /// `lp` of `ref`: acked, then provider_start_failed; returns its (inspected) error.
  static std::string expect_provider_fails(LatticeHost& h, const std::string& ref) {
    size_t mark = h.events.mark();
    auto ack = cmd(h, "lp", {{"provider_ref", ref}, {"link_name", "default"}});
    EXPECT_EQ(ack["accepted"], true) << ack.dump();
    auto failed = h.events.wait(mark, "provider_start_failed", {}, 60s);
    EXPECT_TRUE(failed) << "no provider_start_failed; log in " << h.dir;
    if (!failed) return {};
    EXPECT_EQ((*failed)["data"]["provider_ref"], ref);
    return (*failed)["data"]["error"].get<std::string>();
  }

  /// Scale echo to 1 from `ref`, expect actor_started with that image_ref, scale back to 0.
  static void expect_echo_starts(LatticeHost& h, const std::string& ref) {
    size_t mark = h.events.mark();
    EXPECT_EQ(cmd(h, "scale", {{"actor_id", echo_key}, {"actor_ref", ref}, {"count", 1}}),
              json::parse(R"({"accepted":true,"error":""})"));
    auto started = h.events.wait(mark, "actor_started", {}, 20s);
    ASSERT_TRUE(started) << "no actor_started for " << ref << "; log in " << h.dir;
    EXPECT_EQ((*started)["data"]["public_key"], echo_key);
    EXPECT_EQ((*started)["data"]["image_ref"], ref);
    EXPECT_EQ(h.events.count(mark, "actor_start_failed"), 0u);
    mark = h.events.mark();
    EXPECT_EQ(
        cmd(h, "scale", {{"actor_id", echo_key}, {"actor_ref", ref}, {"count", 0}})["accepted"],
        true);
    EXPECT_TRUE(h.events.wait(mark, "actor_stopped", {}, 10s));
  }
};

// --- issue 11.2: size limits, bounded memory ---------------------------------------------------

TEST_F(OciPull, NormalPullFromDockerRegistryStillWorks) { expect_echo_starts(*open, echo_ref); }

TEST_F(OciPull, HugeDeclaredActorRefusedBeforeDownload) {
  scripted->add_endless("huge", oci::media::kActorLayer, 10ull << 30, 10ull << 30);
  auto err = expect_actor_fails(*open, scripted->host() + "/huge:1");
  EXPECT_EQ(err, quoted(std::string(oci::errors::kFetchBytesPrefix) +
                        "artifact too large: the manifest declares 10737418240 bytes, more than "
                        "the limit of 52428800 bytes (raise it with WASMCLOUD_MAX_ACTOR_SIZE)"));
  EXPECT_FALSE(scripted->layer_requested("huge")) << "the layer must not be downloaded";
  EXPECT_LT(host_peak_rss(*open), kRssBound) << "log in " << open->dir;
}

TEST_F(OciPull, EndlessActorLayerWithoutSizeCutAtLimit) {
  scripted->add_endless("nosize", oci::media::kActorLayer, std::nullopt, 0);
  auto err = expect_actor_fails(*open, scripted->host() + "/nosize:1");
  EXPECT_EQ(err, quoted(std::string(oci::errors::kFetchBytesPrefix) +
                        "artifact too large: the registry sent more, more than the limit of "
                        "52428800 bytes (raise it with WASMCLOUD_MAX_ACTOR_SIZE)"));
  EXPECT_LT(host_peak_rss(*open), kRssBound) << "log in " << open->dir;
}

TEST_F(OciPull, ActorLayerLongerThanDeclaredCutAtDeclaredSize) {
  scripted->add_endless("liar", oci::media::kActorLayer, 4096, 0);
  auto err = expect_actor_fails(*open, scripted->host() + "/liar:1");
  EXPECT_EQ(err, quoted(std::string(oci::errors::kFetchBytesPrefix) +
                        std::string(oci::errors::kBlobSizeMismatchPrefix) + kZeroDigest));
  EXPECT_LT(host_peak_rss(*open), kRssBound) << "log in " << open->dir;
}

TEST_F(OciPull, HugeDeclaredProviderRefusedBeforeDownload) {
  scripted->add_endless("hugepar", oci::media::kProviderLayer, 10ull << 30, 10ull << 30);
  auto err = expect_provider_fails(*open, scripted->host() + "/hugepar:1");
  EXPECT_EQ(err,
            quoted(std::string(oci::errors::kFetchBytesPrefix) +
                   "artifact too large: the manifest declares 10737418240 bytes, more than "
                   "the limit of 268435456 bytes (raise it with WASMCLOUD_MAX_PROVIDER_SIZE)"));
  EXPECT_FALSE(scripted->layer_requested("hugepar"));
  EXPECT_LT(host_peak_rss(*open), kRssBound) << "log in " << open->dir;
}

TEST_F(OciPull, LargeProviderArchiveStreamsToDiskWithBoundedMemory) {
  // 200 MiB (under the 256 MiB provider limit) declared and sent; zeros, so the digest check
  // fails after the whole layer went through. The host's RSS stays bounded: the bytes stream to
  // a file while being hashed.
  scripted->add_endless("bigpar", oci::media::kProviderLayer, 200 * kMiB, 200 * kMiB);
  auto err = expect_provider_fails(*open, scripted->host() + "/bigpar:1");
  EXPECT_EQ(err, quoted(std::string(oci::errors::kFetchBytesPrefix) +
                        std::string(oci::errors::kBlobDigestMismatchPrefix) + kZeroDigest));
  EXPECT_TRUE(scripted->layer_requested("bigpar"));
  EXPECT_LT(host_peak_rss(*open), kRssBound) << "log in " << open->dir;
  // Nothing of the failed pull is left in the cache directory.
  for (const auto& e : std::filesystem::directory_iterator(open->dir + "/oci"))
    EXPECT_EQ(e.path().filename().string().find("bigpar"), std::string::npos)
        << e.path() << " left behind";
}

// --- issue 12.10: scheme-prefixed references ---------------------------------------------------

TEST_F(OciPull, OciSchemePrefixStartsEcho) { expect_echo_starts(*open, "oci://" + echo_ref); }

TEST_F(OciPull, HttpSchemePrefixStartsEchoWhenAllowedInsecure) {
  expect_echo_starts(*open, "http://" + echo_ref);
}

TEST_F(OciPull, HttpSchemePrefixRefusedWithoutAllowedInsecure) {
  auto err = expect_actor_fails(*strict, "http://" + echo_ref);
  EXPECT_EQ(err, quoted("plain HTTP refused for http:// reference: registry " + registry->host() +
                        " is not in the allowed-insecure list (WASMCLOUD_OCI_ALLOWED_INSECURE)"));
}

// --- issue 17.1: a plain-HTTP registry reached over TLS ----------------------------------------

TEST_F(OciPull, PlainHttpRegistryWithoutAllowedInsecureNamesTheSetting) {
  auto err = expect_actor_fails(*strict, echo_ref);
  const std::string prefix = "\"" + std::string(oci::errors::kFetchBytesPrefix) +
                             "error sending request for url (https://" + registry->host() +
                             "/v2/): ";
  EXPECT_EQ(err.rfind(prefix, 0), 0u) << err;
  EXPECT_NE(err.find("wrong version number"), std::string::npos) << err;
  EXPECT_NE(err.find("the registry at " + registry->host() +
                     " speaks plain HTTP and is not in the allowed-insecure list "
                     "(WASMCLOUD_OCI_ALLOWED_INSECURE)"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace wc
