// RpcEventPublisher (rpc_events.h): invocation events published off the invocation path.
#include "host/rpc_events.h"

#include <pthread.h>

#include <utility>

#include "lattice/cloudevent.h"
#include "lattice/tracing.h"

namespace wc::host {

RpcEventPublisher::RpcEventPublisher(Options options, Publish publish)
    : options_(std::move(options)), publish_(std::move(publish)) {
  thread_ = std::thread([this] { run(); });
}

RpcEventPublisher::~RpcEventPublisher() { stop(); }

void RpcEventPublisher::enqueue(std::string_view type, nlohmann::json data) {
  Item item{std::string(type), std::move(data), std::chrono::system_clock::now(),
            lattice::current_trace_headers()};
  bool wake = false;
  {
    MutexLock lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(item));
    // The first event wakes a thread asleep on an empty queue (it then waits out `interval`);
    // a full batch wakes it at once.
    wake = queue_.size() == 1 || queue_.size() >= options_.batch;
  }
  if (wake) cv_.notify_one();
}

void RpcEventPublisher::stop() {
  {
    MutexLock lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t RpcEventPublisher::dropped() const {
  MutexLock lock(mu_);
  return dropped_;
}

void RpcEventPublisher::run() {
  (void)pthread_setname_np(pthread_self(), "wc-rpcevents");
  std::vector<Item> batch;
  for (;;) {
    bool last = false;
    {
      MutexLock lock(mu_);
      // Wake every `interval` while events wait, at once when a batch is full or at stop.
      while (!stopping_ && queue_.size() < options_.batch) {
        if (queue_.empty()) {
          lock.wait(cv_);
        } else if (lock.wait_for(cv_, options_.interval) == std::cv_status::timeout) {
          break;
        }
      }
      batch.swap(queue_);
      last = stopping_;
    }
    for (auto& item : batch) {
      publish_(lattice::make_cloudevent(item.type, options_.source, item.data, {},
                                        lattice::rfc3339_micros(item.time))
                   .dump(),
               item.headers);
    }
    batch.clear();
    if (last) {
      MutexLock lock(mu_);
      if (queue_.empty()) return;  // else: enqueued before stopping_ was seen; one more round
    }
  }
}

}  // namespace wc::host
