// Provider archives: round trip, the spec 6.4.4 vector, tampering, truncation, targets.
#include "par/par.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cctype>
#include <filesystem>

#include "common/encoding.h"
#include "par/errors.h"
#include "wascap/claims.h"
#include "wascap/errors.h"
#include "wascap/jwt.h"

namespace wc::par {
namespace {

// Spec claims-oci-par.md 6.4 keys: account K2 and the provider seed of 32 x 0x42.
constexpr std::string_view kAccountSeed =
    "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q";
constexpr std::string_view kAccountKey = "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU";
constexpr std::string_view kServiceSeed =
    "SVAEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQV75U";
constexpr std::string_view kServiceKey = "VAQVF6GRTN4R2JCFGJBOCXZOVNWLPT72PNVF5UYAS6LA4BUYQHNRFYJK";
constexpr std::string_view kBinary = "#!/bin/sh\necho provider\n";
constexpr std::string_view kBinaryHash =
    "8A46262E9EFCB3C966CEE5663FD15474C546F9A3BF6410BAB4C53728AC1F593A";
constexpr std::string_view kVectorSignature =
    "1OBXL2QfZk6OXn-Q1Ktv29OeHLdhzgFKLHtTyI7jMhOGlMwecV_ayATa3stnsXZH1vO2GG0UdLsuOhErF59UCQ";

wascap::KeyPair account() { return *wascap::KeyPair::from_seed(kAccountSeed); }
wascap::KeyPair service() { return *wascap::KeyPair::from_seed(kServiceSeed); }

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

CreateSpec vector_spec() {
  CreateSpec spec;
  spec.capid = "wasmcloud:testing";
  spec.vendor = "wasmCloud";
  spec.name = "Test Provider";
  spec.rev = 1;
  spec.ver = "0.1.0";
  spec.targets["x86_64-linux"] = bytes_of(kBinary);
  spec.jti = "providervector00000000";
  spec.now = 1700000000;
  return spec;
}

TEST(ParTest, SignsTheSpecVector) {
  auto token = sign_claims(vector_spec(), account(), service());
  ASSERT_TRUE(token) << token.error().message;
  auto decoded = wascap::decode_jwt(*token);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(
      decoded->payload,
      std::string(R"({"jti":"providervector00000000","iat":1700000000,"iss":")") +
          std::string(kAccountKey) + R"(","sub":")" + std::string(kServiceKey) +
          R"(","wascap":{"name":"Test Provider","capid":"wasmcloud:testing","vendor":"wasmCloud","rev":1,"ver":"0.1.0","target_hashes":{"x86_64-linux":")" +
          std::string(kBinaryHash) + R"("}},"wascap_revision":3})");
  EXPECT_EQ(decoded->signature_segment, kVectorSignature);
}

class RoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(RoundTrip, CreateThenLoad) {
  CreateSpec spec = vector_spec();
  spec.targets["aarch64-linux"] = bytes_of("arm binary");
  auto bytes = create_archive(spec, account(), service(), GetParam());
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ((*bytes)[0] == 0x1f && (*bytes)[1] == 0x8b, GetParam());
  auto loaded = load_archive(*bytes);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->claims.sub, kServiceKey);
  EXPECT_EQ(loaded->claims.iss, kAccountKey);
  EXPECT_EQ(loaded->claims.capid, "wasmcloud:testing");
  EXPECT_EQ(loaded->claims.target_hashes.at("x86_64-linux"), kBinaryHash);
  ASSERT_EQ(loaded->targets.size(), 2u);
  EXPECT_EQ(loaded->targets.at("x86_64-linux"), bytes_of(kBinary));
  EXPECT_EQ(loaded->targets.at("aarch64-linux"), bytes_of("arm binary"));
  EXPECT_EQ(effective_revision(loaded->claims), 1);

  auto only = load_archive(*bytes, {.only_target = "x86_64-linux"});
  ASSERT_TRUE(only) << only.error().message;
  EXPECT_EQ(only->targets.size(), 1u);
  auto bin = select_binary(*only, "x86_64-linux");
  ASSERT_TRUE(bin);
  EXPECT_EQ(to_string(*bin), kBinary);
}
INSTANTIATE_TEST_SUITE_P(Compression, RoundTrip, ::testing::Bool());

