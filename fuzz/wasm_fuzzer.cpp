// libFuzzer harness for actor module loading (src/wasm engine.h): wc::wasm::Engine::load on the
// interpreter tier (native tier off) must return a Module or a wc::Error for arbitrary bytes,
// never crash. A module that loads is invoked once, with small limits (4 MiB of linear memory,
// a 50 ms budget, call depth 1000) and a host-call handler that refuses every call: the
// invocation must end with a response or a wc::Error (trap, deadline, actor error), never take
// the process down.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "wasm/engine.h"

namespace {

std::shared_ptr<wc::wasm::Engine> make_engine() {
  wc::wasm::EngineConfig config;
  config.enable_native = false;
  config.limits.max_memory_bytes = 4u << 20;
  config.limits.max_call_depth = 1000;
  config.limits.deadline = std::chrono::milliseconds(50);
  auto engine = wc::wasm::Engine::create(config);
  if (!engine) __builtin_trap();
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::shared_ptr<wc::wasm::Engine> engine = make_engine();
  auto module = engine->load(std::span<const std::uint8_t>(data, size));
  if (!module) return 0;
  const std::uint8_t payload[] = {0x80};
  auto out = (*module)->invoke(
      "Fuzz.Operation", payload,
      [](const wc::wasm::HostCall&) -> wc::Result<wc::Bytes> {
        return wc::fail(wc::Code::kUnavailable, "no host calls while fuzzing");
      },
      [](std::string_view, std::string_view) {});
  if (out && out->tier != wc::wasm::Tier::kInterpreter) __builtin_trap();
  return 0;
}
