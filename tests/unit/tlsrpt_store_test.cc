// The TLS-RPT report store (agent/tlsrpt/store.h) on a temporary directory: schema and
// migration, dedupe, retention, the aggregates, two processes at once, and kill -9 durability.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/tlsrpt/group_commit.h"
#include "agent/tlsrpt/store.h"
#include "collectors/tlsrpt/report/report_parser.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::agent::tlsrpt {
namespace {

using mtasts::test::ReadTlsRptTestData;

namespace report = mtasts::tlsrpt;

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kMarch2 = 1772409600;  // 2026-03-02T00:00:00Z

report::Report Parse(const std::string& name) {
  auto parsed = report::ParseReport(ReadTlsRptTestData(name));
  EXPECT_TRUE(parsed.has_value()) << name << ": " << (parsed ? "" : parsed.error().message);
  return parsed ? parsed.value() : report::Report{};
}

// A report for `domain`: `success` and `failure` sessions, the failures as one detail.
report::Report Made(const std::string& org, const std::string& id, const std::string& domain,
                    std::int64_t end, std::int64_t success, std::int64_t failure,
                    report::ResultType type = report::ResultType::kCertificateExpired,
                    const std::string& mx = "mx1.example.com") {
  report::Report r;
  r.organization_name = org;
  r.report_id = id;
  r.start_time = end - kDay + 1;
  r.end_time = end;
  report::PolicyResult p;
  p.policy_type = report::PolicyType::kSts;
  p.policy_type_raw = "sts";
  p.policy_domain = domain;
  p.policy_string = {"version: STSv1", "mode: enforce", "mx: " + mx, "max_age: 604800"};
  p.successful_sessions = success;
  p.failed_sessions = failure;
  if (failure > 0) {
    report::FailureDetail d;
    d.result_type = type;
    d.result_type_raw = std::string(report::ResultTypeName(type));
    d.receiving_mx_hostname = mx;
    d.failed_session_count = failure;
    p.failure_details.push_back(d);
    p.detail_failed_sessions = failure;
  }
  r.policies.push_back(p);
  return r;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tlsrpt-store-XXXXXX").string();
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<Store> MustOpen(const std::string& path, StoreOptions options = {}) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.has_value()) << (store ? "" : store.error().message);
  return store ? std::move(store).value() : nullptr;
}

InsertResult MustInsert(Store& store, const report::Report& r, std::int64_t received_at = 0) {
  auto result = store.Insert(ReportToStore{&r, "gz:" + r.report_id, received_at});
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  return result ? result.value() : InsertResult::kAlreadyStored;
}

std::int64_t Pragma(const std::string& path, const char* pragma) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, pragma, -1, &stmt, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const std::int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

TEST(TlsRptStore, CreatesTheSchemaInWalAndReopens) {
  TempDir dir;
  const std::string path = dir.File("tlsrpt.sqlite");
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->ReportCount().value(), 0);
  }
  EXPECT_EQ(Pragma(path, "PRAGMA user_version"), Store::kSchemaVersion);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  auto again = MustOpen(path);  // an existing store at the current version: nothing to migrate
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->ReportCount().value(), 0);
}

TEST(TlsRptStore, RefusesANewerSchemaAndMigratesAnEmptyFile) {
  TempDir dir;
  const std::string newer = dir.File("newer.sqlite");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(newer.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=7", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto refused = Store::Open(newer);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("schema version 7 is newer"), std::string::npos)
      << refused.error().message;

  // A file that exists at version 0 (as an older build would leave an empty one) is migrated.
  const std::string empty = dir.File("empty.sqlite");
  { std::ofstream touch(empty); }
  auto store = MustOpen(empty);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Pragma(empty, "PRAGMA user_version"), Store::kSchemaVersion);
  EXPECT_EQ(MustInsert(*store, Made("Org", "1", "example.com", kMarch2, 1, 0)),
            InsertResult::kStored);

  // Not a database at all: an error value, not a crash.
  const std::string junk = dir.File("junk.sqlite");
  { std::ofstream(junk) << std::string(8192, 'j'); }
  EXPECT_FALSE(Store::Open(junk).has_value());
}

