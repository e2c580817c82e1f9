// MetadataCache (src/host/metadata_cache.h) against a FakeBus: bucket creation, link application
// and its idempotence, own-write echoes, claims, aliases and the reference map.
#include "host/metadata_cache.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "rpc/messages.h"
#include "wascap/nkeys.h"

namespace wc::host {
namespace {

using nlohmann::json;
using testing::bytes_of;
using testing::EventLog;
using testing::FakeBus;
using testing::Sent;
namespace topics = lattice::topics;
namespace ev = lattice::events;

constexpr const char* kLattice = "unit";

struct Fixture {
  FakeBus ctl, rpc;
  EventLog events;
  std::unique_ptr<MetadataCache> cache;
  std::vector<std::function<void()>> posted;

  Fixture() {
    MetadataCacheDeps d;
    d.ctl = &ctl;
    d.rpc = &rpc;
    d.emit = events.emitter();
    d.post = [this](std::function<void()> task) {
      posted.push_back(std::move(task));
      return true;
    };
    d.lattice_prefix = kLattice;
    cache = std::make_unique<MetadataCache>(std::move(d));
  }

  /// Answers the JetStream API as a healthy single server would, PubAcks with `next_seq`.
  void healthy_jetstream() {
    ctl.respond_with([this](const Sent& s) -> Result<Bytes> {
      if (s.subject.rfind("$JS.API.STREAM.CREATE.", 0) == 0)
        return bytes_of(json{{"config", {{"num_replicas", 1}}}}.dump());
      if (s.subject.rfind("$JS.API.CONSUMER.CREATE.", 0) == 0)
        return bytes_of(R"({"name":"watcher"})");
      return bytes_of(json{{"stream", "KV_LATTICEDATA_unit"}, {"seq", next_seq++}}.dump());
    });
  }
  std::uint64_t next_seq = 1;
};

LinkDefinition make_link(const std::string& actor, const std::string& provider,
                         std::map<std::string, std::string> values = {}) {
  LinkDefinition ld;
  ld.actor_id = actor;
  ld.provider_id = provider;
  ld.link_name = "default";
  ld.contract_id = "wasmcloud:keyvalue";
  ld.values = std::move(values);
  ld.id = topics::linkdef_id(ld.actor_id, ld.contract_id, ld.link_name);
  return ld;
}

KvEntry put_entry(const std::string& key, const json& value, std::string reply = "") {
  return KvEntry{topics::kv_key(kLattice, key), std::move(reply), {}, value.dump()};
}

KvEntry delete_entry(const std::string& key) {
  return KvEntry{topics::kv_key(kLattice, key),
                 "",
                 {{"KV-Operation", std::string(topics::kKvOperationDel)}},
                 ""};
}

std::string actor_key() { return wascap::KeyPair::generate(wascap::KeyType::kModule).public_key(); }
std::string provider_key() {
  return wascap::KeyPair::generate(wascap::KeyType::kService).public_key();
}

TEST(MetadataCache, LinkFromTheWatchIsCachedAndAnnouncedOnce) {
  Fixture f;
  auto ld = make_link("MACTOR", "VPROV", {{"URL", "redis://x"}});
  f.cache->apply(put_entry(topics::linkdef_key(ld.id), linkdef_json(ld)));
  ASSERT_TRUE(f.cache->link(ld.id));
  EXPECT_EQ(f.cache->link(ld.id)->values.at("URL"), "redis://x");
  ASSERT_EQ(f.events.of(ev::kLinkdefSet).size(), 1u);
  EXPECT_TRUE(f.events.of(ev::kLinkdefSet)[0].linkdef_source);
  EXPECT_EQ(f.events.of(ev::kLinkdefSet)[0].data["provider_id"], "VPROV");
  auto notes = f.rpc.published();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].subject, topics::rpc_linkdefs_put(kLattice, "VPROV", "default"));
  auto decoded = rpc::decode_linkdef(notes[0].data);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, ld);

  // The same value again (e.g. this host's own write echoed back): nothing new.
  f.cache->apply(put_entry(topics::linkdef_key(ld.id), linkdef_json(ld)));
  EXPECT_EQ(f.events.of(ev::kLinkdefSet).size(), 1u);
  EXPECT_EQ(f.rpc.published().size(), 1u);

  // A changed value is announced again.
  ld.values["URL"] = "redis://y";
  f.cache->apply(put_entry(topics::linkdef_key(ld.id), linkdef_json(ld)));
  EXPECT_EQ(f.events.of(ev::kLinkdefSet).size(), 2u);
  EXPECT_EQ(f.cache->link(ld.id)->values.at("URL"), "redis://y");
}

