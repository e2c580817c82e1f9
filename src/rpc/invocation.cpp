// msgpack codec of the RPC wire types (see invocation.h), on the rpc/msgpack.h toolkit (which
// catches msgpack-c's exceptions); decoding details only reach the debug log.
#include "rpc/invocation.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "rpc/errors.h"
#include "rpc/msgpack.h"

namespace wc::rpc {
namespace {

// --- URLs -------------------------------------------------------------------------------------

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- Encoding ---------------------------------------------------------------------------------

void write_entity(mp::Writer& w, const WasmCloudEntity& e, EntityOrder order) {
  w.map(3).str("public_key").str(e.public_key);
  if (order == EntityOrder::kHost) {
    w.str("contract_id").str(e.contract_id).str("link_name").str(e.link_name);
  } else {
    w.str("link_name").str(e.link_name).str("contract_id").str(e.contract_id);
  }
}

// --- Decoding ---------------------------------------------------------------------------------

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
  auto st =
      mp::for_each_member(o, field, [&](std::string_view key, const msgpack::object& v) -> Status {
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
        auto str = mp::as_string(v, key);
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

/// mp::parse with the detail texts of the debug log ("msgpack: <msgpack-c text>").
Result<msgpack::object_handle> unpack(std::span<const std::uint8_t> bytes) {
  auto handle = mp::parse(bytes);
  if (!handle && !bytes.empty()) {
    return wc::fail(Code::kInvalidArgument, "msgpack: " + handle.error().message);
  }
  return handle;
}

Result<Invocation> decode_invocation_impl(std::span<const std::uint8_t> bytes) {
  auto handle = unpack(bytes);
  if (!handle) return wc::fail(handle.error());
  const msgpack::object& root = handle->get();
  Invocation inv;
  std::vector<std::string_view> fields;
  auto st = mp::for_each_member(root, "invocation",
                                [&](std::string_view key, const msgpack::object& v) -> Status {
                                  auto string_field = [&](std::string& dst) -> Status {
                                    if (auto s = seen(fields, key); !s) return s;
                                    auto str = mp::as_string(v, key);
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
                                    auto b = mp::as_bytes(v, key);
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
                                    auto u = mp::as_uint(v, key);
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
  auto st = mp::for_each_member(root, "invocation response",
                                [&](std::string_view key, const msgpack::object& v) -> Status {
                                  auto opt_string = [&](std::optional<std::string>& dst) -> Status {
                                    if (auto s = seen(fields, key); !s) return s;
                                    auto str = mp::as_string(v, key);
                                    if (!str) return wc::fail(str.error());
                                    dst = std::move(*str);
                                    return wc::ok();
                                  };
                                  if (key == "msg") {
                                    if (auto s = seen(fields, key); !s) return s;
                                    auto b = mp::as_bytes(v, key);
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
                                    auto u = mp::as_uint(v, key);
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
  mp::Writer w(256 + inv.msg.size() + inv.encoded_claims.size());
  w.map(inv.content_length ? 8 : 7);
  w.str("origin");
  write_entity(w, inv.origin, order);
  w.str("target");
  write_entity(w, inv.target, order);
  w.str("operation").str(inv.operation);
  w.str("msg").bin(inv.msg);
  w.str("id").str(inv.id);
  w.str("encoded_claims").str(inv.encoded_claims);
  w.str("host_id").str(inv.host_id);
  if (inv.content_length) w.str("content_length").uint64(*inv.content_length);
  return w.bytes();
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
  mp::Writer w(128 + resp.msg.size());
  std::uint32_t n = 1 + (resp.invocation_id ? 1 : 0) + (resp.error ? 1 : 0) +
                    (resp.content_length ? 1 : 0) + (resp.instance_id ? 1 : 0);
  w.map(n);
  auto msg = [&] {
    w.str("msg");
    if (style == ResponseStyle::kHostReference) {
      w.str_bytes(resp.msg);
    } else {
      w.bin(resp.msg);
    }
  };
  auto opt = [&](std::string_view key, const std::optional<std::string>& v) {
    if (v) w.str(key).str(*v);
  };
  auto len = [&] {
    if (resp.content_length) w.str("content_length").uint64(*resp.content_length);
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
  return w.bytes();
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