TEST(TlsRptStore, DeduplicatesOnOrganizationAndReportId) {
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  ASSERT_NE(store, nullptr);
  const report::Report google = Parse("google-sts.json");
  EXPECT_EQ(MustInsert(*store, google), InsertResult::kStored);
  EXPECT_EQ(MustInsert(*store, google), InsertResult::kAlreadyStored);
  // Same report-id from another organization is another report.
  report::Report other = google;
  other.organization_name = "Other Org";
  EXPECT_EQ(MustInsert(*store, other), InsertResult::kStored);
  EXPECT_EQ(store->ReportCount().value(), 2);
  // Nothing counts twice.
  auto agg = store->Aggregate("example.com", 0);
  ASSERT_TRUE(agg.has_value());
  EXPECT_EQ(agg->reports, 2);
  EXPECT_EQ(agg->success, 2 * 1840);
  // A batch with the same report twice: the second is "already stored".
  report::Report fresh = Made("Batch", "b1", "example.com", kMarch2, 1, 0);
  auto batch = store->InsertBatch({ReportToStore{&fresh, "x", 0}, ReportToStore{&fresh, "x", 0}});
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch.value(),
            (std::vector<InsertResult>{InsertResult::kStored, InsertResult::kAlreadyStored}));
}

TEST(TlsRptStore, KeepsTheRawReportForInspection) {
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  const report::Report r = Parse("google-sts.json");
  const std::string gz = ReadTlsRptTestData("google-sts.json.gz");
  ASSERT_TRUE(store->Insert(ReportToStore{&r, gz, 123}).has_value());
  auto raw = store->RawReport("Google Inc.", "2026-03-02T00:00:00Z_example.com");
  ASSERT_TRUE(raw.has_value());
  ASSERT_TRUE(raw->has_value());
  EXPECT_EQ(**raw, gz);
  auto none = store->RawReport("Google Inc.", "nope");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST(TlsRptStore, AggregateForTheApi) {
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  MustInsert(*store, Parse("google-sts.json"));       // 2026-03-02: 1840 ok, 12 host-mismatch mx2
  MustInsert(*store, Parse("microsoft-sts.json"));    // 2026-03-02: 311 ok
  MustInsert(*store, Parse("tolerant.json"));         // 2026-03-04: 40 ok, 10 failed (details 8)
  MustInsert(*store, Parse("multi-domain.json"));     // 2026-03-05: 20 ok, 5 expired at mx1
  MustInsert(*store, Parse("no-policy-found.json"));  // example.org
  auto agg = store->Aggregate("example.com", 0);
  ASSERT_TRUE(agg.has_value()) << agg.error().message;
  EXPECT_EQ(agg->reports, 4);
  EXPECT_EQ(agg->success, 1840 + 311 + 40 + 20);
  EXPECT_EQ(agg->failure, 12 + 10 + 5);
  EXPECT_EQ(agg->by_result_type, (std::map<std::string, std::int64_t>{
                                     {"certificate-host-mismatch", 12},
                                     {"sts-policy-fetch-error", 4},
                                     {"certificate-not-trusted", 3},
                                     {"other", 1},
                                     {"certificate-expired", 5},
                                 }));
  ASSERT_EQ(agg->by_mx.size(), 3U);
  // Most failures first, ties by name; "MX1.Example.COM." counts as mx1.example.com.
  EXPECT_EQ(agg->by_mx[0].receiving_mx_hostname, "mx1.example.com");
  EXPECT_EQ(agg->by_mx[0].failure, 4 + 3 + 5);
  EXPECT_EQ(agg->by_mx[1].receiving_mx_hostname, "mx2.example.com");
  EXPECT_EQ(agg->by_mx[1].failure, 12);
  EXPECT_EQ(agg->by_mx[2].receiving_mx_hostname, "");
  EXPECT_EQ(agg->by_mx[2].failure, 1);
  // Each host's failures by result type (what GET /v1/tlsrpt sets beside the MX probe).
  EXPECT_EQ(agg->by_mx[0].result_types, (std::map<std::string, std::int64_t>{
                                            {"sts-policy-fetch-error", 4},
                                            {"certificate-not-trusted", 3},
                                            {"certificate-expired", 5},
                                        }));
  EXPECT_EQ(agg->by_mx[1].result_types,
            (std::map<std::string, std::int64_t>{{"certificate-host-mismatch", 12}}));
  EXPECT_EQ(agg->by_mx[2].result_types, (std::map<std::string, std::int64_t>{{"other", 1}}));
  ASSERT_EQ(agg->reporters.size(), 4U);
  EXPECT_EQ(agg->reporters[0].organization, "Google Inc.");
  EXPECT_EQ(agg->reporters[0].success, 1840);
  EXPECT_EQ(agg->reporters[0].failure, 12);
  ASSERT_EQ(agg->days.size(), 3U);
  EXPECT_EQ(agg->days[0].date, "2026-03-02");
  EXPECT_EQ(agg->days[0].success, 1840 + 311);
  EXPECT_EQ(agg->days[1].date, "2026-03-04");
  // multi-domain ends 2026-03-06T00:00:00+01:00 = 2026-03-05T23:00Z.
  EXPECT_EQ(agg->days[2].date, "2026-03-05");
  EXPECT_EQ(agg->days[2].failure, 5);

  // `since` keeps only reports ending at or after it.
  auto recent = store->Aggregate("example.com", kMarch2 + 2 * kDay);
  ASSERT_TRUE(recent.has_value());
  EXPECT_EQ(recent->reports, 2);
  EXPECT_EQ(recent->success, 60);
  // The unwatched policy inside multi-domain is stored, and only its own domain sees it.
  auto other = store->Aggregate("unwatched.example", 0);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->reports, 1);
  EXPECT_EQ(other->by_result_type.at("tlsa-invalid"), 2);
  auto nothing = store->Aggregate("nothing.example", 0);
  ASSERT_TRUE(nothing.has_value());
  EXPECT_EQ(nothing->reports, 0);
  EXPECT_TRUE(nothing->days.empty());
}

