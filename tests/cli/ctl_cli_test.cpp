// `wasmcloud ctl start|scale|stop|link|update` wait for the host's result event
// (src/cli/ctl_wait.h): run against a real nats-server, a real docker-registry holding the echo
// fixture, and a real `wasmcloud host` process, all started once for the suite. Also the id checks
// made before anything is sent, and a fake host (acks, never reports) for the --timeout path.
#include <crypt.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc::cli::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
const std::string kEchoFile = std::string("file://") + WC_FIXTURES_DIR + "/echo.wasm";

class CtlCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    nats_ = std::make_unique<wc::testing::NatsServer>();
    registry_ = std::make_unique<wc::testing::RegistryServer>();
    home_ = std::make_unique<ScratchDir>();
    // Known to the test so that `wasmcloud call` signs invocations the host accepts.
    cluster_seed_ = wascap::KeyPair::generate(wascap::KeyType::kCluster).seed();
    echo_ref_ = registry_->host() + "/echo:0.3.4";
    auto pushed = run_cli(
        {"reg", "push", echo_ref_, std::string(WC_FIXTURES_DIR) + "/echo.wasm", "--insecure"},
        *home_);
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    host_ = std::make_unique<wc::testing::ChildProcess>(
        std::vector<std::string>{WC_CLI_BINARY, "host", "--nats-port",
                                 std::to_string(nats_->port()), "--allow-file-load",
                                 "--allowed-insecure", registry_->host(), "--no-native",
                                 "--oci-cache-dir", *home_ / "oci-cache"},
        *home_ / "host.log",
        std::vector<std::string>{"HOME=" + home_->path().string(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster_seed_});
    lattice::ConnectOptions o;
    o.servers = {nats_->url()};
    auto nc = lattice::Connection::connect(o);
    ASSERT_TRUE(nc) << nc.error().message;
    for (int i = 0; i < 100 && host_id_.empty(); ++i) {
      auto r = (*nc)->request(lattice::topics::ctl_ping_hosts("default"), "", 300ms);
      if (r) host_id_ = json::parse(r->text(), nullptr, false).value("id", "");
      if (host_id_.empty()) std::this_thread::sleep_for(100ms);
    }
    ASSERT_FALSE(host_id_.empty()) << "host never answered; see " << *home_ / "host.log";
  }
  static void TearDownTestSuite() {
    host_.reset();
    registry_.reset();
    nats_.reset();
    home_.reset();
  }

  /// `wasmcloud ctl -p <nats port> <args...>`.
  static RunResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"ctl", "-p", std::to_string(nats_->port())});
    return run_cli(args, *home_);
  }

  /// Stops every instance of echo on the host (test independence); ignores "not running".
  static void stop_echo() { ctl({"stop", "actor", host_id_, kEcho}); }

  static std::unique_ptr<wc::testing::NatsServer> nats_;
  static std::unique_ptr<wc::testing::RegistryServer> registry_;
  static std::unique_ptr<ScratchDir> home_;
  static std::unique_ptr<wc::testing::ChildProcess> host_;
  static std::string host_id_, echo_ref_, cluster_seed_;
};

std::unique_ptr<wc::testing::NatsServer> CtlCli::nats_;
std::unique_ptr<wc::testing::RegistryServer> CtlCli::registry_;
std::unique_ptr<ScratchDir> CtlCli::home_;
std::unique_ptr<wc::testing::ChildProcess> CtlCli::host_;
std::string CtlCli::host_id_, CtlCli::echo_ref_, CtlCli::cluster_seed_;

