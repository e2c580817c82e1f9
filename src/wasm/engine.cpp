// Engine core: validation at load, tier selection, instance lifecycle per invocation
// (spec/actor-rpc-providers.md 1.3-1.5), and the background native compile queue (tier.h).
#include "wasm/engine.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "wasm/abi.h"
#include "wasm/interp/interp_tier.h"
#include "wasm/tier.h"

namespace wc::wasm {

std::string_view tier_name(Tier tier) { return tier == Tier::kNative ? "native" : "interpreter"; }

namespace {

constexpr std::uint64_t kPageSize = 65536;

/// Finds export `name` in the module shape.
const interp::ExportInfo* find_export(const interp::ModuleInfo& info, std::string_view name) {
  for (const auto& e : info.exports)
    if (e.name == name) return &e;
  return nullptr;
}

class ModuleImpl;

/// The single background thread compiling native code, one module at a time (2-core budget),
/// in the order engine.h documents (Engine: "Compile order").
class CompileQueue {
 public:
  /// A module overtaken by this many modules loaded after it is compiled next.
  static constexpr int kMaxOvertaken = 4;

  CompileQueue() = default;
  ~CompileQueue() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cancel_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    abandon_queued();
  }

  void push(std::weak_ptr<ModuleImpl> module) {
    std::lock_guard lock(mu_);
    queue_.push_back(Waiting{std::move(module), 0});
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    cv_.notify_one();
  }

 private:
  struct Waiting {
    std::weak_ptr<ModuleImpl> module;
    int overtaken;  ///< modules loaded later compiled before this one
  };

  void run();
  void abandon_queued();
  /// Removes and returns the next module to compile (null when only unloaded ones waited).
  std::shared_ptr<ModuleImpl> take_next_locked();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiting> queue_;  ///< in load order
  bool stop_ = false;
  std::atomic<bool> cancel_{false};  ///< read by native_compile (NativeCompileRequest::cancel)
  std::thread thread_;
};

class ModuleImpl final : public Module {
 public:
  /// `interp_tier` may be null only when `native` (native code from the cache at load) is set.
  ModuleImpl(EngineConfig config, std::string sha, std::string display_name,
             std::optional<Error> link_error, std::shared_ptr<CompiledTier> interp_tier,
             Bytes bytes, bool native_pending, std::shared_ptr<CompiledTier> native = {})
      : config_(std::move(config)),
        sha_(std::move(sha)),
        display_name_(std::move(display_name)),
        link_error_(std::move(link_error)),
        interp_(std::move(interp_tier)),
        bytes_(std::move(bytes)),
        native_state_(native           ? NativeState::kReady
                      : native_pending ? NativeState::kPending
                                       : NativeState::kFailed),
        native_(std::move(native)) {}

  Result<InvokeOutput> invoke(std::string_view operation, std::span<const std::uint8_t> payload,
                              const HostCallHandler& host_call, const LogHandler& log) override {
    const auto deadline = std::chrono::steady_clock::now() + config_.limits.deadline;
    if (link_error_) return fail(*link_error_);

    AbiCall abi(operation, payload, host_call, log);
    CallContext ctx{&abi, &log, deadline};

    std::shared_ptr<CompiledTier> tier = best_tier();
    // Traffic on the interpreter orders the compile queue (engine.h "Compile order").
    if (tier->tier() == Tier::kInterpreter) waiting_calls_.fetch_add(1, std::memory_order_relaxed);
    std::unique_ptr<TierInstance> instance;
    if (config_.reuse_instances) instance = take_pooled(tier.get());
    if (!instance) {
      auto created = tier->instantiate(config_.limits, ctx);
      if (!created) return fail(created.error());
      instance = std::move(*created);
      if (auto s = run_init_exports(*instance, ctx); !s) return fail(s.error());
    }

    auto rc = instance->call_guest_call(abi.operation_len(), abi.payload_len(), ctx);
    const bool healthy = rc.has_value();
    auto result = abi.finish(rc);
    if (config_.reuse_instances && healthy) give_back(tier.get(), std::move(instance));
    if (!result) return fail(result.error());
    return InvokeOutput{std::move(*result), tier->tier()};
  }

