#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collectors/common/report.h"

namespace mtasts::agent {

/// What the daemon knows of one watched domain.
struct DomainState {
  std::shared_ptr<const DomainReport> report;  // null until checked (or restored from state)
  std::int64_t next_check_ms = 0;              // Unix ms of the next full check; 0: not planned
  std::uint64_t posture_changes = 0;           // posture changes seen (never reset by restarts)
};

/// Delivery counters of one configured webhook.
struct WebhookStats {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t queue_length = 0;
};

/// An immutable view of everything the daemon publishes. Readers (/metrics, the API) hold a
/// shared_ptr and never a lock; writers build a new snapshot and swap it in.
struct Snapshot {
  std::map<std::string, DomainState> domains;    // exactly the watched domains
  std::map<std::string, WebhookStats> webhooks;  // exactly the configured webhooks
  bool config_last_reload_successful = true;
};

/// Holds the current snapshot. Update() is copy-on-write under a mutex, so writers serialise
/// with each other and readers never wait for them. Thread-safe.
class ResultStore {
 public:
  ResultStore() : current_(std::make_shared<const Snapshot>()) {}

  std::shared_ptr<const Snapshot> Get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }

  /// Applies `change` to a copy of the current snapshot and publishes the copy.
  void Update(const std::function<void(Snapshot&)>& change) {
    std::lock_guard write_lock(write_mutex_);
    auto next = std::make_shared<Snapshot>(*Get());
    change(*next);
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;  // guards current_ (the pointer only)
  std::mutex write_mutex_;    // one writer at a time
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace mtasts::agent
