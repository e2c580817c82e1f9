// hiredis connection pool (see redis.h).
#include "keyvalue/redis.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <charconv>

namespace wc::keyvalue {
namespace {

tl::unexpected<Error> bad_url(std::string_view url, std::string_view why) {
  return fail(Code::kInvalidArgument,
              "Invalid Redis URL \"" + std::string(url) + "\": " + std::string(why));
}

bool to_int(std::string_view s, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

Reply copy_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (std::size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

Result<RedisTarget> parse_redis_url(std::string_view url) {
  RedisTarget t;
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return bad_url(url, "expected redis://");
  std::string_view rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty() && !to_int(db, t.db)) return bad_url(url, "invalid database number");
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) {
      t.username = std::string(auth.substr(0, colon));
      t.password = std::string(auth.substr(colon + 1));
    } else {
      t.password = std::string(auth);
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (!to_int(rest.substr(colon + 1), t.port) || t.port <= 0 || t.port > 65535) {
      return bad_url(url, "invalid port");
    }
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) t.host = std::string(rest);
  return t;
}

RedisPool::RedisPool(RedisTarget target, std::size_t max_idle, std::chrono::milliseconds timeout)
    : target_(std::move(target)), max_idle_(max_idle), timeout_(timeout) {}

RedisPool::~RedisPool() {
  for (auto* c : idle_) redisFree(c);
}

Result<redisContext*> RedisPool::acquire(bool& reused) {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      reused = true;
      return c;
    }
  }
  reused = false;
  redisContext* c =
      redisConnectWithTimeout(target_.host.c_str(), target_.port, to_timeval(timeout_));
  if (c == nullptr) return fail(Code::kUnavailable, "Redis connection error: out of memory");
  if (c->err != 0) {
    std::string msg = "Redis connection error: " + std::string(c->errstr);
    redisFree(c);
    return fail(Code::kUnavailable, msg);
  }
  redisSetTimeout(c, to_timeval(timeout_));
  std::vector<std::vector<std::string>> setup;
  if (!target_.password.empty()) {
    if (target_.username.empty()) {
      setup.push_back({"AUTH", target_.password});
    } else {
      setup.push_back({"AUTH", target_.username, target_.password});
    }
  }
  if (target_.db != 0) setup.push_back({"SELECT", std::to_string(target_.db)});
  for (const auto& args : setup) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    const bool failed = r == nullptr || r->type == REDIS_REPLY_ERROR;
    std::string msg = r == nullptr                   ? std::string(c->errstr)
                      : r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len)
                                                     : "";
    if (r != nullptr) freeReplyObject(r);
    if (failed) {
      redisFree(c);
      return fail(Code::kUnavailable, "Redis connection error: " + msg);
    }
  }
  return c;
}

void RedisPool::release(redisContext* c, bool healthy) {
  if (healthy) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(c);
      return;
    }
  }
  redisFree(c);
}

Result<Reply> RedisPool::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  // A pooled connection may have died with a Redis restart: on a connection error with a reused
  // connection, retry once on a fresh one.
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto c = acquire(reused);
    if (!c) return fail(c.error());
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(*c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      std::string msg = "Redis connection error: " + std::string((*c)->errstr);
      release(*c, false);
      if (reused && attempt == 0) continue;
      spdlog::warn("{}", msg);
      return fail(Code::kUnavailable, msg);
    }
    if (r->type == REDIS_REPLY_ERROR) {
      std::string msg = "Redis error: " + std::string(r->str, r->len);
      freeReplyObject(r);
      release(*c, true);
      return fail(Code::kInvalidArgument, msg);
    }
    Reply out = copy_reply(r);
    freeReplyObject(r);
    release(*c, true);
    return out;
  }
}

}  // namespace wc::keyvalue
