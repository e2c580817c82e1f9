// The glue generator (src/wasm/native/glue.cpp): glue.c from a wasm2c header, what it refuses,
// and the CALL_INDIRECT patch. Headers are written in wasm2c 1.0.32's shape (see glue.h); one
// test reads the header wasm2c writes for a fixture actor.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "native_test_util.h"
#include "wasm/native/glue.h"

namespace wc::wasm {
namespace {

namespace fs = std::filesystem;

/// A module with two import modules (env: f32,f64,u64,u32 -> f64; wasi: u64 -> u64), a memory,
/// a funcref table and the exports the runtime looks for.
const char* kHeader =
    "struct Z_env_instance_t;\n"
    "typedef struct Z_m_instance_t {\n"
    "  struct Z_env_instance_t* Z_env_instance;\n"
    "  struct Z_wasi_instance_t* Z_wasi_instance;\n"
    "  wasm_rt_memory_t w2c_memory;\n"
    "  wasm_rt_funcref_table_t w2c_T0;\n"
    "  u32 w2c_g0;\n"
    "} Z_m_instance_t;\n"
    "void Z_m_init_module(void);\n"
    "void Z_m_instantiate(Z_m_instance_t*, struct Z_env_instance_t*, struct "
    "Z_wasi_instance_t*);\n"
    "/* import: 'env' 'f' */\n"
    "f64 Z_envZ_f(struct Z_env_instance_t*, f32, f64, u64, u32);\n"
    "/* import: 'wasi' 'h' */\n"
    "u64 Z_wasiZ_h(struct Z_wasi_instance_t*, u64);\n"
    "/* export: 'memory' */\n"
    "wasm_rt_memory_t* Z_mZ_memory(Z_m_instance_t* instance);\n"
    "/* export: '__guest_call' */\n"
    "u32 Z_mZ___guest_call(Z_m_instance_t*, u32, u32);\n"
    "/* export: '_start' */\n"
    "void Z_mZ__start(Z_m_instance_t*);\n";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(NativeGlue, DescribesImportsTablesAndExports) {
  auto glue = native::generate_glue(kHeader, "m.h", "m");
  ASSERT_TRUE(glue.has_value()) << glue.error().message;
  const std::string& g = *glue;
  EXPECT_TRUE(has(g, "#include \"m.h\"\n"));
  EXPECT_TRUE(has(g, "typedef Z_m_instance_t I;\n"));
  // Descriptors in header order; parameter letters i/I/f/F, result letters.
  EXPECT_TRUE(has(g,
                  "static const wc_import_desc imports[] = {\n"
                  "  {\"env\", \"f\", \"fFIi\", \"F\"},\n"
                  "  {\"wasi\", \"h\", \"I\", \"I\"},\n"
                  "};\n"));
  // The trampoline: integers converted in place, floats copied by bit pattern, import index 0.
  EXPECT_TRUE(has(g,
                  "f64 Z_envZ_f(struct Z_env_instance_t* ctx, f32 a1, f64 a2, u64 a3, u32 a4) {\n"
                  "  uint64_t args[5] = {0, 0, (uint64_t)a3, (uint64_t)a4, 0};\n"
                  "  { uint32_t b; memcpy(&b, &a1, 4); args[0] = b; }\n"
                  "  memcpy(&args[1], &a2, 8);\n"));
  EXPECT_TRUE(has(g,
                  "void* inst = (char*)ctx - offsetof(I, Z_env_instance);\n"
                  "  if (rt->call_import(inst, 0u, args, 4u, &r)) rt->trap(WC_TRAP_HOST);\n"
                  "  { f64 v; memcpy(&v, &r, 8); return v; }\n"));
  EXPECT_TRUE(has(g, "rt->call_import(inst, 1u, args, 1u, &r)"));
  EXPECT_TRUE(has(g, "static const size_t mem_offsets[] = {offsetof(I, w2c_memory), };\n"));
  EXPECT_TRUE(has(g, "static const size_t funcref_offsets[] = {offsetof(I, w2c_T0), };\n"));
  EXPECT_FALSE(has(g, "externref_offsets[]"));
  EXPECT_TRUE(has(g,
                  "  Z_m_instantiate(inst, (struct Z_env_instance_t*)&inst->Z_env_instance, "
                  "(struct Z_wasi_instance_t*)&inst->Z_wasi_instance);\n"));
  EXPECT_TRUE(
      has(g, "  inst->Z_wasi_instance = (struct Z_wasi_instance_t*)&inst->Z_wasi_instance;\n"));
  EXPECT_TRUE(has(g,
                  "  1, sizeof(I),\n  2, imports,\n  1, mem_offsets,\n  1, funcref_offsets,\n"
                  "  0, NULL,\n  Z_m_init_module, g_instantiate, g_relocate,\n"
                  "  g_memory, g_guest_call, g_start, NULL\n};\n"));
  EXPECT_TRUE(has(g, "const wc_module_desc* wc_native_bind_v1(const wc_rt_api* api)"));
}

TEST(NativeGlue, IgnoresExportsOfAnotherShape) {
  std::string h = kHeader;
  // __guest_call with a u64 parameter is not the wasmbus entry point.
  h.replace(h.find("u32 Z_mZ___guest_call(Z_m_instance_t*, u32, u32);"),
            std::string("u32 Z_mZ___guest_call(Z_m_instance_t*, u32, u32);").size(),
            "u32 Z_mZ___guest_call(Z_m_instance_t*, u64, u32);");
  auto glue = native::generate_glue(h, "m.h", "m");
  ASSERT_TRUE(glue.has_value()) << glue.error().message;
  EXPECT_FALSE(has(*glue, "g_guest_call("));
  EXPECT_TRUE(has(*glue, "  g_memory, NULL, g_start, NULL\n};\n"));
}

TEST(NativeGlue, EscapesNamesInTheImportTable) {
  std::string h = kHeader;
  h.replace(h.find("/* import: 'wasi' 'h' */"), std::string("/* import: 'wasi' 'h' */").size(),
            "/* import: 'wasi' 'a\"b' */");
  auto glue = native::generate_glue(h, "m.h", "m");
  ASSERT_TRUE(glue.has_value()) << glue.error().message;
  EXPECT_TRUE(has(*glue, "  {\"wasi\", \"a\\042b\", \"I\", \"I\"},\n"));
}

/// `kHeader` with `from` replaced by `to`; glue generation must refuse it with kUnsupported
/// and a message containing `expected`.
void expect_refused(const std::string& from, const std::string& to, const std::string& expected) {
  std::string h = kHeader;
  const auto at = h.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  h.replace(at, from.size(), to);
  auto glue = native::generate_glue(h, "m.h", "m");
  ASSERT_FALSE(glue.has_value());
  EXPECT_EQ(glue.error().code, Code::kUnsupported);
  EXPECT_NE(glue.error().message.find(expected), std::string::npos) << glue.error().message;
}

TEST(NativeGlue, RejectsAnImportedMemory) {
  const std::string header =
      "typedef struct Z_m_instance_t {\n"
      "  struct Z_env_instance_t* Z_env_instance;\n"
      "  wasm_rt_memory_t* Z_envZ_memory;\n"
      "} Z_m_instance_t;\n"
      "void Z_m_instantiate(Z_m_instance_t*, struct Z_env_instance_t*);\n";
  auto glue = native::generate_glue(header, "m.h", "m");
  ASSERT_FALSE(glue.has_value());
  EXPECT_EQ(glue.error().code, Code::kUnsupported);
}

TEST(NativeGlue, RejectsAHeaderWithoutInstanceStruct) {
  auto glue = native::generate_glue("int x;\n", "m.h", "m");
  ASSERT_FALSE(glue.has_value());
  EXPECT_EQ(glue.error().code, Code::kUnsupported);
}

TEST(NativeGlue, RejectsTwoMemoriesOrNone) {
  expect_refused("  wasm_rt_memory_t w2c_memory;\n",
                 "  wasm_rt_memory_t w2c_memory;\n  wasm_rt_memory_t w2c_memory2;\n",
                 "exactly one memory");
  expect_refused("  wasm_rt_memory_t w2c_memory;\n", "", "exactly one memory");
}

TEST(NativeGlue, RejectsAMissingInstantiateDeclaration) {
  expect_refused("void Z_m_instantiate(", "void Z_other_instantiate(", "instantiate declaration");
}

TEST(NativeGlue, RejectsANonFunctionImport) {
  expect_refused("f64 Z_envZ_f(struct Z_env_instance_t*, f32, f64, u64, u32);",
                 "extern u32* Z_envZ_f;", "non-function import");
}

TEST(NativeGlue, RejectsAnImportOfAnotherType) {
  expect_refused("f32, f64, u64, u32);", "f32, f64, u64, wasm_rt_externref_t);",
                 "import parameter type `wasm_rt_externref_t`");
  expect_refused("f64 Z_envZ_f(", "wasm_rt_funcref_t Z_envZ_f(",
                 "import result type `wasm_rt_funcref_t`");
}

TEST(NativeGlue, RejectsAnImportWithoutItsContextField) {
  expect_refused("  struct Z_wasi_instance_t* Z_wasi_instance;\n", "",
                 "import context field for `wasi` not found");
}

TEST(NativeGlue, RejectsAnUnexpectedInstanceField) {
  expect_refused("  u32 w2c_g0;\n", "  u32 w2c_g0\n", "unexpected instance field");
}

TEST(NativeGlue, ReadsTheHeaderWasm2cWritesForAFixture) {
  if (!testing::native_toolchain_present())
    GTEST_SKIP() << "intentionally skipped: no C compiler / wasm2c";
  auto tc = native::detect_toolchain("");
  ASSERT_TRUE(tc.has_value());
  const std::string dir = testing::fresh_temp_dir("glue");
  const std::string cmd = tc->wasm2c + " -n wcecho " + std::string(WC_FIXTURES_DIR) +
                          "/echo.wasm -o " + dir + "/echo.c";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(dir + "/echo.h");
  std::stringstream header;
  header << in.rdbuf();
  auto glue = native::generate_glue(header.str(), "echo.h", "wcecho");
  fs::remove_all(dir);
  ASSERT_TRUE(glue.has_value()) << glue.error().message;
  EXPECT_TRUE(has(*glue, "  {\"wasmbus\", \"__guest_request\", \"ii\", \"\"},\n"));
  EXPECT_TRUE(has(*glue, "  g_memory, g_guest_call, "));
}

TEST(NativeGlue, PatchesCallIndirectOnce) {
  const std::string c =
      "#define CALL_INDIRECT(table, t, ft, x, ...)             \\\n"
      "  (LIKELY(x) || TRAP(CALL_INDIRECT),                     \\\n"
      "   ((t)table.data[x].func)(__VA_ARGS__))\n"
      "int after;\n";
  const std::string p = native::patch_generated_c(c);
  EXPECT_NE(p.find("#undef CALL_INDIRECT"), std::string::npos);
  EXPECT_NE(p.find("int after;"), std::string::npos);
  EXPECT_LT(p.find("#undef CALL_INDIRECT"), p.find("int after;"));
  EXPECT_EQ(native::patch_generated_c("no macro here"), "no macro here");
}

}  // namespace
}  // namespace wc::wasm
