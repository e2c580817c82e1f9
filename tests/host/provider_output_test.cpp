// Unit tests of src/host/provider_output.h: how provider output bytes become logged lines,
// whatever the reads that bring them.
#include "host/provider_output.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using wc::host::kMaxProviderLine;
using wc::host::ProviderOutputSplitter;

namespace {

/// Feeds `bytes` in chunks of `chunk` bytes, then ends the stream; returns what was emitted.
std::vector<std::string> split(const std::string& bytes, std::size_t chunk) {
  std::vector<std::string> out;
  auto emit = [&](std::string_view l) { out.emplace_back(l); };
  ProviderOutputSplitter s;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    s.feed(std::string_view(bytes).substr(i, chunk), emit);
    EXPECT_LT(s.pending(), kMaxProviderLine);
  }
  s.finish(emit);
  return out;
}

}  // namespace

TEST(ProviderOutput, LinesEndAtNewlineWhateverTheReads) {
  const std::string text = "first\nsecond line\n\nlast without newline";
  const std::vector<std::string> want{"first", "second line", "", "last without newline"};
  for (std::size_t chunk : {1u, 2u, 5u, 4096u}) EXPECT_EQ(split(text, chunk), want) << chunk;
}

// The defect a loaded CI run showed (ProviderOutputIsRelayedThroughTheHostLogger): a 20,000-byte
// line whose '\n' arrived in the same 4 KiB read that took the buffer past the cap was logged
// whole. Every chunking must give the same pieces.
TEST(ProviderOutput, LongLineIsCutAtTheCapWhateverTheReads) {
  const std::string text = "plain stdout line\n" + std::string(20000, 'x') + "\n";
  const std::vector<std::string> want{"plain stdout line", std::string(kMaxProviderLine, 'x'),
                                      std::string(20000 - kMaxProviderLine, 'x')};
  for (std::size_t chunk : {1u, 4096u, 7000u, 20019u, 65536u})
    EXPECT_EQ(split(text, chunk), want) << "chunk " << chunk;
}

TEST(ProviderOutput, LineOfExactlyTheCapIsOnePieceAndAnEmptyRest) {
  // The cap is reached before the '\n' is seen (chunk 1): the piece goes out, then the empty
  // remainder ends at the newline. With the newline in the same read, the same two results.
  const std::string text = std::string(kMaxProviderLine, 'y') + "\n";
  const std::vector<std::string> want{std::string(kMaxProviderLine, 'y'), ""};
  EXPECT_EQ(split(text, 1), want);
  EXPECT_EQ(split(text, text.size()),
            (std::vector<std::string>{std::string(kMaxProviderLine, 'y')}));
}

TEST(ProviderOutput, EndOfStreamWithNothingPendingEmitsNothing) {
  EXPECT_TRUE(split("", 4096).empty());
  EXPECT_EQ(split("a\n", 4096), (std::vector<std::string>{"a"}));
}