TEST(TlsRptStore, ListsAreCapped) {
  TempDir dir;
  StoreOptions options;
  options.max_rows = 5;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"), options);
  for (int i = 0; i < 12; ++i) {
    MustInsert(*store, Made("Org" + std::to_string(i), "r", "example.com", kMarch2, 1, i + 1,
                            report::ResultType::kCertificateExpired,
                            "mx" + std::to_string(i) + ".example.com"));
  }
  auto agg = store->Aggregate("example.com", 0);
  ASSERT_TRUE(agg.has_value());
  EXPECT_EQ(agg->by_mx.size(), 5U);
  EXPECT_EQ(agg->by_mx[0].receiving_mx_hostname, "mx11.example.com");  // most failures first
  EXPECT_EQ(agg->reporters.size(), 5U);
  auto window = store->Window("example.com", 0);
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(window->failures.size(), 5U);
  EXPECT_EQ(window->failure, 78);  // the totals are not capped
}

TEST(TlsRptStore, TotalsForTheMetricsFollowNewReports) {
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  const DomainSet watched = {"example.com", "example.org"};
  auto empty = store->TotalsAfter(0, watched);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->through, 0);
  EXPECT_TRUE(empty->domains.empty());

  MustInsert(*store, Parse("google-sts.json"));
  MustInsert(*store, Parse("multi-domain.json"));
  auto first = store->TotalsAfter(0, watched);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_EQ(first->through, 2);
  ASSERT_EQ(first->domains.size(), 1U);  // unwatched.example is not reported
  const DomainTotals& t = first->domains.at("example.com");
  EXPECT_EQ(t.reports, 2);
  EXPECT_EQ(t.sessions.at({"sts", "success"}), 1860);
  EXPECT_EQ(t.sessions.at({"sts", "failure"}), 17);
  EXPECT_EQ(t.failed_by_result_type.at("certificate-host-mismatch"), 12);
  EXPECT_EQ(t.failed_by_result_type.at("certificate-expired"), 5);
  EXPECT_EQ(t.last_end_time, 1772751600);  // 2026-03-05T23:00:00Z

  // Nothing new: an empty delta; then only what came after.
  auto none = store->TotalsAfter(first->through, watched);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->through, 2);
  EXPECT_TRUE(none->domains.empty());
  MustInsert(*store, Parse("no-policy-found.json"));
  EXPECT_EQ(store->LastReportId().value(), 3);
  auto next = store->TotalsAfter(first->through, watched);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->through, 3);
  ASSERT_EQ(next->domains.size(), 1U);
  EXPECT_EQ(next->domains.at("example.org").sessions.at({"no-policy-found", "success"}), 9);

  // Retention deletes rows, never ids: a later delta never recounts or skips.
  ASSERT_TRUE(store->DeleteEndedBefore(kMarch2 + 10 * kDay).has_value());
  MustInsert(*store, Made("Late", "l1", "example.com", kMarch2 + 20 * kDay, 3, 0));
  auto after_purge = store->TotalsAfter(next->through, watched);
  ASSERT_TRUE(after_purge.has_value());
  EXPECT_EQ(after_purge->through, 4);
  EXPECT_EQ(after_purge->domains.at("example.com").reports, 1);
}

