// Tier 0 backend over the wabt 1.0.32 interpreter (C++17 translation unit, see wabt_backend.h).
//
// wabt's public Func::Call runs a function to completion with a fixed call-stack size, which
// would let a runaway guest spin forever. To run in bounded slices and to size the call stack
// from Limits, this file reaches four private Thread members through the standard rule that
// explicit template instantiations ignore access checks (the "access via pointer to member"
// idiom): frames_ (call stack, its capacity is the depth limit), PushValues, PushCall and
// PopValues (what DefinedFunc::DoCall does before and after Thread::Run).
#include "wasm/interp/wabt_backend.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "wabt/binary-reader.h"
#include "wabt/error.h"
#include "wabt/interp/binary-reader-interp.h"
#include "wabt/interp/interp.h"

namespace wc::wasm::interp {

namespace wi = wabt::interp;

namespace {

// --- private member access (see file comment) ---
template <typename Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
struct FramesTag {
  using type = std::vector<wi::Frame> wi::Thread::*;
  friend type member(FramesTag);
};
struct PushValuesTag {
  using type = void (wi::Thread::*)(const wi::ValueTypes&, const wi::Values&);
  friend type member(PushValuesTag);
};
struct PushCallTag {
  using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc&, wi::Trap::Ptr*);
  friend type member(PushCallTag);
};
struct PopValuesTag {
  using type = void (wi::Thread::*)(const wi::ValueTypes&, wi::Values*);
  friend type member(PopValuesTag);
};
template struct Expose<FramesTag, &wi::Thread::frames_>;
template struct Expose<PushValuesTag, &wi::Thread::PushValues>;
template struct Expose<PushCallTag, &wi::Thread::PushCall>;
template struct Expose<PopValuesTag, &wi::Thread::PopValues>;
struct ValuesTag {
  using type = std::vector<wi::Value> wi::Thread::*;
  friend type member(ValuesTag);
};
template struct Expose<ValuesTag, &wi::Thread::values_>;
// Memory internals, to shrink a grown memory back to its initial size in reset().
struct MemoryDataTag {
  using type = wi::Buffer wi::Memory::*;
  friend type member(MemoryDataTag);
};
struct MemoryPagesTag {
  using type = wi::u64 wi::Memory::*;
  friend type member(MemoryPagesTag);
};
struct MemoryTypeTag {
  using type = wi::MemoryType wi::Memory::*;
  friend type member(MemoryTypeTag);
};
template struct Expose<MemoryDataTag, &wi::Memory::data_>;
template struct Expose<MemoryPagesTag, &wi::Memory::pages_>;
template struct Expose<MemoryTypeTag, &wi::Memory::type_>;

/// Instructions run between two deadline checks (a few tens of microseconds).
constexpr int kSliceInstructions = 20000;

/// Value-stack budget (16-byte values): the call-depth limit is lowered for modules whose
/// functions declare many locals so that depth x frame size stays within it, and a call whose
/// value stack still grows past twice this (deep operand stacks) traps as a stack overflow.
/// Without it a guest could make the interpreter allocate without bound (wabt grows the value
/// stack freely).
constexpr std::size_t kValueBudget = std::size_t{4} << 20;

char type_letter(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32:
      return 'i';
    case wabt::Type::I64:
      return 'I';
    case wabt::Type::F32:
      return 'f';
    case wabt::Type::F64:
      return 'F';
    case wabt::Type::V128:
      return 'v';
    case wabt::Type::FuncRef:
      return 'r';
    case wabt::Type::ExternRef:
      return 'e';
    default:
      return '?';
  }
}

Signature signature_of(const wi::FuncType& type) {
  Signature sig;
  for (auto t : type.params) sig.params.push_back(type_letter(t));
  for (auto t : type.results) sig.results.push_back(type_letter(t));
  return sig;
}

std::uint64_t value_bits(wabt::Type type, const wi::Value& value) {
  switch (type) {
    case wabt::Type::I32:
      return value.Get<wi::u32>();
    case wabt::Type::I64:
      return value.Get<wi::u64>();
    case wabt::Type::F32: {
      float f = value.Get<wi::f32>();
      std::uint32_t bits = 0;
      std::memcpy(&bits, &f, sizeof bits);
      return bits;
    }
    case wabt::Type::F64: {
      double d = value.Get<wi::f64>();
      std::uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      return bits;
    }
    default:
      return 0;
  }
}

