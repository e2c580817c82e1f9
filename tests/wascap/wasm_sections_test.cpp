// Section walker, token sections, module hash (spec 2.4, 2.5, 6.4.2, 6.4.3).
#include "wascap/wasm_sections.h"

#include <gtest/gtest.h>

#include "helpers.h"

namespace wc::wascap {
namespace {

using namespace testing;  // NOLINT

TEST(WasmSections, ScansTinyModule) {
  auto s = scan_sections(tiny_module());
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].id, 1);
  EXPECT_EQ((*s)[0].offset, 8u);
  EXPECT_EQ((*s)[0].payload_offset, 10u);
  EXPECT_EQ((*s)[0].payload_size, 4u);
}

TEST(WasmSections, TinyModuleHash) {
  auto h = module_hash(tiny_module());
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, kTinyHash);
  auto t = find_token(tiny_module());
  ASSERT_TRUE(t);
  EXPECT_FALSE(*t);
}

TEST(WasmSections, PaddedLebIsReencodedForTheHash) {
  const Bytes padded = from_hex("0061736d0100000001848080800001600000");
  auto h = module_hash(padded);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(*h, kTinyHash);
  EXPECT_EQ(hex_upper(sha256(padded)),
            "F711135C6899002E971B88E3E588097B1DDA4763429F42CE10371749BC2F22E0");
}

TEST(WasmSections, OtherCustomSectionsAreHashed) {
  Bytes m = tiny_module();
  const Bytes x = {0x00, 0x02, 0x01, 0x78};
  m.insert(m.end(), x.begin(), x.end());
  auto h = module_hash(m);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, "FF9E75F1F917DD85E0E5B6F87AEE080DF5ACFB83EBA12A4219550E78D940F881");
}

TEST(WasmSections, FindsFirstTokenSectionOfEitherName) {
  Bytes m = append_custom_section(tiny_module(), "jwt", as_bytes("first"));
  m = append_custom_section(m, "wasmcloud_jwt", as_bytes("second"));
  auto t = find_token(m);
  ASSERT_TRUE(t);
  ASSERT_TRUE(*t);
  EXPECT_EQ(**t, "first");
  auto h = module_hash(m);
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, kTinyHash);
}

TEST(WasmSections, EmbedReplacesOldTokens) {
  Bytes m = append_custom_section(tiny_module(), "jwt", as_bytes("old"));
  auto e = embed_token(m, "new");
  ASSERT_TRUE(e);
  Bytes expected = tiny_module();
  const Bytes tail = from_hex("00110d");
  expected.insert(expected.end(), tail.begin(), tail.end());
  const std::string rest = "wasmcloud_jwtnew";
  expected.insert(expected.end(), rest.begin(), rest.end());
  EXPECT_EQ(*e, expected);
}

TEST(WasmSections, LebEncoding) {
  Bytes out;
  write_leb128(out, 0);
  write_leb128(out, 127);
  write_leb128(out, 128);
  write_leb128(out, 605);
  EXPECT_EQ(hex_lower(out), "007f8001dd04");
}

void expect_error(const Bytes& m, std::string_view fragment) {
  auto s = scan_sections(m);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Code::kInvalidArgument);
  EXPECT_NE(s.error().message.find(fragment), std::string::npos) << s.error().message;
}

TEST(WasmSections, EmptyInput) { expect_error({}, "unexpected end"); }
TEST(WasmSections, NotWasm) {
  expect_error(Bytes{'h', 'e', 'l', 'l', 'o', '!', '!', '!'}, "magic");
}
TEST(WasmSections, ComponentVersionRefused) {
  expect_error(from_hex("0061736d0d000100"), "version");
}
TEST(WasmSections, BadSectionId) {
  expect_error(from_hex("0061736d01000000"
                        "2000"),
               "section id");
}
TEST(WasmSections, OverlongLeb) {
  expect_error(from_hex("0061736d01000000"
                        "0180808080800100"),
               "LEB128");
}
TEST(WasmSections, LebOutOfRange) {
  expect_error(from_hex("0061736d01000000"
                        "01ffffffff7f"),
               "LEB128");
}
TEST(WasmSections, SectionSizeOutOfBounds) {
  expect_error(from_hex("0061736d01000000"
                        "010501600000"),
               "out of bounds");
}
TEST(WasmSections, CustomNameOutOfBounds) {
  expect_error(from_hex("0061736d01000000"
                        "0002056a"),
               "name out of bounds");
}
TEST(WasmSections, CustomNameNotUtf8) {
  expect_error(from_hex("0061736d01000000"
                        "000201ff"),
               "UTF-8");
}

TEST(WasmSections, EveryTruncationFailsCleanly) {
  const Bytes m = append_custom_section(tiny_module(), "wasmcloud_jwt", as_bytes("abc.def.ghi"));
  for (std::size_t n = 0; n < m.size(); ++n) {
    auto s = scan_sections(std::span(m).first(n));
    // Section boundaries (8: header only, 14: the unsigned module) are complete modules.
    if (n == 8 || n == 14) {
      EXPECT_TRUE(s) << n;
    } else {
      EXPECT_FALSE(s) << n;
    }
  }
  EXPECT_TRUE(scan_sections(m));
}

}  // namespace
}  // namespace wc::wascap
