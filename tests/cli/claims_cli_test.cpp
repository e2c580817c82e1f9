// `wasmcloud claims inspect | sign`: the wash table byte for byte (spec 3.2), JSON (3.3), the
// five fixtures, signing with generated and given keys (2.12), and every failure's exit code
// and single stderr line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "common/encoding.h"
#include "wascap/claims.h"
#include "wascap/errors.h"
#include "wascap/wasm_sections.h"

namespace wc::cli {
namespace {

using testing::count_lines;
using testing::run_cli;
using testing::ScratchDir;

// Expected tables, copied from the spec (trailing spaces are significant).
const char* const kEchoTable[] = {
    "                                                                          ",
    "                               Echo - Module                              ",
    "  Account       ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW  ",
    "  Module        MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5  ",
    "  Expires                                                          never  ",
    "  Can Be Used                                                immediately  ",
    "  Version                                                      0.3.4 (4)  ",
    "  Call Alias                                                   (Not set)  ",
    "                               Capabilities                               ",
    "  HTTP Server                                                             ",
    "                                   Tags                                   ",
    "  None                                                                    ",
    "                                                                          ",
};
const char* const kPolicyTable[] = {
    "                                                                              ",
    "                       Sample wasmCloud Policy - Module                       ",
    "  Account           ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY  ",
    "  Module            MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3  ",
    "  Expires                                                              never  ",
    "  Can Be Used                                                    immediately  ",
    "  Version                                                          0.1.0 (0)  ",
    "  Call Alias                                                       (Not set)  ",
    "                                 Capabilities                                 ",
    "  Messaging                                                                   ",
    "                                     Tags                                     ",
    "  None                                                                        ",
    "                                                                              ",
};

std::string fixture(const std::string& name) { return std::string(WC_FIXTURES_DIR) + "/" + name; }

std::string expected_output(const char* const* lines, std::size_t n) {
  std::string out = "\n";
  for (std::size_t i = 0; i < n; ++i) out += std::string(lines[i]) + "\n";
  return out + "\n";
}

void write_bytes(const std::string& path, std::span<const std::uint8_t> bytes) {
  ASSERT_TRUE(write_file(path, bytes));
}

Bytes tiny_module() {
  return {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00};
}

constexpr const char* kK2AccountSeed = "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q";
constexpr const char* kK1ModuleSeed = "SMAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2CRY";

/// A module whose token claims `iss`/`sub` but is signed by an unrelated key: inspect still
/// renders it (spec 3.1), so any table can be reproduced without the original seeds.
Bytes module_with_claims(const std::string& payload) {
  const auto signer = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  return wascap::append_custom_section(tiny_module(), "jwt",
                                       as_bytes(wascap::encode_jwt(payload, signer)));
}

// ---- inspect ---------------------------------------------------------------------------------

TEST(ClaimsInspectCli, EchoTableByteForByte) {
  ScratchDir home;
  const auto r = run_cli({"claims", "inspect", fixture("echo.wasm")}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, expected_output(kEchoTable, std::size(kEchoTable)));
}

TEST(ClaimsInspectCli, WidenedTableByteForByte) {
  ScratchDir home;
  const std::string payload =
      R"({"jti":"tQkwFs5NC3oMcrYdjMMtLN","iat":1660741993,"iss":"ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY","sub":"MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3","wascap":{"name":"Sample wasmCloud Policy","hash":"X","tags":[],"caps":["wasmcloud:messaging"],"rev":0,"ver":"0.1.0","prov":false}})";
  write_bytes(home / "policy.wasm", module_with_claims(payload));
  const auto r = run_cli({"claims", "inspect", home / "policy.wasm"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected_output(kPolicyTable, std::size(kPolicyTable)));
}

TEST(ClaimsInspectCli, EchoJson) {
  ScratchDir home;
  const auto r = run_cli({"claims", "inspect", fixture("echo.wasm"), "-o", "json"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto expected = nlohmann::json::parse(R"json({
    "account": "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
    "module": "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
    "expires": "never", "can_be_used": "immediately", "version": "0.3.4", "revision": 4,
    "capabilities": ["HTTP Server"], "tags": "None", "call_alias": "(Not set)", "name": "Echo",
    "success": true
})json");
  EXPECT_EQ(j, expected);
}

struct FixtureRow {
  const char* file;
  const char* name;
  const char* module;
  const char* account;
  std::vector<std::string> capabilities;
  int revision;
  const char* version;
};

TEST(ClaimsInspectCli, AllFixturesJson) {
  const FixtureRow rows[] = {
      {"echo.wasm",
       "Echo",
       "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
       "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
       {"HTTP Server"},
       4,
       "0.3.4"},
      {"echo_unpriv_s.wasm",
       "echo",
       "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5",
       "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM",
       {""},
       4,
       "0.3.3"},
      {"kvcounter.wasm",
       "kvcounter",
       "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E",
       "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
       {"HTTP Server", "K/V Store"},
       0,
       "0.3.0"},
      {"kvcounter_unpriv_s.wasm",
       "kvcounter",
       "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU",
       "ABRIBHH54GM7QIEJBYYGZJUSDAMO34YM4SKWUQJGIILRB7JYGXEPWUVT",
       {"HTTP Server"},
       0,
       "0.3.0"},
      {"randogenlogger_s.wasm",
       "randogenlogger",
       "MCLOGOFFRJ4WK5XC6Z6WM7A3SAVHPHKDAVG6OMZVOOC6RQCN5IOKPTQL",
       "ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY",
       {"HTTP Server", "Logging", "Number Generation"},
       0,
       "0.1.0"},
  };
  ScratchDir home;
  for (const FixtureRow& f : rows) {
    SCOPED_TRACE(f.file);
    const auto r = run_cli({"claims", "inspect", fixture(f.file), "-o", "json"}, home);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["name"], f.name);
    EXPECT_EQ(j["module"], f.module);
    EXPECT_EQ(j["account"], f.account);
    EXPECT_EQ(j["capabilities"], f.capabilities);
    EXPECT_EQ(j["revision"], f.revision);
    EXPECT_EQ(j["version"], f.version);
    EXPECT_EQ(j["expires"], "never");
    EXPECT_EQ(j["tags"], "None");
  }
}

TEST(ClaimsInspectCli, KvcounterTableRows) {
  ScratchDir home;
  const auto r = run_cli({"claims", "inspect", fixture("kvcounter.wasm")}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(
      r.out.find("\n" + std::string(28, ' ') + "kvcounter - Module" + std::string(28, ' ') + "\n"),
      std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("  Version                                                      0.3.0 (0)  \n"),
      std::string::npos);
  EXPECT_NE(
      r.out.find("  HTTP Server                                                             \n"
                 "  K/V Store                                                               \n"),
      std::string::npos);
  EXPECT_EQ(count_lines(r.out), 16);  // leading blank, 14 table lines, trailing blank
}

TEST(ClaimsInspectCli, JwtOnly) {
  ScratchDir home;
  const auto r = run_cli({"claims", "inspect", fixture("echo.wasm"), "--jwt-only"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 602u);  // 601-byte token + newline
  EXPECT_EQ(r.out.rfind("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.", 0), 0u);
  const auto j =
      run_cli({"claims", "inspect", fixture("echo.wasm"), "--jwt-only", "-o", "json"}, home);
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(j.out)["token"], r.out.substr(0, 601));
}

TEST(ClaimsInspectCli, ExpiredTokenStillShown) {
  ScratchDir home;
  const std::int64_t now = wascap::now_seconds();
  const std::string payload =
      R"({"exp":)" + std::to_string(now - 3 * 86400 - 100) +
      R"(,"jti":"a","iat":1,"iss":"ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU","sub":"MAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLXP","wascap":{"name":"old","hash":"X","call_alias":"acme/old","tags":["a","b"]}})";
  write_bytes(home / "old.wasm", module_with_claims(payload));
  const auto r = run_cli({"claims", "inspect", home / "old.wasm"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" 3days ago  \n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" acme/old  \n"), std::string::npos);
  EXPECT_NE(r.out.find("  a,b "), std::string::npos);
  EXPECT_NE(r.out.find(" None (0)  \n"), std::string::npos);
}

void expect_failure(const testing::RunResult& r, const std::string& message) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
}

TEST(ClaimsInspectCli, UnsignedModule) {
  ScratchDir home;
  write_bytes(home / "plain.wasm", tiny_module());
  expect_failure(run_cli({"claims", "inspect", home / "plain.wasm"}, home),
                 "No capabilities discovered in : " + (home / "plain.wasm"));
}

TEST(ClaimsInspectCli, EmptyFile) {
  ScratchDir home;
  write_bytes(home / "empty.wasm", Bytes{});
  expect_failure(run_cli({"claims", "inspect", home / "empty.wasm"}, home),
                 "Failed to extract claims from module: I/O error: ");
}

TEST(ClaimsInspectCli, NotWasm) {
  ScratchDir home;
  write_bytes(home / "text.wasm", as_bytes("hello, world"));
  expect_failure(run_cli({"claims", "inspect", home / "text.wasm"}, home),
                 "magic header not detected");
}

TEST(ClaimsInspectCli, MissingFile) {
  ScratchDir home;
  expect_failure(run_cli({"claims", "inspect", home / "nope.wasm"}, home), "nope.wasm");
}

TEST(ClaimsInspectCli, TamperedModuleJsonError) {
  ScratchDir home;
  auto kp = wascap::KeyPair::from_seed(kK2AccountSeed);
  auto mk = wascap::KeyPair::from_seed(kK1ModuleSeed);
  wascap::SignOptions o;
  o.name = "t";
  auto s = wascap::sign_module(tiny_module(), *kp, *mk, o);
  ASSERT_TRUE(s);
  Bytes m = s->module;
  const Bytes x = {0x00, 0x02, 0x01, 0x78};
  m.insert(m.begin() + 14, x.begin(), x.end());
  write_bytes(home / "tampered.wasm", m);
  const auto r = run_cli({"claims", "inspect", home / "tampered.wasm", "-o", "json"}, home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  const auto j = nlohmann::json::parse(r.err);
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(j["error"], "Failed to extract claims from module: Invalid module hash");
}

TEST(ClaimsInspectCli, ProviderArchiveNotYet) {
  ScratchDir home;
  write_bytes(home / "p.par.gz", Bytes{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00});
  expect_failure(run_cli({"claims", "inspect", home / "p.par.gz"}, home), "not yet supported");
}

// ---- sign ------------------------------------------------------------------------------------

TEST(ClaimsSignCli, GeneratesKeysAndSigns) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  const auto r = run_cli({"claims",
                          "sign",
                          home / "tiny.wasm",
                          "--name",
                          "tiny",
                          "--cap",
                          "wasmcloud:keyvalue",
                          "-q",
                          "--rev",
                          "3",
                          "--ver",
                          "1.2.3",
                          "--tag",
                          "x",
                          "--call-alias",
                          "acme/tiny",
                          "--expires-in-days",
                          "2",
                          "--keys-dir",
                          home / "keys"},
                         home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("No keypair found in \"" + (home / "keys/tiny_account.nk") + "\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(home / "keys/tiny_module.nk"), std::string::npos);
  EXPECT_NE(r.out.find("Successfully signed " + (home / "tiny_s.wasm") +
                       " with capabilities: wasmcloud:httpserver,wasmcloud:keyvalue\n"),
            std::string::npos)
      << r.out;
  auto account = wascap::KeyPair::from_seed(testing::slurp(home.path() / "keys/tiny_account.nk"));
  auto module = wascap::KeyPair::from_seed(testing::slurp(home.path() / "keys/tiny_module.nk"));
  ASSERT_TRUE(account && module);

  auto bytes = read_file(home / "tiny_s.wasm");
  ASSERT_TRUE(bytes);
  auto e = wascap::extract_claims(*bytes, wascap::now_seconds());
  ASSERT_TRUE(e) << e.error().message;
  const auto& c = e->claims;
  EXPECT_EQ(c.iss, account->public_key());
  EXPECT_EQ(c.sub, module->public_key());
  EXPECT_EQ(c.name, "tiny");
  EXPECT_EQ(c.caps, (std::vector<std::string>{"wasmcloud:httpserver", "wasmcloud:keyvalue"}));
  EXPECT_EQ(c.tags, std::vector<std::string>{"x"});
  EXPECT_EQ(c.rev, 3);
  EXPECT_EQ(c.ver, "1.2.3");
  EXPECT_EQ(c.call_alias, "acme/tiny");
  EXPECT_EQ(c.wascap_revision, 3u);
  ASSERT_TRUE(c.exp);
  EXPECT_EQ(*c.exp, c.iat + 2 * 86400);

  // A second signing reuses the keys written the first time and says nothing about them.
  const auto again = run_cli({"claims", "sign", home / "tiny.wasm", "-n", "tiny", "-d",
                              home / "again.wasm", "--keys-dir", home / "keys"},
                             home);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "Successfully signed " + (home / "again.wasm") + " with capabilities: \n");
  auto again_bytes = read_file(home / "again.wasm");
  ASSERT_TRUE(again_bytes);
  auto e2 = wascap::extract_claims(*again_bytes, wascap::now_seconds());
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->claims.iss, account->public_key());
}

TEST(ClaimsSignCli, DefaultKeysDirIsUnderHome) {
  ScratchDir home;
  write_bytes(home / "a.wasm", tiny_module());
  const auto r = run_cli({"claims", "sign", home / "a.wasm", "-n", "a"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(home.path() / ".wash/keys/a_account.nk"));
  EXPECT_TRUE(std::filesystem::exists(home.path() / ".wash/keys/a_module.nk"));
}

TEST(ClaimsSignCli, GivenSeedsAndJson) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  const auto r =
      run_cli({"claims", "sign", home / "tiny.wasm", "--name", "tiny", "--cap",
               "wasmcloud:httpserver", "--rev", "1", "--ver", "0.1.0", "--issuer", kK2AccountSeed,
               "--subject", kK1ModuleSeed, "-d", home / "out.wasm", "-o", "json"},
              home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["account"], "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU");
  EXPECT_EQ(j["module"], "MAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLXP");
  EXPECT_EQ(j["hash"], "968E98ACD3E2898569441C1769845BC3AD79616458FFCD1CCE35FADB48FF7381");
  auto bytes = read_file(home / "out.wasm");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), 658u);  // same shape as the spec 6.4.1 vector
  EXPECT_FALSE(std::filesystem::exists(home.path() / ".wash"));

  // The signed module inspects with the given keys.
  const auto inspect = run_cli({"claims", "inspect", home / "out.wasm"}, home);
  ASSERT_EQ(inspect.exit_code, 0);
  EXPECT_NE(inspect.out.find(
                "  Account       ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU  \n"),
            std::string::npos);
  EXPECT_NE(inspect.out.find(" 0.1.0 (1)  \n"), std::string::npos);
}

TEST(ClaimsSignCli, SeedFromFile) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  write_bytes(home / "issuer.nk", as_bytes(std::string(kK2AccountSeed) + "\n"));
  const auto r = run_cli({"claims", "sign", home / "tiny.wasm", "-n", "t", "-i", home / "issuer.nk",
                          "-s", kK1ModuleSeed, "-d", home / "o.wasm"},
                         home);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto e = wascap::extract_claims(*read_file(home / "o.wasm"), wascap::now_seconds());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->claims.iss, "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU");
}

TEST(ClaimsSignCli, UserKeyAsIssuerIsRefused) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  const auto user = wascap::KeyPair::generate(wascap::KeyType::kUser);
  expect_failure(run_cli({"claims", "sign", home / "tiny.wasm", "-n", "t", "-i", user.seed(), "-s",
                          kK1ModuleSeed, "-d", home / "o.wasm"},
                         home),
                 std::string(wascap::errors::kIssuerNotAccount));
  EXPECT_FALSE(std::filesystem::exists(home.path() / "o.wasm"));
}

