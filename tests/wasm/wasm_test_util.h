// Shared helpers for the actor-runtime tests (tests/wasm/*, also the native tier's tests):
// fixture loading, the spec's test vectors (spec/actor-rpc-providers.md 10.2 / 10.3), an
// HttpRequest encoder, an HttpResponse decoder, in-process WAT assembly and a WAT template of a
// minimal wasmbus guest. Header-only except wat_to_wasm (wat.cpp, C++17, target wc_wasm_testutil).
#pragma once

#include <gtest/gtest.h>
#include <msgpack.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "wasm/engine.h"
#include "wat.h"

namespace wc::wasm::testing {

/// Reads a fixture actor from WC_FIXTURES_DIR (e.g. "echo.wasm"); adds a test failure and
/// returns empty bytes when it is missing.
inline Bytes fixture(const std::string& name) {
  auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/" + name);
  if (!bytes) {
    ADD_FAILURE() << "fixture " << name << ": " << bytes.error().message;
    return {};
  }
  return *bytes;
}

/// All fixture actors of shared/fixtures/actors.
inline const std::vector<std::string>& fixture_names() {
  static const std::vector<std::string> names = {"echo.wasm", "echo_unpriv_s.wasm",
                                                 "kvcounter.wasm", "kvcounter_unpriv_s.wasm",
                                                 "randogenlogger_s.wasm"};
  return names;
}

/// Parses hex digits, ignoring whitespace.
inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  int hi = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

/// Spec 10.2 A.1: HttpRequest {GET, "/foo/bar", "x=1", {"accept":["*/*"]}, bin "hello"}, 74 bytes.
inline Bytes vector_a_request() {
  return from_hex(
      "85 a6 6d 65 74 68 6f 64 a3 47 45 54 a4 70 61 74 68 a8 2f 66 6f 6f 2f 62 61 72 ab 71 75 65 "
      "72 79 53 74 72 69 6e 67 a3 78 3d 31 a6 68 65 61 64 65 72 81 a6 61 63 63 65 70 74 91 a3 2a "
      "2f 2a a4 62 6f 64 79 c4 05 68 65 6c 6c 6f");
}

/// Spec 10.3 B.1: the echo actor's HttpResponse for vector A, exactly 113 bytes.
inline Bytes vector_b_response() {
  return from_hex(
      "83 aa 73 74 61 74 75 73 43 6f 64 65 cc c8 a6 68 65 61 64 65 72 80 a4 62 6f 64 79 c4 54 7b "
      "22 62 6f 64 79 22 3a 5b 31 30 34 2c 31 30 31 2c 31 30 38 2c 31 30 38 2c 31 31 31 5d 2c 22 "
      "6d 65 74 68 6f 64 22 3a 22 47 45 54 22 2c 22 70 61 74 68 22 3a 22 2f 66 6f 6f 2f 62 61 72 "
      "22 2c 22 71 75 65 72 79 5f 73 74 72 69 6e 67 22 3a 22 78 3d 31 22 7d");
}

/// Encodes an HttpRequest (spec 7.2) with an empty header map.
inline Bytes http_request(const std::string& method, const std::string& path,
                          const std::string& query, std::string_view body) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(5);
  pk.pack(std::string("method"));
  pk.pack(method);
  pk.pack(std::string("path"));
  pk.pack(path);
  pk.pack(std::string("queryString"));
  pk.pack(query);
  pk.pack(std::string("header"));
  pk.pack_map(0);
  pk.pack(std::string("body"));
  pk.pack_bin(static_cast<std::uint32_t>(body.size()));
  pk.pack_bin_body(body.data(), static_cast<std::uint32_t>(body.size()));
  return Bytes(buf.data(), buf.data() + buf.size());
}

/// The fields of a decoded HttpResponse (spec 7.2).
struct HttpResponse {
  bool decoded = false;
  int status = 0;
  std::string body;
};

