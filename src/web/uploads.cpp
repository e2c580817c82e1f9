// Actor and provider uploads (see uploads.h).
#include "web/uploads.h"

#include <cctype>
#include <filesystem>

#include "common/encoding.h"
#include "oci/reference.h"
#include "wascap/claims.h"
#include "wascap/jwt.h"
#include "web/forms.h"
#include "web/messages.h"

namespace wc::web {

using nlohmann::json;

std::string repo_component(std::string_view s) {
  std::string out;
  for (char c : s) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'))
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "upload" : out;
}

std::string short_hash(std::string_view hash) {
  std::string out(hash.substr(0, 12));
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status Uploads::push(const std::string& ref, std::span<const std::uint8_t> data,
                     oci::ArtifactKind kind) {
  oci::PushOptions po;
  po.kind = kind;
  po.allowed_insecure = actions_.insecure_for(ref);
  auto pushed = oci::Client().push(ref, data, po);
  if (!pushed)
    return fail(pushed.error().code,
                std::string(messages::kRegistryPushFailedPrefix) + pushed.error().message);
  return ok();
}

Reply Uploads::upload_actor(const json& fields, const UploadedFile& file) {
  auto f = parse_upload_actor(fields);
  if (!f) return refused(400, f.error().message);
  if (auto st = check_actor_upload(file.content.size()); !st)
    return refused(400, st.error().message);
  auto data = as_bytes(file.content);
  auto mc = wascap::extract_claims(data, wascap::now_seconds());
  if (!mc) return refused(400, std::string(messages::kClaimsRefusedPrefix) + mc.error().message);
  const auto& c = mc->claims;
  auto rev = wascap::effective_revision(c);
  std::string tag = "r" + std::to_string(rev) + "-" + short_hash(c.hash);
  f->actor_ref = actions_.registry() + "/dashboard/" + oci::to_lower(c.sub) + ":" + tag;
  if (auto st = push(f->actor_ref, data, oci::ArtifactKind::kActor); !st)
    return refused(502, st.error().message);
  state_.remember_actor(f->actor_ref, c.sub, c.name.value_or(""), rev);
  auto r = actions_.start_actor(*f, c.sub);
  r.body["actor_ref"] = f->actor_ref;
  return r;
}

Reply Uploads::upload_provider(const json& fields, const UploadedFile& file) {
  auto f = parse_upload_provider(fields);
  if (!f) return refused(400, f.error().message);
  if (auto st = check_provider_upload(file.content.size()); !st)
    return refused(400, st.error().message);
  auto data = as_bytes(file.content);
  std::string stem = std::filesystem::path(file.filename).stem().string();
  f->provider_ref = actions_.registry() + "/dashboard/providers/" + repo_component(stem) + ":u" +
                    hex_lower(sha256(data)).substr(0, 12);
  if (auto st = push(f->provider_ref, data, oci::ArtifactKind::kProvider); !st)
    return refused(502, st.error().message);
  return actions_.start_provider(*f);
}

}  // namespace wc::web
