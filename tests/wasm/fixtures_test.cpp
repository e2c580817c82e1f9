// The real signed fixture actors on the interpreter tier: loading, the spec 10.2/10.3 echo vector,
// kvcounter's and randogenlogger's host calls (spec 7.3-7.5), error paths and concurrency.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "wasm_test_util.h"

namespace wc::wasm {
namespace {

using testing::decode_http_response;
using testing::fixture;
using testing::from_hex;
using testing::http_request;
using testing::make_engine;
using testing::no_host_calls;

std::shared_ptr<Module> load_fixture(Engine& engine, const std::string& name) {
  auto bytes = fixture(name);
  auto module = engine.load(bytes);
  EXPECT_TRUE(module.has_value()) << name << ": " << module.error().to_string();
  return module ? *module : nullptr;
}

TEST(Fixtures, EveryFixtureLoadsOnTheInterpreter) {
  auto engine = make_engine();
  for (const auto& name : testing::fixture_names()) {
    auto module = load_fixture(*engine, name);
    ASSERT_NE(module, nullptr) << name;
    EXPECT_EQ(module->current_tier(), Tier::kInterpreter);
    EXPECT_EQ(module->sha256_hex(), hex_lower(sha256(fixture(name))));
    EXPECT_FALSE(module->wait_native(std::chrono::milliseconds(1)));  // native disabled
  }
}

TEST(Fixtures, EchoAnswersVectorAWithExactlyVectorB) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "echo.wasm");
  ASSERT_NE(module, nullptr);
  auto out =
      module->invoke("HttpServer.HandleRequest", testing::vector_a_request(), no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(out->response, testing::vector_b_response());
  EXPECT_EQ(out->response.size(), 113u);
  EXPECT_EQ(out->tier, Tier::kInterpreter);
}

TEST(Fixtures, EchoAnswersTheReferenceSuiteRequest) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "echo.wasm");
  ASSERT_NE(module, nullptr);
  auto out = module->invoke("HttpServer.HandleRequest", http_request("GET", "/", "", "hello"),
                            no_host_calls());
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto resp = decode_http_response(out->response);
  ASSERT_TRUE(resp.decoded);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body,
            R"({"body":[104,101,108,108,111],"method":"GET","path":"/","query_string":""})");
}

TEST(Fixtures, EchoUnknownOperationIsTheGuestsError) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "echo.wasm");
  ASSERT_NE(module, nullptr);
  auto out = module->invoke("Foo.Bar", {}, no_host_calls());
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kActorError);
  EXPECT_TRUE(out.error().message.starts_with("Guest call failed for method Foo.Bar"))
      << out.error().message;
}

TEST(Fixtures, EchoServesConsecutiveInvocationsInFreshAndReusedInstances) {
  for (bool reuse : {false, true}) {
    auto engine = make_engine({}, false, reuse);
    auto module = load_fixture(*engine, "echo.wasm");
    ASSERT_NE(module, nullptr);
    for (int i = 0; i < 3; ++i) {
      auto out =
          module->invoke("HttpServer.HandleRequest", testing::vector_a_request(), no_host_calls());
      ASSERT_TRUE(out.has_value()) << out.error().to_string();
      EXPECT_EQ(out->response, testing::vector_b_response()) << "reuse=" << reuse;
    }
  }
}

TEST(Fixtures, EchoRunsOnEightThreadsAtOnce) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "echo.wasm");
  ASSERT_NE(module, nullptr);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        auto out = module->invoke("HttpServer.HandleRequest", testing::vector_a_request(),
                                  no_host_calls());
        if (out && out->response == testing::vector_b_response()) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 24);
}

TEST(Fixtures, KvcounterIncrementsThroughTheHostCall) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "kvcounter.wasm");
  ASSERT_NE(module, nullptr);
  int calls = 0;
  auto handler = [&](const HostCall& call) -> Result<Bytes> {
    ++calls;
    EXPECT_EQ(call.binding, "default");
    EXPECT_EQ(call.ns, "wasmcloud:keyvalue");
    EXPECT_EQ(call.operation, "KeyValue.Increment");
    // Spec 10.4 C.1: IncrementRequest {key:"counter::foobar", value:1}.
    EXPECT_EQ(Bytes(call.payload.begin(), call.payload.end()),
              from_hex("82 a3 6b 65 79 af 63 6f 75 6e 74 65 72 3a 3a 66 6f 6f 62 61 72 a5 76 61 "
                       "6c 75 65 01"));
    return Bytes{0x07};  // int32 7
  };
  auto out =
      module->invoke("HttpServer.HandleRequest", http_request("GET", "/foobar", "", ""), handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  EXPECT_EQ(calls, 1);
  auto resp = decode_http_response(out->response);
  ASSERT_TRUE(resp.decoded);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, R"({"counter":7})");
}

