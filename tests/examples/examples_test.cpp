// The example actors of examples/ (C, built with clang for wasm32 and signed at build time by
// `wasmcloud claims sign`) on the engine: hello's HttpResponse, pinger -> ponger actor-to-actor
// calls by call alias and by public key (spec actor-rpc-providers.md 2.4), logger's builtin
// logging/numbergen calls (spec 7.4, 7.5), the SDK's health answer (7.6), bad input, and the
// claims each signed actor carries (spec claims-oci-par.md 2.12).
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "wascap/claims.h"
#include "wasm_test_util.h"

namespace wc::wasm {
namespace {

using testing::decode_http_response;
using testing::from_hex;
using testing::http_request;
using testing::make_engine;
using testing::no_host_calls;

constexpr std::string_view kHandle = "HttpServer.HandleRequest";

/// A signed example actor from the build tree (<build>/examples/<name>_s.wasm).
Bytes example(const std::string& name) {
  auto bytes = read_file(std::string(WC_EXAMPLES_DIR) + "/" + name + "_s.wasm");
  if (!bytes) {
    ADD_FAILURE() << name << ": " << bytes.error().message;
    return {};
  }
  return *bytes;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

/// The validated claims of a signed example.
wascap::ActorClaims claims_of(const std::string& name) {
  auto claims = wascap::extract_claims(example(name), now());
  if (!claims) {
    ADD_FAILURE() << name << ": " << claims.error().to_string();
    return {};
  }
  return claims->claims;
}

std::shared_ptr<Module> load(Engine& engine, const std::string& name) {
  auto module = engine.load(example(name));
  EXPECT_TRUE(module.has_value()) << name << ": " << module.error().to_string();
  return module ? *module : nullptr;
}

Bytes msgpack_of(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& write) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  write(pk);
  return Bytes(buf.data(), buf.data() + buf.size());
}

/// A map of str keys to str or uint values, decoded from a host-call payload.
std::map<std::string, std::string> decode_flat_map(std::span<const std::uint8_t> payload) {
  std::map<std::string, std::string> out;
  try {
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(payload.data()), payload.size());
    const auto& obj = handle.get();
    if (obj.type != msgpack::type::MAP) return out;
    for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
      const auto& kv = obj.via.map.ptr[i];
      out[kv.key.as<std::string>()] = kv.val.type == msgpack::type::POSITIVE_INTEGER
                                          ? std::to_string(kv.val.as<std::uint64_t>())
                                          : kv.val.as<std::string>();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "undecodable payload: " << e.what();
  }
  return out;
}

// ---- claims ------------------------------------------------------------------------------------

TEST(ExampleClaims, EverySignedExampleVerifiesWithItsNameCapsAndAlias) {
  struct Want {
    std::string name, display;
    std::vector<std::string> caps;
    std::optional<std::string> alias;
  };
  const std::vector<Want> wants = {
      {"hello", "Hello", {"wasmcloud:httpserver"}, std::nullopt},
      {"pinger", "Pinger", {"wasmcloud:httpserver"}, std::nullopt},
      {"ponger", "Ponger", {}, std::string(WC_EXAMPLES_PONGER_ALIAS)},
      {"logger",
       "Logger",
       {"wasmcloud:httpserver", "wasmcloud:builtin:logging", "wasmcloud:builtin:numbergen"},
       std::nullopt},
  };
  for (const auto& want : wants) {
    auto extracted = wascap::extract_claims(example(want.name), now());
    ASSERT_TRUE(extracted.has_value()) << want.name << ": " << extracted.error().to_string();
    const auto& c = extracted->claims;
    EXPECT_EQ(c.name, want.display) << want.name;
    EXPECT_EQ(c.caps, want.caps) << want.name;
    EXPECT_EQ(c.call_alias, want.alias) << want.name;
    EXPECT_EQ(c.rev, 1) << want.name;
    EXPECT_EQ(c.ver, "0.1.0") << want.name;
    EXPECT_EQ(c.wascap_revision, 3u) << want.name;
    EXPECT_EQ(c.sub.size(), 56u) << want.name;
    EXPECT_EQ(c.sub.front(), 'M') << want.name;
    EXPECT_EQ(c.iss.front(), 'A') << want.name;
    EXPECT_EQ(c.hash, extracted->computed_hash) << want.name;
    EXPECT_FALSE(c.prov);
  }
}

TEST(ExampleClaims, KeysComeFromTheBuildTreeNotTheSourceTree) {
  for (const std::string name : {"hello", "pinger", "ponger", "logger"}) {
    const std::string module_key = std::string(WC_EXAMPLES_KEYS_DIR) + "/" + name + "_module.nk";
    auto seed = read_file(module_key);
    ASSERT_TRUE(seed.has_value()) << module_key;
    EXPECT_EQ(to_string(*seed).substr(0, 2), "SM") << name;
    EXPECT_FALSE(std::filesystem::exists(std::string(WC_SOURCE_DIR) + "/examples/" + name + "/" +
                                         name + "_module.nk"));
  }
}

TEST(ExampleClaims, ExamplesAreSmallAndImportOnlyWasmbus) {
  for (const std::string name : {"hello", "pinger", "ponger", "logger"}) {
    const Bytes bytes = example(name);
    EXPECT_LT(bytes.size(), 64u * 1024) << name;
    const std::string text(bytes.begin(), bytes.end());
    EXPECT_NE(text.find("wasmbus"), std::string::npos) << name;
    EXPECT_EQ(text.find("wasi_snapshot_preview1"), std::string::npos) << name;
  }
}

// ---- hello -------------------------------------------------------------------------------------

TEST(ExampleHello, AnswersTwoHundredWithThePath) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  auto out =
      hello->invoke(kHandle, http_request("GET", "/greet/me", "x=1", "ignored"), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  // Exactly {statusCode: 200, header: {}, body: bin "..."} (spec 7.2).
  const std::string body = "Hello from wasmcloud-cpp: /greet/me";
  EXPECT_EQ(out->response, msgpack_of([&](auto& pk) {
              pk.pack_map(3);
              pk.pack(std::string("statusCode"));
              pk.pack(200);
              pk.pack(std::string("header"));
              pk.pack_map(0);
              pk.pack(std::string("body"));
              pk.pack_bin(static_cast<std::uint32_t>(body.size()));
              pk.pack_bin_body(body.data(), static_cast<std::uint32_t>(body.size()));
            }));
  auto resp = decode_http_response(out->response);
  ASSERT_TRUE(resp.decoded);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, body);
}

