// TLS-RPT reports through the real daemon (README "TLS-RPT reports"): curl posts gzip and JSON
// reports and every refusal, /metrics counts them, `kill -9` between two reports loses nothing
// and counts nothing twice, and `tlsrpt ingest` run beside the daemon shows up in its /metrics.
#include <zlib.h>

#include "tests/integration/daemon_support.h"

namespace {

using namespace mtasts::world;  // NOLINT: test support

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string GzipOf(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// The sample report with another report-id: a report the store has not seen.
std::string Report(const std::string& id) {
  std::string text = ReadFile(fs::path(MTASTS_TESTDATA_DIR) / "tlsrpt" / "google-sts.json");
  const std::string old_id = "2026-03-02T00:00:00Z_example.com";
  text.replace(text.find(old_id), old_id.size(), id);
  return text;
}

std::int64_t PeakRssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

class TlsRptDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("mtasts-tlsrpt");
    port_ = FreePort();
    // The sample reports are from March 2026: the default retention would delete them one day.
    WriteFile(dir_ / "config.yaml",
              ConfigText(dir_, {"example.com"}, "tlsrpt:\n  retention: 10y\n"));
    daemon_ = std::make_unique<Daemon>(dir_, port_);
  }
  void TearDown() override {
    daemon_.reset();
    if (HasFailure()) std::cerr << "daemon log:\n" << Daemon(dir_, port_).Log();
    fs::remove_all(dir_);
  }

  /// curl POSTs `body` as `type`; the HTTP status it saw.
  int Post(const std::string& body, const std::string& type) {
    const fs::path file = dir_ / ("body-" + std::to_string(++posts_));
    std::ofstream(file, std::ios::binary) << body;
    const std::string code = Capture(
        "curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: " + type + "' --data-binary @" +
        file.string() + " http://127.0.0.1:" + std::to_string(port_) + "/v1/tlsrpt");
    fs::remove(file);
    return code.empty() ? -1 : std::stoi(code);
  }

  std::string Metrics() const {
    auto res = daemon_->Get("/metrics");
    return res ? res->body : "";
  }

