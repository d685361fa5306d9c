// Fault injection: the core checker (MakeChecker, in this process) against the hostile peers of
// tests/world/fault-peer.py, which with-world.sh starts when MTASTS_WORLD_FAULTS=1. One test per
// peer behaviour: each must end in its issue code within the check timeout, and leave no thread
// and no file descriptor behind (counted in /proc/self/task and /proc/self/fd before and after;
// ASan's leak checker covers memory).
#include <dirent.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "collectors/check/checker_factory.h"
#include "collectors/common/issue_codes.h"

namespace mtasts {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kTimeout{2000};
// The budget is the check timeout plus scheduling slack on a loaded 2-core CI machine.
constexpr double kBudgetSeconds = 2.0 + 1.5;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

int CountEntries(const char* dir) {
  DIR* d = opendir(dir);
  if (d == nullptr) return -1;
  int n = 0;
  while (const dirent* entry = readdir(d)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - (std::string(dir) == "/proc/self/fd" ? 1 : 0);  // opendir's own descriptor
}

struct Resources {
  int fds = 0;
  int threads = 0;
  bool operator==(const Resources&) const = default;
};

Resources Now() {
  return {CountEntries("/proc/self/fd"), CountEntries("/proc/self/task")};
}

std::ostream& operator<<(std::ostream& os, const Resources& r) {
  return os << r.fds << " fds, " << r.threads << " threads";
}

/// The counts once they match `want`, or the last ones seen after 5 s: a socket of a timed-out
/// lookup may close a moment after the check returned, but it must close.
Resources Settle(const Resources& want) {
  const auto until = steady_clock::now() + std::chrono::seconds(5);
  Resources now = Now();
  while (!(now == want) && steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(50));
    now = Now();
  }
  return now;
}

config::NetworkSettings Settings(const std::string& dns) {
  config::NetworkSettings settings;
  settings.dns_servers = {dns};
  settings.ca_file = Env("MTASTS_WORLD_CA");
  settings.ssrf_allow_cidrs = {Env("MTASTS_WORLD_ALLOW_CIDR")};
  settings.check_timeout = kTimeout;
  return settings;
}

std::set<std::string> Codes(const DomainReport& report) {
  std::set<std::string> codes;
  for (const auto& issue : report.issues) codes.insert(std::string(IssueCodeName(issue.code)));
  return codes;
}

std::string Messages(const DomainReport& report) {
  std::string text;
  for (const auto& issue : report.issues) {
    text += std::string(IssueCodeName(issue.code)) + ": " + issue.message + "\n";
  }
  return text;
}

class FaultTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (Env("MTASTS_WORLD_FAULT_DNS").empty()) return;
    // Process-wide singletons (the socket watchdog's thread, OpenSSL's state) start on first use
    // and live on; one clean check first, so that the counts below see only what a check leaves.
    auto checker = MakeChecker(Settings(Env("MTASTS_WORLD_DNS")));
    ASSERT_TRUE(checker.has_value()) << checker.error().message;
    (*checker)->Check("ok.httpfault.test");
  }

 protected:
  void SetUp() override {
    if (Env("MTASTS_WORLD_FAULT_DNS").empty()) {
      GTEST_SKIP() << "needs the fault world: MTASTS_WORLD_FAULTS=1 tests/world/with-world.sh";
    }
  }

  /// Checks `domain` twice with one checker (as the daemon does), then drops the checker. Each
  /// check must end within the budget; neither may leave a descriptor or thread behind, and the
  /// checker must leave none once gone. Returns the second report.
  DomainReport CheckClean(const std::string& domain, const std::string& dns) {
    const Resources before = Now();
    DomainReport report;
    {
      auto checker = MakeChecker(Settings(dns));
      EXPECT_TRUE(checker.has_value()) << checker.error().message;
      if (!checker.has_value()) return report;
      const Resources with_checker = Now();
      for (int round = 1; round <= 2; ++round) {
        const auto start = steady_clock::now();
        report = (*checker)->Check(domain);
        const double seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
        EXPECT_LT(seconds, kBudgetSeconds) << domain << " round " << round << "\n"
                                           << Messages(report);
        EXPECT_EQ(Settle(with_checker), with_checker)
            << domain << " round " << round << " left something behind";
      }
    }
    EXPECT_EQ(Settle(before), before) << "the checker for " << domain << " left something behind";
    return report;
  }

  void ExpectOnly(const DomainReport& report, const std::string& code,
                  const std::string& message_part) {
    EXPECT_EQ(Codes(report), std::set<std::string>{code}) << Messages(report);
    EXPECT_FALSE(report.enforced);
    ASSERT_FALSE(report.issues.empty());
    EXPECT_NE(report.issues[0].message.find(message_part), std::string::npos)
        << "expected \"" << message_part << "\" in: " << report.issues[0].message;
  }

  static std::string WorldDns() { return Env("MTASTS_WORLD_DNS"); }  // dnsmasq, delegating
  static std::string FaultDns() { return Env("MTASTS_WORLD_FAULT_DNS"); }
  static std::string FaultDnsUdpOnly() { return "203.0.113.54:53"; }
};

