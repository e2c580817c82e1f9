// httpserver link configuration (see link_config.h).
#include "httpd/link_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "common/encoding.h"

namespace wc::httpd {
namespace {

tl::unexpected<Error> bad(std::string detail) {
  return fail(Code::kInvalidArgument, "Invalid httpserver link configuration: " + detail);
}

Status string_list(const nlohmann::json& obj, const char* key, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return ok();
  if (!it->is_array()) return bad(std::string("`") + key + "` must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return bad(std::string("`") + key + "` must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return ok();
}

Status apply_json(const nlohmann::json& j, HttpConfig& c) {
  if (!j.is_object()) return bad("configuration is not a JSON object");
  if (auto it = j.find("address"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return bad("`address` must be a string");
    if (auto s = parse_address(it->get<std::string>(), c.host, c.port); !s) return s;
  }
  if (auto it = j.find("timeout_ms"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) return bad("`timeout_ms` must be a non-negative integer");
    c.timeout = std::chrono::milliseconds(it->get<std::uint64_t>());
  }
  if (auto it = j.find("max_content_len"); it != j.end() && !it->is_null()) {
    if (it->is_number_unsigned()) {
      c.max_content_len = it->get<std::size_t>();
    } else if (it->is_string()) {
      auto n = parse_size(it->get<std::string>());
      if (!n) return fail(n.error());
      c.max_content_len = *n;
    } else {
      return bad("`max_content_len` must be a size like \"10m\"");
    }
  }
  if (auto it = j.find("threads"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) return bad("`threads` must be a positive integer");
    c.threads = it->get<std::size_t>();
  }
  if (auto it = j.find("cors"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return bad("`cors` must be an object");
    for (auto [key, dst] : {std::pair{"allowed_origins", &c.cors.allowed_origins},
                            std::pair{"allowed_headers", &c.cors.allowed_headers},
                            std::pair{"allowed_methods", &c.cors.allowed_methods},
                            std::pair{"exposed_headers", &c.cors.exposed_headers}}) {
      if (auto s = string_list(*it, key, *dst); !s) return s;
    }
    if (auto m = it->find("max_age_secs"); m != it->end() && m->is_number_unsigned()) {
      c.cors.max_age_secs = m->get<std::uint64_t>();
    }
  }
  if (auto it = j.find("tls"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return bad("`tls` must be an object");
    auto cert = it->find("cert_file");
    auto key = it->find("priv_key_file");
    const bool has_cert = cert != it->end() && cert->is_string();
    const bool has_key = key != it->end() && key->is_string();
    if (has_cert != has_key) return bad("`tls` needs both `cert_file` and `priv_key_file`");
    if (has_cert) c.tls = TlsConfig{cert->get<std::string>(), key->get<std::string>()};
  }
  return ok();
}

}  // namespace

Result<std::size_t> parse_size(std::string_view text) {
  std::string t;
  for (char ch : text) {
    if (!std::isspace(static_cast<unsigned char>(ch))) {
      t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
  }
  if (!t.empty() && t.back() == 'b') t.pop_back();
  std::size_t mult = 1;
  if (!t.empty() && (t.back() == 'k' || t.back() == 'm' || t.back() == 'g')) {
    mult = t.back() == 'k' ? 1024u : t.back() == 'm' ? (1u << 20) : (1u << 30);
    t.pop_back();
  }
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    return bad("invalid size \"" + std::string(text) + "\"");
  }
  if (n > SIZE_MAX / mult) return bad("size too large \"" + std::string(text) + "\"");
  return n * mult;
}

Status parse_address(std::string_view text, std::string& host, int& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return bad("address \"" + std::string(text) + "\" is not ip:port");
  }
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string_view p = text.substr(colon + 1);
  int n = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || n < 0 || n > 65535) {
    return bad("address \"" + std::string(text) + "\" has an invalid port");
  }
  host = std::string(h);
  port = n;
  return ok();
}

Result<HttpConfig> parse_link_config(const rpc::LinkDefinition& ld) {
  HttpConfig c;
  if (auto b64 = rpc::link_value(ld, "config_b64")) {
    auto raw = base64_decode(*b64);
    if (!raw) return bad("`config_b64` is not base64");
    auto j = nlohmann::json::parse(to_string(*raw), nullptr, false);
    if (j.is_discarded()) return bad("`config_b64` does not hold JSON");
    if (auto s = apply_json(j, c); !s) return fail(s.error());
  } else if (auto text = rpc::link_value(ld, "config_json")) {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return bad("`config_json` is not JSON");
    if (auto s = apply_json(j, c); !s) return fail(s.error());
  }
  if (auto addr = rpc::link_value(ld, "address")) {
    if (auto s = parse_address(*addr, c.host, c.port); !s) return fail(s.error());
  }
  if (auto port = rpc::link_value(ld, "port")) {
    int n = 0;
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), n);
    if (port->empty() || ec != std::errc() || end != port->data() + port->size() || n < 0 ||
        n > 65535) {
      return bad("`port` \"" + *port + "\" is not a port number");
    }
    c.host = std::string(kDefaultHost);
    c.port = n;
  }
  return c;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

}  // namespace

std::vector<HeaderPair> cors_response_headers(const CorsConfig& cors, std::string_view origin) {
  std::vector<HeaderPair> out;
  const auto& list = cors.allowed_origins;
  if (list.empty() || origin.empty()) return out;
  if (std::find(list.begin(), list.end(), "*") == list.end() &&
      std::find(list.begin(), list.end(), origin) == list.end()) {
    return out;
  }
  out.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  if (!cors.exposed_headers.empty())
    out.emplace_back("Access-Control-Expose-Headers", join(cors.exposed_headers));
  return out;
}

std::optional<std::vector<HeaderPair>> cors_preflight(const CorsConfig& cors,
                                                      std::string_view method,
                                                      std::string_view origin,
                                                      bool has_request_method) {
  if (cors.allowed_origins.empty() || method != "OPTIONS" || !has_request_method ||
      origin.empty()) {
    return std::nullopt;
  }
  auto out = cors_response_headers(cors, origin);
  if (!cors.allowed_methods.empty())
    out.emplace_back("Access-Control-Allow-Methods", join(cors.allowed_methods));
  if (!cors.allowed_headers.empty())
    out.emplace_back("Access-Control-Allow-Headers", join(cors.allowed_headers));
  if (cors.max_age_secs)
    out.emplace_back("Access-Control-Max-Age", std::to_string(*cors.max_age_secs));
  return out;
}

}  // namespace wc::httpd
