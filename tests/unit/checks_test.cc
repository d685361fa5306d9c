// The pure halves of the collectors: each judgement from a fabricated observation, no network.
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <set>

#include "agent/report_json.h"
#include "base/rfc3339.h"
#include "collectors/check/domain_checker.h"
#include "collectors/mx/mx_check.h"
#include "collectors/policy/policy_check.h"
#include "collectors/sts/sts_check.h"
#include "collectors/tlsrpt/tlsrpt_check.h"

namespace mtasts {
namespace {

using dns::Presence;

std::set<std::string> Codes(const DomainReport& report) {
  std::set<std::string> codes;
  for (const auto& issue : report.issues) codes.insert(std::string(IssueCodeName(issue.code)));
  return codes;
}

dns::TxtAnswer Txt(std::vector<std::string> records) {
  return {records.empty() ? Presence::kNoData : Presence::kFound, std::move(records)};
}

constexpr const char* kGoodPolicy =
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\n"
    "mx: *.mail.example.com\nmax_age: 604800\n";

policy::PolicyRetrieval Fetched(int status, std::string body,
                                std::string content_type = "text/plain") {
  policy::PolicyRetrieval retrieval;
  retrieval.stage = policy::PolicyRetrieval::Stage::kFetched;
  net::FetchResult fetch;
  fetch.kind = net::FetchResult::Kind::kResponse;
  fetch.address = "192.0.2.1";
  fetch.response = net::HttpResponse{status, std::move(content_type), "", std::move(body)};
  retrieval.fetch = fetch;
  return retrieval;
}

policy::PolicyRetrieval Failed(net::FetchResult::Kind kind, std::string message) {
  policy::PolicyRetrieval retrieval;
  retrieval.stage = policy::PolicyRetrieval::Stage::kFetched;
  net::FetchResult fetch;
  fetch.kind = kind;
  fetch.message = std::move(message);
  retrieval.fetch = fetch;
  return retrieval;
}

TEST(StsCheck, JudgesEachAnswer) {
  struct Case {
    const char* name;
    Result<dns::TxtAnswer> answer;
    std::set<std::string> codes;
    bool valid;
  } cases[] = {
      {"valid", Txt({"v=STSv1; id=20240101T000000;"}), {}, true},
      {"nxdomain", dns::TxtAnswer{Presence::kNxDomain, {}}, {"sts_record_missing"}, false},
      {"nodata", Txt({}), {"sts_record_missing"}, false},
      {"only other records", Txt({"google-site-verification=x"}), {"sts_record_missing"}, false},
      {"two records", Txt({"v=STSv1; id=a1;", "v=STSv1; id=b2;"}), {"sts_record_invalid"}, false},
      {"bad id", Txt({"v=STSv1; id=2024-01-01;"}), {"sts_record_invalid"}, false},
      {"other records ignored", Txt({"spf", "v=STSv1; id=abc;"}), {}, true},
      {"servfail", Error{"TXT _mta-sts.example.com: SERVFAIL"}, {"dns_error"}, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    DomainReport report;
    sts::ApplyStsRecord("example.com", c.answer, report);
    EXPECT_EQ(Codes(report), c.codes);
    EXPECT_EQ(report.sts_record.valid, c.valid);
    EXPECT_EQ(report.check_complete, std::string(c.name) != "servfail");
  }
}

TEST(StsCheck, KeepsTheIdAndRecord) {
  DomainReport report;
  sts::ApplyStsRecord("example.com", Txt({"v=STSv1; id=abc123"}), report);
  EXPECT_EQ(report.sts_record.id, "abc123");
  EXPECT_EQ(report.sts_record.record, "v=STSv1; id=abc123");
}

TEST(TlsRptCheck, JudgesEachAnswer) {
  struct Case {
    const char* name;
    Result<dns::TxtAnswer> answer;
    std::set<std::string> codes;
  } cases[] = {
      {"valid", Txt({"v=TLSRPTv1; rua=mailto:r@example.com"}), {}},
      {"missing", dns::TxtAnswer{Presence::kNxDomain, {}}, {"tls_rpt_missing"}},
      {"unrelated", Txt({"v=spf1 -all"}), {"tls_rpt_missing"}},
      {"two",
       Txt({"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"}),
       {"tls_rpt_invalid"}},
      {"no rua", Txt({"v=TLSRPTv1;"}), {"tls_rpt_invalid"}},
      {"ftp only", Txt({"v=TLSRPTv1; rua=ftp://x.example.com/"}), {"tls_rpt_invalid"}},
      {"timeout", Error{"timed out"}, {"dns_error"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    DomainReport report;
    tlsrpt::ApplyTlsRpt("example.com", c.answer, report);
    EXPECT_EQ(Codes(report), c.codes);
  }
}

TEST(PolicyCheck, JudgesEachRetrieval) {
  using Kind = net::FetchResult::Kind;
  using Stage = policy::PolicyRetrieval::Stage;
  auto stage = [](Stage s, std::string message) {
    policy::PolicyRetrieval r;
    r.stage = s;
    r.message = std::move(message);
    return r;
  };
  struct Case {
    const char* name;
    policy::PolicyRetrieval retrieval;
    std::set<std::string> codes;
    bool found;
    bool valid;
  } cases[] = {
      {"good", Fetched(200, kGoodPolicy), {}, true, true},
      {"testing",
       Fetched(200, "version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 86400\n"),
       {"mode_testing"},
       true,
       true},
      {"none",
       Fetched(200, "version: STSv1\nmode: none\nmax_age: 86400\n"),
       {"mode_none"},
       true,
       true},
      {"short max_age",
       Fetched(200, "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 86399\n"),
       {"max_age_short"},
       true,
       true},
      {"text/html", Fetched(200, kGoodPolicy, "text/html"), {"policy_content_type"}, true, true},
      {"no media type", Fetched(200, kGoodPolicy, ""), {"policy_content_type"}, true, true},
      {"charset ok", Fetched(200, kGoodPolicy, "TEXT/Plain; charset=UTF-8"), {}, true, true},
      {"invalid", Fetched(200, "version: STSv2\nmode: enforce\n"), {"policy_invalid"}, true, false},
      {"404", Fetched(404, ""), {"policy_missing"}, false, false},
      {"410", Fetched(410, ""), {"policy_missing"}, false, false},
      {"301", Fetched(301, ""), {"policy_redirect"}, false, false},
      {"308", Fetched(308, ""), {"policy_redirect"}, false, false},
      {"500", Fetched(500, ""), {"policy_fetch_failed"}, false, false},
      {"206 is not 200", Fetched(206, kGoodPolicy), {"policy_fetch_failed"}, false, false},
      {"too large", Failed(Kind::kTooLarge, "too big"), {"policy_too_large"}, true, false},
      {"timeout", Failed(Kind::kTimeout, "slow"), {"policy_fetch_failed"}, false, false},
      {"refused", Failed(Kind::kConnectFailed, "refused"), {"policy_fetch_failed"}, false, false},
      {"tls", Failed(Kind::kTlsFailed, "tls 1.0"), {"policy_fetch_failed"}, false, false},
      {"cert", Failed(Kind::kCertificateInvalid, "bad cert"), {"policy_tls_invalid"}, false, false},
      {"no host", stage(Stage::kNoHost, "NXDOMAIN"), {"policy_missing"}, false, false},
      {"guard", stage(Stage::kRefused, "10.0.0.1 refused"), {"target_refused"}, false, false},
      {"dns", stage(Stage::kDnsError, "SERVFAIL"), {"dns_error"}, false, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    DomainReport report;
    policy::ApplyPolicy("example.com", c.retrieval, false, report);
    EXPECT_EQ(Codes(report), c.codes);
    EXPECT_EQ(report.policy.found, c.found);
    EXPECT_EQ(report.policy.valid, c.valid);
    EXPECT_EQ(report.policy.url, "https://mta-sts.example.com/.well-known/mta-sts.txt");
  }
}

TEST(PolicyCheck, AbsentPolicyIsNotReportedTwiceWhenTheRecordIsMissing) {
  DomainReport report;
  policy::ApplyPolicy("example.com", Fetched(404, ""), /*sts_record_missing=*/true, report);
  EXPECT_TRUE(report.issues.empty());
  EXPECT_TRUE(report.policy.error.has_value());
}

TEST(PolicyCheck, CertificateMessagesNameWhatWasPresented) {
  net::FetchResult fetch;
  fetch.kind = net::FetchResult::Kind::kCertificateInvalid;
  net::CertificateInfo cert;
  cert.verify_code = X509_V_ERR_HOSTNAME_MISMATCH;
  cert.dns_names = {"www.example.com"};
  fetch.certificate = cert;
  policy::PolicyRetrieval retrieval;
  retrieval.stage = policy::PolicyRetrieval::Stage::kFetched;
  retrieval.fetch = fetch;
  DomainReport report;
  policy::ApplyPolicy("example.com", retrieval, false, report);
  ASSERT_EQ(report.issues.size(), 1U);
  EXPECT_NE(report.issues[0].message.find(
                "mta-sts.example.com presents a certificate for www.example.com"),
            std::string::npos)
      << report.issues[0].message;
}

TEST(PolicyCheck, MediaType) {
  EXPECT_TRUE(policy::IsTextPlain("text/plain"));
  EXPECT_TRUE(policy::IsTextPlain("Text/Plain ; charset=us-ascii"));
  EXPECT_FALSE(policy::IsTextPlain("text/plainx"));
  EXPECT_FALSE(policy::IsTextPlain("text/html"));
  EXPECT_FALSE(policy::IsTextPlain(""));
}

DomainReport WithPolicy(const char* body) {
  DomainReport report;
  policy::ApplyPolicy("example.com", Fetched(200, body), false, report);
  return report;
}

dns::MxAnswer Mx(std::vector<std::string> hosts) {
  dns::MxAnswer answer{Presence::kFound, {}};
  std::uint16_t preference = 10;
  for (auto& host : hosts) answer.records.push_back({preference++, std::move(host)});
  return answer;
}

TEST(MxCheck, CoverageFollowsThePolicyMode) {
  auto report = WithPolicy(kGoodPolicy);
  mx::ApplyMx("example.com", Mx({"mx1.example.com", "a.mail.example.com", "backup.other.net"}),
              report);
  ASSERT_EQ(report.issues.size(), 1U);
  EXPECT_EQ(report.issues[0].code, IssueCode::kMxNotCovered);
  EXPECT_EQ(report.issues[0].severity, Severity::kCritical);
  EXPECT_EQ(report.mx.uncovered, std::vector<std::string>{"backup.other.net"});

  auto testing =
      WithPolicy("version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 604800\n");
  mx::ApplyMx("example.com", Mx({"other.example.net"}), testing);
  ASSERT_TRUE(testing.HasIssue(IssueCode::kMxNotCovered));
  for (const auto& issue : testing.issues) {
    if (issue.code == IssueCode::kMxNotCovered) {
      EXPECT_EQ(issue.severity, Severity::kHigh);
    }
  }

  auto none = WithPolicy("version: STSv1\nmode: none\nmax_age: 86400\n");
  mx::ApplyMx("example.com", Mx({"other.example.net"}), none);
  EXPECT_FALSE(none.HasIssue(IssueCode::kMxNotCovered));
}

TEST(MxCheck, MissingNullAndErrors) {
  auto report = WithPolicy(kGoodPolicy);
  mx::ApplyMx("example.com", dns::MxAnswer{Presence::kNoData, {}}, report);
  EXPECT_EQ(Codes(report), std::set<std::string>{"mx_missing"});

  auto null_mx = WithPolicy(kGoodPolicy);
  mx::ApplyMx("example.com", Mx({""}), null_mx);
  EXPECT_EQ(Codes(null_mx), std::set<std::string>{"mx_missing"});

  auto error = WithPolicy(kGoodPolicy);
  mx::ApplyMx("example.com", Error{"MX example.com: SERVFAIL"}, error);
  EXPECT_EQ(Codes(error), std::set<std::string>{"dns_error"});
  EXPECT_FALSE(error.check_complete);
}

TEST(Report, EnforcedNeedsRecordPolicyAndEnforceMode) {
  DomainReport report = WithPolicy(kGoodPolicy);
  sts::ApplyStsRecord("example.com", Txt({"v=STSv1; id=1;"}), report);
  FinishReport(report);
  EXPECT_TRUE(report.enforced);

  DomainReport no_record = WithPolicy(kGoodPolicy);
  sts::ApplyStsRecord("example.com", Txt({}), no_record);
  FinishReport(no_record);
  EXPECT_FALSE(no_record.enforced);

  DomainReport testing =
      WithPolicy("version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 604800\n");
  sts::ApplyStsRecord("example.com", Txt({"v=STSv1; id=1;"}), testing);
  FinishReport(testing);
  EXPECT_FALSE(testing.enforced);
}

TEST(Report, IssuesSortedMostSevereFirstAndOnePerCode) {
  DomainReport report;
  report.AddIssue(IssueCode::kTlsRptMissing, "low");
  report.AddIssue(IssueCode::kMxNotCovered, Severity::kCritical, "critical");
  report.AddIssue(IssueCode::kModeTesting, "medium");
  report.AddIssue(IssueCode::kDnsError, "first");
  report.AddIssue(IssueCode::kDnsError, "second");
  FinishReport(report);
  ASSERT_EQ(report.issues.size(), 4U);
  EXPECT_EQ(report.issues[0].severity, Severity::kCritical);
  EXPECT_EQ(report.issues[1].code, IssueCode::kDnsError);
  EXPECT_EQ(report.issues[1].message, "first; second");
  EXPECT_EQ(report.issues[2].severity, Severity::kMedium);
  EXPECT_EQ(report.issues[3].severity, Severity::kLow);
}

TEST(ReportJson, HasTheContractShapeWithNullsForUnknowns) {
  DomainReport report;
  report.domain = "example.com";
  policy::ApplyPolicy("example.com", Fetched(404, ""), false, report);
  sts::ApplyStsRecord("example.com", Txt({}), report);
  tlsrpt::ApplyTlsRpt("example.com", Txt({}), report);
  FinishReport(report);
  auto json = ReportToJson(report);
  EXPECT_EQ(json["domain"], "example.com");
  EXPECT_EQ(json["enforced"], false);
  EXPECT_TRUE(json["policy"]["mode"].is_null());
  EXPECT_TRUE(json["policy"]["max_age"].is_null());
  EXPECT_TRUE(json["policy"]["version"].is_null());
  EXPECT_TRUE(json["policy"]["mx"].is_array());
  EXPECT_EQ(json["policy"]["found"], false);
  EXPECT_TRUE(json["sts_record"]["record"].is_null());
  EXPECT_TRUE(json["sts_record"]["id"].is_null());
  EXPECT_EQ(json["tls_rpt"]["found"], false);
  EXPECT_TRUE(json["tls_rpt"]["record"].is_null());
  EXPECT_TRUE(json["tls_rpt"]["rua"].is_array());
  EXPECT_TRUE(json["mx"]["hosts"].is_array());
  EXPECT_TRUE(json["mx"]["uncovered"].is_array());
  ASSERT_TRUE(json["issues"].is_array());
  EXPECT_EQ(json["issues"][0]["severity"], "high");
}

TEST(ReportJson, Rfc3339Millis) {
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(1700000000123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace mtasts