  Tier current_tier() const override {
    std::lock_guard lock(mu_);
    return native_ ? Tier::kNative : Tier::kInterpreter;
  }

  bool wait_native(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return native_state_ != NativeState::kPending; });
    return native_ != nullptr;
  }

  const std::string& sha256_hex() const override { return sha_; }

  /// Invocations served on the interpreter so far (the compile queue's priority).
  std::uint64_t waiting_calls() const { return waiting_calls_.load(std::memory_order_relaxed); }

  /// Runs on the compile thread.
  void compile_native(const std::atomic<bool>* cancel) {
    NativeCompileRequest request;
    {
      std::lock_guard lock(mu_);
      if (native_state_ != NativeState::kPending) return;
      request.wasm = bytes_;
    }
    request.sha256_hex = sha_;
    request.display_name = display_name_;
    request.limits = config_.limits;
    request.cache_dir = config_.cache_dir;
    request.c_compiler = config_.c_compiler;
    request.cancel = cancel;
    const auto t0 = std::chrono::steady_clock::now();
    auto compiled = native_compile(request);
    if (config_.on_native_compile && !cancel->load())  // not for a compile cut short
      config_.on_native_compile(std::chrono::steady_clock::now() - t0, compiled.has_value());
    std::lock_guard lock(mu_);
    if (compiled) {
      native_ = std::shared_ptr<CompiledTier>(std::move(*compiled));
      native_state_ = NativeState::kReady;
      spdlog::debug("{}: native tier ready", label());
    } else {
      native_state_ = NativeState::kFailed;
      spdlog::log(
          compiled.error().code == Code::kUnsupported ? spdlog::level::debug : spdlog::level::info,
          "{}: staying on the interpreter ({})", label(), compiled.error().message);
    }
    Bytes().swap(bytes_);
    cv_.notify_all();
  }

  /// The engine is going away before this module's native compile ran: stay on tier 0.
  void abandon_native() {
    std::lock_guard lock(mu_);
    if (native_state_ != NativeState::kPending) return;
    native_state_ = NativeState::kFailed;
    Bytes().swap(bytes_);
    cv_.notify_all();
  }

 private:
  enum class NativeState { kPending, kReady, kFailed };

  std::shared_ptr<CompiledTier> best_tier() const {
    std::lock_guard lock(mu_);
    return native_ ? native_ : interp_;
  }

  /// `_initialize` then `_start` when exported (spec 1.3 recommendation); WASI exit status 0
  /// from either is normal completion.
  static Status run_init_exports(TierInstance& instance, CallContext& ctx) {
    static const std::string kExitZero = std::string(kProcExitPrefix) + "0";
    for (std::string_view name : {"_initialize", "_start"}) {
      if (!instance.has_void_export(name)) continue;
      auto s = instance.call_void(name, ctx);
      if (!s && !(s.error().code == Code::kTrap && s.error().message == kExitZero))
        return fail(s.error());
    }
    return ok();
  }

  std::unique_ptr<TierInstance> take_pooled(const CompiledTier* tier) {
    std::lock_guard lock(mu_);
    while (!pool_.empty()) {
      auto [owner, inst] = std::move(pool_.back());
      pool_.pop_back();
      if (owner == tier) return std::move(inst);  // instances of a replaced tier are dropped
    }
    return nullptr;
  }

  void give_back(const CompiledTier* tier, std::unique_ptr<TierInstance> instance) {
    std::lock_guard lock(mu_);
    if (tier == (native_ ? native_.get() : interp_.get()))
      pool_.emplace_back(tier, std::move(instance));
  }

  /// "actor <display name>" or "wasm module <hash prefix>", for log lines.
  std::string label() const {
    return display_name_.empty() ? "wasm module " + sha_.substr(0, 12) : "actor " + display_name_;
  }

  std::atomic<std::uint64_t> waiting_calls_{0};  ///< see waiting_calls()
  const EngineConfig config_;
  const std::string sha_;
  const std::string display_name_;
  const std::optional<Error> link_error_;
  const std::shared_ptr<CompiledTier> interp_;  ///< null when native code came at load

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Bytes bytes_;  ///< kept until the native compile has run
  NativeState native_state_;
  std::shared_ptr<CompiledTier> native_;
  std::vector<std::pair<const CompiledTier*, std::unique_ptr<TierInstance>>> pool_;
};

