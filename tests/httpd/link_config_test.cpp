// The wasmcloud:httpserver link settings (httpd/link_config.h): defaults, port / address /
// JSON / base64 forms, sizes and refusals.
#include "httpd/link_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/encoding.h"

namespace wc::httpd {
namespace {

using rpc::LinkDefinition;

LinkDefinition http_link(std::map<std::string, std::string> values) {
  return LinkDefinition{"MACTOR",          "VPROV", "default", "wasmcloud:httpserver",
                        std::move(values), ""};
}

TEST(HttpConfigTest, Defaults) {
  auto c = parse_link_config(http_link({}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 8000);
  EXPECT_EQ(c->max_content_len, 10u << 20);
  EXPECT_FALSE(c->timeout);
}

TEST(HttpConfigTest, PortAddressAndJson) {
  auto c = parse_link_config(http_link({{"PORT", "8081"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 8081);
  c = parse_link_config(http_link({{"Address", "0.0.0.0:9000"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "0.0.0.0");
  EXPECT_EQ(c->port, 9000);
  c = parse_link_config(
      http_link({{"config_json",
                  R"({"address":"127.0.0.1:7001","timeout_ms":250,"max_content_len":"1k",
            "cors":{"allowed_origins":["*"]},"tls":{"cert_file":"c","priv_key_file":"k"}})"}}));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 7001);
  EXPECT_EQ(c->timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c->max_content_len, 1024u);
  EXPECT_EQ(c->cors.allowed_origins, std::vector<std::string>{"*"});
  ASSERT_TRUE(c->tls);
  EXPECT_EQ(c->tls->cert_file, "c");
  c = parse_link_config(
      http_link({{"config_b64", base64_encode(as_bytes(R"({"address":"127.0.0.1:7002"})"))}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 7002);
}

TEST(HttpConfigTest, BadValuesAreErrors) {
  EXPECT_FALSE(parse_link_config(http_link({{"port", "http"}})));
  EXPECT_FALSE(parse_link_config(http_link({{"port", "70000"}})));
  EXPECT_FALSE(parse_link_config(http_link({{"address", "nocolon"}})));
  EXPECT_FALSE(parse_link_config(http_link({{"config_json", "{"}})));
  EXPECT_FALSE(parse_link_config(http_link({{"config_b64", "***"}})));
  EXPECT_FALSE(parse_link_config(http_link({{"config_json", R"({"max_content_len":"ten"})"}})));
  EXPECT_FALSE(parse_link_config(http_link({{"config_json", R"({"tls":{"cert_file":"c"}})"}})));
}

TEST(HttpConfigTest, Sizes) {
  EXPECT_EQ(*parse_size("10m"), 10u << 20);
  EXPECT_EQ(*parse_size("10M"), 10u << 20);
  EXPECT_EQ(*parse_size("512k"), 512u * 1024);
  EXPECT_EQ(*parse_size("1g"), 1u << 30);
  EXPECT_EQ(*parse_size("123"), 123u);
  EXPECT_EQ(*parse_size("2kb"), 2048u);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("m"));
  EXPECT_FALSE(parse_size("-1k"));
}

}  // namespace
}  // namespace wc::httpd
