// The TLS-RPT report parser (collectors/tlsrpt/report/report_parser.h): RFC 8460 §4 reports as
// real reporters send them, and every refusal with its reason.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/tlsrpt/report/report_parser.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::tlsrpt {
namespace {

using mtasts::test::ReadTlsRptTestData;

std::string Lowered(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

Report MustParse(const std::string& json) {
  auto parsed = ParseReport(json);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return parsed ? parsed.value() : Report{};
}

// A minimal valid report as a JSON tree, for the refusal cases to break one field at a time.
nlohmann::json Minimal() {
  return nlohmann::json::parse(R"({
    "organization-name": "Org", "report-id": "r-1",
    "date-range": {"start-datetime": "2026-03-01T00:00:00Z", "end-datetime": "2026-03-01T23:59:59Z"},
    "policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.com"},
                  "summary": {"total-successful-session-count": 1, "total-failure-session-count": 1},
                  "failure-details": [{"result-type": "certificate-expired", "failed-session-count": 1}]}]
  })");
}

TEST(ParseReport, Rfc8460AppendixB) {
  const Report r = MustParse(ReadTlsRptTestData("rfc8460-appendix-b.json"));
  EXPECT_EQ(r.organization_name, "Company-X");
  EXPECT_EQ(r.report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
  EXPECT_EQ(r.contact_info, "sts-reporting@company-x.example");
  EXPECT_EQ(r.start_time, 1459468800);  // 2016-04-01T00:00:00Z
  EXPECT_EQ(r.end_time, 1459555199);
  ASSERT_EQ(r.policies.size(), 1U);
  const PolicyResult& p = r.policies[0];
  EXPECT_EQ(p.policy_type, PolicyType::kSts);
  EXPECT_EQ(p.policy_domain, "company-y.example");
  EXPECT_EQ(p.policy_string,
            (std::vector<std::string>{"version: STSv1", "mode: testing",
                                      "mx: *.mail.company-y.example", "max_age: 86400"}));
  // The original example: mx-host as one string.
  EXPECT_EQ(p.mx_host, std::vector<std::string>{"*.mail.company-y.example"});
  EXPECT_EQ(p.successful_sessions, 5326);
  EXPECT_EQ(p.failed_sessions, 303);
  ASSERT_EQ(p.failure_details.size(), 3U);
  EXPECT_EQ(p.failure_details[0].result_type, ResultType::kCertificateExpired);
  EXPECT_EQ(p.failure_details[0].sending_mta_ip, "2001:db8:abcd:0012::1");
  EXPECT_EQ(p.failure_details[1].receiving_ip, "203.0.113.56");
  EXPECT_EQ(p.failure_details[1].result_type, ResultType::kStarttlsNotSupported);
  EXPECT_NE(p.failure_details[1].additional_information.find("StarttlsNotSupported"),
            std::string::npos);
  // The example's "failure-error-code" is read as the field list's "failure-reason-code".
  EXPECT_EQ(p.failure_details[2].failure_reason_code, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
  EXPECT_EQ(p.detail_failed_sessions, 303);
  EXPECT_FALSE(p.CountsDisagree());
  EXPECT_TRUE(r.notes.empty());
}

TEST(ParseReport, GoogleShapeWithoutMxHostOrSendingIp) {
  const Report r = MustParse(ReadTlsRptTestData("google-sts.json"));
  EXPECT_EQ(r.organization_name, "Google Inc.");
  ASSERT_EQ(r.policies.size(), 1U);
  EXPECT_TRUE(r.policies[0].mx_host.empty());
  ASSERT_EQ(r.policies[0].failure_details.size(), 1U);
  const FailureDetail& d = r.policies[0].failure_details[0];
  EXPECT_EQ(d.result_type, ResultType::kCertificateHostMismatch);
  EXPECT_EQ(d.sending_mta_ip, "");
  EXPECT_EQ(d.receiving_mx_hostname, "mx2.example.com");
  EXPECT_EQ(d.failed_session_count, 12);
}

TEST(ParseReport, MicrosoftShapeMxHostList) {
  // RFC 8460 erratum: mx-host is a list of patterns.
  const Report r = MustParse(ReadTlsRptTestData("microsoft-sts.json"));
  ASSERT_EQ(r.policies.size(), 1U);
  EXPECT_EQ(r.policies[0].mx_host,
            (std::vector<std::string>{"mx1.example.com", "mx2.example.com"}));
  EXPECT_TRUE(r.policies[0].failure_details.empty());
  EXPECT_EQ(r.TotalSuccessfulSessions(), 311);
}

TEST(ParseReport, NoPolicyFoundAndDomainNormalised) {
  const Report r = MustParse(ReadTlsRptTestData("no-policy-found.json"));
  EXPECT_EQ(r.policies[0].policy_type, PolicyType::kNoPolicyFound);
  EXPECT_EQ(r.policies[0].policy_domain, "example.org");  // was "Example.ORG."
}

TEST(ParseReport, ToleratesWhatRealReportersSend) {
  const Report r = MustParse(ReadTlsRptTestData("tolerant.json"));
  EXPECT_EQ(r.contact_info, "");        // null
  EXPECT_EQ(r.start_time, 1772582400);  // no zone: UTC
  EXPECT_EQ(r.end_time, 1772668799);    // fraction dropped
  const PolicyResult& p = r.policies[0];
  EXPECT_EQ(p.policy_type, PolicyType::kSts);  // "STS"
  EXPECT_EQ(p.policy_type_raw, "STS");
  ASSERT_EQ(p.failure_details.size(), 3U);
  EXPECT_EQ(p.failure_details[0].receiving_mx_hostname, "mx1.example.com");  // "MX1.Example.COM."
  EXPECT_EQ(p.failure_details[1].failure_reason_code, "unable to get local issuer certificate");
  EXPECT_EQ(p.failure_details[2].result_type, ResultType::kOther);
  EXPECT_EQ(p.failure_details[2].result_type_raw, "bogus-new-type");
  // Summary says 10 failed sessions, the details add up to 8: both kept, and said.
  EXPECT_EQ(p.failed_sessions, 10);
  EXPECT_EQ(p.detail_failed_sessions, 8);
  EXPECT_TRUE(p.CountsDisagree());
  bool zone_note = false;
  bool mismatch_note = false;
  for (const auto& note : r.notes) {
    zone_note |= note.find("without a zone") != std::string::npos;
    mismatch_note |=
        note.find("summary counts 10 failed sessions, failure-details 8") != std::string::npos;
  }
  EXPECT_TRUE(zone_note);
  EXPECT_TRUE(mismatch_note);
}

TEST(ParseReport, MapsEveryResultTypeOfRfc8460Section43) {
  const std::vector<std::pair<std::string, ResultType>> cases = {
      {"starttls-not-supported", ResultType::kStarttlsNotSupported},
      {"certificate-host-mismatch", ResultType::kCertificateHostMismatch},
      {"certificate-expired", ResultType::kCertificateExpired},
      {"certificate-not-trusted", ResultType::kCertificateNotTrusted},
      {"validation-failure", ResultType::kValidationFailure},
      {"tlsa-invalid", ResultType::kTlsaInvalid},
      {"dnssec-invalid", ResultType::kDnssecInvalid},
      {"dane-required", ResultType::kDaneRequired},
      {"sts-policy-fetch-error", ResultType::kStsPolicyFetchError},
      {"sts-policy-invalid", ResultType::kStsPolicyInvalid},
      {"sts-webpki-invalid", ResultType::kStsWebpkiInvalid},
      {"Certificate-Expired", ResultType::kCertificateExpired},
      {"certificate_expired", ResultType::kOther},
      {"", ResultType::kOther},
      {"sts-policy-fetch-error ", ResultType::kOther},
  };
  for (const auto& [text, type] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseResultType(text), type);
    if (type != ResultType::kOther) {
      EXPECT_EQ(ResultTypeName(type), Lowered(text));
    }
  }
  EXPECT_EQ(ResultTypeName(ResultType::kOther), "other");
}

TEST(ParseReport, MapsPolicyTypes) {
  EXPECT_EQ(ParsePolicyType("sts"), PolicyType::kSts);
  EXPECT_EQ(ParsePolicyType("tlsa"), PolicyType::kTlsa);
  EXPECT_EQ(ParsePolicyType("no-policy-found"), PolicyType::kNoPolicyFound);
  EXPECT_EQ(ParsePolicyType("dane"), PolicyType::kOther);
  EXPECT_EQ(PolicyTypeName(PolicyType::kNoPolicyFound), "no-policy-found");
  EXPECT_EQ(PolicyTypeName(PolicyType::kOther), "other");
}

struct Refusal {
  std::string name;
  std::function<void(nlohmann::json&)> edit;
  std::string reason;  // a part of the refusal message
};

TEST(ParseReport, RefusesEachMissingOrBadFieldNamingIt) {
  using J = nlohmann::json;
  const std::vector<Refusal> cases = {
      {"no organization-name", [](J& j) { j.erase("organization-name"); },
       "organization-name: missing"},
      {"null organization-name", [](J& j) { j["organization-name"] = nullptr; },
       "organization-name: missing"},
      {"empty organization-name", [](J& j) { j["organization-name"] = ""; },
       "organization-name: empty"},
      {"numeric organization-name", [](J& j) { j["organization-name"] = 5; },
       "organization-name: not a string"},
      {"no report-id", [](J& j) { j.erase("report-id"); }, "report-id: missing"},
      {"contact-info a number", [](J& j) { j["contact-info"] = 1; }, "contact-info: not a string"},
      {"no date-range", [](J& j) { j.erase("date-range"); }, "date-range: missing"},
      {"date-range a string", [](J& j) { j["date-range"] = "yesterday"; },
       "date-range: not an object"},
      {"no start", [](J& j) { j["date-range"].erase("start-datetime"); },
       "date-range.start-datetime: missing"},
      {"no end", [](J& j) { j["date-range"].erase("end-datetime"); },
       "date-range.end-datetime: missing"},
      {"bad end", [](J& j) { j["date-range"]["end-datetime"] = "2026-02-30T00:00:00Z"; },
       "date-range.end-datetime: not an RFC 3339 date-time"},
      {"end before start", [](J& j) { j["date-range"]["end-datetime"] = "2026-02-28T00:00:00Z"; },
       "end-datetime before start-datetime"},
      {"no policies", [](J& j) { j.erase("policies"); }, "policies: missing"},
      {"policies an object", [](J& j) { j["policies"] = J::object(); }, "policies: not an array"},
      {"empty policies", [](J& j) { j["policies"] = J::array(); }, "policies: empty"},
      {"policy entry a number", [](J& j) { j["policies"][0] = 3; }, "policies[0]: not an object"},
      {"no policy", [](J& j) { j["policies"][0].erase("policy"); }, "policies[0].policy: missing"},
      {"no policy-type", [](J& j) { j["policies"][0]["policy"].erase("policy-type"); },
       "policies[0].policy.policy-type: missing"},
      {"no policy-domain", [](J& j) { j["policies"][0]["policy"].erase("policy-domain"); },
       "policies[0].policy.policy-domain: missing"},
      {"policy-domain an IP",
       [](J& j) { j["policies"][0]["policy"]["policy-domain"] = "192.0.2.1"; },
       "policies[0].policy.policy-domain"},
      {"mx-host a number", [](J& j) { j["policies"][0]["policy"]["mx-host"] = 1; },
       "policies[0].policy.mx-host: neither a string nor a list of strings"},
      {"mx-host list with a number",
       [](J& j) {
         j["policies"][0]["policy"]["mx-host"] = J::array({"a.example", 2});
       },
       "policies[0].policy.mx-host[1]: not a string"},
      {"no summary", [](J& j) { j["policies"][0].erase("summary"); },
       "policies[0].summary: missing"},
      {"no success count",
       [](J& j) { j["policies"][0]["summary"].erase("total-successful-session-count"); },
       "policies[0].summary.total-successful-session-count: missing"},
      {"no failure count",
       [](J& j) { j["policies"][0]["summary"].erase("total-failure-session-count"); },
       "policies[0].summary.total-failure-session-count: missing"},
      {"negative count",
       [](J& j) { j["policies"][0]["summary"]["total-successful-session-count"] = -1; },
       "total-successful-session-count: negative count"},
      {"fractional count",
       [](J& j) { j["policies"][0]["summary"]["total-successful-session-count"] = 1.5; },
       "total-successful-session-count: not an integer"},
      {"count as a string",
       [](J& j) { j["policies"][0]["summary"]["total-successful-session-count"] = "5"; },
       "total-successful-session-count: not a number"},
      {"count over 10^12",
       [](J& j) { j["policies"][0]["summary"]["total-failure-session-count"] = 1'000'000'000'001; },
       "total-failure-session-count: count 1000000000001 above 1000000000000"},
      {"count beyond 64 bits",
       [](J& j) { j["policies"][0]["summary"]["total-failure-session-count"] = 1e30; },
       "total-failure-session-count: not an integer"},
      {"failure-details an object", [](J& j) { j["policies"][0]["failure-details"] = J::object(); },
       "policies[0].failure-details: not an array"},
      {"detail without result-type",
       [](J& j) { j["policies"][0]["failure-details"][0].erase("result-type"); },
       "policies[0].failure-details[0].result-type: missing"},
      {"detail without count",
       [](J& j) { j["policies"][0]["failure-details"][0].erase("failed-session-count"); },
       "policies[0].failure-details[0].failed-session-count: missing"},
      {"detail with a negative count",
       [](J& j) { j["policies"][0]["failure-details"][0]["failed-session-count"] = -3; },
       "failed-session-count: negative count"},
      {"hostname over 1 KiB",
       [](J& j) {
         j["policies"][0]["failure-details"][0]["receiving-mx-hostname"] = std::string(1025, 'a');
       },
       "receiving-mx-hostname: longer than 1024 octets"},
      {"report-id over 1 KiB", [](J& j) { j["report-id"] = std::string(2000, 'r'); },
       "report-id: longer than 1024 octets"},
      {"summed success over 10^12",
       [](J& j) {
         J second = j["policies"][0];
         j["policies"][0]["summary"]["total-successful-session-count"] = 600'000'000'000;
         second["summary"]["total-successful-session-count"] = 600'000'000'000;
         j["policies"].push_back(second);
       },
       "policies: session counts add up to more than 1000000000000"},
      {"summed details over 10^12",
       [](J& j) {
         auto& details = j["policies"][0]["failure-details"];
         details[0]["failed-session-count"] = 900'000'000'000;
         details.push_back(details[0]);
       },
       "policies[0].failure-details: failed-session-counts add up to more than"},
      {"not an object",
       [](J& j) {
         j = J::array({1, 2});
       },
       "the JSON is not an object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    nlohmann::json j = Minimal();
    c.edit(j);
    auto parsed = ParseReport(j.dump());
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find(c.reason), std::string::npos) << parsed.error().message;
  }
  // And the unbroken one parses.
  EXPECT_TRUE(ParseReport(Minimal().dump()).has_value());
}

TEST(ParseReport, RefusesTextThatIsNotJson) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"{\"a\":1} trailing", "not JSON"},
      {"\x1f\x8b\x08\x00", "not JSON"},
      {"{\"organization-name\":\"a\xff\"}", "not JSON"},  // invalid UTF-8
      {"{\"a\":1,\"a\":2}", "duplicate key \"a\""},
  };
  for (const auto& [text, reason] : cases) {
    SCOPED_TRACE(text);
    auto parsed = ParseReport(text);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find(reason), std::string::npos) << parsed.error().message;
  }
}

