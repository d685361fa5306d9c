// The pure halves of the MX probe: SMTP reply parsing, the STARTTLS keyword, the raw TLSA
// parser, and every judgement of ApplyMxObservation / ApplyPolicyCertExpiry. No network.
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agent/report_json.h"
#include "collectors/smtp/mx_probe_check.h"
#include "collectors/smtp/smtp_prober.h"

namespace mtasts::smtp {
namespace {

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kDay = 86400;

TEST(SmtpReply, ParsesCodesContinuationAndText) {
  struct Case {
    const char* line;
    bool ok;
    int code;
    bool last;
    const char* text;
  };
  const Case cases[] = {
      {"220 mx.example ESMTP", true, 220, true, "mx.example ESMTP"},
      {"250-PIPELINING", true, 250, false, "PIPELINING"},
      {"250 STARTTLS", true, 250, true, "STARTTLS"},
      {"250", true, 250, true, ""},
      {"554 5.7.1 go away", true, 554, true, "5.7.1 go away"},
      {"25", false, 0, false, ""},
      {"2x0 hello", false, 0, false, ""},
      {"250_PIPELINING", false, 0, false, ""},
      {"120 not a reply code", false, 0, false, ""},
      {"620 not a reply code", false, 0, false, ""},
      {"", false, 0, false, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    auto parsed = ParseReplyLine(c.line);
    ASSERT_EQ(parsed.has_value(), c.ok);
    if (!c.ok) continue;
    EXPECT_EQ(parsed->code, c.code);
    EXPECT_EQ(parsed->last, c.last);
    EXPECT_EQ(parsed->text, c.text);
  }
  EXPECT_FALSE(ParseReplyLine("250 " + std::string(3000, 'a')).has_value()) << "bounded";
}

TEST(SmtpReply, StarttlsIsAnExtensionKeywordNotTheGreeting) {
  EXPECT_TRUE(OffersStarttls({"mx.example", "PIPELINING", "STARTTLS", "8BITMIME"}));
  EXPECT_TRUE(OffersStarttls({"mx.example", "starttls"}));
  EXPECT_TRUE(OffersStarttls({"mx.example", "STARTTLS "}));
  EXPECT_FALSE(OffersStarttls({"STARTTLS"})) << "the first line is the greeting";
  EXPECT_FALSE(OffersStarttls({"mx.example", "PIPELINING", "XSTARTTLS", "STARTTLSX"}));
  EXPECT_FALSE(OffersStarttls({}));
}

// A DNS response: header, the question _25._tcp.mx.example TLSA, then `answers`.
std::vector<std::uint8_t> Response(std::uint8_t flags2, std::uint8_t flags3, int count,
                                   const std::vector<std::uint8_t>& answers) {
  std::vector<std::uint8_t> m = {
      0x12, 0x34, flags2, flags3, 0, 1, 0, static_cast<std::uint8_t>(count), 0, 0, 0, 0};
  const std::string name(
      "\x03_25\x04_tcp\x02mx\x07"
      "example",
      20);
  m.insert(m.end(), name.begin(), name.end());
  m.push_back(0);
  m.insert(m.end(), {0, 52, 0, 1});
  m.insert(m.end(), answers.begin(), answers.end());
  return m;
}

// One answer RR named by a pointer to the question name (offset 12).
std::vector<std::uint8_t> Rr(std::uint16_t type, const std::vector<std::uint8_t>& rdata) {
  std::vector<std::uint8_t> rr = {0xC0,
                                  12,
                                  static_cast<std::uint8_t>(type >> 8),
                                  static_cast<std::uint8_t>(type & 0xFF),
                                  0,
                                  1,
                                  0,
                                  0,
                                  0x0E,
                                  0x10,
                                  static_cast<std::uint8_t>(rdata.size() >> 8),
                                  static_cast<std::uint8_t>(rdata.size() & 0xFF)};
  rr.insert(rr.end(), rdata.begin(), rdata.end());
  return rr;
}

TEST(TlsaParser, ReadsRecordsAndTheAdBit) {
  std::vector<std::uint8_t> answers = Rr(5, {2, 'm', 'x', 0});  // a CNAME on the way
  auto tlsa = Rr(52, {3, 1, 1, 0xAB, 0xCD, 0xEF});
  answers.insert(answers.end(), tlsa.begin(), tlsa.end());
  auto m = Response(0x81, 0xA0, 2, answers);  // QR RD / RA AD
  auto parsed = dns::ParseTlsaResponse(m.data(), m.size());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->presence, dns::Presence::kFound);
  EXPECT_TRUE(parsed->authenticated);
  ASSERT_EQ(parsed->records.size(), 1U);
  EXPECT_EQ(TlsaToText(parsed->records[0]), "3 1 1 abcdef");

  auto unsigned_answer = Response(0x81, 0x80, 1, tlsa);  // RA only
  auto plain = dns::ParseTlsaResponse(unsigned_answer.data(), unsigned_answer.size());
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->authenticated);
}

TEST(TlsaParser, AbsenceAndMalformedAnswers) {
  auto nx = Response(0x81, 0x83, 0, {});
  auto parsed = dns::ParseTlsaResponse(nx.data(), nx.size());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->presence, dns::Presence::kNxDomain);

