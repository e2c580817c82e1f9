// Typed actor and provider claims (spec claims-oci-par.md 2.2-2.12, 3.1, 3.4).
#include "wascap/claims.h"

#include <cctype>
#include <limits>

#include "wascap/errors.h"
#include "wascap/wasm_sections.h"

namespace wc::wascap {
namespace {

using ordered = nlohmann::ordered_json;

Error serialization(const std::string& detail) {
  return Error{Code::kInvalidArgument, std::string(errors::kSerializationError) + detail};
}

Error invalid_type(const char* key, const char* expected) {
  return serialization(std::string("invalid type for field `") + key + "`, expected " + expected);
}

// Typed field readers with serde-like semantics: a missing required field or a wrong type is a
// Serialization error; JSON null counts as absent for optional fields.
struct Reader {
  const nlohmann::json& obj;

  const nlohmann::json* find(const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  Status opt_u64(const char* key, std::optional<std::uint64_t>& out) const {
    const auto* v = find(key);
    if (v == nullptr) return ok();
    if (!v->is_number_unsigned()) return fail(invalid_type(key, "u64"));
    out = v->get<std::uint64_t>();
    return ok();
  }
  Status req_u64(const char* key, std::uint64_t& out) const {
    std::optional<std::uint64_t> v;
    if (auto s = opt_u64(key, v); !s) return s;
    if (!v) return fail(serialization(std::string("missing field `") + key + "`"));
    out = *v;
    return ok();
  }
  Status opt_u32(const char* key, std::optional<std::uint32_t>& out) const {
    std::optional<std::uint64_t> v;
    if (auto s = opt_u64(key, v); !s) return fail(invalid_type(key, "u32"));
    if (v && *v > std::numeric_limits<std::uint32_t>::max()) return fail(invalid_type(key, "u32"));
    if (v) out = static_cast<std::uint32_t>(*v);
    return ok();
  }
  Status opt_i32(const char* key, std::optional<std::int32_t>& out) const {
    const auto* v = find(key);
    if (v == nullptr) return ok();
    if (v->is_number_unsigned()) {
      if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT32_MAX)) {
        return fail(invalid_type(key, "i32"));
      }
    } else if (v->is_number_integer()) {
      const auto x = v->get<std::int64_t>();
      if (x < INT32_MIN || x > INT32_MAX) return fail(invalid_type(key, "i32"));
    } else {
      return fail(invalid_type(key, "i32"));
    }
    out = static_cast<std::int32_t>(v->get<std::int64_t>());
    return ok();
  }
  Status opt_string(const char* key, std::optional<std::string>& out) const {
    const auto* v = find(key);
    if (v == nullptr) return ok();
    if (!v->is_string()) return fail(invalid_type(key, "a string"));
    out = v->get<std::string>();
    return ok();
  }
  Status req_string(const char* key, std::string& out) const {
    auto it = obj.find(key);
    if (it == obj.end()) return fail(serialization(std::string("missing field `") + key + "`"));
    if (!it->is_string()) return fail(invalid_type(key, "a string"));
    out = it->get<std::string>();
    return ok();
  }
  Status opt_strings(const char* key, std::optional<std::vector<std::string>>& out) const {
    const auto* v = find(key);
    if (v == nullptr) return ok();
    if (!v->is_array()) return fail(invalid_type(key, "a sequence of strings"));
    std::vector<std::string> items;
    for (const auto& e : *v) {
      if (!e.is_string()) return fail(invalid_type(key, "a sequence of strings"));
      items.push_back(e.get<std::string>());
    }
    out = std::move(items);
    return ok();
  }
  Status opt_bool(const char* key, bool& out) const {
    const auto* v = find(key);
    if (v == nullptr) return ok();
    if (!v->is_boolean()) return fail(invalid_type(key, "a boolean"));
    out = v->get<bool>();
    return ok();
  }
};

#define WC_TRY(expr)                       \
  do {                                     \
    if (auto _st = (expr); !_st) {         \
      return fail(std::move(_st.error())); \
    }                                      \
  } while (0)

// Registered claims shared by actor and provider tokens (spec 2.2).
template <class C>
Status parse_registered(const Reader& r, C& c) {
  WC_TRY(r.opt_u64("exp", c.exp));
  WC_TRY(r.req_string("jti", c.jti));
  WC_TRY(r.req_u64("iat", c.iat));
  WC_TRY(r.req_string("iss", c.iss));
  WC_TRY(r.req_string("sub", c.sub));
  WC_TRY(r.opt_u64("nbf", c.nbf));
  WC_TRY(r.opt_u32("wascap_revision", c.wascap_revision));
  return ok();
}

// Finds the "wascap" metadata object: absent/null => kInvalidAlgorithm, wrong type =>
// Serialization error.
Result<const nlohmann::json*> metadata_object(const nlohmann::json& payload) {
  auto it = payload.find("wascap");
  if (it == payload.end() || it->is_null()) {
    return fail(Code::kInvalidArgument, std::string(errors::kInvalidAlgorithm));
  }
  if (!it->is_object()) return fail(invalid_type("wascap", "a metadata object"));
  return &*it;
}

template <class C>
void write_registered_head(ordered& j, const C& c) {
  if (c.exp) j["exp"] = *c.exp;
  j["jti"] = c.jti;
  j["iat"] = c.iat;
  j["iss"] = c.iss;
  j["sub"] = c.sub;
  if (c.nbf) j["nbf"] = *c.nbf;
}

std::string dump(const ordered& j) {
  return j.dump(-1, ' ', false, ordered::error_handler_t::replace);
}

Error with_prefix(std::string_view prefix, const Error& e) {
  return Error{e.code, std::string(prefix) + e.message};
}

}  // namespace

