// msgpack codec of the RPC wire types (see invocation.h). msgpack-c throws on malformed input;
// every call into it is wrapped here and turned into a wc::Error.
#include "rpc/invocation.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <msgpack.hpp>

#include "rpc/errors.h"

namespace wc::rpc {
namespace {

// --- URLs -------------------------------------------------------------------------------------

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- Encoding ---------------------------------------------------------------------------------

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_string(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_bin(Packer& pk, std::span<const std::uint8_t> b) {
  pk.pack_bin(static_cast<std::uint32_t>(b.size()));
  pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
}

void pack_bytes_as_str(Packer& pk, std::span<const std::uint8_t> b) {
  pk.pack_str(static_cast<std::uint32_t>(b.size()));
  pk.pack_str_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
}

void pack_entity(Packer& pk, const WasmCloudEntity& e, EntityOrder order) {
  pk.pack_map(3);
  pack_string(pk, "public_key");
  pack_string(pk, e.public_key);
  if (order == EntityOrder::kHost) {
    pack_string(pk, "contract_id");
    pack_string(pk, e.contract_id);
    pack_string(pk, "link_name");
    pack_string(pk, e.link_name);
  } else {
    pack_string(pk, "link_name");
    pack_string(pk, e.link_name);
    pack_string(pk, "contract_id");
    pack_string(pk, e.contract_id);
  }
}

Bytes to_bytes(const msgpack::sbuffer& buf) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
  return Bytes(p, p + buf.size());
}

// --- Decoding ---------------------------------------------------------------------------------

/// A decoding failure with a detail for the debug log.
struct DecodeError {
  std::string detail;
};

std::string_view key_of(const msgpack::object_kv& kv) {
  if (kv.key.type != msgpack::type::STR) return {};
  return {kv.key.via.str.ptr, kv.key.via.str.size};
}

bool is_nil(const msgpack::object& o) { return o.type == msgpack::type::NIL; }

Result<std::string> get_string(const msgpack::object& o, std::string_view field) {
  if (o.type != msgpack::type::STR) {
    return tl::unexpected(
        Error{Code::kInvalidArgument, "field `" + std::string(field) + "`: expected a string"});
  }
  return std::string(o.via.str.ptr, o.via.str.size);
}

Result<Bytes> get_bytes(const msgpack::object& o, std::string_view field) {
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
          return tl::unexpected(
              Error{Code::kInvalidArgument,
                    "field `" + std::string(field) + "`: array element is not a byte"});
        }
        out.push_back(static_cast<std::uint8_t>(e.via.u64));
      }
      return out;
    }
    default:
      return tl::unexpected(
          Error{Code::kInvalidArgument, "field `" + std::string(field) + "`: expected bytes"});
  }
}

Result<std::uint64_t> get_uint(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) return o.via.u64;
  return tl::unexpected(Error{Code::kInvalidArgument,
                              "field `" + std::string(field) + "`: expected an unsigned integer"});
}

/// Walks a map, calling `fn(key, value)` for every string key with a non-nil value. Fails on
/// duplicate known keys (serde does too) through `fn`'s own bookkeeping.
template <class Fn>
Status for_each_field(const msgpack::object& map, std::string_view what, Fn&& fn) {
  if (map.type != msgpack::type::MAP) {
    return wc::fail(Code::kInvalidArgument, std::string(what) + ": expected a map");
  }
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    std::string_view key = key_of(kv);
    if (key.empty() || is_nil(kv.val)) continue;  // unknown / non-string keys and nil values
    if (auto st = fn(key, kv.val); !st) return st;
  }
  return wc::ok();
}

/// Records that `field` was seen; error on a duplicate.
Status seen(std::vector<std::string_view>& fields, std::string_view field) {
  if (std::find(fields.begin(), fields.end(), field) != fields.end()) {
    return wc::fail(Code::kInvalidArgument, "duplicate field `" + std::string(field) + "`");
  }
  fields.push_back(field);
  return wc::ok();
}

Result<WasmCloudEntity> get_entity(const msgpack::object& o, std::string_view field) {
  WasmCloudEntity e;
  std::vector<std::string_view> fields;
  auto st = for_each_field(o, field, [&](std::string_view key, const msgpack::object& v) -> Status {
    std::string* dst = nullptr;
    if (key == "public_key") {
      dst = &e.public_key;
    } else if (key == "contract_id") {
      dst = &e.contract_id;
    } else if (key == "link_name") {
      dst = &e.link_name;
    } else {
      return wc::ok();
    }
    if (auto s = seen(fields, key); !s) return s;
    auto str = get_string(v, key);
    if (!str) return wc::fail(str.error());
    *dst = std::move(*str);
    return wc::ok();
  });
  if (!st) return wc::fail(st.error());
  for (std::string_view required : {"public_key", "contract_id", "link_name"}) {
    if (std::find(fields.begin(), fields.end(), required) == fields.end()) {
      return wc::fail(Code::kInvalidArgument,
                      std::string(field) + ": missing field `" + std::string(required) + "`");
    }
  }
  return e;
}

