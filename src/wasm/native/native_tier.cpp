// Tier 1: compiled modules and their instances. See native.h.
#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "wasm/native/compiler.h"
#include "wasm/native/glue_abi.h"
#include "wasm/native/guard.h"
#include "wasm/native/native.h"
#include "wasm/native/runtime.h"

namespace wc::wasm::native {
namespace {

std::atomic<std::uint64_t> g_compiles{0}, g_cache_hits{0}, g_failures{0}, g_last_compile_us{0};

// Host functions below an import need this much stack; a deeper guest gets "call stack
// exhausted" instead of a host crash.
constexpr std::uintptr_t kHostStackReserve = 256 * 1024;

// The dedicated guest stack (guard.h): Limits::max_call_depth frames of this many bytes (a
// typical wasm2c frame at -O2 is 32-200 bytes), plus the reserve for host functions.
constexpr std::size_t kBytesPerFrame = 256;
std::size_t guest_stack_bytes(const Limits& limits) {
  const std::size_t frames = std::max<std::size_t>(limits.max_call_depth, 1000);
  return std::min<std::size_t>(frames * kBytesPerFrame, std::size_t{256} << 20) + kHostStackReserve;
}

class NativeInstance;

// Every instance struct is preceded by this header (the glue passes the struct's address).
struct alignas(16) InstanceHeader {
  NativeInstance* owner;  // null for the load-time template
};
InstanceHeader* header_of(void* inst) {
  return reinterpret_cast<InstanceHeader*>(static_cast<char*>(inst) - sizeof(InstanceHeader));
}

// A dlopened shared object, shared by every CompiledTier built from the same file.
struct LoadedCode {
  void* handle = nullptr;
  const wc_module_desc* desc = nullptr;
  ~LoadedCode() {
    if (handle != nullptr) dlclose(handle);
  }
};

// Error for a trap code (tier.h texts).
Error trap_error(int code) {
  switch (code) {
    case WASM_RT_TRAP_OOB:
      return {Code::kTrap, std::string(kTrapOutOfBounds)};
    case WASM_RT_TRAP_INT_OVERFLOW:
      return {Code::kTrap, std::string(kTrapIntOverflow)};
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return {Code::kTrap, std::string(kTrapDivByZero)};
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return {Code::kTrap, std::string(kTrapBadConversion)};
    case WASM_RT_TRAP_UNREACHABLE:
      return {Code::kTrap, std::string(kTrapUnreachable)};
    case WASM_RT_TRAP_CALL_INDIRECT:
      return {Code::kTrap, std::string(kTrapIndirectType)};
    case WASM_RT_TRAP_EXHAUSTION:
      return {Code::kTrap, std::string(kTrapCallStack)};
    case WC_TRAP_UNDEF_ELEM:
      return {Code::kTrap, std::string(kTrapUndefinedElement)};
    case WC_TRAP_UNINIT_ELEM:
      return {Code::kTrap, std::string(kTrapUninitializedElement)};
    case WC_TRAP_DEADLINE:
      return {Code::kDeadlineExceeded, std::string(kTrapDeadline)};
    case WC_TRAP_MEMORY_CAP:
      return {Code::kResourceExhausted, std::string(kTrapMemoryCap)};
    default:
      return {Code::kTrap, "native trap " + std::to_string(code)};
  }
}

// Everything one module needs at run time: code, resolved imports, the template image.
struct Shared {
  std::shared_ptr<LoadedCode> code;
  const wc_module_desc* desc = nullptr;
  std::vector<HostImport> imports;
  std::vector<std::uint8_t> image;  // the template instance struct
  std::uintptr_t image_base = 0;    // where the template struct lived (for relocation)
  std::vector<MemorySnapshot> memories;
  struct TableEntry {
    wasm_rt_funcref_t ref;
    bool relative;  // module_instance is an offset into the instance struct
  };
  std::vector<std::vector<TableEntry>> funcref_tables;
  std::vector<std::uint32_t> funcref_max;
  std::vector<std::vector<wasm_rt_externref_t>> externref_tables;
  std::vector<std::uint32_t> externref_max;

