// The manifest / image index parser of a pull (claims-oci-par.md 4.7 step 1, 4.8).
#include "oci/manifest.h"

#include <gtest/gtest.h>

#include "oci/errors.h"

namespace wc::oci {
namespace {

const std::string kLayer = "sha256:" + std::string(64, 'a');
const std::string kConfig = "sha256:" + std::string(64, 'c');

TEST(Manifest, ImageManifest) {
  auto m = parse_manifest(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
          "config":{"mediaType":"application/vnd.wasmcloud.actor.archive.config","digest":")" +
          kConfig + R"(","size":2},
          "layers":[{"mediaType":"application/vnd.module.wasm.content.layer.v1+wasm","digest":")" +
          kLayer + R"("},{"digest":")" + kLayer + R"(","size":"7"}]})",
      true);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_FALSE(m->platform_manifest);
  EXPECT_EQ(m->config.digest, kConfig);
  EXPECT_EQ(m->config.size, 2);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[0].media_type, "application/vnd.module.wasm.content.layer.v1+wasm");
  EXPECT_EQ(m->layers[0].size, -1);  // absent
  EXPECT_EQ(m->layers[1].media_type, "");
  EXPECT_EQ(m->layers[1].size, -1);  // not an integer
}

TEST(Manifest, IndexPicksThisPlatform) {
  const std::string body =
      R"({"schemaVersion":2,"manifests":[
          {"digest":"sha256:1","platform":{"os":"windows","architecture":"amd64"}},
          {"digest":"sha256:2","platform":null},
          {"digest":"sha256:3","platform":{"os":"linux","architecture":"amd64"}},
          {"digest":"sha256:4","platform":{"os":"linux","architecture":"arm64"}}]})";
  auto m = parse_manifest(body, true);
#if defined(__x86_64__) && defined(__linux__)
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->platform_manifest);
  EXPECT_EQ(m->platform_manifest->digest, "sha256:3");
  EXPECT_TRUE(m->layers.empty());
#endif
  // Reached through an index: a second index is refused.
  auto nested = parse_manifest(body, false);
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().code, Code::kUnsupported);
  EXPECT_EQ(nested.error().message, "Failed to parse manifest: nested image index");
}

TEST(Manifest, IndexWithoutThisPlatform) {
  auto m = parse_manifest(
      R"({"schemaVersion":2,"manifests":[{"digest":"d","platform":{"os":"plan9","architecture":"x"}}]})",
      true);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Code::kNotFound);
  EXPECT_EQ(m.error().message, errors::kNoPlatformMatch);
}

TEST(Manifest, Refusals) {
  auto not_json = parse_manifest("[1]", true);
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().message, "Failed to parse manifest: not a JSON object");
  auto schema1 = parse_manifest(R"({"schemaVersion":1})", true);
  ASSERT_FALSE(schema1);
  EXPECT_EQ(schema1.error().message, std::string(errors::kUnsupportedSchemaPrefix) + "1");
  auto no_schema = parse_manifest("{}", true);
  ASSERT_FALSE(no_schema);
  EXPECT_EQ(no_schema.error().message, std::string(errors::kUnsupportedSchemaPrefix) + "none");
  auto media = parse_manifest(R"({"schemaVersion":2,"mediaType":"text/plain"})", true);
  ASSERT_FALSE(media);
  EXPECT_EQ(media.error().message, std::string(errors::kUnsupportedMediaTypePrefix) + "text/plain");
  auto no_layers = parse_manifest(R"({"schemaVersion":2,"config":{"digest":"d"}})", true);
  ASSERT_FALSE(no_layers);
  EXPECT_EQ(no_layers.error().message, "Failed to parse manifest: missing config or layers");
  auto no_digest =
      parse_manifest(R"({"schemaVersion":2,"config":{"digest":"d"},"layers":[{"size":1}]})", true);
  ASSERT_FALSE(no_digest);
  EXPECT_EQ(no_digest.error().message, "Failed to parse manifest: descriptor without digest");
}

}  // namespace
}  // namespace wc::oci