TEST_F(CtlCli, StartActorFromRegistryWaitsForTheStartedEvent) {
  auto r = ctl({"start", "actor", echo_ref_, "--host-id", host_id_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Actor " + std::string(kEcho) + " (Echo) started on host " + host_id_ +
                       ": 1 instance(s) from " + echo_ref_ + "\n");
  // It really runs (the result came from the host, not from the ack).
  auto inv = ctl({"-o", "json", "get", "inventory", host_id_});
  EXPECT_NE(inv.out.find(kEcho), std::string::npos) << inv.out;
  stop_echo();
}

TEST_F(CtlCli, StartActorWithoutHostIdPicksTheHostAndJsonOutput) {
  auto r = ctl({"-o", "json", "start", "actor", kEchoFile, "--count", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["actor_id"], kEcho);
  EXPECT_EQ(j["host_id"], host_id_);
  EXPECT_EQ(j["count"], 2);
  stop_echo();
}

TEST_F(CtlCli, StartActorMissingFromRegistryFailsWithTheRegistryError) {
  const std::string ref = registry_->host() + "/nosuchactor:0.1.0";
  auto r = ctl({"start", "actor", ref, "--host-id", host_id_});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Failed to start actor " + ref + " on host " + host_id_ + ": "),
            std::string::npos)
      << r.err;
  // The registry's own words (distribution: NAME_UNKNOWN / MANIFEST_UNKNOWN) reach the user.
  EXPECT_TRUE(r.err.find("unknown") != std::string::npos ||
              r.err.find("UNKNOWN") != std::string::npos ||
              r.err.find("not found") != std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("accepted\n"), std::string::npos) << r.err;
}

TEST_F(CtlCli, StartActorMissingFileFailsWithTheHostError) {
  auto r = ctl({"start", "actor", "file:///nonexistent/dir/echo.wasm", "--host-id", host_id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Failed to start actor file:///nonexistent/dir/echo.wasm"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("/nonexistent/dir/echo.wasm"), std::string::npos) << r.err;
}

TEST_F(CtlCli, StartActorSkipWaitReturnsAfterTheAck) {
  auto r = ctl({"start", "actor", registry_->host() + "/nosuchactor:0.2.0", "--host-id", host_id_,
                "--skip-wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Start actor request accepted"), std::string::npos) << r.out;
}

TEST_F(CtlCli, StartActorCountZeroIsRefused) {
  auto r = ctl({"start", "actor", kEchoFile, "--count", "0", "--host-id", host_id_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--count must be at least 1"), std::string::npos) << r.err;
}

TEST_F(CtlCli, ScaleActorUpDownAndNothingToDo) {
  auto up = ctl({"scale", "actor", host_id_, kEcho, echo_ref_, "2"});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "Scaled actor " + std::string(kEcho) + " on host " + host_id_ +
                        " from 0 to 2 instance(s)\n");
  auto down = ctl({"scale", "actor", host_id_, kEcho, echo_ref_, "1"});
  EXPECT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(down.out, "Scaled actor " + std::string(kEcho) + " on host " + host_id_ +
                          " from 2 to 1 instance(s)\n");
  auto same = ctl({"scale", "actor", host_id_, kEcho, echo_ref_, "1"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("already has 1 instance(s)"), std::string::npos) << same.out;
  auto zero = ctl({"scale", "actor", host_id_, kEcho, echo_ref_, "0"});
  EXPECT_EQ(zero.exit_code, 0) << zero.err;
  EXPECT_NE(zero.out.find("from 1 to 0 instance(s)"), std::string::npos) << zero.out;
}

TEST_F(CtlCli, ScaleActorFromMissingReferenceFails) {
  const std::string ref = registry_->host() + "/nosuchactor:0.3.0";
  auto r = ctl({"scale", "actor", host_id_, kEcho, ref, "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("Failed to scale actor " + std::string(kEcho) + " on host " + host_id_),
            std::string::npos)
      << r.err;
}

TEST_F(CtlCli, ScaleActorOnUnknownHostSaysNoHostAnswered) {
  const std::string ghost = wascap::KeyPair::generate(wascap::KeyType::kServer).public_key();
  auto r = ctl({"scale", "actor", ghost, kEcho, echo_ref_, "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "No host " + ghost +
                       " answered on lattice 'default' (is the host running? `wasmcloud ctl get "
                       "hosts` lists the hosts)\n");
  EXPECT_EQ(r.err.find("responders"), std::string::npos);
}

TEST_F(CtlCli, InventoryOfUnknownHostSaysNoHostAnswered) {
  const std::string ghost = wascap::KeyPair::generate(wascap::KeyType::kServer).public_key();
  auto r = ctl({"get", "inventory", ghost});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No host " + ghost + " answered on lattice 'default'"), std::string::npos)
      << r.err;
}

TEST_F(CtlCli, StopActorStopsAndReportsRemaining) {
  ASSERT_EQ(ctl({"start", "actor", kEchoFile, "--count", "2", "--host-id", host_id_}).exit_code, 0);
  auto one = ctl({"stop", "actor", host_id_, kEcho, "--count", "1"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "Stopped 1 instance(s) of actor " + std::string(kEcho) + " on host " +
                         host_id_ + " (1 remaining)\n");
  auto rest = ctl({"stop", "actor", host_id_, kEcho});
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_NE(rest.out.find("Stopped 1 instance(s)"), std::string::npos) << rest.out;
  EXPECT_NE(rest.out.find("(0 remaining)"), std::string::npos) << rest.out;
}

TEST_F(CtlCli, StopActorThatIsNotRunningFails) {
  auto r = ctl({"stop", "actor", host_id_, kEcho});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not running on host " + host_id_), std::string::npos) << r.err;
}

TEST_F(CtlCli, StartProviderFromMissingArchiveFails) {
  auto r = ctl({"start", "provider", "file:///nonexistent/provider.par.gz", "--host-id", host_id_});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("Failed to start provider file:///nonexistent/provider.par.gz on host " +
                       host_id_ + ": "),
            std::string::npos)
      << r.err;
}

TEST_F(CtlCli, StopProviderThatIsNotRunningFails) {
  const std::string v = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  auto r = ctl({"stop", "provider", host_id_, v, "default", "wasmcloud:httpserver"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not running on host"), std::string::npos) << r.err;
}

// #17.4: `link put` waits for the lattice's linkdef_set and says what that confirms (stored, not
// validated: httpserver would refuse port=notaport only in its log); every message names the
// actor, provider, contract and link name; `link del` of a missing link fails with "No link".
TEST_F(CtlCli, LinkPutWaitsForTheStoredLinkAndLinkDelNamesIt) {
  const std::string v = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  const std::string named = "link from actor " + std::string(kEcho) + " to provider " + v +
                            " (contract wasmcloud:httpserver, link name cli174)";
  auto put = ctl(
      {"link", "put", kEcho, v, "wasmcloud:httpserver", "port=notaport", "--link-name", "cli174"});
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, "Link stored in the lattice: " + named + ". Provider " + v +
                         " checks the values when it receives the link; a refusal (e.g. a bad "
                         "port) appears only in its log\n");
  EXPECT_EQ(put.out.find("accepted"), std::string::npos) << put.out;
  // Stored, with the values given.
  auto links = json::parse(ctl({"-o", "json", "get", "links"}).out, nullptr, false);
  bool stored = false;
  for (const auto& l : links.value("links", json::array()))
    stored = stored ||
             (l.value("actor_id", "") == kEcho && l.value("provider_id", "") == v &&
              l.value("link_name", "") == "cli174" && l["values"].value("port", "") == "notaport");
  EXPECT_TRUE(stored) << links.dump();
  // The same put again, JSON: confirmed again (linkdef_set is published on every put).
  auto again = ctl({"-o", "json", "link", "put", kEcho, v, "wasmcloud:httpserver", "port=notaport",
                    "-l", "cli174"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto j = json::parse(again.out, nullptr, false);
  EXPECT_EQ(j["success"], true) << again.out;
  EXPECT_EQ(j["stored"], true) << again.out;
  EXPECT_EQ(j["actor_id"], kEcho);
  EXPECT_EQ(j["provider_id"], v);
  EXPECT_EQ(j["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ(j["link_name"], "cli174");
  EXPECT_EQ(j["values"]["port"], "notaport");

  auto del = ctl({"link", "del", kEcho, "wasmcloud:httpserver", "-l", "cli174"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.out, "Link deleted from the lattice: " + named + "\n");
  links = json::parse(ctl({"-o", "json", "get", "links"}).out, nullptr, false);
  for (const auto& l : links.value("links", json::array()))
    EXPECT_FALSE(l.value("actor_id", "") == kEcho && l.value("link_name", "") == "cli174")
        << links.dump();

  auto missing = ctl({"link", "del", kEcho, "wasmcloud:httpserver", "-l", "cli174"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out;
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "No link from actor " + std::string(kEcho) +
                             " (contract wasmcloud:httpserver, link name cli174) in lattice "
                             "'default' (nothing to delete; `wasmcloud ctl get links` lists the "
                             "links)\n");
  auto missing_json =
      ctl({"-o", "json", "link", "del", kEcho, "wasmcloud:httpserver", "-l", "cli174"});
  EXPECT_EQ(missing_json.exit_code, 1);
  auto e = json::parse(missing_json.err, nullptr, false);
  EXPECT_EQ(e["success"], false) << missing_json.err;
  EXPECT_NE(e.value("error", "").find("No link from actor"), std::string::npos);
}

// The text tables of `get claims` and `get links` read the replies with the wire layer's codecs
// (rpc/claims_entry.h, rpc/messages.h): one row per entry with the spec's fields.
TEST_F(CtlCli, GetClaimsAndLinksTextTables) {
  ASSERT_EQ(ctl({"start", "actor", kEchoFile, "--host-id", host_id_}).exit_code, 0);
  const std::string v = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  ASSERT_EQ(
      ctl({"link", "put", kEcho, v, "wasmcloud:httpserver", "port=8080", "-l", "tables"}).exit_code,
      0);
  auto claims = ctl({"get", "claims"});
  EXPECT_EQ(claims.exit_code, 0) << claims.err;
  EXPECT_EQ(claims.err, "");
  EXPECT_NE(claims.out.find("Subject"), std::string::npos) << claims.out;
  std::string echo_row;
  std::istringstream claim_lines(claims.out);
  for (std::string line; std::getline(claim_lines, line);)
    if (line.find(kEcho) != std::string::npos) echo_row = line;
  EXPECT_NE(echo_row.find("Echo"), std::string::npos) << claims.out;
  EXPECT_NE(echo_row.find("wasmcloud:httpserver"), std::string::npos) << claims.out;
  auto links = ctl({"get", "links"});
  EXPECT_EQ(links.exit_code, 0) << links.err;
  EXPECT_EQ(links.err, "");
  std::string link_row;
  std::istringstream link_lines(links.out);
  for (std::string line; std::getline(link_lines, line);)
    if (line.find(v) != std::string::npos) link_row = line;
  EXPECT_NE(link_row.find(kEcho), std::string::npos) << links.out;
  EXPECT_NE(link_row.find("tables"), std::string::npos) << links.out;
  ctl({"link", "del", kEcho, "wasmcloud:httpserver", "-l", "tables"});
  stop_echo();
}

TEST_F(CtlCli, LinkPutChecksIdsAndValuesBeforeSending) {
  auto bad_provider = ctl({"link", "put", kEcho, host_id_, "wasmcloud:httpserver"});
  EXPECT_EQ(bad_provider.exit_code, 1);
  EXPECT_NE(bad_provider.err.find("invalid provider id"), std::string::npos) << bad_provider.err;
  const std::string v = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  auto bad_value = ctl({"link", "put", kEcho, v, "wasmcloud:httpserver", "portnotaport"});
  EXPECT_EQ(bad_value.exit_code, 1);
  EXPECT_NE(bad_value.err.find("Link values must be KEY=VALUE, not 'portnotaport' (link from "
                               "actor " +
                               std::string(kEcho) + " to provider " + v),
            std::string::npos)
      << bad_value.err;
}

// A "lattice" that acks `linkdefs.put` but never publishes linkdef_set: the CLI does not claim
// the link was stored.
TEST_F(CtlCli, LinkPutTimesOutWhenTheLatticeNeverConfirms) {
  lattice::ConnectOptions o;
  o.servers = {nats_->url()};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc) << nc.error().message;
  lattice::Connection* raw = nc->get();
  auto sub = (*nc)->subscribe("wasmbus.ctl.silentlinks.linkdefs.put", [raw](lattice::Message m) {
    (void)raw->respond(m, std::string_view(R"({"accepted":true,"error":""})"));
  });
  ASSERT_TRUE(sub) << sub.error().message;
  ASSERT_TRUE((*nc)->flush());
  const std::string v = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  auto r =
      ctl({"-x", "silentlinks", "link", "put", kEcho, v, "wasmcloud:httpserver", "--timeout", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("Timed out after 1 s waiting for the lattice to confirm the link from "
                       "actor " +
                       std::string(kEcho) + " to provider " + v +
                       " (contract wasmcloud:httpserver, link name default)"),
            std::string::npos)
      << r.err;
  sub->unsubscribe();
}

// `ctl update actor` against the real host: echo's module signed afresh under a new module key at
// revisions 1, 2 and 3 and pushed to the test registry under three tags; the update replaces the
// running module (inventory shows the new reference); a missing reference and a revision that is
// not newer fail with the host's error.
TEST_F(CtlCli, UpdateActorReplacesTheRunningModule) {
  const auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
  const auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  const std::string key = module.public_key();
  auto signed_ref = [&](const std::string& rev) {
    const std::string file = *home_ / ("echoupd" + rev + ".wasm");
    auto s = run_cli(
        {"claims", "sign", std::string(WC_FIXTURES_DIR) + "/echo.wasm", "-n", "EchoUpd", "-q", "-r",
         rev, "-v", "0." + rev + ".0", "-s", module.seed(), "-i", account.seed(), "-d", file},
        *home_);
    EXPECT_EQ(s.exit_code, 0) << s.err;
    const std::string ref = registry_->host() + "/echoupd:0." + rev + ".0";
    auto p = run_cli({"reg", "push", ref, file, "--insecure"}, *home_);
    EXPECT_EQ(p.exit_code, 0) << p.err;
    return ref;
  };
  const std::string v1 = signed_ref("1"), v2 = signed_ref("2"), v3 = signed_ref("3");
  ASSERT_EQ(ctl({"start", "actor", v1, "--host-id", host_id_}).exit_code, 0);

  auto image_ref = [&] {
    auto inv = json::parse(ctl({"-o", "json", "get", "inventory", host_id_}).out, nullptr, false);
    for (const auto& act : inv["inventory"].value("actors", json::array()))
      if (act.value("id", "") == key) return act.value("image_ref", "");
    return std::string("(not running)");
  };
  auto up = ctl({"update", "actor", host_id_, key, v2});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_EQ(up.out, "Actor " + key + " on host " + host_id_ + " updated to " + v2 + "\n");
  EXPECT_EQ(image_ref(), v2);

  auto up_json = ctl({"-o", "json", "update", "actor", host_id_, key, v3});
  ASSERT_EQ(up_json.exit_code, 0) << up_json.err;
  auto j = json::parse(up_json.out, nullptr, false);
  EXPECT_EQ(j["success"], true) << up_json.out;
  EXPECT_EQ(j["actor_id"], key);
  EXPECT_EQ(j["host_id"], host_id_);
  EXPECT_EQ(j["actor_ref"], v3);
  EXPECT_EQ(image_ref(), v3);

  // A reference that does not exist: the host's error (the registry's words) and exit 1.
  const std::string missing = registry_->host() + "/echoupd:9.9.9";
  auto gone = ctl({"update", "actor", host_id_, key, missing});
  EXPECT_EQ(gone.exit_code, 1) << gone.out;
  EXPECT_EQ(gone.out, "");
  EXPECT_NE(gone.err.find("Update of actor " + key + " on host " + host_id_ + " to " + missing +
                          " failed: Unable to perform live update: "),
            std::string::npos)
      << gone.err;
  EXPECT_TRUE(gone.err.find("unknown") != std::string::npos ||
              gone.err.find("UNKNOWN") != std::string::npos ||
              gone.err.find("not found") != std::string::npos)
      << gone.err;
  // An older revision is refused; the actor keeps running the newer one.
  auto older = ctl({"-o", "json", "update", "actor", host_id_, key, v2});
  EXPECT_EQ(older.exit_code, 1) << older.out;
  auto e = json::parse(older.err, nullptr, false);
  EXPECT_EQ(e["success"], false) << older.err;
  EXPECT_NE(e.value("error", "").find("Unable to perform live update"), std::string::npos);
  EXPECT_EQ(image_ref(), v3);
  ctl({"stop", "actor", host_id_, key});
}

// #17.9: the short forms `wasmcloud get|start|scale|stop|link|update ...` are `ctl ...`, with the
// same connection options; `link query` is `get links`.
TEST_F(CtlCli, TopLevelShortFormsAndLinkQueryAreCtlCommands) {
  const std::string port = std::to_string(nats_->port());
  auto hosts = run_cli({"get", "hosts", "-p", port, "-o", "json"}, *home_);
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  EXPECT_NE(hosts.out.find(host_id_), std::string::npos) << hosts.out;
  auto started = run_cli({"start", "actor", kEchoFile, "-p", port, "--host-id", host_id_}, *home_);
  EXPECT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(started.out, "Actor " + std::string(kEcho) + " (Echo) started on host " + host_id_ +
                             ": 1 instance(s) from " + kEchoFile + "\n");
  auto scaled = run_cli({"-p", port, "scale", "actor", host_id_, kEcho, kEchoFile, "2"}, *home_);
  EXPECT_NE(scaled.exit_code, 0) << "options belong after the command name, as in ctl";
  scaled = run_cli({"scale", "-p", port, "actor", host_id_, kEcho, kEchoFile, "2"}, *home_);
  EXPECT_EQ(scaled.exit_code, 0) << scaled.err;
  EXPECT_NE(scaled.out.find("from 1 to 2 instance(s)"), std::string::npos) << scaled.out;
  auto stopped = run_cli({"stop", "actor", host_id_, kEcho, "-p", port}, *home_);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_NE(stopped.out.find("Stopped 2 instance(s)"), std::string::npos) << stopped.out;

  const std::string v = wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
  auto put = run_cli(
      {"link", "put", kEcho, v, "wasmcloud:keyvalue", "URL=redis://x", "-l", "short", "-p", port},
      *home_);
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_NE(put.out.find("Link stored in the lattice"), std::string::npos) << put.out;
  auto query = ctl({"-o", "json", "link", "query"});
  auto get_links = ctl({"-o", "json", "get", "links"});
  EXPECT_EQ(query.exit_code, 0) << query.err;
  EXPECT_EQ(query.out, get_links.out);
  EXPECT_NE(query.out.find(v), std::string::npos) << query.out;
  auto query_text = run_cli({"link", "query", "-p", port}, *home_);
  EXPECT_TRUE(query_text.out.starts_with("Actor ID")) << query_text.out;
  EXPECT_NE(query_text.out.find(v), std::string::npos) << query_text.out;
  auto del =
      run_cli({"link", "del", kEcho, "wasmcloud:keyvalue", "-l", "short", "-p", port}, *home_);
  EXPECT_EQ(del.exit_code, 0) << del.err;
  // The short forms' own errors follow the output rule too.
  auto bad = run_cli({"get", "inventory", "nope", "-p", port, "-o", "json"}, *home_);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("\"success\":false"), std::string::npos) << bad.err;
}

// #17.9 `ctl stop host`: a second host joins the lattice, is stopped through the control
// interface, and the CLI returns once the host reported host_stopped; the process exits.
TEST_F(CtlCli, StopHostWaitsForHostStoppedAndTheHostExits) {
  ScratchDir dir;
  wc::testing::ChildProcess second(
      std::vector<std::string>{WC_CLI_BINARY, "host", "--nats-port", std::to_string(nats_->port()),
                               "--no-native", "--oci-cache-dir", dir / "oci-cache"},
      dir / "host.log", std::vector<std::string>{"HOME=" + dir.path().string()});
  std::string second_id;
  for (int i = 0; i < 100 && second_id.empty(); ++i) {
    auto hosts = json::parse(ctl({"-o", "json", "get", "hosts"}).out, nullptr, false);
    for (const auto& h : hosts.value("hosts", json::array()))
      if (h.value("id", "") != host_id_) second_id = h.value("id", "");
    if (second_id.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(second_id.empty()) << "the second host never answered; see " << dir / "host.log";
  auto r = ctl({"stop", "host", second_id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Host " + second_id + " stopped (its actors and providers were stopped first)\n");
  bool exited = false;
  for (int i = 0; i < 100 && !exited; ++i) {
    siginfo_t info{};
    exited =
        ::waitid(P_PID, static_cast<id_t>(second.pid()), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == second.pid();
    if (!exited) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(exited) << "the stopped host's process is still running";
  // The suite's host was not touched.
  auto hosts = ctl({"-o", "json", "get", "hosts"});
  EXPECT_NE(hosts.out.find(host_id_), std::string::npos) << hosts.out;
  EXPECT_EQ(hosts.out.find(second_id), std::string::npos) << hosts.out;

  auto again = ctl({"stop", "host", second_id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("No host " + second_id + " answered on lattice 'default'"),
            std::string::npos)
      << again.err;
  auto bad = ctl({"stop", "host", kEcho});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("a module key, not a server key"), std::string::npos) << bad.err;
}

// #17.9 `reg ping`: the suite's plain-HTTP registry answers ok with --insecure; over HTTPS the TLS
// handshake fails and the text says to try --insecure; a port nobody listens on is unreachable.
/// True once `pid` has exited (a zombie waiting to be reaped counts as exited).
bool exited(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return true;
  auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z';
}

/// Polls `pred` every 50 ms until it holds or `timeout` passes.
bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  return pred();
}

// #17.9: `wasmcloud spy` sees the invocation `wasmcloud call` sends to echo and prints it (JSON
// line: operation, origin, size, id), stops after --count 1 by itself, and only observes: the
// host still answers the call.
TEST_F(CtlCli, SpySeesAnInvocationWhileTheHostStillAnswersIt) {
  auto started = ctl({"start", "actor", kEchoFile, "--host-id", host_id_});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string port = std::to_string(nats_->port());
  const std::string spy_log = *home_ / "spy.log";
  wc::testing::ChildProcess spy(
      {WC_CLI_BINARY, "spy", kEcho, "--count", "1", "--timeout", "30", "-p", port, "-o", "json"},
      spy_log);
  ASSERT_TRUE(poll_until([&] { return slurp(spy_log).find("Watching") != std::string::npos; }, 10s))
      << slurp(spy_log);
  const std::string origin = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  auto call =
      run_cli({"call", "-p", port, "--cluster-seed", cluster_seed_, "--origin", origin, "-o",
               "json", kEcho, "HttpServer.HandleRequest",
               R"({"method":"GET","path":"/spy","queryString":"","header":{},"body":"hi"})"},
              *home_);
  EXPECT_EQ(call.exit_code, 0) << call.err;
  auto reply = json::parse(call.out, nullptr, false);
  ASSERT_TRUE(reply.is_object()) << call.out << call.err;
  EXPECT_EQ(reply["response"]["statusCode"], 200) << call.out;

  EXPECT_TRUE(poll_until([&] { return exited(spy.pid()); }, 10s))
      << "spy did not stop after --count 1: " << slurp(spy_log);
  EXPECT_EQ(spy.interrupt_and_wait(5s), 0);  // reaps it
  json line;
  std::istringstream lines(slurp(spy_log));
  for (std::string l; std::getline(lines, l);)
    if (!l.empty() && l[0] == '{') line = json::parse(l, nullptr, false);
  ASSERT_TRUE(line.is_object()) << slurp(spy_log);
  EXPECT_EQ(line["operation"], "HttpServer.HandleRequest");
  EXPECT_EQ(line["origin"]["public_key"], origin);
  EXPECT_EQ(line["target"], kEcho);
  EXPECT_GT(line["size"].get<int>(), 0);
  EXPECT_FALSE(line["id"].get<std::string>().empty());
  stop_echo();
}

TEST_F(CtlCli, RegPingSaysOkOrUnreachable) {
  auto ok = run_cli({"reg", "ping", registry_->host(), "--insecure"}, *home_);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "Registry " + registry_->host() + " is reachable: ok (GET http://" +
                        registry_->host() + "/v2/ answered 200)\n");
  auto ok_json = run_cli({"reg", "ping", "http://" + registry_->host(), "-o", "json"}, *home_);
  auto j = json::parse(ok_json.out, nullptr, false);
  EXPECT_EQ(j["success"], true) << ok_json.out << ok_json.err;
  EXPECT_EQ(j["status"], 200);
  auto tls = run_cli({"reg", "ping", registry_->host()}, *home_);
  EXPECT_EQ(tls.exit_code, 1);
  EXPECT_NE(tls.err.find("Registry " + registry_->host() + " is unreachable (GET https://"),
            std::string::npos)
      << tls.err;
  EXPECT_NE(tls.err.find("--insecure pings it over HTTP"), std::string::npos) << tls.err;
  const std::string nobody = "127.0.0.1:" + std::to_string(wc::testing::free_port());
  auto down = run_cli({"reg", "ping", nobody, "--insecure", "-o", "json"}, *home_);
  EXPECT_EQ(down.exit_code, 1);
  auto e = json::parse(down.err, nullptr, false);
  EXPECT_EQ(e["success"], false) << down.err;
  EXPECT_NE(e.value("error", "").find("Registry " + nobody + " is unreachable"), std::string::npos)
      << down.err;
}

// #17.9 `reg ping` against a docker-registry with htpasswd Basic auth: anonymous → "needs
// authentication" (exit 1, with the challenge); right credentials → ok; wrong ones → refused.
TEST_F(CtlCli, RegPingSaysWhenTheRegistryNeedsAuthentication) {
  ScratchDir dir;
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  const char* hash = crypt_r("s3cret", salt, &data);
  ASSERT_TRUE(hash != nullptr && hash[0] != '*');
  std::ofstream(dir / "htpasswd") << "alice:" << hash << "\n";
  wc::testing::RegistryServer reg(
      "auth:\n  htpasswd:\n    realm: basic-realm\n    path: " + (dir / "htpasswd") + "\n");
  const std::string url = "http://" + reg.host() + "/v2/";
  auto anonymous = run_cli({"reg", "ping", reg.host(), "--insecure"}, *home_);
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_EQ(anonymous.err, "Error: Registry " + reg.host() +
                               " answers but needs authentication (HTTP 401 on GET " + url +
                               "; Basic realm=\"basic-realm\"): give --user and --password\n");
  auto alice =
      run_cli({"reg", "ping", reg.host(), "--insecure", "-u", "alice", "-p", "s3cret"}, *home_);
  EXPECT_EQ(alice.exit_code, 0) << alice.err;
  EXPECT_EQ(alice.out, "Registry " + reg.host() + " is reachable: ok (GET " + url +
                           " answered 200, credentials accepted)\n");
  auto wrong = run_cli(
      {"reg", "ping", reg.host(), "--insecure", "-u", "alice", "-p", "nope", "-o", "json"}, *home_);
  EXPECT_EQ(wrong.exit_code, 1);
  auto e = json::parse(wrong.err, nullptr, false);
  EXPECT_EQ(e["success"], false) << wrong.err;
  EXPECT_EQ(e.value("error", ""), "Registry " + reg.host() +
                                      " refused the credentials of user 'alice' (HTTP 401 on GET " +
                                      url + ")");
}

// A "host" that acks `la` but never reports a result: the CLI gives up after --timeout.
TEST_F(CtlCli, StartActorTimesOutWhenNoResultEventComes) {
  lattice::ConnectOptions o;
  o.servers = {nats_->url()};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc) << nc.error().message;
  const std::string fake = wascap::KeyPair::generate(wascap::KeyType::kServer).public_key();
  lattice::Connection* raw = nc->get();
  auto sub = (*nc)->subscribe("wasmbus.ctl.silent.cmd." + fake + ".la", [raw](lattice::Message m) {
    (void)raw->respond(m, std::string_view(R"({"accepted":true,"error":""})"));
  });
  ASSERT_TRUE(sub) << sub.error().message;
  ASSERT_TRUE((*nc)->flush());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = ctl({"-x", "silent", "start", "actor", kEchoFile, "--host-id", fake, "--timeout", "1"});
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Timed out after 1 s waiting for host " + fake), std::string::npos) << r.err;
  EXPECT_LT(took, 10s);
  sub->unsubscribe();
}

// Ids are checked before anything is sent: no NATS server listens on the port used here, so a
// request would fail with "Failed to connect" instead.
struct BadId {
  std::vector<std::string> args;
  std::string expected;
};

TEST(CtlCliIds, MalformedIdsAreRefusedBeforeSending) {
  ScratchDir home;
  const std::string port = std::to_string(wc::testing::free_port());
  const std::string module_key = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  const std::string server_key = wascap::KeyPair::generate(wascap::KeyType::kServer).public_key();
  const std::vector<BadId> cases = {
      {{"scale", "actor", "", kEcho, "ref", "1"},
       "host id is empty (server nkey: 56 characters "
       "starting with N)"},
      {{"scale", "actor", "NXXXX", kEcho, "ref", "1"}, "invalid host id 'NXXXX': "},
      {{"scale", "actor", module_key, kEcho, "ref", "1"}, "a module key, not a server key"},
      {{"scale", "actor", server_key, "MXXX", "ref", "1"}, "invalid actor id 'MXXX'"},
      {{"scale", "actor", server_key, kEcho, "ref", "-1"}, "COUNT must be a non-negative integer"},
      {{"start", "actor", "ref", "--host-id", ""}, "host id is empty"},
      {{"start", "actor", "ref", "--host-id", "not-a-host"}, "invalid host id 'not-a-host'"},
      {{"start", "provider", "ref", "--host-id", kEcho}, "a module key, not a server key"},
      {{"stop", "actor", "", kEcho}, "host id is empty"},
      {{"stop", "provider", server_key, kEcho, "default", "c"}, "invalid provider id"},
      {{"get", "inventory", "nope"}, "invalid host id 'nope'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"ctl", "-p", port};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = run_cli(args, home);
    EXPECT_EQ(r.exit_code, 1) << c.args[0] << " " << c.args[2];
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("Failed to connect"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace wc::cli::testing
