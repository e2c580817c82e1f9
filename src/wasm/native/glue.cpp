// glue.c generation from a wasm2c header, and the CALL_INDIRECT patch. See glue.h for the input
// format read and the output written.
#include "wasm/native/glue.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "wasm/native/glue_abi.h"

extern "C" const char wc_glue_abi_text[];

namespace wc::wasm::native {
namespace {

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string_view::npos;
       nl = text.find('\n', start)) {
    lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  lines.emplace_back(text.substr(start));
  return lines;
}

// A C string literal of `s`: letters, digits and `_.-: ` as is, every other byte octal-escaped.
std::string c_string_literal(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == ':' || c == ' ') {
      out.push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\%03o", c);
      out += b;
    }
  }
  return out + "\"";
}

// "u32" -> 'i', "u64" -> 'I', "f32" -> 'f', "f64" -> 'F'; 0 when not a scalar type.
char letter_of(std::string_view t) {
  if (t == "u32") return 'i';
  if (t == "u64") return 'I';
  if (t == "f32") return 'f';
  if (t == "f64") return 'F';
  return 0;
}

// A function declaration: "RET NAME(P1, P2);" with the parameter names, if any, dropped.
struct Decl {
  std::string ret;
  std::string name;
  std::vector<std::string> params;
};

bool parse_decl(std::string_view line, Decl* d) {
  const std::string l = trim(line);
  const auto open = l.find('(');
  const auto close = l.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  const std::string head = trim(std::string_view(l).substr(0, open));
  const auto sp = head.find_last_of(" *");
  if (sp == std::string::npos) return false;
  d->name = head.substr(sp + 1);
  d->ret = trim(std::string_view(head).substr(0, sp + 1));
  d->params.clear();
  std::string cur;
  for (char c : std::string_view(l).substr(open + 1, close - open - 1)) {
    if (c == ',') {
      d->params.push_back(trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!trim(cur).empty()) d->params.push_back(trim(cur));
  return !d->name.empty();
}

// The quoted names of "/* import: 'a' 'b' */" (two) or "/* export: 'a' */" (one).
std::vector<std::string> quoted_names(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    const auto a = line.find('\'', i);
    if (a == std::string_view::npos) break;
    const auto b = line.find('\'', a + 1);
    if (b == std::string_view::npos) break;
    out.emplace_back(line.substr(a + 1, b - a - 1));
    i = b + 1;
  }
  return out;
}

Error unsupported(const std::string& what) { return {Code::kUnsupported, "native tier: " + what}; }

// An import context field of the instance struct: `struct Z_env_instance_t* Z_env_instance;`.
struct ImportField {
  std::string type;  // "struct Z_env_instance_t"
  std::string field;
};

// One function import: its module and name, and its declaration.
struct Import {
  std::string module, field;
  Decl decl;
};

// What generate_glue reads from the header.
struct Header {
  std::vector<ImportField> import_fields;
  std::vector<std::string> memories, funcref_tables, externref_tables;
  Decl instantiate;
  std::vector<Import> imports;
  std::map<std::string, Decl> exports;
};

// Reads the lines glue.h lists; kUnsupported for what the tier cannot run.
Result<Header> parse_header(std::string_view text, std::string_view prefix) {
  const std::string struct_open = "typedef struct Z_" + std::string(prefix) + "_instance_t {";
  const std::string instantiate_start = "void Z_" + std::string(prefix) + "_instantiate(";
  const std::vector<std::string> lines = split_lines(text);
  Header h;
  bool in_struct = false, saw_struct = false;
  std::string instantiate_line;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string l = trim(lines[i]);
    if (l == struct_open) {
      in_struct = saw_struct = true;
      continue;
    }
    if (in_struct) {
      if (l.starts_with("}")) {
        in_struct = false;
        continue;
      }
      if (l.empty()) continue;
      std::string decl = l;
      if (decl.back() != ';') return fail(unsupported("unexpected instance field `" + l + "`"));
      decl.pop_back();
      const auto sp = decl.find_last_of(" *");
      if (sp == std::string::npos)
        return fail(unsupported("unexpected instance field `" + l + "`"));
      const std::string type = trim(std::string_view(decl).substr(0, sp + 1));
      const std::string name = decl.substr(sp + 1);
      if (type.starts_with("struct Z_") && type.back() == '*') {
        h.import_fields.push_back({trim(std::string_view(type).substr(0, type.size() - 1)), name});
      } else if (type == "wasm_rt_memory_t") {
        h.memories.push_back(name);
      } else if (type == "wasm_rt_funcref_table_t") {
        h.funcref_tables.push_back(name);
      } else if (type == "wasm_rt_externref_table_t") {
        h.externref_tables.push_back(name);
      } else if (letter_of(type) == 0) {
        return fail(unsupported("imported memory, table or global (`" + l + "`)"));
      }
      continue;
    }
    if (l.starts_with(instantiate_start)) {
      instantiate_line = l;
      continue;
    }
    if (l.starts_with("/* import: ") && i + 1 < lines.size()) {
      auto q = quoted_names(l);
      Decl d;
      if (q.size() != 2 || !parse_decl(lines[i + 1], &d) || d.params.empty())
        return fail(unsupported("non-function import `" + l + "`"));
      h.imports.push_back({q[0], q[1], d});
      ++i;
      continue;
    }
    if (l.starts_with("/* export: ") && i + 1 < lines.size()) {
      auto q = quoted_names(l);
      Decl d;
      if (q.size() == 1 && parse_decl(lines[i + 1], &d)) h.exports[q[0]] = d;
      ++i;
      continue;
    }
  }
  if (!saw_struct) return fail(unsupported("instance struct not found in wasm2c header"));
  if (h.memories.size() != 1) return fail(unsupported("module must define exactly one memory"));
  if (!parse_decl(instantiate_line, &h.instantiate))
    return fail(unsupported("instantiate declaration not found in wasm2c header"));
  return h;
}