wi::Value make_value(wabt::Type type, std::uint64_t bits) {
  switch (type) {
    case wabt::Type::I32:
      return wi::Value::Make(static_cast<wi::u32>(bits));
    case wabt::Type::I64:
      return wi::Value::Make(static_cast<wi::u64>(bits));
    case wabt::Type::F32: {
      auto b32 = static_cast<std::uint32_t>(bits);
      float f = 0;
      std::memcpy(&f, &b32, sizeof f);
      return wi::Value::Make(f);
    }
    case wabt::Type::F64: {
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      return wi::Value::Make(d);
    }
    default:
      return wi::Value::Make(static_cast<wi::u32>(0));
  }
}

}  // namespace

class WabtModule {
 public:
  wi::ModuleDesc desc;  ///< start functions removed (run by run_start)
  bool has_start = false;
  wi::Index start_func = 0;
  std::uint64_t max_frame_values = 1;  ///< largest params + locals of any function, plus one
  /// No start function, no passive data/elem segments: every instance starts identical, so an
  /// instance can be reset to the state right after instantiation (WabtInstance::reset).
  bool resettable = false;
  /// Memory bytes right after instantiation, shared by all instances (set by the first one).
  mutable std::mutex snapshot_mu;
  mutable std::shared_ptr<const std::vector<std::uint8_t>> memory_snapshot;
};

std::shared_ptr<const WabtModule> wabt_load(const std::uint8_t* data, std::size_t size,
                                            std::uint32_t max_locals, ModuleInfo* info,
                                            std::string* error) {
  auto module = std::make_shared<WabtModule>();
  wabt::Errors errors;
  wabt::Features features;  // wabt defaults: the MVP plus the finished post-MVP proposals
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  if (wabt::Failed(
          wi::ReadBinaryInterp("module.wasm", data, size, options, &errors, &module->desc))) {
    std::string text = "invalid wasm module";
    if (!errors.empty()) {
      text += ": " + errors.front().message;
      if (errors.front().loc.offset != wabt::kInvalidOffset) {
        char at[48];
        std::snprintf(at, sizeof at, " (at byte offset %zu)", errors.front().loc.offset);
        text += at;
      }
    }
    *error = text;
    return nullptr;
  }

  auto& desc = module->desc;
  const std::size_t imported_funcs = [&] {
    std::size_t n = 0;
    for (const auto& imp : desc.imports) n += imp.type.type->kind == wabt::ExternalKind::Func;
    return n;
  }();
  for (std::size_t i = 0; i < desc.funcs.size(); ++i) {
    const auto& func = desc.funcs[i];
    std::uint64_t total = func.type.params.size();
    if (!func.locals.empty()) total += func.locals.back().end;
    module->max_frame_values = std::max<std::uint64_t>(module->max_frame_values, total + 1);
    if (total > max_locals) {
      *error = "invalid wasm module: too many locals: function " +
               std::to_string(imported_funcs + i) + " declares " + std::to_string(total) +
               " (limit " + std::to_string(max_locals) + ")";
      return nullptr;
    }
  }

  for (std::size_t t = 0; t < desc.tables.size(); ++t) {
    const auto initial = desc.tables[t].type.limits.initial;
    if (initial > kMaxTableElements) {
      *error = "invalid wasm module: table " + std::to_string(t) + " declares " +
               std::to_string(initial) + " elements (limit " + std::to_string(kMaxTableElements) +
               ")";
      return nullptr;
    }
  }

  ModuleInfo out;
  for (const auto& imp : desc.imports) {
    ImportInfo ii;
    ii.module = imp.type.module;
    ii.field = imp.type.name;
    ii.kind = static_cast<Kind>(imp.type.type->kind);
    if (auto* ft = wabt::dyn_cast<wi::FuncType>(imp.type.type.get())) ii.sig = signature_of(*ft);
    out.imports.push_back(std::move(ii));
  }
  for (const auto& exp : desc.exports) {
    ExportInfo ei;
    ei.name = exp.type.name;
    ei.kind = static_cast<Kind>(exp.type.type->kind);
    if (auto* ft = wabt::dyn_cast<wi::FuncType>(exp.type.type.get())) ei.sig = signature_of(*ft);
    out.exports.push_back(std::move(ei));
  }
  if (!desc.memories.empty()) {
    out.has_defined_memory = true;
    out.memory_initial_pages = desc.memories.front().type.limits.initial;
  }
  if (!desc.starts.empty()) {
    module->has_start = true;
    module->start_func = desc.starts.front().func_index;
    desc.starts.clear();
  }
  module->resettable = !module->has_start && desc.memories.size() <= 1;
  for (const auto& d : desc.datas) module->resettable &= d.mode != wabt::SegmentKind::Passive;
  for (const auto& e : desc.elems) module->resettable &= e.mode != wabt::SegmentKind::Passive;
  *info = std::move(out);
  return module;
}