Result<ActorClaims> parse_actor_claims(const nlohmann::json& payload) {
  if (!payload.is_object()) return fail(serialization("invalid type: expected a claims object"));
  ActorClaims c;
  const Reader r{payload};
  WC_TRY(parse_registered(r, c));
  auto meta = metadata_object(payload);
  if (!meta) return fail(meta.error());
  const Reader m{**meta};
  WC_TRY(m.opt_string("name", c.name));
  WC_TRY(m.req_string("hash", c.hash));
  WC_TRY(m.opt_strings("tags", c.tags));
  WC_TRY(m.opt_strings("caps", c.caps));
  WC_TRY(m.opt_i32("rev", c.rev));
  WC_TRY(m.opt_string("ver", c.ver));
  WC_TRY(m.opt_string("call_alias", c.call_alias));
  WC_TRY(m.opt_bool("prov", c.prov));
  return c;
}

std::string serialize_actor_claims(const ActorClaims& c) {
  ordered j = ordered::object();
  write_registered_head(j, c);
  ordered w = ordered::object();
  if (c.name) w["name"] = *c.name;
  w["hash"] = c.hash;
  if (c.tags) w["tags"] = *c.tags;
  if (c.caps) w["caps"] = *c.caps;
  if (c.rev) w["rev"] = *c.rev;
  if (c.ver) w["ver"] = *c.ver;
  if (c.call_alias) w["call_alias"] = *c.call_alias;
  w["prov"] = c.prov;
  j["wascap"] = std::move(w);
  if (c.wascap_revision) j["wascap_revision"] = *c.wascap_revision;
  return dump(j);
}

std::int32_t effective_revision(const ActorClaims& c) {
  if (c.rev && *c.rev > 0) return *c.rev;
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(c.iat & 0xFFFFFFFFu));
}

std::string expires_human(const ActorClaims& c, std::int64_t now) {
  if (!c.exp) return "never";
  return human_relative_time(static_cast<std::int64_t>(std::min<std::uint64_t>(*c.exp, INT64_MAX)),
                             now);
}

std::string not_before_human(const ActorClaims& c, std::int64_t now) {
  if (!c.nbf) return "immediately";
  return human_relative_time(static_cast<std::int64_t>(std::min<std::uint64_t>(*c.nbf, INT64_MAX)),
                             now);
}

Result<ModuleClaims> read_module_claims(std::span<const std::uint8_t> module, std::int64_t now) {
  ModuleClaims out;
  // 1. Hash (parses the whole section list first).
  auto hash = module_hash(module);
  if (!hash) {
    return fail(Code::kInvalidArgument, std::string(errors::kExtractPrefix) +
                                            std::string(errors::kIoError) + hash.error().message);
  }
  out.computed_hash = std::move(*hash);
  // 2. Token.
  auto token = find_token(module);
  if (!token) return fail(with_prefix(errors::kExtractPrefix, token.error()));
  if (!*token) return fail(Code::kNotFound, std::string(errors::kNoClaims));
  out.token = std::move(**token);
  // 3. Decode.
  auto decoded = decode_jwt(out.token);
  if (!decoded) return fail(with_prefix(errors::kExtractPrefix, decoded.error()));
  auto claims = parse_actor_claims(decoded->claims);
  if (!claims) return fail(with_prefix(errors::kExtractPrefix, claims.error()));
  out.claims = std::move(*claims);
  // 4. Hash gate (spec 2.5): enforced only for wascap_revision >= 3.
  if (out.claims.hash != out.computed_hash && out.claims.wascap_revision.value_or(0) >= 3) {
    return fail(Code::kPermissionDenied,
                std::string(errors::kExtractPrefix) + std::string(errors::kInvalidModuleHash));
  }
  // 5. Validate.
  auto validation = validate_jwt(out.token, now);
  if (!validation) return fail(with_prefix(errors::kValidatePrefix, validation.error()));
  out.validation = std::move(*validation);
  return out;
}

