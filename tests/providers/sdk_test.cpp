// Provider SDK units: host data, link definitions (vector 10.5), health payload, provider-side
// validation (vector C and every refusal), Redis URLs.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "keyvalue/redis.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/invocation.h"
#include "rpc/msgpack.h"
#include "rpc/vectors.h"
#include "sdk/errors.h"
#include "sdk/host_data.h"
#include "sdk/link.h"
#include "sdk/provider.h"
#include "sdk/validate.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"

namespace wc::provider {
namespace mp = rpc::mp::serde;
namespace {

Bytes unhex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

constexpr std::string_view kClusterSeed =
    "SCAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IFMDY";
constexpr std::string_view kClusterKey = "CB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJXUH";
constexpr std::string_view kKvcounter = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E";
constexpr std::string_view kRedisProvider =
    "VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB";

// Spec 5.4 example, verbatim.
constexpr std::string_view kHostDataExample =
    R"({"cluster_issuers":["CB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJXUH"],
 "config_json":"","default_rpc_timeout_ms":2000,"env_values":{},
 "host_id":"NDT7CYVBBPWFLGX6UGK6JXHIJNUVNDK5FSYJMPVUI3AGQXRLC7ZPBTGN",
 "instance_id":"9f0c1e5a-7b3d-4e2f-8a61-0d2c4b6e8f10",
 "invocation_seed":"SCAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IFMDY",
 "js_domain":null,"lattice_rpc_prefix":"default","lattice_rpc_tls":false,
 "lattice_rpc_url":"127.0.0.1:4222","lattice_rpc_user_jwt":"","lattice_rpc_user_seed":"",
 "link_definitions":[{"actor_id":"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
   "contract_id":"wasmcloud:httpserver",
   "id":"EC986307FC72C45DBA4699F5AD52702B09800138ACA24BC53339B929423947B6",
   "link_name":"default","provider_id":"VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M",
   "values":{"PORT":"8080"}}],
 "link_name":"default","log_level":"info",
 "provider_key":"VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M",
 "structured_logging":false})";

TEST(HostDataTest, ParsesTheSpecExample) {
  auto hd = parse_host_data(kHostDataExample);
  ASSERT_TRUE(hd) << hd.error().message;
  EXPECT_EQ(hd->host_id, "NDT7CYVBBPWFLGX6UGK6JXHIJNUVNDK5FSYJMPVUI3AGQXRLC7ZPBTGN");
  EXPECT_EQ(hd->lattice_rpc_prefix, "default");
  EXPECT_EQ(hd->nats_url(), "nats://127.0.0.1:4222");
  EXPECT_EQ(hd->invocation_seed, kClusterSeed);
  ASSERT_EQ(hd->link_definitions.size(), 1u);
  EXPECT_EQ(hd->link_definitions[0].values.at("PORT"), "8080");
  EXPECT_EQ(link_value(hd->link_definitions[0], "port"), "8080");
  EXPECT_EQ(hd->cluster_issuers, std::vector<std::string>{std::string(kClusterKey)});
  EXPECT_EQ(hd->rpc_timeout(), std::chrono::milliseconds(2000));
  EXPECT_FALSE(hd->js_domain);
}

TEST(HostDataTest, LineRoundTrip) {
  auto hd = parse_host_data(kHostDataExample);
  ASSERT_TRUE(hd);
  const std::string line = encode_line(*hd);
  ASSERT_EQ(line.back(), '\n');
  auto back = decode_host_data_line(line);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), to_json(*hd));
  std::istringstream in(line + "ignored second line\n");
  EXPECT_TRUE(read_host_data(in));
}

TEST(HostDataTest, IntegerTlsQuirkAccepted) {
  auto j = nlohmann::json::parse(kHostDataExample);
  j["lattice_rpc_tls"] = 0;
  auto hd = parse_host_data(j.dump());
  ASSERT_TRUE(hd);
  EXPECT_FALSE(hd->lattice_rpc_tls);
}

TEST(HostDataTest, MissingRequiredFieldsAreErrors) {
  for (const char* key : {"host_id", "provider_key", "link_definitions", "cluster_issuers",
                          "env_values", "invocation_seed", "lattice_rpc_prefix", "link_name"}) {
    auto j = nlohmann::json::parse(kHostDataExample);
    j.erase(key);
    auto hd = parse_host_data(j.dump());
    ASSERT_FALSE(hd) << key;
    EXPECT_EQ(hd.error().message,
              std::string(errors::kHostDataPrefix) + "missing field `" + key + "`");
  }
}

TEST(HostDataTest, GarbageLinesAreErrors) {
  EXPECT_FALSE(decode_host_data_line("!!!not base64!!!"));
  EXPECT_FALSE(decode_host_data_line(base64_encode(as_bytes("[1,2]"))));
  EXPECT_FALSE(decode_host_data_line(""));
  std::istringstream empty;
  auto r = read_host_data(empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kUnavailable);
}

// Vector 10.5: the link definition the host publishes on ...linkdefs.put.
constexpr std::string_view kLinkdefHex =
    "86a86163746f725f6964d9384d43464d4644574648474b454c4f5850434e4344584b4b354f464c484256455752"
    "414f5852354a5351554432544f465245334446504d3745ab636f6e74726163745f6964b27761736d636c6f7564"
    "3a6b657976616c7565a26964d94031323441443332313236374431374234433430414335324231334334443845"
    "413944323144363943374631454231374531333645303637443046393345463731a96c696e6b5f6e616d65a764"
    "656661756c74ab70726f76696465725f6964d93856415a564334525835344a324e56434d435737425043414847"
    "474735585a5844425846554d445558474553544d51454a4c433359565a5742a676616c75657381a355524cb672"
    "656469733a2f2f3132372e302e302e313a36333739";

