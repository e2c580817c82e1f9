// Push without a registry (src/oci/push.cpp): the canonical manifest `wasmcloud reg push` writes
// (claims-oci-par.md 4.11, vector 6.3) and the refusals before any network. Pushes to a real
// registry: registry_test.cpp, fake_registry_test.cpp.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "oci/client.h"
#include "oci/errors.h"

namespace {

using namespace wc::oci;

TEST(Manifest, CanonicalEchoManifestMatchesVector) {
  auto wasm = wc::read_file(WC_FIXTURES_DIR "/echo.wasm");
  ASSERT_TRUE(wasm);
  const std::uint8_t config[] = {'{', '}'};
  std::string m = build_manifest(ArtifactKind::kActor, *wasm, config, {});
  EXPECT_EQ(m.size(), 375u);
  EXPECT_EQ(wc::oci_digest(wc::as_bytes(m)),
            "sha256:f0c85a649d42e65a1f76e810d541776395799e24e4f34ea2000085d92cdcd978");
  EXPECT_EQ(
      m,
      R"({"annotations":{},"config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","mediaType":"application/vnd.wasmcloud.actor.archive.config","size":2},"layers":[{"digest":"sha256:81b5dd580f946a6812f3ff3eae371214acc8a3e4952105dcd3c237a4421fcc12","mediaType":"application/vnd.module.wasm.content.layer.v1+wasm","size":1820240}],"schemaVersion":2})");
}

TEST(Manifest, ProviderMediaTypesAndAnnotations) {
  const std::uint8_t layer[] = {1, 2, 3};
  const std::uint8_t config[] = {'{', '}'};
  std::string m = build_manifest(ArtifactKind::kProvider, layer, config, {{"k", "v"}});
  EXPECT_NE(m.find(R"("annotations":{"k":"v"})"), std::string::npos);
  EXPECT_NE(m.find(std::string(media::kProviderLayer)), std::string::npos);
  EXPECT_NE(m.find(std::string(media::kProviderConfig)), std::string::npos);
}

TEST(Push, LatestRefusedBeforeAnyNetwork) {
  const std::uint8_t wasm[] = {0, 'a', 's', 'm'};
  auto r = Client().push("127.0.0.1:1/echo:latest", wasm, PushOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(r.error().message, errors::kPushLatestProhibited);
}

TEST(Push, EmptyArtifactRefusedBeforeAnyNetwork) {
  auto r = Client().push("127.0.0.1:1/echo:1", {}, PushOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, wc::Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, errors::kEmptyBlob);
}

}  // namespace