TEST(TlsRptStore, WindowSummaryForTheIssueCodes) {
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  MustInsert(*store, Made("Reporter-X", "x1", "example.com", kMarch2, 10, 3,
                          report::ResultType::kCertificateExpired, "mx1.example.com"));
  MustInsert(*store, Made("Reporter-X", "x2", "example.com", kMarch2 + kDay, 10, 2,
                          report::ResultType::kCertificateExpired, "mx1.example.com"));
  MustInsert(*store, Made("Reporter-Y", "y1", "example.com", kMarch2 + kDay, 5, 4,
                          report::ResultType::kCertificateHostMismatch, "mx2.example.com"));
  report::Report old_policy = Made("Reporter-Y", "y0", "example.com", kMarch2 - 5 * kDay, 5, 0);
  old_policy.policies[0].policy_string = {"version: STSv1", "mode: testing", "mx: old.example.com",
                                          "max_age: 86400"};
  MustInsert(*store, old_policy);
  auto window = store->Window("example.com", kMarch2 - kDay);
  ASSERT_TRUE(window.has_value()) << window.error().message;
  EXPECT_EQ(window->reports, 3);
  EXPECT_EQ(window->success, 25);
  EXPECT_EQ(window->failure, 9);
  EXPECT_EQ(window->detail_failed, 9);
  ASSERT_EQ(window->failures.size(), 2U);
  EXPECT_EQ(window->failures[0].organization, "Reporter-X");
  EXPECT_EQ(window->failures[0].result_type, "certificate-expired");
  EXPECT_EQ(window->failures[0].receiving_mx_hostname, "mx1.example.com");
  EXPECT_EQ(window->failures[0].failed, 5);
  EXPECT_EQ(window->failures[1].organization, "Reporter-Y");
  EXPECT_EQ(window->failures[1].failed, 4);
  // The policy strings senders applied within the window: mx1 and mx2 variants (the old one is
  // outside the window).
  ASSERT_EQ(window->sts_policies.size(), 2U);
  for (const auto& p : window->sts_policies) {
    ASSERT_EQ(p.lines.size(), 4U);
    EXPECT_EQ(p.lines[0], "version: STSv1");
  }
  auto wide = store->Window("example.com", 0);
  ASSERT_TRUE(wide.has_value());
  EXPECT_EQ(wide->sts_policies.size(), 3U);
  EXPECT_EQ(wide->sts_policies.back().lines[1], "mode: testing");  // the oldest last
}