// The instance field holding the import context of type `param` ("struct Z_x_instance_t*",
// the pointer and anything after it ignored); the last match, "" when there is none.
std::string context_field(const std::vector<ImportField>& fields, std::string_view param) {
  const std::string type = trim(param.substr(0, param.find('*')));
  std::string field;
  for (const auto& f : fields)
    if (f.type == type) field = f.field;
  return field;
}

// The fixed part of glue.c: includes, the ABI text and the wasm_rt_* forwarders.
void write_prologue(std::ostringstream& g, std::string_view header_file,
                    const std::string& inst_t) {
  g << "/* Generated by wasmcloud-cpp (src/wasm/native/compiler.cpp). Do not edit. */\n"
    << "#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n"
    << "#include \"" << header_file << "\"\n"
    << "#if WASM_RT_USE_STACK_DEPTH_COUNT\n"
    << "#error \"the wasmcloud-cpp native runtime needs the guest stack's guard page\"\n"
    << "#endif\n"
    << "#define WC_TRAP_HOST " << WC_TRAP_HOST << "\n"
    << wc_glue_abi_text << "\n"
    << "static const wc_rt_api* rt;\n"
    << "typedef " << inst_t << " I;\n"
    << "void wasm_rt_trap(wasm_rt_trap_t c) { rt->trap((int32_t)c); __builtin_unreachable(); }\n"
    << "bool wasm_rt_is_initialized(void) { return true; }\n"
    << "void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t i, uint32_t x) "
       "{ rt->allocate_memory(m, i, x); }\n"
    << "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t d) "
       "{ return rt->grow_memory(m, d); }\n"
    << "void wasm_rt_free_memory(wasm_rt_memory_t* m) { rt->free_memory(m); }\n"
    << "void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t n, uint32_t x) "
       "{ rt->allocate_funcref_table(t, n, x); }\n"
    << "void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) "
       "{ rt->free_funcref_table(t); }\n"
    << "uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t d, "
       "wasm_rt_funcref_t v) { return rt->grow_funcref_table(t, d, v); }\n"
    << "void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t n, "
       "uint32_t x) { rt->allocate_externref_table(t, n, x); }\n"
    << "void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) "
       "{ rt->free_externref_table(t); }\n"
    << "uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t d, "
       "wasm_rt_externref_t v) { return rt->grow_externref_table(t, d, v); }\n"
    << "uint32_t wasm_rt_register_func_type(uint32_t p, uint32_t r, ...) {\n"
       "  wasm_rt_type_t t[p + r + 1]; va_list ap; va_start(ap, r);\n"
       "  for (uint32_t i = 0; i < p + r; ++i) t[i] = (wasm_rt_type_t)va_arg(ap, int);\n"
       "  va_end(ap); return rt->register_func_type(p, r, t);\n}\n";
}

