// KeyValue operations on Redis (see operations.h).
#include "keyvalue/operations.h"

#include <limits>

#include "rpc/msgpack.h"
#include "sdk/errors.h"

namespace wc::keyvalue {
namespace mp = rpc::mp::serde;

namespace {

Result<std::string> input_string(std::span<const std::uint8_t> payload, std::string_view what) {
  auto h = mp::parse(payload);
  if (!h) return fail(h.error());
  return mp::as_string(h->get(), what);
}

/// A map input (the parsed payload) and its required string member.
struct MapInput {
  msgpack::object_handle handle;  ///< owns the parsed map
  std::string first;              ///< the required string member
  const msgpack::object& map() const { return handle.get(); }
};

/// Parses a map input with the required string member `key` (Deserialization errors).
Result<MapInput> input_map(std::span<const std::uint8_t> payload, std::string_view key) {
  auto h = mp::parse(payload);
  if (!h) return fail(h.error());
  auto member = mp::required(h->get(), key);  // also fails when the input is not a map
  if (!member) return fail(member.error());
  auto s = mp::as_string(**member, key);
  if (!s) return fail(s.error());
  return MapInput{std::move(*h), std::move(*s)};
}

/// A map input with string members `a` (required) and `b` (absent = "").
Result<std::pair<std::string, std::string>> input_pair(std::span<const std::uint8_t> payload,
                                                       std::string_view a, std::string_view b) {
  auto in = input_map(payload, a);
  if (!in) return fail(in.error());
  auto second = mp::string_or(in->map(), b);
  if (!second) return fail(second.error());
  return std::pair{std::move(in->first), std::move(*second)};
}

Bytes encode_bool(bool v) { return mp::Writer().boolean(v).bytes(); }
Bytes encode_int(std::int64_t v) { return mp::Writer().int64(v).bytes(); }

Result<std::int64_t> integer_of(const Result<Reply>& r) {
  if (!r) return fail(r.error());
  if (r->type != Reply::Type::kInteger) {
    return fail(Code::kInternal, "Redis error: unexpected reply type");
  }
  return r->integer;
}

Result<Bytes> string_array_of(const Result<Reply>& r) {
  if (!r) return fail(r.error());
  mp::Writer w;
  w.array(static_cast<std::uint32_t>(r->elements.size()));
  for (const auto& e : r->elements) w.str(e.str);
  return w.bytes();
}

Result<Bytes> bool_of_count(const Result<Reply>& r) {
  auto n = integer_of(r);
  if (!n) return fail(n.error());
  return encode_bool(*n > 0);
}

Result<Bytes> uint_of(const Result<Reply>& r) {
  auto n = integer_of(r);
  if (!n) return fail(n.error());
  return mp::Writer().uint64(static_cast<std::uint64_t>(std::max<std::int64_t>(*n, 0))).bytes();
}

}  // namespace

Result<Bytes> run_operation(RedisPool& pool, std::string_view op,
                            std::span<const std::uint8_t> payload) {
  if (op == "KeyValue.Increment") {
    auto in = input_map(payload, "key");
    if (!in) return fail(in.error());
    auto v = mp::int_or(in->map(), "value");
    if (!v) return fail(v.error());
    auto n = integer_of(pool.command({"INCRBY", in->first, std::to_string(*v)}));
    if (!n) return fail(n.error());
    if (*n > std::numeric_limits<std::int32_t>::max() ||
        *n < std::numeric_limits<std::int32_t>::min()) {
      return fail(Code::kInvalidArgument, "Counter value does not fit in a 32-bit integer");
    }
    return encode_int(*n);
  }
  if (op == "KeyValue.Get") {
    auto k = input_string(payload, "key");
    if (!k) return fail(k.error());
    auto r = pool.command({"GET", *k});
    if (!r) return fail(r.error());
    const bool exists = r->type == Reply::Type::kString;
    return mp::Writer()
        .map(2)
        .str("value")
        .str(exists ? r->str : "")
        .str("exists")
        .boolean(exists)
        .bytes();
  }
  if (op == "KeyValue.Set") {
    auto in = input_map(payload, "key");
    if (!in) return fail(in.error());
    auto v = mp::string_or(in->map(), "value");
    if (!v) return fail(v.error());
    auto expires = mp::int_or(in->map(), "expires");
    if (!expires) return fail(expires.error());
    std::vector<std::string> args{"SET", std::move(in->first), std::move(*v)};
    if (*expires > 0) {
      args.push_back("EX");
      args.push_back(std::to_string(*expires));
    }
    auto r = pool.command(args);
    if (!r) return fail(r.error());
    return Bytes{};
  }
  if (op == "KeyValue.Contains") {
    auto k = input_string(payload, "key");
    if (!k) return fail(k.error());
    return bool_of_count(pool.command({"EXISTS", *k}));
  }
  if (op == "KeyValue.Del" || op == "KeyValue.ListClear" || op == "KeyValue.SetClear") {
    auto k = input_string(payload, "key");
    if (!k) return fail(k.error());
    return bool_of_count(pool.command({"DEL", *k}));
  }
  if (op == "KeyValue.ListAdd") {
    auto p = input_pair(payload, "listName", "value");
    if (!p) return fail(p.error());
    return uint_of(pool.command({"RPUSH", p->first, p->second}));
  }
  if (op == "KeyValue.ListDel") {
    auto p = input_pair(payload, "listName", "value");
    if (!p) return fail(p.error());
    return bool_of_count(pool.command({"LREM", p->first, "1", p->second}));
  }
  if (op == "KeyValue.ListRange") {
    auto in = input_map(payload, "listName");
    if (!in) return fail(in.error());
    auto start = mp::int_or(in->map(), "start");
    if (!start) return fail(start.error());
    auto stop = mp::int_or(in->map(), "stop");
    if (!stop) return fail(stop.error());
    return string_array_of(
        pool.command({"LRANGE", in->first, std::to_string(*start), std::to_string(*stop)}));
  }
  if (op == "KeyValue.SetAdd") {
    auto p = input_pair(payload, "setName", "value");
    if (!p) return fail(p.error());
    return uint_of(pool.command({"SADD", p->first, p->second}));
  }
  if (op == "KeyValue.SetDel") {
    auto p = input_pair(payload, "setName", "value");
    if (!p) return fail(p.error());
    return uint_of(pool.command({"SREM", p->first, p->second}));
  }
  if (op == "KeyValue.SetIntersection" || op == "KeyValue.SetUnion") {
    auto h = mp::parse(payload);
    if (!h) return fail(h.error());
    auto names = mp::as_string_array(h->get(), "keys");
    if (!names) return fail(names.error());
    if (names->empty()) return mp::Writer().array(0).bytes();
    std::vector<std::string> args{op == "KeyValue.SetUnion" ? "SUNION" : "SINTER"};
    args.insert(args.end(), names->begin(), names->end());
    return string_array_of(pool.command(args));
  }
  if (op == "KeyValue.SetQuery") {
    auto k = input_string(payload, "key");
    if (!k) return fail(k.error());
    return string_array_of(pool.command({"SMEMBERS", *k}));
  }
  return fail(Code::kUnsupported,
              std::string(provider::errors::kMethodNotHandledPrefix) + std::string(op));
}

}  // namespace wc::keyvalue
