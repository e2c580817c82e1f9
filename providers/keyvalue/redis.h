// A small Redis connection pool over hiredis for the keyvalue provider: one pool per link,
// connections created lazily, broken connections dropped so the next command reconnects (Redis
// going away gives callers an error; when it returns, commands work again).
//
// Owned by providers/keyvalue. Thread-safe: many threads may call command() at once; each call
// borrows one connection exclusively.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

struct redisContext;
struct redisReply;

namespace wc::keyvalue {

/// Where to connect: parsed from `redis://[[user]:password@]host[:port][/db]`.
struct RedisTarget {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;
  std::string password;
  int db = 0;
};

/// Parses a redis:// URL (default port 6379, db 0). Errors: kInvalidArgument.
Result<RedisTarget> parse_redis_url(std::string_view url);

/// A reply, copied out of hiredis (no hiredis types leak).
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kArray } type = Type::kNil;
  std::int64_t integer = 0;
  std::string str;              ///< for kString / kStatus
  std::vector<Reply> elements;  ///< for kArray
};

/// Pool of connections to one Redis target.
class RedisPool {
 public:
  /// `max_idle` connections are kept between commands; connect/command timeouts apply per call.
  RedisPool(RedisTarget target, std::size_t max_idle = 8,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  /// Runs one command (arguments binary-safe). Errors: kUnavailable ("Redis connection error:
  /// ...", the connection is dropped), kInvalidArgument ("Redis error: <server text>" for an
  /// error reply).
  Result<Reply> command(const std::vector<std::string>& args);

 private:
  Result<redisContext*> acquire(bool& reused);
  void release(redisContext* c, bool healthy);
  RedisTarget target_;
  std::size_t max_idle_;
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;
};

}  // namespace wc::keyvalue