TEST(ParTest, CachePathAndExtraction) {
  auto bytes = create_archive(vector_spec(), account(), service(), true);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes, {.only_target = "x86_64-linux"});
  ASSERT_TRUE(loaded);
  EXPECT_EQ(cache_path(loaded->claims, "default", "/tmp"),
            "/tmp/wasmcloudcache/" + std::string(kServiceKey) + "/1/wasmcloud_testing_default");
  EXPECT_EQ(cache_path(loaded->claims, "My-Link", "/x"),
            "/x/wasmcloudcache/" + std::string(kServiceKey) + "/1/wasmcloud_testing_my_link");
  const auto dir =
      std::filesystem::temp_directory_path() / ("par_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  if (native_target() == "x86_64-linux") {
    auto path = extract_to_cache(*loaded, "default", dir.string());
    ASSERT_TRUE(path) << path.error().message;
    EXPECT_EQ(to_string(*read_file(*path)), kBinary);
    const auto perms = std::filesystem::status(*path).permissions();
    EXPECT_NE(perms & std::filesystem::perms::owner_exec, std::filesystem::perms::none);
  }
  std::filesystem::remove_all(dir);
}

// Issue #11.1: an archive whose claims subject is a path ("V/../../...") signed by any account
// key must be refused before the subject reaches a path.
Bytes archive_with_subject(const std::string& sub, const wascap::KeyPair& issuer) {
  wascap::ProviderClaims c;
  c.jti = "traversal0000000000000";
  c.iat = 1700000000;
  c.iss = issuer.public_key();
  c.sub = sub;
  c.wascap_revision = 3;
  c.capid = "wasmcloud:testing";
  c.vendor = "evil";
  c.rev = 1;
  c.target_hashes[native_target()] = hex_upper(sha256(bytes_of(kBinary)));
  const auto token = wascap::sign_provider_claims(c, issuer);
  return *write_archive(token, {{native_target(), bytes_of(kBinary)}}, true);
}

TEST(ParTest, SubjectThatIsAPathIsRefused) {
  const auto issuer = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  const std::string module_key = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
  std::string lower(kServiceKey);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const std::string& sub :
       {std::string("V/../../../../tmp/x/evil"), std::string("V"), std::string(".."),
        std::string(kServiceKey) + "/..", module_key, lower}) {
    for (bool verify : {true, false}) {
      auto loaded = load_archive(archive_with_subject(sub, issuer), {.verify_signature = verify});
      ASSERT_FALSE(loaded) << sub;
      EXPECT_EQ(loaded.error().code, Code::kPermissionDenied) << sub;
      EXPECT_EQ(loaded.error().message, errors::kSubjectNotService) << sub;
    }
  }
}

TEST(ParTest, IssuerMustBeAnAccountKey) {
  const auto server = wascap::KeyPair::generate(wascap::KeyType::kServer);
  auto loaded = load_archive(archive_with_subject(std::string(kServiceKey), server));
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Code::kPermissionDenied);
  EXPECT_EQ(loaded.error().message, errors::kIssuerNotAccountKey);
}

TEST(ParTest, PathIsUnder) {
  EXPECT_TRUE(path_is_under("/tmp/a/wasmcloudcache/V/1", "/tmp/a/wasmcloudcache"));
  EXPECT_TRUE(path_is_under("/tmp/a/wasmcloudcache", "/tmp/a/wasmcloudcache/"));
  EXPECT_FALSE(path_is_under("/tmp/a/wasmcloudcache2/V", "/tmp/a/wasmcloudcache"));
  EXPECT_FALSE(path_is_under("/tmp/a/wasmcloudcache/V/../../../x", "/tmp/a/wasmcloudcache"));
  EXPECT_FALSE(path_is_under("/tmp/a", "/tmp/a/wasmcloudcache"));
}

