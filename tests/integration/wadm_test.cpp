// `wasmcloud wadm` against a real nats-server with JetStream (issue #16, steps 1-3): wadm's API
// on `wadm.api.{lattice}.model.*` with wadm's reply shapes, manifests stored in JetStream KV,
// bad manifests refused and not stored, a restart of the service (and of NATS) losing nothing,
// two replicas sharing requests (queue group) and the store (compare-and-set), and the
// `wasmcloud app` client. Each test uses its own lattice on the suite's NATS server.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lattice/nats.h"
#include "support/servers.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kBinary = std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud";

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(WC_SOURCE_DIR) + "/tests/wadm/data/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

/// simple.yaml at version `v`.
std::string simple_at(const std::string& v) {
  return replace_once(read_data("simple.yaml"), "version: v0.0.1", "version: " + v);
}

/// Runs a shell command; returns stdout and the exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {"", -1};
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

class WadmService : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nats_ = new testing::NatsServer();
    ASSERT_TRUE(testing::wait_port(nats_->port()));
  }
  static void TearDownTestSuite() {
    delete nats_;
    nats_ = nullptr;
  }

  void SetUp() override {
    static int counter = 0;
    lattice_ = "wadmtest" + std::to_string(::getpid()) + "n" + std::to_string(++counter);
    log_dir_ = testing::make_temp_dir("wc-wadm-test");
    lattice::ConnectOptions o;
    o.servers = {nats_->url()};
    auto nc = lattice::Connection::connect(o);
    ASSERT_TRUE(nc.has_value()) << nc.error().message;
    nc_ = std::move(*nc);
  }
  void TearDown() override {
    replicas_.clear();
    nc_.reset();
    testing::remove_temp_dir(log_dir_);
  }

  /// Starts one more `wasmcloud wadm` replica and waits until the API answers.
  void start_wadm() {
    const std::string log = log_dir_ + "/wadm" + std::to_string(replicas_.size()) + ".log";
    replicas_.push_back(std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{kBinary, "wadm", "--ctl-port", std::to_string(nats_->port()),
                                 "--lattice-prefix", lattice_},
        log));
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = nc_->request("wadm.api." + lattice_ + ".model.list", "", 500ms);
      if (r.has_value()) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "wadm did not answer; log " << log;
  }

  /// One API request; the reply as JSON (null when there was none).
  json api(const std::string& op, const std::string& body = "") {
    auto r = nc_->request("wadm.api." + lattice_ + ".model." + op, body, 5s);
    if (!r.has_value()) {
      ADD_FAILURE() << op << ": " << r.error().message;
      return nullptr;
    }
    return json::parse(r->text(), nullptr, false);
  }

  std::string app(const std::string& args) {
    return kBinary + " app -p " + std::to_string(nats_->port()) + " -x " + lattice_ + " " + args;
  }

  static testing::NatsServer* nats_;
  std::string lattice_;
  std::string log_dir_;
  std::unique_ptr<lattice::Connection> nc_;
  std::vector<std::unique_ptr<testing::ChildProcess>> replicas_;
};

testing::NatsServer* WadmService::nats_ = nullptr;

TEST_F(WadmService, PutCreatesThenNewVersionAndRefusesAStoredVersion) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  json r = api("put", read_data("simple.yaml"));
  EXPECT_EQ(r["result"], "created") << r;
  EXPECT_EQ(r["name"], "echo-simple");
  EXPECT_EQ(r["current_version"], "v0.0.1");
  EXPECT_EQ(r["total_versions"], 1);
  EXPECT_EQ(r["message"], "Successfully put manifest echo-simple v0.0.1");

  r = api("put", read_data("simple.yaml"));
  EXPECT_EQ(r["result"], "error");
  EXPECT_EQ(r["message"], "Manifest version v0.0.1 already exists");

  r = api("put", simple_at("v0.0.2"));
  EXPECT_EQ(r["result"], "newversion") << r;
  EXPECT_EQ(r["current_version"], "v0.0.2");
  EXPECT_EQ(r["total_versions"], 2);

  // JSON bodies are manifests too.
  r = api("put", read_data("all_hosts.json"));
  EXPECT_EQ(r["result"], "created") << r;
  EXPECT_EQ(r["name"], "echo-all-hosts");
}

