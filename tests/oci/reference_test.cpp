// Unit tests of the OCI reference grammar (claims-oci-par.md 4.3), the WWW-Authenticate parser
// and token URL (4.6) and the credential store (4.5 / control-interface 3.1.3). The canonical
// manifest of `reg push` is tested in push_test.cpp, pull's early refusals in pull_test.cpp.
#include <gtest/gtest.h>

#include <thread>

#include "common/encoding.h"
#include "oci/auth.h"
#include "oci/client.h"
#include "oci/credentials.h"
#include "oci/errors.h"
#include "oci/reference.h"

namespace {

using namespace wc::oci;

struct Good {
  const char* input;
  const char* registry;
  const char* http_host;
  const char* repository;
  const char* tag;
  const char* digest;
};

const std::string kHex64 = "81b5dd580f946a6812f3ff3eae371214acc8a3e4952105dcd3c237a4421fcc12";

TEST(Reference, SpecTable) {
  const std::string d = "sha256:" + kHex64;
  const std::string with_digest = "reg.io/a/b:1@" + d;
  const Good cases[] = {
      {"localhost:5000/echo:0.3.4", "localhost:5000", "localhost:5000", "echo", "0.3.4", ""},
      {"localhost/echo:1", "localhost", "localhost", "echo", "1", ""},
      {"wasmcloud.azurecr.io/echo:0.3.4", "wasmcloud.azurecr.io", "wasmcloud.azurecr.io", "echo",
       "0.3.4", ""},
      {"echo:0.3.4", "docker.io", "registry-1.docker.io", "library/echo", "0.3.4", ""},
      {"org/echo:0.3.4", "docker.io", "registry-1.docker.io", "org/echo", "0.3.4", ""},
      {"test:5000/repo", "test:5000", "test:5000", "repo", "latest", ""},
      {with_digest.c_str(), "reg.io", "reg.io", "a/b", "1", d.c_str()},
      {"index.docker.io/echo:2", "docker.io", "registry-1.docker.io", "library/echo", "2", ""},
      {"127.0.0.1:5000/a/b-c/d__e.f:v1.2-rc_3", "127.0.0.1:5000", "127.0.0.1:5000", "a/b-c/d__e.f",
       "v1.2-rc_3", ""},
  };
  for (const Good& g : cases) {
    SCOPED_TRACE(g.input);
    auto r = parse_reference(g.input);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->registry, g.registry);
    EXPECT_EQ(r->http_host(), g.http_host);
    EXPECT_EQ(r->repository, g.repository);
    EXPECT_EQ(r->tag, g.tag);
    EXPECT_EQ(r->digest, g.digest);
  }
}

TEST(Reference, ImplicitTagIsLatestAndFlagged) {
  auto r = parse_reference("test:5000/repo");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->tag_implicit);
  EXPECT_EQ(r->manifest_ref(), "latest");
  EXPECT_EQ(r->to_string(), "test:5000/repo:latest");
}

TEST(Reference, DigestOnlyUsesDigestForManifest) {
  auto r = parse_reference("reg.io/a@sha256:" + kHex64);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, "");
  EXPECT_FALSE(r->tag_implicit);
  EXPECT_EQ(r->manifest_ref(), "sha256:" + kHex64);
}

TEST(Reference, SchemeStrippedOnlyWhenAsked) {
  auto strict = parse_reference("oci://localhost:5000/echo:1");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, wc::Code::kInvalidArgument);
  for (const char* s : {"oci://localhost:5000/echo:1", "http://localhost:5000/echo:1",
                        "https://localhost:5000/echo:1"}) {
    auto r = parse_reference(s, /*strip_scheme=*/true);
    ASSERT_TRUE(r) << s;
    EXPECT_EQ(r->registry, "localhost:5000");
    EXPECT_EQ(r->repository, "echo");
  }
}

