// The host's log as a user reads it (issue #17.5, #17.6): a real `wasmcloud host` process, a
// real nats-server and docker-registry, the real signed echo actor and the real httpserver
// provider archive (file:// reference). In both formats:
//  * a pull logs its start (reference) and the size the manifest declares;
//  * the background native compile logs its start naming the actor (claims name and key);
//  * a live update logs the old and new references and the instances it replaces;
//  * the provider's own lines arrive through the host's logger with its key and link name, and
//    every line of the host's output is JSON (structured) or the one text pattern (plain).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

/// One line of the host's output: the raw text, and its message and fields when it parsed.
struct Line {
  std::string raw;
  json parsed;  ///< the JSON object (structured), null otherwise
};

class HostLogging : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("wc-logging-it");
    nats_ = std::make_unique<testing::NatsServer>();
    registry_ = std::make_unique<testing::RegistryServer>();
    auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(echo);
    auto echo_claims = wascap::extract_claims(*echo, wascap::now_seconds());
    ASSERT_TRUE(echo_claims) << echo_claims.error().message;
    echo_key_ = echo_claims->claims.sub;
    echo_name_ = echo_claims->claims.name.value_or("");
    echo_ref_ = registry_->host() + "/echo:0.3.4";
    push(echo_ref_, *echo);
    // The same code signed by one module key at revisions 1 and 2 (live update).
    auto unsigned_mod = wascap::strip_token_sections(*echo);
    ASSERT_TRUE(unsigned_mod);
    auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
    auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
    updatable_key_ = module.public_key();
    for (int rev : {1, 2}) {
      wascap::SignOptions o;
      o.name = "logtest";
      o.caps = {"wasmcloud:httpserver"};
      o.rev = rev;
      auto m = wascap::sign_module(*unsigned_mod, account, module, o);
      ASSERT_TRUE(m);
      push(registry_->host() + "/updatable:" + std::to_string(rev), m->module);
    }
    auto host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id_ = host_key.public_key();
    std::vector<std::string> argv = {std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud",
                                     "host",
                                     "--nats-port",
                                     std::to_string(nats_->port()),
                                     "--allowed-insecure",
                                     registry_->host(),
                                     "--allow-file-load",
                                     "--oci-cache-dir",
                                     dir_ + "/oci",
                                     "--native-cache-dir",
                                     dir_ + "/native"};  // empty: the compile really runs
    if (GetParam()) argv.push_back("--structured-logging");
    host_ = std::make_unique<testing::ChildProcess>(
        argv, log_path(), std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key.seed()});
    lattice::ConnectOptions co;
    co.servers = {nats_->url()};
    auto c = lattice::Connection::connect(co);
    ASSERT_TRUE(c) << c.error().message;
    nc_ = std::move(*c);
    auto until = std::chrono::steady_clock::now() + 20s;
    bool up = false;
    while (!up && std::chrono::steady_clock::now() < until) {
      up = nc_->request("wasmbus.ctl.default.get." + host_id_ + ".inv", "", 500ms).has_value();
      if (!up) std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(up) << "host did not answer; log in " << dir_;
  }

  void TearDown() override {
    if (host_) host_->stop(15);
    host_.reset();
    nc_.reset();
    registry_.reset();
    nats_.reset();
    if (!HasFailure()) testing::remove_temp_dir(dir_);
  }

  void push(const std::string& ref, const Bytes& bytes) {
    oci::PushOptions po;
    po.allowed_insecure = {registry_->host()};
    auto r = oci::Client().push(ref, bytes, po);
    ASSERT_TRUE(r) << r.error().message;
  }

  std::string log_path() const { return dir_ + "/host.log"; }

  json cmd(const std::string& op, const json& body) {
    auto r = nc_->request("wasmbus.ctl.default.cmd." + host_id_ + "." + op, body.dump(), 5s);
    if (!r) return json{{"error", r.error().message}};
    return json::parse(r->text(), nullptr, false);
  }

  /// Every complete line of the host's output so far.
  std::vector<Line> lines() const {
    std::vector<Line> out;
    std::ifstream in(log_path());
    for (std::string raw; std::getline(in, raw);) {
      Line l{raw, nullptr};
      if (GetParam()) {
        auto j = json::parse(raw, nullptr, false);
        if (!j.is_discarded()) l.parsed = std::move(j);
      }
      out.push_back(std::move(l));
    }
    return out;
  }

  /// The message of a line (JSON "message", or the whole text line in plain mode).
  static std::string message_of(const Line& l) {
    if (l.parsed.is_object() && l.parsed.contains("message") && l.parsed["message"].is_string())
      return l.parsed["message"];
    return l.raw;
  }

  /// Waits until a line's message contains `needle` (and `also` holds for it); returns it.
  std::optional<Line> wait_line(
      const std::string& needle, std::chrono::milliseconds timeout = 30s,
      const std::function<bool(const Line&)>& also = [](const Line&) { return true; }) const {
    auto until = std::chrono::steady_clock::now() + timeout;
    do {
      for (auto& l : lines())
        if (message_of(l).find(needle) != std::string::npos && also(l)) return l;
      std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < until);
    return std::nullopt;
  }

  std::string dir_, host_id_, echo_ref_, echo_key_, echo_name_, updatable_key_;
  std::unique_ptr<testing::NatsServer> nats_;
  std::unique_ptr<testing::RegistryServer> registry_;
  std::unique_ptr<testing::ChildProcess> host_;
  std::unique_ptr<lattice::Connection> nc_;
};

