#include "host/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "cli/host_flags.h"
#include "host/util.h"

namespace wc::host {
namespace {

TEST(HostConfig, DefaultsWithEmptyEnvironment) {
  auto cfg = load_config({}, "");
  EXPECT_EQ(cfg.lattice_prefix, "default");
  EXPECT_EQ(cfg.ctl_topic_prefix, "wasmbus.ctl");
  EXPECT_EQ(cfg.rpc.host, "127.0.0.1");
  EXPECT_EQ(cfg.ctl.port, 4222);
  EXPECT_EQ(cfg.rpc_timeout_ms, 2000);
  EXPECT_EQ(cfg.policy_timeout_ms, 1000);
  EXPECT_FALSE(cfg.allow_latest);
  EXPECT_FALSE(cfg.allow_file_load);
  EXPECT_FALSE(cfg.js_domain.has_value());
  EXPECT_TRUE(cfg.policy_topic.empty());
}

TEST(HostConfig, EnvironmentVariablesApply) {
  auto cfg = load_config({{"WASMCLOUD_LATTICE_PREFIX", "blue"},
                          {"WASMCLOUD_CTL_HOST", "10.0.0.1"},
                          {"WASMCLOUD_CTL_PORT", "4333"},
                          {"WASMCLOUD_RPC_PORT", "5222"},
                          {"WASMCLOUD_OCI_ALLOW_LATEST", "true"},
                          {"WASMCLOUD_OCI_ALLOWED_INSECURE", "a:5000, b"},
                          {"WASMCLOUD_ALLOW_FILE_LOAD", "yes"},
                          {"WASMCLOUD_STRUCTURED_LOGGING_ENABLED", "enabled"},
                          {"WASMCLOUD_POLICY_TOPIC", "wasmcloud.policy"},
                          {"WASMCLOUD_POLICY_CHANGES_TOPIC_blue", "changes.blue"},
                          {"WASMCLOUD_JS_DOMAIN", ""},
                          {"WASMCLOUD_LOG_LEVEL", " WARNING "}},
                         "");
  EXPECT_EQ(cfg.lattice_prefix, "blue");
  EXPECT_EQ(cfg.ctl.host, "10.0.0.1");
  EXPECT_EQ(cfg.ctl.port, 4333);
  EXPECT_EQ(cfg.rpc.port, 5222);
  EXPECT_TRUE(cfg.allow_latest);
  ASSERT_EQ(cfg.allowed_insecure.size(), 2u);
  EXPECT_EQ(cfg.allowed_insecure[1], " b");  // no trimming (claims-oci-par 4.4)
  EXPECT_TRUE(cfg.allow_file_load);
  EXPECT_TRUE(cfg.structured_logging);
  EXPECT_EQ(cfg.policy_topic, "wasmcloud.policy");
  EXPECT_EQ(cfg.policy_changes_topic, "changes.blue");
  EXPECT_FALSE(cfg.js_domain.has_value());  // "" = unset
  EXPECT_EQ(cfg.log_level, "warn");
}

TEST(HostConfig, JsonFileUnderEnvironment) {
  char path[] = "/tmp/wc-host-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text =
      R"({"lattice_prefix":"fromfile","rpc_port":5555,"allow_latest":true,"cluster_issuers":["C1","C2"]})";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  auto cfg = load_config({{"WASMCLOUD_RPC_PORT", "6666"}}, path);
  unlink(path);
  EXPECT_EQ(cfg.lattice_prefix, "fromfile");
  EXPECT_EQ(cfg.rpc.port, 6666);  // environment wins
  EXPECT_TRUE(cfg.allow_latest);
  EXPECT_EQ(cfg.cluster_issuers, (std::vector<std::string>{"C1", "C2"}));
}

TEST(HostConfig, UnparseableJsonFileIsEmpty) {
  char path[] = "/tmp/wc-host-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "{nope", 5), 5);
  close(fd);
  auto cfg = load_config({}, path);
  unlink(path);
  EXPECT_EQ(cfg.lattice_prefix, "default");
}

TEST(HostConfig, AllowLatestOnlyExactTrue) {
  EXPECT_FALSE(load_config({{"WASMCLOUD_OCI_ALLOW_LATEST", "1"}}, "").allow_latest);
}

TEST(HostConfig, BadPortKeepsDefault) {
  EXPECT_EQ(load_config({{"WASMCLOUD_RPC_PORT", "x12"}}, "").rpc.port, 4222);
}

TEST(HostConfig, LabelsFromHostAndLabelVariablesCoreWins) {
  auto labels = make_labels({{"HOST_ZONE", "us-east-1"},
                             {"HOST_Foo_Bar", "x"},
                             {"WASMCLOUD_LABEL_Team", "red"},
                             {"HOST_hostcore.os", "spoofed"}});
  EXPECT_EQ(labels["zone"], "us-east-1");
  EXPECT_EQ(labels["foo_bar"], "x");
  EXPECT_EQ(labels["team"], "red");
  EXPECT_EQ(labels["hostcore.os"], "linux");
  EXPECT_EQ(labels["hostcore.osfamily"], "unix");
  EXPECT_EQ(labels["hostcore.arch"], "x86_64");
}

TEST(HostConfig, BoolParsing) {
  for (auto t : {"1", "true", "TRUE", "yes", "Y", "enabled", "enable"}) EXPECT_TRUE(parse_bool(t));
  for (auto f : {"0", "false", "no", " true", "on", ""}) EXPECT_FALSE(parse_bool(f));
}

TEST(HostConfig, IdentityFromSeedsAndIssuers) {
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto other = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto server = wascap::KeyPair::generate(wascap::KeyType::kServer);
  HostConfig cfg;
  cfg.host_seed = server.seed();
  cfg.cluster_seed = cluster.seed();
  cfg.cluster_issuers = {other.public_key()};
  auto id = resolve_identity(cfg);
  EXPECT_EQ(id.host_key.public_key(), server.public_key());
  EXPECT_EQ(id.cluster_key.public_key(), cluster.public_key());
  ASSERT_EQ(id.cluster_issuers.size(), 2u);
  EXPECT_EQ(id.cluster_issuers[0], cluster.public_key());
  EXPECT_EQ(id.cluster_issuers[1], other.public_key());
  EXPECT_FALSE(id.adhoc_cluster);
}

TEST(HostConfig, OwnClusterKeyNotDuplicated) {
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  HostConfig cfg;
  cfg.cluster_seed = cluster.seed();
  cfg.cluster_issuers = {cluster.public_key()};
  EXPECT_EQ(resolve_identity(cfg).cluster_issuers.size(), 1u);
}

TEST(HostConfig, InvalidSeedsGenerateFreshKeys) {
  HostConfig cfg;
  cfg.host_seed = "SNnot-a-seed";
  cfg.cluster_seed = wascap::KeyPair::generate(wascap::KeyType::kServer).seed();  // wrong type
  cfg.cluster_issuers = {"CSOMEONE"};
  auto id = resolve_identity(cfg);
  EXPECT_EQ(id.host_key.public_key()[0], 'N');
  EXPECT_EQ(id.cluster_key.public_key()[0], 'C');
  EXPECT_TRUE(id.adhoc_cluster);
  ASSERT_EQ(id.cluster_issuers.size(), 1u);
  EXPECT_EQ(id.cluster_issuers[0], id.cluster_key.public_key());
}

TEST(HostConfig, FlagsOverrideEnvironment) {
  auto cfg = load_config({{"WASMCLOUD_LATTICE_PREFIX", "env"}}, "");
  CLI::App app;
  cli::add_host_flags(app, cfg);
  const char* argv[] = {"host",    "--lattice-prefix", "flag",    "--nats-port",
                        "4999",    "--label",          "zone=eu", "--allowed-insecure",
                        "r:1,r:2", "--allow-latest"};
  app.parse(static_cast<int>(std::size(argv)), const_cast<char**>(argv));
  finish_flags(cfg);
  EXPECT_EQ(cfg.lattice_prefix, "flag");
  EXPECT_EQ(cfg.rpc.port, 4999);
  EXPECT_EQ(cfg.ctl.port, 4999);
  EXPECT_EQ(cfg.labels["zone"], "eu");
  EXPECT_EQ(cfg.allowed_insecure.size(), 2u);
  EXPECT_TRUE(cfg.allow_latest);
}

// The per-host instance limit (ours): default 1000, from the environment, the JSON file key and
// the flag (which wins).
TEST(HostConfig, MaxInstancesFromEnvironmentAndFlag) {
  EXPECT_EQ(load_config({}, "").max_instances, 1000);
  auto cfg = load_config({{"WASMCLOUD_MAX_INSTANCES", "25"}}, "");
  EXPECT_EQ(cfg.max_instances, 25);
  EXPECT_EQ(load_config({{"WASMCLOUD_MAX_INSTANCES", "lots"}}, "").max_instances, 1000);
  CLI::App app;
  cli::add_host_flags(app, cfg);
  const char* argv[] = {"host", "--max-instances", "7"};
  app.parse(static_cast<int>(std::size(argv)), const_cast<char**>(argv));
  finish_flags(cfg);
  EXPECT_EQ(cfg.max_instances, 7);
}

// Artifact size limits (ours, issue 11.2): defaults 50 MiB / 256 MiB, from the environment and the
// flags (which win); zero or non-numbers keep the default.
TEST(HostConfig, MaxArtifactSizesFromEnvironmentAndFlags) {
  auto d = load_config({}, "");
  EXPECT_EQ(d.max_actor_size, 52428800u);
  EXPECT_EQ(d.max_provider_size, 268435456u);
  auto cfg = load_config(
      {{"WASMCLOUD_MAX_ACTOR_SIZE", "1000"}, {"WASMCLOUD_MAX_PROVIDER_SIZE", "6000000000"}}, "");
  EXPECT_EQ(cfg.max_actor_size, 1000u);
  EXPECT_EQ(cfg.max_provider_size, 6000000000u);
  for (const char* bad : {"0", "-5", "10MB", "", "99999999999999999999"})
    EXPECT_EQ(load_config({{"WASMCLOUD_MAX_ACTOR_SIZE", bad}}, "").max_actor_size, 52428800u)
        << bad;
  CLI::App app;
  cli::add_host_flags(app, cfg);
  const char* argv[] = {"host", "--max-actor-size", "7", "--max-provider-size", "8"};
  app.parse(static_cast<int>(std::size(argv)), const_cast<char**>(argv));
  finish_flags(cfg);
  EXPECT_EQ(cfg.max_actor_size, 7u);
  EXPECT_EQ(cfg.max_provider_size, 8u);
}

TEST(HostConfig, SingleServerUrl) {
  NatsEndpoint ep;
  EXPECT_EQ(ep.urls(), std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(ep.url(), "nats://127.0.0.1:4222");
  EXPECT_EQ(ep.address(), "127.0.0.1:4222");
  ep.tls = true;
  ep.host = "nats.example";
  ep.port = 7422;
  EXPECT_EQ(ep.url(), "tls://nats.example:7422");
  ep.host = "";
  EXPECT_EQ(ep.url(), "tls://127.0.0.1:7422");
}

TEST(HostConfig, CommaSeparatedServersKeepTheirOrder) {
  // Several servers of one NATS cluster: the first is the preferred one.
  auto cfg = load_config(
      {{"WASMCLOUD_CTL_HOST", "n2.local, n0.local:4300,nats://n1.local:4301,[::1]:4302,::1"},
       {"WASMCLOUD_CTL_PORT", "4999"}},
      "");
  EXPECT_EQ(cfg.ctl.urls(), (std::vector<std::string>{
                                "nats://n2.local:4999", "nats://n0.local:4300",
                                "nats://n1.local:4301", "nats://[::1]:4302", "nats://[::1]:4999"}));
  EXPECT_EQ(cfg.ctl.url(), "nats://n2.local:4999");
  EXPECT_EQ(cfg.ctl.address(), "n2.local:4999");
  // Empty entries are skipped; the RPC endpoint is independent.
  cfg.ctl.host = ",a:1,,b:2,";
  EXPECT_EQ(cfg.ctl.urls(), (std::vector<std::string>{"nats://a:1", "nats://b:2"}));
  EXPECT_EQ(cfg.rpc.urls(), std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST(HostConfig, NatsHostFlagTakesAServerList) {
  auto cfg = load_config({}, "");
  CLI::App app;
  cli::add_host_flags(app, cfg);
  const char* argv[] = {"host", "--nats-host", "127.0.0.1:4301,127.0.0.1:4302"};
  app.parse(static_cast<int>(std::size(argv)), const_cast<char**>(argv));
  finish_flags(cfg);
  for (const auto* ep : {&cfg.ctl, &cfg.rpc, &cfg.prov_rpc})
    EXPECT_EQ(ep->urls(),
              (std::vector<std::string>{"nats://127.0.0.1:4301", "nats://127.0.0.1:4302"}));
  EXPECT_EQ(cfg.prov_rpc.address(), "127.0.0.1:4301");
}

TEST(HostUtil, UptimeHuman) {
  EXPECT_EQ(uptime_human(182), "3 minutes, 2 seconds");
  EXPECT_EQ(uptime_human(3600), "1 hour");
  EXPECT_EQ(uptime_human(694861), "1 week, 1 day, 1 hour, 1 minute, 1 second");
  EXPECT_EQ(uptime_human(0), "");
}

TEST(HostUtil, InspectRendering) {
  EXPECT_EQ(inspect("Provider is already running on this host"),
            "\"Provider is already running on this host\"");
  EXPECT_EQ(inspect("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
}

TEST(HostUtil, FriendlyNameShape) {
  auto name = friendly_name();
  EXPECT_EQ(std::count(name.begin(), name.end(), '-'), 2);
}

}  // namespace
}  // namespace wc::host
