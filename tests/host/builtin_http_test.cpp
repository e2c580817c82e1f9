// BuiltinHttpServer (host/builtin_http.h) against fakes of its seams: the in-process and lattice
// invocation functions are lambdas, the HTTP side is the real httpd::Server on a free loopback
// port, reached with a plain socket client.
#include "host/builtin_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rpc/http.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

using json = nlohmann::json;

/// One HTTP/1.1 request on a fresh connection (Connection: close); the raw answer, "" when the
/// connection fails.
std::string http(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return "";
  }
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, n);
  ::close(fd);
  return out;
}

std::string get(int port, const std::string& target) {
  return http(port, "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

rpc::LinkDefinition link_to(const std::string& provider, const std::string& link_name,
                            std::map<std::string, std::string> values) {
  rpc::LinkDefinition ld;
  ld.actor_id = "MACTOR";
  ld.provider_id = provider;
  ld.link_name = link_name;
  ld.contract_id = "wasmcloud:httpserver";
  ld.values = std::move(values);
  return ld;
}

class BuiltinHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BuiltinHttpDeps d;
    d.emit = [this](std::string_view type, const json& data, bool) {
      std::lock_guard lock(mu);
      events.emplace_back(std::string(type), data);
    };
    d.invoke_local = [this](const std::string& key, std::shared_ptr<LocalInvocation> inv) {
      return local ? local(key, std::move(inv)) : false;
    };
    d.invoke_remote = [this](const rpc::WasmCloudEntity& origin, const std::string& key,
                             std::string_view op, Bytes payload) -> Result<Bytes> {
      std::lock_guard lock(mu);
      remote_calls.push_back(origin.public_key + " " + key + " " + std::string(op));
      (void)payload;
      return remote_answer;
    };
    d.post_rpc = [this](std::function<void()> task) {
      spawn(std::move(task));
      return true;
    };
    d.links_for = [this](const std::string&, const std::string&) { return cached_links; };
    server = std::make_unique<BuiltinHttpServer>(std::move(d));
  }
  void TearDown() override {
    std::vector<std::thread> running;
    {
      std::lock_guard lock(mu);
      running.swap(threads);
    }
    for (auto& t : running) t.join();
    server.reset();
  }
  /// Runs `task` on a new thread, joined at TearDown (a stand-in for the RPC pool).
  void spawn(std::function<void()> task) {
    std::lock_guard lock(mu);
    threads.emplace_back(std::move(task));
  }
  std::vector<std::thread> threads;

  std::mutex mu;
  std::vector<std::pair<std::string, json>> events;
  std::vector<std::string> remote_calls;
  Result<Bytes> remote_answer = fail(Code::kDeadlineExceeded, "timeout");
  std::function<bool(const std::string&, std::shared_ptr<LocalInvocation>)> local;
  std::vector<rpc::LinkDefinition> cached_links;
  std::unique_ptr<BuiltinHttpServer> server;
};

TEST(BuiltinHttpKey, IsTheServiceKeyTheReadmeNames) {
  EXPECT_EQ(builtin_http_server_key(), "VAGCJGUXWWA5UJHCWNUYJWWMX5XXRF264DZTLQYVV5PZLNVQ6VYKBLMP");
  auto valid = wascap::check_public_key(builtin_http_server_key(), wascap::KeyType::kService);
  EXPECT_TRUE(valid) << valid.error().message;
}

TEST_F(BuiltinHttpTest, StartListsAnnouncesAndStops) {
  auto info = server->start("default", {{"a", "b"}});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->public_key, builtin_http_server_key());
  EXPECT_EQ(info->image_ref, "builtin://httpserver");
  EXPECT_TRUE(server->supervised(builtin_http_server_key(), "default"));
  EXPECT_FALSE(server->supervised(builtin_http_server_key(), "other"));
  EXPECT_FALSE(server->supervised("VOTHER", "default"));
  auto again = server->start("default", {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kAlreadyExists);
  ASSERT_EQ(server->running().size(), 1u);
  EXPECT_EQ(server->running()[0].annotations.at("a"), "b");
  EXPECT_TRUE(server->stop("default"));
  EXPECT_FALSE(server->stop("default"));
  EXPECT_TRUE(server->running().empty());
  std::lock_guard lock(mu);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].first, "com.wasmcloud.lattice.provider_started");
  EXPECT_EQ(events[0].second["contract_id"], "wasmcloud:httpserver");
  // Healthy from its start (the dashboard's provider status follows these events).
  EXPECT_EQ(events[1].first, "com.wasmcloud.lattice.health_check_passed");
  EXPECT_EQ(events[1].second["public_key"], builtin_http_server_key());
  EXPECT_EQ(events[2].first, "com.wasmcloud.lattice.provider_stopped");
  EXPECT_EQ(events[2].second["reason"], "normal");
}