TEST(MetadataCache, LinkIdIsRecomputedFromTheEntry) {
  Fixture f;
  auto ld = make_link("MACTOR", "VPROV");
  json v = linkdef_json(ld);
  v["id"] = "forged";
  f.cache->apply(put_entry(topics::linkdef_key("forged"), v));
  EXPECT_FALSE(f.cache->link("forged"));
  EXPECT_TRUE(f.cache->link(ld.id));
}

TEST(MetadataCache, LinkDeletionFromTheWatchAnnouncesOnlyKnownLinks) {
  Fixture f;
  auto ld = make_link("MACTOR", "VPROV");
  f.cache->apply(delete_entry(topics::linkdef_key(ld.id)));
  EXPECT_TRUE(f.events.of(ev::kLinkdefDeleted).empty());
  EXPECT_TRUE(f.rpc.published().empty());

  f.cache->apply(put_entry(topics::linkdef_key(ld.id), linkdef_json(ld)));
  f.cache->apply(delete_entry(topics::linkdef_key(ld.id)));
  EXPECT_FALSE(f.cache->link(ld.id));
  ASSERT_EQ(f.events.of(ev::kLinkdefDeleted).size(), 1u);
  auto notes = f.rpc.published();
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1].subject, topics::rpc_linkdefs_del(kLattice, "VPROV", "default"));
  // Deleting twice announces once.
  f.cache->apply(delete_entry(topics::linkdef_key(ld.id)));
  EXPECT_EQ(f.events.of(ev::kLinkdefDeleted).size(), 1u);
}

TEST(MetadataCache, MalformedOrForeignEntriesAreIgnored) {
  Fixture f;
  f.cache->apply(put_entry("LINKDEF_x", json{{"actor_id", 5}}));
  f.cache->apply(KvEntry{topics::kv_key(kLattice, "LINKDEF_y"), "", {}, "not json"});
  auto ld = make_link("MACTOR", "VPROV");
  f.cache->apply(KvEntry{
      topics::kv_key("other", topics::linkdef_key(ld.id)), "", {}, linkdef_json(ld).dump()});
  f.cache->apply(KvEntry{"some.other.subject", "", {}, linkdef_json(ld).dump()});
  EXPECT_TRUE(f.cache->links().empty());
  EXPECT_TRUE(f.events.events.empty());
}

TEST(MetadataCache, PutAndDeleteLinkWriteTheBucket) {
  Fixture f;
  f.healthy_jetstream();
  f.cache->open();
  ASSERT_TRUE(f.cache->ready());
  f.ctl.clear();
  auto ld = make_link("MACTOR", "VPROV");
  f.cache->put_link(ld);
  EXPECT_EQ(f.events.of(ev::kLinkdefSet).size(), 1u);
  auto reqs = f.ctl.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].subject, topics::kv_key(kLattice, topics::linkdef_key(ld.id)));
  EXPECT_EQ(json::parse(reqs[0].text()), linkdef_json(ld));

  EXPECT_FALSE(f.cache->delete_link("no-such-link"));
  EXPECT_EQ(f.ctl.requests().size(), 1u);
  EXPECT_TRUE(f.cache->delete_link(ld.id));
  reqs = f.ctl.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].subject, topics::kv_key(kLattice, topics::linkdef_key(ld.id)));
  EXPECT_TRUE(reqs[1].data.empty());
  bool purge = false;
  for (const auto& [k, v] : reqs[1].headers)
    purge = purge || (k == topics::kHeaderKvOperation && v == topics::kKvOperationPurge);
  EXPECT_TRUE(purge);
  EXPECT_EQ(f.events.of(ev::kLinkdefDeleted).size(), 1u);
  EXPECT_FALSE(f.cache->link(ld.id));
}