TEST(ExampleHello, AcceptsSpecVectorAWithHeaders) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  auto out = hello->invoke(kHandle, testing::vector_a_request(), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto resp = decode_http_response(out->response);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "Hello from wasmcloud-cpp: /foo/bar");
}

TEST(ExampleHello, AnswersTheHealthRequest) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  auto out = hello->invoke("Actor.HealthRequest", from_hex("80"), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, from_hex("81 a7 68 65 61 6c 74 68 79 c3"));  // {"healthy": true}
}

TEST(ExampleHello, UnknownOperationIsTheActorsError) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  auto out = hello->invoke("Foo.Bar", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kActorError);
  EXPECT_EQ(out.error().message, "unknown operation: Foo.Bar");
}

TEST(ExampleHello, EmptyPayloadIsADecodeError) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  auto out = hello->invoke(kHandle, {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kActorError);
  EXPECT_EQ(out.error().message, "hello: cannot decode HttpRequest");
}

TEST(ExampleHello, EveryTruncationOfARequestFailsCleanly) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  const Bytes full = testing::vector_a_request();
  for (std::size_t n = 1; n < full.size(); ++n) {
    auto out = hello->invoke(kHandle, std::span(full.data(), n), no_host_calls());
    ASSERT_FALSE(out.has_value()) << "prefix " << n;
    EXPECT_EQ(out.error().code, Code::kActorError) << "prefix " << n;
    EXPECT_EQ(out.error().message, "hello: cannot decode HttpRequest") << "prefix " << n;
  }
}

