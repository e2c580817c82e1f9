// `wasmcloud keys gen`: output format and key validity; `keys list` and `keys get` (#17.9).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

// `claims sign` generates wash-style key files in ~/.wash/keys; `keys list` names them (and only
// the .nk files), `keys get` prints a seed; $WASH_KEYS and --directory move the directory.
TEST(KeysCli, ListAndGetShowTheKeyFiles) {
  ScratchDir home;
  const std::string dir = home / ".wash/keys";
  auto empty = run_cli({"keys", "list"}, home);
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_NE(empty.out.find("No keys found in " + dir), std::string::npos) << empty.out;

  std::filesystem::create_directories(dir);
  const auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
  const auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  std::ofstream(dir + "/echo_module.nk") << module.seed();
  std::ofstream(dir + "/me_account.nk") << account.seed() << "\n";
  std::ofstream(dir + "/notes.txt") << "not a key";
  const std::string rule(68, '=');
  auto list = run_cli({"keys", "list"}, home);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out,
            rule + "\nKeys found in " + dir + "\n" + rule + "\necho_module.nk\nme_account.nk\n");
  auto list_json = run_cli({"keys", "list", "-o", "json"}, home);
  auto j = nlohmann::json::parse(list_json.out, nullptr, false);
  EXPECT_EQ(j["success"], true) << list_json.out;
  EXPECT_EQ(j["keys_dir"], dir);
  EXPECT_EQ(j["keys"], nlohmann::json::array({"echo_module.nk", "me_account.nk"}));

  auto get = run_cli({"keys", "get", "me_account"}, home);
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, account.seed() + "\n");
  auto get_nk = run_cli({"keys", "get", "echo_module.nk", "-o", "json"}, home);
  auto g = nlohmann::json::parse(get_nk.out, nullptr, false);
  EXPECT_EQ(g["success"], true) << get_nk.out;
  EXPECT_EQ(g["seed"], module.seed());
  EXPECT_EQ(g["public_key"], module.public_key());
  EXPECT_EQ(g["path"], dir + "/echo_module.nk");

  auto missing = run_cli({"keys", "get", "nope"}, home);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err,
            "Error: No key named 'nope' in " + dir + " (`wasmcloud keys list` lists them)\n");
  auto escape = run_cli({"keys", "get", "../keys/me_account", "-o", "json"}, home);
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_NE(escape.err.find("\"success\":false"), std::string::npos) << escape.err;
  EXPECT_NE(escape.err.find("Invalid key name"), std::string::npos) << escape.err;

  // $WASH_KEYS and --directory choose another directory.
  ScratchDir other;
  std::ofstream(other / "x_server.nk") << "SNXXX";
  auto env = run_cli({"keys", "list"}, home, "WASH_KEYS=" + testing::shell_quote(other.path()));
  EXPECT_NE(env.out.find("x_server.nk"), std::string::npos) << env.out;
  EXPECT_EQ(env.out.find("echo_module.nk"), std::string::npos) << env.out;
  auto flag = run_cli({"keys", "get", "x_server", "--directory", other.path()}, home);
  EXPECT_EQ(flag.out, "SNXXX\n");
}

}  // namespace
}  // namespace wc::cli