/// Unpacks one msgpack object from untrusted bytes with limits proportional to the input (each
/// element needs at least one byte, so no allocation can exceed a small multiple of the input).
Result<msgpack::object_handle> unpack(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return wc::fail(Code::kInvalidArgument, "empty input");
  try {
    const std::size_t n = bytes.size();
    msgpack::unpack_limit limit(n, n, n, n, n, 64);
    std::size_t offset = 0;
    return msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), n, offset, nullptr, nullptr,
                           limit);
  } catch (const std::exception& e) {
    return wc::fail(Code::kInvalidArgument, std::string("msgpack: ") + e.what());
  } catch (...) {
    return wc::fail(Code::kInvalidArgument, "msgpack: unknown error");
  }
}

Result<Invocation> decode_invocation_impl(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes);
  if (!handle) return wc::fail(handle.error());
  const msgpack::object& root = handle->get();
  Invocation inv;
  std::vector<std::string_view> fields;
  auto st = for_each_field(root, "invocation",
                           [&](std::string_view key, const msgpack::object& v) -> Status {
                             auto string_field = [&](std::string& dst) -> Status {
                               if (auto s = seen(fields, key); !s) return s;
                               auto str = get_string(v, key);
                               if (!str) return wc::fail(str.error());
                               dst = std::move(*str);
                               return wc::ok();
                             };
                             if (key == "origin" || key == "target") {
                               if (auto s = seen(fields, key); !s) return s;
                               auto e = get_entity(v, key);
                               if (!e) return wc::fail(e.error());
                               (key == "origin" ? inv.origin : inv.target) = std::move(*e);
                             } else if (key == "operation") {
                               return string_field(inv.operation);
                             } else if (key == "msg") {
                               if (auto s = seen(fields, key); !s) return s;
                               auto b = get_bytes(v, key);
                               if (!b) return wc::fail(b.error());
                               inv.msg = std::move(*b);
                             } else if (key == "id") {
                               return string_field(inv.id);
                             } else if (key == "encoded_claims") {
                               return string_field(inv.encoded_claims);
                             } else if (key == "host_id") {
                               return string_field(inv.host_id);
                             } else if (key == "content_length") {
                               if (auto s = seen(fields, key); !s) return s;
                               auto u = get_uint(v, key);
                               if (!u) return wc::fail(u.error());
                               inv.content_length = *u;
                             }
                             return wc::ok();
                           });
  if (!st) return wc::fail(st.error());
  for (std::string_view required :
       {"origin", "target", "operation", "msg", "id", "encoded_claims", "host_id"}) {
    if (std::find(fields.begin(), fields.end(), required) == fields.end()) {
      return wc::fail(Code::kInvalidArgument, "missing field `" + std::string(required) + "`");
    }
  }
  return inv;
}

Result<InvocationResponse> decode_response_impl(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes);
  if (!handle) return wc::fail(handle.error());
  const msgpack::object& root = handle->get();
  InvocationResponse resp;
  std::vector<std::string_view> fields;
  auto st = for_each_field(root, "invocation response",
                           [&](std::string_view key, const msgpack::object& v) -> Status {
                             auto opt_string = [&](std::optional<std::string>& dst) -> Status {
                               if (auto s = seen(fields, key); !s) return s;
                               auto str = get_string(v, key);
                               if (!str) return wc::fail(str.error());
                               dst = std::move(*str);
                               return wc::ok();
                             };
                             if (key == "msg") {
                               if (auto s = seen(fields, key); !s) return s;
                               auto b = get_bytes(v, key);
                               if (!b) return wc::fail(b.error());
                               resp.msg = std::move(*b);
                             } else if (key == "invocation_id") {
                               return opt_string(resp.invocation_id);
                             } else if (key == "error") {
                               return opt_string(resp.error);
                             } else if (key == "instance_id") {
                               return opt_string(resp.instance_id);
                             } else if (key == "content_length") {
                               if (auto s = seen(fields, key); !s) return s;
                               auto u = get_uint(v, key);
                               if (!u) return wc::fail(u.error());
                               resp.content_length = *u;
                             }
                             return wc::ok();
                           });
  if (!st) return wc::fail(st.error());
  return resp;
}

}  // namespace

std::string WasmCloudEntity::url() const {
  std::string upper_first = public_key.empty() ? std::string() : public_key.substr(0, 1);
  if (!upper_first.empty() && std::toupper(static_cast<unsigned char>(upper_first[0])) == 'M') {
    return "wasmbus://" + public_key;
  }
  std::string contract = contract_id;
  for (char& c : contract) {
    if (c == ':') c = '/';
    if (c == ' ') c = '_';
  }
  std::string link = link_name;
  for (char& c : link) {
    if (c == ' ') c = '_';
  }
  return "wasmbus://" + lower(contract) + "/" + lower(link) + "/" + public_key;
}