Result<ModuleClaims> extract_claims(std::span<const std::uint8_t> module, std::int64_t now) {
  auto read = read_module_claims(module, now);
  if (!read) return read;
  // Beyond spec 2.6: the subject becomes a NATS subject token, a metadata key and a cache name,
  // so it must be a real Module key; the issuer a real Account key.
  if (!check_public_key(read->claims.sub, KeyType::kModule)) {
    return fail(Code::kPermissionDenied,
                std::string(errors::kValidatePrefix) + std::string(errors::kActorSubjectNotModule));
  }
  if (!check_public_key(read->claims.iss, KeyType::kAccount)) {
    return fail(Code::kPermissionDenied,
                std::string(errors::kValidatePrefix) + std::string(errors::kActorIssuerNotAccount));
  }
  if (read->validation.expired)
    return fail(Code::kPermissionDenied, std::string(errors::kTokenExpired));
  if (read->validation.cannot_use_yet) {
    return fail(Code::kPermissionDenied, std::string(errors::kTokenNotYetValid));
  }
  if (!read->validation.signature_valid) {
    return fail(Code::kPermissionDenied, std::string(errors::kInvalidModuleSignature));
  }
  return read;
}

Result<SignedModule> sign_module(std::span<const std::uint8_t> module, const KeyPair& issuer,
                                 const KeyPair& subject, const SignOptions& o) {
  if (issuer.type() != KeyType::kAccount) {
    return fail(Code::kInvalidArgument, std::string(errors::kIssuerNotAccount));
  }
  if (subject.type() != KeyType::kModule) {
    return fail(Code::kInvalidArgument, std::string(errors::kSubjectNotModule));
  }
  auto stripped = strip_token_sections(module);
  if (!stripped) {
    return fail(Code::kInvalidArgument, std::string(errors::kIoError) + stripped.error().message);
  }
  const std::int64_t now = o.now.value_or(now_seconds());
  const auto unow = static_cast<std::uint64_t>(now < 0 ? 0 : now);
  SignedModule out;
  ActorClaims& c = out.claims;
  if (o.expires_in_days) c.exp = unow + *o.expires_in_days * 86400;
  c.jti = o.jti.value_or(new_jti());
  c.iat = unow;
  c.iss = issuer.public_key();
  c.sub = subject.public_key();
  if (o.not_before_days) c.nbf = unow + *o.not_before_days * 86400;
  c.wascap_revision = kWascapRevision;
  c.name = o.name;
  c.hash = hex_upper(sha256(*stripped));
  c.tags = o.tags;
  c.caps = o.caps;
  c.rev = o.rev;
  c.ver = o.ver;
  if (o.call_alias) c.call_alias = normalize_call_alias(*o.call_alias);
  c.prov = o.prov;
  out.token = encode_jwt(serialize_actor_claims(c), issuer);
  out.module = append_custom_section(*stripped, kJwtSection, as_bytes(out.token));
  return out;
}

Status validate_call_alias(std::string_view alias) {
  if (alias.empty()) return fail(Code::kInvalidArgument, std::string(errors::kCallAliasEmpty));
  bool key_like = alias.size() == kPublicKeyLength;
  for (char ch : alias) {
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) key_like = false;
  }
  if (key_like) return fail(Code::kInvalidArgument, std::string(errors::kCallAliasIsKey));
  for (char ch : alias) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '/')) {
      return fail(Code::kInvalidArgument, std::string(errors::kCallAliasInvalid));
    }
  }
  return ok();
}

