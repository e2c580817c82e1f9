// The glue between wasm2c's output and the native runtime: glue.c, generated from the header
// `wasm2c -n <prefix>` writes, and one patch to the generated C file. Owned by src/wasm/native
// (called by compiler.cpp's build_shared_object). Pure text functions; thread-safe.
//
// INPUT: the header of wabt 1.0.32's wasm2c (`module.h`), read line by line. Only these lines
// matter, every other line is ignored:
//   typedef struct Z_<prefix>_instance_t {        the instance struct; its fields, one a line:
//     struct Z_<mod>_instance_t* <field>;           an import context (one per imported module)
//     wasm_rt_memory_t <field>;                     a defined memory (exactly one is required)
//     wasm_rt_funcref_table_t <field>;              a defined funcref table
//     wasm_rt_externref_table_t <field>;            a defined externref table
//     u32|u64|f32|f64 <field>;                      a defined global
//   } Z_<prefix>_instance_t;                      (any line starting with `}` ends it)
//   void Z_<prefix>_instantiate(Z_<prefix>_instance_t*, struct Z_<mod>_instance_t*, ...);
//   /* import: '<module>' '<name>' */             followed by the import's declaration
//   RET Z_<mod>Z_<name>(struct Z_<mod>_instance_t*, T1, T2, ...);
//   /* export: '<name>' */                        followed by the export's declaration
//   RET Z_<prefix>Z_<name>(Z_<prefix>_instance_t*, T1, ...);
// with RET and T* among void (RET only), u32, u64, f32, f64 (exports may also return
// `wasm_rt_memory_t*`).
//
// OUTPUT (glue.c): `#include "<header_file>"`, the glue_abi.h text (wc_glue_abi_text), the
// `wasm_rt_*` functions forwarded through the `wc_rt_api` table `rt`, one trampoline per import
// (arguments packed into uint64_t slots, floats by bit pattern, calling rt->call_import with the
// import's index; a failed call traps WC_TRAP_HOST), the import descriptor table
// {module, name, parameter letters, result letters} (letters: i=u32, I=u64, f=f32, F=f64), the
// offsets of the memory and tables in the instance, g_instantiate / g_relocate (every import
// context pointer points at its own field), wrappers of the exports `memory`, `__guest_call`
// (u32, u32 -> u32), `_start` and `_initialize` when present with those types, and the
// `wc_module_desc` that `wc_native_bind_v<WC_NATIVE_ABI_VERSION>` hands the runtime.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace wc::wasm::native {

/// Generates glue.c (see the file comment) for the wasm2c header text `header`; `header_file` is
/// the name glue.c includes, `prefix` the `-n` name given to wasm2c. Errors: kUnsupported
/// ("native tier: ...") when the header has no instance struct or instantiate declaration, or
/// the module uses something the native tier does not provide (imported memory, table or
/// global, a non-function import, several or no memories, an import type other than
/// u32/u64/f32/f64) — the module then stays on the interpreter.
Result<std::string> generate_glue(std::string_view header, std::string_view header_file,
                                  std::string_view prefix);

/// Inserts, right after wasm2c's `#define CALL_INDIRECT(table, t, ft, x, ...)` macro, a
/// replacement that traps with WC_TRAP_UNDEF_ELEM (index past the end), WC_TRAP_UNINIT_ELEM
/// (null entry) or wasm2c's own indirect-call type mismatch. Unchanged if the macro is absent.
std::string patch_generated_c(std::string c_source);

}  // namespace wc::wasm::native
