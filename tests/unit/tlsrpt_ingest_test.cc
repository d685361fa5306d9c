// The shared receiving step (agent/tlsrpt/ingest.h): every answer with its HTTP status, exit
// status and rejection reason, against a real store on a temporary directory.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/metrics_page.h"
#include "agent/tlsrpt/ingest.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::agent::tlsrpt {
namespace {

using mtasts::test::ReadTlsRptTestData;

namespace report = mtasts::tlsrpt;

constexpr std::int64_t kNow = 1772841600;  // 2026-03-07T00:00:00Z

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tlsrpt-ingest-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = Store::Open((dir_ / "tlsrpt.sqlite").string());
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  IngestOutcome Run(const std::string& bytes, std::optional<report::InputKind> kind) {
    return Ingest(bytes, kind, watched_, limits_, *store_, kNow);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  DomainSet watched_ = {"example.com"};
  IngestLimits limits_;
};

TEST(IngestAnswers, StatusMappingsArePure) {
  struct Row {
    Answer answer;
    int http;
    int exit;
    std::optional<std::string_view> reason;
  };
  const std::vector<Row> rows = {
      {Answer::kStored, 201, 0, std::nullopt},       {Answer::kAlreadyStored, 200, 0, std::nullopt},
      {Answer::kMalformed, 400, 65, "malformed"},    {Answer::kTooLarge, 413, 65, "too_large"},
      {Answer::kMediaType, 415, 65, "media_type"},   {Answer::kUnwatched, 422, 65, "unwatched"},
      {Answer::kUnavailable, 503, 75, std::nullopt},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(AnswerName(row.answer));
    EXPECT_EQ(HttpStatus(row.answer), row.http);
    EXPECT_EQ(ExitStatus(row.answer), row.exit);
    EXPECT_EQ(RejectedReason(row.answer), row.reason);
  }
}

TEST_F(IngestTest, EveryPathAndAnswer) {
  const std::string gz = ReadTlsRptTestData("google-sts.json.gz");
  const std::string json = ReadTlsRptTestData("google-sts.json");
  struct Case {
    std::string name;
    std::string bytes;
    std::optional<report::InputKind> kind;
    Answer answer;
    std::string message;  // a part of it
  };
  const std::vector<Case> cases = {
      {"gzip POST", gz, report::InputKind::kGzip, Answer::kStored, ""},
      {"same again as JSON", json, report::InputKind::kJson, Answer::kAlreadyStored, ""},
      {"same again by mail", ReadTlsRptTestData("message-rfc8460.eml"), report::InputKind::kMessage,
       Answer::kAlreadyStored, ""},
      {"another by mail", ReadTlsRptTestData("message-filename-only.eml"),
       report::InputKind::kMessage, Answer::kStored, ""},
      {"bare JSON file", ReadTlsRptTestData("tolerant.json"), report::InputKind::kMessage,
       Answer::kStored, ""},
      {"other media type", json, std::nullopt, Answer::kMediaType, "application/tlsrpt+gzip"},
      {"broken gzip", gz.substr(0, gz.size() / 2), report::InputKind::kGzip, Answer::kMalformed,
       "broken gzip: truncated"},
      {"JSON that is not a report", "{\"a\":1}", report::InputKind::kJson, Answer::kMalformed,
       "organization-name: missing"},
      {"body too large", std::string((std::size_t{1} << 20) + 1, ' '), report::InputKind::kJson,
       Answer::kTooLarge, "larger than 1048576"},
      {"unwatched", ReadTlsRptTestData("no-policy-found.json"), report::InputKind::kJson,
       Answer::kUnwatched, "no policy-domain of the report is a watched domain"},
      {"message without report", ReadTlsRptTestData("message-no-report.eml"),
       report::InputKind::kMessage, Answer::kMalformed, "no TLS-RPT report"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const IngestOutcome out = Run(c.bytes, c.kind);
    EXPECT_EQ(out.answer, c.answer) << AnswerName(out.answer) << ": " << out.message;
    EXPECT_NE(out.message.find(c.message), std::string::npos) << out.message;
  }
  EXPECT_EQ(store_->ReportCount().value(), 3);  // google, microsoft, tolerant
  auto unwatched = store_->Aggregate("example.org", 0);
  ASSERT_TRUE(unwatched.has_value());
  EXPECT_EQ(unwatched->reports, 0);  // nothing stored for the 422
}

TEST_F(IngestTest, KeepsTheRawJsonCompressed) {
  const std::string json = ReadTlsRptTestData("google-sts.json");
  ASSERT_EQ(Run(json, report::InputKind::kJson).answer, Answer::kStored);
  auto raw = store_->RawReport("Google Inc.", "2026-03-02T00:00:00Z_example.com");
  ASSERT_TRUE(raw.has_value() && raw->has_value());
  auto inflated = GzipDecompress(**raw);
  ASSERT_TRUE(inflated.has_value());
  EXPECT_EQ(inflated.value(), json);
}

TEST_F(IngestTest, PartlyWatchedReportIsStoredAndCountsOnlyForTheWatchedDomain) {
  const IngestOutcome out = Run(ReadTlsRptTestData("multi-domain.json"), report::InputKind::kJson);
  ASSERT_EQ(out.answer, Answer::kStored) << out.message;
  EXPECT_EQ(out.domains, std::vector<std::string>{"example.com"});
  EXPECT_EQ(out.organization, "Relay Org");
  auto totals = store_->TotalsAfter(0, watched_);
  ASSERT_TRUE(totals.has_value());
  ASSERT_EQ(totals->domains.size(), 1U);
  EXPECT_EQ(totals->domains.begin()->first, "example.com");
}

TEST_F(IngestTest, RefusesADateRangeEndingInTheFuture) {
  std::string json = ReadTlsRptTestData("google-sts.json");
  const std::string end = "2026-03-02T23:59:59Z";
  json.replace(json.find(end), end.size(), "2026-03-09T00:00:00Z");
  const IngestOutcome out = Run(json, report::InputKind::kJson);
  EXPECT_EQ(out.answer, Answer::kMalformed);
  EXPECT_NE(out.message.find("in the future"), std::string::npos) << out.message;
}

TEST_F(IngestTest, StoreUnavailableIsTemporary) {
  // Another process holds the write lock longer than the busy timeout.
  StoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(100);
  auto store = Store::Open((dir_ / "tlsrpt.sqlite").string(), options);
  ASSERT_TRUE(store.has_value());
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "tlsrpt.sqlite").c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const IngestOutcome out = Ingest(ReadTlsRptTestData("google-sts.json"), report::InputKind::kJson,
                                   watched_, limits_, *store.value(), kNow);
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_EQ(out.answer, Answer::kUnavailable);
  EXPECT_EQ(HttpStatus(out.answer), 503);
  EXPECT_EQ(ExitStatus(out.answer), 75);
  EXPECT_EQ(out.message, "the report store is unavailable; try again later");
  EXPECT_NE(out.internal_error.find("locked"), std::string::npos) << out.internal_error;
  // The sender's retry succeeds.
  EXPECT_EQ(Ingest(ReadTlsRptTestData("google-sts.json"), report::InputKind::kJson, watched_,
                   limits_, *store.value(), kNow)
                .answer,
            Answer::kStored);
}

}  // namespace
}  // namespace mtasts::agent::tlsrpt
