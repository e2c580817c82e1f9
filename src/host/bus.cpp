// ConnectionBus: the Bus seam (bus.h) over a real lattice::Connection.
#include "host/bus.h"

namespace wc::host {

Status ConnectionBus::publish(std::string_view subject, std::span<const std::uint8_t> data,
                              const lattice::Headers& headers) {
  return nc_->publish(subject, data, headers);
}

Result<Bytes> ConnectionBus::request(std::string_view subject, std::span<const std::uint8_t> data,
                                     std::chrono::milliseconds timeout,
                                     const lattice::Headers& headers) {
  auto r = nc_->request(subject, data, timeout, headers);
  if (!r) return fail(r.error());
  auto d = r->data();
  return Bytes(d.begin(), d.end());
}

Result<lattice::Subscription> ConnectionBus::subscribe(std::string_view subject,
                                                       lattice::MessageHandler handler) {
  return nc_->subscribe(subject, std::move(handler));
}

Result<lattice::Subscription> ConnectionBus::queue_subscribe(std::string_view subject,
                                                             std::string_view queue,
                                                             lattice::MessageHandler handler) {
  return nc_->queue_subscribe(subject, queue, std::move(handler));
}

Status ConnectionBus::flush(std::chrono::milliseconds timeout) { return nc_->flush(timeout); }

std::string ConnectionBus::new_inbox() { return nc_->new_inbox(); }

std::size_t ConnectionBus::known_servers() const { return nc_->known_servers().size(); }

}  // namespace wc::host