TEST(ExampleHello, OverlongLengthsAndDeepNestingFailCleanly) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  // {"path": str32 claiming 4 GiB}
  Bytes overlong = from_hex("81 a4 70 61 74 68 db ff ff ff ff 41");
  // {"header": [[[[... 100 levels ...]]]]}: past the reader's nesting bound.
  Bytes deep = from_hex("81 a6 68 65 61 64 65 72");
  for (int i = 0; i < 100; ++i) deep.push_back(0x91);
  deep.push_back(0xc0);
  // {"header": map32 claiming 2^32-1 pairs}
  Bytes huge_map = from_hex("81 a6 68 65 61 64 65 72 df ff ff ff ff");
  // not a map at all, and the never-used byte 0xc1 as a value
  Bytes not_map = from_hex("93 01 02 03");
  Bytes never_used = from_hex("81 a6 68 65 61 64 65 72 c1");
  for (const auto& bad : {overlong, deep, huge_map, not_map, never_used}) {
    auto out = hello->invoke(kHandle, bad, no_host_calls());
    ASSERT_FALSE(out.has_value()) << hex_lower(bad);
    EXPECT_EQ(out.error().code, Code::kActorError) << hex_lower(bad);
    EXPECT_EQ(out.error().message, "hello: cannot decode HttpRequest");
  }
}

TEST(ExampleHello, NilFieldsAreMissingFieldsAndStrBodiesAreAccepted) {
  auto engine = make_engine();
  auto hello = load(*engine, "hello");
  ASSERT_NE(hello, nullptr);
  // {"path": nil, "body": str "x", "extra": {"a": [1, 2.5, true]}}
  auto out = hello->invoke(
      kHandle,
      from_hex("83 a4 70 61 74 68 c0 a4 62 6f 64 79 a1 78 a5 65 78 74 72 61 81 a1 61 93 "
               "01 cb 40 04 00 00 00 00 00 00 c3"),
      no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(decode_http_response(out->response).body, "Hello from wasmcloud-cpp: ");
}

// ---- pinger -> ponger --------------------------------------------------------------------------

/// A host-call handler that plays the lattice router for actor-to-actor calls: it records each
/// call and runs it on `ponger` when the namespace is the alias or ponger's key.
struct PongRouter {
  std::shared_ptr<Module> ponger;
  std::string ponger_key;
  std::vector<std::string> namespaces, operations, bindings;
  std::vector<Bytes> payloads;

  HostCallHandler handler() {
    return [this](const HostCall& call) -> Result<Bytes> {
      namespaces.emplace_back(call.ns);
      operations.emplace_back(call.operation);
      bindings.emplace_back(call.binding);
      payloads.emplace_back(call.payload.begin(), call.payload.end());
      if (call.ns != WC_EXAMPLES_PONGER_ALIAS && call.ns != ponger_key) {
        return fail(Code::kUnavailable,
                    "Host call function failed: Invocation not authorized: missing link "
                    "definition for " +
                        std::string(call.ns) + " on default");
      }
      auto out = ponger->invoke(call.operation, call.payload, testing::no_host_calls());
      if (!out) return fail(out.error());
      return out->response;
    };
  }
};

class ExamplePinger : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = make_engine();
    pinger_ = load(*engine_, "pinger");
    router_.ponger = load(*engine_, "ponger");
    router_.ponger_key = claims_of("ponger").sub;
    ASSERT_NE(pinger_, nullptr);
    ASSERT_NE(router_.ponger, nullptr);
  }
  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Module> pinger_;
  PongRouter router_;
};

TEST_F(ExamplePinger, PongerAnswersPingWithTheMsgpackStringPong) {
  auto out = router_.ponger->invoke("Pingpong.Ping", {}, no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, from_hex("a4 70 6f 6e 67"));
}