namespace {

class Instance final : public WabtInstance {
 public:
  Instance(std::shared_ptr<const WabtModule> module, std::uint32_t max_depth)
      : module_(std::move(module)),
        max_depth_(static_cast<std::uint32_t>(std::max<std::uint64_t>(
            1, std::min<std::uint64_t>(max_depth, kValueBudget / module_->max_frame_values)))) {}

  bool init(std::uint64_t max_pages, std::string* error) {
    wi::ModuleDesc desc = module_->desc;
    for (auto& mem : desc.memories) {
      auto& limits = mem.type.limits;
      if (!limits.has_max || limits.max > max_pages) {
        limits.max = max_pages;
        limits.has_max = true;
      }
      if (limits.initial > limits.max) {
        *error = "memory cap";
        return false;
      }
    }
    for (auto& table : desc.tables) {
      auto& limits = table.type.limits;
      if (!limits.has_max || limits.max > kMaxTableElements) {
        limits.max = kMaxTableElements;  // table.grow past it returns -1
        limits.has_max = true;
      }
    }
    wi::Module::Ptr mod = wi::Module::New(store_, std::move(desc));

    wi::RefVec imports;
    const auto& import_descs = mod->desc().imports;
    for (std::size_t i = 0; i < import_descs.size(); ++i) {
      const auto* ft = wabt::dyn_cast<wi::FuncType>(import_descs[i].type.type.get());
      if (ft == nullptr) {
        imports.push_back(wi::Ref::Null);
        continue;
      }
      auto func =
          wi::HostFunc::New(store_, *ft,
                            [this, i, ft_copy = *ft](wi::Thread& thread, const wi::Values& params,
                                                     wi::Values& results, wi::Trap::Ptr* out_trap) {
                              return host_call(i, ft_copy, thread, params, results, out_trap);
                            });
      imports.push_back(func.ref());
    }

    wi::Trap::Ptr trap;
    instance_ = wi::Instance::Instantiate(store_, mod.ref(), imports, &trap);
    if (!instance_) {
      *error = trap ? trap->message() : std::string("instantiation failed");
      return false;
    }
    module_ref_ = mod;
    for (const auto& exp : mod->desc().exports) {
      if (exp.type.type->kind == wabt::ExternalKind::Memory && exp.type.name == "memory") {
        memory_ = wi::Memory::Ptr(store_, instance_->memories()[exp.index]);
      }
    }
    if (module_->resettable) take_snapshot();
    return true;
  }