TEST(ParseReport, RefusesDeepNestingWithoutDescending) {
  // A 1 MB "[[[[..." and "{"a":{"a":..." must be refused at depth 33, not parsed into a tree (or
  // through a recursion) a million levels deep; ASan would see a stack overflow.
  for (const std::string& open : {std::string("["), std::string("{\"a\":")}) {
    SCOPED_TRACE(open);
    std::string deep;
    while (deep.size() < 1'000'000) deep += open;
    auto parsed = ParseReport(deep);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("nested deeper than 32"), std::string::npos)
        << parsed.error().message;
  }
  // Inside a report, in an extension field: refused the same way.
  nlohmann::json j = Minimal();
  std::string nested = "1";
  for (int i = 0; i < 40; ++i) nested = "[" + nested + "]";
  std::string text = j.dump();
  text.insert(1, "\"x-deep\":" + nested + ",");
  auto parsed = ParseReport(text);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message.find("nested deeper"), std::string::npos);
  // 31 levels of extension inside the top object (32 in all) are fine.
  nested = "1";
  for (int i = 0; i < 31; ++i) nested = "[" + nested + "]";
  text = j.dump();
  text.insert(1, "\"x-deep\":" + nested + ",");
  EXPECT_TRUE(ParseReport(text).has_value());
}

