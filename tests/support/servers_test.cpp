#include "support/servers.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace wc::testing
