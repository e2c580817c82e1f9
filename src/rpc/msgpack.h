// The one msgpack toolkit of lattice RPC payloads (actor-rpc-providers.md 0.2, 2.5, 6.3, 7):
// parse untrusted bytes with limits, walk and look up map members by name, read typed values with
// the decoding rules of 0.2 (nil = absent, byte fields as bin/str/array, any integer width), and
// a writer. Used by the RPC codecs (invocation.cpp, messages.cpp) and the provider SDK.
//
// Owned by src/rpc. Pure functions; a Writer is used by one thread. Nothing throws out of these
// functions: msgpack-c exceptions are caught inside. Two error flavours:
//  - `wc::rpc::mp::*` fail with kInvalidArgument and a bare detail ("field `x`: expected a
//    string"); the RPC codecs wrap or replace it.
//  - `wc::rpc::mp::serde::*` are the same readers as wasmbus-rpc providers decode operation
//    inputs: strings also accept bin, and every error is "Deserialization error: <detail>"
//    (errors::kDeserializePrefix), the text a provider returns to the actor (7.1).
#pragma once

#include <cstdint>
#include <map>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::rpc::mp {

/// Parses one msgpack value from untrusted bytes. Limits: every container size and str/bin/ext
/// length is bounded by the input size (each element needs at least one byte), nesting depth
/// <= 64. Trailing bytes are ignored. Errors (kInvalidArgument): "empty input", msgpack-c's
/// exception text, or "malformed msgpack".
Result<msgpack::object_handle> parse(std::span<const std::uint8_t> bytes);

/// Member `key` of a map object; nullptr when `map` is not a map, the key is absent, or its
/// value is nil. Non-string keys are skipped; the first matching key wins.
const msgpack::object* find(const msgpack::object& map, std::string_view key);

/// Calls `fn(key, value) -> Status` for every member of `map` with a string key and a non-nil
/// value, in wire order; unknown keys are the caller's to skip. Stops at the first failing
/// Status. Errors: "<what>: expected a map" when `map` is not a map, or `fn`'s error.
template <class Fn>
Status for_each_member(const msgpack::object& map, std::string_view what, Fn&& fn) {
  if (map.type != msgpack::type::MAP) {
    return wc::fail(Code::kInvalidArgument, std::string(what) + ": expected a map");
  }
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR || kv.key.via.str.size == 0) continue;
    if (kv.val.type == msgpack::type::NIL) continue;
    if (auto st = fn(std::string_view(kv.key.via.str.ptr, kv.key.via.str.size), kv.val); !st) {
      return st;
    }
  }
  return wc::ok();
}

/// Which msgpack types a string field accepts: the RPC wire types take str only; provider
/// operation inputs (Rust serde decoders) also take bin as the string's bytes.
enum class Text { kStrOnly, kStrOrBin };

/// A string value. `field` names the value in errors: "field `<field>`: expected a string".
Result<std::string> as_string(const msgpack::object& o, std::string_view field,
                              Text accept = Text::kStrOnly);
/// A byte value: bin, str, or an array of integers 0..255. Error "field `<field>`: expected bytes".
Result<Bytes> as_bytes(const msgpack::object& o, std::string_view field);
/// A signed integer of any msgpack width. Errors "field `<field>`: expected an integer" /
/// "...: expected a smaller integer" (positive values above INT64_MAX).
Result<std::int64_t> as_int(const msgpack::object& o, std::string_view field);
/// An unsigned integer of any msgpack width. Error "field `<field>`: expected an unsigned
/// integer" (also for negative values).
Result<std::uint64_t> as_uint(const msgpack::object& o, std::string_view field);
/// A boolean. Error "field `<field>`: expected a boolean".
Result<bool> as_bool(const msgpack::object& o, std::string_view field);
/// An array of strings (each element read with `accept`). Error "field `<field>`: expected an
/// array of strings" or the element's string error.
Result<std::vector<std::string>> as_string_array(const msgpack::object& o, std::string_view field,
                                                 Text accept = Text::kStrOnly);