/// Decodes an HttpResponse map (body as bin or str). decoded=false on malformed input.
inline HttpResponse decode_http_response(const Bytes& bytes) {
  HttpResponse out;
  try {
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const auto& obj = handle.get();
    if (obj.type != msgpack::type::MAP) return out;
    for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
      const auto& kv = obj.via.map.ptr[i];
      const auto key = kv.key.as<std::string>();
      if (key == "statusCode") out.status = kv.val.as<int>();
      if (key == "body") {
        if (kv.val.type == msgpack::type::BIN)
          out.body.assign(kv.val.via.bin.ptr, kv.val.via.bin.size);
        else
          out.body = kv.val.as<std::string>();
      }
    }
    out.decoded = true;
  } catch (const std::exception&) {
    out.decoded = false;
  }
  return out;
}

/// Assembles WAT text; adds a test failure (with wabt's diagnostics) and returns empty bytes on
/// error.
inline Bytes wat(const std::string& text, bool validate = true) {
  std::string error;
  auto bytes = wat_to_wasm(text, &error, validate);
  if (bytes.empty()) ADD_FAILURE() << "wat_to_wasm failed:\n" << error;
  return bytes;
}

/// A minimal wasmbus guest: imports `$req`, `$resp`, `$err` (wasmbus guest functions) and
/// `$host_call`, `$hr_len`, `$hr`, `$he_len`, `$he` (host functions), exports a 1-page `memory`
/// (max `max_pages` when > 0) and `__guest_call(op_len, payload_len) -> i32` whose body is
/// `body` (locals $op_len and $pl_len are the parameters). `extra` is spliced into the module
/// (helper functions, tables, data). `module` names the import module ("wasmbus" or "wapc").
inline std::string abi_guest(const std::string& body, const std::string& extra = "",
                             const std::string& module = "wasmbus", int max_pages = 0) {
  const std::string m = "\"" + module + "\"";
  std::string mem = "(memory (export \"memory\") 1" +
                    (max_pages > 0 ? " " + std::to_string(max_pages) : std::string()) + ")";
  return "(module\n"
         "  (import " +
         m +
         " \"__guest_request\" (func $req (param i32 i32)))\n"
         "  (import " +
         m +
         " \"__guest_response\" (func $resp (param i32 i32)))\n"
         "  (import " +
         m +
         " \"__guest_error\" (func $err (param i32 i32)))\n"
         "  (import " +
         m +
         " \"__host_call\" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result "
         "i32)))\n"
         "  (import " +
         m +
         " \"__host_response_len\" (func $hr_len (result i32)))\n"
         "  (import " +
         m +
         " \"__host_response\" (func $hr (param i32)))\n"
         "  (import " +
         m +
         " \"__host_error_len\" (func $he_len (result i32)))\n"
         "  (import " +
         m +
         " \"__host_error\" (func $he (param i32)))\n"
         "  " +
         mem + "\n" + extra +
         "\n  (func (export \"__guest_call\") (param $op_len i32) (param $pl_len i32) (result "
         "i32)\n"
         "    " +
         body + ")\n)\n";
}

/// An echo guest body for abi_guest(): reads the request at 1024 and answers the payload.
inline std::string echo_body() {
  return "(call $req (i32.const 1024) (i32.add (i32.const 1024) (local.get $op_len)))"
         " (call $resp (i32.add (i32.const 1024) (local.get $op_len)) (local.get $pl_len))"
         " (i32.const 1)";
}

/// Creates an interpreter-only engine (or a native-enabled one) with `limits`.
inline std::shared_ptr<Engine> make_engine(Limits limits = {}, bool native = false,
                                           bool reuse = false) {
  EngineConfig config;
  config.limits = limits;
  config.enable_native = native;
  config.reuse_instances = reuse;
  auto engine = Engine::create(config);
  if (!engine) {
    ADD_FAILURE() << engine.error().to_string();
    return nullptr;
  }
  return *engine;
}

/// A host-call handler that fails every call (for guests that must not call out).
inline HostCallHandler no_host_calls() {
  return [](const HostCall& call) -> Result<Bytes> {
    return fail(Code::kUnavailable, "unexpected host call " + std::string(call.operation));
  };
}

}  // namespace wc::wasm::testing
