// The pure parts of the v1 link.* / config.* service (host/control_v1_links.h): body parsing and
// its refusals (each with a clear message), the WIT -> wasmbus contract table, reply shape.
// The service itself runs against a real nats-server in tests/integration/v1_state_test.cpp.
#include "host/control_v1_links.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

namespace wc::host {
namespace {

using json = nlohmann::json;

json http_link() {
  return json{{"source_id", "httpserver"},
              {"target", "echo"},
              {"name", "default"},
              {"wit_namespace", "wasi"},
              {"wit_package", "http"},
              {"interfaces", {"incoming-handler"}},
              {"source_config", {"echo-http"}},
              {"target_config", json::array()}};
}

/// The refusal message of a link.put body, or "" when it was accepted.
std::string put_error(const std::string& body) {
  auto r = parse_v1_link_put(body);
  return r ? "" : r.error().message;
}

TEST(V1LinkParse, AcceptsTheClientsShapeAndRoundTripsIt) {
  auto l = parse_v1_link_put(http_link().dump());
  ASSERT_TRUE(l.has_value()) << l.error().message;
  EXPECT_EQ(l->source_id, "httpserver");
  EXPECT_EQ(l->target, "echo");
  EXPECT_EQ(l->interfaces, std::vector<std::string>{"incoming-handler"});
  EXPECT_EQ(l->source_config, std::vector<std::string>{"echo-http"});
  EXPECT_EQ(l->to_json(), http_link());
}

TEST(V1LinkParse, DefaultsNameAndConfigLists) {
  json j = http_link();
  j.erase("name");
  j.erase("source_config");
  j["target_config"] = nullptr;
  auto l = parse_v1_link_put(j.dump());
  ASSERT_TRUE(l.has_value()) << l.error().message;
  EXPECT_EQ(l->name, "default");
  EXPECT_TRUE(l->source_config.empty());
  EXPECT_TRUE(l->target_config.empty());
  EXPECT_EQ(l->to_json()["source_config"], json::array());
}

TEST(V1LinkParse, RefusesMalformedJson) {
  EXPECT_EQ(put_error("{\"source_id\":"), "Invalid link.put request: the body is not valid JSON");
  EXPECT_EQ(put_error("[1,2]"), "Invalid link.put request: the body must be a JSON object");
  EXPECT_EQ(put_error(""), "Invalid link.put request: the body is not valid JSON");
}

TEST(V1LinkParse, RefusesMissingOrMistypedFields) {
  for (const char* f : {"source_id", "target", "wit_namespace", "wit_package", "interfaces"}) {
    json j = http_link();
    j.erase(f);
    EXPECT_EQ(put_error(j.dump()),
              std::string("Invalid link.put request: field `") + f + "` is required")
        << f;
  }
  json j = http_link();
  j["source_id"] = 7;
  EXPECT_EQ(put_error(j.dump()), "Invalid link.put request: field `source_id` must be a string");
  j = http_link();
  j["interfaces"] = json::array();
  EXPECT_EQ(put_error(j.dump()), "Invalid link.put request: field `interfaces` must not be empty");
  j = http_link();
  j["interfaces"] = "incoming-handler";
  EXPECT_EQ(put_error(j.dump()),
            "Invalid link.put request: field `interfaces` must be an array of strings");
  j = http_link();
  j["source_config"] = {1};
  EXPECT_EQ(put_error(j.dump()),
            "Invalid link.put request: field `source_config` must be an array of strings");
}

TEST(V1LinkParse, RefusesBadIdsNamesAndWitNames) {
  json j = http_link();
  j["target"] = "no spaces.or dots";
  EXPECT_NE(put_error(j.dump()).find("field `target` (`no spaces.or dots`) is not a valid"),
            std::string::npos);
  j = http_link();
  j["name"] = "a.b";
  EXPECT_NE(put_error(j.dump()).find("field `name` must be one NATS subject token"),
            std::string::npos);
  j = http_link();
  j["wit_namespace"] = "WASI";
  EXPECT_NE(put_error(j.dump()).find("field `wit_namespace` (`WASI`) is not a WIT name"),
            std::string::npos);
  j = http_link();
  j["interfaces"] = {"incoming handler"};
  EXPECT_NE(put_error(j.dump()).find("field `interfaces`"), std::string::npos);
  j = http_link();
  j["source_config"] = {"bad.name"};
  EXPECT_NE(put_error(j.dump()).find("Invalid config name `bad.name`"), std::string::npos);
}

TEST(V1LinkParse, RefusesOversizedBodiesAndLists) {
  json j = http_link();
  j["source_id"] = std::string(kMaxV1BodyBytes, 'a');
  auto r = parse_v1_link_put(j.dump());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kResourceExhausted);
  EXPECT_NE(r.error().message.find("exceeds this host's limit of 65536 bytes"), std::string::npos);
  j = http_link();
  j["interfaces"] = json::array();
  for (std::size_t i = 0; i <= kMaxV1ListEntries; ++i) j["interfaces"].push_back("i");
  EXPECT_EQ(put_error(j.dump()), "Field `interfaces` exceeds this host's limit of 64 entries");
}

TEST(V1LinkParse, DelTakesLinkNameOrNameOrDefault) {
  json d{{"source_id", "httpserver"},
         {"link_name", "web"},
         {"wit_namespace", "wasi"},
         {"wit_package", "http"}};
  auto r = parse_v1_link_del(d.dump());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->name, "web");
  d.erase("link_name");
  d["name"] = "other";
  r = parse_v1_link_del(d.dump());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "other");
  d.erase("name");
  r = parse_v1_link_del(d.dump());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "default");
}

