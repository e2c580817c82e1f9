// Small msgpack helpers for provider payloads (actor-rpc-providers.md 0.2, 7): parse untrusted
// bytes with limits, look up map members by name, read typed values with the decoding rules of
// 0.2 (nil = absent, byte fields as bin/str/array, any integer width), and a writer.
//
// Owned by providers/sdk. Pure functions; a Writer is used by one thread. Parse failures and
// type mismatches are wc::Error kInvalidArgument with "Deserialization error: <detail>"; nothing
// throws out of these functions.
#pragma once

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::provider::mp {

/// Parses one msgpack value from untrusted bytes (container sizes bounded by the input size,
/// nesting depth <= 64). Trailing bytes are ignored.
Result<msgpack::object_handle> parse(std::span<const std::uint8_t> bytes);

/// Member `key` of a map object; nullptr when `map` is not a map, the key is absent, or its
/// value is nil.
const msgpack::object* find(const msgpack::object& map, std::string_view key);

/// A string value (str, or bin taken as bytes). `field` names the value in errors.
Result<std::string> as_string(const msgpack::object& o, std::string_view field);
/// A byte value: bin, str or array of integers 0..255.
Result<Bytes> as_bytes(const msgpack::object& o, std::string_view field);
/// A signed integer of any msgpack width.
Result<std::int64_t> as_int(const msgpack::object& o, std::string_view field);
/// An unsigned integer of any msgpack width (negative values are errors).
Result<std::uint64_t> as_uint(const msgpack::object& o, std::string_view field);
/// A boolean.
Result<bool> as_bool(const msgpack::object& o, std::string_view field);
/// An array of strings.
Result<std::vector<std::string>> as_string_array(const msgpack::object& o, std::string_view field);
/// A map str -> str (link values).
Result<std::map<std::string, std::string>> as_string_map(const msgpack::object& o,
                                                         std::string_view field);

/// Map member helpers: absent/nil members give `fallback` (Rust decoders' defaults, 7.1).
Result<std::string> string_or(const msgpack::object& map, std::string_view key,
                              std::string fallback = {});
Result<std::int64_t> int_or(const msgpack::object& map, std::string_view key,
                            std::int64_t fallback = 0);
/// Required member: "missing field `<key>`" when absent.
Result<const msgpack::object*> required(const msgpack::object& map, std::string_view key);

/// The "Deserialization error: <detail>" error.
Error decode_error(std::string detail);

/// Builds a msgpack value; strings as str, bytes as bin, integers in shortest form.
class Writer {
 public:
  Writer() : pk_(buf_) {}
  Writer& map(std::uint32_t n) { return pk_.pack_map(n), *this; }
  Writer& array(std::uint32_t n) { return pk_.pack_array(n), *this; }
  Writer& str(std::string_view s);
  Writer& bin(std::span<const std::uint8_t> b);
  Writer& boolean(bool b) { return b ? pk_.pack_true() : pk_.pack_false(), *this; }
  Writer& int64(std::int64_t v) { return pk_.pack_int64(v), *this; }
  Writer& uint64(std::uint64_t v) { return pk_.pack_uint64(v), *this; }
  Writer& nil() { return pk_.pack_nil(), *this; }
  /// The bytes written so far.
  Bytes bytes() const;

 private:
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_;
};

}  // namespace wc::provider::mp
