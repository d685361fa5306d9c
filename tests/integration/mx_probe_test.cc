// The MX STARTTLS probe against the test world's real postfix (tests/world/with-world.sh): the
// probe's JSON for a good host, each SMTP code with its severity, DANE TLSA, the opt-in, the SSRF
// guard in front of port 25, and one daemon scrape with probe_mx: true.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

extern char** environ;

#include "tests/integration/daemon_support.h"

namespace {

using namespace mtasts::world;  // NOLINT: test support

constexpr std::int64_t kFourteenDays = 14 * 24 * 3600;

std::string WorldFlags() {
  return " --dns.server=" + Env("MTASTS_WORLD_DNS") + " --tls.ca-file=" + Env("MTASTS_WORLD_CA") +
         " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR") +
         " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR6") + " --check.timeout=5s";
}

json Check(const std::string& args, int* status = nullptr) {
  std::string out =
      Capture(std::string(MTASTS_BINARY) + " check --json " + args + WorldFlags(), status);
  return json::parse(out, nullptr, false);
}

/// The issue of `code` in a report, or null.
json IssueOf(const json& report, const std::string& code) {
  for (const auto& issue : report["issues"]) {
    if (issue["code"] == code) return issue;
  }
  return nullptr;
}

std::int64_t Now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

/// Lines of postfix's log that record a client connecting (each probe is one).
int SmtpConnections() {
  std::ifstream in(Env("MTASTS_WORLD_DIR") + "/postfix.log");
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    if (line.find("smtpd[") != std::string::npos &&
        line.find(": connect from ") != std::string::npos)
      ++count;
  }
  return count;
}

TEST(MxProbe, GoodHostReportsTlsCertificateAndDane) {
  int status = -1;
  json report = Check("--probe-mx mx-good.test", &status);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(status, 0) << report.dump(2);
  EXPECT_EQ(report["issues"], json::array()) << report.dump(2);
  const json& mx = report["mx"];
  EXPECT_EQ(mx["hosts"], json({"mx1.mx-good.test"}));
  EXPECT_EQ(mx["probed"], true);
  ASSERT_EQ(mx["probes"].size(), 1U) << mx.dump(2);
  const json& probe = mx["probes"][0];
  EXPECT_EQ(probe["host"], "mx1.mx-good.test");
  EXPECT_EQ(probe["address"], "203.0.113.31");
  EXPECT_EQ(probe["reachable"], true);
  EXPECT_EQ(probe["starttls"], true);
  EXPECT_EQ(probe["tls_version"], "TLSv1.3");  // postfix 3.7 + OpenSSL 3 negotiate 1.3
  EXPECT_FALSE(probe["cipher"].get<std::string>().empty());
  EXPECT_EQ(probe["cert_valid"], true);
  EXPECT_TRUE(probe["cert_error"].is_null());
  const auto names = probe["cert_names"].get<std::set<std::string>>();
  EXPECT_EQ(names.count("mx1.mx-good.test"), 1U);
  EXPECT_GT(probe["cert_not_after"].get<std::int64_t>(), Now() + kFourteenDays);
  EXPECT_GT(report["policy"]["cert_not_after"].get<std::int64_t>(), Now() + kFourteenDays);

  ASSERT_EQ(mx["dane"].size(), 1U) << mx.dump(2);
  const json& dane = mx["dane"][0];
  EXPECT_EQ(dane["host"], "mx1.mx-good.test");
  EXPECT_EQ(dane["tlsa_present"], true);
  // dnsmasq serves the TLSA record without DNSSEC: no validating resolver, no AD bit.
  EXPECT_EQ(dane["dnssec_validated"], false);
  ASSERT_EQ(dane["records"].size(), 1U);
  const std::string record = dane["records"][0];
  EXPECT_EQ(record.rfind("3 1 1 ", 0), 0U) << record;
  EXPECT_EQ(record.size(), 6U + 64U) << record;  // SHA-256, hex
}