LinkDefinition kvcounter_link() {
  return LinkDefinition{std::string(kKvcounter),
                        std::string(kRedisProvider),
                        "default",
                        "wasmcloud:keyvalue",
                        {{"URL", "redis://127.0.0.1:6379"}},
                        "124AD321267D17B4C40AC52B13C4D8EA9D21D69C7F1EB17E136E067D0F93EF71"};
}

TEST(LinkTest, EncodesVector105) {
  const Bytes b = encode_linkdef(kvcounter_link());
  EXPECT_EQ(b.size(), 291u);
  EXPECT_EQ(hex_lower(b), kLinkdefHex);
  auto back = decode_linkdef(b);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, kvcounter_link());
}

TEST(LinkTest, DecodeErrors) {
  EXPECT_FALSE(decode_linkdef(Bytes{}));
  EXPECT_FALSE(decode_linkdef(Bytes{0x81, 0xa1, 0x78}));  // truncated map
  LinkDefinition ld = kvcounter_link();
  mp::Writer w;
  w.map(1).str("actor_id").str(ld.actor_id);
  auto r = decode_linkdef(w.bytes());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("missing field"), std::string::npos);
  EXPECT_FALSE(linkdef_from_json(nlohmann::json::parse(R"({"actor_id":"M"})")));
}

TEST(HealthTest, DefaultAnswerMatchesSpec) {
  EXPECT_EQ(hex_lower(encode_health({})), "81a76865616c746879c3");
}

// --- provider-side validation ----------------------------------------------------------------

class ValidateTest : public ::testing::Test {
 protected:
  std::vector<std::string> issuers{std::string(kClusterKey)};
  std::function<bool(const std::string&)> linked = [](const std::string& a) {
    return a == kKvcounter;
  };
  rpc::Invocation vector_c() { return *rpc::decode_invocation(unhex(rpc::vectors::kC3Invocation)); }
  Status check(const rpc::Invocation& inv) {
    return validate_provider_invocation(inv, kRedisProvider, issuers, linked, 1700000000);
  }
};

TEST_F(ValidateTest, VectorCIsAccepted) {
  auto s = check(vector_c());
  EXPECT_TRUE(s) << s.error().message;
}

TEST_F(ValidateTest, ForeignClusterKeyIsRefused) {
  const auto foreign = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto inv = rpc::make_invocation(
      foreign, rpc::actor_entity(std::string(kKvcounter)),
      rpc::provider_entity(std::string(kRedisProvider), "wasmcloud:keyvalue", "default"),
      "KeyValue.Get", Bytes{0xa3, 'f', 'o', 'o'}, foreign.public_key());
  ASSERT_TRUE(inv);
  auto s =
      validate_provider_invocation(*inv, kRedisProvider, issuers, linked, wascap::now_seconds());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, errors::kIssuerNotInList);
}

TEST_F(ValidateTest, UnlinkedActorIsRefused) {
  auto s = validate_provider_invocation(
      vector_c(), kRedisProvider, issuers, [](const std::string&) { return false; }, 1700000000);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "unlinked actor: '" + std::string(kKvcounter) + "'");
}

TEST_F(ValidateTest, TargetKeyMismatchIsRefused) {
  auto s = validate_provider_invocation(vector_c(), "VOTHER", issuers, linked, 1700000000);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message,
            "target key mismatch: " + std::string(kRedisProvider) + " != VOTHER");
}

TEST_F(ValidateTest, TamperedPayloadFailsTheHash) {
  auto inv = vector_c();
  inv.msg.back() = 0x02;
  auto s = check(inv);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().message.starts_with(rpc::errors::kHashMismatchPrefix)) << s.error().message;
}

TEST_F(ValidateTest, EmptyPayloadIsStillHashed) {
  auto inv = vector_c();
  inv.msg.clear();  // the host skips the check for empty msg; providers never do
  auto s = check(inv);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().message.starts_with(rpc::errors::kHashMismatchPrefix));
}

TEST_F(ValidateTest, ChangedTargetFailsTheHashFirst) {
  auto inv = vector_c();
  inv.target.link_name = "other";
  auto s = check(inv);
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().message.starts_with(rpc::errors::kHashMismatchPrefix));
}

TEST_F(ValidateTest, BadSignatureIsRefused) {
  auto inv = vector_c();
  char& c = inv.encoded_claims[inv.encoded_claims.size() - 10];  // inside the signature
  c = c == 'A' ? 'B' : 'A';
  auto s = check(inv);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, rpc::errors::kSignatureInvalid);
}

TEST_F(ValidateTest, BadHostIdIsRefused) {
  auto inv = vector_c();
  inv.host_id = "short";
  auto s = check(inv);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "Invalid host ID on invocation: 'short'");
}

TEST_F(ValidateTest, MalformedTokenIsRefused) {
  auto inv = vector_c();
  inv.encoded_claims = "not.a-token";
  EXPECT_FALSE(check(inv));
}

TEST(RedisUrlTest, Parses) {
  auto t = keyvalue::parse_redis_url("redis://127.0.0.1:6380/2");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 6380);
  EXPECT_EQ(t->db, 2);
  t = keyvalue::parse_redis_url("redis://:secret@redis.local/");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "redis.local");
  EXPECT_EQ(t->port, 6379);
  EXPECT_EQ(t->password, "secret");
  EXPECT_FALSE(keyvalue::parse_redis_url("http://127.0.0.1"));
  EXPECT_FALSE(keyvalue::parse_redis_url("redis://h:notaport"));
  EXPECT_FALSE(keyvalue::parse_redis_url("redis://h:1/x"));
}

}  // namespace
}  // namespace wc::provider