std::string normalize_call_alias(std::string_view alias) {
  std::string out;
  for (char ch : alias) {
    const auto u = static_cast<unsigned char>(ch);
    if (u >= 0x80) continue;
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  const auto first = out.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string::npos) return {};
  out = out.substr(first, out.find_last_not_of(" \t\r\n\v\f") - first + 1);
  for (char& ch : out) {
    if (ch == ' ' || ch == '-' || ch == '.') ch = '_';
  }
  return out;
}

std::string capability_friendly_name(std::string_view id) {
  if (id == "wasmcloud:messaging") return "Messaging";
  if (id == "wasmcloud:keyvalue") return "K/V Store";
  if (id == "wasmcloud:httpserver") return "HTTP Server";
  if (id == "wasmcloud:httpclient") return "HTTP Client";
  if (id == "wasmcloud:blobstore") return "Blob Store";
  if (id == "wasmcloud:eventstreams") return "Event Streams";
  if (id == "wasmcloud:builtin:numbergen") return "Number Generation";
  if (id == "wasmcloud:builtin:logging") return "Logging";
  return std::string(id);
}

std::string key_label(std::string_view key) {
  if (key.empty()) return "<Unknown>";
  switch (key[0]) {
    case 'A':
      return "Account";
    case 'M':
      return "Module";
    case 'O':
      return "Operator";
    case 'S':
      return "Server";
    case 'U':
      return "User";
    default:
      return "<Unknown>";
  }
}

Result<ProviderClaims> parse_provider_claims(const nlohmann::json& payload) {
  if (!payload.is_object()) return fail(serialization("invalid type: expected a claims object"));
  ProviderClaims c;
  const Reader r{payload};
  WC_TRY(parse_registered(r, c));
  auto meta = metadata_object(payload);
  if (!meta) return fail(meta.error());
  const Reader m{**meta};
  WC_TRY(m.opt_string("name", c.name));
  WC_TRY(m.req_string("capid", c.capid));
  WC_TRY(m.req_string("vendor", c.vendor));
  WC_TRY(m.opt_i32("rev", c.rev));
  WC_TRY(m.opt_string("ver", c.ver));
  auto th = (*meta)->find("target_hashes");
  if (th == (*meta)->end()) return fail(serialization("missing field `target_hashes`"));
  if (!th->is_object()) return fail(invalid_type("target_hashes", "a map"));
  for (auto it = th->begin(); it != th->end(); ++it) {
    if (!it.value().is_string()) return fail(invalid_type("target_hashes", "a map of strings"));
    c.target_hashes[it.key()] = it.value().get<std::string>();
  }
  if (const auto* schema = m.find("config_schema")) c.config_schema = *schema;
  return c;
}

std::string serialize_provider_claims(const ProviderClaims& c) {
  ordered j = ordered::object();
  write_registered_head(j, c);
  ordered w = ordered::object();
  w["name"] = c.name ? ordered(*c.name) : ordered(nullptr);
  w["capid"] = c.capid;
  w["vendor"] = c.vendor;
  if (c.rev) w["rev"] = *c.rev;
  if (c.ver) w["ver"] = *c.ver;
  ordered th = ordered::object();
  for (const auto& [target, hash] : c.target_hashes) th[target] = hash;
  w["target_hashes"] = std::move(th);
  if (c.config_schema) w["config_schema"] = ordered::parse(c.config_schema->dump());
  j["wascap"] = std::move(w);
  if (c.wascap_revision) j["wascap_revision"] = *c.wascap_revision;
  return dump(j);
}

std::string sign_provider_claims(const ProviderClaims& claims, const KeyPair& issuer) {
  return encode_jwt(serialize_provider_claims(claims), issuer);
}

Result<ProviderClaims> decode_provider_token(std::string_view token) {
  auto decoded = decode_jwt(token);
  if (!decoded) return fail(decoded.error());
  return parse_provider_claims(decoded->claims);
}

Result<ProviderClaims> verify_provider_token(std::string_view token, std::int64_t now) {
  auto claims = decode_provider_token(token);
  if (!claims) return claims;
  auto v = validate_jwt(token, now);
  if (!v) return fail(v.error());
  if (v->expired) return fail(Code::kPermissionDenied, std::string(errors::kProviderTokenExpired));
  if (v->cannot_use_yet) {
    return fail(Code::kPermissionDenied, std::string(errors::kProviderTokenNotYetValid));
  }
  if (!v->signature_valid) {
    return fail(Code::kPermissionDenied, std::string(errors::kInvalidProviderSignature));
  }
  return claims;
}

}  // namespace wc::wascap