TEST_F(WadmService, VersionsGetAndList) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  ASSERT_EQ(api("put", read_data("simple.yaml"))["result"], "created");
  ASSERT_EQ(api("put", simple_at("v0.0.2"))["result"], "newversion");
  ASSERT_EQ(api("put", read_data("complex.yaml"))["result"], "created");

  json v = api("versions.echo-simple");
  EXPECT_EQ(v["result"], "success");
  EXPECT_EQ(v["versions"], json::parse(R"([{"version":"v0.0.1","deployed":false},
                                           {"version":"v0.0.2","deployed":false}])"));
  json nv = api("versions.nope");
  EXPECT_EQ(nv["result"], "notfound");
  EXPECT_EQ(nv["message"], "Model with the name nope not found");

  json g = api("get.echo-simple");
  EXPECT_EQ(g["result"], "success");
  EXPECT_EQ(g["manifest"]["metadata"]["annotations"]["version"], "v0.0.2");
  EXPECT_EQ(g["manifest"]["spec"]["components"][0]["properties"]["image"],
            "127.0.0.1:5000/echo:0.1.0");
  g = api("get.echo-simple", R"({"version":"v0.0.1"})");
  EXPECT_EQ(g["result"], "success");
  EXPECT_EQ(g["manifest"]["metadata"]["annotations"]["version"], "v0.0.1");
  EXPECT_EQ(api("get.echo-simple", R"({"version":"v9"})")["result"], "notfound");
  EXPECT_EQ(api("get.nope")["result"], "notfound");
  EXPECT_EQ(api("get.echo-simple", "[1,2]")["result"], "error");

  json l = api("list");
  ASSERT_TRUE(l.is_array()) << l;
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["name"], "complex");
  EXPECT_EQ(l[1]["name"], "echo-simple");
  EXPECT_EQ(l[1]["version"], "v0.0.2");
  EXPECT_EQ(l[1]["description"], "This is my app");
  EXPECT_TRUE(l[1]["deployed_version"].is_null());
  EXPECT_EQ(l[1]["status"], "undeployed");
}

TEST_F(WadmService, BadManifestsAreRefusedWithTheProblemNamedAndNotStored) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  ASSERT_EQ(api("put", read_data("simple.yaml"))["result"], "created");
  const std::string simple2 = simple_at("v0.0.2");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"key: [unclosed\n", "Unable to parse manifest: not YAML or JSON"},
      {"{\"apiVersion\": 1", "Unable to parse manifest: not valid JSON"},
      {replace_once(simple2, "        image: 127.0.0.1:5000/echo:0.1.0\n", ""),
       "component 'echo': properties.image is missing"},
      {read_data("duplicate_component.yaml"), "Duplicate component name in manifest: echo"},
      {replace_once(simple2, "type: spreadscaler", "type: autoscaler"),
       "unknown trait type 'autoscaler'"},
      {simple_at("latest"), "A manifest with a version latest is not allowed in wadm"},
      {read_data("missing_capability_component.yaml"),
       "links to 'httpserver', which is not a component of this manifest"},
      {replace_once(simple2, "replicas: 4", "replicas: -2"), "replicas is out of range"},
      {replace_once(simple2, "replicas: 4",
                    "replicas: 4\n            spread:\n              - name: a\n"
                    "                weight: 0\n"),
       "weight is out of range"},
  };
  for (const auto& [body, needle] : bad) {
    json r = api("put", body);
    EXPECT_EQ(r["result"], "error") << needle;
    EXPECT_NE(r["message"].get<std::string>().find(needle), std::string::npos)
        << r["message"] << " lacks " << needle;
  }
  // Nothing of the refused manifests was stored.
  json l = api("list");
  ASSERT_TRUE(l.is_array());
  ASSERT_EQ(l.size(), 1u) << l;
  EXPECT_EQ(l[0]["name"], "echo-simple");
  EXPECT_EQ(api("versions.echo-simple")["versions"].size(), 1u);
  EXPECT_EQ(api("get.missing-capability")["result"], "notfound");
}