  auto nodata = Response(0x81, 0x80, 0, {});
  parsed = dns::ParseTlsaResponse(nodata.data(), nodata.size());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->presence, dns::Presence::kNoData);

  auto servfail = Response(0x81, 0x82, 0, {});
  EXPECT_FALSE(dns::ParseTlsaResponse(servfail.data(), servfail.size()));
  auto truncated = Response(0x83, 0x80, 0, {});
  EXPECT_FALSE(dns::ParseTlsaResponse(truncated.data(), truncated.size()));

  auto whole = Response(0x81, 0x80, 1, Rr(52, {3, 1, 1, 0xAB}));
  for (std::size_t cut : {std::size_t{5}, std::size_t{20}, whole.size() - 1}) {
    SCOPED_TRACE(cut);
    EXPECT_FALSE(dns::ParseTlsaResponse(whole.data(), cut)) << "runs past the end";
  }
  auto short_rdata = Response(0x81, 0x80, 1, Rr(52, {3, 1}));
  EXPECT_FALSE(dns::ParseTlsaResponse(short_rdata.data(), short_rdata.size()));
  auto loop = Response(0x81, 0x80, 1, {0x40, 0});  // a reserved label type
  EXPECT_FALSE(dns::ParseTlsaResponse(loop.data(), loop.size()));
}

DomainReport WithPolicy(std::optional<policy::Mode> mode) {
  DomainReport report;
  report.domain = "example.com";
  report.policy.url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
  if (mode) {
    report.policy.found = report.policy.valid = true;
    report.policy.policy = policy::Policy{"STSv1", *mode, 604800, {"mx.example.com"}, {}};
  }
  return report;
}

ProbeResult Tls(bool verified, int code, std::int64_t not_after,
                std::vector<std::string> names = {"mx.example.com"}) {
  ProbeResult r;
  r.outcome = ProbeResult::Outcome::kTls;
  r.tls_version = "TLSv1.3";
  r.cipher = "TLS_AES_256_GCM_SHA384";
  net::CertificateInfo cert;
  cert.verified = verified;
  cert.verify_code = code;
  cert.verify_error = verified ? "" : X509_verify_cert_error_string(code);
  cert.dns_names = std::move(names);
  cert.subject = "CN = mx.example.com";
  cert.issuer = "CN = Some CA";
  cert.not_after = not_after;
  r.certificate = cert;
  return r;
}

ProbeResult Failed(ProbeResult::Outcome outcome, std::string message) {
  ProbeResult r;
  r.outcome = outcome;
  r.message = std::move(message);
  return r;
}

MxObservation Observe(std::vector<ProbeResult> results) {
  MxObservation o;
  o.probed = true;
  HostObservation host;
  host.host = "mx.example.com";
  int i = 1;
  for (auto& r : results) host.probes.emplace_back("192.0.2." + std::to_string(i++), std::move(r));
  o.hosts.push_back(std::move(host));
  return o;
}

const Issue* Find(const DomainReport& report, IssueCode code) {
  for (const auto& issue : report.issues) {
    if (issue.code == code) return &issue;
  }
  return nullptr;
}