// --- The control: the fault world itself serves a clean domain. -----------------------------

TEST_F(FaultTest, ControlDomainIsEnforcedAndClean) {
  DomainReport report = CheckClean("ok.httpfault.test", WorldDns());
  EXPECT_TRUE(report.enforced) << Messages(report);
  EXPECT_TRUE(report.issues.empty()) << Messages(report);
  EXPECT_TRUE(report.check_complete);
}

// --- DNS ------------------------------------------------------------------------------------

TEST_F(FaultTest, DnsServerThatNeverAnswers) {
  // Asked directly: only the check's own deadline ends the wait.
  DomainReport report = CheckClean("timeout.dnsfault.test", FaultDns());
  ExpectOnly(report, "dns_error", "timed out");
  EXPECT_FALSE(report.check_complete);
}

TEST_F(FaultTest, DnsServerThatNeverAnswersBehindAForwarder) {
  DomainReport report = CheckClean("timeout.dnsfault.test", WorldDns());
  EXPECT_EQ(Codes(report), std::set<std::string>{"dns_error"}) << Messages(report);
  EXPECT_FALSE(report.check_complete);
}

TEST_F(FaultTest, DnsServfail) {
  DomainReport report = CheckClean("servfail.dnsfault.test", FaultDns());
  ExpectOnly(report, "dns_error", "SERVFAIL");
  EXPECT_FALSE(report.check_complete);
}

TEST_F(FaultTest, DnsServfailBehindAForwarder) {
  DomainReport report = CheckClean("servfail.dnsfault.test", WorldDns());
  ExpectOnly(report, "dns_error", "SERVFAIL");
}

TEST_F(FaultTest, DnsTruncatedOverUdpIsRetriedOverTcp) {
  // Every UDP answer has the TC bit and no records; only TCP gives the answers.
  for (const auto& dns : {FaultDns(), WorldDns()}) {
    SCOPED_TRACE("DNS server " + dns);
    DomainReport report = CheckClean("tc.dnsfault.test", dns);
    EXPECT_TRUE(report.enforced) << Messages(report);
    EXPECT_TRUE(report.issues.empty()) << Messages(report);
    EXPECT_EQ(report.sts_record.id, "20240101T000000");
    EXPECT_TRUE(report.check_complete);
  }
}

TEST_F(FaultTest, DnsTruncatedOverUdpWithTcpRefused) {
  // The UDP-only address: the TCP retry meets a closed port (RST).
  DomainReport report = CheckClean("tc-notcp.dnsfault.test", FaultDnsUdpOnly());
  EXPECT_EQ(Codes(report), std::set<std::string>{"dns_error"}) << Messages(report);
  EXPECT_FALSE(report.check_complete);
  // Behind dnsmasq, which forwards this zone to the UDP-only address: the forwarder's TCP
  // connection to it is refused, and it closes ours.
  report = CheckClean("tc-notcp.dnsfault.test", WorldDns());
  EXPECT_EQ(Codes(report), std::set<std::string>{"dns_error"}) << Messages(report);
}

TEST_F(FaultTest, DnsHugeTxtOverTcp) {
  // 41 TXT records at _mta-sts (the STS record and 40 fillers of ~150 bytes, over 6 KiB): the
  // UDP answer is truncated, the TCP one carries them all; the fillers are not v=STSv1.
  for (const auto& dns : {FaultDns(), WorldDns()}) {
    SCOPED_TRACE("DNS server " + dns);
    DomainReport report = CheckClean("huge.dnsfault.test", dns);
    EXPECT_TRUE(report.enforced) << Messages(report);
    EXPECT_TRUE(report.issues.empty()) << Messages(report);
    EXPECT_EQ(report.sts_record.record, "v=STSv1; id=20240101T000000;");
  }
}

