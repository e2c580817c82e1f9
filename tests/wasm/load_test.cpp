// Engine::load refuses malformed, invalid and non-actor modules with a clear error, and never
// crashes on them (engine.h, spec 1.1 / 1.3).
#include "wasm_test_util.h"

namespace wc::wasm {
namespace {

using testing::abi_guest;
using testing::echo_body;
using testing::fixture;
using testing::from_hex;
using testing::make_engine;
using testing::no_host_calls;
using testing::wat;

constexpr std::string_view kHeader = "00 61 73 6d 01 00 00 00 ";

Error load_error(const Bytes& bytes, Limits limits = {}) {
  auto engine = make_engine(limits);
  auto module = engine->load(bytes);
  EXPECT_FALSE(module.has_value());
  return module ? Error{} : module.error();
}

TEST(Load, EmptyInputIsRefused) {
  auto e = load_error({});
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_TRUE(e.message.starts_with("invalid wasm module")) << e.message;
}

TEST(Load, BadMagicIsRefused) {
  auto e = load_error(from_hex("00 61 73 6e 01 00 00 00"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("magic"), std::string::npos) << e.message;
}

TEST(Load, TruncatedFixtureIsRefused) {
  auto echo = fixture("echo.wasm");
  ASSERT_GT(echo.size(), 5000u);
  for (std::size_t cut : {std::size_t{9}, std::size_t{1000}, echo.size() / 2, echo.size() - 1}) {
    auto e = load_error(Bytes(echo.begin(), echo.begin() + static_cast<std::ptrdiff_t>(cut)));
    EXPECT_EQ(e.code, Code::kInvalidArgument) << cut;
    EXPECT_TRUE(e.message.starts_with("invalid wasm module: ")) << e.message;
  }
}

TEST(Load, InvalidOpcodeIsRefused) {
  // type () -> (); one function whose body is the undefined opcode 0xff.
  auto e = load_error(
      from_hex(std::string(kHeader) + "01 04 01 60 00 00  03 02 01 00  0a 05 01 03 00 ff 0b"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("opcode"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("offset"), std::string::npos) << e.message;
}

TEST(Load, TooManyLocalsIsRefused) {
  // One function declaring 60000 i32 locals (limit 50000).
  auto e = load_error(from_hex(std::string(kHeader) +
                               "01 04 01 60 00 00  03 02 01 00  0a 08 01 06 01 e0 d4 03 7f 0b"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("too many locals"), std::string::npos) << e.message;
}

TEST(Load, ImpossiblyLargeLocalCountIsRefused) {
  // 2 x 0x7fffffff locals: refused by the decoder before anything is allocated.
  auto e = load_error(from_hex(std::string(kHeader) +
                               "01 04 01 60 00 00  03 02 01 00  "
                               "0a 10 01 0e 02 ff ff ff ff 07 7f ff ff ff ff 07 7e 0b"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_TRUE(e.message.starts_with("invalid wasm module")) << e.message;
}

TEST(Load, HugeDeclaredMemoryIsRefused) {
  // memory of 70000 pages: beyond the 4 GiB of wasm32.
  auto e = load_error(from_hex(std::string(kHeader) + "05 05 01 00 f0 a2 04"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_TRUE(e.message.starts_with("invalid wasm module")) << e.message;
}

TEST(Load, HugeTableIsRefused) {
  auto e = load_error(wat(R"((module (memory (export "memory") 1) (table 50000000 funcref)
    (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))))"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("table 0 declares 50000000 elements"), std::string::npos) << e.message;
}

TEST(Load, TableGrowPastTheLimitReturnsMinusOne) {
  auto engine = make_engine();
  auto module = engine->load(
      wat(abi_guest("(i32.store (i32.const 0) (table.grow $t (ref.null func) (i32.const 2000000)))"
                    "(i32.store (i32.const 4) (table.grow $t (ref.null func) (i32.const 10)))"
                    "(call $resp (i32.const 0) (i32.const 8)) (i32.const 1)",
                    "(table $t 1 funcref)")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, (Bytes{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0}));
}

TEST(Load, DeclaredMemoryOverTheCapIsRefused) {
  Limits limits;
  limits.max_memory_bytes = 16 * 65536;
  // The fixtures declare 17 initial pages.
  auto e = load_error(fixture("echo.wasm"), limits);
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("17 pages"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("memory cap"), std::string::npos) << e.message;
}

TEST(Load, ModuleWithoutMemoryExportIsRefused) {
  auto e = load_error(wat(R"((module (memory 1)
    (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))))"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_EQ(e.message, "module does not export a memory named `memory`");
}

TEST(Load, ModuleWithoutGuestCallIsRefused) {
  auto e = load_error(wat(R"((module (memory (export "memory") 1)
    (func (export "guest_call") (param i32 i32) (result i32) (i32.const 1))))"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_EQ(e.message, "module does not export the function `__guest_call`");
}

TEST(Load, GuestCallOfTheWrongTypeIsRefused) {
  auto e = load_error(wat(R"((module (memory (export "memory") 1)
    (func (export "__guest_call") (param i32) (result i32) (i32.const 1))))"));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("wrong type"), std::string::npos) << e.message;
}

TEST(Load, TypeErrorInAFunctionIsRefused) {
  auto e = load_error(wat(R"((module (memory (export "memory") 1)
    (func (export "__guest_call") (param i32 i32) (result i32) (i64.const 1))))",
                          /*validate=*/false));
  EXPECT_EQ(e.code, Code::kInvalidArgument);
  EXPECT_NE(e.message.find("type mismatch"), std::string::npos) << e.message;
}

TEST(Load, UnknownImportLoadsButEveryInvocationFailsWithTheLinkError) {
  auto engine = make_engine();
  auto module = engine->load(wat(R"((module
    (import "env" "foo" (func))
    (memory (export "memory") 1)
    (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))))"));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kTrap);
  EXPECT_EQ(out.error().message, "unknown import: `env::foo` has not been defined");
}

TEST(Load, ImportOfTheWrongSignatureFailsWithTheLinkError) {
  auto engine = make_engine();
  auto module = engine->load(wat(R"((module
    (import "wasmbus" "__guest_request" (func (param i32)))
    (memory (export "memory") 1)
    (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))))"));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, "incompatible import type for `wasmbus::__guest_request`");
}

TEST(Load, ImportedMemoryFailsWithTheLinkError) {
  auto engine = make_engine();
  auto module = engine->load(wat(R"((module
    (import "env" "memory" (memory 1))
    (export "memory" (memory 0))
    (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1))))"));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().message, "unknown import: `env::memory` has not been defined");
}

TEST(Load, WapcModuleNameIsProvided) {
  auto engine = make_engine();
  auto module = engine->load(wat(abi_guest(echo_body(), "", "wapc")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("Op.X", as_bytes("abc"), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(to_string(out->response), "abc");
}

TEST(Load, DataSegmentOutOfBoundsFailsAtInstantiation) {
  auto engine = make_engine();
  auto module = engine->load(wat(abi_guest(echo_body(), "(data (i32.const 65534) \"abcd\")")));
  ASSERT_TRUE(module.has_value()) << module.error().to_string();
  auto out = (*module)->invoke("x", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kTrap);
  EXPECT_EQ(out.error().message, "out of bounds memory access");
}

}  // namespace
}  // namespace wc::wasm
