// The control-interface requests the dashboard builds: operation and exact body (key set and
// values) of each, as the original dashboard sends them (control-interface.md 7.2).
#include <gtest/gtest.h>

#include "web/requests.h"

namespace wc::web {
namespace {

using nlohmann::json;

constexpr const char* kHost = "NB6PMW4RGLBP3NAVUVO2IH34VFJFSX7LF7TJOQCDU4GGUGF3P57SZLPX";
constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kProvider = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";

TEST(Requests, ScaleCarriesExactlyActorIdRefAndCount) {
  auto r = scale_request(kHost, kEcho, "wasmcloud.azurecr.io/echo:0.3.4", 2);
  EXPECT_EQ(r.operation, std::string("cmd.") + kHost + ".scale");
  EXPECT_EQ(
      r.body,
      json({{"actor_id", kEcho}, {"actor_ref", "wasmcloud.azurecr.io/echo:0.3.4"}, {"count", 2}}));
  EXPECT_FALSE(r.body.contains("host_id"));
  // Count 0 (stop from the table) and an unknown key / reference are sent as they are.
  EXPECT_EQ(scale_request(kHost, "", "", 0).body,
            json({{"actor_id", ""}, {"actor_ref", ""}, {"count", 0}}));
}

TEST(Requests, UpdateCarriesActorIdAndNewReference) {
  auto r = update_request(kHost, kEcho, "file:///tmp/echo.wasm");
  EXPECT_EQ(r.operation, std::string("cmd.") + kHost + ".upd");
  EXPECT_EQ(r.body, json({{"actor_id", kEcho}, {"new_actor_ref", "file:///tmp/echo.wasm"}}));
}

TEST(Requests, LaunchProviderCarriesRefLinkNameAndConfiguration) {
  auto r = launch_provider_request(kHost, "127.0.0.1:5000/httpserver:0.1.0", "default", "");
  EXPECT_EQ(r.operation, std::string("cmd.") + kHost + ".lp");
  EXPECT_EQ(r.body, json({{"provider_ref", "127.0.0.1:5000/httpserver:0.1.0"},
                          {"link_name", "default"},
                          {"configuration", ""}}));
}

TEST(Requests, StopProviderCarriesTheKeyAsProviderRefAndTheLinkName) {
  auto r = stop_provider_request(kHost, kProvider, "backend");
  EXPECT_EQ(r.operation, std::string("cmd.") + kHost + ".sp");
  EXPECT_EQ(r.body, json({{"provider_ref", kProvider}, {"link_name", "backend"}}));
}

TEST(Requests, AuctionsCarryEmptyConstraints) {
  auto a = actor_auction_request("r/echo:1");
  EXPECT_EQ(a.operation, "auction.actor");
  EXPECT_EQ(a.body, json({{"actor_ref", "r/echo:1"}, {"constraints", json::object()}}));
  auto p = provider_auction_request("r/http:1", "default");
  EXPECT_EQ(p.operation, "auction.provider");
  EXPECT_EQ(p.body, json({{"provider_ref", "r/http:1"},
                          {"link_name", "default"},
                          {"constraints", json::object()}}));
}

TEST(Requests, LinkPutAndDelete) {
  auto put =
      put_link_request(kEcho, kProvider, "wasmcloud:httpserver", "default", {{"port", "8080"}});
  EXPECT_EQ(put.operation, "linkdefs.put");
  EXPECT_EQ(put.body, json({{"actor_id", kEcho},
                            {"contract_id", "wasmcloud:httpserver"},
                            {"link_name", "default"},
                            {"provider_id", kProvider},
                            {"values", {{"port", "8080"}}}}));
  // No values: an empty object, never null.
  EXPECT_EQ(put_link_request(kEcho, kProvider, "c", "default", {}).body["values"], json::object());
  auto del = delete_link_request(kEcho, "wasmcloud:httpserver", "default");
  EXPECT_EQ(del.operation, "linkdefs.del");
  EXPECT_EQ(del.body, json({{"actor_id", kEcho},
                            {"contract_id", "wasmcloud:httpserver"},
                            {"link_name", "default"}}));
}

}  // namespace
}  // namespace wc::web
