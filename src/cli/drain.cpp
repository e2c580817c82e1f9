// `wasmcloud drain native|oci|all`: empties the cache directories a host writes, as wash's
// `drain` does for its caches, and prints what was removed. The directories are the host's
// defaults (src/host/config.h: an empty oci_cache_dir / native_cache_dir means the library
// default) unless `--oci-cache-dir` / `--native-cache-dir` name the ones a host was started with:
//   oci     the OCI artifact cache: $TMPDIR (or /tmp) + /wasmcloud_ocicache
//   (oci::default_cache_dir) native  the native-code cache: $XDG_CACHE_HOME, else ~/.cache, +
//   /wasmcloud-cpp/native (the
//           default of wasm::Engine::create)
// The directory itself is kept; a missing one has nothing to remove. A running host fetches or
// compiles again what it needs.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "oci/client.h"

namespace wc::cli {
namespace {

namespace fs = std::filesystem;

struct DrainArgs {
  std::string what;
  std::string oci_dir, native_dir;  ///< empty = the host's defaults
  std::string output = "text";
};

/// The native-code cache directory of a host started without --native-cache-dir (the same rule
/// as wasm::Engine::create's default).
std::string default_native_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path base = xdg && *xdg     ? fs::path(xdg)
                        : home && *home ? fs::path(home) / ".cache"
                                        : fs::temp_directory_path();
  return (base / "wasmcloud-cpp" / "native").string();
}

/// "0 bytes", "1.5 KiB", "12.0 MiB".
std::string size_text(std::uintmax_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  const char* units[] = {"KiB", "MiB", "GiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 2) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

/// What draining one directory removed.
struct Drained {
  std::string cache;  ///< "oci" or "native"
  std::string label;  ///< "OCI cache"
  std::string path;
  bool existed = false;
  std::uintmax_t files = 0, bytes = 0;
};

/// Ends the command unless `d.path` may be emptied: never the root directory nor $HOME (a
/// mistyped flag must not empty them). Called for every directory before any is drained.
void check_drainable(const Drained& d, bool json) {
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(d.path, ec);
  const char* home = std::getenv("HOME");
  if (d.path.empty() || dir == dir.root_path() ||
      (home && *home && dir == fs::weakly_canonical(home, ec)))
    die("Refusing to drain " + d.path + " (" + d.label + "): it is not a cache directory", json);
}

/// Removes every entry of `d.path` (not the directory itself), counting the regular files and
/// their bytes.
void drain_dir(Drained& d, bool json) {
  std::error_code ec;
  if (!fs::is_directory(d.path, ec)) return;
  d.existed = true;
  for (fs::directory_iterator it(d.path, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path entry = it->path();
    for (fs::recursive_directory_iterator r(entry, ec), rend; !ec && r != rend; r.increment(ec))
      if (r->is_regular_file(ec)) {
        ++d.files;
        d.bytes += r->file_size(ec);
      }
    if (it->is_regular_file(ec)) {
      ++d.files;
      d.bytes += it->file_size(ec);
    }
    ec.clear();
    fs::remove_all(entry, ec);
    if (ec) die("Cannot remove " + entry.string() + " (" + d.label + "): " + ec.message(), json);
  }
  if (ec) die("Cannot read " + d.path + " (" + d.label + "): " + ec.message(), json);
}

void drain(const DrainArgs& a) {
  const bool json = a.output == "json";
  std::vector<Drained> caches;
  if (a.what == "oci" || a.what == "all")
    caches.push_back(
        {"oci", "OCI cache", a.oci_dir.empty() ? oci::default_cache_dir() : a.oci_dir});
  if (a.what == "native" || a.what == "all")
    caches.push_back({"native", "native-code cache",
                      a.native_dir.empty() ? default_native_cache_dir() : a.native_dir});
  for (const auto& d : caches) check_drainable(d, json);
  for (auto& d : caches) drain_dir(d, json);
  if (json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& d : caches)
      list.push_back(
          {{"cache", d.cache}, {"path", d.path}, {"files", d.files}, {"bytes", d.bytes}});
    std::cout << nlohmann::ordered_json{{"success", true}, {"drained", list}}.dump() << "\n";
    return;
  }
  for (const auto& d : caches) {
    if (!d.existed)
      std::cout << "Nothing to remove from the " << d.label << ": " << d.path
                << " does not exist\n";
    else
      std::cout << "Removed " << d.files << " file(s), " << size_text(d.bytes) << ", from the "
                << d.label << " " << d.path << "\n";
  }
}

}  // namespace

void register_drain(CLI::App& app) {
  auto a = std::make_shared<DrainArgs>();
  auto* cmd = app.add_subcommand(
      "drain", "Empty the caches a host writes: native (compiled actors), oci (pulled artifacts)");
  cmd->add_option("cache", a->what, "Which cache: native, oci or all")
      ->required()
      ->check(CLI::IsMember({"native", "oci", "all"}));
  cmd->add_option(
      "--oci-cache-dir", a->oci_dir,
      "OCI cache directory (default: the host's, $TMPDIR or /tmp + /wasmcloud_ocicache)");
  cmd->add_option("--native-cache-dir", a->native_dir,
                  "Native-code cache directory (default: the host's, "
                  "$XDG_CACHE_HOME or ~/.cache + /wasmcloud-cpp/native)");
  add_output_option(cmd, a->output);
  cmd->callback([a] { drain(*a); });
}

}  // namespace wc::cli