TEST(MxProbe, EachSmtpFailureHasItsCodeAndSeverity) {
  json reports = Check(
      "--probe-mx mx-no-starttls.test mx-testing.test mx-wrong-cert.test mx-expired-cert.test "
      "mx-self-signed.test mx-down.test mx-expiring.test policy-expiring.test");
  ASSERT_TRUE(reports.is_array());
  struct Case {
    const char* code;
    const char* severity;
    const char* words;  // part of the message
  };
  const std::vector<Case> cases = {
      {"mx_starttls_missing", "critical", "does not offer STARTTLS"},
      {"mx_starttls_missing", "high", "does not offer STARTTLS"},
      {"mx_cert_invalid", "critical", "mail.elsewhere.test"},
      {"mx_cert_invalid", "critical", "expired"},
      {"mx_cert_invalid", "critical", "self-signed"},
      {"mx_unreachable", "medium", "203.0.113.36"},
      {"mx_cert_expiring", "medium", "expires on"},
      {"policy_cert_expiring", "medium", "mta-sts.policy-expiring.test"},
  };
  ASSERT_EQ(reports.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(reports[i]["domain"].get<std::string>());
    json issue = IssueOf(reports[i], cases[i].code);
    ASSERT_FALSE(issue.is_null()) << reports[i].dump(2);
    EXPECT_EQ(issue["severity"], cases[i].severity);
    EXPECT_NE(issue["message"].get<std::string>().find(cases[i].words), std::string::npos)
        << issue["message"];
  }
  // What the probes recorded behind the codes.
  const json& no_tls = reports[0]["mx"]["probes"][0];
  EXPECT_EQ(no_tls["reachable"], true);
  EXPECT_EQ(no_tls["starttls"], false);
  EXPECT_TRUE(no_tls["tls_version"].is_null());
  const json& wrong = reports[2]["mx"]["probes"][0];
  EXPECT_EQ(wrong["starttls"], true);
  EXPECT_EQ(wrong["cert_valid"], false);
  EXPECT_EQ(wrong["cert_names"], json({"mail.elsewhere.test"}));
  EXPECT_LT(reports[3]["mx"]["probes"][0]["cert_not_after"].get<std::int64_t>(), Now());
  const json& down = reports[5]["mx"]["probes"][0];
  EXPECT_EQ(down["reachable"], false);
  EXPECT_EQ(down["starttls"], false);
  const std::int64_t expiring = reports[6]["mx"]["probes"][0]["cert_not_after"];
  EXPECT_GT(expiring, Now());
  EXPECT_LT(expiring, Now() + kFourteenDays);
  const std::int64_t policy_expiring = reports[7]["policy"]["cert_not_after"];
  EXPECT_LT(policy_expiring, Now() + kFourteenDays);
}

// Dual stack (README "Dual stack"): every address of an MX host is probed and reported, IPv6 as
// IPv4. mx1.v6-only.test has only an AAAA; mx1.dual.test an A and an AAAA, both postfix with the
// good certificate; mx1.v6-broken.test a good A and an AAAA where nothing listens.
TEST(MxProbe, EveryAddressIsProbedOverItsOwnFamily) {
  int status = -1;
  json reports = Check("--probe-mx v6-only.test dual.test v6-broken.test", &status);
  ASSERT_TRUE(reports.is_array());
  ASSERT_EQ(reports.size(), 3U);
  EXPECT_EQ(status, 0) << reports.dump(2);  // mx_unreachable is medium
  // address -> (reachable, starttls and a valid certificate) for each domain's MX host.
  using Seen = std::map<std::string, std::pair<bool, bool>>;
  const auto seen = [](const json& report) {
    Seen out;
    for (const auto& probe : report["mx"]["probes"]) {
      out[probe["address"].get<std::string>()] = {
          probe["reachable"].get<bool>(), probe["starttls"] == true && probe["cert_valid"] == true};
    }
    return out;
  };
  EXPECT_EQ(seen(reports[0]), (Seen{{"2001:db8:113::31", {true, true}}})) << reports[0].dump(2);
  EXPECT_EQ(reports[0]["issues"], json::array()) << reports[0].dump(2);
  EXPECT_EQ(seen(reports[1]),
            (Seen{{"203.0.113.31", {true, true}}, {"2001:db8:113::31", {true, true}}}))
      << reports[1].dump(2);
  EXPECT_EQ(reports[1]["issues"], json::array()) << reports[1].dump(2);
  EXPECT_EQ(seen(reports[2]),
            (Seen{{"203.0.113.31", {true, true}}, {"2001:db8:113::dead", {false, false}}}))
      << reports[2].dump(2);
  ASSERT_EQ(reports[2]["issues"].size(), 1U) << reports[2].dump(2);
  const json& issue = reports[2]["issues"][0];
  EXPECT_EQ(issue["code"], "mx_unreachable");
  EXPECT_EQ(issue["severity"], "medium");
  EXPECT_NE(issue["message"].get<std::string>().find(
                "([2001:db8:113::dead]) port 25: Connection refused; mx1.v6-broken.test answered "
                "on 203.0.113.31"),
            std::string::npos)
      << issue["message"];
  // postfix logged the IPv6 probes as coming from an IPv6 client.
  std::ifstream in(Env("MTASTS_WORLD_DIR") + "/postfix.log");
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("connect from unknown[2001:db8:113::31]"), std::string::npos);
}

