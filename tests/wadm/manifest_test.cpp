// Unit tests of the manifest model (src/wadm/manifest.h): wadm's example manifests of the
// v0.4-v0.10 era (tests/wadm/data, rewritten to local images) parse into the expected structs,
// and every refused shape is refused with a message naming the problem.
#include "wadm/manifest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "wadm/errors.h"

namespace wc::wadm {
namespace {

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(WC_SOURCE_DIR) + "/tests/wadm/data/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// simple.yaml with `from` replaced by `to` (exactly once).
std::string simple_with(const std::string& from, const std::string& to) {
  std::string s = read_data("simple.yaml");
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

/// Parses `text`, expects a refusal whose message contains `needle`.
void expect_refused(const std::string& text, const std::string& needle) {
  auto m = parse_manifest(text);
  ASSERT_FALSE(m.has_value()) << "accepted: " << text;
  EXPECT_EQ(m.error().code, Code::kInvalidArgument);
  EXPECT_NE(m.error().message.find(needle), std::string::npos)
      << "message '" << m.error().message << "' lacks '" << needle << "'";
}

TEST(Manifest, ParsesSimpleYaml) {
  auto m = parse_manifest(read_data("simple.yaml"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->name, "echo-simple");
  EXPECT_EQ(m->version, "v0.0.1");
  EXPECT_EQ(m->description, "This is my app");
  ASSERT_EQ(m->components.size(), 2u);
  const Component& echo = m->components[0];
  EXPECT_EQ(echo.name, "echo");
  EXPECT_EQ(echo.type, ComponentType::kActor);
  EXPECT_EQ(echo.image, "127.0.0.1:5000/echo:0.1.0");
  ASSERT_EQ(echo.traits.size(), 2u);
  EXPECT_EQ(echo.traits[0].type, TraitType::kSpreadScaler);
  EXPECT_EQ(echo.traits[0].scaler.replicas, 4u);
  EXPECT_TRUE(echo.traits[0].scaler.spread.empty());
  EXPECT_EQ(echo.traits[1].type, TraitType::kLinkdef);
  EXPECT_EQ(echo.traits[1].linkdef.target, "httpserver");
  EXPECT_EQ(echo.traits[1].linkdef.values.at("address"), "0.0.0.0:8080");
  const Component& http = m->components[1];
  EXPECT_EQ(http.type, ComponentType::kCapability);
  EXPECT_EQ(http.contract, "wasmcloud:httpserver");
  EXPECT_EQ(http.link_name, "default");
  EXPECT_TRUE(http.config.is_null());
  EXPECT_EQ(http.traits.at(0).scaler.replicas, 1u);
  // The document is kept as JSON for model.get.
  EXPECT_EQ(m->document["metadata"]["name"], "echo-simple");
  EXPECT_EQ(m->document["spec"]["components"][0]["traits"][0]["properties"]["replicas"], 4);
}

TEST(Manifest, ParsesComplexYamlWithSpreadsDaemonscalerAndConfig) {
  auto m = parse_manifest(read_data("complex.yaml"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  ASSERT_EQ(m->components.size(), 3u);
  const ScalerProperties& echo = m->components[0].traits[0].scaler;
  EXPECT_EQ(echo.replicas, 5u);  // spelled `instances` (wadm v0.10)
  ASSERT_EQ(echo.spread.size(), 2u);
  EXPECT_EQ(echo.spread[0].name, "eastcoast");
  EXPECT_EQ(echo.spread[0].requirements.at("region"), "us-brooks-east");
  EXPECT_EQ(echo.spread[0].weight, 40u);
  EXPECT_EQ(m->components[0].traits[2].linkdef.target, "keyvalue");
  const Component& kv = m->components[2];
  EXPECT_EQ(kv.link_name, "cache");
  EXPECT_EQ(kv.config["url"], "redis://127.0.0.1:6379/");
  EXPECT_EQ(kv.traits[0].type, TraitType::kDaemonScaler);
  EXPECT_EQ(kv.traits[0].scaler.spread[0].weight, kDefaultSpreadWeight);
}

TEST(Manifest, ParsesJson) {
  auto m = parse_manifest(read_data("all_hosts.json"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->name, "echo-all-hosts");
  EXPECT_EQ(m->description, "");
  ASSERT_EQ(m->components[0].traits[0].scaler.spread.size(), 3u);
  EXPECT_EQ(m->components[0].traits[0].scaler.spread[2].weight, 20u);
  EXPECT_EQ(m->components[1].config, "{\"raw\": true}");  // an opaque string config
  EXPECT_EQ(m->components[1].traits[0].type, TraitType::kDaemonScaler);
}

TEST(Manifest, YamlAndItsJsonGiveTheSameModel) {
  auto y = parse_manifest(read_data("complex.yaml"));
  ASSERT_TRUE(y.has_value());
  auto j = parse_manifest(y->document.dump());
  ASSERT_TRUE(j.has_value()) << j.error().message;
  EXPECT_EQ(j->document, y->document);
  EXPECT_EQ(j->components.size(), y->components.size());
  EXPECT_EQ(j->components[1].traits[0].scaler.spread[1].name, "the-moon");
}

TEST(Manifest, YamlScalarsAreTypedByTheCoreSchema) {
  auto j = yaml_to_json("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: v1.0\ng: \"true\"\nh:\n");
  ASSERT_TRUE(j.has_value()) << j.error().message;
  EXPECT_EQ((*j)["a"], 1);
  EXPECT_EQ((*j)["b"], "1");
  EXPECT_EQ((*j)["c"], true);
  EXPECT_TRUE((*j)["d"].is_null());
  EXPECT_DOUBLE_EQ((*j)["e"].get<double>(), 1.5);
  EXPECT_EQ((*j)["f"], "v1.0");
  EXPECT_EQ((*j)["g"], "true");
  EXPECT_TRUE((*j)["h"].is_null());
}

TEST(ManifestRefused, NotYamlOrJson) {
  expect_refused("{\"apiVersion\": ", std::string(errors::kUnableToParse) + "not valid JSON");
  expect_refused("key: [unclosed\n", std::string(errors::kUnableToParse) + "not YAML or JSON");
  expect_refused("just a sentence", std::string(errors::kUnableToParse));
  expect_refused("", std::string(errors::kUnableToParse) + "the body is empty");
  expect_refused("- a\n- b\n", std::string(errors::kUnableToParse));
}

TEST(ManifestRefused, TooLargeDeepOrExpanding) {
  expect_refused(std::string(kMaxManifestBytes + 1, ' ') + "a: b", "larger than");
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "[";
  expect_refused("a: " + deep, std::string(errors::kUnableToParse));
  std::string deeper;
  for (int i = 0; i < 5000; ++i) deeper += "[";
  expect_refused("a: " + deeper,
                 std::string(errors::kUnableToParse) + "not YAML or JSON: nested too deeply");
  // Nine levels of nine aliases: 9^9 nodes once expanded.
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    std::string p = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p + ", " + p + ", " +
              p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + ", " + p + "]\n";
  }
  expect_refused(laughs, "more than 100000 nodes");
}

TEST(ManifestRefused, MissingOrEmptyImage) {
  expect_refused(simple_with("        image: 127.0.0.1:5000/echo:0.1.0\n", ""),
                 "component 'echo': properties.image is missing");
  expect_refused(simple_with("image: 127.0.0.1:5000/echo:0.1.0", "image: ''"),
                 "component 'echo': properties.image is empty");
  expect_refused(simple_with("image: 127.0.0.1:5000/echo:0.1.0", "image: 5"),
                 "properties.image must be a string");
}

TEST(ManifestRefused, DuplicateComponentNamesAndImages) {
  expect_refused(read_data("duplicate_component.yaml"),
                 std::string(errors::kDuplicateComponent) + "echo");
  expect_refused(simple_with("    - name: httpserver\n      type: capability",
                             "    - name: echo2\n      type: actor\n      properties:\n"
                             "        image: 127.0.0.1:5000/echo:0.1.0\n"
                             "    - name: httpserver\n      type: capability"),
                 std::string(errors::kDuplicateImage) + "127.0.0.1:5000/echo:0.1.0");
}

TEST(ManifestRefused, UnknownTraitAndComponentType) {
  expect_refused(simple_with("type: spreadscaler\n          properties:\n            replicas: 4",
                             "type: autoscaler\n          properties:\n            replicas: 4"),
                 "unknown trait type 'autoscaler'");
  expect_refused(simple_with("type: actor", "type: function"), "unknown component type 'function'");
}

TEST(ManifestRefused, LatestMissingOrNumericVersion) {
  auto m = parse_manifest(simple_with("version: v0.0.1", "version: latest"));
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().message, errors::kLatestVersion);
  expect_refused(simple_with("    version: v0.0.1\n", ""),
                 "metadata.annotations.version is missing");
  expect_refused(simple_with("version: v0.0.1", "version: 1.10"),
                 "metadata.annotations.version must be a string");
}

TEST(ManifestRefused, LinkdefTargets) {
  expect_refused(read_data("missing_capability_component.yaml"),
                 "component 'echo' links to 'httpserver', which is not a component of this "
                 "manifest");
  expect_refused(simple_with("target: httpserver", "target: echo"),
                 "links to 'echo', which is not a capability component");
  expect_refused(simple_with("            replicas: 1\n",
                             "            replicas: 1\n        - type: linkdef\n"
                             "          properties:\n            target: echo\n"),
                 "a linkdef trait belongs on an actor component");
  expect_refused(simple_with("            target: httpserver\n",
                             "            target: httpserver\n        - type: linkdef\n"
                             "          properties:\n            target: httpserver\n"),
                 "Duplicate target httpserver for component echo");
}

TEST(ManifestRefused, BadReplicas) {
  expect_refused(simple_with("replicas: 4", "replicas: -1"), "replicas is out of range");
  expect_refused(simple_with("replicas: 4", "replicas: four"), "replicas must be an integer");
  expect_refused(simple_with("replicas: 4", "replicas: 2.5"), "replicas must be an integer");
  expect_refused(simple_with("replicas: 4", "replicas: 10001"), "replicas is out of range");
  expect_refused(simple_with("replicas: 4", "spread: []"), "replicas is missing");
}

TEST(ManifestRefused, BadSpreads) {
  const std::string spread =
      "replicas: 4\n            spread:\n              - name: east\n"
      "                requirements:\n                  region: east\n";
  expect_refused(simple_with("replicas: 4", spread + "                weight: 0\n"),
                 "weight is out of range");
  expect_refused(simple_with("replicas: 4", spread + "                weight: -5\n"),
                 "weight is out of range");
  expect_refused(simple_with("replicas: 4", spread + "                weight: heavy\n"),
                 "weight must be an integer");
  expect_refused(simple_with("replicas: 4", spread + "              - name: east\n"),
                 "two spreads named 'east'");
  expect_refused(simple_with("replicas: 4",
                             "replicas: 4\n            spread:\n              - name: east\n"
                             "                requirements:\n                  zone: 3\n"),
                 "requirements.zone must be a string");
  expect_refused(simple_with("replicas: 4",
                             "replicas: 4\n            spread:\n"
                             "              - requirements: {}\n"),
                 "spread[0].name is missing");
}

TEST(ManifestRefused, HeaderFields) {
  expect_refused(simple_with("core.oam.dev/v1beta1", "core.oam.dev/v2"),
                 "apiVersion 'core.oam.dev/v2' is not supported");
  expect_refused(simple_with("kind: Application", "kind: Deployment"),
                 "kind 'Deployment' is not supported");
  expect_refused(simple_with("name: echo-simple", "name: echo simple!"),
                 "contains invalid characters");
  expect_refused(simple_with("contract: wasmcloud:httpserver\n", ""),
                 "component 'httpserver': properties.contract is missing");
  expect_refused(simple_with("            replicas: 1\n",
                             "            replicas: 1\n        - type: daemonscaler\n"
                             "          properties:\n            replicas: 1\n"),
                 "more than one scaler trait");
}

}  // namespace
}  // namespace wc::wadm
