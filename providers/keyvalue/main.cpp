// The keyvalue capability provider (contract wasmcloud:keyvalue) on Redis: one connection pool
// per linked actor, at the link's `URL` value (default redis://127.0.0.1:6379/); operations of
// actor-rpc-providers.md 7.3. Started by a host with host data on stdin (5.3, 5.4).
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <shared_mutex>

#include "keyvalue/operations.h"
#include "keyvalue/redis.h"
#include "sdk/provider.h"

namespace wc::keyvalue {
namespace {

constexpr std::string_view kDefaultUrl = "redis://127.0.0.1:6379/";

class KeyValueProvider : public provider::ProviderHandler {
 public:
  Status put_link(const provider::LinkDefinition& ld) override {
    const std::string url = provider::link_value(ld, "URL").value_or(std::string(kDefaultUrl));
    auto target = parse_redis_url(url);
    if (!target) return fail(target.error());
    auto pool = std::make_shared<RedisPool>(std::move(*target));
    std::unique_lock lock(mu_);
    pools_[ld.actor_id] = std::move(pool);
    spdlog::info("actor {} uses Redis at {}", ld.actor_id, url);
    return ok();
  }

  void delete_link(const std::string& actor_id) override {
    std::unique_lock lock(mu_);
    pools_.erase(actor_id);
  }

  Result<Bytes> dispatch(const provider::InvocationContext& ctx, std::string_view operation,
                         std::span<const std::uint8_t> payload) override {
    std::shared_ptr<RedisPool> pool;
    {
      std::shared_lock lock(mu_);
      auto it = pools_.find(ctx.origin.public_key);
      if (it != pools_.end()) pool = it->second;
    }
    if (!pool) {
      return fail(Code::kPermissionDenied, "unlinked actor: '" + ctx.origin.public_key + "'");
    }
    return run_operation(*pool, operation, payload);
  }

 private:
  std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<RedisPool>> pools_;
};

}  // namespace
}  // namespace wc::keyvalue

int main() {
  wc::keyvalue::KeyValueProvider handler;
  return wc::provider::run_provider(handler, {.contract_id = "wasmcloud:keyvalue",
                                              .workers = 16,
                                              .name = "wasmcloud-cpp keyvalue provider"});
}
