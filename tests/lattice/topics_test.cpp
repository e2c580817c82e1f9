// Every subject builder against the literal subjects of the specs (control-interface.md 2, 4, 5,
// 8; actor-rpc-providers.md 4.2, 10.5), and the parsers' rejections.
#include "lattice/topics.h"

#include <gtest/gtest.h>

#include "lattice/events.h"

namespace wc::lattice::topics {
namespace {

const char* kHostA = "NB6PMW4RGLBP3NAVUVO2IH34VFJFSX7LF7TJOQCDU4GGUGF3P57SZLPX";
const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
const char* kHttp = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";
const char* kRedis = "VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB";

// The defaults every client in this tree takes from here (src/cli's ctl, call, spy and `up`'s
// lattice.json, the dashboard): control-interface.md 1.2.
TEST(CtlTopics, DefaultPrefixes) {
  EXPECT_EQ(kDefaultCtlPrefix, "wasmbus.ctl");
  EXPECT_EQ(kDefaultLattice, "default");
  EXPECT_EQ(ctl_root(kDefaultLattice), "wasmbus.ctl.default");
}

TEST(CtlTopics, HostScoped) {
  EXPECT_EQ(ctl_cmd("default", kHostA, kCmdLaunchActor),
            std::string("wasmbus.ctl.default.cmd.") + kHostA + ".la");
  EXPECT_EQ(ctl_cmd("default", kHostA, kCmdScaleActor),
            std::string("wasmbus.ctl.default.cmd.") + kHostA + ".scale");
  EXPECT_EQ(ctl_cmd_subscribe("default", kHostA),
            std::string("wasmbus.ctl.default.cmd.") + kHostA + ".*");
  EXPECT_EQ(ctl_get_inventory("default", kHostA),
            std::string("wasmbus.ctl.default.get.") + kHostA + ".inv");
}

TEST(CtlTopics, CommandNames) {
  EXPECT_EQ(kCmdLaunchActor, "la");
  EXPECT_EQ(kCmdStopActor, "sa");
  EXPECT_EQ(kCmdScaleActor, "scale");
  EXPECT_EQ(kCmdUpdateActor, "upd");
  EXPECT_EQ(kCmdLaunchProvider, "lp");
  EXPECT_EQ(kCmdStopProvider, "sp");
  EXPECT_EQ(kCmdStopHost, "stop");
}

TEST(CtlTopics, LatticeScoped) {
  EXPECT_EQ(ctl_ping_hosts("default"), "wasmbus.ctl.default.ping.hosts");
  EXPECT_EQ(ctl_get_subscribe("default"), "wasmbus.ctl.default.get.*");
  EXPECT_EQ(ctl_get_claims("default"), "wasmbus.ctl.default.get.claims");
  EXPECT_EQ(ctl_get_links("default"), "wasmbus.ctl.default.get.links");
  EXPECT_EQ(ctl_linkdefs_subscribe("default"), "wasmbus.ctl.default.linkdefs.*");
  EXPECT_EQ(ctl_linkdefs_put("default"), "wasmbus.ctl.default.linkdefs.put");
  EXPECT_EQ(ctl_linkdefs_del("default"), "wasmbus.ctl.default.linkdefs.del");
  EXPECT_EQ(ctl_registries_put("default"), "wasmbus.ctl.default.registries.put");
  EXPECT_EQ(ctl_auction_subscribe("default"), "wasmbus.ctl.default.auction.>");
  EXPECT_EQ(ctl_auction_actor("default"), "wasmbus.ctl.default.auction.actor");
  EXPECT_EQ(ctl_auction_provider("default"), "wasmbus.ctl.default.auction.provider");
  EXPECT_EQ(ctl_queue_group("default"), "wasmbus.ctl.default");
}

TEST(CtlTopics, CustomControlPrefix) {
  EXPECT_EQ(ctl_ping_hosts("prod", "acme.control.v1"), "acme.control.v1.prod.ping.hosts");
  EXPECT_EQ(ctl_cmd("prod", "NX", "la", "acme.control.v1"), "acme.control.v1.prod.cmd.NX.la");
  EXPECT_EQ(ctl_queue_group("prod", "acme.control.v1"), "acme.control.v1.prod");
}

TEST(CtlOperation, StripsPrefixLiterally) {
  EXPECT_EQ(ctl_operation(std::string("wasmbus.ctl.default.cmd.") + kHostA + ".la", "default"),
            std::string("cmd.") + kHostA + ".la");
  EXPECT_EQ(ctl_operation("wasmbus.ctl.default.get.claims", "default"), "get.claims");
  EXPECT_EQ(ctl_operation("acme.control.v1.prod.auction.actor", "prod", "acme.control.v1"),
            "auction.actor");
}

TEST(CtlOperation, SubjectIsItsInverse) {
  EXPECT_EQ(ctl_subject("default", "get.claims"), "wasmbus.ctl.default.get.claims");
  EXPECT_EQ(ctl_subject("prod", "auction.actor", "acme.control.v1"),
            "acme.control.v1.prod.auction.actor");
  const std::string op = std::string("cmd.") + kHostA + ".scale";
  EXPECT_EQ(ctl_operation(ctl_subject("prod", op), "prod"), op);
}

TEST(CtlOperation, RejectsOtherLattice) {
  EXPECT_FALSE(ctl_operation("wasmbus.ctl.other.get.claims", "default").has_value());
}

TEST(CtlOperation, RejectsPrefixOnly) {
  EXPECT_FALSE(ctl_operation("wasmbus.ctl.default.", "default").has_value());
  EXPECT_FALSE(ctl_operation("wasmbus.ctl.default", "default").has_value());
}

TEST(CtlOperation, RejectsLatticeThatIsOnlyAPrefixOfTheToken) {
  EXPECT_FALSE(ctl_operation("wasmbus.ctl.defaultx.get.claims", "default").has_value());
}

TEST(EventTopics, IndependentOfControlPrefix) {
  EXPECT_EQ(events("default"), "wasmbus.evt.default");
  EXPECT_EQ(rpc_events("default"), "wasmbus.rpcevt.default");
  EXPECT_EQ(config_request("default"), "wasmbus.cfg.default.req");
}

TEST(RpcTopics, ActorAndProvider) {
  EXPECT_EQ(rpc_actor("default", kEcho), std::string("wasmbus.rpc.default.") + kEcho);
  EXPECT_EQ(rpc_actor_queue_group("default", kEcho), rpc_actor("default", kEcho));
  EXPECT_EQ(rpc_provider("default", kRedis, "default"),
            std::string("wasmbus.rpc.default.") + kRedis + ".default");
  EXPECT_EQ(kProviderQueueGroup, "rpc");
}

TEST(RpcTopics, ProviderControlSubjects) {
  EXPECT_EQ(rpc_linkdefs_put("default", kRedis, "default"),
            "wasmbus.rpc.default.VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB.default."
            "linkdefs.put");
  EXPECT_EQ(rpc_linkdefs_del("default", kHttp, "default"),
            std::string("wasmbus.rpc.default.") + kHttp + ".default.linkdefs.del");
  EXPECT_EQ(rpc_health("default", kHttp, "default"),
            std::string("wasmbus.rpc.default.") + kHttp + ".default.health");
  EXPECT_EQ(rpc_shutdown("default", kHttp, "default"),
            std::string("wasmbus.rpc.default.") + kHttp + ".default.shutdown");
}

TEST(ParseRpcActor, Valid) {
  auto p = parse_rpc_actor(std::string("wasmbus.rpc.default.") + kEcho);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->lattice, "default");
  EXPECT_EQ(p->actor_key, kEcho);
}

TEST(ParseRpcActor, RejectsFiveTokens) {
  EXPECT_FALSE(parse_rpc_actor(std::string("wasmbus.rpc.default.") + kHttp + ".default"));
}

TEST(ParseRpcActor, RejectsThreeTokens) { EXPECT_FALSE(parse_rpc_actor("wasmbus.rpc.default")); }

TEST(ParseRpcActor, RejectsWrongPrefix) {
  EXPECT_FALSE(parse_rpc_actor("wasmbus.evt.default.MX"));
  EXPECT_FALSE(parse_rpc_actor("nats.rpc.default.MX"));
}

TEST(ParseRpcActor, RejectsEmptyTokens) {
  EXPECT_FALSE(parse_rpc_actor("wasmbus.rpc..MX"));
  EXPECT_FALSE(parse_rpc_actor("wasmbus.rpc.default."));
  EXPECT_FALSE(parse_rpc_actor(""));
}

TEST(KvTopics, BucketAndSubjects) {
  EXPECT_EQ(kv_bucket("default"), "LATTICEDATA_default");
  EXPECT_EQ(kv_stream("default"), "KV_LATTICEDATA_default");
  EXPECT_EQ(kv_stream_subjects("default"), "$KV.LATTICEDATA_default.>");
  EXPECT_EQ(kv_key("default", "LINKDEF_X"), "$KV.LATTICEDATA_default.LINKDEF_X");
  EXPECT_EQ(kv_key("default", "LINKDEF_X", "hub"), "$JS.hub.API.$KV.LATTICEDATA_default.LINKDEF_X");
}

TEST(KvTopics, JetStreamApi) {
  EXPECT_EQ(js_stream_create(kv_stream("default")), "$JS.API.STREAM.CREATE.KV_LATTICEDATA_default");
  EXPECT_EQ(js_stream_create(kv_stream("default"), "hub"),
            "$JS.hub.API.STREAM.CREATE.KV_LATTICEDATA_default");
  EXPECT_EQ(js_consumer_create(kv_stream("default")),
            "$JS.API.CONSUMER.CREATE.KV_LATTICEDATA_default");
  EXPECT_EQ(js_stream_info(legacy_cache_stream("default")),
            "$JS.API.STREAM.INFO.LATTICECACHE_default");
  EXPECT_EQ(js_stream_delete("S"), "$JS.API.STREAM.DELETE.S");
  EXPECT_EQ(legacy_cache_subjects("default"), "lc.default.>");
}

TEST(KvTopics, ParseDeliveredSubjects) {
  auto p = parse_kv_subject("$KV.LATTICEDATA_default.LINKDEF_ABC");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->lattice, "default");
  EXPECT_EQ(p->key, "LINKDEF_ABC");
  auto d = parse_kv_subject("$JS.hub.API.$KV.LATTICEDATA_prod.CLAIMS_MX");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->lattice, "prod");
  EXPECT_EQ(d->key, "CLAIMS_MX");
}

