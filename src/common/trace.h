// W3C Trace Context (https://www.w3.org/TR/trace-context/, level 1) for the lattice: the
// `traceparent` value `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, and the trace the
// current thread works for.
//
// Owned by src/common. A host continues the trace of a control request or invocation that
// arrives with a `traceparent` NATS header (same trace id, a new span id for its own work) and
// starts a new trace when the header is absent or malformed. While a trace::Scope is alive on a
// thread, log lines written on that thread carry `trace_id`/`span_id` (common/log.h) and the
// lattice layer sends the context on with what it publishes (lattice/nats.h
// current_trace_headers()).
//
// Thread-safety: the functions are pure or use thread-local state only; a Context is a plain
// value. Must compile with clang 14 in C++20 (fuzz build): no std::expected.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wc::trace {

/// One position in a trace: which trace, which span (the unit of work done here) and the W3C
/// trace flags (bit 0 = sampled). A valid Context has non-zero trace and span ids.
struct Context {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::uint8_t flags = 0;

  /// Both ids non-zero (W3C: all-zero ids are invalid).
  [[nodiscard]] bool valid() const;
  /// The trace id as 32 lower-case hex digits.
  [[nodiscard]] std::string trace_id_hex() const;
  /// The span id as 16 lower-case hex digits.
  [[nodiscard]] std::string span_id_hex() const;

  friend bool operator==(const Context&, const Context&) = default;
};

/// The NATS header (and HTTP header) name that carries a Context.
inline constexpr std::string_view kTraceparentHeader = "traceparent";

/// Parses a `traceparent` value. Accepts version 00 exactly (55 characters) and, as the W3C
/// rules for future versions ask, a higher version whose first 55 characters have the version 00
/// layout followed by end or '-'. Surrounding spaces/tabs are ignored. nullopt for anything else:
/// wrong length or separators, upper-case or non-hex digits, version "ff", all-zero trace or
/// span id.
std::optional<Context> parse_traceparent(std::string_view text);

/// `00-<trace id>-<span id>-<flags>` (55 characters, lower-case hex).
std::string format_traceparent(const Context& context);

/// A new trace: random non-zero trace and span ids, flags 01 (sampled: the host records it in
/// its logs).
Context new_trace();

/// The context for work done on behalf of `parent`: same trace id and flags, a new random span id.
Context child_of(const Context& parent);

/// child_of(parse_traceparent(*header)) when `header` holds a valid value, else new_trace().
/// Malformed input is ignored, never an error.
Context continue_or_start(std::optional<std::string_view> header);

/// The context the calling thread works for, nullptr outside any Scope.
const Context* current();

/// Makes `context` the calling thread's current context until destroyed, then restores the
/// previous one (scopes nest). Not movable; create and destroy on the same thread.
class Scope {
 public:
  explicit Scope(const Context& context);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Context previous_;
  bool had_previous_;
};

}  // namespace wc::trace