TEST(V1LinkParse, DelRefusesBadBodies) {
  auto r = parse_v1_link_del("null,");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "Invalid link.del request: the body is not valid JSON");
  r = parse_v1_link_del(R"({"wit_namespace":"wasi","wit_package":"http"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "Invalid link.del request: field `source_id` is required");
  r = parse_v1_link_del(R"({"source_id":"a b","wit_namespace":"wasi","wit_package":"http"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("is not a valid component or provider id"), std::string::npos);
}

TEST(V1ConfigParse, AcceptsAStringMap) {
  auto c = parse_v1_config(R"({"address":"127.0.0.1:8080","b":""})");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->at("address"), "127.0.0.1:8080");
  EXPECT_EQ(c->at("b"), "");
  auto empty = parse_v1_config("{}");
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(V1ConfigParse, RefusesNonObjectsNonStringsAndOversized) {
  for (const char* body : {"{\"a\":", "[]", "\"x\"", "", "3"}) {
    auto c = parse_v1_config(body);
    ASSERT_FALSE(c.has_value()) << body;
    EXPECT_EQ(c.error().message,
              "Invalid config.put request: config must be a JSON object mapping string keys to "
              "string values");
  }
  auto c = parse_v1_config(R"({"a":1})");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message,
            "Invalid config.put request: config value of key `a` must be a string");
  c = parse_v1_config(R"({"a":{"b":"c"}})");
  ASSERT_FALSE(c.has_value());
  c = parse_v1_config(json{{"a", std::string(kMaxV1BodyBytes, 'x')}}.dump());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Code::kResourceExhausted);
  c = parse_v1_config(json{{"a", std::string(kMaxV1ConfigValueBytes + 1, 'x')}}.dump());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, "Field `a` exceeds this host's limit of 16384 bytes");
  json many = json::object();
  for (std::size_t i = 0; i <= kMaxV1ConfigEntries; ++i) many["k" + std::to_string(i)] = "v";
  c = parse_v1_config(many.dump());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message, "Field `config` exceeds this host's limit of 256 entries");
}

TEST(V1Names, ConfigAndWitNames) {
  EXPECT_TRUE(is_valid_config_name("echo-http"));
  EXPECT_TRUE(is_valid_config_name("A_b-9"));
  EXPECT_FALSE(is_valid_config_name(""));
  EXPECT_FALSE(is_valid_config_name("a.b"));
  EXPECT_FALSE(is_valid_config_name("a>"));
  EXPECT_FALSE(is_valid_config_name(std::string(129, 'a')));
  EXPECT_TRUE(is_valid_wit_name("incoming-handler"));
  EXPECT_TRUE(is_valid_wit_name("keyvalue"));
  EXPECT_FALSE(is_valid_wit_name("-x"));
  EXPECT_FALSE(is_valid_wit_name("Http"));
  EXPECT_FALSE(is_valid_wit_name(""));
}

