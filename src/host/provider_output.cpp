// ProviderOutputSplitter (provider_output.h).
#include "host/provider_output.h"

namespace wc::host {

void ProviderOutputSplitter::feed(std::string_view chunk, const Emit& emit) {
  buf_.append(chunk);
  std::size_t start = 0, pos;
  while ((pos = buf_.find('\n', start)) != std::string::npos) {
    std::string_view line = std::string_view(buf_).substr(start, pos - start);
    // A complete line over the cap (its '\n' can arrive in the read that crossed the cap) is
    // cut exactly like a line still being read.
    while (line.size() > kMaxProviderLine) {
      emit(line.substr(0, kMaxProviderLine));
      line.remove_prefix(kMaxProviderLine);
    }
    emit(line);
    start = pos + 1;
  }
  buf_.erase(0, start);
  while (buf_.size() >= kMaxProviderLine) {
    emit(std::string_view(buf_).substr(0, kMaxProviderLine));
    buf_.erase(0, kMaxProviderLine);
  }
}

void ProviderOutputSplitter::finish(const Emit& emit) {
  if (!buf_.empty()) emit(buf_);
  buf_.clear();
}

}  // namespace wc::host