std::string target_url(const WasmCloudEntity& target, std::string_view operation) {
  return target.url() + "/" + std::string(operation);
}

std::string invocation_hash(std::string_view origin_url, std::string_view target_url_text,
                            std::string_view operation, std::span<const std::uint8_t> msg) {
  Bytes all;
  all.reserve(origin_url.size() + target_url_text.size() + operation.size() + msg.size());
  for (std::string_view s : {origin_url, target_url_text, operation}) {
    all.insert(all.end(), s.begin(), s.end());
  }
  all.insert(all.end(), msg.begin(), msg.end());
  return hex_upper(sha256(all));
}

Bytes encode_invocation(const Invocation& inv, EntityOrder order) {
  msgpack::sbuffer buf(256 + inv.msg.size() + inv.encoded_claims.size());
  Packer pk(buf);
  pk.pack_map(inv.content_length ? 8 : 7);
  pack_string(pk, "origin");
  pack_entity(pk, inv.origin, order);
  pack_string(pk, "target");
  pack_entity(pk, inv.target, order);
  pack_string(pk, "operation");
  pack_string(pk, inv.operation);
  pack_string(pk, "msg");
  pack_bin(pk, inv.msg);
  pack_string(pk, "id");
  pack_string(pk, inv.id);
  pack_string(pk, "encoded_claims");
  pack_string(pk, inv.encoded_claims);
  pack_string(pk, "host_id");
  pack_string(pk, inv.host_id);
  if (inv.content_length) {
    pack_string(pk, "content_length");
    pk.pack(*inv.content_length);
  }
  return to_bytes(buf);
}

Result<Invocation> decode_invocation(std::span<const std::uint8_t> bytes) {
  auto r = decode_invocation_impl(bytes);
  if (!r) {
    spdlog::debug("invocation decoding failed: {}", r.error().message);
    return wc::fail(Code::kInvalidArgument, std::string(errors::kDeserializeInvocation));
  }
  return r;
}

InvocationResponse success_response(std::string invocation_id, std::string instance_id,
                                    Bytes result) {
  InvocationResponse r;
  r.content_length = result.size();
  r.msg = std::move(result);
  r.invocation_id = std::move(invocation_id);
  r.instance_id = std::move(instance_id);
  return r;
}

InvocationResponse failure_response(std::string invocation_id, std::string instance_id,
                                    std::string error, bool with_content_length) {
  InvocationResponse r;
  r.invocation_id = std::move(invocation_id);
  r.instance_id = std::move(instance_id);
  r.error = std::move(error);
  if (with_content_length) r.content_length = 0;
  return r;
}

InvocationResponse not_running_response(std::string_view actor_key) {
  InvocationResponse r;
  r.error = std::string(errors::kNotRunningPrefix) + std::string(actor_key) +
            std::string(errors::kNotRunningSuffix);
  return r;
}

Bytes encode_response(const InvocationResponse& resp, ResponseStyle style) {
  msgpack::sbuffer buf(128 + resp.msg.size());
  Packer pk(buf);
  std::uint32_t n = 1 + (resp.invocation_id ? 1 : 0) + (resp.error ? 1 : 0) +
                    (resp.content_length ? 1 : 0) + (resp.instance_id ? 1 : 0);
  pk.pack_map(n);
  auto msg = [&] {
    pack_string(pk, "msg");
    if (style == ResponseStyle::kHostReference) {
      pack_bytes_as_str(pk, resp.msg);
    } else {
      pack_bin(pk, resp.msg);
    }
  };
  auto opt = [&](std::string_view key, const std::optional<std::string>& v) {
    if (!v) return;
    pack_string(pk, key);
    pack_string(pk, *v);
  };
  auto len = [&] {
    if (!resp.content_length) return;
    pack_string(pk, "content_length");
    pk.pack(*resp.content_length);
  };
  if (style == ResponseStyle::kSdk) {
    msg();
    opt("invocation_id", resp.invocation_id);
    opt("error", resp.error);
    len();
    opt("instance_id", resp.instance_id);
  } else {
    len();
    opt("error", resp.error);
    opt("instance_id", resp.instance_id);
    opt("invocation_id", resp.invocation_id);
    msg();
  }
  return to_bytes(buf);
}

Result<InvocationResponse> decode_response(std::span<const std::uint8_t> bytes) {
  auto r = decode_response_impl(bytes);
  if (!r) {
    spdlog::debug("invocation response decoding failed: {}", r.error().message);
    return wc::fail(Code::kInvalidArgument, std::string(errors::kDeserializeResponse));
  }
  return r;
}

}  // namespace wc::rpc
