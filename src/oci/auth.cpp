// WWW-Authenticate parsing and token-endpoint helpers (claims-oci-par.md 4.6).
#include "oci/auth.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "oci/errors.h"
#include "oci/reference.h"

namespace wc::oci {
namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void skip_ws() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  void skip_ws_commas() {
    while (!done() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
  }
  std::string token() {
    std::size_t start = i;
    while (!done() && is_token_char(s[i])) ++i;
    return std::string(s.substr(start, i - start));
  }
  // A quoted-string (cursor on the opening quote) with backslash escapes; or a token.
  std::string value() {
    if (peek() != '"') {  // unquoted: leniently up to the next ',' or blank (URLs seen in the wild)
      std::size_t start = i;
      while (!done() && s[i] != ',' && s[i] != ' ' && s[i] != '\t') ++i;
      return std::string(s.substr(start, i - start));
    }
    ++i;
    std::string out;
    while (!done() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out += s[i++];
    }
    if (!done()) ++i;  // closing quote
    return out;
  }
};

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view header) {
  std::vector<Challenge> out;
  Cursor c{header};
  c.skip_ws_commas();
  while (!c.done()) {
    std::string scheme = c.token();
    if (scheme.empty()) break;  // garbage: stop
    Challenge ch{scheme, {}};
    while (true) {
      c.skip_ws_commas();
      if (c.done()) break;
      std::size_t save = c.i;
      std::string name = c.token();
      if (name.empty()) {
        c.i = header.size();  // unparsable tail
        break;
      }
      c.skip_ws();
      if (c.peek() != '=') {
        c.i = save;  // the next challenge's scheme
        break;
      }
      ++c.i;
      c.skip_ws();
      std::string value = c.value();
      ch.params[to_lower(name)] = value;
    }
    out.push_back(std::move(ch));
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

std::string token_url(std::string_view realm, std::string_view service, std::string_view repository,
                      bool push) {
  std::string url(realm);
  url += realm.find('?') == std::string_view::npos ? '?' : '&';
  url += "scope=" +
         url_encode("repository:" + std::string(repository) + (push ? ":pull,push" : ":pull"));
  if (!service.empty()) url += "&service=" + url_encode(service);
  return url;
}

Result<std::string> parse_token_response(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return fail(Code::kPermissionDenied,
                std::string(errors::kDecodeTokenPrefix) + "response body is not JSON");
  if (!j.is_object())
    return fail(Code::kPermissionDenied,
                std::string(errors::kDecodeTokenPrefix) + "expected a JSON object");
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return fail(Code::kPermissionDenied,
              std::string(errors::kDecodeTokenPrefix) + "missing field `token` or `access_token`");
}

}  // namespace wc::oci
