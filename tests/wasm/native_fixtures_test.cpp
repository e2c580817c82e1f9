// The real fixture actors on the native tier: each gives output IDENTICAL to the interpreter
// tier (response bytes, or error code and text) for the same requests and host-call answers;
// echo answers spec 10.2 vector A with exactly the 10.3 bytes; fresh and reuse modes; many
// threads at once. Fails when a C compiler exists and native code did not run.
//
// Compiling the five fixtures takes a while on first run (cached under the build tree after):
// this binary uses WC_NATIVE_CFLAGS=-O1 (unless set) to halve that; semantics do not depend on it.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "native_test_util.h"

namespace wc::wasm {
namespace {

using testing::fixture;
using testing::http_request;
using testing::outcome;

// Deterministic answers to every host call, recorded for comparison between tiers.
struct ScriptedHost {
  std::mutex mu;
  std::vector<std::string> calls;
  HostCallHandler handler() {
    return [this](const HostCall& c) -> Result<Bytes> {
      {
        std::lock_guard lock(mu);
        calls.push_back(std::string(c.binding) + "|" + std::string(c.ns) + "|" +
                        std::string(c.operation) + "|" + hex_lower(c.payload));
      }
      if (c.operation == "KeyValue.Increment") return Bytes{0x2a};  // msgpack 42
      if (c.operation == "NumberGen.RandomInRange") return Bytes{0x07};
      if (c.operation == "NumberGen.GenerateGuid") return Bytes{0xa3, 'a', 'b', 'c'};
      if (c.operation == "NumberGen.Random32") return Bytes{0x09};
      if (c.ns == "wasmcloud:builtin:logging") return Bytes{};
      return fail(Code::kUnavailable, "no provider for " + std::string(c.ns));
    };
  }
};

struct Request {
  std::string operation;
  Bytes payload;
};

std::vector<Request> requests() {
  return {
      {"HttpServer.HandleRequest", testing::vector_a_request()},
      {"HttpServer.HandleRequest", http_request("GET", "/", "", "hello")},
      {"HttpServer.HandleRequest",
       http_request("POST", "/a/b/c", "q=1&r=2", std::string(5000, 'x'))},
      {"HttpServer.HandleRequest", Bytes{0xc1}},  // malformed msgpack
      {"Nope.Unknown", Bytes{}},
  };
}

class NativeFixtures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setenv("WC_NATIVE_CFLAGS", "-O1", 0); }
};

TEST_F(NativeFixtures, EveryFixtureMatchesTheInterpreterByteForByte) {
  auto interp = testing::make_engine();
  // Two engines = two compile threads: the fixtures compile on both cores.
  auto native_a = testing::make_native_engine(testing::native_cache_dir("fixtures"));
  auto native_b = testing::make_native_engine(testing::native_cache_dir("fixtures"));
  ASSERT_TRUE(interp && native_a && native_b);
  const auto& names = testing::fixture_names();
  std::vector<std::shared_ptr<Module>> natives;
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto m = (i % 2 == 0 ? native_a : native_b)->load(fixture(names[i]));
    ASSERT_TRUE(m.has_value()) << names[i] << ": " << m.error().to_string();
    natives.push_back(*m);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    auto im = interp->load(fixture(names[i]));
    ASSERT_TRUE(im.has_value());
    const bool native = testing::require_native(*natives[i]);
    for (const auto& req : requests()) {
      ScriptedHost hi, hn;
      auto a = (*im)->invoke(req.operation, req.payload, hi.handler());
      auto b = natives[i]->invoke(req.operation, req.payload, hn.handler());
      EXPECT_EQ(outcome(a), outcome(b)) << req.operation;
      EXPECT_EQ(hi.calls, hn.calls) << req.operation;
      if (a) {
        EXPECT_EQ(a->tier, Tier::kInterpreter);
      }
      if (b && native) {
        EXPECT_EQ(b->tier, Tier::kNative);
      }
    }
  }
}

TEST_F(NativeFixtures, EchoAnswersVectorAWithExactlyVectorBInBothModes) {
  for (bool reuse : {false, true}) {
    SCOPED_TRACE(reuse ? "reuse" : "fresh");
    auto engine = testing::make_native_engine(testing::native_cache_dir("fixtures"), {}, reuse);
    ASSERT_NE(engine, nullptr);
    auto m = engine->load(fixture("echo.wasm"));
    ASSERT_TRUE(m.has_value());
    const bool native = testing::require_native(**m);
    for (int i = 0; i < 3; ++i) {
      auto out = (*m)->invoke("HttpServer.HandleRequest", testing::vector_a_request(),
                              testing::no_host_calls());
      ASSERT_TRUE(out.has_value()) << out.error().to_string();
      EXPECT_EQ(out->response, testing::vector_b_response());
      if (native) {
        EXPECT_EQ(out->tier, Tier::kNative);
      }
    }
  }
}

TEST_F(NativeFixtures, KvcounterUnprivSurfacesTheHostErrorLikeTheInterpreter) {
  auto interp = testing::make_engine();
  auto engine = testing::make_native_engine(testing::native_cache_dir("fixtures"));
  auto im = interp->load(fixture("kvcounter_unpriv_s.wasm"));
  auto nm = engine->load(fixture("kvcounter_unpriv_s.wasm"));
  ASSERT_TRUE(im && nm);
  testing::require_native(**nm);
  auto refuse = [](const HostCall&) -> Result<Bytes> {
    return fail(Code::kPermissionDenied, "actor lacks the wasmcloud:keyvalue capability claim");
  };
  auto req = http_request("GET", "/count", "", "");
  auto a = (*im)->invoke("HttpServer.HandleRequest", req, refuse);
  auto b = (*nm)->invoke("HttpServer.HandleRequest", req, refuse);
  EXPECT_EQ(outcome(a), outcome(b));
  ASSERT_TRUE(b.has_value()) << b.error().to_string();
  auto resp = testing::decode_http_response(b->response);
  EXPECT_TRUE(resp.decoded);
  EXPECT_EQ(resp.status, 500);
}

TEST_F(NativeFixtures, EightThreadsInvokeEchoAtOnce) {
  for (bool reuse : {false, true}) {
    SCOPED_TRACE(reuse ? "reuse" : "fresh");
    auto engine = testing::make_native_engine(testing::native_cache_dir("fixtures"), {}, reuse);
    auto m = engine->load(fixture("echo.wasm"));
    ASSERT_TRUE(m.has_value());
    testing::require_native(**m);
    std::atomic<int> good{0}, bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 50; ++i) {
          auto out = (*m)->invoke("HttpServer.HandleRequest", testing::vector_a_request(),
                                  testing::no_host_calls());
          (out && out->response == testing::vector_b_response() ? good : bad).fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(good.load(), 400);
    EXPECT_EQ(bad.load(), 0);
  }
}

}  // namespace
}  // namespace wc::wasm