TEST(V1ContractTable, MapsTheDocumentedInterfaces) {
  auto m = v1_contract_for("wasi", "http", {"incoming-handler"});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->contract_id, "wasmcloud:httpserver");
  EXPECT_TRUE(m->provider_is_source);
  EXPECT_FALSE(m->builtin);
  m = v1_contract_for("wasi", "http", {"outgoing-handler"});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->contract_id, "wasmcloud:httpclient");
  EXPECT_FALSE(m->provider_is_source);
  for (const char* i : {"store", "atomics", "batch", "readwrite", "eventual", "atomic"}) {
    m = v1_contract_for("wasi", "keyvalue", {i});
    ASSERT_TRUE(m.has_value()) << i;
    EXPECT_EQ(m->contract_id, "wasmcloud:keyvalue");
    EXPECT_FALSE(m->provider_is_source);
  }
  m = v1_contract_for("wasi", "logging", {"logging"});
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->contract_id, "wasmcloud:builtin:logging");
  EXPECT_TRUE(m->builtin);
  EXPECT_FALSE(v1_contract_for("wasi", "http", {"incoming-handler", "outgoing-handler"}));
  EXPECT_FALSE(v1_contract_for("wasi", "blobstore", {"blobstore"}));
  EXPECT_FALSE(v1_contract_for("wasmcloud", "postgres", {"query"}));
}

TEST(V1ContractTable, OtpLinkDefinitionsReadBackwards) {
  LinkDefinition ld;
  ld.actor_id = "MACTOR";
  ld.provider_id = "VPROV";
  ld.link_name = "web";
  ld.contract_id = "wasmcloud:httpserver";
  ld.values = {{"port", "1"}};
  auto ids = [](const std::string& k) { return k == "MACTOR" ? std::string("echo") : k; };
  auto pids = [](const std::string& k, const std::string& l) { return k + "-" + l; };
  V1Link l = v1_link_from_linkdef(ld, ids, pids);
  EXPECT_EQ(l.to_json(), (json{{"source_id", "VPROV-web"},
                               {"target", "echo"},
                               {"name", "web"},
                               {"wit_namespace", "wasi"},
                               {"wit_package", "http"},
                               {"interfaces", {"incoming-handler"}},
                               {"source_config", json::array()},
                               {"target_config", json::array()}}));
  // What link.put maps back to the same contract.
  auto m = v1_contract_for(l.wit_namespace, l.wit_package, l.interfaces);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->contract_id, ld.contract_id);
  ld.contract_id = "wasmcloud:keyvalue";
  l = v1_link_from_linkdef(ld, {}, {});
  EXPECT_EQ(l.source_id, "MACTOR");
  EXPECT_EQ(l.target, "VPROV");
  EXPECT_EQ(l.wit_package, "keyvalue");
  EXPECT_EQ(l.interfaces, std::vector<std::string>{"store"});
  EXPECT_EQ(v1_contract_for(l.wit_namespace, l.wit_package, l.interfaces)->contract_id,
            "wasmcloud:keyvalue");
  ld.contract_id = "wasmcloud:httpclient";
  l = v1_link_from_linkdef(ld, {}, {});
  EXPECT_EQ(l.interfaces, std::vector<std::string>{"outgoing-handler"});
  EXPECT_EQ(l.source_id, "MACTOR");
  ld.contract_id = "wasmcloud:builtin:numbergen";
  l = v1_link_from_linkdef(ld, {}, {});
  EXPECT_EQ(l.wit_namespace, "wasmcloud");
  EXPECT_EQ(l.wit_package, "builtin-numbergen");
  EXPECT_TRUE(l.interfaces.empty());
}

TEST(V1Reply, Shape) {
  EXPECT_EQ(v1_reply(false, "no"), (json{{"success", false}, {"message", "no"}}));
  EXPECT_EQ(v1_reply(true, "", json::array()),
            (json{{"success", true}, {"message", ""}, {"response", json::array()}}));
}

}  // namespace
}  // namespace wc::host