TEST_P(HostLogging, LongStepsAreLoggedAndOutputHasOneFormat) {
  const bool structured = GetParam();
  // #17.5: the pull's start and size, then the compile's start naming the actor.
  auto ack = cmd("la", {{"actor_ref", echo_ref_}, {"count", 1}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  EXPECT_TRUE(wait_line("Pulling actor '" + echo_ref_ + "'")) << "log in " << dir_;
  auto size_line = wait_line("Downloading actor '" + echo_ref_ + "': ");
  ASSERT_TRUE(size_line) << "log in " << dir_;
  EXPECT_TRUE(std::regex_search(message_of(*size_line), std::regex(": [0-9]+ bytes")))
      << size_line->raw;
  ASSERT_TRUE(wait_line("Started 1 instance(s) of actor " + echo_key_)) << "log in " << dir_;
  const std::string display = echo_name_.empty() ? echo_key_ : echo_name_ + " (" + echo_key_ + ")";
  EXPECT_TRUE(wait_line("Compiling actor " + display + " to native code", 60s))
      << "log in " << dir_;

  // #17.5: a live update names both references and the instances it replaces.
  const std::string v1 = registry_->host() + "/updatable:1";
  const std::string v2 = registry_->host() + "/updatable:2";
  ASSERT_EQ(cmd("la", {{"actor_ref", v1}, {"count", 2}})["accepted"], true);
  ASSERT_TRUE(wait_line("Started 2 instance(s) of actor " + updatable_key_)) << "log in " << dir_;
  auto upd = cmd("upd", {{"actor_id", updatable_key_}, {"new_actor_ref", v2}});
  EXPECT_EQ(upd["accepted"], true) << upd.dump();
  EXPECT_TRUE(wait_line("Live update of actor logtest (" + updatable_key_ + ") from '" + v1 +
                        "' to '" + v2 + "' (revision 2): replacing 2 instance(s)"))
      << "log in " << dir_;
  EXPECT_TRUE(wait_line("Updated 2 instance(s) of actor logtest (" + updatable_key_ + ")"))
      << "log in " << dir_;

  // #17.6: the provider's own lines come through the host's logger, naming the provider.
  const std::string par = std::string(WC_BINARY_DIR) + "/providers/httpserver.par.gz";
  ack = cmd("lp", {{"provider_ref", "file://" + par}, {"link_name", "default"}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  auto serving = wait_line("serving wasmbus.rpc.default.", 30s);
  ASSERT_TRUE(serving) << "no provider line; log in " << dir_;
  if (structured) {
    ASSERT_TRUE(serving->parsed.is_object()) << serving->raw;
    EXPECT_EQ(serving->parsed["level"], "info") << serving->raw;
    EXPECT_EQ(serving->parsed["link_name"], "default") << serving->raw;
    EXPECT_TRUE(serving->parsed["provider_id"].is_string() &&
                serving->parsed["provider_id"].get<std::string>().starts_with("V"))
        << serving->raw;
    // The provider's line is its message alone, not a nested log line.
    EXPECT_TRUE(message_of(*serving).starts_with("provider V")) << serving->raw;
  } else {
    EXPECT_TRUE(std::regex_search(
        serving->raw, std::regex(" info provider V[A-Z0-9]+ .* provider_id=V[A-Z0-9]{55} "
                                 "link_name=default$")))
        << serving->raw;
  }

  // Stop the host (the provider logs its stop through the host too), then read
  // everything.
  host_->stop(15);
  host_.reset();
  const auto all = lines();
  ASSERT_FALSE(all.empty());
  bool provider_stopped = false;
  const std::regex text_line(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (trace|debug|info|warning|error|critical) .*$)");
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Line& l = all[i];
    // Where a stray line sits: its number and the line before it (a record split over two lines
    // shows its first half there).
    const std::string where = "host.log line " + std::to_string(i + 1) +
                              (i > 0 ? ", after: " + all[i - 1].raw : std::string()) + "\nlog in " +
                              dir_;
    if (structured) {
      ASSERT_TRUE(l.parsed.is_object()) << "not a JSON object: " << l.raw << "\n" << where;
      EXPECT_TRUE(l.parsed["timestamp"].is_string()) << l.raw;
      EXPECT_TRUE(l.parsed["level"].is_string()) << l.raw;
      EXPECT_TRUE(l.parsed["message"].is_string()) << l.raw;
      // A provider line is never wrapped twice (its own JSON inside the host's message).
      EXPECT_FALSE(message_of(l).starts_with("{\"timestamp\"")) << l.raw;
    } else {
      EXPECT_TRUE(std::regex_match(l.raw, text_line))
          << "not the host's text format: " << l.raw << "\n"
          << where;
    }
    provider_stopped =
        provider_stopped || message_of(l).find("provider stopped") != std::string::npos;
  }
  EXPECT_TRUE(provider_stopped) << "the provider's last line is missing; log in " << dir_;
}

INSTANTIATE_TEST_SUITE_P(Formats, HostLogging, ::testing::Values(false, true),
                         [](const auto& param_info) {
                           return param_info.param ? "Structured" : "Plain";
                         });

}  // namespace
}  // namespace wc