TEST(MxProbe, ExitStatusCountsCriticalProbeFindings) {
  int status = -1;
  (void)Check("--probe-mx mx-no-starttls.test", &status);
  EXPECT_EQ(status, 1);
  (void)Check("--probe-mx mx-down.test mx-expiring.test", &status);
  EXPECT_EQ(status, 0);  // medium only
}

TEST(MxProbe, WithoutTheFlagNoSmtpIsSpoken) {
  const int before = SmtpConnections();
  int status = -1;
  json report = Check("mx-no-starttls.test", &status);
  EXPECT_EQ(status, 0) << report.dump(2);
  EXPECT_EQ(report["issues"], json::array());
  EXPECT_EQ(report["mx"]["probed"], false);
  EXPECT_EQ(report["mx"]["probes"], json::array());
  EXPECT_EQ(report["mx"]["dane"].size(), 1U);  // DNS only: TLSA is always looked up
  EXPECT_EQ(SmtpConnections(), before);
}

TEST(MxProbe, GuardRefusedAddressesAreReportedNeverContacted) {
  const int before = SmtpConnections();
  // Without the world's exemption the documentation range is refused, MX hosts included.
  json report =
      json::parse(Capture(std::string(MTASTS_BINARY) + " check --json --probe-mx --dns.server=" +
                          Env("MTASTS_WORLD_DNS") + " mx-no-starttls.test"),
                  nullptr, false);
  ASSERT_TRUE(report.is_object());
  ASSERT_EQ(report["mx"]["probes"].size(), 1U) << report.dump(2);
  const json& probe = report["mx"]["probes"][0];
  EXPECT_EQ(probe["refused"], true);
  EXPECT_EQ(probe["address"], "203.0.113.32");
  EXPECT_TRUE(IssueOf(report, "mx_starttls_missing").is_null()) << report.dump(2);
  EXPECT_EQ(SmtpConnections(), before) << "a refused MX address was contacted";
}