  bool reset() override {
    if (!module_->resettable || !snapshot_taken_) return false;
    std::shared_ptr<const std::vector<std::uint8_t>> memory_bytes;
    {
      std::lock_guard lock(module_->snapshot_mu);
      memory_bytes = module_->memory_snapshot;
    }
    const auto& memories = instance_->memories();
    if (!memories.empty()) {
      wi::Memory::Ptr mem(store_, memories.front());
      if (!memory_bytes || memory_bytes->size() % WABT_PAGE_SIZE != 0) return false;
      if (mem->ByteSize() != memory_bytes->size()) {
        // memory.grow ran: shrink back to the initial size (the guest sees a fresh memory).
        wi::Memory& m = *mem;
        const wi::u64 pages = memory_bytes->size() / WABT_PAGE_SIZE;
        if (mem->ByteSize() < memory_bytes->size()) return false;
        (m.*member(MemoryDataTag{})).resize(memory_bytes->size());
        m.*member(MemoryPagesTag{}) = pages;
        (m.*member(MemoryTypeTag{})).limits.initial = pages;
      }
      if (!memory_bytes->empty())
        std::memcpy(mem->UnsafeData(), memory_bytes->data(), memory_bytes->size());
    }
    const auto& tables = instance_->tables();
    for (std::size_t t = 0; t < tables.size(); ++t) {
      wi::Table::Ptr table(store_, tables[t]);
      const auto& saved = tables_snapshot_[t];
      if (table->size() != saved.size()) return false;
      for (std::size_t i = 0; i < saved.size(); ++i) {
        if (table->elements()[i] != saved[i] &&
            wabt::Failed(table->Set(store_, static_cast<wi::u32>(i), saved[i])))
          return false;
      }
    }
    const auto& globals = instance_->globals();
    for (std::size_t g = 0; g < globals.size(); ++g) {
      wi::Global::Ptr global(store_, globals[g]);
      if (global->type().mut == wi::Mutability::Var) global->UnsafeSet(globals_snapshot_[g]);
    }
    return true;
  }

  RunOutcome run_start(HostDispatch* dispatch,
                       const std::chrono::steady_clock::time_point& deadline) override {
    if (!module_->has_start) return {};
    wi::Func::Ptr func(store_, instance_->funcs()[module_->start_func]);
    return run(func, {}, dispatch, deadline);
  }

  bool has_func_export(const std::string& name, const Signature& sig) const override {
    for (const auto& exp : module_->desc.exports) {
      if (exp.type.name != name || exp.type.type->kind != wabt::ExternalKind::Func) continue;
      auto s = signature_of(*wabt::cast<wi::FuncType>(exp.type.type.get()));
      return s.params == sig.params && s.results == sig.results;
    }
    return false;
  }

  RunOutcome call(const std::string& name, const std::vector<std::uint64_t>& args,
                  HostDispatch* dispatch,
                  const std::chrono::steady_clock::time_point& deadline) override {
    const auto& exports = module_ref_->desc().exports;
    for (std::size_t i = 0; i < exports.size(); ++i) {
      if (exports[i].type.name != name || exports[i].type.type->kind != wabt::ExternalKind::Func)
        continue;
      wi::Func::Ptr func(store_, instance_->funcs()[exports[i].index]);
      const auto& params = func->type().params;
      if (params.size() != args.size()) break;
      wi::Values values;
      for (std::size_t p = 0; p < params.size(); ++p)
        values.push_back(make_value(params[p], args[p]));
      return run(func, values, dispatch, deadline);
    }
    RunOutcome out;
    out.kind = RunOutcome::Kind::kTrap;
    out.trap = "export not found: " + name;
    return out;
  }

  std::uint8_t* memory_data() override { return memory_ ? memory_->UnsafeData() : nullptr; }
  std::uint64_t memory_size() const override { return memory_ ? memory_->ByteSize() : 0; }

 private:
  wabt::Result host_call(std::size_t index, const wi::FuncType& type, wi::Thread& thread,
                         const wi::Values& params, wi::Values& results, wi::Trap::Ptr* out_trap) {
    std::uint64_t args[16] = {};
    std::vector<std::uint64_t> big;
    std::uint64_t* argv = args;
    if (params.size() > 16) {
      big.resize(params.size());
      argv = big.data();
    }
    for (std::size_t p = 0; p < params.size(); ++p) argv[p] = value_bits(type.params[p], params[p]);
    std::uint64_t result = 0;
    if (dispatch_ == nullptr ||
        !dispatch_->call(index, argv, params.size(), &result, memory_data(), memory_size())) {
      host_failed_ = true;
      *out_trap = wi::Trap::New(thread.store(), "host function failed");
      return wabt::Result::Error;
    }
    for (std::size_t r = 0; r < results.size(); ++r)
      results[r] = make_value(type.results[r], result);
    return wabt::Result::Ok;
  }