std::shared_ptr<ModuleImpl> CompileQueue::take_next_locked() {
  // Unloaded modules leave; then: an entry overtaken kMaxOvertaken times, else the most
  // interpreter traffic, ties in load order (the deque's order).
  std::vector<std::shared_ptr<ModuleImpl>> live;
  live.reserve(queue_.size());
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (auto m = it->module.lock()) {
      live.push_back(std::move(m));
      ++it;
    } else {
      it = queue_.erase(it);
    }
  }
  if (queue_.empty()) return nullptr;
  std::size_t pick = 0;
  bool aged = false;
  for (std::size_t i = 0; i < queue_.size() && !aged; ++i)
    if (queue_[i].overtaken >= kMaxOvertaken) pick = i, aged = true;
  if (!aged)
    for (std::size_t i = 1; i < queue_.size(); ++i)
      if (live[i]->waiting_calls() > live[pick]->waiting_calls()) pick = i;
  for (std::size_t i = 0; i < pick; ++i) ++queue_[i].overtaken;  // loaded earlier, passed over
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(pick));
  return std::move(live[pick]);
}

void CompileQueue::run() {
  for (;;) {
    std::shared_ptr<ModuleImpl> module;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      module = take_next_locked();
    }
    if (module) module->compile_native(&cancel_);
  }
}

void CompileQueue::abandon_queued() {
  std::deque<Waiting> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (auto& waiting : left)
    if (auto module = waiting.module.lock()) module->abandon_native();
}

class EngineImpl final : public Engine {
 public:
  /// `cache_problem`: why the native-code cache is unusable (native tier off for this engine).
  EngineImpl(EngineConfig config, std::optional<std::string> cache_problem)
      : config_(std::move(config)), cache_problem_(std::move(cache_problem)) {}

  Result<std::shared_ptr<Module>> load(std::span<const std::uint8_t> bytes,
                                       std::string_view display_name) override {
    const std::string sha = hex_lower(sha256(bytes));
    if (config_.enable_native && !cache_problem_)
      if (auto module = load_cached(bytes, sha, display_name)) return module;

    auto validated = interp_validate(bytes);
    if (!validated) return fail(validated.error());
    const auto& info = validated->info;

    const auto* memory = find_export(info, "memory");
    if (memory == nullptr || memory->kind != interp::Kind::kMemory)
      return fail(Code::kInvalidArgument, "module does not export a memory named `memory`");
    const auto* guest_call = find_export(info, "__guest_call");
    if (guest_call == nullptr || guest_call->kind != interp::Kind::kFunc)
      return fail(Code::kInvalidArgument, "module does not export the function `__guest_call`");
    if (guest_call->sig.params != "ii" || guest_call->sig.results != "i")
      return fail(Code::kInvalidArgument,
                  "`__guest_call` has the wrong type (expected (i32, i32) -> i32)");
    if (info.memory_initial_pages * kPageSize > config_.limits.max_memory_bytes) {
      return fail(Code::kInvalidArgument,
                  "module declares " + std::to_string(info.memory_initial_pages) +
                      " pages of memory (" + std::to_string(info.memory_initial_pages * kPageSize) +
                      " bytes), over the instance memory cap of " +
                      std::to_string(config_.limits.max_memory_bytes) + " bytes");
    }

    // Imports: an unresolvable one fails every invocation (as 0.63 fails instantiation).
    std::optional<Error> link_error;
    std::vector<HostImport> imports;
    for (const auto& imp : info.imports) {
      Result<HostImport> r =
          imp.kind == interp::Kind::kFunc
              ? resolve_import(imp.module, imp.field, imp.sig.params, imp.sig.results)
              : fail(Code::kTrap, "unknown import: `" + imp.module + "::" + imp.field +
                                      "` has not been defined");
      if (!r) {
        if (!link_error) link_error = r.error();
        continue;
      }
      imports.push_back(*r);
    }

    std::shared_ptr<CompiledTier> interp;
    if (!link_error) interp = interp_tier(std::move(*validated), std::move(imports));
    const bool want_native = config_.enable_native && !link_error && !cache_problem_;
    if (config_.enable_native && !link_error && cache_problem_) {
      // No cache, no native code: counted as a failed native compile (logged once at create).
      spdlog::debug("{}: staying on the interpreter ({})",
                    display_name.empty() ? "wasm module " + sha.substr(0, 12)
                                         : "actor " + std::string(display_name),
                    *cache_problem_);
      if (config_.on_native_compile) config_.on_native_compile(std::chrono::seconds(0), false);
    }
    auto module = std::make_shared<ModuleImpl>(
        config_, sha, std::string(display_name), std::move(link_error), interp,
        want_native ? Bytes(bytes.begin(), bytes.end()) : Bytes{}, want_native);
    if (want_native) queue_.push(module);
    return std::shared_ptr<Module>(module);
  }