// Scheme-prefixed pull references (issue 12.10, wasmCloud #776, wash #219): stripped, and
// http:// only for a registry in the allowed-insecure list.
TEST(PullScheme, OciAndHttpsStripped) {
  const std::vector<std::string> none;
  for (const char* s : {"oci://localhost:5000/echo:1", "https://localhost:5000/echo:1",
                        "OCI://localhost:5000/echo:1", "HTTPS://localhost:5000/echo:1"}) {
    auto r = strip_pull_scheme(s, none);
    ASSERT_TRUE(r) << s << ": " << r.error().message;
    EXPECT_EQ(*r, "localhost:5000/echo:1") << s;
  }
}

TEST(PullScheme, OtherTextUnchanged) {
  for (const char* s : {"localhost:5000/echo:1", "echo:0.3.4", "bindle://x/y", "ocix://a/b", "",
                        "http:/localhost/echo:1"}) {
    auto r = strip_pull_scheme(s, {});
    ASSERT_TRUE(r) << s;
    EXPECT_EQ(*r, s);
  }
}

TEST(PullScheme, HttpNeedsAllowedInsecure) {
  auto ok = strip_pull_scheme("http://127.0.0.1:5000/echo:0.3.4", {"x", "127.0.0.1:5000"});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, "127.0.0.1:5000/echo:0.3.4");
  auto refused = strip_pull_scheme("http://127.0.0.1:5000/echo:0.3.4", {"127.0.0.1:5001"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, wc::Code::kPermissionDenied);
  EXPECT_EQ(refused.error().message,
            "plain HTTP refused for http:// reference: registry 127.0.0.1:5000 is not in the "
            "allowed-insecure list (WASMCLOUD_OCI_ALLOWED_INSECURE)");
  // The HTTP host is compared (4.3/4.4): Docker Hub is registry-1.docker.io; case ignored.
  EXPECT_TRUE(strip_pull_scheme("http://Echo:0.3.4", {"registry-1.docker.io"}));
  EXPECT_FALSE(strip_pull_scheme("http://echo:0.3.4", {"docker.io"}));
}