TEST(KvTopics, ParseRejectsOtherSubjects) {
  EXPECT_FALSE(parse_kv_subject("$KV.OTHER_default.X"));
  EXPECT_FALSE(parse_kv_subject("$KV.LATTICEDATA_default"));
  EXPECT_FALSE(parse_kv_subject("$KV.LATTICEDATA_default."));
  EXPECT_FALSE(parse_kv_subject("$JS.hub.API.STREAM.INFO.X"));
  EXPECT_FALSE(parse_kv_subject("wasmbus.evt.default"));
}

TEST(KvKeys, LinkdefIdsFromTheSpec) {
  EXPECT_EQ(linkdef_id("Mbob", "wasmcloud:testy", "default"),
            "B40411AD09B70A2C83D59923584F66BA2C5A3C274DC4F19416DA49CCD6531F9C");
  EXPECT_EQ(linkdef_id(kEcho, "wasmcloud:httpserver", "default"),
            "EC986307FC72C45DBA4699F5AD52702B09800138ACA24BC53339B929423947B6");
  EXPECT_EQ(linkdef_id("MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E",
                       "wasmcloud:keyvalue", "default"),
            "124AD321267D17B4C40AC52B13C4D8EA9D21D69C7F1EB17E136E067D0F93EF71");
}

TEST(KvKeys, Keys) {
  EXPECT_EQ(linkdef_key("EC98"), "LINKDEF_EC98");
  EXPECT_EQ(claims_key(kEcho), std::string("CLAIMS_") + kEcho);
  EXPECT_EQ(refmap_key("wasmcloud.azurecr.io/echo:0.3.4"),
            "REFMAP_d2FzbWNsb3VkLmF6dXJlY3IuaW8vZWNobzowLjMuNA");
}

