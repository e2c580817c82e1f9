// Tier 0 CompiledTier / TierInstance over the C++17 wabt backend (see interp_tier.h).
#include "wasm/interp/interp_tier.h"

#include <mutex>
#include <optional>
#include <utility>

namespace wc::wasm {

namespace {

constexpr std::uint64_t kPageSize = 65536;

/// Routes wabt host-function calls to call_host_import() and keeps the Error that ended a call.
class Dispatch final : public interp::HostDispatch {
 public:
  Dispatch(const std::vector<HostImport>& imports, CallContext& ctx)
      : imports_(imports), ctx_(ctx) {}

  bool call(std::size_t import_index, const std::uint64_t* args, std::size_t nargs,
            std::uint64_t* result, std::uint8_t* memory, std::uint64_t memory_size) override {
    if (import_index >= imports_.size()) {
      error_ = Error{Code::kTrap, "unknown import"};
      return false;
    }
    GuestMemory mem{memory, memory_size};
    auto r = call_host_import(imports_[import_index], ctx_, mem, {args, nargs});
    if (!r) {
      error_ = std::move(r.error());
      return false;
    }
    *result = *r;
    return true;
  }

  std::optional<Error> error_;

 private:
  const std::vector<HostImport>& imports_;
  CallContext& ctx_;
};

/// Turns a backend outcome into the tier.h error contract.
Result<std::uint64_t> to_result(const interp::RunOutcome& out, Dispatch& dispatch) {
  switch (out.kind) {
    case interp::RunOutcome::Kind::kOk:
      return out.result;
    case interp::RunOutcome::Kind::kDeadline:
      return fail(Code::kDeadlineExceeded, std::string(kTrapDeadline));
    case interp::RunOutcome::Kind::kHostError:
      if (dispatch.error_) return fail(*dispatch.error_);
      return fail(Code::kTrap, "host function failed");
    case interp::RunOutcome::Kind::kTrap:
      break;
  }
  return fail(Code::kTrap, canonical_trap(out.trap));
}

/// Idle instances reset to their post-instantiation state, ready to serve as fresh ones.
/// Creating a wabt instance costs more than the call it serves (the real echo actor: 600
/// function objects, 17 pages of memory zeroed and initialised), while resetting one is a copy
/// of its memory image (WabtInstance::reset).
struct IdlePool {
  static constexpr std::size_t kMaxIdle = 8;
  std::mutex mu;
  std::vector<std::unique_ptr<interp::WabtInstance>> idle;

  std::unique_ptr<interp::WabtInstance> take() {
    std::lock_guard lock(mu);
    if (idle.empty()) return nullptr;
    auto inst = std::move(idle.back());
    idle.pop_back();
    return inst;
  }
  void give(std::unique_ptr<interp::WabtInstance> inst) {
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdle) idle.push_back(std::move(inst));
  }
};

class InterpInstance final : public TierInstance {
 public:
  InterpInstance(std::unique_ptr<interp::WabtInstance> inst,
                 std::shared_ptr<const std::vector<HostImport>> imports,
                 std::shared_ptr<IdlePool> pool)
      : inst_(std::move(inst)), imports_(std::move(imports)), pool_(std::move(pool)) {}

  /// A healthy instance (no trap, no deadline) is reset and kept for the next instantiate().
  ~InterpInstance() override {
    if (healthy_ && inst_->reset()) pool_->give(std::move(inst_));
  }

  bool has_void_export(std::string_view name) const override {
    return inst_->has_func_export(std::string(name), interp::Signature{});
  }

  Status call_void(std::string_view name, CallContext& ctx) override {
    auto r =
        run(ctx, [&](Dispatch& d) { return inst_->call(std::string(name), {}, &d, ctx.deadline); });
    if (!r) return fail(r.error());
    return ok();
  }

  Result<std::int32_t> call_guest_call(std::uint32_t op_len, std::uint32_t payload_len,
                                       CallContext& ctx) override {
    auto r = run(ctx, [&](Dispatch& d) {
      return inst_->call("__guest_call", {op_len, payload_len}, &d, ctx.deadline);
    });
    if (!r) return fail(r.error());
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(*r));
  }

  Status run_start(CallContext& ctx) {
    auto r = run(ctx, [&](Dispatch& d) { return inst_->run_start(&d, ctx.deadline); });
    if (!r) return fail(r.error());
    return ok();
  }

 private:
  template <class F>
  Result<std::uint64_t> run(CallContext& ctx, F&& body) {
    Dispatch dispatch(*imports_, ctx);
    auto r = to_result(body(dispatch), dispatch);
    if (!r) healthy_ = false;  // a trapped instance is never reused
    return r;
  }

  std::unique_ptr<interp::WabtInstance> inst_;
  std::shared_ptr<const std::vector<HostImport>> imports_;
  std::shared_ptr<IdlePool> pool_;
  bool healthy_ = true;
};

class InterpTier final : public CompiledTier {
 public:
  InterpTier(ValidatedModule module, std::vector<HostImport> imports)
      : module_(std::move(module)),
        imports_(std::make_shared<const std::vector<HostImport>>(std::move(imports))) {}

  Tier tier() const override { return Tier::kInterpreter; }

  Result<std::unique_ptr<TierInstance>> instantiate(const Limits& limits,
                                                    CallContext& ctx) override {
    const std::uint64_t max_pages = limits.max_memory_bytes / kPageSize;
    if (module_.info.memory_initial_pages > max_pages)
      return fail(Code::kResourceExhausted, std::string(kTrapMemoryCap));
    if (auto idle = pool_->take())
      return std::unique_ptr<TierInstance>(
          std::make_unique<InterpInstance>(std::move(idle), imports_, pool_));
    std::string error;
    auto inst =
        interp::WabtInstance::create(module_.wabt, max_pages, limits.max_call_depth, &error);
    if (!inst) {
      if (error == "memory cap") return fail(Code::kResourceExhausted, std::string(kTrapMemoryCap));
      return fail(Code::kTrap, canonical_trap(error));
    }
    auto instance = std::make_unique<InterpInstance>(std::move(inst), imports_, pool_);
    if (auto s = instance->run_start(ctx); !s) return fail(s.error());
    return std::unique_ptr<TierInstance>(std::move(instance));
  }

 private:
  ValidatedModule module_;
  std::shared_ptr<const std::vector<HostImport>> imports_;
  std::shared_ptr<IdlePool> pool_ = std::make_shared<IdlePool>();
};

}  // namespace

std::string canonical_trap(std::string_view m) {
  if (m == "unreachable executed") return std::string(kTrapUnreachable);
  if (m.starts_with("out of bounds memory access")) return std::string(kTrapOutOfBounds);
  if (m == "indirect call signature mismatch") return std::string(kTrapIndirectType);
  if (m == "undefined table index") return std::string(kTrapUndefinedElement);
  if (m == "uninitialized table element") return std::string(kTrapUninitializedElement);
  return std::string(m);  // integer divide by zero, integer overflow, call stack exhausted, ...
}

Result<ValidatedModule> interp_validate(std::span<const std::uint8_t> wasm) {
  ValidatedModule out;
  std::string error;
  out.wabt = interp::wabt_load(wasm.data(), wasm.size(), kMaxFunctionLocals, &out.info, &error);
  if (!out.wabt) return fail(Code::kInvalidArgument, error);
  return out;
}

std::unique_ptr<CompiledTier> interp_tier(ValidatedModule module, std::vector<HostImport> imports) {
  return std::make_unique<InterpTier>(std::move(module), std::move(imports));
}

}  // namespace wc::wasm
