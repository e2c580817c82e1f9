// msgpack toolkit (see msgpack.h). msgpack-c throws on malformed input; every call into it is
// wrapped here.
#include "rpc/msgpack.h"

#include <exception>

#include "rpc/errors.h"

namespace wc::rpc::mp {
namespace {

tl::unexpected<Error> bad(std::string_view field, std::string_view what) {
  return wc::fail(Code::kInvalidArgument,
                  "field `" + std::string(field) + "`: expected " + std::string(what));
}

}  // namespace

Result<msgpack::object_handle> parse(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return wc::fail(Code::kInvalidArgument, "empty input");
  const std::size_t n = bytes.size();
  const msgpack::unpack_limit limit(n, n, n, n, n, 64);
  try {
    std::size_t offset = 0;
    return msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), n, offset, nullptr, nullptr,
                           limit);
  } catch (const std::exception& e) {
    return wc::fail(Code::kInvalidArgument, e.what());
  } catch (...) {
    return wc::fail(Code::kInvalidArgument, "malformed msgpack");
  }
}

const msgpack::object* find(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return nullptr;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) continue;
    if (std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) != key) continue;
    if (kv.val.type == msgpack::type::NIL) return nullptr;
    return &kv.val;
  }
  return nullptr;
}

Result<std::string> as_string(const msgpack::object& o, std::string_view field, Text accept) {
  if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
  if (accept == Text::kStrOrBin && o.type == msgpack::type::BIN) {
    return std::string(o.via.bin.ptr, o.via.bin.size);
  }
  return bad(field, "a string");
}

Result<Bytes> as_bytes(const msgpack::object& o, std::string_view field) {
  switch (o.type) {
    case msgpack::type::BIN: {
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      return Bytes(p, p + o.via.bin.size);
    }
    case msgpack::type::STR: {
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.str.ptr);
      return Bytes(p, p + o.via.str.size);
    }
    case msgpack::type::ARRAY: {
      Bytes out;
      out.reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        const auto& e = o.via.array.ptr[i];
        if (e.type != msgpack::type::POSITIVE_INTEGER || e.via.u64 > 255) {
          return bad(field, "bytes");
        }
        out.push_back(static_cast<std::uint8_t>(e.via.u64));
      }
      return out;
    }
    default:
      return bad(field, "bytes");
  }
}

Result<std::int64_t> as_int(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX)) return bad(field, "a smaller integer");
    return static_cast<std::int64_t>(o.via.u64);
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  return bad(field, "an integer");
}

Result<std::uint64_t> as_uint(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) return o.via.u64;
  return bad(field, "an unsigned integer");
}

Result<bool> as_bool(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::BOOLEAN) return o.via.boolean;
  return bad(field, "a boolean");
}

Result<std::vector<std::string>> as_string_array(const msgpack::object& o, std::string_view field,
                                                 Text accept) {
  if (o.type != msgpack::type::ARRAY) return bad(field, "an array of strings");
  std::vector<std::string> out;
  out.reserve(o.via.array.size);
  for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
    auto s = as_string(o.via.array.ptr[i], field, accept);
    if (!s) return wc::fail(s.error());
    out.push_back(std::move(*s));
  }
  return out;
}

Result<std::map<std::string, std::string>> as_string_map(const msgpack::object& o,
                                                         std::string_view field, Text accept) {
  if (o.type != msgpack::type::MAP) return bad(field, "a map of strings");
  std::map<std::string, std::string> out;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    auto k = as_string(o.via.map.ptr[i].key, field, accept);
    if (!k) return wc::fail(k.error());
    auto v = as_string(o.via.map.ptr[i].val, field, accept);
    if (!v) return wc::fail(v.error());
    out[std::move(*k)] = std::move(*v);
  }
  return out;
}

Writer& Writer::str(std::string_view s) {
  pk_.pack_str(static_cast<std::uint32_t>(s.size()));
  pk_.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  return *this;
}

Writer& Writer::str_bytes(std::span<const std::uint8_t> b) {
  pk_.pack_str(static_cast<std::uint32_t>(b.size()));
  pk_.pack_str_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
  return *this;
}

Writer& Writer::bin(std::span<const std::uint8_t> b) {
  pk_.pack_bin(static_cast<std::uint32_t>(b.size()));
  pk_.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
  return *this;
}

Bytes Writer::bytes() const {
  const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data());
  return Bytes(p, p + buf_.size());
}

namespace serde {
namespace {

/// `r`, with its error (a bare detail) turned into the Deserialization error.
template <class T>
Result<T> prefixed(Result<T> r) {
  if (!r) return wc::fail(decode_error(std::move(r.error().message)));
  return r;
}

}  // namespace

Error decode_error(std::string_view detail) {
  return Error{Code::kInvalidArgument,
               std::string(errors::kDeserializePrefix) + std::string(detail)};
}

Result<msgpack::object_handle> parse(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return wc::fail(decode_error("empty payload"));
  return prefixed(mp::parse(bytes));
}

Result<std::string> as_string(const msgpack::object& o, std::string_view field) {
  return prefixed(mp::as_string(o, field, Text::kStrOrBin));
}
Result<Bytes> as_bytes(const msgpack::object& o, std::string_view field) {
  return prefixed(mp::as_bytes(o, field));
}
Result<std::int64_t> as_int(const msgpack::object& o, std::string_view field) {
  return prefixed(mp::as_int(o, field));
}
Result<std::uint64_t> as_uint(const msgpack::object& o, std::string_view field) {
  return prefixed(mp::as_uint(o, field));
}
Result<bool> as_bool(const msgpack::object& o, std::string_view field) {
  return prefixed(mp::as_bool(o, field));
}
Result<std::vector<std::string>> as_string_array(const msgpack::object& o, std::string_view field) {
  return prefixed(mp::as_string_array(o, field, Text::kStrOrBin));
}
Result<std::map<std::string, std::string>> as_string_map(const msgpack::object& o,
                                                         std::string_view field) {
  return prefixed(mp::as_string_map(o, field, Text::kStrOrBin));
}

Result<std::string> string_or(const msgpack::object& map, std::string_view key,
                              std::string fallback) {
  const auto* o = find(map, key);
  if (o == nullptr) return fallback;
  return as_string(*o, key);
}

Result<std::int64_t> int_or(const msgpack::object& map, std::string_view key,
                            std::int64_t fallback) {
  const auto* o = find(map, key);
  if (o == nullptr) return fallback;
  return as_int(*o, key);
}

Result<const msgpack::object*> required(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return wc::fail(decode_error("expected a map"));
  const auto* o = find(map, key);
  if (o == nullptr) return wc::fail(decode_error("missing field `" + std::string(key) + "`"));
  return o;
}

}  // namespace serde
}  // namespace wc::rpc::mp
