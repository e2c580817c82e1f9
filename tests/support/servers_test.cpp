#include "support/servers.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

namespace wc::testing {
namespace {

TEST(Servers, NatsRegistryRedisStartAndStop) {
  int nats_port, reg_port, redis_port;
  {
    NatsServer nats;
    RegistryServer registry;
    RedisServer redis;
    nats_port = nats.port();
    reg_port = registry.port();
    redis_port = redis.port();
    EXPECT_TRUE(port_open(nats_port));
    EXPECT_TRUE(port_open(reg_port));
    EXPECT_TRUE(port_open(redis_port));
  }
  EXPECT_FALSE(port_open(nats_port));
  EXPECT_FALSE(port_open(reg_port));
  EXPECT_FALSE(port_open(redis_port));
}

// The optional WebSocket listener (issue #15) answers the HTTP upgrade with 101 and then the
// server's INFO; a server without it has no WebSocket port.
TEST(Servers, NatsWebSocketListenerSpeaksNats) {
  NatsServer plain;
  EXPECT_EQ(plain.websocket_port(), 0);
  EXPECT_EQ(plain.websocket_url(), "");
  int ws_port = 0;
  {
    NatsServer nats(0, {}, /*websocket=*/true);
    ws_port = nats.websocket_port();
    ASSERT_NE(ws_port, 0);
    EXPECT_EQ(nats.websocket_url(), "ws://127.0.0.1:" + std::to_string(ws_port));
    const std::string cmd =
        "curl -s -i -N -m 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
        "-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "
        "http://127.0.0.1:" +
        std::to_string(ws_port) + "/ | head -c 4096";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
    EXPECT_EQ(out.rfind("HTTP/1.1 101 Switching Protocols", 0), 0u) << out;
    EXPECT_NE(out.find("INFO {"), std::string::npos) << out;
  }
  EXPECT_FALSE(port_open(ws_port));
}

}  // namespace
}  // namespace wc::testing
