#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/webhooks/outbox.h"

namespace mtasts::agent::webhooks {

/// What goes on the wire for one attempt: the body and the headers (signatures, ids).
struct Delivery {
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

struct DelivererOptions {
  std::string name;  // the webhook's name: the only thing about it that is ever logged
  std::string url;   // http(s)://host[:port][/path]; never logged
  std::chrono::milliseconds timeout{10000};
  int max_attempts = 8;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5 * 60 * 1000};
};

/// Delivers one webhook's events in order, one at a time, on its own thread: HTTP POST, no
/// redirects, 2xx is success. Anything else, or a timeout, is retried after a capped
/// exponential backoff with jitter, or after the receiver's Retry-After, until max_attempts;
/// then the event is dropped. An event leaves the outbox only when delivered or dropped, so a
/// crash loses nothing (delivery is at least once). Each event's attempts and next attempt time
/// are kept in the outbox, so a new deliverer for the same webhook (reload, restart) carries on
/// where the last one stopped. An exception from `render` counts as a failed attempt; one that
/// escapes elsewhere is logged and counted (mta_sts_exporter_internal_errors_total) and the
/// thread carries on. Thread-safe.
class Deliverer {
 public:
  /// `render` builds an attempt's request (at the attempt's Unix time, for signatures);
  /// `on_attempt` hears every attempt's outcome (metrics); `on_drop` hears a dropped event.
  using Render = std::function<Delivery(const PendingEvent& event, std::int64_t unix_seconds)>;
  using OnAttempt = std::function<void(bool success)>;
  using OnDrop = std::function<void(const PendingEvent& event, const std::string& last_error)>;

  Deliverer(DelivererOptions options, Outbox& outbox, Render render, OnAttempt on_attempt,
            OnDrop on_drop);
  ~Deliverer();
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  /// Queues what the outbox holds for this webhook (after a restart), then starts delivering.
  /// Errors: the outbox cannot be read, or no thread can be started.
  Result<bool> Start();
  /// Queues an event (one already queued, same outbox file, is not queued twice).
  void Enqueue(PendingEvent event);
  /// Stops after the attempt in flight; undelivered events stay in the outbox.
  void Stop();
  std::size_t QueueLength() const;

 private:
  struct Attempt {
    bool success = false;
    std::string error;
    std::chrono::milliseconds retry_after{-1};  // from the receiver, when it said
  };
  Attempt Send(const PendingEvent& event);
  void Loop();
  /// Waits for the first queued event to be due, makes one attempt and settles it (delivered,
  /// dropped, or its progress saved). False once stopping.
  bool Step();
  /// Removes the first queued event (delivered or dropped) from the outbox and the queue.
  void Finish(const PendingEvent& event);

  DelivererOptions options_;
  Outbox& outbox_;
  Render render_;
  OnAttempt on_attempt_;
  OnDrop on_drop_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<PendingEvent> queue_;  // guarded by mutex_
  bool stopping_ = false;           // guarded by mutex_
  std::mt19937_64 random_{std::random_device{}()};
  std::thread thread_;
};

}  // namespace mtasts::agent::webhooks
