// Placeholder: replaced by the real subcommand.
#include "cli/commands.h"

namespace wc::cli {
void register_claims(CLI::App& app) { (void)app; }
}  // namespace wc::cli
