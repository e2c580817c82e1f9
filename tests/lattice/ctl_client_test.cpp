// CtlClient against fake hosts on a real nats-server: request bodies as sent on the wire,
// single replies, scatter/gather for ping and auctions, and failures (no host, bad replies).
#include "lattice/ctl_client.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "collector.h"
#include "support/servers.h"

namespace wc::lattice {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const char* kHostA = "NB6PMW4RGLBP3NAVUVO2IH34VFJFSX7LF7TJOQCDU4GGUGF3P57SZLPX";
const char* kHostB = "NCOGQNZLCJJS2V52A5434BX65RQFNWX5RMP6IIJJATKD3HVAPZJ2ZUXZ";
const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
const char* kHttp = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";

/// A fake host: answers one subject with a fixed reply and records the request bodies/subjects.
/// `subs` is declared last so that it is destroyed first: each Subscription's destructor waits
/// for a running handler, which may still be writing `requests` (a data race ThreadSanitizer
/// reported when `requests` went first).
struct FakeHost {
  std::unique_ptr<Connection> nc;
  std::mutex mu;
  std::vector<std::pair<std::string, json>> requests;
  std::vector<Subscription> subs;

  explicit FakeHost(const wc::testing::NatsServer& server) {
    ConnectOptions o;
    o.servers = {server.url()};
    nc = std::move(*Connection::connect(o));
  }
  void answer(const std::string& subject, std::string reply, const std::string& queue = {}) {
    Connection* c = nc.get();
    auto handler = [this, c, reply](Message m) {
      {
        std::lock_guard<std::mutex> lock(mu);
        requests.emplace_back(std::string(m.subject()),
                              m.text().empty() ? json() : json::parse(m.text(), nullptr, false));
      }
      if (!m.reply().empty() && !reply.empty()) (void)c->respond(m, reply);
    };
    auto sub = queue.empty() ? nc->subscribe(subject, handler)
                             : nc->queue_subscribe(subject, queue, handler);
    EXPECT_TRUE(sub.has_value());
    subs.push_back(std::move(*sub));
    EXPECT_TRUE(nc->flush());
  }
  std::pair<std::string, json> last() {
    std::lock_guard<std::mutex> lock(mu);
    return requests.empty() ? std::pair<std::string, json>{} : requests.back();
  }
};

class CtlClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new wc::testing::NatsServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ConnectOptions o;
    o.servers = {server_->url()};
    nc_ = std::move(*Connection::connect(o));
    client_ = std::make_unique<CtlClient>(*nc_, "default", "wasmbus.ctl", 500ms, 300ms);
  }
  static wc::testing::NatsServer* server_;
  std::unique_ptr<Connection> nc_;
  std::unique_ptr<CtlClient> client_;
};
wc::testing::NatsServer* CtlClientTest::server_ = nullptr;

const std::string kAccepted = R"({"accepted": true, "error": ""})";

TEST(ParseAck, AcceptedAndRejected) {
  auto a = parse_ack(json::parse(kAccepted));
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->accepted);
  EXPECT_EQ(a->error, "");
  auto r = parse_ack(
      json::parse(R"({"accepted": false, "error": "Invalid launch actor JSON request"})"));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->accepted);
  EXPECT_EQ(r->error, "Invalid launch actor JSON request");
}

TEST(ParseAck, MissingErrorReadsEmpty) {
  auto a = parse_ack(json::parse(R"({"accepted": true})"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->error, "");
}

TEST(ParseAck, NotAnAck) {
  EXPECT_FALSE(parse_ack(json::parse(R"({"host_id": "N"})")).has_value());
  EXPECT_FALSE(parse_ack(json::parse(R"({"accepted": "yes"})")).has_value());
  EXPECT_FALSE(parse_ack(json::parse("[]")).has_value());
}

TEST_F(CtlClientTest, StartActorSendsTheLaRequest) {
  FakeHost host(*server_);
  host.answer(std::string("wasmbus.ctl.default.cmd.") + kHostA + ".*", kAccepted);
  auto ack = client_->start_actor(kHostA, "wasmcloud.azurecr.io/echo:0.3.4", 2,
                                  {{"wasmcloud.dev/appspec", "echo"}});
  ASSERT_TRUE(ack.has_value()) << ack.error().to_string();
  EXPECT_TRUE(ack->accepted);
  auto [subject, body] = host.last();
  EXPECT_EQ(subject, std::string("wasmbus.ctl.default.cmd.") + kHostA + ".la");
  EXPECT_EQ(body,
            json::parse(R"({"actor_ref": "wasmcloud.azurecr.io/echo:0.3.4", "host_id": ")" +
                        std::string(kHostA) +
                        R"(", "count": 2, "annotations": {"wasmcloud.dev/appspec": "echo"}})"));
}