TEST(ParseReport, RefusesTooManyValuesPoliciesAndDetails) {
  {
    // A flat list of empty objects costs far more as a tree than as text.
    std::string flat = "{\"x\":[";
    for (int i = 0; i < 300'000; ++i) flat += i == 0 ? "{}" : ",{}";
    flat += "]}";
    auto parsed = ParseReport(flat);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("more than 250000 JSON values"), std::string::npos);
  }
  {
    nlohmann::json j = Minimal();
    const nlohmann::json one = j["policies"][0];
    for (int i = 0; i < 1000; ++i) j["policies"].push_back(one);
    auto parsed = ParseReport(j.dump());
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().message, "policies: more than 1000");
  }
  {
    nlohmann::json j = Minimal();
    auto& details = j["policies"][0]["failure-details"];
    const nlohmann::json one = details[0];
    for (int i = 0; i < 10'000; ++i) details.push_back(one);
    auto parsed = ParseReport(j.dump());
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("more than 10000 failure details"), std::string::npos);
  }
  {
    nlohmann::json j = Minimal();
    for (int i = 0; i < 201; ++i) j["policies"][0]["policy"]["mx-host"].push_back("mx.example");
    auto parsed = ParseReport(j.dump());
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message.find("mx-host: more than 200 entries"), std::string::npos);
  }
}