TEST(MetadataCache, OwnOlderWriteEchoedBackDoesNotResurrectState) {
  Fixture f;
  f.healthy_jetstream();
  f.cache->open();
  auto ld = make_link("MACTOR", "VPROV");
  f.next_seq = 41;
  f.cache->put_link(ld);        // PubAck seq 41
  f.cache->delete_link(ld.id);  // PubAck seq 42
  ASSERT_FALSE(f.cache->link(ld.id));
  // The put (stream seq 41) delivered after the delete: ignored.
  const std::string ack41 = "$JS.ACK.KV_LATTICEDATA_unit.watcher.1.41.1.1700000000000000000.0";
  f.cache->apply(put_entry(topics::linkdef_key(ld.id), linkdef_json(ld), ack41));
  EXPECT_FALSE(f.cache->link(ld.id));
  // A newer write (someone else's, seq 43) applies.
  const std::string ack43 = "$JS.ACK.KV_LATTICEDATA_unit.watcher.2.43.2.1700000000000000000.0";
  f.cache->apply(put_entry(topics::linkdef_key(ld.id), linkdef_json(ld), ack43));
  EXPECT_TRUE(f.cache->link(ld.id));
}

TEST(MetadataCache, DeliveryStreamSequence) {
  EXPECT_EQ(MetadataCache::delivery_stream_seq("$JS.ACK.S.C.1.77.3.1700.0"), 77u);
  EXPECT_EQ(MetadataCache::delivery_stream_seq("$JS.ACK.dom.HASH.S.C.1.88.3.1700.0.tok"), 88u);
  EXPECT_EQ(MetadataCache::delivery_stream_seq(""), 0u);
  EXPECT_EQ(MetadataCache::delivery_stream_seq("_INBOX.abc"), 0u);
  EXPECT_EQ(MetadataCache::delivery_stream_seq("$JS.ACK.S.C.1.x7.3.1700.0"), 0u);
}

TEST(MetadataCache, ClaimsFromTheWatchNeedACanonicalKey) {
  Fixture f;
  const auto key = actor_key();
  f.cache->apply(put_entry("CLAIMS_" + key, json{{"sub", key}, {"call_alias", "echo"}}));
  f.cache->apply(put_entry("CLAIMS_Mnotakey", json{{"sub", "Mnotakey"}, {"call_alias", "bad"}}));
  f.cache->apply(put_entry("CLAIMS_" + actor_key(), json{{"call_alias", "x"}}));  // alias too short
  ASSERT_TRUE(f.cache->claims(key));
  EXPECT_EQ((*f.cache->claims(key))["call_alias"], "echo");
  EXPECT_FALSE(f.cache->claims("Mnotakey"));
  EXPECT_EQ(f.cache->alias("echo"), key);
  EXPECT_FALSE(f.cache->alias("bad"));
  EXPECT_FALSE(f.cache->alias("x"));
  EXPECT_EQ(f.cache->all_claims().size(), 2u);

  f.cache->apply(delete_entry("CLAIMS_" + key));
  EXPECT_FALSE(f.cache->claims(key));
}

TEST(MetadataCache, FirstAliasWins) {
  Fixture f;
  const auto a = actor_key(), b = actor_key();
  f.cache->apply(put_entry("CLAIMS_" + a, json{{"call_alias", "echo"}}));
  f.cache->apply(put_entry("CLAIMS_" + b, json{{"call_alias", "echo"}}));
  EXPECT_EQ(f.cache->alias("echo"), a);
}

TEST(MetadataCache, ReferenceMapFromTheWatchAndLocally) {
  Fixture f;
  const auto p = provider_key();
  f.cache->apply(put_entry("REFMAP_x", json{{"oci_url", "reg/kv:1"}, {"public_key", p}}));
  f.cache->apply(put_entry("REFMAP_y", json{{"oci_url", 3}, {"public_key", p}}));
  f.cache->apply(delete_entry("REFMAP_x"));  // deletions leave the map alone
  EXPECT_EQ(f.cache->resolve_reference("reg/kv:1"), p);
  EXPECT_FALSE(f.cache->resolve_reference("reg/other:1"));
  f.cache->set_reference("file:///a.wasm", "MA");
  EXPECT_EQ(f.cache->resolve_reference("file:///a.wasm"), "MA");
}

