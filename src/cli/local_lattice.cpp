#include "cli/local_lattice.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "common/encoding.h"
#include "wascap/nkeys.h"

namespace wc::cli {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string default_data_dir() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/wasmcloud-cpp";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/share/wasmcloud-cpp";
  return "./wasmcloud-cpp-data";
}

std::string cluster_seed_path(const std::string& data_dir) { return data_dir + "/cluster.nk"; }

Result<std::string> load_or_create_cluster_seed(const std::string& data_dir) {
  const std::string path = cluster_seed_path(data_dir);
  if (auto bytes = read_file(path)) {
    std::string seed = trimmed(to_string(*bytes));
    auto key = wascap::KeyPair::from_seed(seed);
    if (!key || key->type() != wascap::KeyType::kCluster) {
      return fail(Code::kInvalidArgument, path + " does not hold a cluster seed (SC...)");
    }
    return seed;
  } else if (bytes.error().code != Code::kNotFound) {
    return fail(bytes.error());
  }
  std::string seed = wascap::KeyPair::generate(wascap::KeyType::kCluster).seed() + "\n";
  const mode_t old_mask = ::umask(077);  // the seed file is created 0600, never readable by others
  auto st = write_file(path, as_bytes(seed));
  ::umask(old_mask);
  if (!st) return fail(st.error());
  return trimmed(seed);
}

std::string find_local_cluster_seed() {
  auto bytes = read_file(cluster_seed_path(default_data_dir()));
  return bytes ? trimmed(to_string(*bytes)) : std::string();
}

}  // namespace wc::cli
