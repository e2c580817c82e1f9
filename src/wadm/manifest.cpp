// Manifest parsing and validation (manifest.h). Field names and rules: wadm v0.4-v0.10
// `src/model/mod.rs` and `src/server/handlers.rs` (validate_manifest); messages are ours except
// the texts in errors.h.
#include "wadm/manifest.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "wadm/errors.h"

namespace wc::wadm {
namespace {

using nlohmann::json;

constexpr int kMaxYamlDepth = 64;
constexpr std::size_t kMaxYamlNodes = 100000;

Error invalid(std::string message) { return Error{Code::kInvalidArgument, std::move(message)}; }

bool is_int_text(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool is_float_text(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  bool digits = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, digits = true;
  }
  if (!digits) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    bool exp = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, exp = true;
    if (!exp) return false;
  }
  return i == s.size();
}

/// A plain (untagged, unquoted) YAML scalar as JSON per the YAML 1.2 core schema.
json plain_scalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (is_int_text(s)) {
    std::string_view v = s;
    if (v[0] == '+') v.remove_prefix(1);
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && p == v.data() + v.size()) return n;
    return s;  // out of range: keep the text
  }
  if (is_float_text(s)) {
    try {
      return std::stod(s);
    } catch (const std::exception&) {
      return s;
    }
  }
  return s;
}

struct YamlConverter {
  std::size_t nodes = 0;

  Result<json> convert(const YAML::Node& n, int depth) {
    if (depth > kMaxYamlDepth) return tl::unexpected(invalid("YAML nested deeper than 64 levels"));
    if (++nodes > kMaxYamlNodes)
      return tl::unexpected(invalid("YAML document has more than 100000 nodes (aliases included)"));
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json(nullptr);
      case YAML::NodeType::Scalar: {
        const std::string& tag = n.Tag();
        if (tag == "?") return plain_scalar(n.Scalar());
        return json(n.Scalar());  // quoted ("!") or explicitly tagged: a string
      }
      case YAML::NodeType::Sequence: {
        json arr = json::array();
        for (const auto& item : n) {
          auto v = convert(item, depth + 1);
          if (!v) return v;
          arr.push_back(std::move(*v));
        }
        return arr;
      }
      case YAML::NodeType::Map: {
        json obj = json::object();
        for (const auto& kv : n) {
          if (!kv.first.IsScalar())
            return tl::unexpected(invalid("YAML mapping key is not a plain value"));
          auto v = convert(kv.second, depth + 1);
          if (!v) return v;
          obj[kv.first.Scalar()] = std::move(*v);
        }
        return obj;
      }
    }
    return json(nullptr);
  }
};

/// Reads `obj[key]` as a string. Missing: `required` decides. Present but not a string: error.
Result<std::string> get_string(const json& obj, const std::string& key, const std::string& where,
                               bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return tl::unexpected(invalid(where + "." + key + " is missing"));
    return std::string();
  }
  if (!it->is_string()) return tl::unexpected(invalid(where + "." + key + " must be a string"));
  std::string s = it->get<std::string>();
  if (required && s.empty()) return tl::unexpected(invalid(where + "." + key + " is empty"));
  return s;
}

/// Reads a string -> string map; `where` names it in errors.
Result<std::map<std::string, std::string>> get_string_map(const json& obj, const std::string& key,
                                                          const std::string& where) {
  std::map<std::string, std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return tl::unexpected(invalid(where + "." + key + " must be a mapping"));
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string())
      return tl::unexpected(
          invalid(where + "." + key + "." + k + " must be a string (quote numbers and booleans)"));
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

/// A non-negative integer member within [min, max]; `fallback` when absent.
Result<std::uint32_t> get_count(const json& obj, const std::string& key, const std::string& where,
                                std::uint32_t min, std::uint32_t max,
                                std::optional<std::uint32_t> fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (fallback) return *fallback;
    return tl::unexpected(invalid(where + "." + key + " is missing"));
  }
  const std::string range = " (" + std::to_string(min) + ".." + std::to_string(max) + ")";
  if (!it->is_number_integer())
    return tl::unexpected(invalid(where + "." + key + " must be an integer" + range));
  if (it->is_number_unsigned()) {
    auto v = it->get<std::uint64_t>();
    if (v < min || v > max)
      return tl::unexpected(invalid(where + "." + key + " is out of range" + range));
    return static_cast<std::uint32_t>(v);
  }
  auto v = it->get<std::int64_t>();
  if (v < static_cast<std::int64_t>(min) || v > static_cast<std::int64_t>(max))
    return tl::unexpected(invalid(where + "." + key + " is out of range" + range));
  return static_cast<std::uint32_t>(v);
}

