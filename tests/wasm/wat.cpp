// wat_to_wasm over libwabt's text parser and binary writer (see wat.h).
#include "wat.h"

#include "wabt/binary-writer.h"
#include "wabt/error-formatter.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"
#include "wabt/wast-lexer.h"
#include "wabt/wast-parser.h"

namespace wc::wasm::testing {

std::vector<std::uint8_t> wat_to_wasm(const std::string& wat, std::string* error, bool validate) {
  wabt::Errors errors;
  wabt::Features features;
  auto lexer = wabt::WastLexer::CreateBufferLexer("test.wat", wat.data(), wat.size(), &errors);
  std::unique_ptr<wabt::Module> module;
  wabt::WastParseOptions parse_options(features);
  wabt::Result result = wabt::ParseWatModule(lexer.get(), &module, &errors, &parse_options);
  if (wabt::Succeeded(result) && validate) {
    wabt::ValidateOptions options(features);
    result = wabt::ValidateModule(module.get(), &errors, options);
  }
  std::vector<std::uint8_t> out;
  if (wabt::Succeeded(result)) {
    wabt::MemoryStream stream;
    wabt::WriteBinaryOptions write_options;
    write_options.features = features;
    result = wabt::WriteBinaryModule(&stream, module.get(), write_options);
    if (wabt::Succeeded(result)) out = stream.output_buffer().data;
  }
  if (wabt::Failed(result) && error != nullptr) {
    auto finder = lexer->MakeLineFinder();
    *error = wabt::FormatErrorsToString(errors, wabt::Location::Type::Text, finder.get());
  }
  return out;
}

}  // namespace wc::wasm::testing
