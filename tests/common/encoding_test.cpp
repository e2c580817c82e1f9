#include "common/encoding.h"

#include <gtest/gtest.h>

namespace wc {
namespace {

TEST(Encoding, Base64UrlRoundTripAndNoPadding) {
  const std::string text = "any carnal pleas";
  const std::string enc = base64url_encode(as_bytes(text));
  EXPECT_EQ(enc, "YW55IGNhcm5hbCBwbGVhcw");
  auto dec = base64url_decode(enc);
  ASSERT_TRUE(dec) << dec.error().message;
  EXPECT_EQ(to_string(*dec), text);
}

TEST(Encoding, Base64UrlRejectsGarbage) {
  auto dec = base64url_decode("ab$d");
  ASSERT_FALSE(dec);
  EXPECT_EQ(dec.error().code, Code::kInvalidArgument);
}

TEST(Encoding, Sha256KnownVector) {
  EXPECT_EQ(oci_digest(as_bytes("abc")),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_upper(sha256(as_bytes(""))).substr(0, 8), "E3B0C442");
}

TEST(Encoding, ReadMissingFileIsNotFound) {
  auto r = read_file("/nonexistent/file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kNotFound);
}

}  // namespace
}  // namespace wc