TEST_F(ExamplePinger, CallsPongerByCallAlias) {
  auto out = pinger_->invoke(kHandle, http_request("GET", "/", "", ""), router_.handler());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  ASSERT_EQ(router_.namespaces.size(), 1u);
  EXPECT_EQ(router_.namespaces[0], WC_EXAMPLES_PONGER_ALIAS);
  EXPECT_EQ(router_.operations[0], "Pingpong.Ping");
  EXPECT_EQ(router_.bindings[0], "");  // spec 2.4: actor-to-actor calls pass binding ""
  EXPECT_TRUE(router_.payloads[0].empty());
  auto resp = decode_http_response(out->response);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "Ping pong");
}

TEST_F(ExamplePinger, CallsPongerByPublicKeyFromTheQueryString) {
  const std::string key = router_.ponger_key;
  auto out =
      pinger_->invoke(kHandle, http_request("GET", "/", "key=" + key, ""), router_.handler());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  ASSERT_EQ(router_.namespaces.size(), 1u);
  EXPECT_EQ(router_.namespaces[0], key);
  EXPECT_EQ(router_.operations[0], "Pingpong.Ping");
  auto resp = decode_http_response(out->response);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "Ping pong");
}

TEST_F(ExamplePinger, AKeyThatIsNotAnActorKeyIsABadRequestWithoutAHostCall) {
  for (const std::string& bad :
       {std::string(), std::string("wasmcloud/ponger"), "V" + router_.ponger_key.substr(1),
        router_.ponger_key + "A", "m" + router_.ponger_key.substr(1)}) {
    router_.namespaces.clear();
    auto out =
        pinger_->invoke(kHandle, http_request("GET", "/", "a=1&key=" + bad, ""), router_.handler());
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    auto resp = decode_http_response(out->response);
    EXPECT_EQ(resp.status, 400) << bad;
    EXPECT_EQ(resp.body, "key must be an actor public key (M...)");
    EXPECT_TRUE(router_.namespaces.empty()) << bad;
  }
}

TEST_F(ExamplePinger, AFailedCallIsA500CarryingTheHostError) {
  const std::string unknown = "M" + std::string(55, 'A');
  auto out =
      pinger_->invoke(kHandle, http_request("GET", "/", "key=" + unknown, ""), router_.handler());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto resp = decode_http_response(out->response);
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(resp.body,
            "Host call function failed: Invocation not authorized: missing link definition for " +
                unknown + " on default");
}