  // Idle instance blocks (struct + memory + tables), each already reset to the template by the
  // instance that used it (NativeInstance::reset); instantiate() takes one instead of building.
  // Bounded by kIdleLimit; emptied (reservations unmapped) when memory_pool_trim() ran since.
  mutable std::mutex idle_mu;
  mutable std::vector<void*> idle;
  mutable std::uint64_t idle_epoch = 0;

  Shared() { idle.reserve(kIdleLimit); }
  ~Shared();
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  void* take_idle() const;
  bool give_idle(void* inst) const;
  void drop_idle_locked() const;

  // Up to this many idle instances per module: enough for every worker thread calling it at
  // once; each keeps the pages its last call touched resident (echo: 10; at most 1 MiB besides
  // the template, runtime.cpp).
  static constexpr std::size_t kIdleLimit = 16;
};

template <class T>
T* field(void* inst, std::size_t offset);

void* alloc_instance(std::size_t instance_size) {
  void* block = std::aligned_alloc(16, (sizeof(InstanceHeader) + instance_size + 15) / 16 * 16);
  if (block == nullptr) std::abort();
  return static_cast<char*>(block) + sizeof(InstanceHeader);
}
void free_instance_block(void* inst) { std::free(header_of(inst)); }

template <class T>
T* field(void* inst, std::size_t offset) {
  return reinterpret_cast<T*>(static_cast<char*>(inst) + offset);
}

// Frees an instance block with its memories (pooled, or unmapped when `unmap`) and tables.
void destroy_block(const wc_module_desc* d, void* inst, bool unmap) {
  for (std::uint32_t i = 0; i < d->n_memories; ++i) {
    auto* m = field<wasm_rt_memory_t>(inst, d->memory_offsets[i]);
    if (unmap)
      memory_unmap(m);
    else
      memory_free(m);
  }
  for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i)
    funcref_table_free(field<wasm_rt_funcref_table_t>(inst, d->funcref_table_offsets[i]));
  for (std::uint32_t i = 0; i < d->n_externref_tables; ++i)
    externref_table_free(field<wasm_rt_externref_table_t>(inst, d->externref_table_offsets[i]));
  free_instance_block(inst);
}

Shared::~Shared() {
  for (void* inst : idle) destroy_block(desc, inst, false);
}

void Shared::drop_idle_locked() const {
  for (void* inst : idle) destroy_block(desc, inst, true);
  idle.clear();
}

void* Shared::take_idle() const {
  std::lock_guard lock(idle_mu);
  if (const auto epoch = memory_pool_trim_epoch(); epoch != idle_epoch) {
    drop_idle_locked();
    idle_epoch = epoch;
  }
  if (idle.empty()) return nullptr;
  void* inst = idle.back();
  idle.pop_back();
  return inst;
}

bool Shared::give_idle(void* inst) const {
  std::lock_guard lock(idle_mu);
  if (memory_pool_trim_epoch() != idle_epoch || idle.size() >= kIdleLimit) return false;
  idle.push_back(inst);
  return true;
}

// Arguments of one protected call.
struct CallArgs {
  const wc_module_desc* desc;
  void* inst;
  int kind;  // 0 guest_call, 1 _start, 2 _initialize, 3 instantiate
  std::uint32_t a, b, result;
};

void call_trampoline(void* p) {
  auto* c = static_cast<CallArgs*>(p);
  switch (c->kind) {
    case 0:
      c->desc->guest_call(c->inst, c->a, c->b, &c->result);
      break;
    case 1:
      c->desc->start(c->inst);
      break;
    case 2:
      c->desc->initialize(c->inst);
      break;
    default:
      c->desc->instantiate(c->inst);
      break;
  }
}

// Runs `args` under a trap frame with a deadline. Returns 0 or the trap code.
int run_protected(CallArgs& args, const wasm_rt_memory_t* mem,
                  std::chrono::steady_clock::time_point deadline, std::size_t stack_bytes) {
  wc_frame frame{};
  if (mem != nullptr && mem->data != nullptr) {
    frame.mem_lo = reinterpret_cast<std::uintptr_t>(mem->data);
    frame.mem_hi = frame.mem_lo + kReservationBytes;
  }
  DeadlineToken token;
  frame.gen = deadline_arm(deadline, &frame.fired_gen, &token);
  const int code = wc_guard_run(&frame, &call_trampoline, &args, stack_bytes);
  deadline_disarm(token);
  return code;
}

// A fresh instance as the engine sees it. Its state (instance struct, memory, tables) is a
// block taken from the module's idle pool when there is one, else built from the template; on
// destruction it is reset to the template in place (memory_reset, the struct image, the tables)
// and pooled, so a fresh instance costs no mmap, mprotect or allocation in the steady state.
// Nothing of a call survives the reset: the struct and tables are rewritten whole, the memory
// is the snapshot plus zeros up to its high-water mark.
class NativeInstance final : public TierInstance {
 public:
  explicit NativeInstance(std::shared_ptr<const Shared> shared) : shared_(std::move(shared)) {}

