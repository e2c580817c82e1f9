// Test support for integration suites that share one lattice of two `wasmcloud host` processes
// across their tests (v1_control_test, v1_state_test): a real nats-server with JetStream, a real
// docker-registry, the test's own NATS connection recording the lattice's OTP events
// (wasmbus.evt.default) and v1 events (wasmbus.evt.default.{name}), and the two hosts, which the
// suite starts with its own flags. A gtest fixture base: its state is static (one lattice per
// suite, made in SetUpTestSuite, gone after TearDownTestSuite); used from the test thread only
// (the event logs are filled on NATS threads and are thread-safe).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "event_log.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc::testing {

class TwoHostLatticeTest : public ::testing::Test {
 protected:
  static inline std::string dir;  ///< the suite's temp dir: host logs (NAME.log), OCI caches
  static inline std::unique_ptr<NatsServer> nats;
  static inline std::unique_ptr<RegistryServer> registry;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<EventLog> otp_events, v1_events;
  static inline lattice::Subscription otp_sub, v1_sub;
  static inline std::unique_ptr<ChildProcess> host_a, host_b;

  /// Makes `dir` (named after `prefix`), starts nats-server and docker-registry, connects and
  /// starts recording both event streams. Fails the suite with a fatal failure on error (wrap in
  /// ASSERT_NO_FATAL_FAILURE).
  static void start_lattice(const std::string& prefix) {
    dir = make_temp_dir(prefix);
    nats = std::make_unique<NatsServer>();
    registry = std::make_unique<RegistryServer>();
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    otp_events = std::make_unique<EventLog>();
    v1_events = std::make_unique<EventLog>();
    auto s1 = record_events(*nc, *otp_events);
    ASSERT_TRUE(s1) << s1.error().message;
    otp_sub = std::move(*s1);
    auto s2 = record_events(*nc, *v1_events, "default.>");  // v1 event subjects
    ASSERT_TRUE(s2) << s2.error().message;
    v1_sub = std::move(*s2);
  }

  /// Pushes `bytes` to the registry as `ref` (fatal failure when the push fails).
  static void push(const std::string& ref, const Bytes& bytes,
                   oci::ArtifactKind kind = oci::ArtifactKind::kActor) {
    oci::PushOptions po;
    po.kind = kind;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, bytes, po);
    ASSERT_TRUE(r) << r.error().message;
  }

  /// Starts `wasmcloud host` with identity `key` on the lattice: no native compilation, debug
  /// log in `dir`/NAME.log, OCI cache `dir`/oci-NAME, the registry allowed over plain HTTP, then
  /// `args`; `env` is added to the host's environment. Does not wait for it to answer.
  static std::unique_ptr<ChildProcess> start_host(const std::string& name,
                                                  const wascap::KeyPair& key,
                                                  const std::vector<std::string>& args = {},
                                                  const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud",
                                     "host",
                                     "--nats-port",
                                     std::to_string(nats->port()),
                                     "--allowed-insecure",
                                     registry->host(),
                                     "--no-native",
                                     "--log-level",
                                     "debug",
                                     "--oci-cache-dir",
                                     dir + "/oci-" + name};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> environment = {"WASMCLOUD_HOST_SEED=" + key.seed()};
    environment.insert(environment.end(), env.begin(), env.end());
    return std::make_unique<ChildProcess>(argv, dir + "/" + name + ".log", environment);
  }

  /// Stops the hosts (SIGTERM, 15 s), the subscriptions, the connection and the servers; removes
  /// `dir` unless a test failed (its logs stay for reading).
  static void stop_lattice() {
    otp_sub.unsubscribe();
    v1_sub.unsubscribe();
    if (host_a) host_a->stop(15);
    if (host_b) host_b->stop(15);
    host_a.reset();
    host_b.reset();
    nc.reset();
    registry.reset();
    nats.reset();
    if (::testing::UnitTest::GetInstance()->failed_test_count() == 0) remove_temp_dir(dir);
  }
};

}  // namespace wc::testing