// Import `index`'s trampoline into `g` and its descriptor line into `table`.
Status write_import(std::ostringstream& g, std::ostringstream& table, std::size_t index,
                    const Import& imp, const std::vector<ImportField>& fields) {
  const Decl& d = imp.decl;
  const std::string field = context_field(fields, d.params[0]);
  if (field.empty())
    return fail(unsupported("import context field for `" + imp.module + "` not found"));
  std::string params, results;
  for (std::size_t p = 1; p < d.params.size(); ++p) {
    const char c = letter_of(d.params[p]);
    if (c == 0) return fail(unsupported("import parameter type `" + d.params[p] + "`"));
    params.push_back(c);
  }
  if (d.ret != "void") {
    const char c = letter_of(d.ret);
    if (c == 0) return fail(unsupported("import result type `" + d.ret + "`"));
    results.push_back(c);
  }
  g << d.ret << ' ' << d.name << '(' << d.params[0] << " ctx";
  for (std::size_t p = 1; p < d.params.size(); ++p) g << ", " << d.params[p] << " a" << p;
  // Integers are converted in the initialiser; floats are copied by bit pattern below.
  g << ") {\n  uint64_t args[" << (params.size() + 1) << "] = {";
  for (std::size_t p = 1; p < d.params.size(); ++p) {
    const char c = params[p - 1];
    if (c == 'i' || c == 'I')
      g << "(uint64_t)a" << p << ", ";
    else
      g << "0, ";
  }
  g << "0};\n";
  for (std::size_t p = 1; p < d.params.size(); ++p) {
    const char c = params[p - 1];
    if (c == 'f')
      g << "  { uint32_t b; memcpy(&b, &a" << p << ", 4); args[" << p - 1 << "] = b; }\n";
    if (c == 'F') g << "  memcpy(&args[" << p - 1 << "], &a" << p << ", 8);\n";
  }
  g << "  uint64_t r = 0;\n"
    << "  void* inst = (char*)ctx - offsetof(I, " << field << ");\n"
    << "  if (rt->call_import(inst, " << index << "u, args, " << params.size()
    << "u, &r)) rt->trap(WC_TRAP_HOST);\n";
  if (d.ret == "u32") g << "  return (u32)r;\n";
  if (d.ret == "u64") g << "  return (u64)r;\n";
  if (d.ret == "f32") g << "  { uint32_t b = (uint32_t)r; f32 v; memcpy(&v, &b, 4); return v; }\n";
  if (d.ret == "f64") g << "  { f64 v; memcpy(&v, &r, 8); return v; }\n";
  if (d.ret == "void") g << "  (void)r;\n";
  g << "}\n";
  table << "  {" << c_string_literal(imp.module) << ", " << c_string_literal(imp.field) << ", "
        << c_string_literal(params) << ", " << c_string_literal(results) << "},\n";
  return ok();
}

// `static const size_t <name>[] = {offsetof(I, f), ...};`, nothing for no fields.
void write_offsets(std::ostringstream& g, const char* name,
                   const std::vector<std::string>& fields) {
  if (fields.empty()) return;
  g << "static const size_t " << name << "[] = {";
  for (const auto& f : fields) g << "offsetof(I, " << f << "), ";
  g << "};\n";
}

// The export `name` when it returns `ret` and takes the instance plus `nparams` u32s.
const Decl* export_fn(const Header& h, const std::string& name, const std::string& ret,
                      std::size_t nparams) {
  auto it = h.exports.find(name);
  if (it == h.exports.end()) return nullptr;
  const Decl& d = it->second;
  if (d.ret != ret || d.params.size() != nparams + 1) return nullptr;
  for (std::size_t p = 1; p < d.params.size(); ++p)
    if (d.params[p] != "u32") return nullptr;
  return &d;
}

}  // namespace

