// libFuzzer harness for the dashboard's form parsers (src/web/forms.h) and the control requests
// built from them (src/web/requests.h), used as the dashboard server uses them:
//  - JSON API: the body parsed leniently; when it is an object, every parse_* runs on it and a
//    parsed form becomes its control request, whose JSON body is written (dump) as sent;
//  - multipart uploads: the input split at NUL bytes into the raw text fields the dashboard
//    copies into a JSON object (count, host_id, link_name, configuration), then
//    parse_upload_actor / parse_upload_provider and their control requests likewise;
//  - the `K=V,...` link values text of the "Define link" form.
// Nothing may crash or throw; a parsed form must respect the documented ranges (counts).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "web/forms.h"
#include "web/requests.h"

namespace {

namespace w = wc::web;
using nlohmann::json;

constexpr std::string_view kActor = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";

void send(const w::CtlRequest& r) {
  if (r.body.dump().empty() || r.operation.empty()) __builtin_trap();
}

void json_forms(const json& body) {
  if (auto f = w::parse_start_actor(body)) {
    if (f->count < 1) __builtin_trap();
    send(f->host_id.empty() ? w::actor_auction_request(f->actor_ref)
                            : w::scale_request(f->host_id, kActor, f->actor_ref, f->count));
  }
  if (auto f = w::parse_hot_reload(body)) {
    if (f->count < 1 || f->path.empty() || f->path.front() != '/') __builtin_trap();
    send(w::update_request(f->host_id, kActor, "file://" + f->path));
  }
  if (auto f = w::parse_scale(body)) {
    if (f->count < 0) __builtin_trap();
    send(w::scale_request(f->host_id, f->actor_id, f->actor_ref, f->count));
  }
  if (auto f = w::parse_start_provider(body)) {
    send(w::provider_auction_request(f->provider_ref, f->link_name));
    send(w::launch_provider_request(f->host_id, f->provider_ref, f->link_name, f->configuration));
  }
  if (auto f = w::parse_stop_provider(body))
    send(w::stop_provider_request(f->host_id, f->provider_id, f->link_name));
  if (auto f = w::parse_link(body)) {
    send(w::put_link_request(f->actor_id, f->provider_id, f->contract_id, f->link_name, f->values));
    (void)w::format_link_values(f->values);
  }
  if (auto f = w::parse_delete_link(body))
    send(w::delete_link_request(f->actor_id, f->contract_id, f->link_name));
}

void multipart_forms(std::string_view input) {
  std::vector<std::string> parts;
  for (std::size_t pos = 0; parts.size() < 4;) {
    auto nul = input.find('\0', pos);
    parts.emplace_back(input.substr(pos, nul == std::string_view::npos ? input.npos : nul - pos));
    if (nul == std::string_view::npos) break;
    pos = nul + 1;
  }
  json fields = json::object();
  const char* names[] = {"count", "host_id", "link_name", "configuration"};
  for (std::size_t i = 0; i < parts.size(); ++i) fields[names[i]] = parts[i];
  if (auto f = w::parse_upload_actor(fields)) {
    if (f->count < 1) __builtin_trap();
    send(f->host_id.empty() ? w::actor_auction_request("127.0.0.1:5000/dashboard/a:r1")
                            : w::scale_request(f->host_id, kActor, "r", f->count));
  }
  if (auto f = w::parse_upload_provider(fields))
    send(w::launch_provider_request(f->host_id, "127.0.0.1:5000/dashboard/providers/p:u1",
                                    f->link_name, f->configuration));
  (void)w::check_actor_upload(input.size());
  (void)w::check_provider_upload(input.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  json body = json::parse(text, nullptr, false);
  if (!body.is_discarded() && body.is_object()) json_forms(body);
  multipart_forms(text);
  if (auto values = w::parse_link_values(std::string(text))) {
    // The "copy values" text parses back to the same map.
    auto again = w::parse_link_values(w::format_link_values(*values));
    if (!again) __builtin_trap();
  }
  return 0;
}
