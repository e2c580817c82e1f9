// `wasmcloud reg push|pull`: upload an actor or provider archive to an OCI registry and download
// one, after wash's `reg` subcommands (claims-oci-par.md 4.11). Thin layer over wc_oci.
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keyfiles.h"
#include "cli/output.h"
#include "common/encoding.h"
#include "oci/client.h"
#include "oci/errors.h"

namespace wc::cli {
namespace {

struct RegFlags {
  std::string url;
  bool insecure = false;
  bool allow_latest = false;
  std::string user, password;
  std::string ca_file;
};

void add_common(CLI::App* cmd, RegFlags& f) {
  cmd->add_option("url", f.url, "Artifact reference, e.g. localhost:5000/echo:0.3.4")->required();
  cmd->add_flag("--insecure", f.insecure, "Use plain HTTP for this registry");
  cmd->add_flag("--allow-latest", f.allow_latest, "Allow the tag 'latest'");
  cmd->add_option("-u,--user", f.user, "Registry user name")->envname("WASH_REG_USER");
  cmd->add_option("-p,--password", f.password, "Registry password")->envname("WASH_REG_PASSWORD");
  cmd->add_option("--ca-file", f.ca_file, "PEM CA bundle for HTTPS registries");
}

std::optional<oci::BasicAuth> basic_of(const RegFlags& f) {
  if (f.user.empty() && f.password.empty()) return std::nullopt;
  return oci::BasicAuth{f.user, f.password};
}

// Actor = a wasm module; provider = a provider archive (gzip or tar). Claims are validated by
// the host on start, not here.
std::optional<oci::ArtifactKind> classify(const Bytes& b) {
  if (b.size() >= 4 && b[0] == 0 && b[1] == 'a' && b[2] == 's' && b[3] == 'm')
    return oci::ArtifactKind::kActor;
  if (b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) return oci::ArtifactKind::kProvider;
  if (b.size() >= 262 &&
      std::string_view(reinterpret_cast<const char*>(b.data()) + 257, 5) == "ustar")
    return oci::ArtifactKind::kProvider;
  return std::nullopt;
}

/// "12.3 MiB" style size.
std::string human_size(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  }
  return buf;
}

/// Progress of `reg pull` on stderr (issue #17.5): on a terminal one line redrawn at most every
/// 100 ms; otherwise a plain line every 2 s, so a quick pull prints nothing there.
class PullProgressPrinter {
 public:
  explicit PullProgressPrinter(std::string url)
      : url_(std::move(url)), tty_(::isatty(STDERR_FILENO) == 1) {}

  /// oci::PullProgress.
  void update(std::uint64_t received, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    received_ = received;
    total_ = total;
    if (!started_) {
      started_ = true;
      last_ = now;
      if (tty_) draw();
      return;
    }
    if (now - last_ < (tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000)))
      return;
    last_ = now;
    draw();
  }

  /// Ends the terminal line (after a success, the full size).
  void finish(bool success) {
    if (!tty_ || !started_) return;
    if (success && total_ > 0) received_ = total_;
    draw();
    std::cerr << "\n" << std::flush;
  }

 private:
  void draw() {
    std::string text = "Pulling " + url_ + ": " + human_size(received_);
    if (total_ > 0)
      text += " of " + human_size(total_) + " (" + std::to_string(received_ * 100 / total_) + "%)";
    if (tty_)
      std::cerr << "\r\x1b[2K" << text << std::flush;  // carriage return, erase the line
    else
      std::cerr << text << "\n" << std::flush;
  }

  const std::string url_;
  const bool tty_;
  bool started_ = false;
  std::uint64_t received_ = 0, total_ = 0;
  std::chrono::steady_clock::time_point last_;
};

/// The reference as typed, lower-cased, with one leading `oci://`, `https://` or `http://`
/// removed, as the host and the dashboard accept them (#12.10, wasmCloud #776, wash #219);
/// `http://` also sets `insecure` (plain HTTP for that registry, as --insecure does).
std::string typed_reference(const std::string& raw, bool& insecure) {
  const std::string url = oci::to_lower(raw);
  if (url.starts_with("http://")) {
    insecure = true;
    return url.substr(7);
  }
  for (std::string_view scheme : {"oci://", "https://"})
    if (url.starts_with(scheme)) return url.substr(scheme.size());
  return url;
}