TEST_F(WadmService, DeleteVersionsThenAll) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  ASSERT_EQ(api("put", read_data("simple.yaml"))["result"], "created");
  ASSERT_EQ(api("put", simple_at("v0.0.2"))["result"], "newversion");
  ASSERT_EQ(api("put", simple_at("v0.0.3"))["result"], "newversion");

  json d = api("del.echo-simple", R"({"version":"v0.0.2"})");
  EXPECT_EQ(d["result"], "deleted") << d;
  EXPECT_EQ(d["undeploy"], false);
  json v = api("versions.echo-simple");
  ASSERT_EQ(v["versions"].size(), 2u);
  EXPECT_EQ(v["versions"][1]["version"], "v0.0.3");
  d = api("del.echo-simple", R"({"version":"v0.0.2"})");
  EXPECT_EQ(d["result"], "noop");
  EXPECT_EQ(d["message"], "Model version v0.0.2 doesn't exist");
  EXPECT_EQ(api("del.echo-simple", "")["result"], "error");
  EXPECT_EQ(api("del.echo-simple", "not json")["result"], "error");

  d = api("del.echo-simple", R"({"delete_all":true})");
  EXPECT_EQ(d["result"], "deleted");
  EXPECT_EQ(api("get.echo-simple")["result"], "notfound");
  EXPECT_EQ(api("list").size(), 0u);
  EXPECT_EQ(api("del.echo-simple", R"({"delete_all":true})")["result"], "noop");

  // Deleting the last version removes the model; putting it again creates it afresh.
  ASSERT_EQ(api("put", read_data("simple.yaml"))["result"], "created");
  EXPECT_EQ(api("del.echo-simple", R"({"version":"v0.0.1"})")["result"], "deleted");
  EXPECT_EQ(api("versions.echo-simple")["result"], "notfound");
  EXPECT_EQ(api("put", read_data("simple.yaml"))["result"], "created");
}

TEST_F(WadmService, DeployIsRefusedHonestlyAndStatusSaysUndeployed) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  ASSERT_EQ(api("put", read_data("complex.yaml"))["result"], "created");
  json d = api("deploy.complex");
  EXPECT_EQ(d["result"], "error");
  EXPECT_NE(d["message"].get<std::string>().find("reconciler not available in this build"),
            std::string::npos)
      << d;
  EXPECT_EQ(api("deploy.complex", R"({"version":"v0.0.1"})")["result"], "error");
  EXPECT_EQ(api("deploy.nope")["result"], "notfound");
  // Nothing was recorded as deployed.
  EXPECT_EQ(api("versions.complex")["versions"][0]["deployed"], false);
  EXPECT_TRUE(api("list")[0]["deployed_version"].is_null());

  json u = api("undeploy.complex", R"({"non_destructive":false})");
  EXPECT_EQ(u["result"], "acknowledged");
  EXPECT_EQ(api("undeploy.nope")["result"], "notfound");

  json s = api("status.complex");
  EXPECT_EQ(s["result"], "ok") << s;
  EXPECT_EQ(s["status"]["version"], "v0.0.1");
  EXPECT_EQ(s["status"]["status"]["type"], "undeployed");
  ASSERT_EQ(s["status"]["components"].size(), 3u);
  EXPECT_EQ(s["status"]["components"][0]["name"], "echo");
  EXPECT_EQ(s["status"]["components"][0]["type"], "actor");
  EXPECT_EQ(s["status"]["components"][0]["traits"][1]["type"], "linkdef");
  EXPECT_EQ(s["status"]["components"][2]["type"], "capability");
  EXPECT_EQ(s["status"]["components"][2]["traits"][0]["type"], "daemonscaler");
  EXPECT_EQ(s["status"]["components"][2]["status"]["type"], "undeployed");
  EXPECT_EQ(api("status.nope")["result"], "notfound");

  EXPECT_EQ(api("frobnicate")["result"], "error");
  EXPECT_EQ(api("get")["result"], "error");  // no model name
}

TEST_F(WadmService, RestartOfTheServiceAndOfNatsLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  ASSERT_EQ(api("put", read_data("simple.yaml"))["result"], "created");
  ASSERT_EQ(api("put", simple_at("v0.0.2"))["result"], "newversion");
  ASSERT_EQ(api("put", read_data("complex.yaml"))["result"], "created");
  const json before = api("list");
  const json versions_before = api("versions.echo-simple");

  replicas_.back()->stop(9);  // kill -9: nothing flushed on the way out
  replicas_.clear();
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  EXPECT_EQ(api("list"), before);
  EXPECT_EQ(api("versions.echo-simple"), versions_before);
  EXPECT_EQ(api("get.complex")["manifest"]["metadata"]["name"], "complex");

  // NATS itself restarted (file store), then the service.
  replicas_.clear();
  nc_.reset();
  nats_->kill9();
  nats_->restart();
  ASSERT_TRUE(testing::wait_port(nats_->port()));
  lattice::ConnectOptions o;
  o.servers = {nats_->url()};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc.has_value());
  nc_ = std::move(*nc);
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  EXPECT_EQ(api("list"), before);
  EXPECT_EQ(api("put", simple_at("v0.0.3"))["total_versions"], 3);
}