TEST(PullScheme, HttpWithBadReferenceGivesParseError) {
  auto r = strip_pull_scheme("http://localhost:5000/Echo:", {"localhost:5000"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::kInvalidReferenceFormat);
}

void expect_bad(const std::string& input, std::string_view message) {
  auto r = parse_reference(input);
  ASSERT_FALSE(r) << input;
  EXPECT_EQ(r.error().code, wc::Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, message) << input;
}

TEST(ReferenceBad, Empty) { expect_bad("", errors::kRepositoryNoComponent); }
TEST(ReferenceBad, UppercaseRepository) {
  expect_bad("localhost:5000/Echo:1", errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, EmptyTag) {
  expect_bad("localhost:5000/echo:", errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, TagTooLong) {
  expect_bad("echo:" + std::string(129, 'a'), errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, TagStartsWithDot) { expect_bad("echo:.1", errors::kInvalidReferenceFormat); }
TEST(ReferenceBad, DoubleSlash) { expect_bad("reg.io//echo:1", errors::kInvalidReferenceFormat); }
TEST(ReferenceBad, TrailingSlash) { expect_bad("reg.io/echo/:1", errors::kInvalidReferenceFormat); }
TEST(ReferenceBad, ComponentStartsWithSeparator) {
  expect_bad("reg.io/_echo:1", errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, TripleUnderscore) {
  expect_bad("reg.io/a___b:1", errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, SpaceInside) { expect_bad("reg.io/ec ho:1", errors::kInvalidReferenceFormat); }
TEST(ReferenceBad, EmptyPort) { expect_bad("reg.io:/echo:1", errors::kInvalidReferenceFormat); }
TEST(ReferenceBad, DomainHyphenEdge) {
  expect_bad("-reg.io/echo:1", errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, ShortDigestHex) {
  expect_bad("reg.io/echo@sha256:abcd", errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, DigestWrongLength) {
  expect_bad("reg.io/echo@sha256:" + kHex64 + "00", errors::kInvalidDigestLength);
}
TEST(ReferenceBad, DigestUnsupportedAlgorithm) {
  expect_bad("reg.io/echo@md5:" + kHex64, errors::kUnsupportedDigestAlgorithm);
}
TEST(ReferenceBad, DigestNonHex) {
  expect_bad("reg.io/echo@sha256:" + std::string(64, 'g'), errors::kInvalidReferenceFormat);
}
TEST(ReferenceBad, RepositoryTooLong) {
  expect_bad("reg.io/" + std::string(256, 'a') + ":1", errors::kRepositoryTooLong);
}
TEST(ReferenceBad, OnlyTag) { expect_bad(":1", errors::kInvalidReferenceFormat); }

TEST(ReferenceHelpers, CacheName) {
  EXPECT_EQ(cache_name("localhost:5000/echo:0.3.4"), "localhost_5000_echo_0_3_4");
  EXPECT_EQ(cache_name("wasmcloud.azurecr.io/kvcounter:v1"), "wasmcloud_azurecr_io_kvcounter_v1");
  EXPECT_EQ(cache_name("Reg.IO/a@sha256:ab"), "reg_io_a@sha256_ab");
}

TEST(ReferenceHelpers, CredentialServer) {
  EXPECT_EQ(credential_server("https://localhost:5000"), "localhost:5000");
  EXPECT_EQ(credential_server("localhost:5000/echo:0.3.4"), "localhost:5000");
  EXPECT_EQ(credential_server("echo:0.3.4"), "echo:0.3.4");
  EXPECT_EQ(credential_server("oci://Reg.io/x"), "Reg.io");
}

// --- auth (4.6) ---------------------------------------------------------------------------------

TEST(Auth, ParsesBearerChallenge) {
  auto chs = parse_www_authenticate(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:echo:pull,push")");
  ASSERT_EQ(chs.size(), 1u);
  EXPECT_EQ(chs[0].scheme, "Bearer");
  EXPECT_EQ(chs[0].params["realm"], "https://auth.example/token");
  EXPECT_EQ(chs[0].params["service"], "registry.example");
  EXPECT_EQ(chs[0].params["scope"], "repository:echo:pull,push");
}

TEST(Auth, ParsesSeveralChallengesAndEscapes) {
  auto chs = parse_www_authenticate(
      R"(Basic realm="basic \"realm\"", Bearer Realm=http://t/x , service="s")");
  ASSERT_EQ(chs.size(), 2u);
  EXPECT_EQ(chs[0].scheme, "Basic");
  EXPECT_EQ(chs[0].params["realm"], "basic \"realm\"");
  EXPECT_EQ(chs[1].scheme, "Bearer");
  EXPECT_EQ(chs[1].params["realm"], "http://t/x");
  EXPECT_EQ(chs[1].params["service"], "s");
}

TEST(Auth, GarbageHeaderDoesNotCrash) {
  for (const char* h : {"", ",,,", "\"", "=", "Bearer =", "Bearer realm=\"unterminated",
                        "Negotiate abc==", "Bearer realm"}) {
    auto chs = parse_www_authenticate(h);
    for (const auto& c : chs) EXPECT_FALSE(c.scheme.empty()) << h;
  }
}

TEST(Auth, TokenUrl) {
  EXPECT_EQ(token_url("https://auth.example/token", "registry.example", "echo", false),
            "https://auth.example/token?scope=repository%3Aecho%3Apull&service=registry.example");
  EXPECT_EQ(token_url("http://t/tok?a=1", "", "org/echo", true),
            "http://t/tok?a=1&scope=repository%3Aorg%2Fecho%3Apull%2Cpush");
}

TEST(Auth, TokenResponse) {
  EXPECT_EQ(*parse_token_response(R"({"token":"t1","access_token":"t2"})"), "t1");
  EXPECT_EQ(*parse_token_response(R"({"access_token":"t2"})"), "t2");
  auto bad = parse_token_response("not json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with(errors::kDecodeTokenPrefix));
  auto missing = parse_token_response(R"({"x":1})");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().message.starts_with(errors::kDecodeTokenPrefix));
}

// --- credentials (4.5) --------------------------------------------------------------------------

TEST(Credentials, MergeNormalizesKeysAndDropsIncomplete) {
  CredentialStore store;
  ASSERT_TRUE(store.merge_json(R"({
    "https://localhost:5000": {"registryType":"oci","username":"u","password":"p"},
    "oci://reg.io/some/path": {"registryType":"oci","token":"t"},
    "http://nouser:1": {"registryType":"oci"},
    "notype:2": {"username":"u","password":"p"},
    "bindle://name/1.0@bindle.example": {"registryType":"bindle","token":"b"}
  })"));
  auto map = store.snapshot();
  EXPECT_EQ(map.size(), 3u);
  ASSERT_TRUE(map.count("localhost:5000"));
  EXPECT_EQ(*map["localhost:5000"].username, "u");
  EXPECT_TRUE(map.count("reg.io"));
  EXPECT_TRUE(map.count("bindle.example"));
  EXPECT_FALSE(map.count("nouser:1"));
  EXPECT_FALSE(map.count("notype:2"));
}

TEST(Credentials, MergeReplacesSameKeyKeepsOthers) {
  CredentialStore store;
  ASSERT_TRUE(store.merge_json(R"({"a.io":{"registryType":"oci","username":"u1","password":"p1"},
                                   "b.io":{"registryType":"oci","username":"u2","password":"p2"}})"));
  ASSERT_TRUE(store.merge_json(
      R"({"https://a.io":{"registryType":"oci","username":"u3","password":"p3"}})"));
  EXPECT_EQ(*store.find("a.io")->username, "u3");
  EXPECT_EQ(*store.find("b.io")->username, "u2");
}

TEST(Credentials, BadJsonLeavesMapUnchanged) {
  CredentialStore store;
  ASSERT_TRUE(store.merge_json(R"({"a.io":{"registryType":"oci","username":"u","password":"p"}})"));
  for (const char* bad : {"{", "[]", "42", R"({"x":"y"})"}) {
    auto s = store.merge_json(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, wc::Code::kInvalidArgument);
  }
  EXPECT_EQ(store.snapshot().size(), 1u);
}

TEST(Credentials, MistypedFieldIsRefusedAndNothingIsMerged) {
  CredentialStore store;
  ASSERT_TRUE(store.merge_json(R"({"a.io":{"registryType":"oci","username":"u","password":"p"}})"));
  auto s = store.merge_json(
      R"({"b.io":{"registryType":"oci","username":"u2","password":"p2"},
          "c.io":{"registryType":"oci","username":1,"password":"p"}})");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, wc::Code::kInvalidArgument);
  EXPECT_EQ(s.error().message, "registry credential field `username` of `c.io` must be a string");
  EXPECT_EQ(store.snapshot().size(), 1u);
  EXPECT_FALSE(store.find("b.io"));
  // null stays "absent".
  EXPECT_TRUE(store.merge_json(
      R"({"d.io":{"registryType":"oci","username":"u","password":"p","token":null}})"));
}

TEST(Credentials, ResolveOrder) {
  CredentialStore store;
  ASSERT_TRUE(store.merge_json(R"({"a.io":{"registryType":"oci","username":"u","password":"p"},
                                   "t.io":{"registryType":"oci","token":"tok"},
                                   "b.io":{"registryType":"bindle","username":"x","password":"y"}})"));
  EnvCredentials env{"b.io", "eu", "ep"};
  auto a = store.resolve_oci("a.io/echo:1", &env);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->username, "u");
  // An oci entry with only a token means anonymous, and the environment is not consulted.
  EnvCredentials env_t{"t.io", "eu", "ep"};
  EXPECT_FALSE(store.resolve_oci("t.io/echo:1", &env_t));
  // A bindle entry does not apply to OCI: the environment decides.
  auto b = store.resolve_oci("b.io/echo:1", &env);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->username, "eu");
  EXPECT_FALSE(store.resolve_oci("c.io/echo:1", &env));
  EXPECT_FALSE(store.resolve_oci("c.io/echo:1", nullptr));
}

TEST(Credentials, ConcurrentMergeAndRead) {
  CredentialStore store;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 200; ++i) {
        std::string key = "r" + std::to_string(t) + "-" + std::to_string(i % 10) + ".io";
        (void)store.merge_json(R"({")" + key +
                               R"(":{"registryType":"oci","username":"u","password":"p"}})");
        (void)store.resolve_oci(key + "/x:1", nullptr);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store.snapshot().size(), 40u);
}

}  // namespace
