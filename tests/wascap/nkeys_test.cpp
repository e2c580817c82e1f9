// nkeys: spec 1.5 vectors byte for byte, CRC, decoding errors.
#include "wascap/nkeys.h"

#include <gtest/gtest.h>

#include <cctype>

#include "helpers.h"
#include "wascap/errors.h"

namespace wc::wascap {
namespace {

using testing::from_hex;

struct Vector {
  KeyType type;
  const char* seed;
  const char* pub;
};

std::array<std::uint8_t, 32> seed32(std::string_view hex) {
  std::array<std::uint8_t, 32> out{};
  const Bytes b = from_hex(hex);
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

TEST(Nkeys, Crc16CheckValue) {
  EXPECT_EQ(crc16(as_bytes("123456789")), 0x31C3);
  // Spec 1.5: raw account seed / public CRCs of K1.
  Bytes seed_raw = {0x90, 0x00};
  const auto s = seed32("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  seed_raw.insert(seed_raw.end(), s.begin(), s.end());
  EXPECT_EQ(crc16(seed_raw), 0x3A0C);
  Bytes pub_raw = {0x00};
  const Bytes pk = from_hex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  pub_raw.insert(pub_raw.end(), pk.begin(), pk.end());
  EXPECT_EQ(crc16(pub_raw), 0x353F);
}

TEST(Nkeys, K1AllTypes) {
  const Vector vectors[] = {
      {KeyType::kAccount, "SAAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYMHI",
       "AAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QPZV"},
      {KeyType::kCluster, "SCAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYO7Q",
       "CAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3R53J"},
      {KeyType::kModule, "SMAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2CRY",
       "MAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLXP"},
      {KeyType::kServer, "SNAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2D5U",
       "NAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RSWB"},
      {KeyType::kOperator, "SOAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H2AJA",
       "OAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QZVT"},
      {KeyType::kUser, "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y",
       "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK"},
      {KeyType::kService, "SVAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H76SU",
       "VAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RSLE"},
  };
  const auto seed = seed32("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Bytes pub = from_hex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.seed);
    EXPECT_EQ(encode_seed(v.type, seed), v.seed);
    auto kp = KeyPair::from_seed(v.seed);
    ASSERT_TRUE(kp) << kp.error().message;
    EXPECT_EQ(kp->type(), v.type);
    EXPECT_EQ(kp->public_key(), v.pub);
    EXPECT_EQ(kp->seed(), v.seed);
    EXPECT_EQ(Bytes(kp->raw_public_key().begin(), kp->raw_public_key().end()), pub);
    auto decoded = decode_public_key(v.pub);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->type, v.type);
    EXPECT_EQ(v.pub[0], key_letter(v.type));
  }
}

TEST(Nkeys, K1Signatures) {
  auto kp = KeyPair::from_seed("SAAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYMHI");
  ASSERT_TRUE(kp);
  EXPECT_EQ(hex_lower(kp->sign(as_bytes(""))),
            "9ca53579530654d5c3df77089ef45eda613e2fedf670e96bedac4639504e5845ef4b95d5793077233dd1"
            "6817b2532e9c5525872a73a4ad74b759369a9e05c102");
  const auto sig = kp->sign(as_bytes("hello"));
  EXPECT_EQ(hex_lower(sig),
            "e1a7fca94a835127885b99e2eba733d6ee5bf5dc463ed8385eb6f1dcaa1117c0f151750a10f46f5b3796"
            "a91203578f702c85c67c334b5689a516284d499f710f");
  EXPECT_TRUE(verify(kp->public_key(), as_bytes("hello"), sig));
}

TEST(Nkeys, K2AllTypesAndRfc8032Signature) {
  const Vector vectors[] = {
      {KeyType::kAccount, "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q",
       "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU"},
      {KeyType::kModule, "SMAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YFWNA",
       "MDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUV5O"},
      {KeyType::kServer, "SNAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YFXBM",
       "NDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUM4A"},
      {KeyType::kCluster, "SCAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YH2DI",
       "CDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUDRI"},
      {KeyType::kService, "SVAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YAKOM",
       "VDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUMBF"},
  };
  const auto seed = seed32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.seed);
    auto kp = KeyPair::from_raw_seed(v.type, seed);
    ASSERT_TRUE(kp);
    EXPECT_EQ(kp->seed(), v.seed);
    EXPECT_EQ(kp->public_key(), v.pub);
    EXPECT_EQ(hex_lower(kp->raw_public_key()),
              "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    EXPECT_EQ(hex_lower(kp->sign(as_bytes(""))),
              "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
              "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  }
}

TEST(Nkeys, K3AndK4RealKeys) {
  const std::pair<const char*, const char*> pairs[] = {
      {"SAAPN4W3EG6KCJGUQTKTJ5GSB5NHK5CHAJL4DBGFUM3HHROI4XUEP4OBK4",
       "ACODERUVFFAWZQDSS6SBIACUA5O6SXF7HJ3YTYXBALHZP3P7R4BUO4J2"},
      {"SAADV6UE6ILDAJ5TW2LCD2M6MNCMOLLCLQ5OLD53BZA2GTWJKWELBMWA3U",
       "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM"},
      {"SMAMZ6LKVEXGCLWVF3A37IRWF6JDV6CI27TB2K3YFX3FO47AEA3QVVZ4JA",
       "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5"},
      {"SAAJJWGAHMZMBI3A62WE4GYOOIDXFRJ5FQOWFWOOUUMAZZBYIH64J4UWCI",
       "ABRIBHH54GM7QIEJBYYGZJUSDAMO34YM4SKWUQJGIILRB7JYGXEPWUVT"},
      {"SMAJ2SNJHE7MO54ROEWV7J4SGZYZZUGFRI5E4F7PDM3MAEDZMOQYJYSOVM",
       "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU"},
  };
  for (const auto& [seed, pub] : pairs) {
    auto kp = KeyPair::from_seed(seed);
    ASSERT_TRUE(kp) << seed;
    EXPECT_EQ(kp->public_key(), pub);
  }
}

TEST(Nkeys, AllZeroAccountKeyIsAllA) {
  const std::array<std::uint8_t, 32> zero{};
  EXPECT_EQ(encode_public_key(KeyType::kAccount, zero), std::string(56, 'A'));
}

TEST(Nkeys, GenerateRoundTripsEveryType) {
  for (KeyType t : {KeyType::kAccount, KeyType::kCluster, KeyType::kModule, KeyType::kServer,
                    KeyType::kOperator, KeyType::kUser, KeyType::kService}) {
    const KeyPair kp = KeyPair::generate(t);
    EXPECT_EQ(kp.public_key().size(), kPublicKeyLength);
    EXPECT_EQ(kp.seed().size(), kSeedLength);
    EXPECT_EQ(kp.seed()[0], 'S');
    EXPECT_EQ(kp.seed()[1], key_letter(t));
    auto again = KeyPair::from_seed(kp.seed());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->public_key(), kp.public_key());
    EXPECT_EQ(key_type_from_name(key_type_name(t)), t);
  }
  EXPECT_NE(KeyPair::generate(KeyType::kAccount).seed(),
            KeyPair::generate(KeyType::kAccount).seed());
  EXPECT_FALSE(key_type_from_name("bogus"));
}

TEST(Nkeys, BadSeedChecksumIsRejected) {
  // Change one character of a valid seed: the CRC no longer matches.
  std::string seed = "SAAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYMHI";
  seed[20] = seed[20] == 'A' ? 'B' : 'A';
  auto kp = KeyPair::from_seed(seed);
  ASSERT_FALSE(kp);
  EXPECT_EQ(kp.error().code, Code::kInvalidArgument);
  EXPECT_EQ(kp.error().message, errors::kChecksumMismatch);
}

TEST(Nkeys, BadPublicKeyChecksumIsRejected) {
  std::string pub = "AAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QPZV";
  pub[55] = pub[55] == 'V' ? 'W' : 'V';
  auto d = decode_public_key(pub);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, errors::kChecksumMismatch);
  EXPECT_FALSE(verify(pub, as_bytes("x"), std::array<std::uint8_t, 64>{}));
}

TEST(Nkeys, SeedLengthError) {
  auto d = decode_seed("SAAAA");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Invalid seed length: Bad seed length: 5");
}

TEST(Nkeys, SeedBadBase32) {
  auto d = decode_seed(std::string(57, 'A') + "1");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind(errors::kCodecFailure, 0), 0u) << d.error().message;
}