TEST(MetadataCache, V1AliasIsWrittenToTheBucketAndResolved) {
  Fixture f;
  f.healthy_jetstream();
  f.cache->open();
  ASSERT_TRUE(f.cache->ready());
  f.ctl.clear();
  const auto key = actor_key();
  ASSERT_TRUE(f.cache->put_v1_alias("echo-component_1", key));
  EXPECT_EQ(f.cache->resolve_v1_id("echo-component_1"), key);
  auto reqs = f.ctl.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].subject, topics::kv_key(kLattice, "V1ID_echo-component_1"));
  EXPECT_EQ(json::parse(reqs[0].text()), (json{{"id", "echo-component_1"}, {"public_key", key}}));
  // A public key resolves to itself; an unknown id to nothing.
  EXPECT_EQ(f.cache->resolve_v1_id(key), key);
  EXPECT_FALSE(f.cache->resolve_v1_id("unknown"));
  // A later put replaces the earlier one.
  const auto other = actor_key();
  ASSERT_TRUE(f.cache->put_v1_alias("echo-component_1", other));
  EXPECT_EQ(f.cache->resolve_v1_id("echo-component_1"), other);
}

TEST(MetadataCache, V1AliasRefusesBadIdsAndKeysWithoutWriting) {
  Fixture f;
  f.healthy_jetstream();
  f.cache->open();
  f.ctl.clear();
  const auto key = actor_key();
  for (const std::string& bad :
       std::vector<std::string>{"", "a.b", "a*", "a>", "a b", std::string(129, 'x'), key}) {
    auto st = f.cache->put_v1_alias(bad, key);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, Code::kInvalidArgument);
  }
  EXPECT_FALSE(f.cache->put_v1_alias("echo", "Mnotakey"));
  EXPECT_FALSE(f.cache->resolve_v1_id("echo"));
  EXPECT_TRUE(f.ctl.requests().empty());
}

TEST(MetadataCache, V1AliasFromTheWatch) {
  Fixture f;
  const auto key = provider_key();
  f.cache->apply(put_entry("V1ID_http", json{{"id", "http"}, {"public_key", key}}));
  f.cache->apply(put_entry("V1ID_bad", json{{"id", "bad"}, {"public_key", "Vnotakey"}}));
  f.cache->apply(KvEntry{topics::kv_key(kLattice, "V1ID_junk"), "", {}, "not json"});
  EXPECT_EQ(f.cache->resolve_v1_id("http"), key);
  EXPECT_FALSE(f.cache->resolve_v1_id("bad"));
  EXPECT_FALSE(f.cache->resolve_v1_id("junk"));
  f.cache->apply(delete_entry("V1ID_http"));
  EXPECT_FALSE(f.cache->resolve_v1_id("http"));
}

TEST(MetadataCache, ActorClaimsAreFlattened) {
  Fixture f;
  f.healthy_jetstream();
  f.cache->open();
  f.ctl.clear();
  wascap::ActorClaims c;
  c.sub = actor_key();
  c.iss = "AISSUER";
  c.name = "echo";
  c.caps = std::vector<std::string>{"wasmcloud:httpserver", "wasmcloud:keyvalue"};
  c.call_alias = "echoer";
  c.rev = 4;
  f.cache->cache_actor_claims(c);
  auto flat = f.cache->claims(c.sub);
  ASSERT_TRUE(flat);
  EXPECT_EQ((*flat)["caps"], "wasmcloud:httpserver,wasmcloud:keyvalue");
  EXPECT_EQ((*flat)["rev"], "4");
  EXPECT_TRUE((*flat)["version"].is_null());
  EXPECT_EQ((*flat)["tags"], "");
  EXPECT_EQ(f.cache->alias("echoer"), c.sub);

  f.cache->publish_actor_claims(c);
  auto reqs = f.ctl.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].subject, topics::kv_key(kLattice, topics::claims_key(c.sub)));
  EXPECT_EQ(json::parse(reqs[0].text())["version"], "");  // Appendix B #11
}

TEST(MetadataCache, PutClaimsReportsAnEarlierEntry) {
  Fixture f;
  EXPECT_FALSE(f.cache->put_claims("VKEY", json{{"sub", "VKEY"}}));
  EXPECT_TRUE(f.cache->put_claims("VKEY", json{{"sub", "VKEY"}}));
  f.cache->erase_claims("VKEY");
  EXPECT_FALSE(f.cache->claims("VKEY"));
}

