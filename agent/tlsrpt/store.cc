#include "agent/tlsrpt/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <utility>

namespace mtasts::agent::tlsrpt {
namespace {

namespace report = mtasts::tlsrpt;

// Schema migrations, in order: kMigrations[v] takes a store from user_version v to v + 1.
// A new schema version appends a step here; a step never changes once released.
constexpr std::array<const char*, Store::kSchemaVersion> kMigrations = {
    // Version 1. Times are Unix seconds (UTC). Labels (policy_type, result_type) are the bounded
    // names of RFC 8460 §4.3/§4.4 or "other"; the *_raw columns keep what the reporter wrote.
    // policy_string and mx_host hold their entries one per line (control characters, newlines
    // included, were replaced before storing, so the split is exact). end_time is copied into
    // policies so the per-domain queries run on one index.
    R"sql(
CREATE TABLE reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: "stored after id N" stays exact
  organization TEXT NOT NULL,
  report_id TEXT NOT NULL,
  contact_info TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  notes TEXT NOT NULL,
  raw_gzip BLOB NOT NULL,
  UNIQUE (organization, report_id)
) STRICT;
CREATE INDEX reports_end_time ON reports (end_time);
CREATE TABLE policies (
  id INTEGER PRIMARY KEY,
  report INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  domain TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  policy_type TEXT NOT NULL,
  policy_type_raw TEXT NOT NULL,
  policy_string TEXT NOT NULL,
  mx_host TEXT NOT NULL,
  success INTEGER NOT NULL,
  failure INTEGER NOT NULL,
  detail_failure INTEGER NOT NULL
) STRICT;
CREATE INDEX policies_domain_end ON policies (domain, end_time);
CREATE INDEX policies_report ON policies (report);
CREATE TABLE failures (
  id INTEGER PRIMARY KEY,
  policy INTEGER NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
  result_type TEXT NOT NULL,
  result_type_raw TEXT NOT NULL,
  sending_mta_ip TEXT NOT NULL,
  receiving_mx_hostname TEXT NOT NULL,
  receiving_mx_helo TEXT NOT NULL,
  receiving_ip TEXT NOT NULL,
  failed_sessions INTEGER NOT NULL,
  additional_information TEXT NOT NULL,
  failure_reason_code TEXT NOT NULL
) STRICT;
CREATE INDEX failures_policy ON failures (policy);
)sql",
};

// Reports deleted per retention transaction.
constexpr int kDeleteBatch = 500;

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> lines;
  if (text.empty()) return lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('\n', start);
    lines.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return lines;
    start = end + 1;
  }
}

