#include "agent/webhooks/deliverer.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>

#include "agent/internal_errors.h"
#include "agent/log.h"
#include "base/clock.h"

namespace mtasts::agent::webhooks {
namespace {

using std::chrono::milliseconds;

// A receiver's Retry-After is honoured up to this long; no attempt is ever planned further
// ahead than this or max_backoff, whichever is longer.
constexpr milliseconds kMaxRetryAfter = std::chrono::hours(1);
// After an unexpected error outside an attempt, the thread pauses this long before going on.
constexpr milliseconds kPauseAfterError{1000};

/// "scheme://host[:port]" and "/path?query" of a URL.
std::pair<std::string, std::string> SplitUrl(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto path_start =
      scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  if (path_start == std::string::npos) return {url, "/"};
  return {url.substr(0, path_start), url.substr(path_start)};
}

}  // namespace

Deliverer::Deliverer(DelivererOptions options, Outbox& outbox, Render render, OnAttempt on_attempt,
                     OnDrop on_drop)
    : options_(std::move(options)),
      outbox_(outbox),
      render_(std::move(render)),
      on_attempt_(std::move(on_attempt)),
      on_drop_(std::move(on_drop)) {}

Deliverer::~Deliverer() {
  Stop();
}

Result<bool> Deliverer::Start() {
  auto pending = outbox_.Load(options_.name);
  if (!pending) return pending.error();
  {
    std::lock_guard lock(mutex_);
    for (auto& event : pending.value()) queue_.push_back(std::move(event));
  }
  try {
    thread_ = std::thread([this] { Loop(); });
  } catch (const std::system_error& e) {
    return Error{"webhook " + options_.name + ": cannot start its delivery thread: " + e.what()};
  }
  return true;
}

void Deliverer::Enqueue(PendingEvent event) {
  {
    std::lock_guard lock(mutex_);
    // An event detected again (after a crash) may already be queued from the outbox.
    for (const auto& queued : queue_) {
      if (queued.file == event.file) return;
    }
    queue_.push_back(std::move(event));
  }
  wake_.notify_all();
}

void Deliverer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t Deliverer::QueueLength() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

Deliverer::Attempt Deliverer::Send(const PendingEvent& event) {
  const auto now = NowUnixSeconds();
  const Delivery delivery = render_(event, now);
  const auto [origin, path] = SplitUrl(options_.url);
  httplib::Client client(origin);
  client.set_follow_location(false);  // a redirect is an answer, not a success
  client.set_keep_alive(false);
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
  const auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout - secs);
  client.set_connection_timeout(secs.count(), usecs.count());
  client.set_read_timeout(secs.count(), usecs.count());
  client.set_write_timeout(secs.count(), usecs.count());
  httplib::Headers headers;
  for (const auto& [name, value] : delivery.headers) headers.emplace(name, value);
  auto res = client.Post(path, headers, delivery.body, delivery.content_type);
  Attempt attempt;
  if (!res) {
    attempt.error = "request failed: " + httplib::to_string(res.error());
    return attempt;
  }
  if (res->status >= 200 && res->status < 300) {
    attempt.success = true;
    return attempt;
  }
  attempt.error = "answered HTTP " + std::to_string(res->status);
  const std::string retry_after = res->get_header_value("Retry-After");
  int seconds = 0;
  auto [end, ec] =
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
  if (!retry_after.empty() && ec == std::errc() && end == retry_after.data() + retry_after.size() &&
      seconds >= 0) {
    attempt.retry_after = std::chrono::seconds(seconds);
  }
  return attempt;
}

void Deliverer::Loop() {
  for (;;) {
    bool more = true;
    if (RunGuarded(ThreadKind::kWebhook, "webhook " + options_.name, [&] { more = Step(); })) {
      if (!more) return;
      continue;
    }
    // Something failed outside an attempt: pause (not to spin on a lasting fault), carry on.
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, kPauseAfterError, [this] { return stopping_; })) return;
  }
}

bool Deliverer::Step() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  if (stopping_) return false;
  PendingEvent& front = queue_.front();  // stays queued until delivered or dropped
  const std::int64_t now = NowUnixMillis();
  // A next attempt further ahead than any backoff can plan (the clock went back, the file was
  // edited) is brought back within reach.
  const std::int64_t latest = now + std::max(options_.max_backoff, kMaxRetryAfter).count();
  front.next_attempt_ms = std::min(front.next_attempt_ms, latest);
  if (front.next_attempt_ms > now) {
    // Backing off, perhaps since before a reload or a restart.
    wake_.wait_for(lock, milliseconds(front.next_attempt_ms - now), [this] { return stopping_; });
    return !stopping_;
  }
  PendingEvent event = front;
  lock.unlock();

  if (event.attempts >= options_.max_attempts) {
    // max_attempts was lowered (by a reload) below the attempts already made.
    Log(LogLevel::kError, "webhook event dropped: max_attempts already reached",
        {{"webhook", options_.name},
         {"event_id", event.event_id},
         {"attempts", std::to_string(event.attempts)}});
    on_drop_(event, "max_attempts reached");
    Finish(event);
    return true;
  }

  Attempt attempt;
  if (!RunGuarded(ThreadKind::kWebhook, "webhook " + options_.name,
                  [&] { attempt = Send(event); })) {
    attempt = Attempt{};
    attempt.error = "internal error building or sending the request (see the error log)";
  }
  ++event.attempts;
  on_attempt_(attempt.success);
  const bool give_up = !attempt.success && event.attempts >= options_.max_attempts;
  if (attempt.success || give_up) {
    if (give_up) {
      Log(LogLevel::kError, "webhook event dropped after every attempt failed",
          {{"webhook", options_.name},
           {"event_id", event.event_id},
           {"attempts", std::to_string(event.attempts)},
           {"error", attempt.error}});
      on_drop_(event, attempt.error);
    } else {
      Log(LogLevel::kDebug, "webhook event delivered",
          {{"webhook", options_.name}, {"event_id", event.event_id}});
    }
    Finish(event);
    return true;
  }
  // Capped exponential backoff with jitter; the receiver's Retry-After wins when it gave one.
  milliseconds delay = options_.initial_backoff;
  for (int i = 1; i < event.attempts && delay < options_.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options_.max_backoff);
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  delay =
      milliseconds(static_cast<std::int64_t>(static_cast<double>(delay.count()) * jitter(random_)));
  if (attempt.retry_after.count() >= 0) delay = std::min(attempt.retry_after, kMaxRetryAfter);
  event.next_attempt_ms = NowUnixMillis() + delay.count();
  // Kept in the outbox: a deliverer rebuilt by a reload, or a restarted daemon, waits out the
  // same backoff and counts on from here.
  auto saved = outbox_.SaveProgress(options_.name, event);
  Log(LogLevel::kWarn, "webhook delivery failed; will retry",
      {{"webhook", options_.name},
       {"event_id", event.event_id},
       {"attempt", std::to_string(event.attempts)},
       {"error", attempt.error},
       {"retry_in_ms", std::to_string(delay.count())}});
  if (!saved) {
    Log(LogLevel::kWarn, "cannot save a webhook event's delivery progress",
        {{"webhook", options_.name}, {"error", saved.error().message}});
  }
  lock.lock();
  queue_.front().attempts = event.attempts;
  queue_.front().next_attempt_ms = event.next_attempt_ms;
  return true;
}

void Deliverer::Finish(const PendingEvent& event) {
  outbox_.Remove(options_.name, event.file);
  std::lock_guard lock(mutex_);
  queue_.pop_front();
}

}  // namespace mtasts::agent::webhooks