TEST_F(CtlClientTest, RejectedCommandIsAnAckNotAnError) {
  FakeHost host(*server_);
  host.answer(std::string("wasmbus.ctl.default.cmd.") + kHostA + ".sp",
              R"({"accepted": false, "error": "Invalid JSON request for stop provider"})");
  auto ack = client_->stop_provider(kHostA, "wasmcloud.azurecr.io/httpserver:0.16.0", "default",
                                    "wasmcloud:httpserver");
  ASSERT_TRUE(ack.has_value());
  EXPECT_FALSE(ack->accepted);
  EXPECT_EQ(ack->error, "Invalid JSON request for stop provider");
  EXPECT_EQ(host.last().second["provider_ref"], "wasmcloud.azurecr.io/httpserver:0.16.0");
  EXPECT_EQ(host.last().second["contract_id"], "wasmcloud:httpserver");
}

TEST_F(CtlClientTest, OtherCommandBodies) {
  FakeHost host(*server_);
  host.answer(std::string("wasmbus.ctl.default.cmd.") + kHostA + ".*", kAccepted);
  ASSERT_TRUE(client_->stop_actor(kHostA, kEcho, 0));
  EXPECT_EQ(host.last().first, std::string("wasmbus.ctl.default.cmd.") + kHostA + ".sa");
  EXPECT_EQ(host.last().second["actor_ref"], kEcho);
  EXPECT_EQ(host.last().second["count"], 0);

  ASSERT_TRUE(client_->scale_actor(kHostA, kEcho, "wasmcloud.azurecr.io/echo:0.3.4", 1));
  EXPECT_EQ(
      host.last().second,
      json::parse(std::string(R"({"actor_id": ")") + kEcho +
                  R"(", "actor_ref": "wasmcloud.azurecr.io/echo:0.3.4", "count": 1, "host_id": ")" +
                  kHostA + "\"}"));

  ASSERT_TRUE(client_->update_actor(kHostA, kEcho, "wasmcloud.azurecr.io/echo:0.3.5"));
  EXPECT_EQ(host.last().first, std::string("wasmbus.ctl.default.cmd.") + kHostA + ".upd");
  EXPECT_EQ(host.last().second["new_actor_ref"], "wasmcloud.azurecr.io/echo:0.3.5");

  ASSERT_TRUE(client_->start_provider(kHostA, "wasmcloud.azurecr.io/httpserver:0.16.0"));
  EXPECT_EQ(host.last().first, std::string("wasmbus.ctl.default.cmd.") + kHostA + ".lp");
  EXPECT_EQ(host.last().second["link_name"], "default");
  EXPECT_EQ(host.last().second["configuration"], "");

  ASSERT_TRUE(client_->stop_host(kHostA, 1000));
  EXPECT_EQ(host.last().first, std::string("wasmbus.ctl.default.cmd.") + kHostA + ".stop");
  EXPECT_EQ(host.last().second["timeout"], 1000);
}

TEST_F(CtlClientTest, LinkdefsGoToTheQueueGroup) {
  FakeHost a(*server_), b(*server_);
  a.answer("wasmbus.ctl.default.linkdefs.*", kAccepted, "wasmbus.ctl.default");
  b.answer("wasmbus.ctl.default.linkdefs.*", kAccepted, "wasmbus.ctl.default");
  auto ack = client_->advertise_link(kEcho, kHttp, "wasmcloud:httpserver", "default",
                                     {{"address", "0.0.0.0:8080"}});
  ASSERT_TRUE(ack.has_value());
  EXPECT_TRUE(ack->accepted);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(a.requests.size() + b.requests.size(), 1u);  // one host of the lattice answers
  auto req = a.requests.empty() ? b.last() : a.last();
  EXPECT_EQ(req.first, "wasmbus.ctl.default.linkdefs.put");
  EXPECT_EQ(
      req.second,
      json::parse(
          std::string(R"({"actor_id": ")") + kEcho + R"(", "provider_id": ")" + kHttp +
          R"(", "link_name": "default", "contract_id": "wasmcloud:httpserver", "values": {"address": "0.0.0.0:8080"}})"));
  ASSERT_TRUE(client_->remove_link(kEcho, "wasmcloud:httpserver", "default"));
}