// A prepared statement, finalised on every path out.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : rc_(sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr)) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool Ok() const { return rc_ == SQLITE_OK; }
  // Ready to run again with new bindings.
  Statement& Reset() {
    if (Ok()) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
    return *this;
  }
  Statement& Bind(int index, std::int64_t value) {
    if (Ok()) rc_ = sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& Bind(int index, std::string_view text) {
    if (Ok()) {
      rc_ = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8);
    }
    return *this;
  }
  Statement& BindBlob(int index, std::string_view bytes) {
    if (Ok()) {
      // A zero-length blob still binds as a blob (not NULL) with a non-null pointer.
      static constexpr char kEmpty = 0;
      rc_ = sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(),
                                SQLITE_TRANSIENT);
    }
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() {
    if (!Ok()) return rc_;
    return sqlite3_step(stmt_);
  }
  std::int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string Text(int column) const {
    const auto* text = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
  }
  std::string Blob(int column) const {
    const void* blob = sqlite3_column_blob(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    return blob == nullptr
               ? std::string()
               : std::string(static_cast<const char*>(blob), static_cast<std::size_t>(size));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Error DbError(sqlite3* db, const std::string& path, std::string_view what) {
  return Error{"tlsrpt store " + path + ": " + std::string(what) + ": " + sqlite3_errmsg(db)};
}

bool Exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

// Rolls back unless committed: every early return leaves no transaction open.
class Transaction {
 public:
  Transaction(sqlite3* db, const char* begin) : db_(db), open_(Exec(db, begin)) {}
  ~Transaction() {
    if (open_) Exec(db_, "ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  bool IsOpen() const { return open_; }
  bool Commit() {
    if (!Exec(db_, "COMMIT")) return false;
    open_ = false;
    return true;
  }

 private:
  sqlite3* db_;
  bool open_;
};

// Runs `stmt` to the end, calling `row` for each row; false on an error.
template <class RowFn>
bool ForEachRow(Statement& stmt, RowFn&& row) {
  for (;;) {
    const int rc = stmt.Step();
    if (rc == SQLITE_DONE) return true;
    if (rc != SQLITE_ROW) return false;
    row(stmt);
  }
}

}  // namespace

Store::Store(sqlite3* db, std::string path, StoreOptions options)
    : db_(db), path_(std::move(path)), options_(options) {}

Store::~Store() {
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, StoreOptions options) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  std::unique_ptr<Store> store(new Store(raw, path, options));  // closes `raw` on every path
  if (rc != SQLITE_OK) return DbError(raw, path, "open");
  sqlite3* db = store->db_;
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  {
    // WAL: readers (the daemon's queries) never block the writer (`tlsrpt ingest`) and the
    // other way round; the mode is a property of the file, set once by whoever opens it first.
    Statement wal(db, "PRAGMA journal_mode=WAL");
    if (wal.Step() != SQLITE_ROW || wal.Text(0) != "wal") {
      return DbError(db, path, "cannot switch to WAL");
    }
  }
  // synchronous=FULL: every commit fsyncs the WAL before it returns, so a report answered 201
  // (or exit status 0, after which the mail system deletes its copy) survives not only the
  // process being killed (which NORMAL would also survive: committed pages are in the WAL in
  // the OS's cache) but also a power loss or kernel crash right after the answer. The cost, one
  // fsync per commit, is shared by the reports of a batch (InsertBatch).
  // foreign_keys: deleting a report deletes its policies and failure details.
  // trusted_schema=OFF: nothing in the file may run SQL functions with side effects.
  if (!Exec(db,
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF; "
            "PRAGMA journal_size_limit=67108864")) {
    return DbError(db, path, "pragmas");
  }
  {
    Transaction migrate(db, "BEGIN IMMEDIATE");
    if (!migrate.IsOpen()) return DbError(db, path, "begin");
    Statement version(db, "PRAGMA user_version");
    if (version.Step() != SQLITE_ROW) return DbError(db, path, "read the schema version");
    const std::int64_t found = version.Int(0);
    if (found > kSchemaVersion || found < 0) {
      return Error{"tlsrpt store " + path + ": schema version " + std::to_string(found) +
                   " is newer than this program's (" + std::to_string(kSchemaVersion) + ")"};
    }
    for (std::int64_t v = found; v < kSchemaVersion; ++v) {
      if (!Exec(db, kMigrations.at(static_cast<std::size_t>(v)))) {
        return DbError(db, path, "migrate to schema " + std::to_string(v + 1));
      }
    }
    if (found != kSchemaVersion) {
      const std::string set = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
      if (!Exec(db, set.c_str()) || !migrate.Commit()) {
        return DbError(db, path, "record the schema version");
      }
    }
  }
  return store;
}

Result<InsertResult> Store::InsertLocked(const ReportToStore& in) {
  const report::Report& r = *in.report;
  Statement insert(
      db_,
      "INSERT INTO reports (organization, report_id, contact_info, start_time, "
      "end_time, received_at, notes, raw_gzip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (organization, report_id) DO NOTHING");
  insert.Bind(1, r.organization_name)
      .Bind(2, r.report_id)
      .Bind(3, r.contact_info)
      .Bind(4, r.start_time)
      .Bind(5, r.end_time)
      .Bind(6, in.received_at)
      .Bind(7, Join(r.notes))
      .BindBlob(8, in.raw_gzip);
  if (insert.Step() != SQLITE_DONE) return DbError(db_, path_, "insert report");
  if (sqlite3_changes(db_) == 0) return InsertResult::kAlreadyStored;
  const std::int64_t report_row = sqlite3_last_insert_rowid(db_);

  Statement policy(db_,
                   "INSERT INTO policies (report, position, domain, start_time, end_time, "
                   "policy_type, policy_type_raw, policy_string, mx_host, success, failure, "
                   "detail_failure) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  Statement failure(db_,
                    "INSERT INTO failures (policy, result_type, result_type_raw, "
                    "sending_mta_ip, receiving_mx_hostname, receiving_mx_helo, receiving_ip, "
                    "failed_sessions, additional_information, failure_reason_code) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  for (std::size_t i = 0; i < r.policies.size(); ++i) {
    const report::PolicyResult& p = r.policies[i];
    policy.Reset()
        .Bind(1, report_row)
        .Bind(2, static_cast<std::int64_t>(i))
        .Bind(3, p.policy_domain)
        .Bind(4, r.start_time)
        .Bind(5, r.end_time)
        .Bind(6, report::PolicyTypeName(p.policy_type))
        .Bind(7, p.policy_type_raw)
        .Bind(8, Join(p.policy_string))
        .Bind(9, Join(p.mx_host))
        .Bind(10, p.successful_sessions)
        .Bind(11, p.failed_sessions)
        .Bind(12, p.detail_failed_sessions);
    if (policy.Step() != SQLITE_DONE) return DbError(db_, path_, "insert policy");
    const std::int64_t policy_row = sqlite3_last_insert_rowid(db_);
    for (const report::FailureDetail& d : p.failure_details) {
      failure.Reset()
          .Bind(1, policy_row)
          .Bind(2, report::ResultTypeName(d.result_type))
          .Bind(3, d.result_type_raw)
          .Bind(4, d.sending_mta_ip)
          .Bind(5, d.receiving_mx_hostname)
          .Bind(6, d.receiving_mx_helo)
          .Bind(7, d.receiving_ip)
          .Bind(8, d.failed_session_count)
          .Bind(9, d.additional_information)
          .Bind(10, d.failure_reason_code);
      if (failure.Step() != SQLITE_DONE) return DbError(db_, path_, "insert failure detail");
    }
  }
  return InsertResult::kStored;
}

Result<InsertResult> Store::Insert(const ReportToStore& report) {
  auto batch = InsertBatch({report});
  if (!batch) return batch.error();
  return batch.value().front();
}

Result<std::vector<InsertResult>> Store::InsertBatch(const std::vector<ReportToStore>& reports) {
  std::lock_guard lock(mu_);
  // IMMEDIATE: take the write lock now (waiting up to the busy timeout for another process),
  // rather than failing half-way when a read turns into a write.
  Transaction tx(db_, "BEGIN IMMEDIATE");
  if (!tx.IsOpen()) return DbError(db_, path_, "begin");
  std::vector<InsertResult> results;
  results.reserve(reports.size());
  for (const auto& r : reports) {
    auto one = InsertLocked(r);
    if (!one) return one.error();
    results.push_back(one.value());
  }
  if (!tx.Commit()) return DbError(db_, path_, "commit");
  return results;
}

Result<std::int64_t> Store::DeleteEndedBefore(std::int64_t cutoff) {
  std::lock_guard lock(mu_);
  std::int64_t deleted = 0;
  for (;;) {
    Transaction tx(db_, "BEGIN IMMEDIATE");
    if (!tx.IsOpen()) return DbError(db_, path_, "begin");
    Statement del(db_,
                  "DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE end_time < ?1 "
                  "LIMIT ?2)");
    del.Bind(1, cutoff).Bind(2, std::int64_t{kDeleteBatch});
    if (del.Step() != SQLITE_DONE) return DbError(db_, path_, "delete old reports");
    const int changed = sqlite3_changes(db_);
    if (!tx.Commit()) return DbError(db_, path_, "commit");
    deleted += changed;
    if (changed < kDeleteBatch) return deleted;
  }
}

Result<DomainAggregate> Store::Aggregate(std::string_view domain, std::int64_t since) {
  std::lock_guard lock(mu_);
  Transaction snapshot(db_, "BEGIN");  // one consistent view for all the queries below
  if (!snapshot.IsOpen()) return DbError(db_, path_, "begin");
  DomainAggregate out;
  const auto max_rows = static_cast<std::int64_t>(options_.max_rows);
  {
    Statement s(db_,
                "SELECT COUNT(DISTINCT report), COALESCE(SUM(success), 0), "
                "COALESCE(SUM(failure), 0) FROM policies WHERE domain = ?1 AND end_time >= ?2");
    s.Bind(1, domain).Bind(2, since);
    if (s.Step() != SQLITE_ROW) return DbError(db_, path_, "aggregate");
    out.reports = s.Int(0);
    out.success = s.Int(1);
    out.failure = s.Int(2);
  }
  {
    Statement s(db_,
                "SELECT f.result_type, SUM(f.failed_sessions) FROM policies p JOIN failures f "
                "ON f.policy = p.id WHERE p.domain = ?1 AND p.end_time >= ?2 "
                "GROUP BY f.result_type");
    s.Bind(1, domain).Bind(2, since);
    if (!ForEachRow(s, [&](Statement& row) { out.by_result_type[row.Text(0)] = row.Int(1); })) {
      return DbError(db_, path_, "aggregate by result type");
    }
  }
  {
    Statement s(db_,
                "SELECT f.receiving_mx_hostname, SUM(f.failed_sessions) AS n FROM policies p "
                "JOIN failures f ON f.policy = p.id WHERE p.domain = ?1 AND p.end_time >= ?2 "
                "GROUP BY f.receiving_mx_hostname ORDER BY n DESC, 1 LIMIT ?3");
    s.Bind(1, domain).Bind(2, since).Bind(3, max_rows);
    if (!ForEachRow(s, [&](Statement& row) {
          out.by_mx.push_back({row.Text(0), row.Int(1), {}});
        })) {
      return DbError(db_, path_, "aggregate by MX");
    }
  }
  {
    // The result types of the hosts listed (at most max_rows of them, each with at most twelve
    // labels): one pass, the rows of hosts not listed are dropped as they come.
    std::map<std::string, std::size_t, std::less<>> listed;
    for (std::size_t i = 0; i < out.by_mx.size(); ++i) {
      listed.emplace(out.by_mx[i].receiving_mx_hostname, i);
    }
    Statement s(db_,
                "SELECT f.receiving_mx_hostname, f.result_type, SUM(f.failed_sessions) FROM "
                "policies p JOIN failures f ON f.policy = p.id WHERE p.domain = ?1 AND "
                "p.end_time >= ?2 GROUP BY 1, 2");
    s.Bind(1, domain).Bind(2, since);
    if (!ForEachRow(s, [&](Statement& row) {
          auto it = listed.find(row.Text(0));
          if (it != listed.end()) out.by_mx[it->second].result_types[row.Text(1)] = row.Int(2);
        })) {
      return DbError(db_, path_, "aggregate by MX and result type");
    }
  }
  {
    Statement s(db_,
                "SELECT r.organization, COUNT(DISTINCT r.id) AS n, SUM(p.success), "
                "SUM(p.failure) FROM policies p JOIN reports r ON r.id = p.report "
                "WHERE p.domain = ?1 AND p.end_time >= ?2 GROUP BY r.organization "
                "ORDER BY n DESC, 1 LIMIT ?3");
    s.Bind(1, domain).Bind(2, since).Bind(3, max_rows);
    if (!ForEachRow(s, [&](Statement& row) {
          out.reporters.push_back({row.Text(0), row.Int(1), row.Int(2), row.Int(3)});
        })) {
      return DbError(db_, path_, "aggregate by reporter");
    }
  }
  {
    // A report's day is the UTC date of its last second: reporters end a day's report at
    // 23:59:59Z or at the next 00:00:00Z, and both mean the same day. Only days with reports
    // whose end is at or after `since` (and at most a day ahead of receipt) appear, so the list
    // is bounded by the range asked for and the retention.
    Statement s(db_,
                "SELECT date(MAX(start_time, end_time - 1), 'unixepoch') AS day, SUM(success), "
                "SUM(failure) FROM policies WHERE domain = ?1 AND end_time >= ?2 "
                "GROUP BY day ORDER BY day DESC LIMIT ?3");
    s.Bind(1, domain).Bind(2, since).Bind(3, std::int64_t{1000});
    if (!ForEachRow(s, [&](Statement& row) {
          out.days.push_back({row.Text(0), row.Int(1), row.Int(2)});
        })) {
      return DbError(db_, path_, "aggregate by day");
    }
    std::reverse(out.days.begin(), out.days.end());
  }
  return out;
}

Result<TotalsDelta> Store::TotalsAfter(std::int64_t after, const DomainSet& watched) {
  std::lock_guard lock(mu_);
  Transaction snapshot(db_, "BEGIN");
  if (!snapshot.IsOpen()) return DbError(db_, path_, "begin");
  TotalsDelta out;
  {
    Statement s(db_, "SELECT COALESCE(MAX(id), 0) FROM reports");
    if (s.Step() != SQLITE_ROW) return DbError(db_, path_, "last report id");
    out.through = s.Int(0);
  }
  out.through = std::max(out.through, after);
  {
    Statement s(db_,
                "SELECT domain, COUNT(DISTINCT report), MAX(end_time) FROM policies "
                "WHERE report > ?1 AND report <= ?2 GROUP BY domain");
    s.Bind(1, after).Bind(2, out.through);
    if (!ForEachRow(s, [&](Statement& row) {
          std::string domain = row.Text(0);
          if (!watched.contains(domain)) return;
          DomainTotals& t = out.domains[domain];
          t.reports = row.Int(1);
          t.last_end_time = row.Int(2);
        })) {
      return DbError(db_, path_, "totals");
    }
  }
  {
    Statement s(db_,
                "SELECT domain, policy_type, SUM(success), SUM(failure) FROM policies "
                "WHERE report > ?1 AND report <= ?2 GROUP BY domain, policy_type");
    s.Bind(1, after).Bind(2, out.through);
    if (!ForEachRow(s, [&](Statement& row) {
          const std::string domain = row.Text(0);
          if (!watched.contains(domain)) return;
          DomainTotals& t = out.domains[domain];
          const std::string type = row.Text(1);
          t.sessions[{type, "success"}] += row.Int(2);
          t.sessions[{type, "failure"}] += row.Int(3);
        })) {
      return DbError(db_, path_, "session totals");
    }
  }
  {
    Statement s(db_,
                "SELECT p.domain, f.result_type, SUM(f.failed_sessions) FROM policies p "
                "JOIN failures f ON f.policy = p.id WHERE p.report > ?1 AND p.report <= ?2 "
                "GROUP BY p.domain, f.result_type");
    s.Bind(1, after).Bind(2, out.through);
    if (!ForEachRow(s, [&](Statement& row) {
          const std::string domain = row.Text(0);
          if (!watched.contains(domain)) return;
          out.domains[domain].failed_by_result_type[row.Text(1)] += row.Int(2);
        })) {
      return DbError(db_, path_, "failure totals");
    }
  }
  return out;
}

Result<std::int64_t> Store::LastReportId() {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT COALESCE(MAX(id), 0) FROM reports");
  if (s.Step() != SQLITE_ROW) return DbError(db_, path_, "last report id");
  return s.Int(0);
}

Result<WindowSummary> Store::Window(std::string_view domain, std::int64_t since) {
  std::lock_guard lock(mu_);
  Transaction snapshot(db_, "BEGIN");
  if (!snapshot.IsOpen()) return DbError(db_, path_, "begin");
  WindowSummary out;
  const auto max_rows = static_cast<std::int64_t>(options_.max_rows);
  {
    Statement s(db_,
                "SELECT COUNT(DISTINCT report), COALESCE(SUM(success), 0), "
                "COALESCE(SUM(failure), 0), COALESCE(SUM(detail_failure), 0) FROM policies "
                "WHERE domain = ?1 AND end_time >= ?2");
    s.Bind(1, domain).Bind(2, since);
    if (s.Step() != SQLITE_ROW) return DbError(db_, path_, "window");
    out.reports = s.Int(0);
    out.success = s.Int(1);
    out.failure = s.Int(2);
    out.detail_failed = s.Int(3);
  }
  {
    Statement s(db_,
                "SELECT r.organization, f.result_type, f.receiving_mx_hostname, "
                "SUM(f.failed_sessions) AS n FROM policies p JOIN failures f ON f.policy = p.id "
                "JOIN reports r ON r.id = p.report WHERE p.domain = ?1 AND p.end_time >= ?2 "
                "GROUP BY 1, 2, 3 HAVING n > 0 ORDER BY n DESC, 1, 2, 3 LIMIT ?3");
    s.Bind(1, domain).Bind(2, since).Bind(3, max_rows);
    if (!ForEachRow(s, [&](Statement& row) {
          out.failures.push_back({row.Text(0), row.Text(1), row.Text(2), row.Int(3)});
        })) {
      return DbError(db_, path_, "window failures");
    }
  }
  {
    Statement s(db_,
                "SELECT policy_string, COUNT(DISTINCT report), MIN(end_time), MAX(end_time) AS "
                "last FROM policies WHERE domain = ?1 AND end_time >= ?2 AND policy_type = 'sts' "
                "GROUP BY policy_string ORDER BY last DESC LIMIT ?3");
    s.Bind(1, domain).Bind(2, since).Bind(3, max_rows);
    if (!ForEachRow(s, [&](Statement& row) {
          out.sts_policies.push_back({Split(row.Text(0)), row.Int(1), row.Int(2), row.Int(3)});
        })) {
      return DbError(db_, path_, "window policies");
    }
  }
  return out;
}

Result<std::optional<std::string>> Store::RawReport(std::string_view organization,
                                                    std::string_view report_id) {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT raw_gzip FROM reports WHERE organization = ?1 AND report_id = ?2");
  s.Bind(1, organization).Bind(2, report_id);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return DbError(db_, path_, "raw report");
  return std::optional<std::string>(s.Blob(0));
}

Result<std::int64_t> Store::ReportCount() {
  std::lock_guard lock(mu_);
  Statement s(db_, "SELECT COUNT(*) FROM reports");
  if (s.Step() != SQLITE_ROW) return DbError(db_, path_, "count");
  return s.Int(0);
}

}  // namespace mtasts::agent::tlsrpt
