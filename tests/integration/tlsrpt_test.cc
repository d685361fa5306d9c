// TLS-RPT reports through the real daemon (README "TLS-RPT reports"): curl posts gzip and JSON
// reports and every refusal, /metrics counts them, `kill -9` between two reports loses nothing
// and counts nothing twice, reports by mail (the world's Postfix into the Maildir and through a
// pipe into `tlsrpt ingest`) and reports posted over HTTPS to the second listener
// (tlsrpt.listen_address) show up in its /metrics.
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
    reports_port_ = FreePort();
    // The second listener's certificate for 127.0.0.1, from a CA made here (EC: fast).
    const std::string d = dir_.string();
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    Capture("cd " + d + " && openssl req -x509" + key +
            " -keyout ca.key -out ca.crt -subj /CN=ca -days 1 2>/dev/null && openssl req" + key +
            " -keyout reports.key -out reports.csr -subj /CN=reports 2>/dev/null && printf "
            "'subjectAltName=IP:127.0.0.1\n' > reports.ext && openssl x509 -req -in reports.csr "
            "-CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile reports.ext -out "
            "reports.crt 2>/dev/null");
    // The sample reports are from March 2026: the default retention would delete them one day.
    WriteFile(dir_ / "config.yaml",
              ConfigText(dir_, {"example.com"},
                         "tlsrpt:\n  retention: 10y\n  listen_address: 127.0.0.1:" +
                             std::to_string(reports_port_) + "\n  tls_cert_file: " + d +
                             "/reports.crt\n  tls_key_file: " + d + "/reports.key\n"));
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

  /// curl on the second listener: the HTTP status it saw ("000": no HTTP answer).
  std::string OnReportsListener(const std::string& options) const {
    return Capture("curl -s -o /dev/null -w '%{http_code}' --max-time 5 " + options);
  }
  std::string ReportsUrl(const std::string& scheme) const {
    return scheme + "://127.0.0.1:" + std::to_string(reports_port_) + "/";
  }

  fs::path dir_;
  int port_ = 0;
  int reports_port_ = 0;
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

/// `data` in base64 (RFC 2045), in lines of 76.
std::string Base64(const std::string& data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    if (i + 2 < data.size()) n |= static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < data.size() ? kAlphabet[n & 63] : '=';
    if ((i / 3 + 1) % 19 == 0) out += "\n";
  }
  return out + "\n";
}

/// A report as a reporter mails it (RFC 8460 §5.3): multipart/report; report-type=tlsrpt, the
/// report gzipped in an application/tlsrpt+gzip part.
std::string ReportMessage(const std::string& to, const std::string& id) {
  return "From: tlsrpt@reporter.example\nTo: " + to +
         "\nSubject: Report Domain: example.com Submitter: google.com Report-ID: <" + id +
         ">\nDate: Tue, 03 Mar 2026 10:00:00 +0000\nMessage-ID: <" + id +
         "@reporter.example>\nTLS-Report-Domain: example.com\nTLS-Report-Submitter: "
         "google.com\nMIME-Version: 1.0\nContent-Type: multipart/report; "
         "report-type=\"tlsrpt\"; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nA TLS "
         "report.\n\n--b1\nContent-Type: application/tlsrpt+gzip\nContent-Disposition: "
         "attachment; filename=\"google.com!example.com!1772409600!1772495999.json.gz\"\n"
         "Content-Transfer-Encoding: base64\n\n" +
         Base64(GzipOf(Report(id))) + "\n--b1--\n";
}

