// Form validation: every accepted shape and each bad-input message.
#include <gtest/gtest.h>

#include <limits>

#include "web/forms.h"
#include "web/messages.h"

namespace wc::web {
namespace {

using nlohmann::json;

template <class R>
std::string message_of(const R& r) {
  EXPECT_FALSE(r.has_value());
  if (r) return "";
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  return r.error().message;
}

TEST(Forms, StartActorAcceptsNumbersAndStrings) {
  auto f = parse_start_actor(json{{"actor_ref", " 127.0.0.1:5000/echo:0.3.4 "}, {"count", "2"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->actor_ref, "127.0.0.1:5000/echo:0.3.4");
  EXPECT_EQ(f->count, 2);
  EXPECT_EQ(f->host_id, "");
  f = parse_start_actor(json{{"actor_ref", "r"}, {"count", 3}, {"host_id", "NH"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->count, 3);
  EXPECT_EQ(f->host_id, "NH");
  f = parse_start_actor(json{{"actor_ref", "r"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->count, 1);
}

TEST(Forms, StartActorWithoutReference) {
  EXPECT_EQ(message_of(parse_start_actor(json{{"count", 1}})), messages::kEnterOciReference);
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "  "}})), messages::kEnterOciReference);
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", 5}})), messages::kEnterOciReference);
}

TEST(Forms, StartActorZeroReplicas) {
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", 0}})),
            messages::kReplicasAtLeastOne);
}

TEST(Forms, StartActorNegativeReplicas) {
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", "-1"}})),
            messages::kReplicasAtLeastOne);
}

TEST(Forms, StartActorNonNumericReplicas) {
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", "two"}})),
            messages::kReplicasAtLeastOne);
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", 1.5}})),
            messages::kReplicasAtLeastOne);
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", "2x"}})),
            messages::kReplicasAtLeastOne);
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", true}})),
            messages::kReplicasAtLeastOne);
}

TEST(Forms, StartActorHugeReplicas) {
  EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", 10000000}})),
            messages::kReplicasAtLeastOne);
}

