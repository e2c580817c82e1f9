// The httpserver capability provider (contract wasmcloud:httpserver): one HTTP server per
// linked actor; requests become HttpServer.HandleRequest invocations (actor-rpc-providers.md
// 7.2). Started by a host with host data on stdin (5.3, 5.4); see providers/sdk/provider.h.
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <mutex>

#include "httpd/link_config.h"
#include "httpserver/server.h"
#include "sdk/errors.h"
#include "sdk/provider.h"

namespace wc::httpserver {
namespace {

class HttpServerProvider : public provider::ProviderHandler {
 public:
  void attach(provider::ProviderRuntime& runtime) override { runtime_ = &runtime; }

  Status put_link(const provider::LinkDefinition& ld) override {
    auto cfg = httpd::parse_link_config(ld);
    if (!cfg) return fail(cfg.error());
    const std::string actor = ld.actor_id;
    const auto timeout = cfg->timeout;
    provider::ProviderRuntime* rt = runtime_;
    auto server = LinkServer::start(*cfg, [rt, actor, timeout](Bytes payload) {
      return rt->call_actor(actor, std::string(rpc::kHttpHandleRequest), std::move(payload),
                            timeout);
    });
    if (!server) return fail(server.error());
    std::lock_guard lock(mu_);
    servers_[actor] = std::move(*server);
    return ok();
  }

  void delete_link(const std::string& actor_id) override {
    std::unique_ptr<LinkServer> server;
    {
      std::lock_guard lock(mu_);
      auto it = servers_.find(actor_id);
      if (it == servers_.end()) return;
      server = std::move(it->second);
      servers_.erase(it);
    }
    server->stop();
  }

  Result<Bytes> dispatch(const provider::InvocationContext&, std::string_view operation,
                         std::span<const std::uint8_t>) override {
    // The httpserver contract has no operations actors call.
    return fail(Code::kUnsupported,
                std::string(provider::errors::kMethodNotHandledPrefix) + std::string(operation));
  }

 private:
  provider::ProviderRuntime* runtime_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<LinkServer>> servers_;
};

}  // namespace
}  // namespace wc::httpserver

int main() {
  wc::httpserver::HttpServerProvider handler;
  return wc::provider::run_provider(handler, {.contract_id = "wasmcloud:httpserver",
                                              .workers = 4,
                                              .name = "wasmcloud-cpp httpserver provider"});
}