Result<ScalerProperties> parse_scaler(const json& props, const std::string& where) {
  ScalerProperties sp;
  // wadm v0.4-v0.9 spell it `replicas`, v0.10 `instances` (with `replicas` as an alias).
  const std::string key = props.contains("replicas") ? "replicas" : "instances";
  if (!props.contains(key)) return tl::unexpected(invalid(where + ".replicas is missing"));
  auto replicas = get_count(props, key, where, 0, kMaxReplicas, std::nullopt);
  if (!replicas) return tl::unexpected(replicas.error());
  sp.replicas = *replicas;
  auto it = props.find("spread");
  if (it == props.end() || it->is_null()) return sp;
  if (!it->is_array()) return tl::unexpected(invalid(where + ".spread must be a list"));
  std::set<std::string> names;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& s = (*it)[i];
    const std::string w = where + ".spread[" + std::to_string(i) + "]";
    if (!s.is_object()) return tl::unexpected(invalid(w + " must be a mapping"));
    Spread spread;
    auto name = get_string(s, "name", w, true);
    if (!name) return tl::unexpected(name.error());
    spread.name = *name;
    if (!names.insert(spread.name).second)
      return tl::unexpected(invalid(where + ".spread has two spreads named '" + spread.name + "'"));
    auto req = get_string_map(s, "requirements", w);
    if (!req) return tl::unexpected(req.error());
    spread.requirements = std::move(*req);
    auto weight = get_count(s, "weight", w, 1, kMaxSpreadWeight, kDefaultSpreadWeight);
    if (!weight) return tl::unexpected(weight.error());
    spread.weight = *weight;
    sp.spread.push_back(std::move(spread));
  }
  return sp;
}

/// The image without its tag or digest (`host:port/repo:tag` -> `host:port/repo`).
std::string image_without_tag(const std::string& image) {
  std::string s = image.substr(0, image.find('@'));
  auto slash = s.rfind('/');
  auto colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) s.resize(colon);
  return s;
}

}  // namespace

std::string_view component_type_name(ComponentType type) {
  return type == ComponentType::kActor ? "actor" : "capability";
}

std::string_view trait_type_name(TraitType type) {
  switch (type) {
    case TraitType::kSpreadScaler:
      return "spreadscaler";
    case TraitType::kDaemonScaler:
      return "daemonscaler";
    case TraitType::kLinkdef:
      return "linkdef";
  }
  return "linkdef";
}

bool is_valid_model_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

Result<json> yaml_to_json(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion&) {
    // yaml-cpp's own text for it is "bad file".
    return fail(Code::kInvalidArgument, "not YAML or JSON: nested too deeply");
  } catch (const YAML::Exception& e) {
    return fail(Code::kInvalidArgument, std::string("not YAML or JSON: ") + e.what());
  } catch (const std::exception& e) {
    return fail(Code::kInvalidArgument, std::string("not YAML or JSON: ") + e.what());
  }
  try {
    YamlConverter conv;
    return conv.convert(root, 0);
  } catch (const std::exception& e) {
    return fail(Code::kInvalidArgument, std::string("not YAML or JSON: ") + e.what());
  }
}