Result<std::string> generate_glue(std::string_view header, std::string_view header_file,
                                  std::string_view prefix) {
  auto parsed = parse_header(header, prefix);
  if (!parsed) return fail(parsed.error());
  const Header& h = *parsed;

  std::ostringstream g;
  write_prologue(g, header_file, "Z_" + std::string(prefix) + "_instance_t");

  std::ostringstream table;
  for (std::size_t k = 0; k < h.imports.size(); ++k)
    if (auto st = write_import(g, table, k, h.imports[k], h.import_fields); !st)
      return fail(st.error());
  if (!h.imports.empty())
    g << "static const wc_import_desc imports[] = {\n" << table.str() << "};\n";

  write_offsets(g, "mem_offsets", h.memories);
  write_offsets(g, "funcref_offsets", h.funcref_tables);
  write_offsets(g, "externref_offsets", h.externref_tables);

  // instantiate / relocate: import context pointers point at their own field (so direct calls
  // and wasm2c 1.0.32's table entries for imported functions, which use the field's address,
  // both pass the same pointer).
  const Decl& inst = h.instantiate;
  g << "static void g_instantiate(void* p) {\n  I* inst = (I*)p;\n  " << inst.name << "(inst";
  for (std::size_t p = 1; p < inst.params.size(); ++p) {
    const std::string field = context_field(h.import_fields, inst.params[p]);
    if (field.empty()) return fail(unsupported("instantiate parameter `" + inst.params[p] + "`"));
    const std::string type =
        trim(std::string_view(inst.params[p]).substr(0, inst.params[p].find('*')));
    g << ", (" << type << "*)&inst->" << field;
  }
  g << ");\n}\n";
  g << "static void g_relocate(void* p) {\n  I* inst = (I*)p;\n  (void)inst;\n";
  for (const auto& f : h.import_fields)
    g << "  inst->" << f.field << " = (" << f.type << "*)&inst->" << f.field << ";\n";
  g << "}\n";

  const Decl* mem = nullptr;
  if (auto it = h.exports.find("memory");
      it != h.exports.end() && it->second.ret == "wasm_rt_memory_t*")
    mem = &it->second;
  const Decl* gc = export_fn(h, "__guest_call", "u32", 2);
  const Decl* st = export_fn(h, "_start", "void", 0);
  const Decl* in = export_fn(h, "_initialize", "void", 0);
  if (mem)
    g << "static wasm_rt_memory_t* g_memory(void* p) { return " << mem->name << "((I*)p); }\n";
  if (gc)
    g << "static void g_guest_call(void* p, uint32_t a, uint32_t b, uint32_t* r) { *r = "
      << gc->name << "((I*)p, a, b); }\n";
  if (st) g << "static void g_start(void* p) { " << st->name << "((I*)p); }\n";
  if (in) g << "static void g_initialize(void* p) { " << in->name << "((I*)p); }\n";

  g << "static const wc_module_desc desc = {\n"
    << "  " << WC_NATIVE_ABI_VERSION << ", sizeof(I),\n"
    << "  " << h.imports.size() << ", " << (h.imports.empty() ? "NULL" : "imports") << ",\n"
    << "  " << h.memories.size() << ", mem_offsets,\n"
    << "  " << h.funcref_tables.size() << ", "
    << (h.funcref_tables.empty() ? "NULL" : "funcref_offsets") << ",\n"
    << "  " << h.externref_tables.size() << ", "
    << (h.externref_tables.empty() ? "NULL" : "externref_offsets") << ",\n"
    << "  Z_" << prefix << "_init_module, g_instantiate, g_relocate,\n"
    << "  " << (mem ? "g_memory" : "NULL") << ", " << (gc ? "g_guest_call" : "NULL") << ", "
    << (st ? "g_start" : "NULL") << ", " << (in ? "g_initialize" : "NULL") << "\n};\n"
    << "__attribute__((visibility(\"default\"))) const wc_module_desc* wc_native_bind_v"
    << WC_NATIVE_ABI_VERSION << "(const wc_rt_api* api) { rt = api; return &desc; }\n";
  return g.str();
}

std::string patch_generated_c(std::string c) {
  const std::string start = "#define CALL_INDIRECT(table, t, ft, x, ...)";
  auto pos = c.find(start);
  if (pos == std::string::npos) return c;
  // End of the macro: the first line not ending with a backslash.
  std::size_t end = pos;
  while (true) {
    const auto nl = c.find('\n', end);
    if (nl == std::string::npos) return c;
    std::size_t last = nl;
    while (last > end && (c[last - 1] == ' ' || c[last - 1] == '\r')) --last;
    end = nl + 1;
    if (last == 0 || c[last - 1] != '\\') break;
  }
  const std::string mine =
      "#undef CALL_INDIRECT\n"
      "#define CALL_INDIRECT(table, t, ft, x, ...)                                  \\\n"
      "  ((LIKELY((x) < table.size) || (wasm_rt_trap((wasm_rt_trap_t)101), 0)),     \\\n"
      "   (LIKELY(table.data[x].func != 0) || (wasm_rt_trap((wasm_rt_trap_t)102), 0)), \\\n"
      "   (LIKELY(table.data[x].func_type == func_types[ft]) || TRAP(CALL_INDIRECT)), \\\n"
      "   ((t)table.data[x].func)(__VA_ARGS__))\n";
  c.insert(end, mine);
  return c;
}

}  // namespace wc::wasm::native
