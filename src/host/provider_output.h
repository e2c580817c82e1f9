// Splits a capability provider's stdout or stderr bytes into the lines the host re-logs.
//
// Owned by src/host (the provider supervisor's reader thread, providers.cpp relay_output, holds
// one per stream). Not thread-safe: one reader feeds it. Rule (ours, issue #17.6): a line ends at
// '\n' (a trailing '\r' is the caller's to drop); a line longer than kMaxProviderLine bytes is
// emitted in pieces of at most kMaxProviderLine bytes, wherever the reads that brought it ended,
// so that a provider cannot make the host hold or log an unbounded line.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace wc::host {

/// Longest piece of provider output logged as one line, in bytes.
inline constexpr std::size_t kMaxProviderLine = 16 * 1024;

/// Accumulates the bytes of one output stream and emits its lines (see the header comment).
class ProviderOutputSplitter {
 public:
  /// Receives each line or piece (without its '\n'); the view is valid during the call only.
  using Emit = std::function<void(std::string_view)>;

  /// Appends `chunk` (any length, any split) and emits every line or full piece it completes.
  void feed(std::string_view chunk, const Emit& emit);
  /// End of stream: emits what is left (a last line without '\n'), if anything.
  void finish(const Emit& emit);
  /// Bytes held, waiting for their '\n' (always < kMaxProviderLine between calls).
  std::size_t pending() const { return buf_.size(); }

 private:
  std::string buf_;
};

}  // namespace wc::host
