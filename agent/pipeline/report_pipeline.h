#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "agent/result_store.h"
#include "agent/webhooks/posture.h"
#include "collectors/check/domain_checker.h"
#include "collectors/report/report.h"
#include "config/config.h"

namespace mtasts::agent {

/// What happens after a scheduled check (already judged, the `history` check included, in
/// collectors/check/registry.cc), in order: the posture and its damped changes (README "Webhooks":
/// a change counts after `confirmations` checks in a row), the events of a confirmed change, then
/// the store. Events are queued before the store commits the posture, so a crash in between
/// re-detects the change (same event id) instead of losing it. Thread-safe: checks of different
/// domains finish concurrently.
class ReportPipeline {
 public:
  struct Parts {
    ResultStore& store;
    std::function<std::int64_t()> now;  // Unix milliseconds
    /// A confirmed posture change of a domain: its events go to the webhooks.
    std::function<void(const std::string& domain, const webhooks::Observation&)> emit;
    /// Check `domain` again at `at_ms` (a pending change, a history issue running out).
    std::function<void(const std::string& domain, std::int64_t at_ms)> recheck_at;
    /// The store changed (the state file is due).
    std::function<void()> changed;
  };
  explicit ReportPipeline(Parts parts);

  /// The damping settings (schedule.confirmations, schedule.min_interval); on every reload.
  void SetSchedule(const config::ScheduleSettings& schedule);

  /// A scheduled check of `domain` finished; its next one is planned at `next_check_ms`. The
  /// outcome's memory is stored as the domain's. A domain no longer in the store (removed by a
  /// reload meanwhile) is ignored.
  void OnReport(const std::string& domain, const CheckOutcome& outcome, std::int64_t next_check_ms);

 private:
  Parts parts_;
  std::mutex mutex_;
  config::ScheduleSettings schedule_;  // guarded by mutex_
};

}  // namespace mtasts::agent
