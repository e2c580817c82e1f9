// CloudEvent envelope and UUID v4 (see cloudevent.h).
#include "lattice/cloudevent.h"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "lattice/topics.h"
#include "lattice/tracing.h"

namespace wc::lattice {

std::string uuid_v4() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // libsodium cannot start: nothing sensible to do
  });
  std::array<std::uint8_t, 16> b{};
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

std::string rfc3339_micros(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto secs = us / 1000000;
  auto frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

nlohmann::ordered_json make_cloudevent(std::string_view type, std::string_view source,
                                       const nlohmann::json& data, std::string id,
                                       std::string time) {
  nlohmann::ordered_json ev;
  ev["specversion"] = "1.0";
  ev["type"] = std::string(type);
  ev["source"] = std::string(source);
  ev["id"] = id.empty() ? uuid_v4() : std::move(id);
  ev["time"] = time.empty() ? rfc3339_micros(std::chrono::system_clock::now()) : std::move(time);
  ev["datacontenttype"] = "application/json";
  ev["data"] = nlohmann::ordered_json(data);
  return ev;
}

std::string cloudevent_json(std::string_view type, std::string_view source,
                            const nlohmann::json& data) {
  // Invalid UTF-8 in a string is replaced (U+FFFD) instead of throwing.
  return make_cloudevent(type, source, data)
      .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Status publish_event(Connection& nc, std::string_view lattice, std::string_view type,
                     std::string_view source, const nlohmann::json& data) {
  return nc.publish(topics::events(lattice), cloudevent_json(type, source, data),
                    current_trace_headers());
}

Status publish_rpc_event(Connection& nc, std::string_view lattice, std::string_view type,
                         std::string_view source, const nlohmann::json& data) {
  return nc.publish(topics::rpc_events(lattice), cloudevent_json(type, source, data),
                    current_trace_headers());
}

}  // namespace wc::lattice