// The cache refuses to write when the claims carry a bad subject (archive built in memory, so
// load_archive's check is bypassed) or when a directory on the way is a symlink leading out of
// the cache; nothing is written outside.
TEST(ParTest, CacheNeverWritesOutsideItsRoot) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("par_cache_root_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "outside");
  ProviderArchive a;
  a.claims.sub = "V/../../outside/evil";
  a.claims.iss = std::string(kAccountKey);
  a.claims.capid = "wasmcloud:testing";
  a.claims.rev = 1;
  a.targets[native_target()] = bytes_of(kBinary);
  auto path = extract_to_cache(a, "default", dir.string());
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code, Code::kPermissionDenied);
  EXPECT_EQ(path.error().message, errors::kSubjectNotService);

  // A valid subject whose revision directory is a symlink to a directory outside the cache.
  a.claims.sub = std::string(kServiceKey);
  std::filesystem::create_directories(dir / "wasmcloudcache" / kServiceKey);
  std::filesystem::create_directory_symlink(dir / "outside",
                                            dir / "wasmcloudcache" / kServiceKey / "1");
  path = extract_to_cache(a, "default", dir.string());
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code, Code::kPermissionDenied);
  EXPECT_TRUE(path.error().message.starts_with(errors::kCachePathEscapes)) << path.error().message;
  EXPECT_TRUE(std::filesystem::is_empty(dir / "outside"));

  // A symlink planted at the final name is replaced, not followed.
  std::filesystem::remove(dir / "wasmcloudcache" / kServiceKey / "1");
  std::filesystem::create_directories(dir / "wasmcloudcache" / kServiceKey / "1");
  const auto target = dir / "outside" / "victim";
  ASSERT_TRUE(write_file(target.string(), bytes_of("victim")));
  const auto exe = dir / "wasmcloudcache" / kServiceKey / "1" / "wasmcloud_testing_default";
  std::filesystem::create_symlink(target, exe);
  path = extract_to_cache(a, "default", dir.string());
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, exe.string());
  EXPECT_FALSE(std::filesystem::is_symlink(exe));
  EXPECT_EQ(to_string(*read_file(exe.string())), kBinary);
  EXPECT_EQ(to_string(*read_file(target.string())), "victim");
  std::filesystem::remove_all(dir);
}

TEST(ParTest, RevisionFallsBackToIat) {
  CreateSpec spec = vector_spec();
  spec.rev.reset();
  auto bytes = create_archive(spec, account(), service(), false);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(effective_revision(loaded->claims), 1700000000);
}

TEST(ParTest, TamperedBinaryIsAHashError) {
  auto token = sign_claims(vector_spec(), account(), service());
  ASSERT_TRUE(token);
  std::map<std::string, Bytes> targets{{"x86_64-linux", bytes_of("#!/bin/sh\necho provideR\n")}};
  for (bool gz : {false, true}) {
    auto bytes = write_archive(*token, targets, gz);
    ASSERT_TRUE(bytes);
    auto loaded = load_archive(*bytes);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, Code::kDataLoss);
    EXPECT_EQ(loaded.error().message, "File hash and verify hash do not match for 'x86_64-linux'");
  }
}

TEST(ParTest, BinaryWithoutSignedHashIsAHashError) {
  auto token = sign_claims(vector_spec(), account(), service());
  ASSERT_TRUE(token);
  std::map<std::string, Bytes> targets{{"x86_64-linux", bytes_of(kBinary)},
                                       {"aarch64-macos", bytes_of("extra")}};
  auto bytes = write_archive(*token, targets, false);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, "File hash and verify hash do not match for 'aarch64-macos'");
  // Collecting only the native target skips the unsigned entry (reference behaviour, 5.4).
  EXPECT_TRUE(load_archive(*bytes, {.only_target = "x86_64-linux"}));
}

TEST(ParTest, BadSignatureIsRefused) {
  auto token = sign_claims(vector_spec(), account(), service());
  ASSERT_TRUE(token);
  // Re-sign the same payload with another account key but keep the claimed issuer.
  std::string forged = *token;
  const auto other = wascap::KeyPair::generate(wascap::KeyType::kAccount);
  auto decoded = wascap::decode_jwt(forged);
  ASSERT_TRUE(decoded);
  const auto sig = other.sign(as_bytes(decoded->signing_input()));
  forged = decoded->signing_input() + "." + base64url_encode(sig);
  auto bytes = write_archive(forged, {{"x86_64-linux", bytes_of(kBinary)}}, true);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, Code::kPermissionDenied);
  EXPECT_EQ(loaded.error().message, wascap::errors::kInvalidProviderSignature);
  // The reference decodes without verifying.
  EXPECT_TRUE(load_archive(*bytes, {.verify_signature = false}));
}

TEST(ParTest, ExpiredClaimsAreRefused) {
  CreateSpec spec = vector_spec();
  spec.expires_in_days = 1;
  auto bytes = create_archive(spec, account(), service(), false);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes, {.now = 1700000000 + 2 * 86400});
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, wascap::errors::kProviderTokenExpired);
}