TEST(MetadataCache, LinksForOneProviderInstance) {
  Fixture f;
  auto a = make_link("MA", "VP");
  auto b = make_link("MB", "VP");
  auto c = make_link("MC", "VQ");
  auto d = make_link("MD", "VP");
  d.link_name = "other";
  d.id = topics::linkdef_id(d.actor_id, d.contract_id, d.link_name);
  for (const auto& ld : {a, b, c, d}) f.cache->put_link(ld);
  auto got = f.cache->links_for("VP", "default");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(f.cache->links().size(), 4u);
}

TEST(MetadataCache, WithoutJetStreamNothingIsWritten) {
  Fixture f;  // no responder: every request fails with "no responders"
  f.cache->open();
  EXPECT_FALSE(f.cache->ready());
  const auto before = f.ctl.requests().size();
  f.cache->put_link(make_link("MA", "VP"));
  EXPECT_EQ(f.ctl.requests().size(), before);
  // ... but the link is cached and announced.
  EXPECT_EQ(f.cache->links().size(), 1u);
  EXPECT_EQ(f.events.of(ev::kLinkdefSet).size(), 1u);
}

TEST(MetadataCache, OpenAsksForFewerReplicasWhenRefused) {
  Fixture f;
  f.ctl.servers = 5;
  std::vector<int> asked;
  f.ctl.respond_with([&](const Sent& s) -> Result<Bytes> {
    if (s.subject.rfind("$JS.API.STREAM.CREATE.", 0) == 0) {
      int n = json::parse(s.text())["num_replicas"];
      asked.push_back(n);
      if (n == 3) return bytes_of(R"({"error":{"code":500,"err_code":10005}})");
      return bytes_of(json{{"config", {{"num_replicas", n}}}}.dump());
    }
    if (s.subject.rfind("$JS.API.CONSUMER.CREATE.", 0) == 0) {
      EXPECT_EQ(json::parse(s.text())["config"]["num_replicas"], 2);
      EXPECT_EQ(json::parse(s.text())["config"]["deliver_policy"], "last_per_subject");
      return bytes_of(R"({"name":"watcher"})");
    }
    return fail(Code::kUnavailable, "unexpected");
  });
  f.cache->open();
  EXPECT_EQ(asked, (std::vector<int>{3, 2}));
  EXPECT_EQ(f.cache->replicas(), 2);
  EXPECT_TRUE(f.cache->ready());
  ASSERT_EQ(f.ctl.subscribed().size(), 1u);
}

TEST(MetadataCache, OpenOnANonClusteredServerDropsToOneReplica) {
  Fixture f;
  f.ctl.servers = 3;
  std::vector<int> asked;
  f.ctl.respond_with([&](const Sent& s) -> Result<Bytes> {
    if (s.subject.rfind("$JS.API.STREAM.CREATE.", 0) == 0) {
      int n = json::parse(s.text())["num_replicas"];
      asked.push_back(n);
      if (n > 1) return bytes_of(R"({"error":{"code":500,"err_code":10074}})");
      return bytes_of(json{{"config", {{"num_replicas", 1}}}}.dump());
    }
    return bytes_of(R"({"name":"watcher"})");
  });
  f.cache->open();
  EXPECT_EQ(asked, (std::vector<int>{3, 1}));
  EXPECT_EQ(f.cache->replicas(), 1);
}

TEST(MetadataCache, RewatchRecreatesAVanishedConsumerOnly) {
  Fixture f;
  f.healthy_jetstream();
  f.cache->open();
  int creates = 0;
  bool gone = false;
  f.ctl.respond_with([&](const Sent& s) -> Result<Bytes> {
    if (s.subject.rfind("$JS.API.CONSUMER.INFO.", 0) == 0) {
      EXPECT_NE(s.subject.find(".watcher"), std::string::npos);
      return bytes_of(gone ? R"({"error":{"code":404,"err_code":10014}})"
                           : R"({"name":"watcher"})");
    }
    if (s.subject.rfind("$JS.API.CONSUMER.CREATE.", 0) == 0) ++creates;
    return bytes_of(R"({"name":"watcher2"})");
  });
  f.cache->rewatch();
  EXPECT_EQ(creates, 0);
  gone = true;
  f.cache->rewatch();
  EXPECT_EQ(creates, 1);
}

}  // namespace
}  // namespace wc::host