Result<Manifest> manifest_from_json(const json& doc) {
  if (!doc.is_object()) return fail(Code::kInvalidArgument, "the manifest is not a mapping");
  Manifest m;
  m.document = doc;
  auto api = get_string(doc, "apiVersion", "manifest", true);
  if (!api) return fail(api.error());
  if (*api != kOamApiVersion)
    return fail(Code::kInvalidArgument, "apiVersion '" + *api + "' is not supported (expected " +
                                            std::string(kOamApiVersion) + ")");
  auto kind = get_string(doc, "kind", "manifest", true);
  if (!kind) return fail(kind.error());
  if (*kind != kApplicationKind)
    return fail(Code::kInvalidArgument,
                "kind '" + *kind + "' is not supported (expected Application)");
  auto meta = doc.find("metadata");
  if (meta == doc.end() || !meta->is_object())
    return fail(Code::kInvalidArgument, "metadata is missing");
  auto name = get_string(*meta, "name", "metadata", true);
  if (!name) return fail(name.error());
  if (!is_valid_model_name(*name))
    return fail(Code::kInvalidArgument,
                "Manifest name " + *name +
                    " contains invalid characters. Manifest names can only contain alphanumeric "
                    "characters, dashes, and underscores.");
  m.name = *name;
  auto ann = get_string_map(*meta, "annotations", "metadata");
  if (!ann) return fail(ann.error());
  m.annotations = std::move(*ann);
  auto ver = m.annotations.find(std::string(kVersionAnnotation));
  if (ver == m.annotations.end() || ver->second.empty())
    return fail(Code::kInvalidArgument, "metadata.annotations.version is missing");
  m.version = ver->second;
  if (m.version == kLatestVersion)
    return fail(Code::kInvalidArgument, std::string(errors::kLatestVersion));
  if (auto d = m.annotations.find(std::string(kDescriptionAnnotation)); d != m.annotations.end())
    m.description = d->second;

  auto spec = doc.find("spec");
  if (spec == doc.end() || !spec->is_object())
    return fail(Code::kInvalidArgument, "spec is missing");
  auto comps = spec->find("components");
  if (comps == spec->end() || !comps->is_array() || comps->empty())
    return fail(Code::kInvalidArgument, "spec.components is missing or empty");

  std::set<std::string> names;
  std::set<std::string> actor_images;
  std::set<std::pair<std::string, std::string>> provider_links;  // (image w/o tag, link name)
  for (std::size_t i = 0; i < comps->size(); ++i) {
    const json& c = (*comps)[i];
    std::string where = "spec.components[" + std::to_string(i) + "]";
    if (!c.is_object()) return fail(Code::kInvalidArgument, where + " must be a mapping");
    Component comp;
    auto cname = get_string(c, "name", where, true);
    if (!cname) return fail(cname.error());
    comp.name = *cname;
    where = "component '" + comp.name + "'";
    if (!names.insert(comp.name).second)
      return fail(Code::kInvalidArgument, std::string(errors::kDuplicateComponent) + comp.name);
    auto type = get_string(c, "type", where, true);
    if (!type) return fail(type.error());
    if (*type == "actor") {
      comp.type = ComponentType::kActor;
    } else if (*type == "capability") {
      comp.type = ComponentType::kCapability;
    } else {
      return fail(Code::kInvalidArgument,
                  where + ": unknown component type '" + *type + "' (known: actor, capability)");
    }
    static const json kNoProperties = json::object();
    auto pit = c.find("properties");
    if (pit != c.end() && !pit->is_null() && !pit->is_object())
      return fail(Code::kInvalidArgument, where + ": properties must be a mapping");
    const json* props = (pit == c.end() || pit->is_null()) ? &kNoProperties : &*pit;
    auto image = get_string(*props, "image", where + ": properties", true);
    if (!image) return fail(image.error());
    comp.image = *image;
    if (comp.type == ComponentType::kActor) {
      if (!actor_images.insert(comp.image).second)
        return fail(Code::kInvalidArgument, std::string(errors::kDuplicateImage) + comp.image);
    } else {
      auto contract = get_string(*props, "contract", where + ": properties", true);
      if (!contract) return fail(contract.error());
      comp.contract = *contract;
      auto link = get_string(*props, "link_name", where + ": properties", false);
      if (!link) return fail(link.error());
      comp.link_name = link->empty() ? "default" : *link;
      if (!provider_links.emplace(image_without_tag(comp.image), comp.link_name).second)
        return fail(Code::kInvalidArgument, "Duplicate image reference " + comp.image +
                                                " to link name " + comp.link_name + " in manifest");
      if (auto cfg = props->find("config"); cfg != props->end() && !cfg->is_null()) {
        if (!cfg->is_string() && !cfg->is_object())
          return fail(Code::kInvalidArgument,
                      where + ": properties.config must be a string or a mapping");
        comp.config = *cfg;
      }
    }
    auto traits = c.find("traits");
    if (traits != c.end() && !traits->is_null()) {
      if (!traits->is_array())
        return fail(Code::kInvalidArgument, where + ": traits must be a list");
      bool has_scaler = false;
      std::set<std::string> link_targets;
      for (std::size_t t = 0; t < traits->size(); ++t) {
        const json& tr = (*traits)[t];
        const std::string tw = where + " trait " + std::to_string(t);
        if (!tr.is_object()) return fail(Code::kInvalidArgument, tw + " must be a mapping");
        auto ttype = get_string(tr, "type", tw, true);
        if (!ttype) return fail(ttype.error());
        Trait trait;
        if (*ttype == "spreadscaler") {
          trait.type = TraitType::kSpreadScaler;
        } else if (*ttype == "daemonscaler") {
          trait.type = TraitType::kDaemonScaler;
        } else if (*ttype == "linkdef") {
          trait.type = TraitType::kLinkdef;
        } else {
          return fail(Code::kInvalidArgument, where + ": unknown trait type '" + *ttype +
                                                  "' (known: spreadscaler, daemonscaler, linkdef)");
        }
        const std::string pw = where + " " + *ttype;
        auto tprops = tr.find("properties");
        if (tprops == tr.end() || !tprops->is_object())
          return fail(Code::kInvalidArgument, pw + ": properties is missing");
        if (trait.type == TraitType::kLinkdef) {
          if (comp.type != ComponentType::kActor)
            return fail(Code::kInvalidArgument,
                        pw + ": a linkdef trait belongs on an actor component");
          auto target = get_string(*tprops, "target", pw + ": properties", true);
          if (!target) return fail(target.error());
          trait.linkdef.target = *target;
          if (!link_targets.insert(*target).second)
            return fail(Code::kInvalidArgument, "Duplicate target " + *target + " for component " +
                                                    comp.name + " linkdef trait in manifest");
          auto values = get_string_map(*tprops, "values", pw + ": properties");
          if (!values) return fail(values.error());
          trait.linkdef.values = std::move(*values);
        } else {
          if (has_scaler)
            return fail(Code::kInvalidArgument, where + " has more than one scaler trait");
          has_scaler = true;
          auto sp = parse_scaler(*tprops, pw + ": properties");
          if (!sp) return fail(sp.error());
          trait.scaler = std::move(*sp);
        }
        comp.traits.push_back(std::move(trait));
      }
    }
    m.components.push_back(std::move(comp));
  }
  // Every linkdef target must be a capability component of this manifest.
  for (const auto& comp : m.components) {
    for (const auto& trait : comp.traits) {
      if (trait.type != TraitType::kLinkdef) continue;
      const Component* target = nullptr;
      for (const auto& other : m.components)
        if (other.name == trait.linkdef.target) target = &other;
      if (target == nullptr)
        return fail(Code::kInvalidArgument, "component '" + comp.name + "' links to '" +
                                                trait.linkdef.target +
                                                "', which is not a component of this manifest");
      if (target->type != ComponentType::kCapability)
        return fail(Code::kInvalidArgument, "component '" + comp.name + "' links to '" +
                                                trait.linkdef.target +
                                                "', which is not a capability component");
    }
  }
  return m;
}

Result<Manifest> parse_manifest(std::string_view text) {
  auto refuse = [](const std::string& why) {
    return fail(Code::kInvalidArgument, std::string(errors::kUnableToParse) + why);
  };
  if (text.size() > kMaxManifestBytes)
    return refuse("the manifest is larger than " + std::to_string(kMaxManifestBytes) + " bytes");
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return refuse("the body is empty");
  json doc;
  if (text[first] == '{') {
    doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) return refuse("not valid JSON");
  } else {
    auto y = yaml_to_json(text);
    if (!y) return refuse(y.error().message);
    doc = std::move(*y);
    if (!doc.is_object()) return refuse("not YAML or JSON describing a manifest");
  }
  return manifest_from_json(doc);
}

}  // namespace wc::wadm
