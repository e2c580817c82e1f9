// `wasmcloud keys gen`: output format and key validity.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

using testing::run_cli;
using testing::ScratchDir;

TEST(KeysCli, GenEveryTypeText) {
  ScratchDir home;
  for (const std::string type :
       {"account", "module", "server", "cluster", "user", "operator", "service"}) {
    SCOPED_TRACE(type);
    const auto r = run_cli({"keys", "gen", type}, home);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    // "Public Key: <56>\nSeed: <58>\n\nRemember that ..."
    ASSERT_EQ(r.out.rfind("Public Key: ", 0), 0u) << r.out;
    const std::string pub = r.out.substr(12, 56);
    const auto seed_at = r.out.find("\nSeed: ");
    ASSERT_NE(seed_at, std::string::npos);
    const std::string seed = r.out.substr(seed_at + 7, 58);
    EXPECT_NE(r.out.find("\n\nRemember that the seed is private, treat it as a secret.\n"),
              std::string::npos);
    auto kp = wascap::KeyPair::from_seed(seed);
    ASSERT_TRUE(kp) << kp.error().message;
    EXPECT_EQ(kp->public_key(), pub);
    EXPECT_EQ(wascap::key_type_name(kp->type()), type);
  }
}

TEST(KeysCli, GenJson) {
  ScratchDir home;
  const auto r = run_cli({"keys", "gen", "module", "-o", "json"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["success"], true);
  const std::string pub = j["public_key"];
  EXPECT_EQ(pub[0], 'M');
  auto kp = wascap::KeyPair::from_seed(j["seed"].get<std::string>());
  ASSERT_TRUE(kp);
  EXPECT_EQ(kp->public_key(), pub);
}

TEST(KeysCli, UnknownTypeFails) {
  ScratchDir home;
  const auto r = run_cli({"keys", "gen", "bogus"}, home);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bogus"), std::string::npos);
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace wc::cli