  ~NativeInstance() override {
    if (inst_ == nullptr) return;
    if (reset() && shared_->give_idle(inst_)) return;
    destroy_block(shared_->desc, inst_, false);
  }

  // The objects themselves come from a small per-thread free list (no allocation per call).
  static void* operator new(std::size_t size) {
    FreeList& f = tl_free_list;
    if (size == sizeof(NativeInstance) && f.n > 0) return f.blocks[--f.n];
    return ::operator new(size);
  }
  static void operator delete(void* p, std::size_t size) {
    FreeList& f = tl_free_list;
    if (size == sizeof(NativeInstance) && f.alive && f.n < f.blocks.size()) {
      f.blocks[f.n++] = p;
      return;
    }
    ::operator delete(p);
  }

  // Builds the instance from the template, or takes a pooled one. Errors: kResourceExhausted.
  Status init(const Limits& limits) {
    stack_bytes_ = guest_stack_bytes(limits);
    const Shared& s = *shared_;
    const wc_module_desc* d = s.desc;
    const std::uint64_t cap_bytes = limits.max_memory_bytes;
    const std::uint32_t cap_pages =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(cap_bytes / kWasmPage, kMaxPages));
    for (const auto& m : s.memories)
      if (std::uint64_t{m.pages} * kWasmPage > cap_bytes)
        return fail(Code::kResourceExhausted, std::string(kTrapMemoryCap));
    if (void* pooled = s.take_idle()) {
      inst_ = pooled;
      header_of(inst_)->owner = this;
      for (std::uint32_t i = 0; i < d->n_memories; ++i)
        field<wasm_rt_memory_t>(inst_, d->memory_offsets[i])->max_pages =
            std::min({s.memories[i].module_max_pages, cap_pages, kMaxPages});
      memory_ = d->exported_memory(inst_);
      return ok();
    }
    inst_ = alloc_instance(d->instance_size);
    std::memcpy(inst_, s.image.data(), d->instance_size);
    header_of(inst_)->owner = this;
    // Clear resource pointers first so the destructor is safe on a partial init.
    for (std::uint32_t i = 0; i < d->n_memories; ++i)
      field<wasm_rt_memory_t>(inst_, d->memory_offsets[i])->data = nullptr;
    for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i)
      field<wasm_rt_funcref_table_t>(inst_, d->funcref_table_offsets[i])->data = nullptr;
    for (std::uint32_t i = 0; i < d->n_externref_tables; ++i)
      field<wasm_rt_externref_table_t>(inst_, d->externref_table_offsets[i])->data = nullptr;
    d->relocate(inst_);
    for (std::uint32_t i = 0; i < d->n_memories; ++i)
      if (!memory_from_snapshot(field<wasm_rt_memory_t>(inst_, d->memory_offsets[i]), s.memories[i],
                                cap_pages))
        return fail(Code::kResourceExhausted, "native tier: out of address space for memory");
    for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i) {
      auto* t = field<wasm_rt_funcref_table_t>(inst_, d->funcref_table_offsets[i]);
      funcref_table_allocate(t, static_cast<std::uint32_t>(s.funcref_tables[i].size()),
                             s.funcref_max[i]);
      fill_funcref(*t, i);
    }
    for (std::uint32_t i = 0; i < d->n_externref_tables; ++i) {
      auto* t = field<wasm_rt_externref_table_t>(inst_, d->externref_table_offsets[i]);
      const auto& src = s.externref_tables[i];
      externref_table_allocate(t, static_cast<std::uint32_t>(src.size()), s.externref_max[i]);
      std::copy(src.begin(), src.end(), t->data);
    }
    memory_ = d->exported_memory(inst_);
    return ok();
  }

  [[nodiscard]] bool has_void_export(std::string_view name) const override {
    if (name == "_start") return shared_->desc->start != nullptr;
    if (name == "_initialize") return shared_->desc->initialize != nullptr;
    return false;
  }

  Status call_void(std::string_view name, CallContext& ctx) override {
    const int kind = name == "_start" ? 1 : name == "_initialize" ? 2 : -1;
    if (kind < 0 || !has_void_export(name))
      return fail(Code::kTrap, "export `" + std::string(name) + "` not found");
    auto r = run(kind, 0, 0, ctx);
    if (!r) return fail(r.error());
    return ok();
  }

  Result<std::int32_t> call_guest_call(std::uint32_t op_len, std::uint32_t payload_len,
                                       CallContext& ctx) override {
    if (shared_->desc->guest_call == nullptr)
      return fail(Code::kTrap, "export `__guest_call` not found");
    auto r = run(0, op_len, payload_len, ctx);
    if (!r) return fail(r.error());
    return static_cast<std::int32_t>(*r);
  }

  // Import dispatch (from the glue through wc_rt_api::call_import). Never throws.
  int32_t import(std::uint32_t index, const std::uint64_t* args, std::uint32_t nargs,
                 std::uint64_t* result) noexcept {
    try {
      if (ctx_ == nullptr || index >= shared_->imports.size()) {
        pending_ = Error{Code::kTrap, "import called outside an invocation"};
        return 1;
      }
      if (wc_guard_stack_left() != 0 && wc_guard_stack_left() < kHostStackReserve) {
        pending_ = Error{Code::kTrap, std::string(kTrapCallStack)};
        return 1;
      }
      GuestMemory mem{memory_->data, memory_->size};
      const HostImport& imp = shared_->imports[index];
      // A blocking host call is not guest time: the watchdog waits, and call_host_import()
      // moves ctx_->deadline later by the time blocked (tier.h CallContext::deadline).
      const bool blocking = imp.fn == HostFn::kHostCall;
      DeadlineSuspension suspended;
      if (blocking) suspended = deadline_suspend();
      auto r = call_host_import(imp, *ctx_, mem, std::span<const std::uint64_t>(args, nargs));
      if (blocking) deadline_resume(suspended, ctx_->deadline);
      if (!r) {
        pending_ = std::move(r.error());
        return 1;
      }
      *result = *r;
      return 0;
    } catch (const std::exception& e) {
      pending_ = Error{Code::kInternal, std::string("host function failed: ") + e.what()};
    } catch (...) {
      pending_ = Error{Code::kInternal, "host function failed"};
    }
    return 1;
  }
  void set_pending(Error e) { pending_ = std::move(e); }

 private:
  Result<std::uint32_t> run(int kind, std::uint32_t a, std::uint32_t b, CallContext& ctx) {
    if (wc_guard_thread_init() != 0)
      return fail(Code::kInternal, "native tier: cannot prepare thread for guest code");
    if (std::chrono::steady_clock::now() >= ctx.deadline)
      return fail(Code::kDeadlineExceeded, std::string(kTrapDeadline));
    CallContext* saved = ctx_;
    ctx_ = &ctx;
    pending_.reset();
    CallArgs args{shared_->desc, inst_, kind, a, b, 0};
    const int code = run_protected(args, memory_, ctx.deadline, stack_bytes_);
    ctx_ = saved;
    if (code == 0) return args.result;
    if (code == WC_TRAP_HOST && pending_) return fail(std::move(*pending_));
    return fail(trap_error(code));
  }

  // The template's funcref table `i` into `t` (same size), entries relocated to this block.
  void fill_funcref(wasm_rt_funcref_table_t& t, std::uint32_t i) const {
    const auto& src = shared_->funcref_tables[i];
    const auto base = reinterpret_cast<std::uintptr_t>(inst_);
    for (std::size_t k = 0; k < src.size(); ++k) {
      t.data[k] = src[k].ref;
      if (src[k].relative)
        t.data[k].module_instance = reinterpret_cast<void*>(
            base + reinterpret_cast<std::uintptr_t>(src[k].ref.module_instance));
    }
  }

  // Brings the block back to the template in place (see the class comment). False when it
  // cannot be pooled (a memory grew past 64 MiB, or more tables than handled here): the caller
  // frees it, nothing changed.
  bool reset() {
    const Shared& s = *shared_;
    const wc_module_desc* d = s.desc;
    constexpr std::uint32_t kMaxTables = 4;
    if (d->n_memories != 1 || d->n_funcref_tables > kMaxTables ||
        d->n_externref_tables > kMaxTables)
      return false;
    wasm_rt_memory_t mem = *field<wasm_rt_memory_t>(inst_, d->memory_offsets[0]);
    if (!memory_reset(&mem, s.memories[0])) return false;
    std::array<wasm_rt_funcref_table_t, kMaxTables> ft{};
    std::array<wasm_rt_externref_table_t, kMaxTables> et{};
    for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i)
      ft[i] = *field<wasm_rt_funcref_table_t>(inst_, d->funcref_table_offsets[i]);
    for (std::uint32_t i = 0; i < d->n_externref_tables; ++i)
      et[i] = *field<wasm_rt_externref_table_t>(inst_, d->externref_table_offsets[i]);
    std::memcpy(inst_, s.image.data(), d->instance_size);
    d->relocate(inst_);
    *field<wasm_rt_memory_t>(inst_, d->memory_offsets[0]) = mem;
    for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i) {
      wasm_rt_funcref_table_t& t = ft[i];
      const auto n = static_cast<std::uint32_t>(s.funcref_tables[i].size());
      if (t.size != n) {  // table.grow ran: back to the template's size (rare)
        funcref_table_free(&t);
        funcref_table_allocate(&t, n, s.funcref_max[i]);
      }
      fill_funcref(t, i);
      *field<wasm_rt_funcref_table_t>(inst_, d->funcref_table_offsets[i]) = t;
    }
    for (std::uint32_t i = 0; i < d->n_externref_tables; ++i) {
      wasm_rt_externref_table_t& t = et[i];
      const auto& src = s.externref_tables[i];
      const auto n = static_cast<std::uint32_t>(src.size());
      if (t.size != n) {
        externref_table_free(&t);
        externref_table_allocate(&t, n, s.externref_max[i]);
      }
      std::copy(src.begin(), src.end(), t.data);
      *field<wasm_rt_externref_table_t>(inst_, d->externref_table_offsets[i]) = t;
    }
    header_of(inst_)->owner = nullptr;
    return true;
  }

  struct FreeList {
    std::array<void*, 8> blocks{};
    std::size_t n = 0;
    bool alive = true;
    ~FreeList() {
      alive = false;
      for (std::size_t i = 0; i < n; ++i) ::operator delete(blocks[i]);
      n = 0;
    }
  };
  static thread_local FreeList tl_free_list;

  std::shared_ptr<const Shared> shared_;
  void* inst_ = nullptr;
  wasm_rt_memory_t* memory_ = nullptr;
  CallContext* ctx_ = nullptr;
  std::optional<Error> pending_;
  std::size_t stack_bytes_ = 0;
};