TEST_F(WadmService, TwoReplicasShareRequestsAndTheStore) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  // Concurrent puts of distinct versions from several clients: the replicas race on one KV key;
  // compare-and-set keeps every version.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      lattice::ConnectOptions o;
      o.servers = {nats_->url()};
      auto nc = lattice::Connection::connect(o);
      if (!nc) return;
      for (int i = 0; i < kPerThread; ++i) {
        auto r = (*nc)->request("wadm.api." + lattice_ + ".model.put",
                                simple_at("v" + std::to_string(t) + "." + std::to_string(i)), 10s);
        if (!r) continue;
        json j = json::parse(r->text(), nullptr, false);
        if (j.is_object() && (j["result"] == "created" || j["result"] == "newversion")) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(api("versions.echo-simple")["versions"].size(),
            static_cast<std::size_t>(kThreads * kPerThread));
  // Exactly one of the puts created the model.
  EXPECT_EQ(api("put", simple_at("v-last"))["total_versions"], kThreads * kPerThread + 1);
}

TEST_F(WadmService, AppCommandTalksToTheService) {
  ASSERT_NO_FATAL_FAILURE(start_wadm());
  const std::string file = log_dir_ + "/simple.yaml";
  {
    std::ofstream out(file);
    out << read_data("simple.yaml");
  }
  auto [put_out, put_rc] = run(app("put " + file + " -o json"));
  ASSERT_EQ(put_rc, 0) << put_out;
  json p = json::parse(put_out, nullptr, false);
  EXPECT_EQ(p["success"], true);
  EXPECT_EQ(p["result"], "created");

  auto [list_out, list_rc] = run(app("list"));
  EXPECT_EQ(list_rc, 0);
  EXPECT_NE(list_out.find("echo-simple"), std::string::npos) << list_out;
  EXPECT_NE(list_out.find("undeployed"), std::string::npos) << list_out;

  auto [ver_out, ver_rc] = run(app("versions echo-simple"));
  EXPECT_EQ(ver_rc, 0);
  EXPECT_NE(ver_out.find("v0.0.1"), std::string::npos) << ver_out;

  auto [get_out, get_rc] = run(app("get echo-simple -o json"));
  EXPECT_EQ(get_rc, 0);
  EXPECT_EQ(json::parse(get_out, nullptr, false)["manifest"]["metadata"]["name"], "echo-simple");

  auto [st_out, st_rc] = run(app("status echo-simple"));
  EXPECT_EQ(st_rc, 0);
  EXPECT_NE(st_out.find("undeployed"), std::string::npos) << st_out;

  // A refused manifest: exit 1, the message on stderr as JSON.
  auto [again_out, again_rc] = run(app("put " + file + " -o json 2>&1"));
  EXPECT_EQ(again_rc, 1);
  EXPECT_NE(again_out.find("Manifest version v0.0.1 already exists"), std::string::npos)
      << again_out;
  auto [miss_out, miss_rc] = run(app("get nope 2>&1"));
  EXPECT_EQ(miss_rc, 1);
  EXPECT_NE(miss_out.find("Model with the name nope not found"), std::string::npos) << miss_out;

  auto [del_out, del_rc] = run(app("delete echo-simple --all"));
  EXPECT_EQ(del_rc, 0);
  EXPECT_NE(del_out.find("Successfully deleted model echo-simple"), std::string::npos);
  EXPECT_EQ(api("list").size(), 0u);

  // No service on another lattice: a clear error, not a hang.
  auto [none_out, none_rc] = run(kBinary + " app -p " + std::to_string(nats_->port()) +
                                 " -x nobody-here -t 500 list 2>&1");
  EXPECT_EQ(none_rc, 1);
  EXPECT_NE(none_out.find("is `wasmcloud wadm` running"), std::string::npos) << none_out;
}

}  // namespace
}  // namespace wc