TEST(TlsRptStore, RetentionDeletesByDateRangeEndWithTheirDetails) {
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  for (int i = 0; i < 1200; ++i) {  // more than one deletion batch
    MustInsert(*store, Made("Org", "old" + std::to_string(i), "example.com", kMarch2 - kDay, 1, 1));
  }
  MustInsert(*store, Made("Org", "new", "example.com", kMarch2 + kDay, 1, 2));
  auto deleted = store->DeleteEndedBefore(kMarch2);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().message;
  EXPECT_EQ(deleted.value(), 1200);
  EXPECT_EQ(store->ReportCount().value(), 1);
  auto agg = store->Aggregate("example.com", 0);
  ASSERT_TRUE(agg.has_value());
  EXPECT_EQ(agg->reports, 1);
  EXPECT_EQ(agg->by_result_type.at("certificate-expired"), 2);  // the old details went too
  EXPECT_EQ(store->DeleteEndedBefore(kMarch2).value(), 0);
  // No orphaned rows.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(store->path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT COUNT(*) FROM policies), (SELECT COUNT(*) FROM "
                               "failures)",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), 1);
  EXPECT_EQ(sqlite3_column_int64(stmt, 1), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(TlsRptStore, TwoConnectionsSeeEachOther) {
  TempDir dir;
  const std::string path = dir.File("tlsrpt.sqlite");
  auto daemon = MustOpen(path);
  auto ingest = MustOpen(path);
  EXPECT_EQ(daemon->LastReportId().value(), 0);
  MustInsert(*ingest, Parse("google-sts.json"));
  EXPECT_EQ(daemon->LastReportId().value(), 1);
  EXPECT_EQ(MustInsert(*daemon, Parse("google-sts.json")), InsertResult::kAlreadyStored);
}

TEST(TlsRptStore, ProcessesWritingAtOnceLoseNothing) {
  // Four processes (fork) each store 40 reports while the parent reads: SQLite's locks and
  // the busy timeout order the writers; nothing is lost, nothing fails.
  TempDir dir;
  const std::string path = dir.File("tlsrpt.sqlite");
  auto reader = MustOpen(path);
  ASSERT_NE(reader, nullptr);
  constexpr int kChildren = 4;
  constexpr int kEach = 40;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto store = Store::Open(path);
      if (!store) _exit(2);
      for (int i = 0; i < kEach; ++i) {
        const report::Report r =
            Made("Proc" + std::to_string(c), std::to_string(i), "example.com", kMarch2, 1, 0);
        if (!store.value()->Insert(ReportToStore{&r, "x", 0})) _exit(3);
      }
      _exit(0);
    }
    children.push_back(pid);
  }
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(reader->Aggregate("example.com", 0).has_value());
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(reader->ReportCount().value(), kChildren * kEach);
  EXPECT_EQ(reader->Aggregate("example.com", 0)->success, kChildren * kEach);
}

TEST(TlsRptStore, BusyStoreIsAnErrorNotAWait) {
  // Another process holding the write lock past the busy timeout: the insert fails (and the
  // caller answers "unavailable, try later") instead of hanging.
  TempDir dir;
  const std::string path = dir.File("tlsrpt.sqlite");
  StoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(200);
  auto store = MustOpen(path, options);
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const report::Report r = Made("Org", "busy", "example.com", kMarch2, 1, 0);
  const auto start = std::chrono::steady_clock::now();
  auto result = store->Insert(ReportToStore{&r, "x", 0});
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("locked"), std::string::npos) << result.error().message;
  EXPECT_LT(waited, std::chrono::seconds(5));
  ASSERT_EQ(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(holder);
  EXPECT_EQ(MustInsert(*store, r), InsertResult::kStored);  // and it recovers
}