thread_local NativeInstance::FreeList NativeInstance::tl_free_list;

// ------------------------------------------------------------------ the runtime table
extern "C" {
static void api_trap(int32_t code) { wc_guard_trap(code); }
static void api_allocate_memory(wasm_rt_memory_t* m, uint32_t initial, uint32_t max) {
  const std::uint32_t cap = alloc_cap();
  if (cap != 0 && initial > cap) wc_guard_trap(WC_TRAP_MEMORY_CAP);
  bool ok;
  {
    wc_guard_host_enter();
    ok = memory_allocate(m, initial, max);
    (void)wc_guard_host_leave();
  }
  if (!ok) wc_guard_trap(WC_TRAP_MEMORY_CAP);
}
static uint32_t api_grow_memory(wasm_rt_memory_t* m, uint32_t delta) {
  wc_guard_host_enter();
  const uint32_t r = memory_grow(m, delta);
  if (wc_guard_host_leave()) wc_guard_trap(WC_TRAP_DEADLINE);
  return r;
}
static void api_free_memory(wasm_rt_memory_t* m) { memory_free(m); }
static int32_t api_call_import(void* inst, uint32_t index, const uint64_t* args, uint32_t nargs,
                               uint64_t* result) {
  NativeInstance* owner = header_of(inst)->owner;
  wc_guard_host_enter();
  int32_t rc = owner != nullptr ? owner->import(index, args, nargs, result) : 1;
  if (wc_guard_host_leave()) {
    if (owner != nullptr) owner->set_pending({Code::kDeadlineExceeded, std::string(kTrapDeadline)});
    rc = 1;
  }
  return rc;
}
}