/// A map string -> string (link values). Error "field `<field>`: expected a map of strings" or a
/// key's / value's string error.
Result<std::map<std::string, std::string>> as_string_map(const msgpack::object& o,
                                                         std::string_view field,
                                                         Text accept = Text::kStrOnly);

/// Builds one msgpack value: strings as str, bytes as bin, integers in their shortest form
/// (msgpack-c's pack_int64/pack_uint64). Not copyable (the packer points into the buffer).
class Writer {
 public:
  /// `reserve`: initial buffer capacity in bytes (a hint only).
  explicit Writer(std::size_t reserve = 128) : buf_(reserve), pk_(buf_) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// A map header of `n` key/value pairs; the caller writes 2*n values after it.
  Writer& map(std::uint32_t n) { return pk_.pack_map(n), *this; }
  /// An array header of `n` elements.
  Writer& array(std::uint32_t n) { return pk_.pack_array(n), *this; }
  /// A str value.
  Writer& str(std::string_view s);
  /// Raw bytes written as a str value (the reference host's InvocationResponse.msg, 2.5).
  Writer& str_bytes(std::span<const std::uint8_t> b);
  /// A bin value.
  Writer& bin(std::span<const std::uint8_t> b);
  /// true / false.
  Writer& boolean(bool b) { return b ? pk_.pack_true() : pk_.pack_false(), *this; }
  /// A signed integer in its shortest encoding.
  Writer& int64(std::int64_t v) { return pk_.pack_int64(v), *this; }
  /// An unsigned integer in its shortest encoding.
  Writer& uint64(std::uint64_t v) { return pk_.pack_uint64(v), *this; }
  /// nil.
  Writer& nil() { return pk_.pack_nil(), *this; }
  /// A copy of the bytes written so far.
  Bytes bytes() const;

 private:
  msgpack::sbuffer buf_;
  msgpack::packer<msgpack::sbuffer> pk_;
};

/// Provider-side decoding of operation inputs with wasmbus-rpc's error text (7.1): the readers
/// above with strings accepting bin, every error "Deserialization error: <detail>".
namespace serde {

/// The kInvalidArgument error "Deserialization error: <detail>".
Error decode_error(std::string_view detail);
/// mp::parse; errors "Deserialization error: empty payload" / "...: <msgpack-c text>".
Result<msgpack::object_handle> parse(std::span<const std::uint8_t> bytes);
using mp::find;
using mp::Writer;
/// mp::as_string with Text::kStrOrBin.
Result<std::string> as_string(const msgpack::object& o, std::string_view field);
/// mp::as_bytes.
Result<Bytes> as_bytes(const msgpack::object& o, std::string_view field);
/// mp::as_int.
Result<std::int64_t> as_int(const msgpack::object& o, std::string_view field);
/// mp::as_uint.
Result<std::uint64_t> as_uint(const msgpack::object& o, std::string_view field);
/// mp::as_bool.
Result<bool> as_bool(const msgpack::object& o, std::string_view field);
/// mp::as_string_array with Text::kStrOrBin.
Result<std::vector<std::string>> as_string_array(const msgpack::object& o, std::string_view field);
/// mp::as_string_map with Text::kStrOrBin.
Result<std::map<std::string, std::string>> as_string_map(const msgpack::object& o,
                                                         std::string_view field);
/// Member `key` read as a string; absent/nil gives `fallback` (Rust decoders' defaults, 7.1).
Result<std::string> string_or(const msgpack::object& map, std::string_view key,
                              std::string fallback = {});
/// Member `key` read as an integer; absent/nil gives `fallback`.
Result<std::int64_t> int_or(const msgpack::object& map, std::string_view key,
                            std::int64_t fallback = 0);
/// Required member: "...: expected a map" when `map` is not a map, "...: missing field `<key>`"
/// when absent or nil.
Result<const msgpack::object*> required(const msgpack::object& map, std::string_view key);

}  // namespace serde
}  // namespace wc::rpc::mp
