#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "collectors/tlsrpt/report/report.h"
#include "collectors/tlsrpt/tlsrpt_window.h"

struct sqlite3;

namespace mtasts::agent::tlsrpt {

/// Domains a query is about; lookups by string_view. A sorted vector, not a tree: the daemon
/// holds one with every watched domain (README "Memory").
class DomainSet {
 public:
  DomainSet() = default;
  DomainSet(std::initializer_list<std::string> names) : DomainSet(names.begin(), names.end()) {}
  template <typename It>
  DomainSet(It first, It last) : names_(first, last) {
    std::sort(names_.begin(), names_.end());
    names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
    names_.shrink_to_fit();
  }
  // The names std::set has, so the callers read as before.
  // NOLINTNEXTLINE(readability-identifier-naming)
  void insert(std::string name) {
    auto at = std::lower_bound(names_.begin(), names_.end(), name);
    if (at == names_.end() || *at != name) names_.insert(at, std::move(name));
  }
  // NOLINTNEXTLINE(readability-identifier-naming)
  bool contains(std::string_view name) const {
    return std::binary_search(names_.begin(), names_.end(), name, std::less<>());
  }
  friend bool operator==(const DomainSet&, const DomainSet&) = default;

 private:
  std::vector<std::string> names_;  // sorted, no duplicates
};

enum class InsertResult { kStored, kAlreadyStored };

/// One report to store: the parsed report, its JSON gzip-compressed (kept for inspection), and
/// when it arrived (Unix seconds).
struct ReportToStore {
  const mtasts::tlsrpt::Report* report = nullptr;
  std::string_view raw_gzip;
  std::int64_t received_at = 0;
};

/// What stores a report; the store itself, or something that batches for it.
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  /// Durable when it returns kStored or kAlreadyStored; an error means nothing was stored and
  /// the sender should try again later.
  virtual Result<InsertResult> Insert(const ReportToStore& report) = 0;
};

/// `GET /v1/tlsrpt` for one domain since a time: what the stored reports say about it.
struct DomainAggregate {
  struct Mx {
    std::string receiving_mx_hostname;  // "" when reporters left it out
    std::int64_t failure = 0;
    std::map<std::string, std::int64_t> result_types;  // label -> failed sessions at this host
  };
  struct Reporter {
    std::string organization;
    std::int64_t reports = 0;
    std::int64_t success = 0;
    std::int64_t failure = 0;
  };
  struct Day {
    std::string date;  // YYYY-MM-DD (UTC) of the report's last second
    std::int64_t success = 0;
    std::int64_t failure = 0;
  };
  std::int64_t reports = 0;
  std::int64_t success = 0;  // summary counts
  std::int64_t failure = 0;
  std::map<std::string, std::int64_t> by_result_type;  // label -> failed sessions (details)
  std::vector<Mx> by_mx;                               // most failures first
  std::vector<Reporter> reporters;                     // most reports first
  std::vector<Day> days;                               // oldest first
};

/// Counter increments for one domain, for the metrics.
struct DomainTotals {
  std::int64_t reports = 0;
  /// (policy_type label, "success" | "failure") -> sessions (summary counts).
  std::map<std::pair<std::string, std::string>, std::int64_t> sessions;
  std::map<std::string, std::int64_t> failed_by_result_type;  // label -> sessions (details)
  std::int64_t last_end_time = 0;  // newest date-range end among these reports (Unix s)
};

/// The totals of every report with an id in (after, through], for the watched domains.
struct TotalsDelta {
  std::int64_t through = 0;  // the highest report id included: the next call's `after`
  std::map<std::string, DomainTotals> domains;
};

/// What a watched domain's issue codes need about its recent reports (the `tlsrpt_reports`
/// check's input; Receiver sets window_seconds).
using WindowSummary = mtasts::tlsrpt::TlsRptWindow;

struct StoreOptions {
  std::chrono::milliseconds busy_timeout{10'000};  // waits for another process's write
  std::size_t max_rows = 100;                      // entries per list in aggregates and summaries
};

/// The TLS-RPT report store: one SQLite file (`state_dir/tlsrpt.sqlite`) in WAL mode, shared by
/// the daemon and `tlsrpt ingest` processes (each opens its own Store; SQLite's locks and the
/// busy timeout order their writes). Reports are unique by (organization-name, report-id). Every
/// policy of a report is stored; the queries only ever look at the domains they are asked about,
/// so a policy for a domain nobody watches is kept with its report but counts nowhere until
/// the domain is watched. Memory does not grow with the number of reports stored: aggregates
/// are computed by SQLite with indexes, and list answers are capped at `max_rows`.
/// Thread-safe (one connection, serialised by a mutex). Every failure is an Error value.
class Store : public ReportSink {
 public:
  static constexpr int kSchemaVersion = 1;

  /// Opens (creating it and its schema when new, migrating an older schema) the store at
  /// `path`. Refuses a file written by a newer schema.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, StoreOptions options = {});
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Stores one report in one transaction, durable (on disk, fsynced) when it returns.
  Result<InsertResult> Insert(const ReportToStore& report) override;
  /// Stores several in one transaction (one fsync for all); a duplicate of an earlier one in the
  /// batch is kAlreadyStored. All or nothing.
  Result<std::vector<InsertResult>> InsertBatch(const std::vector<ReportToStore>& reports);

  /// Deletes the reports whose date-range ended before `cutoff` (Unix s), in small
  /// transactions so other writers are not held up; returns how many.
  Result<std::int64_t> DeleteEndedBefore(std::int64_t cutoff);

  /// The API aggregate of `domain` over reports whose date-range ends at or after `since`.
  Result<DomainAggregate> Aggregate(std::string_view domain, std::int64_t since);
  /// Totals per watched domain of the reports stored with an id above `after` (0: all), read in
  /// one snapshot; `through` is where the next call starts.
  Result<TotalsDelta> TotalsAfter(std::int64_t after, const DomainSet& watched);
  /// The highest report id stored (0 when none): a cheap "has anything been stored since".
  Result<std::int64_t> LastReportId();
  /// The window summary of `domain` over reports whose date-range ends at or after `since`.
  Result<WindowSummary> Window(std::string_view domain, std::int64_t since);
  /// The stored JSON (gzip) of a report, if stored.
  Result<std::optional<std::string>> RawReport(std::string_view organization,
                                               std::string_view report_id);
  /// Reports stored.
  Result<std::int64_t> ReportCount();

  const std::string& path() const { return path_; }

 private:
  Store(sqlite3* db, std::string path, StoreOptions options);
  Result<InsertResult> InsertLocked(const ReportToStore& report);

  sqlite3* db_;
  std::string path_;
  StoreOptions options_;
  std::mutex mu_;
};

}  // namespace mtasts::agent::tlsrpt