TEST(ParseReport, CutsLongFreeTextAndSanitisesStrings) {
  nlohmann::json j = Minimal();
  auto& detail = j["policies"][0]["failure-details"][0];
  detail["additional-information"] = std::string(5000, 'x');
  detail["result-type"] = "evil\x1b[31m\u202ered";
  detail["failure-reason-code"] = std::string(1023, 'y') + "\u00e9";  // cut inside the é
  const Report r = MustParse(j.dump());
  const FailureDetail& d = r.policies[0].failure_details[0];
  EXPECT_EQ(d.additional_information, std::string(1024, 'x'));
  EXPECT_EQ(d.failure_reason_code, std::string(1023, 'y'));
  EXPECT_EQ(d.result_type_raw, "evil?[31m?red");
  EXPECT_EQ(d.result_type, ResultType::kOther);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("cut to 1024 octets"), std::string::npos);
}

TEST(ParseReport, NotesAreBounded) {
  nlohmann::json j = Minimal();
  const nlohmann::json one = j["policies"][0];
  j["policies"].clear();
  for (int i = 0; i < 50; ++i) {
    nlohmann::json p = one;
    p["policy"]["policy-domain"] = "d" + std::to_string(i) + ".example";
    p["summary"]["total-failure-session-count"] = 7;  // details say 1
    j["policies"].push_back(p);
  }
  const Report r = MustParse(j.dump());
  ASSERT_EQ(r.notes.size(), 21U);
  EXPECT_EQ(r.notes.back(), "and 30 more notes");
}

