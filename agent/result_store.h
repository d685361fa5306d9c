#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/domain_map.h"
#include "agent/packed.h"
#include "agent/tlsrpt/store.h"
#include "agent/webhooks/posture.h"
#include "collectors/history/history.h"
#include "collectors/report/report.h"

namespace mtasts::agent {

/// What the daemon knows of one watched domain, packed (README "Memory"): unpack to read.
struct DomainState {
  PackedReport report;                     // empty until checked (or restored from state)
  std::int64_t next_check_ms = 0;          // Unix ms of the next full check; 0: not planned
  std::uint64_t posture_changes = 0;       // posture changes seen (never reset by restarts)
  Packed<webhooks::TrackerState> tracker;  // the damped posture (README "Webhooks")
  Packed<history::PolicyHistory> history;  // the memory the `history` check judges against
};

/// Every watched domain's state by name; copies share the unchanged entries.
using DomainMap = SharedEntryMap<DomainState>;

/// Delivery counters of one configured webhook.
struct WebhookStats {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t queue_length = 0;
};

/// The TLS-RPT counters of /metrics (README "Metrics"): per watched domain, the totals of the
/// reports stored; and the reports refused since the process started, by reason.
struct TlsRptCounters {
  std::map<std::string, tlsrpt::DomainTotals> domains;
  std::map<std::string, std::uint64_t> rejected;
};

/// An immutable view of everything the daemon publishes. Readers (/metrics, the API) hold a
/// shared_ptr and never a lock; writers build a new snapshot and swap it in. A new snapshot
/// shares every domain's state that did not change with the one before (DomainMap).
struct Snapshot {
  // Which state this is, without holding it: `changes` counts every change (Update and
  // UpdateDomain), `updates` only the whole-state ones (reloads, counters), not check results.
  std::uint64_t changes = 0;
  std::uint64_t updates = 0;
  DomainMap domains;                             // exactly the watched domains
  std::map<std::string, WebhookStats> webhooks;  // exactly the configured webhooks
  bool config_last_reload_successful = true;
  TlsRptCounters tlsrpt;
};

/// Holds what the daemon knows. A check's result touches one domain's entry (O(log N) under a
/// short lock); a reader gets an immutable Snapshot, built at most once per change and shared
/// by every reader until the next one, so /metrics and the API never hold a lock while they
/// work. Building one copies a pointer per domain (the states are shared), and a change copies
/// only the entry it changes when a snapshot still holds it. Thread-safe.
class ResultStore {
 public:
  ResultStore() : current_(std::make_shared<const Snapshot>()) {}

  std::shared_ptr<const Snapshot> Get() const {
    std::lock_guard lock(mutex_);
    if (!current_) current_ = std::make_shared<const Snapshot>(state_);
    return current_;
  }

  /// One domain's state (a copy), without building a whole snapshot: what a check's result
  /// needs, O(log N) however many domains are watched.
  std::optional<DomainState> GetDomain(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = state_.domains.find(domain);
    if (it == state_.domains.end()) return std::nullopt;
    return it->state;
  }

  /// One domain's latest report (empty when unwatched or not checked yet), without a snapshot.
  PackedReport GetReport(std::string_view domain) const {
    std::lock_guard lock(mutex_);
    auto it = state_.domains.find(domain);
    return it == state_.domains.end() ? PackedReport() : it->state.report;
  }

  /// Applies `change` to the whole state (reloads, restores: rare).
  void Update(const std::function<void(Snapshot&)>& change) {
    std::lock_guard lock(mutex_);
    change(state_);
    ++state_.changes;
    ++state_.updates;
    current_.reset();
  }

  /// Applies `change` to one watched domain; false (and nothing done) when it is not watched.
  bool UpdateDomain(const std::string& domain, const std::function<void(DomainState&)>& change) {
    std::lock_guard lock(mutex_);
    DomainState* state = state_.domains.Mutable(domain);
    if (state == nullptr) return false;
    change(*state);
    ++state_.changes;
    current_.reset();
    return true;
  }

 private:
  mutable std::mutex mutex_;
  Snapshot state_;                                   // guarded by mutex_
  mutable std::shared_ptr<const Snapshot> current_;  // cache of state_; null when stale
};

}  // namespace mtasts::agent