  RunOutcome run(wi::Func::Ptr func, const wi::Values& params, HostDispatch* dispatch,
                 const std::chrono::steady_clock::time_point& deadline) {
    dispatch_ = dispatch;
    host_failed_ = false;
    RunOutcome out;
    wi::Thread thread(store_);
    auto& frames = thread.*member(FramesTag{});
    std::vector<wi::Frame>().swap(frames);
    frames.reserve(max_depth_);

    wi::Trap::Ptr trap;
    wi::Values results;
    wi::RunResult rr = wi::RunResult::Ok;
    auto* defined = wabt::dyn_cast<wi::DefinedFunc>(func.get());
    if (defined == nullptr) {
      // A re-exported import: call the host function directly.
      results.resize(func->type().results.size());
      rr = wabt::Failed(func->Call(thread, params, results, &trap)) ? wi::RunResult::Trap
                                                                    : wi::RunResult::Return;
    } else {
      (thread.*member(PushValuesTag{}))(defined->type().params, params);
      rr = (thread.*member(PushCallTag{}))(*defined, &trap);
      const auto& values = thread.*member(ValuesTag{});
      while (rr == wi::RunResult::Ok) {
        rr = thread.Run(kSliceInstructions, &trap);
        if (rr != wi::RunResult::Ok) break;
        if (std::chrono::steady_clock::now() >= deadline) {
          out.kind = RunOutcome::Kind::kDeadline;
          dispatch_ = nullptr;
          return out;
        }
        if (values.size() > 2 * kValueBudget) {
          out.kind = RunOutcome::Kind::kTrap;
          out.trap = "call stack exhausted";
          dispatch_ = nullptr;
          return out;
        }
      }
      if (rr == wi::RunResult::Return) {
        (thread.*member(PopValuesTag{}))(defined->type().results, &results);
      }
    }
    dispatch_ = nullptr;
    if (rr == wi::RunResult::Return) {
      if (!results.empty()) out.result = value_bits(func->type().results[0], results[0]);
      return out;
    }
    if (host_failed_) {
      out.kind = RunOutcome::Kind::kHostError;
      return out;
    }
    out.kind = RunOutcome::Kind::kTrap;
    out.trap = rr == wi::RunResult::Exception ? std::string("uncaught exception")
               : trap                         ? trap->message()
                                              : std::string("trap");
    return out;
  }

  /// Records the post-instantiation state reset() restores (memory shared per module).
  void take_snapshot() {
    for (auto ref : instance_->tables())
      tables_snapshot_.push_back(wi::Table::Ptr(store_, ref)->elements());
    for (auto ref : instance_->globals())
      globals_snapshot_.push_back(wi::Global::Ptr(store_, ref)->Get());
    const auto& memories = instance_->memories();
    if (!memories.empty()) {
      std::lock_guard lock(module_->snapshot_mu);
      if (!module_->memory_snapshot) {
        wi::Memory::Ptr mem(store_, memories.front());
        module_->memory_snapshot = std::make_shared<const std::vector<std::uint8_t>>(
            mem->UnsafeData(), mem->UnsafeData() + mem->ByteSize());
      }
    }
    snapshot_taken_ = true;
  }

  std::shared_ptr<const WabtModule> module_;
  std::uint32_t max_depth_;
  bool snapshot_taken_ = false;
  std::vector<wi::RefVec> tables_snapshot_;
  std::vector<wi::Value> globals_snapshot_;
  wi::Store store_;
  wi::Module::Ptr module_ref_;
  wi::Instance::Ptr instance_;
  wi::Memory::Ptr memory_;
  HostDispatch* dispatch_ = nullptr;
  bool host_failed_ = false;
};

}  // namespace

std::unique_ptr<WabtInstance> WabtInstance::create(std::shared_ptr<const WabtModule> module,
                                                   std::uint64_t max_pages, std::uint32_t max_depth,
                                                   std::string* error) {
  auto instance = std::make_unique<Instance>(std::move(module), max_depth == 0 ? 1 : max_depth);
  if (!instance->init(max_pages, error)) return nullptr;
  return instance;
}

}  // namespace wc::wasm::interp