TEST(MxJudgement, SeverityOfMissingStarttlsAndBadCertificatesFollowsTheMode) {
  struct Case {
    std::optional<policy::Mode> mode;
    Severity starttls;
    Severity cert;
  };
  const Case cases[] = {
      {policy::Mode::kEnforce, Severity::kCritical, Severity::kCritical},
      {policy::Mode::kTesting, Severity::kHigh, Severity::kHigh},
      {policy::Mode::kNone, Severity::kHigh, Severity::kMedium},
      {std::nullopt, Severity::kHigh, Severity::kMedium},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mode ? std::string(policy::ModeName(*c.mode)) : "no policy");
    DomainReport report = WithPolicy(c.mode);
    ApplyMxObservation(
        Observe({Failed(ProbeResult::Outcome::kNoStarttls, "mx does not offer STARTTLS"),
                 Tls(false, X509_V_ERR_HOSTNAME_MISMATCH, kNow + 90 * kDay, {"other.example"})}),
        kNow, report);
    const Issue* starttls = Find(report, IssueCode::kMxStarttlsMissing);
    const Issue* cert = Find(report, IssueCode::kMxCertInvalid);
    ASSERT_NE(starttls, nullptr);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(starttls->severity, c.starttls);
    EXPECT_EQ(cert->severity, c.cert);
    EXPECT_NE(cert->message.find("other.example"), std::string::npos) << cert->message;
    EXPECT_NE(cert->message.find("must be valid for mx.example.com"), std::string::npos);
  }
}

TEST(MxJudgement, FailedHandshakeCountsAsNoStarttls) {
  DomainReport report = WithPolicy(policy::Mode::kEnforce);
  ApplyMxObservation(Observe({Failed(ProbeResult::Outcome::kTlsFailed, "handshake failed")}), kNow,
                     report);
  ASSERT_EQ(report.issues.size(), 1U);
  EXPECT_EQ(report.issues[0].code, IssueCode::kMxStarttlsMissing);
  ASSERT_EQ(report.mx.probes.size(), 1U);
  EXPECT_TRUE(report.mx.probes[0].reachable);
  EXPECT_FALSE(report.mx.probes[0].starttls);
}

TEST(MxJudgement, UnreachableAddressesAreMedium) {
  for (auto outcome : {ProbeResult::Outcome::kConnectFailed, ProbeResult::Outcome::kTimeout,
                       ProbeResult::Outcome::kProtocolError}) {
    DomainReport report = WithPolicy(policy::Mode::kEnforce);
    ApplyMxObservation(Observe({Failed(outcome, "cannot connect to mx")}), kNow, report);
    ASSERT_EQ(report.issues.size(), 1U);
    EXPECT_EQ(report.issues[0].code, IssueCode::kMxUnreachable);
    EXPECT_EQ(report.issues[0].severity, Severity::kMedium);
    EXPECT_FALSE(report.mx.probes[0].reachable);
    EXPECT_EQ(report.mx.probes[0].error, "cannot connect to mx");
  }
  DomainReport report = WithPolicy(policy::Mode::kEnforce);
  MxObservation o;
  o.probed = true;
  o.hosts.push_back({"mx.example.com",
                     "the MX host mx.example.com does not exist (NXDOMAIN)",
                     {},
                     {},
                     std::nullopt});
  ApplyMxObservation(o, kNow, report);
  ASSERT_NE(Find(report, IssueCode::kMxUnreachable), nullptr);
  EXPECT_EQ(report.mx.probes.size(), 1U);
}

// A host with a good and a dead address (a broken AAAA beside a good A): each address is reported
// as seen, the dead one as mx_unreachable (medium) whose message names the address that answered;
// the host stays valid for the rest (no STARTTLS or certificate issue).
TEST(MxJudgement, OneDeadAddressBesideAGoodOneIsUnreachableAndSaysWhoAnswered) {
  DomainReport report = WithPolicy(policy::Mode::kEnforce);
  MxObservation o;
  o.probed = true;
  HostObservation host;
  host.host = "mx.example.com";
  host.probes.emplace_back("192.0.2.1", Tls(true, X509_V_OK, kNow + 90 * kDay));
  host.probes.emplace_back("2001:db8::dead",
                           Failed(ProbeResult::Outcome::kConnectFailed,
                                  "cannot connect to mx.example.com (2001:db8::dead) port 25: "
                                  "Connection refused"));
  o.hosts.push_back(std::move(host));
  ApplyMxObservation(o, kNow, report);
  ASSERT_EQ(report.issues.size(), 1U);
  EXPECT_EQ(report.issues[0].code, IssueCode::kMxUnreachable);
  EXPECT_EQ(report.issues[0].severity, Severity::kMedium);
  const std::string& message = report.issues[0].message;
  EXPECT_NE(message.find("(2001:db8::dead) port 25: Connection refused; mx.example.com answered "
                         "on 192.0.2.1"),
            std::string::npos)
      << message;
  ASSERT_EQ(report.mx.probes.size(), 2U);
  EXPECT_EQ(report.mx.probes[0].address, "192.0.2.1");
  EXPECT_TRUE(report.mx.probes[0].starttls);
  EXPECT_EQ(report.mx.probes[1].address, "2001:db8::dead");
  EXPECT_FALSE(report.mx.probes[1].reachable);

  // Every address dead: the plain message, no "answered on".
  DomainReport dead = WithPolicy(policy::Mode::kEnforce);
  ApplyMxObservation(Observe({Failed(ProbeResult::Outcome::kConnectFailed, "refused"),
                              Failed(ProbeResult::Outcome::kTimeout, "timed out")}),
                     kNow, dead);
  ASSERT_FALSE(dead.issues.empty());
  for (const auto& issue : dead.issues) {
    EXPECT_EQ(issue.message.find("answered on"), std::string::npos) << issue.message;
  }
}

