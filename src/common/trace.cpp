// W3C traceparent parsing/formatting and the thread-local current trace (see trace.h).
#include "common/trace.h"

#include <chrono>
#include <random>
#include <thread>

namespace wc::trace {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// "00-" + 32 + "-" + 16 + "-" + 2
constexpr std::size_t kLength = 55;

thread_local Context tl_current;
thread_local bool tl_active = false;

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  std::string out(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

/// Lower-case hex digit value, -1 otherwise (W3C: upper case is invalid).
int digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool from_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = digit(text[2 * i]);
    const int lo = digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

/// Per-thread generator seeded from the OS and the thread; ids need uniqueness, not secrecy.
std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    std::seed_seq seq{
        rd(),
        rd(),
        rd(),
        rd(),
        static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id())),
        static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count())};
    return std::mt19937_64(seq);
  }());
  return gen;
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& out) {
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t v = rng()();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j)
        out[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  } while (all_zero(out));
}

}  // namespace

bool Context::valid() const { return !all_zero(trace_id) && !all_zero(span_id); }

std::string Context::trace_id_hex() const { return to_hex(trace_id); }

std::string Context::span_id_hex() const { return to_hex(span_id); }

std::optional<Context> parse_traceparent(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.size() < kLength) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!from_hex(text.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && text.size() != kLength) return std::nullopt;
  if (text.size() > kLength && text[kLength] != '-') return std::nullopt;
  if (text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  Context c;
  std::array<std::uint8_t, 1> flags{};
  if (!from_hex(text.substr(3, 32), c.trace_id) || !from_hex(text.substr(36, 16), c.span_id) ||
      !from_hex(text.substr(53, 2), flags))
    return std::nullopt;
  c.flags = flags[0];
  if (!c.valid()) return std::nullopt;
  return c;
}

std::string format_traceparent(const Context& context) {
  std::string out = "00-";
  out += context.trace_id_hex();
  out += '-';
  out += context.span_id_hex();
  out += '-';
  out += kHex[context.flags >> 4];
  out += kHex[context.flags & 0xf];
  return out;
}

Context new_trace() {
  Context c;
  fill_random(c.trace_id);
  fill_random(c.span_id);
  c.flags = 0x01;
  return c;
}

Context child_of(const Context& parent) {
  Context c = parent;
  const auto parent_span = parent.span_id;
  do {
    fill_random(c.span_id);
  } while (c.span_id == parent_span);
  return c;
}

Context continue_or_start(std::optional<std::string_view> header) {
  if (header) {
    if (auto parent = parse_traceparent(*header)) return child_of(*parent);
  }
  return new_trace();
}

const Context* current() { return tl_active ? &tl_current : nullptr; }

Scope::Scope(const Context& context) : previous_(tl_current), had_previous_(tl_active) {
  tl_current = context;
  tl_active = true;
}

Scope::~Scope() {
  tl_current = previous_;
  tl_active = had_previous_;
}

}  // namespace wc::trace