TEST_F(FaultTest, HostileDnsDoesNotSpoilOtherDomainsCheckedAtTheSameTime) {
  // One checker (one resolver) for all, as in the daemon: the hostile domains' failures (a TCP
  // retry refused, SERVFAIL, silence) must stay theirs. Before each lookup had a c-ares channel
  // of its own, the refused TCP retry failed every query in flight on the shared channel.
  const Resources before = Now();
  {
    auto checker = MakeChecker(Settings(WorldDns()));
    ASSERT_TRUE(checker.has_value()) << checker.error().message;
    const DomainChecker& c = **checker;
    for (int round = 0; round < 3; ++round) {
      std::vector<std::future<DomainReport>> hostile;
      for (const char* d : {"tc-notcp.dnsfault.test", "servfail.dnsfault.test",
                            "timeout.dnsfault.test", "tc-notcp.dnsfault.test"}) {
        hostile.push_back(std::async(std::launch::async, [&c, d] { return c.Check(d); }));
      }
      std::vector<std::future<DomainReport>> good;
      for (const char* d : {"ok.httpfault.test", "tc.dnsfault.test", "huge.dnsfault.test"}) {
        good.push_back(std::async(std::launch::async, [&c, d] { return c.Check(d); }));
      }
      for (auto& f : good) {
        DomainReport report = f.get();
        EXPECT_TRUE(report.enforced) << report.domain << " round " << round << "\n"
                                     << Messages(report);
        EXPECT_TRUE(report.issues.empty()) << report.domain << "\n" << Messages(report);
      }
      for (auto& f : hostile) {
        DomainReport report = f.get();
        EXPECT_EQ(Codes(report), std::set<std::string>{"dns_error"}) << report.domain;
      }
    }
  }
  EXPECT_EQ(Settle(before), before);
}

// --- HTTPS (the policy host; its DNS is clean) ----------------------------------------------

TEST_F(FaultTest, HttpsAcceptsAndNeverAnswers) {
  // No TLS handshake at all: the TCP connection is accepted and left silent.
  ExpectOnly(CheckClean("hang.httpfault.test", WorldDns()), "policy_fetch_failed",
             "no complete answer");
}

TEST_F(FaultTest, HttpsHandshakesThenNeverAnswers) {
  ExpectOnly(CheckClean("hang-tls.httpfault.test", WorldDns()), "policy_fetch_failed",
             "no complete answer");
}

TEST_F(FaultTest, HttpsDripsOneByteASecond) {
  // A valid policy, 1 byte/s: ~130 s in all, far beyond the check timeout.
  ExpectOnly(CheckClean("drip.httpfault.test", WorldDns()), "policy_fetch_failed",
             "no complete answer");
}

TEST_F(FaultTest, HttpsResetsMidBody) {
  ExpectOnly(CheckClean("reset.httpfault.test", WorldDns()), "policy_fetch_failed",
             "closed or reset");
}

TEST_F(FaultTest, HttpsEndlessBody) {
  // 200 text/plain without a length, then body forever: the 64 KiB cap ends it.
  DomainReport report = CheckClean("endless.httpfault.test", WorldDns());
  ExpectOnly(report, "policy_too_large", "exceeds 65536 bytes");
  EXPECT_FALSE(report.policy.body.has_value() && report.policy.body->size() > 65536);
}

TEST_F(FaultTest, HttpsInvalidChunkedEncoding) {
  ExpectOnly(CheckClean("badchunk.httpfault.test", WorldDns()), "policy_fetch_failed",
             "before a complete HTTP response");
}

TEST_F(FaultTest, HttpsOffersOnlyTls10) {
  // RFC 8461 §3.3 fetches the policy over HTTPS and RFC 8996 forbids TLS 1.0 and 1.1; the
  // exporter requires TLS 1.2 as senders do, so no policy can be fetched: policy_fetch_failed.
  // policy_tls_invalid stays for certificate failures (CONTRACT.md): the certificate here is
  // fine (the peer serves the policy to a TLS 1.0 client, see tests/world/README.md).
  ExpectOnly(CheckClean("tls10.httpfault.test", WorldDns()), "policy_fetch_failed",
             "TLS handshake");
}

}  // namespace
}  // namespace mtasts
