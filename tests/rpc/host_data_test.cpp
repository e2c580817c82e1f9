// Host data (rpc/host_data.h): the wire layer's codec the host encodes with and the provider SDK
// decodes with. The SDK-facing cases (spec 5.4 example, required fields, stdin) are in
// tests/providers/sdk_test.cpp; these pin the link definitions inside to the one `values` rule.
#include "rpc/host_data.h"

#include <gtest/gtest.h>

#include "rpc/errors.h"

namespace wc::rpc {
namespace {

/// Minimal host data with the required fields and the given `link_definitions` array.
nlohmann::json host_data_with_links(nlohmann::json links) {
  return {{"host_id", "NHOST"},          {"lattice_rpc_prefix", "default"},
          {"link_name", "default"},      {"provider_key", "VPROV"},
          {"invocation_seed", "SCSEED"}, {"env_values", nlohmann::json::object()},
          {"cluster_issuers", {"CKEY"}}, {"link_definitions", std::move(links)}};
}

nlohmann::json link_with(const nlohmann::json* values) {
  nlohmann::json j = {{"actor_id", "MACTOR"},
                      {"provider_id", "VPROV"},
                      {"link_name", "default"},
                      {"contract_id", "wasmcloud:keyvalue"}};
  if (values != nullptr) j["values"] = *values;
  return j;
}

TEST(HostData, LinkWithoutValuesIsAnEmptyMap) {
  auto hd = parse_host_data(host_data_with_links({link_with(nullptr)}).dump());
  ASSERT_TRUE(hd.has_value()) << hd.error().message;
  ASSERT_EQ(hd->link_definitions.size(), 1u);
  EXPECT_TRUE(hd->link_definitions[0].values.empty());
  EXPECT_EQ(hd->link_definitions[0].actor_id, "MACTOR");
}

TEST(HostData, LinkWithNullValuesIsAnEmptyMap) {
  const nlohmann::json null_value = nullptr;
  auto hd = parse_host_data(host_data_with_links({link_with(&null_value)}).dump());
  ASSERT_TRUE(hd.has_value()) << hd.error().message;
  EXPECT_TRUE(hd->link_definitions.at(0).values.empty());
}

TEST(HostData, LinkWithMistypedValuesFails) {
  const nlohmann::json mistyped = {{"PORT", 8080}};
  auto hd = parse_host_data(host_data_with_links({link_with(&mistyped)}).dump());
  ASSERT_FALSE(hd.has_value());
  EXPECT_EQ(hd.error().code, Code::kInvalidArgument);
  EXPECT_EQ(hd.error().message, std::string(errors::kHostDataPrefix) +
                                    "link definition: `values` must map strings to strings");
}

TEST(HostData, EncodedLinesCarryValuesAlways) {
  HostData hd;
  hd.host_id = "NHOST";
  LinkDefinition ld;
  ld.actor_id = "MACTOR";
  hd.link_definitions.push_back(ld);
  const auto j = to_json(hd);
  EXPECT_EQ(j.at("link_definitions").at(0).at("values"), nlohmann::json::object());
  auto back = decode_host_data_line(encode_line(hd));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->link_definitions, hd.link_definitions);
}

}  // namespace
}  // namespace wc::rpc
