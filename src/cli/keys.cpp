// Placeholder: replaced by the real subcommand.
#include "cli/commands.h"

namespace wc::cli {
void register_keys(CLI::App& app) { (void)app; }
}  // namespace wc::cli
