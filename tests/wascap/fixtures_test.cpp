// The real signed actors of ../shared/fixtures/actors: claims equal their README table (and spec
// 2.9), signatures verify, module hashes match.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "wascap/claims.h"
#include "wascap/wasm_sections.h"

namespace wc::wascap {
namespace {

struct Fixture {
  const char* file;
  const char* name;
  const char* sub;
  const char* iss;
  std::vector<std::string> caps;
  std::int32_t rev_claim;
  std::int32_t effective_rev;
  const char* ver;
  std::uint64_t iat;
  const char* jti;
  const char* hash;
  std::size_t hashed_length;
};

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> list = {
      {"echo.wasm",
       "Echo",
       "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
       "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
       {"wasmcloud:httpserver"},
       4,
       4,
       "0.3.4",
       1644843743,
       "SjB5fm974Sju9WMgTUchsb",
       "4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97",
       1819632},
      {"echo_unpriv_s.wasm",
       "echo",
       "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5",
       "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM",
       {""},
       4,
       4,
       "0.3.3",
       1642791045,
       "8JIn4HaoOsSnzdPlYTU6ai",
       "AB107F5C2239D84980CC217FF31B286D158029D15E524D7FB266D289CED4462E",
       1845807},
      {"kvcounter.wasm",
       "kvcounter",
       "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E",
       "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW",
       {"wasmcloud:httpserver", "wasmcloud:keyvalue"},
       0,
       1631625045,
       "0.3.0",
       1631625045,
       "BFbvsOkF97vakWe3Nhd8RX",
       "7CC05764EF3F818E305FD7C598F80BA98936B3FBA8948D40879BD65D60DC28C1",
       1782434},
      {"kvcounter_unpriv_s.wasm",
       "kvcounter",
       "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU",
       "ABRIBHH54GM7QIEJBYYGZJUSDAMO34YM4SKWUQJGIILRB7JYGXEPWUVT",
       {"wasmcloud:httpserver"},
       0,
       1631624220,
       "0.3.0",
       1631624220,
       "EGA9c3mEO5rfiv1exOn3KS",
       "A2CC0655766DDCE08FA5CB8C663E7AD6AEB44CEEAB790F5BC31ED31B8DD518E3",
       1782441},
      {"randogenlogger_s.wasm",
       "randogenlogger",
       "MCLOGOFFRJ4WK5XC6Z6WM7A3SAVHPHKDAVG6OMZVOOC6RQCN5IOKPTQL",
       "ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY",
       {"wasmcloud:httpserver", "wasmcloud:builtin:logging", "wasmcloud:builtin:numbergen"},
       0,
       1663858823,
       "0.1.0",
       1663858823,
       "NCyEBbLpaugAtJCsjXx8XY",
       "8FC81552B6B4154969E2BC4C3EF62FF575EE8CF24BE4648CFC8A9C9C1258CD19",
       179486},
  };
  return list;
}

class FixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(FixtureTest, ClaimsMatchTheReadme) {
  const Fixture& f = GetParam();
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/" + f.file);
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto e = extract_claims(*bytes, now_seconds());
  ASSERT_TRUE(e) << e.error().message;
  const ActorClaims& c = e->claims;
  EXPECT_EQ(c.name, f.name);
  EXPECT_EQ(c.sub, f.sub);
  EXPECT_EQ(c.iss, f.iss);
  EXPECT_EQ(c.caps, f.caps);
  EXPECT_EQ(c.rev.value_or(-1), f.rev_claim);
  EXPECT_EQ(effective_revision(c), f.effective_rev);
  EXPECT_EQ(c.ver, f.ver);
  EXPECT_EQ(c.iat, f.iat);
  EXPECT_EQ(c.jti, f.jti);
  EXPECT_EQ(c.tags, std::vector<std::string>{});
  EXPECT_FALSE(c.exp);
  EXPECT_FALSE(c.nbf);
  EXPECT_FALSE(c.wascap_revision);
  EXPECT_FALSE(c.call_alias);
  EXPECT_FALSE(c.prov);
  EXPECT_TRUE(e->validation.signature_valid);
  EXPECT_EQ(e->validation.expires_human, "never");
  EXPECT_EQ(e->validation.not_before_human, "immediately");
  // Hash: claim == computed == SHA-256 of the file without its trailing JWT section.
  EXPECT_EQ(c.hash, f.hash);
  EXPECT_EQ(e->computed_hash, f.hash);
  EXPECT_EQ(hex_upper(sha256(std::span(*bytes).first(f.hashed_length))), f.hash);
  // The token lives in a section named `jwt` that ends the file.
  auto sections = scan_sections(*bytes);
  ASSERT_TRUE(sections);
  EXPECT_EQ(sections->back().name, "jwt");
  EXPECT_EQ(sections->back().offset, f.hashed_length);
  EXPECT_EQ(sections->back().end(), bytes->size());
}

INSTANTIATE_TEST_SUITE_P(Actors, FixtureTest, ::testing::ValuesIn(fixtures()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.file;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(Fixtures, EchoPayloadAndSignatureExact) {
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(hex_lower(sha256(*bytes)),
            "81b5dd580f946a6812f3ff3eae371214acc8a3e4952105dcd3c237a4421fcc12");
  auto token = find_token(*bytes);
  ASSERT_TRUE(token && *token);
  auto d = decode_jwt(**token);
  ASSERT_TRUE(d);
  EXPECT_EQ(
      d->payload,
      R"({"jti":"SjB5fm974Sju9WMgTUchsb","iat":1644843743,"iss":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","sub":"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5","wascap":{"name":"Echo","hash":"4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97","tags":[],"caps":["wasmcloud:httpserver"],"rev":4,"ver":"0.3.4","prov":false}})");
  EXPECT_EQ(
      d->signature_segment,
      "ZWyD6VQqzaYM1beD2x9Fdw4o_Bavy3ZG703Eg4cjhyJwUKLDUiVPVhqHFE6IXdV4cW6j93YbMT6VGq5iBDWmAg");
  // Our serializer reproduces the reference's payload exactly.
  auto c = parse_actor_claims(d->claims);
  ASSERT_TRUE(c);
  EXPECT_EQ(serialize_actor_claims(*c), d->payload);
  // The JWT section header bytes at 0x1bc3f0: id 0, size 605, name "jwt".
  EXPECT_EQ(hex_lower(std::span(*bytes).subspan(0x1bc3f0, 7)), "00dd04036a7774");
}

TEST(Fixtures, ResigningEchoKeepsItsHash) {
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(bytes);
  SignOptions o;
  o.name = "Echo";
  o.caps = {"wasmcloud:httpserver"};
  o.rev = 5;
  auto s = sign_module(*bytes, KeyPair::generate(KeyType::kAccount),
                       KeyPair::generate(KeyType::kModule), o);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->claims.hash, "4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97");
  auto e = extract_claims(s->module, now_seconds());
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(effective_revision(e->claims), 5);
  auto sections = scan_sections(s->module);
  ASSERT_TRUE(sections);
  EXPECT_EQ(sections->back().name, "wasmcloud_jwt");
}

}  // namespace
}  // namespace wc::wascap