TEST(ParTest, UnknownTargetIsIncomplete) {
  auto bytes = create_archive(vector_spec(), account(), service(), true);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes, {.only_target = "aarch64-linux"});
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message,
            "Not enough files found in provider archive. Is this a complete archive?");
  auto all = load_archive(*bytes);
  ASSERT_TRUE(all);
  auto bin = select_binary(*all, "riscv64-linux");
  ASSERT_FALSE(bin);
  EXPECT_EQ(bin.error().message, errors::kNoSuitableTarget);
}

TEST(ParTest, ClaimsOnlyArchiveIsIncomplete) {
  auto token = sign_claims(vector_spec(), account(), service());
  ASSERT_TRUE(token);
  auto bytes = write_archive(*token, {}, false);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, errors::kIncompleteArchive);
}

TEST(ParTest, TooShortInput) {
  const Bytes one{0x1f};
  auto loaded = load_archive(one);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().message, "Not enough bytes to be a valid PAR file");
}

TEST(ParTest, GarbageIsAClearError) {
  const Bytes junk(1000, 0x5a);
  auto loaded = load_archive(junk);
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().message.starts_with(errors::kInvalidArchivePrefix))
      << loaded.error().message;
}

class Truncation : public ::testing::TestWithParam<bool> {};

// Every prefix (in steps) of a valid archive either fails with a clear error or, once all
// entries are complete (only the tar trailer is missing), loads the same content.
TEST_P(Truncation, EveryPrefixFailsCleanly) {
  auto bytes = create_archive(vector_spec(), account(), service(), GetParam());
  ASSERT_TRUE(bytes);
  int failures = 0;
  for (std::size_t n = 0; n < bytes->size(); n += (GetParam() ? 7 : 97)) {
    const std::span<const std::uint8_t> prefix(bytes->data(), n);
    auto loaded = load_archive(prefix);
    if (loaded) {
      EXPECT_EQ(loaded->targets.at("x86_64-linux"), bytes_of(kBinary)) << "prefix " << n;
      continue;
    }
    ++failures;
    const std::string& m = loaded.error().message;
    const bool clear = m == errors::kNotEnoughBytes || m == errors::kIncompleteArchive ||
                       m.starts_with(errors::kInvalidArchivePrefix);
    EXPECT_TRUE(clear) << "prefix " << n << ": " << m;
  }
  EXPECT_GT(failures, 5);
}
INSTANTIATE_TEST_SUITE_P(Compression, Truncation, ::testing::Bool());

TEST(ParTest, InsertAddsATargetAndResigns) {
  auto bytes = create_archive(vector_spec(), account(), service(), true);
  ASSERT_TRUE(bytes);
  auto loaded = load_archive(*bytes);
  ASSERT_TRUE(loaded);
  auto updated =
      insert_target(*loaded, "aarch64-macos", bytes_of("mac"), account(), service(), true);
  ASSERT_TRUE(updated) << updated.error().message;
  auto again = load_archive(*updated);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->targets.size(), 2u);
  EXPECT_EQ(again->targets.at("aarch64-macos"), bytes_of("mac"));
  EXPECT_EQ(again->claims.capid, "wasmcloud:testing");
  EXPECT_EQ(again->claims.rev, 1);
  EXPECT_NE(again->claims.jti, loaded->claims.jti);
  // Only the archive's own service key may re-sign it.
  const auto other = wascap::KeyPair::generate(wascap::KeyType::kService);
  auto refused = insert_target(*loaded, "aarch64-macos", bytes_of("mac"), account(), other, true);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("does not match"), std::string::npos);
}

TEST(ParTest, KeyTypesAreChecked) {
  auto r = sign_claims(vector_spec(), service(), service());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::kIssuerNotAccount);
  r = sign_claims(vector_spec(), account(), account());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::kSubjectNotServiceSeed);
}

TEST(ParTest, TargetNames) {
  EXPECT_TRUE(is_valid_target_name("x86_64-linux"));
  EXPECT_TRUE(is_valid_target_name("aarch64-macos"));
  EXPECT_FALSE(is_valid_target_name("linux"));
  EXPECT_FALSE(is_valid_target_name("X86-linux"));
  EXPECT_FALSE(is_valid_target_name("x86_64-linux.bin"));
  EXPECT_FALSE(is_valid_target_name("-linux"));
  CreateSpec spec = vector_spec();
  spec.targets["bad name"] = bytes_of("x");
  auto r = sign_claims(spec, account(), service());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with(errors::kBadTargetPrefix));
  const std::string native = native_target();
  EXPECT_TRUE(is_valid_target_name(native)) << native;
}

}  // namespace
}  // namespace wc::par