  const EngineConfig& config() const override { return config_; }

 private:
  /// A module on native code at once when the cache holds an object for exactly these bytes
  /// (engine.h Engine::load), else null (the full load follows). No wabt validation and no
  /// interpreter build: an object exists only for bytes wasm2c accepted, and the checks a load
  /// makes beyond validity are made on the object (native_compile's cache_only errors); any
  /// doubt falls back to the full load, which gives the exact error.
  std::shared_ptr<Module> load_cached(std::span<const std::uint8_t> bytes, const std::string& sha,
                                      std::string_view display_name) {
    NativeCompileRequest request;
    request.wasm = bytes;
    request.sha256_hex = sha;
    request.display_name = std::string(display_name);
    request.limits = config_.limits;
    request.cache_dir = config_.cache_dir;
    request.c_compiler = config_.c_compiler;
    request.cache_only = true;
    const auto t0 = std::chrono::steady_clock::now();
    auto native = native_compile(request);
    if (!native) {
      if (native.error().code != Code::kNotFound)
        spdlog::debug("{}: cached native code not used at load ({})",
                      display_name.empty() ? "wasm module " + sha.substr(0, 12)
                                           : "actor " + std::string(display_name),
                      native.error().message);
      return nullptr;
    }
    if (config_.on_native_compile)
      config_.on_native_compile(std::chrono::steady_clock::now() - t0, true);
    return std::make_shared<ModuleImpl>(config_, sha, std::string(display_name), std::nullopt,
                                        nullptr, Bytes{}, false,
                                        std::shared_ptr<CompiledTier>(std::move(*native)));
  }

  EngineConfig config_;
  const std::optional<std::string> cache_problem_;
  CompileQueue queue_;  ///< declared last: destroyed (its thread joined) first
};

}  // namespace

Result<std::shared_ptr<Engine>> Engine::create(EngineConfig config) {
  std::optional<std::string> cache_problem;
  if (config.enable_native) {
    if (config.cache_dir.empty()) {
      const char* xdg = std::getenv("XDG_CACHE_HOME");
      const char* home = std::getenv("HOME");
      std::filesystem::path base = xdg && *xdg     ? std::filesystem::path(xdg)
                                   : home && *home ? std::filesystem::path(home) / ".cache"
                                                   : std::filesystem::temp_directory_path();
      config.cache_dir = (base / "wasmcloud-cpp" / "native").string();
    }
    std::error_code ec;
    std::filesystem::create_directories(config.cache_dir, ec);
    if (ec) {
      cache_problem = "cannot create " + config.cache_dir + ": " + ec.message();
    } else if (::access(config.cache_dir.c_str(), W_OK | X_OK) != 0) {
      cache_problem = "cannot write to " + config.cache_dir + ": " + std::strerror(errno);
    }
    if (cache_problem)
      spdlog::warn("Native code cache unusable ({}); actors run on the interpreter",
                   *cache_problem);
  }
  if (config.limits.max_call_depth == 0) config.limits.max_call_depth = 1;
  return std::shared_ptr<Engine>(
      std::make_shared<EngineImpl>(std::move(config), std::move(cache_problem)));
}

}  // namespace wc::wasm
