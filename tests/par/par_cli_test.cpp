// `wasmcloud par create | inspect` end to end through the built binary.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "par/par.h"

namespace wc::cli::testing {
namespace {

constexpr std::string_view kAccountSeed =
    "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q";
constexpr std::string_view kServiceSeed =
    "SVAEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQV75U";
constexpr std::string_view kServiceKey = "VAQVF6GRTN4R2JCFGJBOCXZOVNWLPT72PNVF5UYAS6LA4BUYQHNRFYJK";

std::string write_binary(const ScratchDir& dir) {
  const std::string path = dir / "myprov";
  std::ofstream(path) << "#!/bin/sh\necho provider\n";
  return path;
}

TEST(ParCliTest, CreateWithSeedsThenInspect) {
  ScratchDir dir;
  const std::string bin = write_binary(dir);
  const std::string out = dir / "out.par.gz";
  auto r = run_cli({"par",        "create",
                    "--capid",    "wasmcloud:httpserver",
                    "--vendor",   "acme",
                    "--name",     "HTTP Server",
                    "--arch",     "x86_64-linux",
                    "--binary",   bin,
                    "--issuer",   std::string(kAccountSeed),
                    "--subject",  std::string(kServiceSeed),
                    "--rev",      "3",
                    "--ver",      "0.2.0",
                    "--compress", "-d",
                    out},
                   dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Successfully created archive " + out + "\n");
  auto loaded = par::load_archive_file(out);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->claims.sub, kServiceKey);
  EXPECT_EQ(loaded->claims.rev, 3);

  auto text = run_cli({"par", "inspect", out}, dir);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("HTTP Server - Provider Archive"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("  Service  "), std::string::npos);
  EXPECT_NE(text.out.find(std::string(kServiceKey) + "  \n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Supported Architecture Targets"), std::string::npos);
  EXPECT_NE(text.out.find("  x86_64-linux "), std::string::npos);

  auto json = run_cli({"par", "inspect", out, "-o", "json"}, dir);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["service"], kServiceKey);
  EXPECT_EQ(j["capability_contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ(j["vendor"], "acme");
  EXPECT_EQ(j["version"], "0.2.0");
  EXPECT_EQ(j["revision"], "3");
  EXPECT_EQ(j["targets"], nlohmann::json::array({"x86_64-linux"}));
}

TEST(ParCliTest, GeneratesKeysAndSaysWhere) {
  ScratchDir dir;
  const std::string bin = write_binary(dir);
  auto r = run_cli(
      {"par", "create", "--capid", "wasmcloud:keyvalue", "--vendor", "acme", "--name", "kv",
       "--arch", "x86_64-linux", "--binary", bin, "--keys-dir", dir / "keys", "-d", dir / "kv.par"},
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(dir / "keys/myprov_account.nk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir / "keys/myprov_service.nk"), std::string::npos) << r.out;
  auto loaded = par::load_archive_file(dir / "kv.par");
  ASSERT_TRUE(loaded) << loaded.error().message;
  // A second run reuses the generated keys: same provider key.
  auto again = run_cli({"par", "create", "--capid", "wasmcloud:keyvalue", "--vendor", "acme",
                        "--name", "kv", "--arch", "x86_64-linux", "--binary", bin, "--keys-dir",
                        dir / "keys", "-d", dir / "kv2.par"},
                       dir);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("We will generate one"), std::string::npos);
  EXPECT_EQ(par::load_archive_file(dir / "kv2.par")->claims.sub, loaded->claims.sub);
}

TEST(ParCliTest, InsertAddsATarget) {
  ScratchDir dir;
  const std::string bin = write_binary(dir);
  const std::string out = dir / "prov.par.gz";
  auto r = run_cli(
      {"par", "create", "--capid", "wasmcloud:httpserver", "--vendor", "acme", "--name", "P",
       "--arch", "x86_64-linux", "--binary", bin, "--issuer", std::string(kAccountSeed),
       "--subject", std::string(kServiceSeed), "--compress", "-d", out},
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ins = run_cli({"par", "insert", out, "--arch", "aarch64-linux", "--binary", bin, "--issuer",
                      std::string(kAccountSeed), "--subject", std::string(kServiceSeed)},
                     dir);
  ASSERT_EQ(ins.exit_code, 0) << ins.err;
  EXPECT_EQ(ins.out, "Successfully inserted " + bin + " into archive " + out + "\n");
  auto loaded = par::load_archive_file(out);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->targets.size(), 2u);
  auto wrong = run_cli({"par", "insert", out, "--arch", "aarch64-linux", "--binary", bin,
                        "--issuer", std::string(kAccountSeed), "--keys-dir", dir / "k2"},
                       dir);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("does not match"), std::string::npos) << wrong.err;
}

TEST(ParCliTest, InspectOfACorruptFileFails) {
  ScratchDir dir;
  std::ofstream(dir / "bad.par") << "this is not a tar archive, not at all, no headers here";
  auto r = run_cli({"par", "inspect", dir / "bad.par"}, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Invalid provider archive"), std::string::npos) << r.err;
}

TEST(ParCliTest, BadArchIsRefused) {
  ScratchDir dir;
  const std::string bin = write_binary(dir);
  auto r = run_cli({"par", "create", "--capid", "x:y", "--vendor", "v", "--name", "n", "--arch",
                    "linux", "--binary", bin, "--keys-dir", dir / "keys"},
                   dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Invalid target name"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wc::cli::testing
