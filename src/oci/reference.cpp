// OCI reference grammar (claims-oci-par.md 4.3): a hand-written matcher equivalent to the
// anchored docker/distribution reference regexp, then oci-distribution's domain split.
#include "oci/reference.h"

#include <cctype>

#include "oci/errors.h"

namespace wc::oci {
namespace {

constexpr std::string_view kDockerHub = "docker.io";
constexpr std::size_t kMaxRepositoryLength = 255;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// path-component := [a-z0-9]+ ( ([._]|__|-*) [a-z0-9]+ )*
bool valid_path_component(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_lower_alnum(s[i])) {
      ++i;
      continue;
    }
    // A separator run: ".", "_", "__" or one or more "-".
    std::size_t j = i;
    while (j < s.size() && !is_lower_alnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// domain := domain-component ("." domain-component)* (":" [0-9]+)?
bool valid_domain(std::string_view s) {
  std::size_t colon = s.find(':');
  std::string_view host = s.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = s.substr(colon + 1);
    if (port.empty()) return false;
    for (char c : port)
      if (c < '0' || c > '9') return false;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t dot = host.find('.', start);
    if (!valid_domain_component(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool valid_path(std::string_view s) {
  std::size_t start = 0;
  while (true) {
    std::size_t slash = s.find('/', start);
    if (!valid_path_component(s.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// name := (domain "/")? path
bool valid_name(std::string_view s) {
  if (valid_path(s)) return true;
  std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  return valid_domain(s.substr(0, slash)) && valid_path(s.substr(slash + 1));
}

// tag := [\w][\w.-]{0,127}
bool valid_tag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !is_word(s.front())) return false;
  for (char c : s)
    if (!is_word(c) && c != '.' && c != '-') return false;
  return true;
}

// digest := algorithm ":" hex{32,}; algorithm := [A-Za-z][A-Za-z0-9]* ([+._-]
// [A-Za-z][A-Za-z0-9]*)*
bool valid_digest_syntax(std::string_view s) {
  std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
  if (hex.size() < 32) return false;
  for (char c : hex)
    if (!is_hex(c)) return false;
  bool need_alpha = true;
  for (char c : algo) {
    if (need_alpha) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return false;
      need_alpha = false;
    } else if (c == '+' || c == '.' || c == '_' || c == '-') {
      need_alpha = true;
    } else if (!is_alnum(c)) {
      return false;
    }
  }
  return !need_alpha;
}

}  // namespace

std::string Reference::http_host() const {
  return registry == kDockerHub ? std::string("registry-1.docker.io") : registry;
}

std::string Reference::manifest_ref() const { return digest.empty() ? tag : digest; }

std::string Reference::to_string() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string_view strip_scheme(std::string_view text) {
  for (std::string_view scheme : {"bindle://", "oci://", "http://", "https://"}) {
    if (text.starts_with(scheme)) return text.substr(scheme.size());
  }
  return text;
}

Result<std::string> strip_pull_scheme(std::string_view reference,
                                      const std::vector<std::string>& allowed_insecure) {
  const std::string head = to_lower(reference.substr(0, 8));
  for (std::string_view scheme : {"oci://", "https://", "http://"}) {
    if (!std::string_view(head).starts_with(scheme)) continue;
    std::string_view rest = reference.substr(scheme.size());
    if (scheme == "http://") {
      auto ref = parse_reference(to_lower(rest));
      if (!ref) return fail(ref.error());
      const std::string host = ref->http_host();
      bool allowed = false;
      for (const auto& h : allowed_insecure) allowed = allowed || h == host;
      if (!allowed) return fail(Code::kPermissionDenied, errors::http_scheme_not_allowed(host));
    }
    return std::string(rest);
  }
  return std::string(reference);
}

std::string credential_server(std::string_view text) {
  std::string_view s = strip_scheme(text);
  return std::string(s.substr(0, s.find('/')));
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string cache_name(std::string_view reference) {
  std::string out = to_lower(reference);
  for (char& c : out)
    if (c == ':' || c == '/' || c == '.') c = '_';
  return out;
}

Result<Reference> parse_reference(std::string_view text, bool strip) {
  if (strip) text = strip_scheme(text);
  if (text.empty())
    return fail(Code::kInvalidArgument, std::string(errors::kRepositoryNoComponent));
  const auto invalid = [] {
    return fail(Code::kInvalidArgument, std::string(errors::kInvalidReferenceFormat));
  };

  std::string_view rest = text, tag, digest;
  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!valid_digest_syntax(digest)) return invalid();
  }
  std::size_t colon = rest.rfind(':');
  std::size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!valid_tag(tag)) return invalid();
  }
  std::string_view name = rest;
  if (name.empty() || !valid_name(name)) return invalid();

  Reference ref;
  // oci-distribution's split_domain.
  std::size_t first = name.find('/');
  std::string_view left =
      first == std::string_view::npos ? std::string_view{} : name.substr(0, first);
  if (first != std::string_view::npos &&
      (left.find('.') != std::string_view::npos || left.find(':') != std::string_view::npos ||
       left == "localhost")) {
    ref.registry = std::string(left);
    ref.repository = std::string(name.substr(first + 1));
  } else {
    ref.registry = std::string(kDockerHub);
    ref.repository = std::string(name);
  }
  if (ref.registry == "index.docker.io") ref.registry = std::string(kDockerHub);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.repository.size() > kMaxRepositoryLength)
    return fail(Code::kInvalidArgument, std::string(errors::kRepositoryTooLong));

  ref.tag = std::string(tag);
  ref.digest = std::string(digest);
  if (ref.tag.empty() && ref.digest.empty()) {
    ref.tag = "latest";
    ref.tag_implicit = true;
  }
  if (!ref.digest.empty()) {
    std::size_t c = ref.digest.find(':');
    if (c == std::string::npos)
      return fail(Code::kInvalidArgument, std::string(errors::kInvalidDigestFormat));
    std::string_view algo = std::string_view(ref.digest).substr(0, c);
    std::size_t hex_len = ref.digest.size() - c - 1;
    std::size_t want = algo == "sha256" ? 64 : algo == "sha384" ? 96 : algo == "sha512" ? 128 : 0;
    if (want == 0)
      return fail(Code::kInvalidArgument, std::string(errors::kUnsupportedDigestAlgorithm));
    if (hex_len != want)
      return fail(Code::kInvalidArgument, std::string(errors::kInvalidDigestLength));
  }
  return ref;
}

}  // namespace wc::oci