TEST(Fixtures, KvcounterReportsAFailedHostCallAsHttp500) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "kvcounter.wasm");
  ASSERT_NE(module, nullptr);
  const std::string text =
      "Host call function failed: Invocation not authorized: missing capability claim for "
      "wasmcloud:keyvalue";
  auto handler = [&](const HostCall&) -> Result<Bytes> {
    return fail(Code::kPermissionDenied, text);
  };
  auto out =
      module->invoke("HttpServer.HandleRequest", http_request("GET", "/foobar", "", ""), handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto resp = decode_http_response(out->response);
  ASSERT_TRUE(resp.decoded);
  EXPECT_EQ(resp.status, 500);
  EXPECT_NE(resp.body.find(text), std::string::npos) << resp.body;
  EXPECT_NE(resp.body.find("\"error\""), std::string::npos) << resp.body;
}

TEST(Fixtures, RandogenloggerCallsLoggingAndNumbergen) {
  auto engine = make_engine();
  auto module = load_fixture(*engine, "randogenlogger_s.wasm");
  ASSERT_NE(module, nullptr);
  std::vector<std::string> ops;
  std::vector<Bytes> log_payloads;
  Bytes range_payload;
  auto handler = [&](const HostCall& call) -> Result<Bytes> {
    ops.push_back(std::string(call.ns) + " " + std::string(call.operation));
    const Bytes payload(call.payload.begin(), call.payload.end());
    if (call.ns == "wasmcloud:builtin:logging") {
      EXPECT_EQ(call.operation, "Logging.WriteLog");
      log_payloads.push_back(payload);
      return Bytes{};
    }
    EXPECT_EQ(call.ns, "wasmcloud:builtin:numbergen");
    if (call.operation == "NumberGen.GenerateGuid") {
      EXPECT_TRUE(payload.empty());
      return from_hex(
          "d9 24 33 66 31 65 32 64 34 63 2d 35 62 36 61 2d 34 37 39 38 2d 38 61 31 62 2d 32 63 33 "
          "64 34 65 35 66 36 61 37 62");
    }
    if (call.operation == "NumberGen.Random32") {
      EXPECT_TRUE(payload.empty());
      return from_hex("ce b2 d0 5e 00");
    }
    if (call.operation == "NumberGen.RandomInRange") {
      range_payload = payload;
      return Bytes{0x2a};
    }
    ADD_FAILURE() << "unexpected operation " << call.operation;
    return fail(Code::kInvalidArgument, "unexpected");
  };
  auto out = module->invoke("HttpServer.HandleRequest", http_request("GET", "/", "", ""), handler);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto resp = decode_http_response(out->response);
  ASSERT_TRUE(resp.decoded);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "I did it");

  // Four logging macros and one manual WriteLog (spec 7.5), then the three numbergen calls.
  ASSERT_EQ(log_payloads.size(), 5u);
  const Bytes manual = from_hex(
      "82 a5 6c 65 76 65 6c a4 69 6e 66 6f a4 74 65 78 74 ae 61 20 6d 61 6e 75 61 6c 20 69 6e 66 "
      "6f 21");
  EXPECT_NE(std::find(log_payloads.begin(), log_payloads.end(), manual), log_payloads.end());
  ASSERT_EQ(ops.size(), 8u);
  EXPECT_EQ(ops[5], "wasmcloud:builtin:numbergen NumberGen.GenerateGuid");
  EXPECT_EQ(ops[6], "wasmcloud:builtin:numbergen NumberGen.Random32");
  EXPECT_EQ(ops[7], "wasmcloud:builtin:numbergen NumberGen.RandomInRange");
  EXPECT_EQ(range_payload, from_hex("82 a3 6d 69 6e 00 a3 6d 61 78 64"));  // {min:0, max:100}
}

TEST(Fixtures, AHostCallBlockingPastTheBudgetDoesNotCountAgainstIt) {
  // Issue #12.8: the budget is the guest's own time; waiting for a provider is not.
  Limits limits;
  limits.deadline = std::chrono::milliseconds(100);
  auto engine = make_engine(limits);
  auto module = load_fixture(*engine, "kvcounter.wasm");
  ASSERT_NE(module, nullptr);
  auto slow = [](const HostCall&) -> Result<Bytes> {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    return Bytes{0x01};
  };
  auto out = module->invoke("HttpServer.HandleRequest", http_request("GET", "/x", "", ""), slow);
  ASSERT_TRUE(out.has_value()) << out.error().to_string();
  auto fast = [](const HostCall&) -> Result<Bytes> { return Bytes{0x01}; };
  EXPECT_TRUE(module->invoke("HttpServer.HandleRequest", http_request("GET", "/x", "", ""), fast));
}

TEST(Fixtures, AHostCallTrapEndsTheInvocation) {
  // A handler answering Code::kTrap (e.g. a malformed builtin request, spec 2.2) traps the guest.
  auto engine = make_engine();
  auto module = load_fixture(*engine, "randogenlogger_s.wasm");
  ASSERT_NE(module, nullptr);
  auto handler = [](const HostCall&) -> Result<Bytes> {
    return fail(Code::kTrap, "unknown operation: `Logging.Nope`");
  };
  auto out = module->invoke("HttpServer.HandleRequest", http_request("GET", "/", "", ""), handler);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, Code::kTrap);
  EXPECT_EQ(out.error().message, "unknown operation: `Logging.Nope`");
}

}  // namespace
}  // namespace wc::wasm
