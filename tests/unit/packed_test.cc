#include "agent/packed.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "agent/report_json.h"

namespace mtasts::agent {
namespace {

constexpr std::int64_t kLastX509Second = 253402300799;  // 9999-12-31T23:59:59Z: 5 varint bytes

// Every field of every part set, none to its default: a field the encoding forgot or mixed up
// with its neighbour shows in the JSON comparison.
DomainReport EveryFieldSet() {
  DomainReport r;
  r.domain = "example.com";
  r.enforced = true;
  r.AddIssue(IssueCode::kMxNotCovered, Severity::kCritical, "mx2.example.com is not covered");
  r.AddIssue(IssueCode::kTlsrptPolicyMismatch, "the reports name another policy");
  r.sts_record = {
      true, true, "v=STSv1; id=20261203", "20261203", {"v=STSv1; id=20261203", "v=STSv1; id=old"}};
  r.policy.found = true;
  r.policy.valid = true;
  r.policy.url = "https://mta-sts.example.com/.well-known/mta-sts.txt";
  r.policy.policy = policy::Policy{"STSv1",
                                   policy::Mode::kTesting,
                                   policy::kMaxMaxAge,
                                   {"mx1.example.com", "*.example.net"},
                                   {{"x-extension", "value"}, {"other", ""}}};
  r.policy.http_status = -1;  // signed values round trip through zigzag
  r.policy.content_type = "text/plain; charset=utf-8";
  r.policy.address = "2001:db8::25";
  // The escape byte of the encoding, the domain back to back and at the end, and in capitals
  // (not the same bytes: kept as they are).
  r.policy.error =
      "UTF-8: \xc3\xa9, a NUL: " + std::string(1, '\0') +
      ", 0xFF: \xff\xff\xff\x01, twice: example.comexample.com, EXAMPLE.COM, example.com";
  r.policy.certificate = net::CertificateInfo{false,
                                              "certificate has expired",
                                              10,
                                              {"mta-sts.example.com", "*.example.com"},
                                              "CN=mta-sts.example.com",
                                              "CN=Test CA",
                                              kLastX509Second};
  r.policy.body = "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 31557600\r\n";
  r.tls_rpt = {true,
               false,
               "v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
               {"mailto:tlsrpt@example.com", "https://reports.example.com/v1"}};
  r.mx.hosts = {"mx1.example.com", "mx2.example.com"};
  r.mx.uncovered = {"mx2.example.com"};
  r.mx.probed = true;
  r.mx.probes.push_back({"mx1.example.com",
                         "192.0.2.25",
                         false,
                         true,
                         true,
                         "TLSv1.3",
                         "TLS_AES_256_GCM_SHA384",
                         true,
                         std::nullopt,
                         1830000000,
                         {"mx1.example.com"},
                         std::nullopt});
  r.mx.probes.push_back({"mx2.example.com",
                         "10.0.0.1",
                         true,
                         false,
                         false,
                         std::nullopt,
                         std::nullopt,
                         false,
                         "refused by the SSRF guard",
                         std::nullopt,
                         {},
                         "not dialled"});
  r.mx.dane.push_back({"mx1.example.com", true, true, {"3 1 1 abcdef"}, std::nullopt});
  r.mx.dane.push_back({"mx2.example.com", false, false, {}, "SERVFAIL"});
  r.check_complete = false;
  r.checked_at_ms = 1796270000123;
  r.duration_seconds = 0.123456789;
  r.history = HistoryReport{1796000000000, "previous", 0, kLastX509Second * 1000};
  return r;
}

TEST(PackedTest, AReportRoundTripsFieldForField) {
  const DomainReport original = EveryFieldSet();
  const PackedReport packed(original);
  ASSERT_TRUE(packed);
  const DomainReport back = packed.Unpack();
  EXPECT_EQ(ReportToJson(back), ReportToJson(original));
  // What the JSON form leaves out or rounds.
  EXPECT_EQ(back.duration_seconds, original.duration_seconds);
  EXPECT_EQ(back.policy.certificate->verify_code, 10);
  EXPECT_EQ(back.policy.certificate->not_after, kLastX509Second);
  EXPECT_EQ(back.policy.http_status, -1);
  EXPECT_EQ(back.policy.error, original.policy.error) << "bytes, NUL included";
  EXPECT_EQ(back.history->mode_downgraded_at_ms, 0);
  EXPECT_EQ(back.history->mode_downgraded_until_ms, kLastX509Second * 1000);
  ASSERT_EQ(back.issues.size(), 2U);
  EXPECT_EQ(back.issues[0].severity, Severity::kCritical);
  EXPECT_EQ(back.issues[1].code, IssueCode::kTlsrptPolicyMismatch);
  ASSERT_EQ(back.policy.policy->extensions.size(), 2U);
  EXPECT_EQ(back.policy.policy->extensions[0].first, "x-extension");
  EXPECT_EQ(back.mx.probes[1].cert_valid, false);
  EXPECT_FALSE(back.mx.probes[0].cert_error.has_value());
}

TEST(PackedTest, TheDomainIsStoredOnceHoweverOftenTheReportNamesIt) {
  DomainReport r;
  r.domain = "a-rather-long-domain-name.example";
  r.policy.url = "https://mta-sts." + r.domain + "/.well-known/mta-sts.txt";
  r.mx.hosts = {"mx1." + r.domain, "mx2." + r.domain};
  r.tls_rpt.rua = {"mailto:tlsrpt@" + r.domain};
  // Written out, the five mentions alone are 5 x 33 bytes; referenced, 33 + 4 x 2.
  const PackedReport packed(r);
  EXPECT_LT(packed.size(), 5 * r.domain.size());
  EXPECT_LE(packed.size(), 144U);
  const DomainReport back = packed.Unpack();
  EXPECT_EQ(back.policy.url, r.policy.url);
  EXPECT_EQ(back.mx.hosts, r.mx.hosts);
  EXPECT_EQ(back.tls_rpt.rua, r.tls_rpt.rua);
}

TEST(PackedTest, AReportWithoutAPolicyPacksSmallerThanItsInlineSize) {
  // The reason to pack (README "Memory"): an NXDOMAIN domain's report is mostly unset parts.
  DomainReport r;
  r.domain = "x000001.absent.test";
  r.AddIssue(IssueCode::kStsRecordMissing, "no _mta-sts TXT record");
  r.policy.url = "https://mta-sts.x000001.absent.test/.well-known/mta-sts.txt";
  const PackedReport packed(r);
  EXPECT_LT(packed.size(), 200U);
  EXPECT_LT(packed.size(), sizeof(DomainReport) / 4);
  EXPECT_EQ(ReportToJson(packed.Unpack()), ReportToJson(r));
}

TEST(PackedTest, TheTrackerAndTheMemoryRoundTrip) {
  webhooks::TrackerState tracker;
  tracker.committed = webhooks::PostureFromReport(EveryFieldSet());
  tracker.committed->issues["mx_not_covered"] = "critical";
  webhooks::Posture candidate;
  candidate.mode = "none";
  candidate.max_age = 0;
  tracker.candidate = candidate;
  tracker.seen = 2;
  tracker.sequence = 1ULL << 40;
  const webhooks::TrackerState back = Packed<webhooks::TrackerState>(tracker).Unpack();
  EXPECT_EQ(back.committed, tracker.committed);
  EXPECT_EQ(back.candidate, tracker.candidate);
  EXPECT_EQ(back.seen, 2);
  EXPECT_EQ(back.sequence, 1ULL << 40);

  history::PolicyHistory memory{"id2", "digest2", "enforce", 86400, 1, "digest1",
                                2,     "id1",     3,         4,     5, "testing"};
  EXPECT_EQ(Packed<history::PolicyHistory>(memory).Unpack(), memory);
  // Digests are lowercase hex, kept as their bytes; anything else in their place as text.
  memory.digest = std::string(64, 'f');
  memory.id_digest = "0123456789abcdef";
  const Packed<history::PolicyHistory> hex(memory);
  EXPECT_EQ(hex.Unpack(), memory);
  memory.digest = "ABCDEF";  // upper case
  memory.id_digest = "abc";  // odd length
  EXPECT_EQ(Packed<history::PolicyHistory>(memory).Unpack(), memory);
  memory.digest = std::string(64, 'f');
  memory.id_digest = std::string(64, '0');
  EXPECT_LT(Packed<history::PolicyHistory>(memory).size(), 64U + 32 + 40)
      << "two SHA-256 digests in 64 bytes, not 128";
}

TEST(PackedTest, EmptyUnpacksToTheDefaultAndACopyReadsTheSame) {
  const Packed<history::PolicyHistory> empty;
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.size(), 0U);
  EXPECT_FALSE(empty.Unpack().Known());
  EXPECT_TRUE(PackedReport().Unpack().domain.empty());

  const PackedReport packed(EveryFieldSet());
  const PackedReport copy = packed;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.size(), packed.size());
  EXPECT_EQ(ReportToJson(copy.Unpack()), ReportToJson(packed.Unpack()));
}

TEST(PackedTest, CopiesOnManyThreadsShareOneBlockFreedOnce) {
  // Snapshots hand a domain's packed report to readers on other threads (ThreadSanitizer and
  // AddressSanitizer see a race on the count, or a double or missing free).
  const PackedReport packed(EveryFieldSet());
  const nlohmann::json expected = ReportToJson(packed.Unpack());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&packed, &expected, &mismatches] {
      for (int i = 0; i < 200; ++i) {
        PackedReport copy = packed;
        PackedReport moved = std::move(copy);
        if (ReportToJson(moved.Unpack()) != expected) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace mtasts::agent
