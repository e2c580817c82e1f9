// libFuzzer harness for the control-interface request parsers of src/host (control.h,
// control-interface.md 2.3-2.4): every parse_* on the same request body, used as the control
// server uses it - a failure is acknowledged with ack_json(false, <its text>), a parsed link
// definition is written as JSON - must return a request or a wc::Error and never crash or throw.
// Parsed requests must respect the limits control.h promises (counts, lengths); anything else
// traps. The first input line doubles as a control subject for parse_control_topic.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "host/control.h"

namespace {

namespace h = wc::host;

/// What the control server does with a parse result: acknowledge it (ack_json).
template <class T>
void acknowledge(const wc::Result<T>& r) {
  const std::string ack = r ? h::ack_json(true) : h::ack_json(false, r.error().message);
  if (ack.empty()) __builtin_trap();
}

void check_annotations(const h::StringMap& annotations) {
  if (annotations.size() > h::kMaxAnnotations) __builtin_trap();
  for (const auto& [k, v] : annotations)
    if (k.size() > h::kMaxIdentifierLength || v.size() > h::kMaxAnnotationValueLength)
      __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (!h::check_request_size(size)) return 0;  // the server reads no further

  auto la = h::parse_launch_actor(body);
  acknowledge(la);
  if (la && (la->count < 1 || la->count > h::kMaxInstancesPerActor ||
             la->actor_ref.size() > h::kMaxReferenceLength))
    __builtin_trap();
  if (la) check_annotations(la->annotations);

  auto sa = h::parse_stop_actor(body);
  acknowledge(sa);
  if (sa && (sa->count < 0 || sa->actor_id.size() > h::kMaxIdentifierLength)) __builtin_trap();
  if (sa) check_annotations(sa->annotations);

  auto scale = h::parse_scale_actor(body);
  acknowledge(scale);
  if (scale && (scale->count < 0 || scale->count > h::kMaxInstancesPerActor)) __builtin_trap();

  acknowledge(h::parse_update_actor(body));

  auto lp = h::parse_start_provider(body);
  acknowledge(lp);
  if (lp) check_annotations(lp->annotations);
  if (lp && lp->link_name.find_first_of(".*> ") != std::string::npos) __builtin_trap();

  auto sp = h::parse_stop_provider(body);
  acknowledge(sp);
  if (sp && sp->provider_id.size() != 56) __builtin_trap();

  acknowledge(h::parse_stop_host(body));

  for (auto parse : {&h::parse_linkdef_put, &h::parse_linkdef_del}) {
    auto ld = parse(body);
    acknowledge(ld);
    if (!ld) continue;
    if (ld->values.size() > h::kMaxLinkValues) __builtin_trap();
    (void)h::linkdef_json(*ld).dump();
  }

  auto aa = h::parse_actor_auction(body);
  acknowledge(aa);
  if (aa) (void)h::labels_satisfy({{"hostcore.os", "linux"}}, aa->constraints);
  auto pa = h::parse_provider_auction(body);
  acknowledge(pa);
  if (pa) (void)h::labels_satisfy({}, pa->constraints);

  const std::string_view subject = body.substr(0, body.find('\n'));
  if (auto t = h::parse_control_topic(subject, "wasmbus.ctl", "default"))
    if (t->kind.empty() || t->op.empty()) __builtin_trap();
  return 0;
}