TEST(ObjectStore, Subjects) {
  EXPECT_EQ(obj_stream("default"), "OBJ_default");
  EXPECT_EQ(obj_chunk_subject("default", "NUID1"), "$O.default.C.NUID1");
  // base64url WITH padding of the object name.
  EXPECT_EQ(obj_meta_subject("default", "ab"), "$O.default.M.YWI=");
  EXPECT_EQ(obj_meta_subject("default", "abc"), "$O.default.M.YWJj");
  EXPECT_EQ(obj_response_name("inv-1"), "inv-1-r");
}

TEST(Events, TypeNames) {
  EXPECT_EQ(events::kActorStarted, "com.wasmcloud.lattice.actor_started");
  EXPECT_EQ(events::kActorsStopped, "com.wasmcloud.lattice.actors_stopped");
  EXPECT_EQ(events::kInvocationFailed, "com.wasmcloud.lattice.invocation_failed");
  EXPECT_EQ(events::kHostHeartbeat, "com.wasmcloud.lattice.host_heartbeat");
  EXPECT_EQ(events::type_of("linkdef_set"), events::kLinkdefSet);
  EXPECT_EQ(events::short_name(events::kRefmapSet), "refmap_set");
  EXPECT_EQ(events::short_name("other"), "other");
}

}  // namespace
}  // namespace wc::lattice::topics