const wc_rt_api kApi = {
    WC_NATIVE_ABI_VERSION,     &api_trap,
    &api_allocate_memory,      &api_grow_memory,
    &api_free_memory,          &funcref_table_allocate,
    &funcref_table_free,       &funcref_table_grow,
    &externref_table_allocate, &externref_table_free,
    &externref_table_grow,     &register_func_type,
    &api_call_import,
};

// ------------------------------------------------------------------ loading
Result<std::shared_ptr<LoadedCode>> load_code(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<LoadedCode>> loaded;
  std::lock_guard lock(mu);
  if (auto it = loaded.find(path); it != loaded.end())
    if (auto sp = it->second.lock()) return sp;
  auto code = std::make_shared<LoadedCode>();
  code->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (code->handle == nullptr) {
    const char* e = dlerror();
    return fail(Code::kInternal, std::string("dlopen: ") + (e ? e : "failed"));
  }
  const std::string sym = "wc_native_bind_v" + std::to_string(WC_NATIVE_ABI_VERSION);
  using Bind = const wc_module_desc* (*)(const wc_rt_api*);
  auto bind = reinterpret_cast<Bind>(dlsym(code->handle, sym.c_str()));
  if (bind == nullptr) return fail(Code::kInternal, "native object lacks " + sym);
  code->desc = bind(&kApi);
  if (code->desc == nullptr || code->desc->abi_version != WC_NATIVE_ABI_VERSION)
    return fail(Code::kInternal, "native object has another ABI version");
  code->desc->init_module();  // registers function types (same values on every call)
  loaded[path] = code;
  return code;
}