TEST(ParseReportDateTime, ReadsRfc3339AndWhatReportersSend) {
  struct Case {
    std::string text;
    std::int64_t seconds;
    bool zone;
  };
  const std::vector<Case> cases = {
      {"1970-01-01T00:00:00Z", 0, true},
      {"2016-04-01T23:59:59Z", 1459555199, true},
      {"2016-04-01t23:59:59z", 1459555199, true},
      {"2016-04-01 23:59:59Z", 1459555199, true},
      {"2016-04-01T23:59:59.123456Z", 1459555199, true},
      {"2016-04-02T01:59:59+02:00", 1459555199, true},
      {"2016-04-01T18:59:59-0500", 1459555199, true},
      {"2016-04-01T23:59:59", 1459555199, false},
      {"2016-12-31T23:59:60Z", 1483228799, true},  // leap second read as :59
      {"2024-02-29T00:00:00Z", 1709164800, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    bool zone = !c.zone;
    auto parsed = ParseReportDateTime(c.text, &zone);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
    EXPECT_EQ(parsed.value(), c.seconds);
    EXPECT_EQ(zone, c.zone);
  }
  for (const std::string bad :
       {"", "2016-04-01", "2016-04-01T24:00:00Z", "2016-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "1969-12-31T23:59:59Z", "2016-04-01T00:00:00+25:00", "2016-04-01T00:00:00Zjunk",
        "2016-04-01T00:00:00.Z", "+2016-04-01T00:00:00Z", "2016-4-1T0:0:0Z"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(ParseReportDateTime(bad).has_value());
  }
}

TEST(SanitizeForDisplay, ReplacesControlsBidiAndBrokenUtf8) {
  EXPECT_EQ(SanitizeForDisplay("mx1.example.com"), "mx1.example.com");
  EXPECT_EQ(SanitizeForDisplay("caf\u00e9"), "caf\u00e9");
  EXPECT_EQ(SanitizeForDisplay("a\nb\rc\td\x7f"), "a?b?c?d?");
  EXPECT_EQ(SanitizeForDisplay("\u202egnp.exe"), "?gnp.exe");
  EXPECT_EQ(SanitizeForDisplay("\xc2\x85"), "?");  // C1 NEL
  EXPECT_EQ(SanitizeForDisplay("a\xff\xc3"), "a??");
}

}  // namespace
}  // namespace mtasts::tlsrpt