void run_push(const RegFlags& f, const std::string& artifact, const std::string& config,
              const std::vector<std::string>& annotations, const std::string& output) {
  const bool json = output == "json";
  bool insecure = f.insecure;
  const std::string url = typed_reference(f.url, insecure);
  if (url.starts_with("localhost:") && !insecure)
    std::cerr << "Warning:" << oci::errors::kLocalhostInsecureWarning << "\n";
  auto ref = oci::parse_reference(url);
  if (!ref) die(ref.error().message, json);
  if (ref->tag == "latest" && !f.allow_latest)
    die(std::string(oci::errors::kPushLatestProhibited), json);
  auto bytes = read_file(artifact);
  if (!bytes) die(bytes.error().message, json);
  auto kind = classify(*bytes);
  if (!kind) die(std::string(oci::errors::kUnsupportedArtifact), json);

  oci::PushOptions o;
  o.kind = *kind;
  o.allow_latest = f.allow_latest;
  o.basic = basic_of(f);
  if (insecure) o.allowed_insecure = {ref->http_host()};
  if (!config.empty()) {
    auto c = read_file(config);
    if (!c) die(c.error().message, json);
    o.config = std::move(*c);
  }
  for (const auto& a : annotations) {
    auto eq = a.find('=');
    if (eq == std::string::npos) die(std::string(oci::errors::kBadAnnotation), json);
    o.annotations[a.substr(0, eq)] = a.substr(eq + 1);
  }
  oci::Client client(oci::ClientOptions{.ca_file = f.ca_file});
  auto r = client.push(url, *bytes, o);
  if (!r) die(r.error().message, json);
  if (json) {
    std::cout
        << nlohmann::json{{"url", url}, {"digest", r->manifest_digest}, {"success", true}}.dump()
        << "\n";
  } else {
    std::cout << "\U0001F6BF Successfully validated and pushed to " << url << "\n"
              << "Digest: " << r->manifest_digest << "\n";
  }
}

void run_pull(const RegFlags& f, std::string destination, std::string digest, bool json) {
  bool insecure = f.insecure;
  const std::string url = typed_reference(f.url, insecure);
  auto ref = oci::parse_reference(url);
  if (!ref) die(ref.error().message, json);
  if (ref->tag_implicit && !f.allow_latest) die(std::string(oci::errors::kPullMissingTag), json);
  if (ref->tag == "latest" && !f.allow_latest)
    die(std::string(oci::errors::kPullLatestProhibited), json);

  oci::PullOptions o;
  o.allow_latest = true;  // checked above with wash's texts
  o.basic = basic_of(f);
  o.use_env_credentials = false;
  o.cache = oci::CachePolicy::kNone;
  if (insecure) o.allowed_insecure = {ref->http_host()};
  // Progress goes to stderr, never with -o json (stderr then holds only the JSON error).
  PullProgressPrinter progress(url);
  if (!json)
    o.progress = [&progress](std::uint64_t received, std::uint64_t total) {
      progress.update(received, total);
    };
  oci::Client client(oci::ClientOptions{.ca_file = f.ca_file});
  auto r = client.pull(url, o);
  progress.finish(r.has_value());
  if (!r) die(r.error().message, json);
  if (!digest.empty()) {
    if (!digest.starts_with("sha256:")) digest = "sha256:" + digest;
    if (digest != r->digest) die(std::string(oci::errors::kDigestDidNotMatch), json);
  }
  if (destination.empty()) {
    std::string last = ref->repository.substr(ref->repository.rfind('/') + 1);
    destination = last + (r->media_type == oci::media::kProviderLayer ? ".par.gz" : ".wasm");
  }
  if (auto w = write_file(destination, r->bytes); !w) die(w.error().message, json);
  if (json) {
    std::cout
        << nlohmann::json{{"file", destination}, {"digest", r->digest}, {"success", true}}.dump()
        << "\n";
  } else {
    std::cout << "\U0001F6BF Successfully pulled and validated " << destination << "\n"
              << "Digest: " << r->digest << "\n";
  }
}

}  // namespace

void register_reg(CLI::App& app) {
  CLI::App* reg = app.add_subcommand("reg", "Push and pull actors and providers to OCI registries");
  reg->require_subcommand(1);

  auto push_flags = std::make_shared<RegFlags>();
  auto artifact = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  auto annotations = std::make_shared<std::vector<std::string>>();
  auto output = std::make_shared<std::string>("text");
  CLI::App* push =
      reg->add_subcommand("push", "Push an actor (.wasm) or provider archive (.par.gz)");
  add_common(push, *push_flags);
  push->add_option("artifact", *artifact, "Path to the artifact")->required();
  push->add_option("-c,--config", *config, "Config blob file (default {})");
  push->add_option("-a,--annotation", *annotations, "Manifest annotation label=value");
  add_output_option(push, *output);
  push->callback([=] { run_push(*push_flags, *artifact, *config, *annotations, *output); });

  auto pull_flags = std::make_shared<RegFlags>();
  auto destination = std::make_shared<std::string>();
  auto digest = std::make_shared<std::string>();
  auto pull_output = std::make_shared<std::string>("text");
  CLI::App* pull = reg->add_subcommand("pull", "Pull an artifact and write it to a file");
  add_common(pull, *pull_flags);
  pull->add_option("--destination", *destination,
                   "File to write (default <name>.wasm or <name>.par.gz)");
  pull->add_option("-d,--digest", *digest, "Expected manifest digest (with or without sha256:)");
  add_output_option(pull, *pull_output);
  pull->add_flag_callback(
      "--json", [pull_output] { *pull_output = "json"; }, "Same as -o json (old spelling)");
  pull->callback([=] { run_pull(*pull_flags, *destination, *digest, *pull_output == "json"); });
}

}  // namespace wc::cli