// Reports by mail (README "Receiving reports by mail"), beside an HTTP one: the world's Postfix
// delivers a multipart/report sent with `sendmail` into the Maildir the daemon reads (counted,
// moved to cur), and through a pipe into `tlsrpt ingest`, whose store the daemon follows; a
// pipe whose store is unavailable exits 75 and the mail waits in Postfix's queue (deferred, not
// bounced). Postfix delivers as nobody, so the daemon runs as nobody and shares its store.
TEST_F(TlsRptDaemonTest, MailBesideTheDaemonShowsUpInItsMetrics) {
  const fs::path world = Env("MTASTS_WORLD_DIR");
  const fs::path maildir = world / "mail" / "tlsrpt" / "Maildir";
  const std::string d = dir_.string();
  const std::string config = ConfigText(
      dir_, {"example.com"},
      "tlsrpt:\n  retention: 10y\n  maildir: " + maildir.string() +
          "\n  listen_address: 127.0.0.1:" + std::to_string(reports_port_) +
          "\n  tls_cert_file: " + d + "/reports.crt\n  tls_key_file: " + d + "/reports.key\n");
  WriteFile(dir_ / "config.yaml", config);
  WriteFile(world / "tlsrpt" / "config.yaml", config);
  WriteFile(world / "tlsrpt" / "unavailable.yaml",
            ConfigText("/proc/self/no-such-dir", {"example.com"}));
  fs::remove(world / "tlsrpt" / "mta-sts-exporter");
  fs::create_symlink(MTASTS_BINARY, world / "tlsrpt" / "mta-sts-exporter");
  // The daemon runs as nobody (the pipe's user, so that both write the store), and reads the
  // second listener's key.
  for (const auto& entry : fs::recursive_directory_iterator(dir_)) {
    ASSERT_EQ(chown(entry.path().c_str(), 65534, 65534), 0) << entry.path();
  }
  ASSERT_EQ(chown(dir_.c_str(), 65534, 65534), 0);
  const std::vector<std::string> nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                           "--clear-groups"};
  daemon_->SetPrefix(nobody);
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());

  // Sent at once: the deliveries run side by side.
  const std::string sendmail =
      "/usr/sbin/sendmail -C " + (world / "postfix" / "conf").string() + " -i ";
  for (const auto& [to, id] :
       std::vector<std::pair<std::string, std::string>>{{"tlsrpt@reports.test", "maildir-1"},
                                                        {"tlsrpt-pipe@reports.test", "pipe-1"},
                                                        {"tlsrpt-defer@reports.test", "defer-1"}}) {
    const fs::path file = dir_ / (id + ".eml");
    WriteFile(file, ReportMessage(to, id));
    int status = -1;
    const std::string out = Capture(sendmail + to + " <" + file.string() + " 2>&1", &status);
    EXPECT_EQ(status, 0) << out;
  }
  EXPECT_EQ(Post(Report("http-1"), "application/tlsrpt+json"), 201);
  EXPECT_EQ(WaitFor(kReports, 3, std::chrono::seconds(30)), 3)
      << "HTTP, Maildir and pipe\npostfix log:\n"
      << ReadFile(world / "postfix.log");
  std::vector<std::string> cur;
  for (const auto& entry : fs::directory_iterator(maildir / "cur")) {
    cur.push_back(entry.path().filename().string());
  }
  ASSERT_EQ(cur.size(), 1U);
  EXPECT_TRUE(cur[0].ends_with(":2,S")) << cur[0];
  EXPECT_TRUE(fs::is_empty(maildir / "new"));
  EXPECT_TRUE(fs::is_empty(maildir / ".rejected" / "cur"));

  // The deferred one: Postfix logs the pipe's temporary failure and keeps the mail queued.
  const std::string deferred = "to=<tlsrpt-defer@reports.test>";
  std::string log;
  for (int i = 0; i < 300; ++i) {
    log = ReadFile(world / "postfix.log");
    const auto at = log.find(deferred);
    if (at != std::string::npos && log.find("status=", at) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto at = log.find(deferred);
  ASSERT_NE(at, std::string::npos) << log;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(line.find("status=deferred"), std::string::npos) << line;
  EXPECT_NE(line.find("temporary failure"), std::string::npos) << line;
  const std::string queue =
      Capture("/usr/sbin/postqueue -c " + (world / "postfix" / "conf").string() + " -p 2>&1");
  EXPECT_NE(queue.find("tlsrpt-defer@reports.test"), std::string::npos) << queue;

  // `tlsrpt ingest` by hand (as the daemon's user) counts within a few seconds too.
  const fs::path file = dir_ / "report.json.gz";
  std::ofstream(file, std::ios::binary) << GzipOf(Report("mail-1"));
  int status = -1;
  std::string command;
  for (const auto& arg : nobody) command += arg + " ";
  Capture(command + MTASTS_BINARY + " tlsrpt ingest --config.file=" +
              (dir_ / "config.yaml").string() + " " + file.string() + " 2>&1",
          &status);
  EXPECT_EQ(status, 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(WaitFor(kReports, 4, std::chrono::seconds(10)), 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5))
      << "within a few seconds";
  // The same reports by HTTP now: already stored.
  EXPECT_EQ(Post(Report("mail-1"), "application/tlsrpt+json"), 200);
  EXPECT_EQ(Post(Report("maildir-1"), "application/tlsrpt+json"), 200);
  EXPECT_EQ(Post(Report("pipe-1"), "application/tlsrpt+json"), 200);

  // The reports' own listener, HTTPS at any path (a rua of https://reports.example.net/).
  std::ofstream(dir_ / "report-3.json.gz", std::ios::binary) << GzipOf(Report("https-1"));
  const std::string post = "--cacert " + (dir_ / "ca.crt").string() + " --data-binary @" +
                           (dir_ / "report-3.json.gz").string() +
                           " -H 'Content-Type: application/tlsrpt+gzip' ";
  EXPECT_EQ(OnReportsListener(post + ReportsUrl("https")), "201");
  EXPECT_EQ(OnReportsListener(post + ReportsUrl("https")), "200") << "already stored";
  EXPECT_EQ(OnReportsListener(post + ReportsUrl("https") + "any/path"), "200");
  WriteFile(dir_ / "report-4.json", Report("https-json-1"));
  EXPECT_EQ(OnReportsListener("--cacert " + (dir_ / "ca.crt").string() + " --data-binary @" +
                              (dir_ / "report-4.json").string() +
                              " -H 'Content-Type: application/tlsrpt+json' " + ReportsUrl("https")),
            "201")
      << "JSON as well as gzip";
  EXPECT_EQ(WaitFor(kReports, 6), 6) << "the main listener's /metrics counts them";
  EXPECT_EQ(OnReportsListener(post + ReportsUrl("http")), "000") << "plain HTTP: no answer";
  const std::string ca = "--cacert " + (dir_ / "ca.crt").string() + " ";
  EXPECT_EQ(OnReportsListener(ca + ReportsUrl("https") + "metrics"), "404");
  EXPECT_EQ(OnReportsListener(ca + "-X DELETE " + ReportsUrl("https")), "405");
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