TEST(MxJudgement, CertificateExpiryWarnsUnderFourteenDays) {
  for (std::int64_t days : {0, 1, 13}) {
    DomainReport report = WithPolicy(policy::Mode::kEnforce);
    ApplyMxObservation(Observe({Tls(true, X509_V_OK, kNow + days * kDay + 60)}), kNow, report);
    const Issue* issue = Find(report, IssueCode::kMxCertExpiring);
    ASSERT_NE(issue, nullptr) << days;
    EXPECT_EQ(issue->severity, Severity::kMedium);
    EXPECT_NE(issue->message.find("in " + std::to_string(days) + " day"), std::string::npos)
        << issue->message;
  }
  DomainReport fine = WithPolicy(policy::Mode::kEnforce);
  ApplyMxObservation(Observe({Tls(true, X509_V_OK, kNow + 14 * kDay)}), kNow, fine);
  EXPECT_TRUE(fine.issues.empty());
  const MxProbe& probe = fine.mx.probes.at(0);
  EXPECT_TRUE(probe.starttls);
  EXPECT_EQ(probe.cert_valid, true);
  EXPECT_EQ(probe.tls_version, "TLSv1.3");
  EXPECT_EQ(probe.cert_not_after, kNow + 14 * kDay);
  EXPECT_EQ(probe.cert_names, std::vector<std::string>{"mx.example.com"});

  // An expired certificate is invalid, not "expiring".
  DomainReport expired = WithPolicy(policy::Mode::kEnforce);
  ApplyMxObservation(Observe({Tls(false, X509_V_ERR_CERT_HAS_EXPIRED, kNow - kDay)}), kNow,
                     expired);
  ASSERT_EQ(expired.issues.size(), 1U);
  EXPECT_EQ(expired.issues[0].code, IssueCode::kMxCertInvalid);
  EXPECT_NE(expired.issues[0].message.find("expired on 2025-12-31"), std::string::npos)
      << expired.issues[0].message;
}

TEST(MxJudgement, RefusedAddressesAreRecordedWithoutAnIssue) {
  DomainReport report = WithPolicy(policy::Mode::kEnforce);
  MxObservation o;
  o.probed = true;
  o.hosts.push_back(
      {"mx.example.com", std::nullopt, {"10.0.0.1: private range (RFC 1918)"}, {}, std::nullopt});
  ApplyMxObservation(o, kNow, report);
  EXPECT_TRUE(report.issues.empty());
  ASSERT_EQ(report.mx.probes.size(), 1U);
  EXPECT_TRUE(report.mx.probes[0].refused);
  EXPECT_EQ(report.mx.probes[0].address, "10.0.0.1");
}