std::string letters(const char* s) { return s != nullptr ? s : ""; }

// Instantiates the template and records it.
Result<std::shared_ptr<Shared>> make_shared_state(std::shared_ptr<LoadedCode> code,
                                                  const Limits& limits) {
  auto s = std::make_shared<Shared>();
  s->code = std::move(code);
  const wc_module_desc* d = s->code->desc;
  s->desc = d;
  if (d->n_memories != 1 || d->exported_memory == nullptr)
    return fail(Code::kUnsupported, "native tier: module must export its one memory");
  for (std::uint32_t i = 0; i < d->n_imports; ++i) {
    const wc_import_desc& im = d->imports[i];
    auto r = resolve_import(im.module, im.field, letters(im.params), letters(im.results));
    if (!r) return fail(r.error());
    s->imports.push_back(*r);
  }
  if (wc_guard_thread_init() != 0)
    return fail(Code::kInternal, "native tier: cannot prepare thread for guest code");

  void* inst = alloc_instance(d->instance_size);
  std::memset(inst, 0, d->instance_size);
  header_of(inst)->owner = nullptr;
  const std::uint32_t saved_cap = alloc_cap();
  set_alloc_cap(0);
  CallArgs args{d, inst, 3, 0, 0, 0};
  const int code_rc = run_protected(
      args, nullptr, std::chrono::steady_clock::now() + limits.deadline, guest_stack_bytes(limits));
  set_alloc_cap(saved_cap);
  auto cleanup = [&] {
    for (std::uint32_t i = 0; i < d->n_memories; ++i)
      memory_free(field<wasm_rt_memory_t>(inst, d->memory_offsets[i]));
    for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i)
      funcref_table_free(field<wasm_rt_funcref_table_t>(inst, d->funcref_table_offsets[i]));
    for (std::uint32_t i = 0; i < d->n_externref_tables; ++i)
      externref_table_free(field<wasm_rt_externref_table_t>(inst, d->externref_table_offsets[i]));
    free_instance_block(inst);
  };
  if (code_rc != 0) {
    // The struct started zeroed, so every memory/table is either allocated or still null.
    cleanup();
    if (code_rc == WC_TRAP_HOST)
      return fail(Code::kUnsupported, "native tier: the start function calls an import");
    return fail(trap_error(code_rc));
  }
  const auto base = reinterpret_cast<std::uintptr_t>(inst);
  s->image_base = base;
  s->image.assign(static_cast<std::uint8_t*>(inst),
                  static_cast<std::uint8_t*>(inst) + d->instance_size);
  for (std::uint32_t i = 0; i < d->n_memories; ++i) {
    const auto* m = field<wasm_rt_memory_t>(inst, d->memory_offsets[i]);
    s->memories.push_back(memory_snapshot(*m, m->max_pages));
  }
  for (std::uint32_t i = 0; i < d->n_funcref_tables; ++i) {
    const auto* t = field<wasm_rt_funcref_table_t>(inst, d->funcref_table_offsets[i]);
    std::vector<Shared::TableEntry> entries(t->size);
    for (std::uint32_t k = 0; k < t->size; ++k) {
      entries[k].ref = t->data[k];
      const auto mi = reinterpret_cast<std::uintptr_t>(t->data[k].module_instance);
      entries[k].relative = mi >= base && mi < base + d->instance_size;
      if (entries[k].relative) entries[k].ref.module_instance = reinterpret_cast<void*>(mi - base);
    }
    s->funcref_tables.push_back(std::move(entries));
    s->funcref_max.push_back(t->max_size);
  }
  for (std::uint32_t i = 0; i < d->n_externref_tables; ++i) {
    const auto* t = field<wasm_rt_externref_table_t>(inst, d->externref_table_offsets[i]);
    s->externref_tables.emplace_back(t->data, t->data + t->size);
    s->externref_max.push_back(t->max_size);
  }
  cleanup();
  return s;
}

