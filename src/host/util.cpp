#include "host/util.h"

#include <sodium.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace wc::host {

std::string uptime_human(std::uint64_t seconds) {
  struct Unit {
    const char* name;
    std::uint64_t secs;
  };
  static constexpr Unit kUnits[] = {
      {"year", 365ull * 86400}, {"month", 30ull * 86400}, {"week", 7ull * 86400}, {"day", 86400},
      {"hour", 3600},           {"minute", 60},           {"second", 1}};
  std::string out;
  for (const auto& u : kUnits) {
    std::uint64_t n = seconds / u.secs;
    seconds %= u.secs;
    if (n == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + " " + u.name + (n == 1 ? "" : "s");
  }
  return out;
}

std::string inspect(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\x1b':
        out += "\\e";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string friendly_name() {
  static constexpr std::array<const char*, 32> kAdjectives = {
      "autumn",  "hidden",   "bitter",   "misty",   "silent", "empty",     "dry",    "dark",
      "summer",  "icy",      "delicate", "quiet",   "white",  "cool",      "spring", "winter",
      "patient", "twilight", "dawn",     "crimson", "wispy",  "weathered", "blue",   "billowing",
      "broken",  "cold",     "damp",     "falling", "frosty", "green",     "long",   "fragrant"};
  static constexpr std::array<const char*, 32> kNouns = {
      "waterfall", "river", "breeze", "moon",   "rain",   "wind",  "sea",    "morning",
      "snow",      "lake",  "sunset", "pine",   "shadow", "leaf",  "dawn",   "glitter",
      "forest",    "hill",  "cloud",  "meadow", "sun",    "glade", "bird",   "brook",
      "butterfly", "bush",  "dew",    "dust",   "field",  "fire",  "flower", "firefly"};
  if (sodium_init() < 0) std::abort();
  std::string out = kAdjectives[randombytes_uniform(kAdjectives.size())];
  out += "-";
  out += kNouns[randombytes_uniform(kNouns.size())];
  out += "-" + std::to_string(1 + randombytes_uniform(9999));
  return out;
}

bool parse_bool(std::string_view value) {
  std::string up;
  for (char c : value) up += static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return up == "1" || up == "TRUE" || up == "YES" || up == "Y" || up == "ENABLED" || up == "ENABLE";
}

}  // namespace wc::host
