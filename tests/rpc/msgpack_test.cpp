// rpc/msgpack.h: bounded parsing of untrusted bytes, member lookup and walk, typed readers in both
// error flavours, and the writer's bytes.
#include "rpc/msgpack.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace wc::rpc::mp {
namespace {

Bytes b(std::initializer_list<int> v) {
  Bytes out;
  for (int x : v) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

TEST(MsgpackParse, EmptyInputFails) {
  auto r = parse(Bytes{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, "empty input");
}

TEST(MsgpackParse, TruncatedMapFails) { EXPECT_FALSE(parse(b({0x81, 0xa1, 'x'}))); }

TEST(MsgpackParse, ArrayHeaderLargerThanInputFails) {
  // array32 claiming 2^31 elements in 5 bytes: refused by the size limit, no huge allocation.
  EXPECT_FALSE(parse(b({0xdd, 0x80, 0x00, 0x00, 0x00})));
}

TEST(MsgpackParse, NestingOf64IsAcceptedAnd65Refused) {
  Bytes ok(63, 0x91);  // 63 one-element arrays around nil: depth 64
  ok.push_back(0xc0);
  EXPECT_TRUE(parse(ok));
  Bytes deep(65, 0x91);
  deep.push_back(0xc0);
  EXPECT_FALSE(parse(deep));
}

TEST(MsgpackParse, TrailingBytesIgnored) {
  auto r = parse(b({0x01, 0xff, 0xff}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get().via.u64, 1u);
}

TEST(MsgpackFind, SkipsNilAndNonStringKeys) {
  // {1: "a", "k": nil, "v": 7}
  auto h = parse(b({0x83, 0x01, 0xa1, 'a', 0xa1, 'k', 0xc0, 0xa1, 'v', 0x07}));
  ASSERT_TRUE(h);
  EXPECT_EQ(find(h->get(), "k"), nullptr);
  ASSERT_NE(find(h->get(), "v"), nullptr);
  EXPECT_EQ(find(h->get(), "v")->via.u64, 7u);
  EXPECT_EQ(find(h->get(), "absent"), nullptr);
}

TEST(MsgpackWalk, VisitsStringKeysWithValuesAndRejectsNonMaps) {
  auto h = parse(b({0x83, 0x01, 0xa1, 'a', 0xa1, 'k', 0xc0, 0xa1, 'v', 0x07}));
  ASSERT_TRUE(h);
  std::vector<std::string> keys;
  auto st = for_each_member(h->get(), "thing", [&](std::string_view k, const msgpack::object&) {
    keys.emplace_back(k);
    return wc::ok();
  });
  EXPECT_TRUE(st);
  EXPECT_EQ(keys, std::vector<std::string>{"v"});
  auto arr = parse(b({0x90}));
  auto bad = for_each_member(arr->get(), "thing", [](auto, const auto&) { return wc::ok(); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "thing: expected a map");
}

TEST(MsgpackRead, StringStrOnlyRefusesBinButStrOrBinTakesIt) {
  auto bin = parse(b({0xc4, 0x02, 'h', 'i'}));
  auto strict = as_string(bin->get(), "f");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().message, "field `f`: expected a string");
  EXPECT_EQ(*as_string(bin->get(), "f", Text::kStrOrBin), "hi");
}

TEST(MsgpackRead, BytesFromBinStrAndByteArray) {
  EXPECT_EQ(*as_bytes(parse(b({0xc4, 0x01, 0x09}))->get(), "m"), b({0x09}));
  EXPECT_EQ(*as_bytes(parse(b({0xa1, 'a'}))->get(), "m"), b({'a'}));
  EXPECT_EQ(*as_bytes(parse(b({0x92, 0x01, 0xcc, 0xff}))->get(), "m"), b({0x01, 0xff}));
}

TEST(MsgpackRead, BytesArrayWithNonByteFails) {
  auto r = as_bytes(parse(b({0x91, 0xcd, 0x01, 0x00}))->get(), "m");  // [256]
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "field `m`: expected bytes");
}

TEST(MsgpackRead, IntegersOfAnyWidthAndTheirLimits) {
  EXPECT_EQ(*as_int(parse(b({0xd0, 0x80}))->get(), "n"), -128);
  EXPECT_EQ(*as_int(parse(b({0xcd, 0x01, 0x00}))->get(), "n"), 256);
  auto big = parse(b({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(as_int(big->get(), "n").error().message, "field `n`: expected a smaller integer");
  EXPECT_EQ(*as_uint(big->get(), "n"), UINT64_MAX);
  EXPECT_EQ(as_uint(parse(b({0xff}))->get(), "n").error().message,
            "field `n`: expected an unsigned integer");
  EXPECT_EQ(as_int(parse(b({0xc3}))->get(), "n").error().message, "field `n`: expected an integer");
}

TEST(MsgpackRead, BoolArrayAndMap) {
  EXPECT_TRUE(*as_bool(parse(b({0xc3}))->get(), "x"));
  EXPECT_FALSE(as_bool(parse(b({0x01}))->get(), "x"));
  EXPECT_EQ(*as_string_array(parse(b({0x92, 0xa1, 'a', 0xa0}))->get(), "x"),
            (std::vector<std::string>{"a", ""}));
  EXPECT_FALSE(as_string_array(parse(b({0x91, 0x01}))->get(), "x"));
  auto m = as_string_map(parse(b({0x81, 0xa1, 'k', 0xa1, 'v'}))->get(), "x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("k"), "v");
  EXPECT_FALSE(as_string_map(parse(b({0x81, 0xa1, 'k', 0x01}))->get(), "x"));
}

TEST(MsgpackSerde, ErrorsCarryTheDeserializationPrefix) {
  auto empty = serde::parse(Bytes{});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "Deserialization error: empty payload");
  auto h = serde::parse(b({0x81, 0xa1, 'k', 0xc3}));
  ASSERT_TRUE(h);
  EXPECT_EQ(serde::required(h->get(), "key").error().message,
            "Deserialization error: missing field `key`");
  EXPECT_EQ(serde::as_string(*serde::find(h->get(), "k"), "k").error().message,
            "Deserialization error: field `k`: expected a string");
  EXPECT_EQ(serde::required(parse(b({0x90}))->get(), "k").error().message,
            "Deserialization error: expected a map");
  EXPECT_EQ(*serde::string_or(h->get(), "absent", "dflt"), "dflt");
  EXPECT_EQ(*serde::int_or(h->get(), "absent", 5), 5);
  EXPECT_EQ(*serde::as_string(parse(b({0xc4, 0x01, 'z'}))->get(), "k"), "z");  // bin accepted
}

TEST(MsgpackWriter, ShortestIntegersStrBinAndContainers) {
  Writer w;
  w.map(1).str("a").array(5).int64(-1).uint64(200).bin(b({1})).str_bytes(b({'x'})).boolean(true);
  EXPECT_EQ(hex_lower(w.bytes()), "81a16195ffccc8c40101a178c3");
  EXPECT_EQ(hex_lower(Writer().nil().bytes()), "c0");
}

}  // namespace
}  // namespace wc::rpc::mp