class NativeCompiled final : public CompiledTier {
 public:
  explicit NativeCompiled(std::shared_ptr<const Shared> s) : shared_(std::move(s)) {}
  [[nodiscard]] Tier tier() const override { return Tier::kNative; }
  Result<std::unique_ptr<TierInstance>> instantiate(const Limits& limits,
                                                    CallContext& /*ctx*/) override {
    auto inst = std::make_unique<NativeInstance>(shared_);
    if (auto st = inst->init(limits); !st) return fail(st.error());
    return std::unique_ptr<TierInstance>(std::move(inst));
  }

 private:
  std::shared_ptr<const Shared> shared_;
};

}  // namespace

NativeStats native_stats() {
  return {g_compiles.load(), g_cache_hits.load(), g_failures.load(), g_last_compile_us.load()};
}

const wc_rt_api* native_runtime_api() { return &kApi; }

Result<std::string> native_cache_file(const NativeCompileRequest& request) {
  auto tc = detect_toolchain(request.c_compiler, request.cache_dir);
  if (!tc) return fail(tc.error());
  return cache_path(*tc, request.cache_dir, request.sha256_hex);
}

Result<std::string> native_build(const NativeCompileRequest& request, bool* compiled) {
  if (compiled != nullptr) *compiled = false;
  const CancelScope cancel(request.cancel);
  auto tc = detect_toolchain(request.c_compiler, request.cache_dir);
  if (!tc) return fail(tc.error());
  std::string path = cache_path(*tc, request.cache_dir, request.sha256_hex);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  // Start and end at info, naming the actor (issue #17.5: a compile takes seconds).
  const std::string label = request.display_name.empty()
                                ? "wasm module " + request.sha256_hex.substr(0, 12)
                                : "actor " + request.display_name;
  spdlog::info("Compiling {} to native code in the background ({} bytes of wasm, module {})", label,
               request.wasm.size(), request.sha256_hex.substr(0, 12));
  const auto t0 = std::chrono::steady_clock::now();
  // A failure's end is the engine's "staying on the interpreter (<reason>)" line.
  if (auto st = build_shared_object(*tc, request.wasm, request.sha256_hex, path); !st)
    return fail(st.error());
  g_last_compile_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  spdlog::info("Compiled {} to native code in {} ms ({})", label, g_last_compile_us.load() / 1000,
               path);
  g_compiles.fetch_add(1);
  if (compiled != nullptr) *compiled = true;
  return path;
}

}  // namespace wc::wasm::native