TEST_F(BuiltinHttpTest, LocalAnswerIsServedAndTheRequestIsTheContractsPayload) {
  std::string seen_op;
  rpc::HttpRequest seen;
  local = [&](const std::string& key, std::shared_ptr<LocalInvocation> inv) {
    EXPECT_EQ(key, "MACTOR");
    EXPECT_EQ(inv->origin.public_key, builtin_http_server_key());
    EXPECT_EQ(inv->origin.contract_id, "wasmcloud:httpserver");
    {
      std::lock_guard lock(mu);  // read by the test thread (synchronised through a socket)
      seen_op = inv->operation;
      seen = *rpc::decode_http_request(inv->payload);
    }
    spawn([inv] {  // answered later, from another thread, as an RPC worker does
      rpc::HttpResponse r;
      r.status_code = 201;
      r.header["x-answer"] = {"yes"};
      r.header["content-length"] = {"999"};  // framing is the server's: ignored
      r.body = Bytes{'h', 'i'};
      inv->done(rpc::encode_http_response(r));
    });
    return true;
  };
  ASSERT_TRUE(server->start("default", {}));
  server->link_changed(link_to(builtin_http_server_key(), "default", {{"address", "127.0.0.1:0"}}),
                       true);
  const int port = server->port_of("MACTOR", "default");
  ASSERT_GT(port, 0);
  const std::string answer = get(port, "/a/b?x=1");
  EXPECT_NE(answer.find("HTTP/1.1 201"), std::string::npos) << answer;
  EXPECT_NE(answer.find("x-answer: yes"), std::string::npos) << answer;
  EXPECT_EQ(answer.substr(answer.size() - 2), "hi");
  EXPECT_EQ(answer.find("999"), std::string::npos) << answer;
  std::lock_guard lock(mu);
  EXPECT_EQ(seen_op, "HttpServer.HandleRequest");
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/a/b");
  EXPECT_EQ(seen.query_string, "x=1");
  EXPECT_EQ(seen.header["host"], std::vector<std::string>{"t"});
}

TEST_F(BuiltinHttpTest, WithoutALocalInstanceTheLatticeIsAskedAndItsFailureIs503) {
  ASSERT_TRUE(server->start("default", {}));
  server->link_changed(link_to(builtin_http_server_key(), "default", {{"address", "127.0.0.1:0"}}),
                       true);
  const int port = server->port_of("MACTOR", "default");
  ASSERT_GT(port, 0);
  EXPECT_NE(get(port, "/").find("HTTP/1.1 503"), std::string::npos);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(remote_calls.size(), 1u);
    EXPECT_EQ(remote_calls[0], builtin_http_server_key() + " MACTOR HttpServer.HandleRequest");
    remote_answer = Bytes{0x01};  // not an HttpResponse
  }
  EXPECT_NE(get(port, "/").find("HTTP/1.1 500"), std::string::npos);
  {
    std::lock_guard lock(mu);
    remote_answer = fail(Code::kTrap, "wasm `unreachable` instruction executed");
  }
  EXPECT_NE(get(port, "/").find("HTTP/1.1 500"), std::string::npos);
}

TEST_F(BuiltinHttpTest, OnlyItsOwnLinksOfRunningLinkNamesOpenListeners) {
  ASSERT_TRUE(server->start("default", {}));
  server->link_changed(link_to("VSOMEONEELSE", "default", {{"address", "127.0.0.1:0"}}), true);
  EXPECT_EQ(server->port_of("MACTOR", "default"), 0);
  server->link_changed(link_to(builtin_http_server_key(), "other", {{"address", "127.0.0.1:0"}}),
                       true);
  EXPECT_EQ(server->port_of("MACTOR", "other"), 0);
  // Bad values and TLS leave no listener.
  server->link_changed(link_to(builtin_http_server_key(), "default", {{"port", "http"}}), true);
  EXPECT_EQ(server->port_of("MACTOR", "default"), 0);
  server->link_changed(
      link_to(builtin_http_server_key(), "default",
              {{"config_json",
                R"({"address":"127.0.0.1:0","tls":{"cert_file":"c","priv_key_file":"k"}})"}}),
      true);
  EXPECT_EQ(server->port_of("MACTOR", "default"), 0);
  // A good one opens; bad values put over it close it (the lattice no longer holds the link it
  // served); deleting closes.
  const auto ld = link_to(builtin_http_server_key(), "default", {{"address", "127.0.0.1:0"}});
  server->link_changed(ld, true);
  const int first = server->port_of("MACTOR", "default");
  ASSERT_GT(first, 0);
  server->link_changed(link_to(builtin_http_server_key(), "default", {{"port", "abc"}}), true);
  EXPECT_EQ(server->port_of("MACTOR", "default"), 0);
  EXPECT_EQ(get(first, "/"), "");
  server->link_changed(ld, true);
  const int port = server->port_of("MACTOR", "default");
  ASSERT_GT(port, 0);
  server->link_changed(ld, false);
  EXPECT_EQ(server->port_of("MACTOR", "default"), 0);
  EXPECT_EQ(get(port, "/"), "");
}

TEST_F(BuiltinHttpTest, LinksCachedBeforeTheStartOpenAtStart) {
  cached_links = {link_to(builtin_http_server_key(), "default", {{"address", "127.0.0.1:0"}})};
  ASSERT_TRUE(server->start("default", {}));
  EXPECT_GT(server->port_of("MACTOR", "default"), 0);
  EXPECT_TRUE(server->stop("default"));
  EXPECT_EQ(server->port_of("MACTOR", "default"), 0);
}

}  // namespace
}  // namespace wc::host