TEST_F(CtlClientTest, GetClaimsLinksAndInventory) {
  FakeHost host(*server_);
  host.answer("wasmbus.ctl.default.get.*", R"({"claims": [{"sub": "M"}]})", "wasmbus.ctl.default");
  host.answer(std::string("wasmbus.ctl.default.get.") + kHostA + ".inv",
              std::string(R"({"host_id": ")") + kHostA + R"(", "actors": [], "providers": []})");
  auto claims = client_->get_claims();
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ((*claims)["claims"][0]["sub"], "M");
  EXPECT_EQ(host.last().first, "wasmbus.ctl.default.get.claims");
  ASSERT_TRUE(client_->get_links());
  EXPECT_EQ(host.last().first, "wasmbus.ctl.default.get.links");
  auto inv = client_->host_inventory(kHostA);
  ASSERT_TRUE(inv.has_value());
  EXPECT_EQ((*inv)["host_id"], kHostA);
  EXPECT_TRUE(host.last().second.is_null());  // empty body
}

TEST_F(CtlClientTest, PingCollectsEveryHost) {
  FakeHost a(*server_), b(*server_);
  a.answer("wasmbus.ctl.default.ping.hosts", std::string(R"({"id": ")") + kHostA + "\"}");
  b.answer("wasmbus.ctl.default.ping.hosts", std::string(R"({"id": ")") + kHostB + "\"}");
  auto start = std::chrono::steady_clock::now();
  auto replies = client_->ping_hosts();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(replies.has_value());
  ASSERT_EQ(replies->size(), 2u);
  std::set<std::string> ids = {(*replies)[0]["id"], (*replies)[1]["id"]};
  EXPECT_EQ(ids, (std::set<std::string>{kHostA, kHostB}));
  EXPECT_GE(elapsed, 300ms);  // collected for the whole auction timeout
}

TEST_F(CtlClientTest, PingWithNoHostsIsEmpty) {
  auto replies = client_->ping_hosts();
  ASSERT_TRUE(replies.has_value());
  EXPECT_TRUE(replies->empty());
}

TEST_F(CtlClientTest, AuctionsCollectBidsAndSendConstraints) {
  FakeHost a(*server_), silent(*server_);
  a.answer("wasmbus.ctl.default.auction.>",
           std::string(R"({"actor_ref": "r", "constraints": {"zone": "us-east-1"}, "host_id": ")") +
               kHostA + "\"}");
  silent.answer("wasmbus.ctl.default.auction.>", "");  // non-matching host stays silent
  auto bids = client_->auction_actor("wasmcloud.azurecr.io/echo:0.3.4", {{"zone", "us-east-1"}});
  ASSERT_TRUE(bids.has_value());
  ASSERT_EQ(bids->size(), 1u);
  EXPECT_EQ((*bids)[0]["host_id"], kHostA);
  EXPECT_EQ(silent.last().first, "wasmbus.ctl.default.auction.actor");
  EXPECT_EQ(silent.last().second["constraints"]["zone"], "us-east-1");

  auto pbids = client_->auction_provider("wasmcloud.azurecr.io/httpserver:0.16.0");
  ASSERT_TRUE(pbids.has_value());
  EXPECT_EQ(silent.last().first, "wasmbus.ctl.default.auction.provider");
  EXPECT_EQ(silent.last().second["link_name"], "default");
  EXPECT_TRUE(silent.last().second["constraints"].is_object());
}

TEST_F(CtlClientTest, RegistriesPutCollectsAcks) {
  FakeHost a(*server_), b(*server_);
  a.answer("wasmbus.ctl.default.registries.put", kAccepted);
  b.answer("wasmbus.ctl.default.registries.put", kAccepted);
  json creds = {
      {"private.azurecr.io", {{"registryType", "oci"}, {"username", "u"}, {"password", "p"}}}};
  auto acks = client_->put_registries(creds);
  ASSERT_TRUE(acks.has_value());
  EXPECT_EQ(acks->size(), 2u);
  EXPECT_EQ(a.last().second, creds);
}

TEST_F(CtlClientTest, UnknownHostIsUnavailable) {
  auto ack = client_->start_actor("NUNKNOWNHOST", "ref");
  ASSERT_FALSE(ack.has_value());
  EXPECT_EQ(ack.error().code, Code::kUnavailable);
}

TEST_F(CtlClientTest, SilentHostTimesOut) {
  FakeHost host(*server_);
  host.answer(std::string("wasmbus.ctl.default.cmd.") + kHostB + ".*", "");  // never replies
  auto ack = client_->stop_host(kHostB);
  ASSERT_FALSE(ack.has_value());
  EXPECT_EQ(ack.error().code, Code::kDeadlineExceeded);
}

TEST_F(CtlClientTest, NonJsonReplyIsInvalid) {
  FakeHost host(*server_);
  host.answer("wasmbus.ctl.default.get.*", "not json", "wasmbus.ctl.default");
  auto r = client_->get_claims();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
}

TEST_F(CtlClientTest, NonAckReplyToACommandIsInvalid) {
  FakeHost host(*server_);
  host.answer(std::string("wasmbus.ctl.default.cmd.") + kHostA + ".*", R"({"something": 1})");
  auto ack = client_->start_actor(kHostA, "ref");
  ASSERT_FALSE(ack.has_value());
  EXPECT_EQ(ack.error().code, Code::kInvalidArgument);
}

TEST_F(CtlClientTest, CustomControlPrefix) {
  FakeHost host(*server_);
  host.answer("acme.ctl.prod.ping.hosts", R"({"id": "N1"})");
  CtlClient custom(*nc_, "prod", "acme.ctl", 500ms, 200ms);
  auto replies = custom.ping_hosts();
  ASSERT_TRUE(replies.has_value());
  EXPECT_EQ(replies->size(), 1u);
}

}  // namespace
}  // namespace wc::lattice