TEST(MxProbe, SmtpPortFlagMovesTheProbe) {
  // Nothing listens on port 2525 in the world: every MX becomes unreachable.
  json report = Check("--probe-mx --smtp.port=2525 mx-good.test");
  json issue = IssueOf(report, "mx_unreachable");
  ASSERT_FALSE(issue.is_null()) << report.dump(2);
  EXPECT_NE(issue["message"].get<std::string>().find("port 2525"), std::string::npos);
  int status = -1;
  const std::string out =
      Capture(std::string(MTASTS_BINARY) + " check --smtp.port=0 mx-good.test 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("--smtp.port"), std::string::npos) << out;
}

TEST(MxProbe, PolicyCommandWarnsOfAnExpiringPolicyCertificate) {
  int status = -1;
  const std::string out = Capture(
      std::string(MTASTS_BINARY) + " policy --json policy-expiring.test" + WorldFlags(), &status);
  json policy = json::parse(out, nullptr, false);
  EXPECT_EQ(status, 0) << out;  // the policy is valid; the warning is medium
  EXPECT_FALSE(IssueOf(policy, "policy_cert_expiring").is_null()) << out;
  EXPECT_LT(policy["cert_not_after"].get<std::int64_t>(), Now() + kFourteenDays);
}

TEST(MxProbeDaemon, ScrapeWithProbeMxCarriesTheMxSeries) {
  const fs::path dir = fs::temp_directory_path() / ("mtasts-mxprobe-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // probe_mx on at the top, off for one domain: that domain gets no MX series.
  std::string config = ConfigText(dir,
                                  {"mx-good.test", "mx-no-starttls.test", "mx-wrong-cert.test",
                                   "mx-expiring.test", "policy-expiring.test"},
                                  "probe_mx: true\n");
  config += "  - name: mx-self-signed.test\n    probe_mx: false\n";
  WriteFile(dir / "config.yaml", config);
  Daemon daemon(dir, FreePort());
  daemon.Start();
  ASSERT_TRUE(daemon.WaitReady());
  auto res = daemon.Get("/metrics");
  ASSERT_TRUE(res);
  const std::string& m = res->body;
  EXPECT_EQ(Value(m, R"(mta_sts_mx_starttls{domain="mx-good.test",mx="mx1.mx-good.test"})"), 1)
      << m;
  EXPECT_EQ(Value(m, R"(mta_sts_mx_cert_valid{domain="mx-good.test",mx="mx1.mx-good.test"})"), 1);
  EXPECT_GT(
      Value(
          m,
          R"(mta_sts_mx_cert_expiry_timestamp_seconds{domain="mx-good.test",mx="mx1.mx-good.test"})"),
      static_cast<double>(Now() + kFourteenDays));
  EXPECT_EQ(
      Value(m, R"(mta_sts_mx_starttls{domain="mx-no-starttls.test",mx="mx1.mx-no-starttls.test"})"),
      0);
  EXPECT_EQ(
      Value(m,
            R"(mta_sts_mx_cert_valid{domain="mx-no-starttls.test",mx="mx1.mx-no-starttls.test"})"),
      -1);  // no TLS, no certificate verdict
  EXPECT_EQ(
      Value(m, R"(mta_sts_mx_cert_valid{domain="mx-wrong-cert.test",mx="mx1.mx-wrong-cert.test"})"),
      0);
  const double expiring = Value(
      m,
      R"(mta_sts_mx_cert_expiry_timestamp_seconds{domain="mx-expiring.test",mx="mx1.mx-expiring.test"})");
  EXPECT_GT(expiring, static_cast<double>(Now()));
  EXPECT_LT(expiring, static_cast<double>(Now() + kFourteenDays));
  EXPECT_LT(
      Value(m, R"(mta_sts_policy_cert_expiry_timestamp_seconds{domain="policy-expiring.test"})"),
      static_cast<double>(Now() + kFourteenDays));
  EXPECT_GT(Value(m, R"(mta_sts_policy_cert_expiry_timestamp_seconds{domain="mx-good.test"})"),
            static_cast<double>(Now() + kFourteenDays));
  EXPECT_EQ(
      Value(
          m,
          R"(mta_sts_issue{domain="mx-no-starttls.test",code="mx_starttls_missing",severity="critical"})"),
      1);
  EXPECT_EQ(
      Value(
          m,
          R"(mta_sts_issue{domain="mx-wrong-cert.test",code="mx_cert_invalid",severity="critical"})"),
      1);
  EXPECT_EQ(
      Value(
          m,
          R"(mta_sts_issue{domain="mx-expiring.test",code="mx_cert_expiring",severity="medium"})"),
      1);
  EXPECT_EQ(
      Value(
          m,
          R"(mta_sts_issue{domain="policy-expiring.test",code="policy_cert_expiring",severity="medium"})"),
      1);
  // probe_mx: false for this one: no SMTP series, no SMTP codes.
  EXPECT_EQ(m.find(R"(mta_sts_mx_starttls{domain="mx-self-signed.test")"), std::string::npos);
  EXPECT_EQ(Value(m, R"(mta_sts_issues{domain="mx-self-signed.test",severity="critical"})"), 0);
  // /v1/check follows the domain's setting too.
  auto live = daemon.Get("/v1/check?domain=mx-no-starttls.test");
  ASSERT_TRUE(live);
  json data = json::parse(live->body)["data"];
  EXPECT_EQ(data["mx"]["probed"], true);
  EXPECT_EQ(daemon.Stop(), 0);
  if (HasFailure()) std::cerr << "daemon log:\n" << daemon.Log();
  fs::remove_all(dir);
}

}  // namespace
