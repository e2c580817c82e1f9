// Top-level section walker over raw WebAssembly bytes: find, strip and append custom sections
// and compute the wascap module hash (spec claims-oci-par.md 2.4, 2.5).
//
// Owned by src/wascap. NOT a wasm validator (the runtime validates): it checks the magic and
// version, section ids, LEB128 sizes and bounds, and custom-section names, nothing inside
// sections. Every input byte is bounds-checked; truncation anywhere is an error, never a crash.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::wascap {

/// Custom section names that carry a claims token (spec 2.4).
inline constexpr std::string_view kJwtSectionLegacy = "jwt";
inline constexpr std::string_view kJwtSection = "wasmcloud_jwt";

/// One top-level section, as offsets into the scanned buffer.
struct Section {
  std::uint8_t id = 0;             ///< section id (0 = custom, 1..13 known ids)
  std::size_t offset = 0;          ///< offset of the id byte
  std::size_t payload_offset = 0;  ///< offset of the first payload byte (after the size LEB)
  std::size_t payload_size = 0;    ///< payload length in bytes
  std::string name;                ///< custom sections only: the section name
  std::size_t data_offset = 0;     ///< custom sections only: first byte after the name

  /// Offset one past the section's last byte.
  std::size_t end() const { return payload_offset + payload_size; }
  /// Custom section contents after the name (empty for other sections).
  std::size_t data_size() const { return id == 0 ? end() - data_offset : 0; }
};

/// Walks the top-level sections. Errors (Code::kInvalidArgument, short parser messages such as
/// "unexpected end of module", "magic header not detected", "unknown wasm version",
/// "invalid section id 14", "invalid LEB128", "section size out of bounds",
/// "custom section name out of bounds").
Result<std::vector<Section>> scan_sections(std::span<const std::uint8_t> module);

/// The contents of the first custom section named `jwt` or `wasmcloud_jwt` (spec 2.4), or
/// nullopt when the module has none. Errors: scan_sections() errors.
Result<std::optional<std::string>> find_token(std::span<const std::uint8_t> module);

/// The module without any `jwt` / `wasmcloud_jwt` custom section, every remaining section
/// re-emitted with a minimal LEB128 size (spec 2.5 step 2). Errors: scan_sections() errors.
Result<Bytes> strip_token_sections(std::span<const std::uint8_t> module);

/// Upper-case hex SHA-256 of strip_token_sections() (spec 2.5; 64 characters).
Result<std::string> module_hash(std::span<const std::uint8_t> module);

/// Appends a custom section `name` with contents `data`, minimal LEB128 lengths. No checks.
Bytes append_custom_section(std::span<const std::uint8_t> module, std::string_view name,
                            std::span<const std::uint8_t> data);

/// Signer's embedding (spec 2.4): strip all token sections, then append one `wasmcloud_jwt`
/// section holding `token`. Errors: scan_sections() errors.
Result<Bytes> embed_token(std::span<const std::uint8_t> module, std::string_view token);

/// Minimal unsigned LEB128 encoding of `value`, appended to `out`.
void write_leb128(Bytes& out, std::uint64_t value);

}  // namespace wc::wascap
