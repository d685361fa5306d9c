#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "collectors/check/domain_checker.h"
#include "collectors/report/report.h"
#include "config/config.h"

namespace mtasts::agent {

/// When the next full check of a domain is due, `finished_ms` after a check with `report`:
/// clamp(policy max_age, min_interval, max_interval) with a valid policy, min_interval without;
/// after `failures` consecutive failed checks (lookups unanswered, policy unreachable) a capped
/// exponential backoff from min_interval. `jitter` in [0,1) takes up to 10% off the delay
/// (never below min_interval) so domains checked together drift apart. Pure.
std::int64_t NextFullCheckMs(const DomainReport& report, int failures,
                             const config::ScheduleSettings& schedule, std::int64_t finished_ms,
                             double jitter);

/// A check that could not observe everything: worth retrying with backoff.
bool IsFailedCheck(const DomainReport& report);

/// Runs checks on the max_age schedule with a bounded pool of worker threads (never a thread
/// per domain). Between full checks it re-reads the `_mta-sts` id every dns_interval and runs a
/// full check at once when the id changed (RFC 8461 §5.1: how senders notice a new policy).
/// The clock is injected; Tick() runs due work on the calling thread, so tests drive the
/// schedule without sleeping. A check that throws counts as a failed check (backoff) and as an
/// internal error (mta_sts_exporter_internal_errors_total{thread="check"}). Thread-safe.
class Scheduler {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix milliseconds
  /// A full check: the report and the domain's memory after it (DomainChecker::Check).
  using FullCheck = std::function<CheckOutcome(const std::string& domain)>;
  /// The current valid STS id (nullopt: no valid record), or an error when DNS did not answer.
  using IdCheck = std::function<Result<std::optional<std::string>>(const std::string& domain)>;
  /// Called after every full check with the planned next check time.
  using OnReport = std::function<void(const std::string& domain, CheckOutcome outcome,
                                      std::int64_t next_check_ms)>;

  Scheduler(config::ScheduleSettings schedule, Clock clock, FullCheck full_check, IdCheck id_check,
            OnReport on_report);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// Sets the watched domains. New ones are spread over the start-up window unless `known`
  /// has a future next check for them; removed ones are forgotten (a check in flight for one
  /// finishes but its report is dropped). `known` carries restored state: next check and last id.
  struct Known {
    std::int64_t next_check_ms = 0;
    std::optional<std::string> sts_id;
  };
  void SetDomains(const std::vector<std::string>& domains,
                  const std::map<std::string, Known>& known = {});
  void SetSchedule(const config::ScheduleSettings& schedule);

  /// Brings a domain's next full check forward to `at_ms` (never later than planned), e.g. to
  /// confirm a changed posture soon. Ignored for a domain not watched or being checked.
  void RecheckAt(const std::string& domain, std::int64_t at_ms);

  /// Starts the worker threads (max_concurrent_checks of them, at most kMaxWorkers; fewer when
  /// the system gives no more). Throws std::system_error when not even one can be started.
  void Start();
  /// Stops taking new work and waits for the checks in flight to finish.
  void Stop();

  /// Runs everything due now on the calling thread (tests; no workers needed).
  void Tick();

  /// True once every domain watched at start has had its first full check.
  bool FirstRoundDone() const;
  std::optional<std::int64_t> NextCheckMs(const std::string& domain) const;

  static constexpr int kMaxWorkers = 256;

 private:
  struct Entry {
    std::int64_t next_full_ms = 0;
    std::int64_t next_dns_ms = 0;
    int failures = 0;
    std::optional<std::string> sts_id;
    bool running = false;
    bool checked = false;
    bool awaiting_first = false;  // counted in first_round_left_
    std::int64_t queued_at = 0;   // the key under which it sits in queue_
  };
  /// queue_'s order: due time, then name. It holds the name of the entries_ key (a map's keys
  /// stay put), not a copy: a pointer a domain instead of a string (README "Memory").
  struct DueFirst {
    bool operator()(const std::pair<std::int64_t, const std::string*>& a,
                    const std::pair<std::int64_t, const std::string*>& b) const {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    }
  };
  enum class Work { kNone, kFull, kDns };

  /// `key` is the entries_ key of `entry` (queue_ points at it); mutex_ held.
  void Enqueue(const std::string& key, Entry& entry);
  /// Takes the earliest due domain, if any is due at `now`; mutex_ held.
  std::optional<std::pair<std::string, Work>> TakeDue(std::int64_t now);
  void Run(const std::string& domain, Work work);
  /// Run, with whatever escapes it logged and counted (mta_sts_exporter_internal_errors_total)
  /// and the domain rescheduled: a worker thread never ends on an exception.
  void RunGuardedWork(const std::string& domain, Work work);
  void WorkerLoop();

  Clock clock_;
  FullCheck full_check_;
  IdCheck id_check_;
  OnReport on_report_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  config::ScheduleSettings schedule_;                                      // guarded by mutex_
  std::map<std::string, Entry> entries_;                                   // guarded by mutex_
  std::set<std::pair<std::int64_t, const std::string*>, DueFirst> queue_;  // guarded
  std::size_t first_round_left_ = 0;  // domains still awaiting a first check; guarded
  bool stopping_ = false;
  std::mt19937_64 random_{std::random_device{}()};  // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace mtasts::agent
