#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace mtasts::agent::webhooks {

/// One event waiting for delivery to one webhook.
struct PendingEvent {
  std::string file;      // its file in the outbox, the key for Remove
  std::string event_id;  // for X-MTA-STS-Event-Id / webhook-id
  std::string payload;   // the event as JSON text, rendered per format at delivery
  // How far delivery got, kept beside the event (SaveProgress) so that neither a reload nor a
  // restart resets the attempt count or the backoff.
  int attempts = 0;                  // attempts made so far
  std::int64_t next_attempt_ms = 0;  // Unix ms before which no attempt is made; 0: at once
};

/// Events that must survive a crash: `<dir>/<webhook>/<sequence>-<event id>.json`, one file per
/// event, written (temp file, fsync, rename, directory fsync) before the posture that caused it
/// is committed. File names sort in the order events were added, so delivery stays in order
/// across restarts. Adding an event id that is already pending is a no-op, so an event that is
/// re-detected after a crash is not queued twice. Beside an event, `<file>.progress` holds its
/// attempts so far and when the next is due. Not thread-safe per webhook: one writer each.
class Outbox {
 public:
  explicit Outbox(std::string dir) : dir_(std::move(dir)) {}

  /// `sequence` orders events (e.g. detection time in ms); ties keep their add order.
  Result<PendingEvent> Add(const std::string& webhook, std::int64_t sequence,
                           const std::string& event_id, const std::string& payload);
  /// Every pending event of a webhook, oldest first, with its progress.
  Result<std::vector<PendingEvent>> Load(const std::string& webhook) const;
  /// Records `event`'s attempts and next attempt time (written whole: temp file, rename).
  Result<bool> SaveProgress(const std::string& webhook, const PendingEvent& event) const;
  /// Forgets a delivered (or dropped) event, and its progress.
  void Remove(const std::string& webhook, const std::string& file) const;

 private:
  std::string dir_;
  std::uint64_t counter_ = 0;
};

}  // namespace mtasts::agent::webhooks
