// Top-level wasm section walker and module hash (spec claims-oci-par.md 2.4, 2.5).
#include "wascap/wasm_sections.h"

#include "wascap/internal.h"

namespace wc::wascap {
namespace {

constexpr std::uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6d};
constexpr std::uint8_t kVersion1[4] = {0x01, 0x00, 0x00, 0x00};
constexpr std::uint8_t kMaxSectionId = 13;  // 13 = tag section (exception handling proposal)

Error parse_error(std::string message) { return Error{Code::kInvalidArgument, std::move(message)}; }

// Reads an unsigned LEB128 u32 at `pos` (advanced past it).
Result<std::uint32_t> read_u32(std::span<const std::uint8_t> in, std::size_t& pos) {
  std::uint32_t value = 0;
  for (int i = 0; i < 5; ++i) {
    if (pos >= in.size()) return fail(parse_error("unexpected end of module"));
    const std::uint8_t b = in[pos++];
    if (i == 4 && (b & 0xF0) != 0) return fail(parse_error("invalid LEB128 (u32 out of range)"));
    value |= static_cast<std::uint32_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) return value;
  }
  return fail(parse_error("invalid LEB128 (too long)"));
}

bool is_token_section(const Section& s) {
  return s.id == 0 && (s.name == kJwtSectionLegacy || s.name == kJwtSection);
}

void append_section(Bytes& out, std::uint8_t id, std::span<const std::uint8_t> payload) {
  out.push_back(id);
  write_leb128(out, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

}  // namespace

void write_leb128(Bytes& out, std::uint64_t value) {
  do {
    std::uint8_t b = value & 0x7F;
    value >>= 7;
    if (value != 0) b |= 0x80;
    out.push_back(b);
  } while (value != 0);
}

Result<std::vector<Section>> scan_sections(std::span<const std::uint8_t> module) {
  if (module.empty()) return fail(parse_error("unexpected end of module (empty input)"));
  for (std::size_t i = 0; i < 4 && i < module.size(); ++i) {
    if (module[i] != kMagic[i]) return fail(parse_error("magic header not detected"));
  }
  if (module.size() < 8) return fail(parse_error("unexpected end of module (header)"));
  for (std::size_t i = 0; i < 4; ++i) {
    if (module[4 + i] != kVersion1[i]) return fail(parse_error("unknown binary version"));
  }
  std::vector<Section> sections;
  std::size_t pos = 8;
  while (pos < module.size()) {
    Section s;
    s.offset = pos;
    s.id = module[pos++];
    if (s.id > kMaxSectionId) {
      return fail(parse_error("invalid section id " + std::to_string(s.id) + " at offset " +
                              std::to_string(s.offset)));
    }
    auto size = read_u32(module, pos);
    if (!size) return fail(size.error());
    if (*size > module.size() - pos) {
      return fail(parse_error("unexpected end of module: section size out of bounds at offset " +
                              std::to_string(s.offset)));
    }
    s.payload_offset = pos;
    s.payload_size = *size;
    if (s.id == 0) {
      const auto payload = module.subspan(s.payload_offset, s.payload_size);
      std::size_t p = 0;
      auto name_len = read_u32(payload, p);
      if (!name_len) return fail(parse_error("custom section name out of bounds"));
      if (*name_len > payload.size() - p) {
        return fail(parse_error("custom section name out of bounds"));
      }
      s.name.assign(reinterpret_cast<const char*>(payload.data() + p), *name_len);
      if (!internal::is_valid_utf8(s.name)) {
        return fail(parse_error("malformed UTF-8 in custom section name"));
      }
      s.data_offset = s.payload_offset + p + *name_len;
    } else {
      s.data_offset = s.end();
    }
    pos = s.end();
    sections.push_back(std::move(s));
  }
  return sections;
}

Result<std::optional<std::string>> find_token(std::span<const std::uint8_t> module) {
  auto sections = scan_sections(module);
  if (!sections) return fail(sections.error());
  for (const Section& s : *sections) {
    if (is_token_section(s)) {
      return std::optional<std::string>(to_string(module.subspan(s.data_offset, s.data_size())));
    }
  }
  return std::optional<std::string>{};
}

Result<Bytes> strip_token_sections(std::span<const std::uint8_t> module) {
  auto sections = scan_sections(module);
  if (!sections) return fail(sections.error());
  Bytes out(module.begin(), module.begin() + 8);
  out.reserve(module.size());
  for (const Section& s : *sections) {
    if (is_token_section(s)) continue;
    append_section(out, s.id, module.subspan(s.payload_offset, s.payload_size));
  }
  return out;
}

Result<std::string> module_hash(std::span<const std::uint8_t> module) {
  auto stripped = strip_token_sections(module);
  if (!stripped) return fail(stripped.error());
  return hex_upper(sha256(*stripped));
}

Bytes append_custom_section(std::span<const std::uint8_t> module, std::string_view name,
                            std::span<const std::uint8_t> data) {
  Bytes payload;
  payload.reserve(name.size() + data.size() + 5);
  write_leb128(payload, name.size());
  payload.insert(payload.end(), name.begin(), name.end());
  payload.insert(payload.end(), data.begin(), data.end());
  Bytes out(module.begin(), module.end());
  append_section(out, 0, payload);
  return out;
}

Result<Bytes> embed_token(std::span<const std::uint8_t> module, std::string_view token) {
  auto stripped = strip_token_sections(module);
  if (!stripped) return fail(stripped.error());
  return append_custom_section(*stripped, kJwtSection, as_bytes(token));
}

}  // namespace wc::wascap