namespace wc::wasm::native {
namespace {

// NativeCompileRequest::cache_only: the cached object for these bytes, or an Error.
Result<std::unique_ptr<CompiledTier>> load_cached(const NativeCompileRequest& request) {
  auto tc = known_toolchain(request.c_compiler, request.cache_dir);
  if (!tc) return fail(tc.error());
  const std::string path = cache_path(*tc, request.cache_dir, request.sha256_hex);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return fail(Code::kNotFound, "not in the native cache");
  auto code = load_code(path);
  if (!code) return fail(code.error());
  if ((*code)->desc->guest_call == nullptr)
    return fail(Code::kUnsupported,
                "cached native code exports no `__guest_call` (i32, i32) -> i32");
  auto shared = make_shared_state(*code, request.limits);
  if (!shared) return fail(shared.error());
  for (const auto& m : (*shared)->memories)
    if (std::uint64_t{m.pages} * kWasmPage > request.limits.max_memory_bytes)
      return fail(Code::kUnsupported, "initial memory of the cached native code over the cap");
  g_cache_hits.fetch_add(1);
  return std::unique_ptr<CompiledTier>(std::make_unique<NativeCompiled>(*shared));
}

}  // namespace
}  // namespace wc::wasm::native

namespace wc::wasm {

Result<std::unique_ptr<CompiledTier>> native_compile(const NativeCompileRequest& request) {
  using namespace native;
  if (request.cache_only) return load_cached(request);
  auto attempt = [&](bool* compiled) -> Result<std::unique_ptr<CompiledTier>> {
    auto path = native_build(request, compiled);
    if (!path) return fail(path.error());
    auto code = load_code(*path);
    if (!code) {
      // A damaged cache file: remove it so the next attempt rebuilds.
      std::error_code ec;
      if (!*compiled) std::filesystem::remove(*path, ec);
      return fail(code.error());
    }
    auto shared = make_shared_state(*code, request.limits);
    if (!shared) return fail(shared.error());
    if (!*compiled) g_cache_hits.fetch_add(1);
    return std::unique_ptr<CompiledTier>(std::make_unique<NativeCompiled>(*shared));
  };
  bool compiled = false;
  auto r = attempt(&compiled);
  if (!r && !compiled && r.error().message.rfind("dlopen", 0) == 0) r = attempt(&compiled);
  if (!r) g_failures.fetch_add(1);
  return r;
}

}  // namespace wc::wasm