TEST(ClaimsSignCli, BadSeedChecksum) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  std::string seed = kK2AccountSeed;
  seed[30] = seed[30] == 'A' ? 'B' : 'A';
  expect_failure(run_cli({"claims", "sign", home / "tiny.wasm", "-n", "t", "-i", seed, "-s",
                          kK1ModuleSeed, "-d", home / "o.wasm"},
                         home),
                 "Invalid account seed: " + std::string(wascap::errors::kChecksumMismatch));
}

TEST(ClaimsSignCli, InvalidCallAliasJson) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  const auto r = run_cli({"claims", "sign", home / "tiny.wasm", "-n", "t", "-a", "Bad-Alias",
                          "--keys-dir", home / "keys", "-o", "json"},
                         home);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(count_lines(r.err), 1);
  const auto j = nlohmann::json::parse(r.err);
  EXPECT_EQ(j["error"], std::string(wascap::errors::kCallAliasInvalid));
}

TEST(ClaimsSignCli, NotWasm) {
  ScratchDir home;
  write_bytes(home / "x.wasm", as_bytes("not a module"));
  expect_failure(
      run_cli({"claims", "sign", home / "x.wasm", "-n", "t", "--keys-dir", home / "keys"}, home),
      "I/O error: magic header not detected");
}

TEST(ClaimsSignCli, MissingNameIsAUsageError) {
  ScratchDir home;
  write_bytes(home / "tiny.wasm", tiny_module());
  const auto r = run_cli({"claims", "sign", home / "tiny.wasm"}, home);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--name"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wc::cli
