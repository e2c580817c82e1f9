// The local lattice that `wasmcloud up` runs: where it keeps its data and its cluster seed, so
// that other subcommands on the same machine (`call`) can sign invocations its host accepts.
// Files: <data dir>/cluster.nk holds the cluster seed (SC..., mode 0600).
#pragma once

#include <string>

#include "common/error.h"

namespace wc::cli {

/// $XDG_DATA_HOME/wasmcloud-cpp, else ~/.local/share/wasmcloud-cpp, else ./wasmcloud-cpp-data.
std::string default_data_dir();

/// Path of the cluster seed file of the local lattice in `data_dir`.
std::string cluster_seed_path(const std::string& data_dir);

/// Reads the cluster seed kept in `data_dir`, or generates one and writes it (0600) when there is
/// none. Errors: kInvalidArgument (the file holds no valid cluster seed), kUnavailable (I/O).
Result<std::string> load_or_create_cluster_seed(const std::string& data_dir);

/// The cluster seed kept by `up` in the default data directory, or "" when there is none.
std::string find_local_cluster_seed();

}  // namespace wc::cli