TEST_F(ExamplePinger, ARawNonMsgpackAnswerIsShownAsIs) {
  auto handler = [](const HostCall&) -> Result<Bytes> { return from_hex("c1 72 61 77"); };
  auto out = pinger_->invoke(kHandle, http_request("GET", "/", "", ""), handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(decode_http_response(out->response).body, "Ping \xc1raw");
}

// ---- logger ------------------------------------------------------------------------------------

TEST(ExampleLogger, LogsThenDrawsANumberThroughTheBuiltins) {
  auto engine = make_engine();
  auto logger = load(*engine, "logger");
  ASSERT_NE(logger, nullptr);
  std::vector<std::string> calls;
  auto handler = [&](const HostCall& call) -> Result<Bytes> {
    calls.push_back(std::string(call.ns) + " " + std::string(call.operation));
    EXPECT_EQ(call.binding, "default");
    const auto fields = decode_flat_map(call.payload);
    if (call.ns == "wasmcloud:builtin:logging") {
      EXPECT_EQ(call.operation, "Logging.WriteLog");
      EXPECT_EQ(fields, (std::map<std::string, std::string>{{"level", "info"},
                                                            {"text", "logger: POST /dice"}}));
      return Bytes{};  // no output (spec 7.4)
    }
    EXPECT_EQ(call.ns, "wasmcloud:builtin:numbergen");
    EXPECT_EQ(call.operation, "NumberGen.RandomInRange");
    EXPECT_EQ(fields, (std::map<std::string, std::string>{{"min", "1"}, {"max", "100"}}));
    EXPECT_EQ(Bytes(call.payload.begin(), call.payload.end()),
              from_hex("82 a3 6d 69 6e 01 a3 6d 61 78 64"));  // shortest msgpack forms
    return from_hex("cc 2a");                                 // 42 as uint8 (any width decodes)
  };
  auto out = logger->invoke(kHandle, http_request("POST", "/dice", "", ""), handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(calls,
            (std::vector<std::string>{"wasmcloud:builtin:logging Logging.WriteLog",
                                      "wasmcloud:builtin:numbergen NumberGen.RandomInRange"}));
  auto resp = decode_http_response(out->response);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "Your number: 42");
}

TEST(ExampleLogger, ALoggingFailureIsA500AndStopsBeforeNumbergen) {
  auto engine = make_engine();
  auto logger = load(*engine, "logger");
  ASSERT_NE(logger, nullptr);
  int calls = 0;
  auto handler = [&](const HostCall&) -> Result<Bytes> {
    ++calls;
    return fail(Code::kUnavailable, "Host call function failed: logging is down");
  };
  auto out = logger->invoke(kHandle, http_request("GET", "/", "", ""), handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(calls, 1);
  auto resp = decode_http_response(out->response);
  EXPECT_EQ(resp.status, 500);
  EXPECT_EQ(resp.body, "Host call function failed: logging is down");
}

TEST(ExampleLogger, ANonNumberFromNumbergenIsA500) {
  auto engine = make_engine();
  auto logger = load(*engine, "logger");
  ASSERT_NE(logger, nullptr);
  for (const Bytes& bad : {from_hex("a2 34 32"), from_hex("ff"), Bytes{}, from_hex("cd 01")}) {
    auto handler = [&](const HostCall& call) -> Result<Bytes> {
      if (call.ns == "wasmcloud:builtin:logging") return Bytes{};
      return bad;
    };
    auto out = logger->invoke(kHandle, http_request("GET", "/", "", ""), handler);
    ASSERT_TRUE(out.has_value()) << out.error().to_string();
    auto resp = decode_http_response(out->response);
    EXPECT_EQ(resp.status, 500) << hex_lower(bad);
    EXPECT_EQ(resp.body, "numbergen answered something that is not a number");
  }
}

// ---- native tier -------------------------------------------------------------------------------

TEST(ExampleNative, HelloAndPingerGiveTheSameAnswersOnTheNativeTier) {
  EngineConfig config;
  config.enable_native = true;
  config.cache_dir = std::string(WC_BINARY_DIR) + "/native-test-cache/examples";
  std::filesystem::create_directories(config.cache_dir);
  auto engine = Engine::create(config);
  ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
  auto hello = load(**engine, "hello");
  auto pinger = load(**engine, "pinger");
  PongRouter router;
  router.ponger = load(**engine, "ponger");
  ASSERT_TRUE(hello && pinger && router.ponger);
  for (const auto& m : {hello, pinger, router.ponger}) {
    if (!m->wait_native(std::chrono::seconds(60)))
      GTEST_SKIP()
          << "intentionally skipped: native tier not available here (no wasm2c or C compiler)";
  }
  auto out = hello->invoke(kHandle, http_request("GET", "/n", "", ""), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->tier, Tier::kNative);
  EXPECT_EQ(decode_http_response(out->response).body, "Hello from wasmcloud-cpp: /n");

  out = pinger->invoke(kHandle, http_request("GET", "/", "", ""), router.handler());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->tier, Tier::kNative);
  EXPECT_EQ(decode_http_response(out->response).body, "Ping pong");
  EXPECT_EQ(router.namespaces, std::vector<std::string>{WC_EXAMPLES_PONGER_ALIAS});
}

}  // namespace
}  // namespace wc::wasm