// Seen while writing fuzz/forms_fuzzer, confirmed by its UBSan build (float-cast-overflow): a
// float count beyond long long's range was converted to long long, which is undefined
// behaviour; it is refused like any bad count.
TEST(Forms, StartActorFloatReplicasOutOfRange) {
  for (double count : {1e300, -1e300, 9.3e18, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(message_of(parse_start_actor(json{{"actor_ref", "r"}, {"count", count}})),
              messages::kReplicasAtLeastOne)
        << count;
  }
  auto f = parse_start_actor(json::parse(R"({"actor_ref":"r","count":2.0})"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->count, 2);
}

TEST(Forms, BodyMustBeAnObject) {
  EXPECT_EQ(message_of(parse_start_actor(json::array())), messages::kBadJsonBody);
  EXPECT_EQ(message_of(parse_scale(json("x"))), messages::kBadJsonBody);
  EXPECT_EQ(message_of(parse_link(json(nullptr))), messages::kBadJsonBody);
}

TEST(Forms, UploadActorFields) {
  auto f = parse_upload_actor(json{{"count", "3"}, {"host_id", "NH"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->count, 3);
  EXPECT_EQ(message_of(parse_upload_actor(json{{"count", "0"}})), messages::kReplicasAtLeastOne);
}

// Found by fuzz/forms_fuzzer: multipart text fields are raw bytes; a link name that is not UTF-8
// was accepted and the `lp` request built from it could not be written (json::dump threw).
TEST(Forms, UploadFieldsMustBeUtf8) {
  EXPECT_EQ(message_of(parse_upload_provider(json{{"link_name", "\x80`"}})),
            messages::kFormNotUtf8);
  EXPECT_EQ(message_of(parse_upload_actor(json{{"count", "1"}, {"host_id", "N\xff"}})),
            messages::kFormNotUtf8);
  EXPECT_TRUE(parse_upload_provider(json{{"link_name", "d\u00e9faut"}}));  // UTF-8 "défaut"
}

TEST(Forms, UploadSizeChecksUseTheOriginalTexts) {
  EXPECT_TRUE(check_actor_upload(1));
  EXPECT_TRUE(check_actor_upload(kMaxActorUpload));
  EXPECT_EQ(message_of(check_actor_upload(0)), "Please select a file");
  EXPECT_EQ(message_of(check_actor_upload(kMaxActorUpload + 1)),
            "Uploaded actor was too large, must be under 16000000 bytes");
  EXPECT_EQ(message_of(check_provider_upload(0)), "Please select a provider archive file");
  EXPECT_EQ(message_of(check_provider_upload(kMaxProviderUpload + 1)),
            "Provider archive too large (limit: 64.0MB). Consider the --compress option to "
            "`par create`");
}

TEST(Forms, HotReloadNeedsAnAbsolutePathAndAHost) {
  auto f = parse_hot_reload(json{{"path", "file:///tmp/a.wasm"}, {"host_id", "NH"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, "/tmp/a.wasm");
  EXPECT_EQ(message_of(parse_hot_reload(json{{"path", "a.wasm"}, {"host_id", "NH"}})),
            messages::kEnterAbsolutePath);
  EXPECT_EQ(message_of(parse_hot_reload(json{{"host_id", "NH"}})), messages::kEnterAbsolutePath);
  EXPECT_EQ(message_of(parse_hot_reload(json{{"path", "/a.wasm"}})), messages::kSelectHost);
  EXPECT_EQ(
      message_of(parse_hot_reload(json{{"path", "/a.wasm"}, {"host_id", "NH"}, {"count", 0}})),
      messages::kReplicasAtLeastOne);
}

TEST(Forms, ScaleAllowsZeroButNeedsACount) {
  auto f = parse_scale(json{{"host_id", "NH"}, {"actor_id", "MA"}, {"count", 0}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->count, 0);
  EXPECT_EQ(f->actor_ref, "");
  EXPECT_EQ(message_of(parse_scale(json{{"host_id", "NH"}, {"actor_id", "MA"}})),
            messages::kReplicasAtLeastZero);
  EXPECT_EQ(message_of(parse_scale(json{{"host_id", "NH"}, {"actor_id", "MA"}, {"count", -1}})),
            messages::kReplicasAtLeastZero);
  EXPECT_EQ(message_of(parse_scale(json{{"actor_id", "MA"}, {"count", 1}})), messages::kSelectHost);
  EXPECT_EQ(message_of(parse_scale(json{{"host_id", "NH"}, {"count", 1}})), messages::kSelectActor);
}

TEST(Forms, StartProviderDefaultsLinkName) {
  auto f = parse_start_provider(json{{"provider_ref", "reg/p:1"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->link_name, "default");
  EXPECT_EQ(message_of(parse_start_provider(json::object())), messages::kEnterOciReference);
  auto u = parse_upload_provider(json{{"link_name", "backup"}});
  ASSERT_TRUE(u);
  EXPECT_EQ(u->link_name, "backup");
}

TEST(Forms, StopProviderNeedsHostAndProvider) {
  EXPECT_TRUE(parse_stop_provider(json{{"host_id", "NH"}, {"provider_id", "VP"}}));
  EXPECT_EQ(message_of(parse_stop_provider(json{{"provider_id", "VP"}})), messages::kSelectHost);
  EXPECT_EQ(message_of(parse_stop_provider(json{{"host_id", "NH"}})), messages::kSelectProvider);
}

TEST(Forms, LinkUsesTheOriginalMessages) {
  EXPECT_EQ(message_of(parse_link(json{{"provider_id", "V"}, {"contract_id", "c"}})),
            "Please select an Actor ID to link");
  EXPECT_EQ(message_of(parse_link(json{{"actor_id", "M"}, {"contract_id", "c"}})),
            "Please select a Provider ID to link");
  EXPECT_EQ(message_of(parse_link(json{{"actor_id", "M"}, {"provider_id", "V"}})),
            messages::kEnterContractId);
}

TEST(Forms, LinkValuesFromTextOrObject) {
  auto f = parse_link(json{{"actor_id", "M"},
                           {"provider_id", "V"},
                           {"contract_id", "wasmcloud:keyvalue"},
                           {"values", "URL=redis://127.0.0.1:6379/,A=b=c"}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->link_name, "default");
  EXPECT_EQ(f->values.at("URL"), "redis://127.0.0.1:6379/");
  EXPECT_EQ(f->values.at("A"), "b=c");
  f = parse_link(json{
      {"actor_id", "M"}, {"provider_id", "V"}, {"contract_id", "c"}, {"values", json{{"K", "V"}}}});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->values.at("K"), "V");
}

TEST(Forms, LinkValuesWithoutEquals) {
  EXPECT_EQ(message_of(parse_link_values("A=1,B")), messages::kBadLinkValues);
}

TEST(Forms, LinkValuesWithEmptyKey) {
  EXPECT_EQ(message_of(parse_link_values("=1")), messages::kBadLinkValues);
}

TEST(Forms, LinkValuesOfWrongType) {
  EXPECT_EQ(message_of(parse_link(json{
                {"actor_id", "M"}, {"provider_id", "V"}, {"contract_id", "c"}, {"values", 5}})),
            messages::kBadLinkValues);
  EXPECT_EQ(message_of(parse_link(json{{"actor_id", "M"},
                                       {"provider_id", "V"},
                                       {"contract_id", "c"},
                                       {"values", json{{"K", 1}}}})),
            messages::kBadLinkValues);
}

TEST(Forms, LinkValuesRoundTrip) {
  auto v = parse_link_values("B=2, ,A=1,");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size(), 2u);
  EXPECT_EQ(format_link_values(*v), "A=1,B=2");
  EXPECT_TRUE(parse_link_values("")->empty());
}

TEST(Forms, DeleteLinkNeedsAllThree) {
  EXPECT_TRUE(parse_delete_link(json{{"actor_id", "M"}, {"contract_id", "c"}, {"link_name", "l"}}));
  EXPECT_EQ(message_of(parse_delete_link(json{{"contract_id", "c"}, {"link_name", "l"}})),
            messages::kSelectActorToLink);
  EXPECT_EQ(message_of(parse_delete_link(json{{"actor_id", "M"}, {"link_name", "l"}})),
            messages::kEnterContractId);
  EXPECT_EQ(message_of(parse_delete_link(json{{"actor_id", "M"}, {"contract_id", "c"}})),
            messages::kEnterLinkName);
}

}  // namespace
}  // namespace wc::web
