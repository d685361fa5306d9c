// The report's JSON: the tree (ReportToJson) and the text written without it (ReportJsonText)
// are the same bytes, and that shape is the one README "Command line" documents.
#include "agent/report_json.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace mtasts {
namespace {

using nlohmann::json;

/// What `check --json` printed before the text was written without the tree: the tree's dump,
/// every line after the first `depth` levels further in.
std::string TreeText(const DomainReport& report, int depth) {
  const std::string text = ReportToJson(report).dump(2, ' ', false, json::error_handler_t::replace);
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  std::string out;
  for (const char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

/// A report with every field the JSON carries set, strings that need escaping included.
DomainReport Full() {
  DomainReport r;
  r.domain = "example.com";
  r.enforced = true;
  r.issues = {{IssueCode::kMxNotCovered, Severity::kHigh, "mx \"b\\c\" not\tcovered"},
              {IssueCode::kTlsRptMissing, Severity::kLow, "caf\xc3\xa9 \xff bad byte"}};
  r.sts_record = {true, true, "v=STSv1; id=20240101", "20240101", {"v=STSv1; id=20240101"}};
  policy::Policy parsed;
  parsed.version = "STSv1";
  parsed.mode = policy::Mode::kEnforce;
  parsed.max_age = 604800;
  parsed.mx = {"mx1.example.com", "*.example.net"};
  r.policy.found = true;
  r.policy.valid = true;
  r.policy.url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
  r.policy.policy = parsed;
  r.policy.http_status = 200;
  r.policy.content_type = "text/plain";
  r.policy.address = "192.0.2.10";
  net::CertificateInfo cert;
  cert.verified = false;
  cert.verify_error = "certificate has expired";
  cert.dns_names = {"mta-sts.example.com"};
  cert.subject = "CN=mta-sts.example.com";
  cert.issuer = "CN=Test CA, O=\x01";
  cert.not_after = 1767225600;
  r.policy.certificate = cert;
  r.tls_rpt = {true, true, "v=TLSRPTv1; rua=mailto:tls@example.com", {"mailto:tls@example.com"}};
  r.mx.hosts = {"mx1.example.com", "mx2.example.com"};
  r.mx.uncovered = {"mx2.example.com"};
  r.mx.probed = true;
  MxProbe probe;
  probe.host = "mx1.example.com";
  probe.address = "2001:db8::25";
  probe.reachable = true;
  probe.starttls = true;
  probe.tls_version = "TLSv1.3";
  probe.cipher = "TLS_AES_256_GCM_SHA384";
  probe.cert_valid = true;
  probe.cert_not_after = 1767225600;
  probe.cert_names = {"mx1.example.com"};
  r.mx.probes = {probe, MxProbe{"mx2.example.com",
                                "10.0.0.1",
                                true,
                                false,
                                false,
                                {},
                                {},
                                {},
                                {},
                                {},
                                {},
                                "refused by the SSRF guard"}};
  r.mx.dane = {{"mx1.example.com", true, true, {"3 1 1 abcdef"}, {}},
               {"mx2.example.com", false, false, {}, "SERVFAIL"}};
  r.check_complete = true;
  r.checked_at_ms = 1764720000123;
  r.duration_seconds = 0.25;
  r.history = HistoryReport{1764720000000, "20231231", std::nullopt, 1764723600000};
  return r;
}

TEST(ReportJson, TextIsTheTreesDumpByteForByte) {
  for (const DomainReport& report : {DomainReport{}, Full()}) {
    for (int depth : {0, 1, 3}) {
      EXPECT_EQ(ReportJsonText(report, depth), TreeText(report, depth)) << depth;
    }
  }
}

// The shape README "Command line" documents, pinned: the keys, their order (sorted, as
// nlohmann::json keeps them), nulls for what is unknown, the escapes.
TEST(ReportJson, FullReportHasTheDocumentedText) {
  EXPECT_EQ(ReportJsonText(Full()), R"({
  "check_success": true,
  "checked_at": "2025-12-03T00:00:00.123Z",
  "checked_at_ms": 1764720000123,
  "domain": "example.com",
  "duration_seconds": 0.25,
  "enforced": true,
  "history": {
    "mode_downgraded_at": null,
    "mode_downgraded_until": "2025-12-03T01:00:00.000Z",
    "policy_first_seen": "2025-12-03T00:00:00.000Z",
    "previous_id": "20231231"
  },
  "issues": [
    {
      "code": "mx_not_covered",
      "message": "mx \"b\\c\" not\tcovered",
      "severity": "high"
    },
    {
      "code": "tls_rpt_missing",
      "message": "café � bad byte",
      "severity": "low"
    }
  ],
  "mx": {
    "dane": [
      {
        "dnssec_validated": true,
        "error": null,
        "host": "mx1.example.com",
        "records": [
          "3 1 1 abcdef"
        ],
        "tlsa_present": true
      },
      {
        "dnssec_validated": false,
        "error": "SERVFAIL",
        "host": "mx2.example.com",
        "records": [],
        "tlsa_present": false
      }
    ],
    "hosts": [
      "mx1.example.com",
      "mx2.example.com"
    ],
    "probed": true,
    "probes": [
      {
        "address": "2001:db8::25",
        "cert_error": null,
        "cert_names": [
          "mx1.example.com"
        ],
        "cert_not_after": 1767225600,
        "cert_valid": true,
        "cipher": "TLS_AES_256_GCM_SHA384",
        "error": null,
        "host": "mx1.example.com",
        "reachable": true,
        "refused": false,
        "starttls": true,
        "tls_version": "TLSv1.3"
      },
      {
        "address": "10.0.0.1",
        "cert_error": null,
        "cert_names": [],
        "cert_not_after": null,
        "cert_valid": null,
        "cipher": null,
        "error": "refused by the SSRF guard",
        "host": "mx2.example.com",
        "reachable": false,
        "refused": true,
        "starttls": false,
        "tls_version": null
      }
    ],
    "uncovered": [
      "mx2.example.com"
    ]
  },
  "policy": {
    "address": "192.0.2.10",
    "cert_not_after": 1767225600,
    "certificate": {
      "dns_names": [
        "mta-sts.example.com"
      ],
      "error": "certificate has expired",
      "issuer": "CN=Test CA, O=\u0001",
      "not_after": "2026-01-01T00:00:00.000Z",
      "subject": "CN=mta-sts.example.com",
      "verified": false
    },
    "content_type": "text/plain",
    "error": null,
    "found": true,
    "http_status": 200,
    "max_age": 604800,
    "mode": "enforce",
    "mx": [
      "mx1.example.com",
      "*.example.net"
    ],
    "url": "https://mta-sts.example.com/.well-known/mta-sts.txt",
    "valid": true,
    "version": "STSv1"
  },
  "sts_record": {
    "found": true,
    "id": "20240101",
    "record": "v=STSv1; id=20240101",
    "records": [
      "v=STSv1; id=20240101"
    ],
    "valid": true
  },
  "tls_rpt": {
    "found": true,
    "record": "v=TLSRPTv1; rua=mailto:tls@example.com",
    "rua": [
      "mailto:tls@example.com"
    ],
    "valid": true
  }
})");
}

/// Random bytes, printable ASCII most of the time, sometimes anything (controls, UTF-8, bytes
/// that are no UTF-8 at all, quotes and backslashes).
std::string RandomText(std::mt19937& random) {
  std::uniform_int_distribution<int> length(0, 24);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> printable(0x20, 0x7e);
  const bool wild = random() % 4 == 0;
  std::string text;
  for (int i = length(random); i > 0; --i) {
    text += static_cast<char>(wild ? byte(random) : printable(random));
  }
  return text;
}

TEST(ReportJson, TextIsTheTreesDumpForRandomReports) {
  std::mt19937 random(20261203);
  auto maybe = [&](auto value) { return random() % 2 == 0 ? std::optional(value) : std::nullopt; };
  auto strings = [&] {
    std::vector<std::string> out(random() % 3);
    for (auto& s : out) s = RandomText(random);
    return out;
  };
  for (int round = 0; round < 500; ++round) {
    DomainReport r = Full();
    r.domain = RandomText(random);
    r.enforced = random() % 2 == 0;
    r.issues.resize(random() % 3, Issue{IssueCode::kPolicyMissing, Severity::kCritical, ""});
    for (auto& issue : r.issues) issue.message = RandomText(random);
    r.sts_record.record = maybe(RandomText(random));
    r.sts_record.id = maybe(RandomText(random));
    r.sts_record.candidates = strings();
    if (random() % 3 == 0) r.policy.policy.reset();
    r.policy.url = RandomText(random);
    r.policy.http_status = maybe(static_cast<int>(random() % 600));
    r.policy.error = maybe(RandomText(random));
    if (random() % 3 == 0) r.policy.certificate.reset();
    r.tls_rpt.rua = strings();
    r.mx.hosts = strings();
    r.mx.probes.resize(random() % 3);
    for (auto& p : r.mx.probes) p.cert_error = maybe(RandomText(random));
    r.mx.dane.resize(random() % 3);
    r.checked_at_ms = static_cast<std::int64_t>(random()) * 1000;
    r.duration_seconds = static_cast<double>(random()) / 1e6;
    if (random() % 2 == 0) r.history.reset();
    const int depth = static_cast<int>(random() % 3);
    ASSERT_EQ(ReportJsonText(r, depth), TreeText(r, depth)) << "round " << round;
  }
}

}  // namespace
}  // namespace mtasts