TEST(MxJudgement, DaneIsReportedPerHostAndNotProbingAddsNoProbes) {
  DomainReport report = WithPolicy(policy::Mode::kEnforce);
  MxObservation o;  // probed = false: TLSA only
  dns::TlsaAnswer answer{dns::Presence::kFound, true, {{3, 1, 1, {0x01, 0xFF}}}};
  o.hosts.push_back({"mx.example.com", std::nullopt, {}, {}, Result<dns::TlsaAnswer>(answer)});
  o.hosts.push_back({"mx2.example.com",
                     std::nullopt,
                     {},
                     {},
                     Result<dns::TlsaAnswer>(Error{"TLSA _25._tcp.mx2.example.com: SERVFAIL"})});
  o.hosts.push_back(
      {"mx3.example.com",
       std::nullopt,
       {},
       {},
       Result<dns::TlsaAnswer>(dns::TlsaAnswer{dns::Presence::kNxDomain, false, {}})});
  ApplyMxObservation(o, kNow, report);
  EXPECT_FALSE(report.mx.probed);
  EXPECT_TRUE(report.mx.probes.empty());
  EXPECT_TRUE(report.issues.empty()) << "DANE is reported, not judged";
  ASSERT_EQ(report.mx.dane.size(), 3U);
  EXPECT_TRUE(report.mx.dane[0].tlsa_present);
  EXPECT_TRUE(report.mx.dane[0].dnssec_validated);
  EXPECT_EQ(report.mx.dane[0].records, std::vector<std::string>{"3 1 1 01ff"});
  EXPECT_EQ(report.mx.dane[1].error, "TLSA _25._tcp.mx2.example.com: SERVFAIL");
  EXPECT_FALSE(report.mx.dane[2].tlsa_present);
  EXPECT_FALSE(report.mx.dane[2].error.has_value());
}

TEST(PolicyCertExpiry, WarnsForAVerifiedCertificateUnderFourteenDays) {
  auto judge = [](bool verified, std::int64_t not_after) {
    DomainReport report = WithPolicy(policy::Mode::kEnforce);
    net::CertificateInfo cert;
    cert.verified = verified;
    cert.not_after = not_after;
    report.policy.certificate = cert;
    ApplyPolicyCertExpiry(kNow, report);
    return report;
  };
  DomainReport soon = judge(true, kNow + 3 * kDay);
  ASSERT_EQ(soon.issues.size(), 1U);
  EXPECT_EQ(soon.issues[0].code, IssueCode::kPolicyCertExpiring);
  EXPECT_EQ(soon.issues[0].severity, Severity::kMedium);
  EXPECT_NE(soon.issues[0].message.find("mta-sts.example.com"), std::string::npos);
  EXPECT_NE(soon.issues[0].message.find("in 3 days"), std::string::npos);
  EXPECT_TRUE(judge(true, kNow + 15 * kDay).issues.empty());
  EXPECT_TRUE(judge(false, kNow + 3 * kDay).issues.empty()) << "policy_tls_invalid covers it";
  DomainReport none = WithPolicy(policy::Mode::kEnforce);
  ApplyPolicyCertExpiry(kNow, none);
  EXPECT_TRUE(none.issues.empty());
}

TEST(MxReportJson, ProbesDaneAndPolicyExpiryRoundTrip) {
  DomainReport report = WithPolicy(policy::Mode::kEnforce);
  report.checked_at_ms = kNow * 1000;
  report.mx.hosts = {"mx.example.com"};
  net::CertificateInfo cert;
  cert.verified = true;
  cert.not_after = kNow + 30 * kDay;
  report.policy.certificate = cert;
  MxObservation o = Observe({Tls(true, X509_V_OK, kNow + 40 * kDay),
                             Failed(ProbeResult::Outcome::kNoStarttls, "no STARTTLS")});
  o.hosts[0].tlsa =
      Result<dns::TlsaAnswer>(dns::TlsaAnswer{dns::Presence::kFound, false, {{3, 1, 1, {0xAA}}}});
  ApplyMxObservation(o, kNow, report);

  const nlohmann::json json = ReportToJson(report);
  EXPECT_EQ(json["policy"]["cert_not_after"], kNow + 30 * kDay);
  EXPECT_EQ(json["mx"]["probed"], true);
  ASSERT_EQ(json["mx"]["probes"].size(), 2U);
  EXPECT_EQ(json["mx"]["probes"][0]["cipher"], "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(json["mx"]["probes"][1]["cert_valid"], nullptr);
  EXPECT_EQ(json["mx"]["dane"][0]["records"][0], "3 1 1 aa");

  auto back = ReportFromJson(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(ReportToJson(*back)["mx"], json["mx"]);
  EXPECT_EQ(back->policy.certificate->not_after, kNow + 30 * kDay);

  // A report saved before the probe existed still loads.
  nlohmann::json old = json;
  old["mx"] = {{"hosts", {"mx.example.com"}}, {"uncovered", nlohmann::json::array()}};
  auto legacy = ReportFromJson(old);
  ASSERT_TRUE(legacy) << legacy.error().message;
  EXPECT_FALSE(legacy->mx.probed);
  EXPECT_TRUE(legacy->mx.probes.empty());
}

}  // namespace
}  // namespace mtasts::smtp
