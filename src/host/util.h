// Small pure helpers of the host (UUIDs and timestamps come from lattice/cloudevent.h): uptime
// text, Elixir-style "inspect" rendering of error strings, friendly names, boolean parsing.
//
// Owned by src/host. All functions are thread-safe (randomness from libsodium).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wc::host {

/// Uptime text of control-interface 1.1: greedy years (365 d), months (30 d), weeks, days, hours,
/// minutes, seconds; zero parts dropped; "<n> <unit>" plural with "s"; joined by ", ".
/// 182 -> "3 minutes, 2 seconds"; 0 -> "".
std::string uptime_human(std::uint64_t seconds);

/// Elixir `inspect/1` of a string (control-interface 0): wrapped in double quotes with `\` and `"`
/// escaped and control characters escaped (`\n`, `\t`, `\r`, other < 0x20 as `\x{..}`).
std::string inspect(std::string_view text);

/// A random `<adjective>-<noun>-<1..9999>` name (control-interface 1.1).
std::string friendly_name();

/// Boolean parsing of control-interface 1.4: upper-cased (not trimmed) value compared with
/// 1, TRUE, YES, Y, ENABLED, ENABLE.
bool parse_bool(std::string_view value);

}  // namespace wc::host