  /// Waits up to `limit` for `series` to reach `want`; its last value.
  double WaitFor(const std::string& series, double want,
                 std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    double value = -1;
    while (std::chrono::steady_clock::now() < until) {
      value = Value(Metrics(), series);
      if (value == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return value;
  }

  fs::path dir_;
  int port_ = 0;
  int posts_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

constexpr const char* kReports = R"(mta_sts_tlsrpt_reports_total{domain="example.com"})";

TEST_F(TlsRptDaemonTest, EveryAnswerIsCountedAndSurvivesKillNine) {
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  const std::string gz = "application/tlsrpt+gzip";
  const std::string js = "application/tlsrpt+json";
  EXPECT_EQ(Post(GzipOf(Report("r-1")), gz), 201);
  EXPECT_EQ(Post(Report("r-2"), js), 201);
  EXPECT_EQ(Post(Report("r-1"), js), 200) << "the same report, as JSON this time";
  EXPECT_EQ(Post(Report("r-3"), "text/plain"), 415);
  EXPECT_EQ(Post("{\"organization-name\": 1}", js), 400);
  EXPECT_EQ(Post("\x1f\x8b garbage", gz), 400);
  EXPECT_EQ(
      Post(ReadFile(fs::path(MTASTS_TESTDATA_DIR) / "tlsrpt" / "rfc8460-appendix-b.json"), js),
      422);
  EXPECT_EQ(Post(std::string(std::size_t{2} << 20, 'x'), gz), 413) << "2 MiB body";

  EXPECT_EQ(WaitFor(kReports, 2), 2);
  const std::string metrics = Metrics();
  EXPECT_EQ(Value(metrics, R"(mta_sts_tlsrpt_rejected_total{reason="media_type"})"), 1);
  EXPECT_EQ(Value(metrics, R"(mta_sts_tlsrpt_rejected_total{reason="malformed"})"), 2);
  EXPECT_EQ(Value(metrics, R"(mta_sts_tlsrpt_rejected_total{reason="unwatched"})"), 1);
  EXPECT_EQ(Value(metrics, R"(mta_sts_tlsrpt_rejected_total{reason="too_large"})"), 1);
  EXPECT_EQ(Value(metrics, R"(mta_sts_tlsrpt_rejected_total{reason="rate_limited"})"), 0);
  EXPECT_GT(Value(metrics, R"(mta_sts_tlsrpt_last_report_timestamp_seconds{domain="example.com"})"),
            1.7e9);
  const double sessions = Value(
      metrics,
      R"(mta_sts_tlsrpt_sessions_total{domain="example.com",policy_type="sts",result="success"})");
  EXPECT_GT(sessions, 0);
  EXPECT_EQ(metrics.find("company-y.example"), std::string::npos) << "no unwatched series";

  // kill -9 right after a 201: the report is on disk, and the counters come back from it.
  EXPECT_EQ(Post(Report("r-4"), js), 201);
  daemon_->Kill();
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  EXPECT_EQ(Value(Metrics(), kReports), 3) << "restored from the store at start";
  EXPECT_EQ(Post(Report("r-4"), js), 200) << "still a duplicate after the restart";
  EXPECT_EQ(Post(GzipOf(Report("r-1")), gz), 200);
  EXPECT_EQ(Post(Report("r-5"), js), 201);
  EXPECT_EQ(WaitFor(kReports, 4), 4);
  EXPECT_EQ(
      Value(
          Metrics(),
          R"(mta_sts_tlsrpt_sessions_total{domain="example.com",policy_type="sts",result="success"})"),
      sessions * 2)
      << "four reports, each counted once";
}

// A report stored by another process (the mail path) reaches the daemon's counters.
TEST_F(TlsRptDaemonTest, IngestBesideTheDaemonShowsUpInItsMetrics) {
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  EXPECT_EQ(Post(Report("http-1"), "application/tlsrpt+json"), 201);
  EXPECT_EQ(WaitFor(kReports, 1), 1);
  const fs::path file = dir_ / "report.json.gz";
  std::ofstream(file, std::ios::binary) << GzipOf(Report("mail-1"));
  int status = -1;
  Capture(std::string(MTASTS_BINARY) + " tlsrpt ingest --config.file=" +
              (dir_ / "config.yaml").string() + " " + file.string() + " 2>&1",
          &status);
  EXPECT_EQ(status, 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(WaitFor(kReports, 2, std::chrono::seconds(10)), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5))
      << "within a few seconds";
  // The same report by HTTP now: already stored.
  EXPECT_EQ(Post(Report("mail-1"), "application/tlsrpt+json"), 200);
}

// A gzip bomb through the endpoint: 413, and the daemon's peak memory does not follow it.
TEST_F(TlsRptDaemonTest, AGzipBombIsRefusedWithTheDaemonsMemoryFlat) {
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  // 512 MiB of zeros compress to about half a megabyte.
  const std::string zeros(std::size_t{1} << 20, '\0');
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string bomb(std::size_t{1} << 20, '\0');
  z.next_out = reinterpret_cast<Bytef*>(bomb.data());
  z.avail_out = static_cast<uInt>(bomb.size());
  for (int i = 0; i < 512; ++i) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
    z.avail_in = static_cast<uInt>(zeros.size());
    deflate(&z, i == 511 ? Z_FINISH : Z_NO_FLUSH);
  }
  bomb.resize(z.total_out);
  deflateEnd(&z);
  ASSERT_LT(bomb.size(), std::size_t{1} << 20);
  const std::int64_t before = PeakRssKiB(daemon_->pid());
  EXPECT_EQ(Post(bomb, "application/tlsrpt+gzip"), 413);
  EXPECT_EQ(WaitFor(R"(mta_sts_tlsrpt_rejected_total{reason="too_large"})", 1), 1);
  const std::int64_t growth = PeakRssKiB(daemon_->pid()) - before;
  EXPECT_LT(growth, 96 * 1024) << "peak RSS grew by " << growth << " KiB for a 512 MiB bomb";
  ASSERT_TRUE(daemon_->Get("/-/healthy"));
}

// What senders reported joins the domain's issues: a report with failures for a watched domain,
// and the check it brings forward carries tlsrpt_failures_reported (high: the domain enforces)
// in /metrics and, with its message, in the state the daemon keeps. The same daemon probes two MX
// postures (probe_mx): GET /v1/tlsrpt sets what senders report of a host beside what the probe saw
// of it, and flags where they disagree.
TEST_F(TlsRptDaemonTest, ReportedFailuresBecomeAnIssueOfTheDomain) {
  WriteFile(dir_ / "config.yaml",
            ConfigText(dir_,
                       {"enforce.test", "name: mx-good.test\n    probe_mx: true",
                        "name: mx-wrong-cert.test\n    probe_mx: true"},
                       "tlsrpt:\n  retention: 10y\n"));
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  const std::string checked = R"(mta_sts_policy_valid{domain="enforce.test"})";
  ASSERT_EQ(WaitFor(checked, 1, std::chrono::seconds(30)), 1) << "the first check";
  ASSERT_EQ(WaitFor(R"(mta_sts_mx_cert_valid{domain="mx-good.test",mx="mx1.mx-good.test"})", 1), 1);
  ASSERT_EQ(
      WaitFor(R"(mta_sts_mx_cert_valid{domain="mx-wrong-cert.test",mx="mx1.mx-wrong-cert.test"})",
              0),
      0);
  // Senders report certificate failures at the good MX (spelled in capitals, with the dot)...
  nlohmann::json failing = nlohmann::json::parse(TlsRptFailureReport("mx-good.test", "p-1", 7));
  failing["policies"][0]["failure-details"][0]["receiving-mx-hostname"] = "MX1.mx-good.test.";
  EXPECT_EQ(Post(failing.dump(), "application/tlsrpt+json"), 201);
  // ... and only successes where the probe sees a certificate for another name.
  nlohmann::json quiet = nlohmann::json::parse(TlsRptFailureReport("mx-wrong-cert.test", "p-2", 0));
  quiet["policies"][0].erase("failure-details");
  EXPECT_EQ(Post(quiet.dump(), "application/tlsrpt+json"), 201);
  const auto view = [&](const std::string& domain) {
    auto res = daemon_->Get("/v1/tlsrpt?domain=" + domain);
    return res && res->status == 200 ? nlohmann::json::parse(res->body)["data"]["by_mx"]
                                     : nlohmann::json();
  };
  const nlohmann::json good = view("mx-good.test");
  ASSERT_EQ(good.size(), 1U) << good.dump();
  EXPECT_EQ(good[0]["result_types"], nlohmann::json({{"certificate-expired", 7}}));
  EXPECT_EQ(good[0]["probe"]["certificate"], "valid") << good.dump();
  EXPECT_EQ(good[0]["probe"]["starttls"], true);
  EXPECT_EQ(good[0]["disagreement"], true) << good.dump();
  const nlohmann::json wrong = view("mx-wrong-cert.test");
  ASSERT_EQ(wrong.size(), 1U) << wrong.dump();
  EXPECT_EQ(wrong[0]["receiving_mx_hostname"], "mx1.mx-wrong-cert.test");
  EXPECT_EQ(wrong[0]["failure"], 0);
  EXPECT_EQ(wrong[0]["probe"]["certificate"], "invalid") << wrong.dump();
  EXPECT_EQ(wrong[0]["disagreement"], true) << wrong.dump();

  const std::string code =
      R"(mta_sts_issue{domain="enforce.test",code="tlsrpt_failures_reported",severity="high"})";
  EXPECT_EQ(Value(Metrics(), code), -1) << "no report, no issue";

  EXPECT_EQ(Post(TlsRptFailureReport("enforce.test", "f-1", 3), "application/tlsrpt+json"), 201);
  EXPECT_EQ(WaitFor(code, 1, std::chrono::seconds(30)), 1)
      << "the report brings the domain's check forward";
  const std::string want = "Reporter-X: 3 sessions certificate-expired at mx1.enforce.test";
  std::string state;
  for (int i = 0; i < 100 && state.find(want) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = ReadFile(dir_ / "state" / "state.json");
  }
  EXPECT_NE(state.find(want), std::string::npos) << state;
  EXPECT_EQ(
      Value(
          Metrics(),
          R"(mta_sts_issue{domain="enforce.test",code="tlsrpt_policy_mismatch",severity="medium"})"),
      -1)
      << "the reporters applied the policy served";
}

}  // namespace