TEST(Nkeys, PublicKeyIsNotASeed) {
  // 56 characters: wrong length for a seed.
  auto d = decode_seed("AAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QPZV");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Invalid seed length: Bad seed length: 56");
}

TEST(Nkeys, SeedIsNotAPublicKey) {
  auto d = decode_public_key("SAAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4HYMHI");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Invalid byte prefix: Not a valid public key prefix: 144");
}

TEST(Nkeys, SeedWithoutSeedMarker) {
  // 36 raw bytes with a valid CRC but a first byte that is not 0x90.
  Bytes raw(34, 0x00);
  raw[0] = 0x00;
  const std::uint16_t crc = crc16(raw);
  raw.push_back(static_cast<std::uint8_t>(crc & 0xFF));
  raw.push_back(static_cast<std::uint8_t>(crc >> 8));
  // base32 via encode_public_key is not applicable; build the text by hand.
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string text;
  std::uint32_t buf = 0;
  int bits = 0;
  for (auto b : raw) {
    buf = (buf << 8) | b;
    bits += 8;
    while (bits >= 5) {
      text.push_back(kAlpha[(buf >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) text.push_back(kAlpha[(buf << (5 - bits)) & 31]);
  ASSERT_EQ(text.size(), 58u);
  auto d = decode_seed(text);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Invalid byte prefix: Incorrect byte prefix: A");
}

TEST(Nkeys, PrivatePrefixIsNotAPublicKey) {
  const std::array<std::uint8_t, 32> key{};
  auto d = decode_public_key(encode_public_key(KeyType::kPrivate, key));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Invalid byte prefix: Not a valid public key prefix: 120");
}

TEST(Nkeys, PublicKeyWrongLength) {
  auto d = decode_public_key("AAB2CB576PHBBPQ5");
  ASSERT_FALSE(d);
}

TEST(Nkeys, VerifyRejectsWrongSignature) {
  const KeyPair kp = KeyPair::generate(KeyType::kAccount);
  auto sig = kp.sign(as_bytes("data"));
  EXPECT_TRUE(verify(kp.public_key(), as_bytes("data"), sig));
  auto bad = verify(kp.public_key(), as_bytes("datA"), sig);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::kPermissionDenied);
  // Wrong length signature: invalid, no crash.
  EXPECT_FALSE(verify(kp.public_key(), as_bytes("data"), std::span(sig).first(63)));
}

TEST(Nkeys, CurveSeedUnsupported) {
  const std::array<std::uint8_t, 32> seed{};
  auto kp = KeyPair::from_seed(encode_seed(KeyType::kCurve, seed));
  ASSERT_FALSE(kp);
  EXPECT_EQ(kp.error().code, Code::kUnsupported);
}

// check_public_key (issue #11.1): keys that reach a path or a subject.
TEST(Nkeys, CheckPublicKeyAcceptsTheRightType) {
  for (KeyType t : {KeyType::kAccount, KeyType::kModule, KeyType::kServer, KeyType::kService,
                    KeyType::kCluster}) {
    const auto kp = KeyPair::generate(t);
    EXPECT_TRUE(check_public_key(kp.public_key(), t)) << kp.public_key();
  }
}

TEST(Nkeys, CheckPublicKeyRefusesOtherTypes) {
  const auto module = KeyPair::generate(KeyType::kModule).public_key();
  auto st = check_public_key(module, KeyType::kService);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Code::kInvalidArgument);
  EXPECT_EQ(st.error().message, std::string(errors::kUnexpectedKeyType) + "service key (V...)");
  st = check_public_key(KeyPair::generate(KeyType::kService).public_key(), KeyType::kAccount);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, std::string(errors::kUnexpectedKeyType) + "account key (A...)");
}

TEST(Nkeys, CheckPublicKeyRefusesPathsAndGarbage) {
  const std::string good = KeyPair::generate(KeyType::kService).public_key();
  std::string lower = good;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string bad_crc = good;
  bad_crc[20] = bad_crc[20] == 'A' ? 'B' : 'A';
  const std::string seed = KeyPair::generate(KeyType::kService).seed();
  for (const std::string& text :
       {std::string("V/../../../../tmp/x/evil"), std::string(""), std::string("V"),
        std::string("V*.>"), good + "/..", good.substr(0, 55), good + "A", lower, bad_crc, seed,
        std::string(56, 'V'), good.substr(0, 28) + "." + good.substr(29)}) {
    auto st = check_public_key(text, KeyType::kService);
    EXPECT_FALSE(st) << text;
    if (!st) {
      EXPECT_EQ(st.error().code, Code::kInvalidArgument) << text;
    }
  }
}

}  // namespace
}  // namespace wc::wascap
