// The /metrics exposition of README "Metrics", rendered from hand-made snapshots: no network.
#include "agent/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "build_info.h"

namespace mtasts::agent {
namespace {

constexpr std::int64_t kCheckedAtMs = 1767225600123;  // 2026-01-01T00:00:00.123Z
constexpr std::int64_t kNextCheckMs = 1767229200000;  // one hour later

Issue MakeIssue(IssueCode code, Severity severity) {
  return {code, severity, std::string(IssueCodeName(code))};
}

// A report as the checker leaves it: every field filled directly.
DomainReport Report(const std::string& domain, std::optional<policy::Mode> mode,
                    std::vector<Issue> issues = {}) {
  DomainReport report;
  report.domain = domain;
  report.sts_record.found = true;
  report.sts_record.valid = true;
  report.sts_record.id = "20260101T000000";
  report.sts_record.record = "v=STSv1; id=20260101T000000;";
  report.policy.url = "https://mta-sts." + domain + "/.well-known/mta-sts.txt";
  if (mode.has_value()) {
    report.policy.found = true;
    report.policy.valid = true;
    report.policy.policy = policy::Policy{"STSv1", *mode, 604800, {"mx1." + domain}, {}};
  }
  report.tls_rpt.found = true;
  report.tls_rpt.valid = true;
  report.enforced = mode == policy::Mode::kEnforce;
  report.issues = std::move(issues);
  report.check_complete = true;
  report.checked_at_ms = kCheckedAtMs;
  report.duration_seconds = 0.25;
  return report;
}

DomainState Checked(DomainReport report, std::int64_t next_check_ms = 0,
                    std::uint64_t posture_changes = 0) {
  DomainState state;
  state.report = PackedReport(report);
  state.next_check_ms = next_check_ms;
  state.posture_changes = posture_changes;
  return state;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The value of the series written exactly as `series` (name plus labels in exposition order).
std::optional<double> Sample(const std::string& text, std::string_view series) {
  for (const auto& line : Lines(text)) {
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

bool Mentions(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

// Every contract family, with the outcome of a variety of postures.
// The STARTTLS probe results of a domain with two MX hosts: one good on both its addresses, one
// whose second address lacks STARTTLS; plus the policy host's certificate expiry.
DomainReport WithMxProbes(DomainReport report) {
  auto probe = [](std::string host, std::string address, bool tls, std::int64_t not_after) {
    MxProbe p;
    p.host = std::move(host);
    p.address = std::move(address);
    p.reachable = true;
    p.starttls = tls;
    if (tls) {
      p.cert_valid = true;
      p.cert_not_after = not_after;
    }
    return p;
  };
  report.mx.probed = true;
  report.mx.probes = {probe("mx1.clean.example", "192.0.2.1", true, 1769904000),
                      probe("mx1.clean.example", "2001:db8::1", true, 1769817600),
                      probe("mx2.clean.example", "192.0.2.2", true, 1769904000),
                      probe("mx2.clean.example", "192.0.2.3", false, 0)};
  MxProbe down;
  down.host = "mx3.clean.example";
  down.address = "192.0.2.4";
  report.mx.probes.push_back(down);  // unreachable: no series
  net::CertificateInfo policy_cert;
  policy_cert.verified = true;
  policy_cert.not_after = 1772323200;
  report.policy.certificate = policy_cert;
  return report;
}

Snapshot FullSnapshot() {
  Snapshot snapshot;
  snapshot.domains["clean.example"] =
      Checked(WithMxProbes(Report("clean.example", policy::Mode::kEnforce)), kNextCheckMs, 2);
  snapshot.domains["testing.example"] =
      Checked(Report("testing.example", policy::Mode::kTesting,
                     {MakeIssue(IssueCode::kModeTesting, Severity::kMedium),
                      MakeIssue(IssueCode::kMaxAgeShort, Severity::kLow),
                      MakeIssue(IssueCode::kTlsRptMissing, Severity::kLow)}),
              kNextCheckMs);
  DomainReport broken = Report("broken.example", std::nullopt,
                               {MakeIssue(IssueCode::kPolicyTlsInvalid, Severity::kHigh),
                                MakeIssue(IssueCode::kDnsError, Severity::kHigh)});
  broken.tls_rpt.found = false;
  broken.check_complete = false;
  broken.duration_seconds = 10.5;
  snapshot.domains["broken.example"] = Checked(std::move(broken), kNextCheckMs, 1);
  DomainState fresh;  // watched, not checked yet
  fresh.next_check_ms = kNextCheckMs;
  snapshot.domains["new.example"] = fresh;
  snapshot.webhooks["ops"] = {3, 1, 2};
  snapshot.webhooks["slack"] = {};
  tlsrpt::DomainTotals reported;
  reported.reports = 3;
  reported.sessions[{"sts", "success"}] = 1200;
  reported.sessions[{"sts", "failure"}] = 7;
  reported.sessions[{"no-policy-found", "success"}] = 40;
  reported.failed_by_result_type["certificate-expired"] = 5;
  reported.failed_by_result_type["other"] = 2;
  reported.last_end_time = 1772495999;
  snapshot.tlsrpt.domains["clean.example"] = reported;
  snapshot.tlsrpt.domains["unwatched.example"] = reported;  // stored, but nobody watches it
  snapshot.tlsrpt.rejected["malformed"] = 4;
  snapshot.tlsrpt.rejected["rate_limited"] = 1;
  return snapshot;
}

TEST(Metrics, EveryContractFamilyHasHelpTypeAndSeries) {
  Metrics metrics;
  metrics.ObserveCheckDuration(0.5);
  const std::string text = metrics.Render(FullSnapshot());
  struct Family {
    const char* name;
    const char* type;
  };
  const Family families[] = {
      {"mta_sts_enforced", "gauge"},
      {"mta_sts_mode", "gauge"},
      {"mta_sts_issues", "gauge"},
      {"mta_sts_issue", "gauge"},
      {"mta_sts_record_present", "gauge"},
      {"mta_sts_policy_valid", "gauge"},
      {"mta_sts_tls_rpt_present", "gauge"},
      {"mta_sts_policy_max_age_seconds", "gauge"},
      {"mta_sts_policy_info", "gauge"},
      {"mta_sts_check_success", "gauge"},
      {"mta_sts_last_check_timestamp_seconds", "gauge"},
      {"mta_sts_next_check_timestamp_seconds", "gauge"},
      {"mta_sts_last_check_duration_seconds", "gauge"},
      {"mta_sts_posture_changes_total", "counter"},
      {"mta_sts_webhook_deliveries_total", "counter"},
      {"mta_sts_webhook_queue_length", "gauge"},
      {"mta_sts_exporter_build_info", "gauge"},
      {"mta_sts_exporter_domains_watched", "gauge"},
      {"mta_sts_exporter_config_last_reload_successful", "gauge"},
      {"mta_sts_exporter_check_duration_seconds", "histogram"},
      {"mta_sts_mx_starttls", "gauge"},
      {"mta_sts_mx_cert_valid", "gauge"},
      {"mta_sts_mx_cert_expiry_timestamp_seconds", "gauge"},
      {"mta_sts_policy_cert_expiry_timestamp_seconds", "gauge"},
      {"mta_sts_exporter_internal_errors_total", "counter"},
      {"mta_sts_tlsrpt_reports_total", "counter"},
      {"mta_sts_tlsrpt_sessions_total", "counter"},
      {"mta_sts_tlsrpt_failed_sessions_total", "counter"},
      {"mta_sts_tlsrpt_last_report_timestamp_seconds", "gauge"},
      {"mta_sts_tlsrpt_rejected_total", "counter"},
  };
  for (const auto& family : families) {
    SCOPED_TRACE(family.name);
    const std::string name = family.name;
    EXPECT_TRUE(Mentions(text, "\n# TYPE " + name + " " + family.type + "\n") ||
                text.starts_with("# TYPE " + name + " " + family.type + "\n"));
    EXPECT_TRUE(Mentions(text, "# HELP " + name + " "));
    const std::string sample = std::string(family.type) == "histogram" ? name + "_count" : name;
    EXPECT_TRUE(Mentions(text, "\n" + sample + "{") || Mentions(text, "\n" + sample + " "));
  }
  // Per-domain series all carry the domain label, first.
  for (const auto& line : Lines(text)) {
    if (line.starts_with("#") || line.starts_with("mta_sts_exporter_") ||
        line.starts_with("mta_sts_webhook_") || line.starts_with("mta_sts_tlsrpt_rejected_")) {
      continue;
    }
    EXPECT_TRUE(line.find("{domain=\"") != std::string::npos) << line;
  }
}

// Exceptions caught at the top of a daemon thread: one series per kind of thread, all present
// from the start, and each recorded error is on the next render (the cache key moves too).
TEST(Metrics, InternalErrorsAreCountedPerThreadKind) {
  InternalErrors errors;
  const Metrics metrics(errors);
  std::string text = metrics.Render(Snapshot{});
  for (const char* kind : {"scheduler", "check", "webhook", "http", "persist"}) {
    EXPECT_EQ(Sample(text, std::string("mta_sts_exporter_internal_errors_total{thread=\"") + kind +
                               "\"}"),
              0)
        << kind << "\n"
        << text;
  }
  const std::uint64_t before = metrics.Generation();
  errors.Record(ThreadKind::kCheck, "boom");
  errors.Record(ThreadKind::kCheck, "");
  errors.Record(ThreadKind::kWebhook, "bang");
  EXPECT_NE(metrics.Generation(), before) << "a cached exposition must not hide a new error";
  text = metrics.Render(Snapshot{});
  EXPECT_EQ(Sample(text, R"(mta_sts_exporter_internal_errors_total{thread="check"})"), 2);
  EXPECT_EQ(Sample(text, R"(mta_sts_exporter_internal_errors_total{thread="webhook"})"), 1);
  EXPECT_EQ(Sample(text, R"(mta_sts_exporter_internal_errors_total{thread="http"})"), 0);
  EXPECT_TRUE(Mentions(text, "# TYPE mta_sts_exporter_internal_errors_total counter\n"));
}

// TLS-RPT counters: per watched domain only (a report may name domains nobody watches), bounded
// labels, and every rejection reason present from the start.
TEST(Metrics, TlsRptCountersForWatchedDomainsAndEveryRejectionReason) {
  const std::string text = Metrics().Render(FullSnapshot());
  EXPECT_EQ(Sample(text, R"(mta_sts_tlsrpt_reports_total{domain="clean.example"})"), 3);
  EXPECT_EQ(
      Sample(
          text,
          R"(mta_sts_tlsrpt_sessions_total{domain="clean.example",policy_type="sts",result="failure"})"),
      7);
  EXPECT_EQ(
      Sample(
          text,
          R"(mta_sts_tlsrpt_sessions_total{domain="clean.example",policy_type="no-policy-found",result="success"})"),
      40);
  EXPECT_EQ(
      Sample(
          text,
          R"(mta_sts_tlsrpt_failed_sessions_total{domain="clean.example",result_type="certificate-expired"})"),
      5);
  EXPECT_EQ(Sample(text, R"(mta_sts_tlsrpt_last_report_timestamp_seconds{domain="clean.example"})"),
            1772495999);
  EXPECT_FALSE(Mentions(text, "unwatched.example"));
  EXPECT_FALSE(Mentions(text, R"(mta_sts_tlsrpt_reports_total{domain="testing.example"})"))
      << "a domain without reports has no series";
  for (const char* reason : {"media_type", "too_large", "unwatched"}) {
    EXPECT_EQ(Sample(text, std::string("mta_sts_tlsrpt_rejected_total{reason=\"") + reason + "\"}"),
              0)
        << reason;
  }
  EXPECT_EQ(Sample(text, R"(mta_sts_tlsrpt_rejected_total{reason="malformed"})"), 4);
  EXPECT_EQ(Sample(text, R"(mta_sts_tlsrpt_rejected_total{reason="rate_limited"})"), 1);
}

TEST(Metrics, CountersKeepTheirTotalSuffixOnce) {
  const std::string text = Metrics().Render(FullSnapshot());
  EXPECT_FALSE(Mentions(text, "_total_total"));
  EXPECT_EQ(Sample(text, "mta_sts_posture_changes_total{domain=\"clean.example\"}"), 2);
}

TEST(Metrics, ModeIsAStateSet) {
  struct Case {
    const char* name;
    std::optional<policy::Mode> mode;
    const char* current;
  };
  const Case cases[] = {
      {"enforce", policy::Mode::kEnforce, "enforce"},
      {"testing", policy::Mode::kTesting, "testing"},
      {"none", policy::Mode::kNone, "none"},
      {"no valid policy", std::nullopt, "unknown"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Snapshot snapshot;
    snapshot.domains["d.example"] = Checked(Report("d.example", c.mode));
    const std::string text = Metrics().Render(snapshot);
    for (const char* value : {"enforce", "testing", "none", "unknown"}) {
      SCOPED_TRACE(value);
      const auto sample =
          Sample(text, std::string(R"(mta_sts_mode{domain="d.example",mode=")") + value + "\"}");
      ASSERT_TRUE(sample.has_value());
      EXPECT_EQ(*sample, std::string_view(value) == c.current ? 1 : 0);
    }
  }
}

TEST(Metrics, InvalidPolicyMeansUnknownModeEvenIfParsedEarlier) {
  DomainReport report = Report("d.example", policy::Mode::kEnforce);
  report.policy.valid = false;  // found, parsed once, but judged invalid
  Snapshot snapshot;
  snapshot.domains["d.example"] = Checked(report);
  const std::string text = Metrics().Render(snapshot);
  EXPECT_EQ(Sample(text, "mta_sts_mode{domain=\"d.example\",mode=\"unknown\"}"), 1);
  EXPECT_EQ(Sample(text, "mta_sts_mode{domain=\"d.example\",mode=\"enforce\"}"), 0);
  EXPECT_EQ(Sample(text, "mta_sts_policy_valid{domain=\"d.example\"}"), 0);
}

TEST(Metrics, AllFiveSeveritiesAlwaysPresent) {
  Snapshot snapshot;
  snapshot.domains["clean.example"] = Checked(Report("clean.example", policy::Mode::kEnforce));
  snapshot.domains["busy.example"] =
      Checked(Report("busy.example", policy::Mode::kEnforce,
                     {MakeIssue(IssueCode::kMxNotCovered, Severity::kCritical),
                      MakeIssue(IssueCode::kTlsRptMissing, Severity::kLow),
                      MakeIssue(IssueCode::kMaxAgeShort, Severity::kLow)}));
  const std::string text = Metrics().Render(snapshot);
  for (const char* severity : {"critical", "high", "medium", "low", "info"}) {
    SCOPED_TRACE(severity);
    EXPECT_EQ(Sample(text, std::string("mta_sts_issues{domain=\"clean.example\",severity=\"") +
                               severity + "\"}"),
              0);
  }
  const std::string busy = R"(mta_sts_issues{domain="busy.example",severity=")";
  EXPECT_EQ(Sample(text, busy + "critical\"}"), 1);
  EXPECT_EQ(Sample(text, busy + "high\"}"), 0);
  EXPECT_EQ(Sample(text, busy + "medium\"}"), 0);
  EXPECT_EQ(Sample(text, busy + "low\"}"), 2);
  EXPECT_EQ(Sample(text, busy + "info\"}"), 0);
}

TEST(Metrics, IssueSeriesAppearAndDisappear) {
  Metrics metrics;
  Snapshot snapshot;
  snapshot.domains["d.example"] =
      Checked(Report("d.example", policy::Mode::kTesting,
                     {MakeIssue(IssueCode::kModeTesting, Severity::kMedium),
                      MakeIssue(IssueCode::kTlsRptMissing, Severity::kLow)}));
  std::string text = metrics.Render(snapshot);
  EXPECT_EQ(Sample(text,
                   "mta_sts_issue{domain=\"d.example\",code=\"mode_testing\","
                   "severity=\"medium\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "mta_sts_issue{domain=\"d.example\",code=\"tls_rpt_missing\","
                   "severity=\"low\"}"),
            1);

  snapshot.domains["d.example"] = Checked(Report("d.example", policy::Mode::kEnforce));
  text = metrics.Render(snapshot);
  EXPECT_FALSE(Mentions(text, "mta_sts_issue{"));
  EXPECT_FALSE(Mentions(text, "# TYPE mta_sts_issue gauge"));  // no series, no family
  EXPECT_EQ(Sample(text, "mta_sts_issues{domain=\"d.example\",severity=\"medium\"}"), 0);
}

TEST(Metrics, RepeatedIssueYieldsOneSeries) {
  DomainReport report = Report("d.example", policy::Mode::kEnforce);
  report.issues = {MakeIssue(IssueCode::kDnsError, Severity::kHigh),
                   MakeIssue(IssueCode::kDnsError, Severity::kHigh)};
  Snapshot snapshot;
  snapshot.domains["d.example"] = Checked(report);
  const std::string text = Metrics().Render(snapshot);
  int series = 0;
  for (const auto& line : Lines(text)) series += line.starts_with("mta_sts_issue{") ? 1 : 0;
  EXPECT_EQ(series, 1);
}

TEST(Metrics, RemovedDomainLosesEverySeries) {
  Metrics metrics;
  Snapshot snapshot = FullSnapshot();
  ASSERT_TRUE(Mentions(metrics.Render(snapshot), "domain=\"testing.example\""));
  snapshot.domains.erase("testing.example");
  const std::string text = metrics.Render(snapshot);
  EXPECT_FALSE(Mentions(text, "testing.example"));
  EXPECT_TRUE(Mentions(text, "domain=\"clean.example\""));
  EXPECT_EQ(Sample(text, "mta_sts_exporter_domains_watched"), 3);
}

TEST(Metrics, MaxAgeOnlyWithAValidPolicy) {
  Snapshot snapshot;
  snapshot.domains["valid.example"] = Checked(Report("valid.example", policy::Mode::kTesting));
  snapshot.domains["nopolicy.example"] = Checked(Report("nopolicy.example", std::nullopt));
  const std::string text = Metrics().Render(snapshot);
  EXPECT_EQ(Sample(text, "mta_sts_policy_max_age_seconds{domain=\"valid.example\"}"), 604800);
  EXPECT_FALSE(Mentions(text, "mta_sts_policy_max_age_seconds{domain=\"nopolicy.example\"}"));
  EXPECT_EQ(Sample(text, "mta_sts_policy_valid{domain=\"nopolicy.example\"}"), 0);
}

TEST(Metrics, PolicyInfoCarriesWhatIsKnown) {
  Snapshot snapshot;
  snapshot.domains["both.example"] = Checked(Report("both.example", policy::Mode::kEnforce));
  snapshot.domains["idonly.example"] = Checked(Report("idonly.example", std::nullopt));
  DomainReport neither = Report("neither.example", std::nullopt);
  neither.sts_record = {};
  snapshot.domains["neither.example"] = Checked(neither);
  const std::string text = Metrics().Render(snapshot);
  EXPECT_EQ(Sample(text,
                   "mta_sts_policy_info{domain=\"both.example\",id=\"20260101T000000\","
                   "version=\"STSv1\"}"),
            1);
  EXPECT_EQ(Sample(text,
                   "mta_sts_policy_info{domain=\"idonly.example\",id=\"20260101T000000\","
                   "version=\"\"}"),
            1);
  EXPECT_FALSE(Mentions(text, "mta_sts_policy_info{domain=\"neither.example\""));
  EXPECT_EQ(Sample(text, "mta_sts_record_present{domain=\"neither.example\"}"), 0);
}

TEST(Metrics, UncheckedDomainHasOnlyPostureChangesAndNextCheck) {
  Snapshot snapshot;
  DomainState planned;
  planned.next_check_ms = kNextCheckMs;
  planned.posture_changes = 4;  // restored from state
  snapshot.domains["planned.example"] = planned;
  snapshot.domains["idle.example"] = DomainState{};
  const std::string text = Metrics().Render(snapshot);
  std::vector<std::string> planned_lines;
  std::vector<std::string> idle_lines;
  for (const auto& line : Lines(text)) {
    if (Mentions(line, "\"planned.example\"")) planned_lines.push_back(line);
    if (Mentions(line, "\"idle.example\"")) idle_lines.push_back(line);
  }
  EXPECT_EQ(planned_lines,
            (std::vector<std::string>{
                "mta_sts_next_check_timestamp_seconds{domain=\"planned.example\"} 1767229200",
                "mta_sts_posture_changes_total{domain=\"planned.example\"} 4"}));
  EXPECT_EQ(idle_lines,
            (std::vector<std::string>{"mta_sts_posture_changes_total{domain=\"idle.example\"} 0"}));
}

TEST(Metrics, CheckFieldsAndTimestamps) {
  const std::string text = Metrics().Render(FullSnapshot());
  EXPECT_EQ(Sample(text, "mta_sts_enforced{domain=\"clean.example\"}"), 1);
  EXPECT_EQ(Sample(text, "mta_sts_enforced{domain=\"testing.example\"}"), 0);
  EXPECT_EQ(Sample(text, "mta_sts_check_success{domain=\"clean.example\"}"), 1);
  EXPECT_EQ(Sample(text, "mta_sts_check_success{domain=\"broken.example\"}"), 0);
  EXPECT_EQ(Sample(text, "mta_sts_tls_rpt_present{domain=\"broken.example\"}"), 0);
  EXPECT_EQ(Sample(text, "mta_sts_record_present{domain=\"broken.example\"}"), 1);
  EXPECT_TRUE(Mentions(text,
                       "mta_sts_last_check_timestamp_seconds{domain=\"clean.example\"} "
                       "1767225600.123\n"));
  EXPECT_EQ(Sample(text, "mta_sts_last_check_duration_seconds{domain=\"broken.example\"}"), 10.5);
}

TEST(Metrics, WebhookCounters) {
  Snapshot snapshot;
  snapshot.webhooks["ops"] = {7, 2, 5};
  snapshot.webhooks["quiet"] = {};
  snapshot.webhooks["odd \"name\""] = {1, 0, 0};  // label values are escaped
  const std::string text = Metrics().Render(snapshot);
  EXPECT_EQ(Sample(text, "mta_sts_webhook_deliveries_total{webhook=\"ops\",result=\"success\"}"),
            7);
  EXPECT_EQ(Sample(text, "mta_sts_webhook_deliveries_total{webhook=\"ops\",result=\"failure\"}"),
            2);
  EXPECT_EQ(Sample(text, "mta_sts_webhook_queue_length{webhook=\"ops\"}"), 5);
  EXPECT_EQ(Sample(text, "mta_sts_webhook_deliveries_total{webhook=\"quiet\",result=\"success\"}"),
            0);
  EXPECT_EQ(Sample(text, "mta_sts_webhook_deliveries_total{webhook=\"quiet\",result=\"failure\"}"),
            0);
  EXPECT_EQ(Sample(text, "mta_sts_webhook_queue_length{webhook=\"quiet\"}"), 0);
  EXPECT_EQ(Sample(text,
                   "mta_sts_webhook_deliveries_total{webhook=\"odd \\\"name\\\"\","
                   "result=\"success\"}"),
            1);
}

TEST(Metrics, ExporterGauges) {
  Snapshot snapshot = FullSnapshot();
  snapshot.config_last_reload_successful = false;
  const std::string text = Metrics().Render(snapshot);
  EXPECT_EQ(Sample(text, "mta_sts_exporter_domains_watched"), 4);
  EXPECT_EQ(Sample(text, "mta_sts_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Sample(text, std::string("mta_sts_exporter_build_info{revision=\"") + kRevision +
                             "\",version=\"" + kVersion + "\"}"),
            1);
  EXPECT_EQ(Sample(Metrics().Render(Snapshot{}), "mta_sts_exporter_domains_watched"), 0);
}

TEST(Metrics, HistogramCountsEveryObservedCheck) {
  Metrics metrics;
  const std::string before = metrics.Render(Snapshot{});
  EXPECT_EQ(Sample(before, "mta_sts_exporter_check_duration_seconds_count"), 0);
  metrics.ObserveCheckDuration(0.02);
  metrics.ObserveCheckDuration(0.3);
  metrics.ObserveCheckDuration(45);
  metrics.ObserveCheckDuration(-1);  // ignored
  const std::string text = metrics.Render(Snapshot{});
  const std::string name = "mta_sts_exporter_check_duration_seconds";
  EXPECT_EQ(Sample(text, name + "_count"), 3);
  EXPECT_DOUBLE_EQ(*Sample(text, name + "_sum"), 45.32);
  EXPECT_EQ(Sample(text, name + "_bucket{le=\"0.01\"}"), 0);
  EXPECT_EQ(Sample(text, name + "_bucket{le=\"0.025\"}"), 1);
  EXPECT_EQ(Sample(text, name + "_bucket{le=\"0.5\"}"), 2);
  EXPECT_EQ(Sample(text, name + "_bucket{le=\"30\"}"), 2);
  EXPECT_EQ(Sample(text, name + "_bucket{le=\"+Inf\"}"), 3);
}

TEST(Metrics, SeriesSortedByDomainThenLabels) {
  const std::string text = Metrics().Render(FullSnapshot());
  std::vector<std::string> enforced;
  std::vector<std::string> modes;
  for (const auto& line : Lines(text)) {
    if (line.starts_with("mta_sts_enforced{")) enforced.push_back(line);
    if (line.starts_with("mta_sts_mode{domain=\"clean.example\"")) modes.push_back(line);
  }
  EXPECT_EQ(enforced, (std::vector<std::string>{
                          "mta_sts_enforced{domain=\"broken.example\"} 0",
                          "mta_sts_enforced{domain=\"clean.example\"} 1",
                          "mta_sts_enforced{domain=\"testing.example\"} 0",
                      }));
  EXPECT_EQ(modes, (std::vector<std::string>{
                       "mta_sts_mode{domain=\"clean.example\",mode=\"enforce\"} 1",
                       "mta_sts_mode{domain=\"clean.example\",mode=\"none\"} 0",
                       "mta_sts_mode{domain=\"clean.example\",mode=\"testing\"} 0",
                       "mta_sts_mode{domain=\"clean.example\",mode=\"unknown\"} 0",
                   }));
}

TEST(Metrics, MxSeriesFoldEachHostsAddresses) {
  const std::string text = Metrics().Render(FullSnapshot());
  for (
      const char* line : {
          R"(mta_sts_mx_starttls{domain="clean.example",mx="mx1.clean.example"} 1)",
          R"(mta_sts_mx_starttls{domain="clean.example",mx="mx2.clean.example"} 0)",
          R"(mta_sts_mx_cert_valid{domain="clean.example",mx="mx1.clean.example"} 1)",
          R"(mta_sts_mx_cert_valid{domain="clean.example",mx="mx2.clean.example"} 1)",
          // The earliest of the host's certificates (its IPv6 address ends a day sooner).
          R"(mta_sts_mx_cert_expiry_timestamp_seconds{domain="clean.example",mx="mx1.clean.example"} 1769817600)",
          R"(mta_sts_policy_cert_expiry_timestamp_seconds{domain="clean.example"} 1772323200)",
      }) {
    EXPECT_TRUE(Mentions(text, std::string("\n") + line + "\n")) << line << "\n" << text;
  }
  EXPECT_FALSE(Mentions(text, "mx3.clean.example")) << "an unreachable host has no series";
  EXPECT_FALSE(Mentions(text, R"(mta_sts_mx_starttls{domain="testing.example")"));
}

// The golden exposition: FullSnapshot with fixed observations, byte for byte. Regenerate with
// MTASTS_UPDATE_GOLDEN=1 after an intended change, and review the diff. The build_info values
// change with every commit, so they are replaced by placeholders on both sides.
TEST(Metrics, MatchesGoldenFile) {
  InternalErrors errors;  // not the process's: other tests in this binary may count there
  errors.Record(ThreadKind::kCheck, "golden");
  Metrics metrics(errors);
  for (double seconds : {0.004, 0.05, 0.3, 1.2, 12.0}) metrics.ObserveCheckDuration(seconds);
  std::string text = metrics.Render(FullSnapshot());
  const std::string build_info = std::string("mta_sts_exporter_build_info{revision=\"") +
                                 kRevision + "\",version=\"" + kVersion + "\"}";
  const auto at = text.find(build_info);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, build_info.size(),
               R"(mta_sts_exporter_build_info{revision="REVISION",version="VERSION"})");

  const std::string path = std::string(MTASTS_TESTDATA_DIR) + "/metrics/golden.prom";
  const char* update = std::getenv("MTASTS_UPDATE_GOLDEN");
  if (update != nullptr && std::string_view(update) == "1") {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    GTEST_SKIP() << "golden file rewritten: " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "cannot read " << path << " (MTASTS_UPDATE_GOLDEN=1 writes it)";
  std::ostringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(text, golden.str()) << "rerun with MTASTS_UPDATE_GOLDEN=1 to accept the new output";
}

}  // namespace
}  // namespace mtasts::agent

namespace mtasts::agent {
namespace {

// Families are written in chunks of domains (to bound the render's memory): across chunk
// boundaries each family must still have one HELP and one TYPE line, its series in order, none
// lost or repeated, also when the first chunks hold no series of a family.
TEST(Metrics, ManyDomainsRenderAsOneOrderedFamilyEach) {
  Snapshot snapshot;
  constexpr int kDomains = 2600;
  int with_issue = 0;
  for (int i = 0; i < kDomains; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "d%05d.example", i);
    std::vector<Issue> issues;
    if (i >= 1500 && i % 7 == 0) {  // none in the first chunk
      issues.push_back(MakeIssue(IssueCode::kModeTesting, Severity::kMedium));
      ++with_issue;
    }
    snapshot.domains[name] = Checked(
        Report(name, i % 11 == 0 ? std::nullopt : std::optional(policy::Mode::kEnforce), issues),
        kNextCheckMs);
  }
  const Metrics metrics;
  const std::string text = metrics.Render(snapshot);
  EXPECT_EQ(metrics.Render(snapshot), text);

  std::map<std::string, int> helps, types, series;
  std::map<std::string, std::string> last;  // per family, the previous series line
  for (const auto& line : Lines(text)) {
    std::istringstream words(line);
    std::string first, second;
    words >> first >> second;
    if (first == "#") {
      ++(line.starts_with("# HELP ") ? helps
                                     : types)[std::string(line.substr(7, line.find(' ', 7) - 7))];
      continue;
    }
    const std::string family = line.substr(0, line.find_first_of("{ "));
    ++series[family];
    if (family.starts_with("mta_sts_exporter_check_duration_seconds")) continue;  // by le
    EXPECT_LT(last[family], line) << "out of order in " << family;
    last[family] = line;
  }
  for (const auto& [family, count] : series) {
    if (family.find("_bucket") != std::string::npos || family.ends_with("_sum") ||
        family.ends_with("_count")) {
      continue;  // the histogram's parts share its HELP and TYPE
    }
    EXPECT_EQ(helps[family], 1) << family;
    EXPECT_EQ(types[family], 1) << family;
  }
  EXPECT_EQ(series["mta_sts_enforced"], kDomains);
  EXPECT_EQ(series["mta_sts_mode"], 4 * kDomains);
  EXPECT_EQ(series["mta_sts_issues"], 5 * kDomains);
  EXPECT_EQ(series["mta_sts_issue"], with_issue);
  EXPECT_EQ(series["mta_sts_policy_max_age_seconds"], kDomains - (kDomains + 10) / 11);
  EXPECT_EQ(series["mta_sts_next_check_timestamp_seconds"], kDomains);
}

}  // namespace
}  // namespace mtasts::agent

namespace mtasts::agent {
namespace {

// Lines of `text` for `family` (its HELP, TYPE and series).
std::vector<std::string> FamilyLines(const std::string& text, std::string_view family) {
  std::vector<std::string> out;
  for (const auto& line : Lines(text)) {
    std::string_view name = line;
    if (name.starts_with("# HELP ") || name.starts_with("# TYPE ")) name.remove_prefix(7);
    const auto end = name.find_first_of("{ ");
    if (name.substr(0, end) == family) out.push_back(line);
  }
  return out;
}

std::set<std::string> FamilyNames(const std::string& text) {
  std::set<std::string> names;
  for (const auto& line : Lines(text)) {
    if (line.starts_with("# TYPE ")) names.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  return names;
}

// /probe shows a report exactly as /metrics shows a watched domain's: the same families, HELP,
// TYPE, labels and values; only what a watched domain alone has (its schedule, its posture
// changes, webhooks, stored TLS-RPT reports, the process) is left out.
TEST(ProbeMetrics, SameFamiliesAndSeriesAsAWatchedDomain) {
  const DomainReport report =
      WithMxProbes(Report("clean.example", policy::Mode::kTesting,
                          {MakeIssue(IssueCode::kModeTesting, Severity::kMedium),
                           MakeIssue(IssueCode::kTlsRptMissing, Severity::kLow)}));
  Snapshot watched;
  watched.domains["clean.example"] = Checked(report, kNextCheckMs, 3);
  const std::string metrics = Metrics().Render(watched);
  const std::string probe = Metrics::RenderProbe("clean.example", report, 1.5);

  const std::set<std::string> only_watched = {"mta_sts_next_check_timestamp_seconds",
                                              "mta_sts_posture_changes_total"};
  std::set<std::string> per_domain;
  for (const auto& name : FamilyNames(metrics)) {
    if (only_watched.contains(name)) continue;
    const auto lines = FamilyLines(metrics, name);
    const bool has_domain = std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
      return l.find("{domain=\"clean.example\"") != std::string::npos;
    });
    if (has_domain) per_domain.insert(name);
  }
  ASSERT_GE(per_domain.size(), 15U) << metrics;
  for (const auto& name : per_domain) {
    SCOPED_TRACE(name);
    EXPECT_EQ(FamilyLines(probe, name), FamilyLines(metrics, name));
  }
  std::set<std::string> expected = per_domain;
  expected.insert({"mta_sts_probe_success", "mta_sts_probe_duration_seconds"});
  EXPECT_EQ(FamilyNames(probe), expected) << probe;
  EXPECT_EQ(Sample(probe,
                   "mta_sts_issue{domain=\"clean.example\",code=\"mode_testing\","
                   "severity=\"medium\"}"),
            1.0);
  EXPECT_EQ(Sample(probe, "mta_sts_probe_success"), 1.0);
  EXPECT_EQ(Sample(probe, "mta_sts_probe_duration_seconds"), 1.5);
  EXPECT_FALSE(Mentions(probe, "mta_sts_exporter_")) << "no process-level family in a probe";
}

TEST(ProbeMetrics, AnUnfinishedCheckIsAFailedProbe) {
  DomainReport report =
      Report("broken.example", std::nullopt, {MakeIssue(IssueCode::kDnsError, Severity::kHigh)});
  report.check_complete = false;
  const std::string probe = Metrics::RenderProbe("broken.example", report, 3.25);
  EXPECT_EQ(Sample(probe, "mta_sts_probe_success"), 0.0) << probe;
  EXPECT_EQ(Sample(probe, "mta_sts_check_success{domain=\"broken.example\"}"), 0.0);
  EXPECT_EQ(Sample(probe, "mta_sts_probe_duration_seconds"), 3.25);
  EXPECT_EQ(Sample(probe, "mta_sts_mode{domain=\"broken.example\",mode=\"unknown\"}"), 1.0);
  EXPECT_FALSE(Mentions(probe, "mta_sts_policy_max_age_seconds")) << "no valid policy";
  // A clock step cannot make a negative or NaN duration.
  EXPECT_EQ(Sample(Metrics::RenderProbe("broken.example", report, -1.0),
                   "mta_sts_probe_duration_seconds"),
            0.0);
}

}  // namespace
}  // namespace mtasts::agent