TEST(TlsRptStore, StoredMeansSurvivesKillDashNine) {
  // A child stores a report and says so on a pipe; the parent kills it with SIGKILL as soon as
  // it reads that, then reopens the store: the report is there. Repeated, so the kill lands at
  // different moments of the child's next insert.
  TempDir dir;
  const std::string path = dir.File("tlsrpt.sqlite");
  { ASSERT_NE(MustOpen(path), nullptr); }
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto store = Store::Open(path);
      if (!store) _exit(2);
      for (int i = 0;; ++i) {  // goes on storing until killed
        const report::Report r = Made("Kill", std::to_string(round) + "-" + std::to_string(i),
                                      "example.com", kMarch2, 1, 0);
        auto stored = store.value()->Insert(ReportToStore{&r, "x", 0});
        if (!stored || stored.value() != InsertResult::kStored) _exit(3);
        const char ok = 's';
        if (write(fds[1], &ok, 1) != 1) _exit(4);
      }
    }
    close(fds[1]);
    char got = 0;
    ASSERT_EQ(read(fds[0], &got, 1), 1);  // the first "stored"
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    close(fds[0]);
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto raw = store->RawReport("Kill", std::to_string(round) + "-0");
    ASSERT_TRUE(raw.has_value()) << raw.error().message;
    EXPECT_TRUE(raw->has_value()) << "a report answered stored was lost";
  }
}

TEST(TlsRptStore, GroupCommitSharesCommitsAmongConcurrentInserts) {
  // 16 senders at once, as the HTTP listener would have them: every report is durable when its
  // Insert returns, and they share transactions (one fsync each) instead of taking one each.
  TempDir dir;
  auto store = MustOpen(dir.File("tlsrpt.sqlite"));
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 16;
  constexpr int kEach = 20;
  std::vector<report::Report> reports;
  for (int i = 0; i < kThreads * kEach; ++i) {
    reports.push_back(Made("Org", std::to_string(i), "example.com", kMarch2, 1, 0));
  }
  const auto sequential_start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    const report::Report r = Made("Seq", std::to_string(i), "example.com", kMarch2, 1, 0);
    ASSERT_TRUE(store->Insert(ReportToStore{&r, "x", 0}).has_value());
  }
  const double sequential_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sequential_start).count();

  GroupCommitSink sink(*store);
  std::vector<int> stored(kThreads, 0);
  std::vector<int> duplicates(kThreads, 0);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const report::Report& r = reports[static_cast<std::size_t>(t * kEach + i)];
        auto result = sink.Insert(ReportToStore{&r, "x", 0});
        if (result && result.value() == InsertResult::kStored)
          ++stored[static_cast<std::size_t>(t)];
      }
      // A duplicate in the same stream of inserts counts once.
      auto again =
          sink.Insert(ReportToStore{&reports[static_cast<std::size_t>(t * kEach)], "x", 0});
      if (again && again.value() == InsertResult::kAlreadyStored) {
        ++duplicates[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double group_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(stored[static_cast<std::size_t>(t)], kEach);
    EXPECT_EQ(duplicates[static_cast<std::size_t>(t)], 1);
  }
  EXPECT_EQ(store->ReportCount().value(), kThreads * kEach + 20);
  const std::uint64_t commits = sink.Commits();
  EXPECT_LT(commits, static_cast<std::uint64_t>(kThreads * (kEach + 1)));
  std::printf(
      "one at a time: %.0f reports/s; 16 threads with group commit: %.0f reports/s in "
      "%llu commits for %d inserts\n",
      20 / sequential_s, kThreads * (kEach + 1) / group_s, static_cast<unsigned long long>(commits),
      kThreads * (kEach + 1));
}

TEST(TlsRptStore, HundredThousandReportsStayFastWithFlatMemory) {
  TempDir dir;
  const std::string path = dir.File("tlsrpt.sqlite");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  // 100,000 reports over 300 days, three domains, 50 reporters, seven MX hosts: written with SQL
  // (the insert path is tested above; a sanitizer build would take minutes through it).
  constexpr int kReports = 100'000;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string fill =
        "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(kReports) +
        ") INSERT INTO reports (id, organization, report_id, contact_info, start_time, end_time, "
        "received_at, notes, raw_gzip) SELECT i, 'Org' || (i % 50), 'r' || i, '', e - 86399, e, "
        "0, '', x'00' FROM (SELECT i, " +
        std::to_string(kMarch2) +
        " - (i % 300) * 86400 AS e FROM n);"
        "INSERT INTO policies (id, report, position, domain, start_time, end_time, policy_type, "
        "policy_type_raw, policy_string, mx_host, success, failure, detail_failure) SELECT id, "
        "id, 0, CASE (id / 1000) % 3 WHEN 0 THEN 'example.com' WHEN 1 THEN 'example.org' ELSE "
        "'example.net' END, start_time, end_time, 'sts', 'sts', 'version: STSv1' || char(10) || "
        "'mode: enforce', '', 100, id % 4, id % 4 FROM reports;"
        "INSERT INTO failures (policy, result_type, result_type_raw, sending_mta_ip, "
        "receiving_mx_hostname, receiving_mx_helo, receiving_ip, failed_sessions, "
        "additional_information, failure_reason_code) SELECT id, 'certificate-expired', "
        "'certificate-expired', '', 'mx' || (id % 7) || '.example.com', '', '', failure, '', '' "
        "FROM policies WHERE failure > 0; COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, fill.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  // The store goes on from there.
  EXPECT_EQ(MustInsert(*store, Made("Org", "new", "example.com", kMarch2, 1, 0)),
            InsertResult::kStored);
  EXPECT_EQ(store->LastReportId().value(), kReports + 1);

  const auto timed = [](auto&& fn) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - start)
                                      .count());
  };
  // SQLite's own accounting of its heap (page cache, sorters, temporary b-trees): what the
  // queries cost, independent of the sanitizers' allocator.
  const std::int64_t used_before = sqlite3_memory_used();
  sqlite3_memory_highwater(1);
  const DomainSet watched = {"example.com", "example.org", "example.net"};
  const auto totals_ms = timed([&] {
    auto totals = store->TotalsAfter(0, watched);
    ASSERT_TRUE(totals.has_value());
    std::int64_t reports = 0;
    for (const auto& [domain, t] : totals->domains) reports += t.reports;
    EXPECT_EQ(reports, kReports + 1);
  });
  const auto aggregate_ms = timed([&] {
    auto agg = store->Aggregate("example.com", kMarch2 - 30 * kDay);
    ASSERT_TRUE(agg.has_value());
    EXPECT_GT(agg->reports, 3'000);
    EXPECT_EQ(agg->days.size(), 31U);
    EXPECT_EQ(agg->by_mx.size(), 7U);
    EXPECT_EQ(agg->reporters.size(), 32U);  // Org0..Org30 fall in these days, and "Org"
  });
  const auto all_ms = timed([&] { ASSERT_TRUE(store->Aggregate("example.org", 0)); });
  const auto window_ms =
      timed([&] { ASSERT_TRUE(store->Window("example.com", kMarch2 - 7 * kDay)); });
  const auto last_ms = timed([&] { EXPECT_EQ(store->LastReportId().value(), kReports + 1); });
  const std::int64_t peak_kib = (sqlite3_memory_highwater(0) - used_before) / 1024;
  std::printf(
      "100k reports: totals %lld ms, 30-day aggregate %lld ms, all-time aggregate %lld ms, "
      "window %lld ms, last id %lld ms; SQLite heap peak +%lld KiB\n",
      totals_ms, aggregate_ms, all_ms, window_ms, last_ms, static_cast<long long>(peak_kib));
  // Generous bounds for a shared 2-core machine under the sanitizers.
  EXPECT_LT(totals_ms, 15'000);
  EXPECT_LT(aggregate_ms, 3'000);
  EXPECT_LT(window_ms, 3'000);
  EXPECT_LT(last_ms, 100);
  // The page cache (2 MB by default) and sorters that spill to disk: not the number stored.
  EXPECT_LT(peak_kib, 8 * 1024) << "SQLite's heap grew by " << peak_kib << " KiB";
}

}  // namespace
}  // namespace mtasts::agent::tlsrpt
