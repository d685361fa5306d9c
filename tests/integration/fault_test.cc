// Fault injection: the core checker (MakeChecker, in this process) against the hostile peers of
// tests/world/fault-peer.py, which with-world.sh starts when MTASTS_WORLD_FAULTS=1. One test per
// peer behaviour: each must end in its issue code within the check timeout, and leave no thread
// and no file descriptor behind (counted in /proc/self/task and /proc/self/fd before and after;
// ASan's leak checker covers memory). The peers that try to exhaust the fetch are also checked
// 16 at once, with the growth of this process's peak RSS measured, and the one with thousands
// of addresses with the connection attempts counted by nftables. Every check of CheckClean runs
// on a thread the kernel forbids to start threads: a check without probe_mx starts none.
#include <dirent.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "collectors/check/checker_factory.h"
#include "collectors/dns/cares_resolver.h"
#include "collectors/report/issue_codes.h"

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

/// `extra_allow`: ranges exempted from the SSRF guard on top of the world's 203.0.113.0/24.
NetworkSettings Settings(const std::string& dns, const std::vector<std::string>& extra_allow = {}) {
  NetworkSettings settings;
  settings.dns_servers = {dns};
  settings.ca_file = Env("MTASTS_WORLD_CA");
  settings.ssrf_allow_cidrs = {Env("MTASTS_WORLD_ALLOW_CIDR")};
  settings.ssrf_allow_cidrs.insert(settings.ssrf_allow_cidrs.end(), extra_allow.begin(),
                                   extra_allow.end());
  settings.check_timeout = kTimeout;
  return settings;
}

/// A "VmRSS:"-style line of /proc/self/status, in KiB (-1 when absent).
long StatusKib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

/// Resets VmHWM (the peak RSS) to the current RSS (proc(5), /proc/PID/clear_refs).
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

/// Runs a shell command; its output, and its exit status in `status`.
std::string Shell(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  if (status != nullptr) *status = rc;
  return out;
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

/// Makes clone and clone3 fail with EPERM on the calling thread alone (a seccomp filter without
/// TSYNC; seccomp(2)): it can no longer start a thread, nor can anything it calls.
bool ForbidThreadsOnThisThread() {
  // Native syscall numbers only: the test's own code makes no other kind of call.
  std::array<sock_filter, 5> program{{
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  }};
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0;
}

/// Runs `check` on a thread of its own that cannot start threads. A check that tries to (as
/// std::async does) fails there, and `error` says so; empty when it needed none.
DomainReport CheckWithoutThreads(const std::function<DomainReport()>& check, std::string& error) {
  DomainReport report;
  std::thread([&] {
    if (!ForbidThreadsOnThisThread()) {
      error = "cannot install the seccomp filter";
      return;
    }
    try {
      report = check();
    } catch (const std::system_error& e) {
      error = std::string("the check tried to start a thread: ") + e.what();
    }
  }).join();
  return report;
}

class FaultTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    if (Env("MTASTS_WORLD_FAULT_DNS").empty()) return;
    // Process-wide singletons (OpenSSL's state, the fetch's BIO method) start on first use and
    // live on; one clean check first, so that the counts below see only what a check leaves.
    auto checker = MakeChecker(Settings(Env("MTASTS_WORLD_DNS")));
    ASSERT_TRUE(checker.has_value()) << checker.error().message;
    (*checker)->Check("ok.httpfault.test");
    // And one thread started and joined: a sanitizer's runtime starts a helper thread of its
    // own at a process's first thread (ThreadSanitizer does), which is not the check's doing.
    std::thread([] {}).join();
  }

 protected:
  void SetUp() override {
    if (Env("MTASTS_WORLD_FAULT_DNS").empty()) {
      GTEST_SKIP() << "needs the fault world: MTASTS_WORLD_FAULTS=1 tests/world/with-world.sh";
    }
  }

  /// Checks `domain` twice with one checker (as the daemon does), then drops the checker. Each
  /// check must end within the budget; neither may leave a descriptor or thread behind, and the
  /// checker must leave none once gone. Each check runs on a thread that cannot start threads:
  /// without probe_mx a check starts none. Returns the second report.
  DomainReport CheckClean(const std::string& domain, const std::string& dns,
                          const std::vector<std::string>& extra_allow = {}) {
    const Resources before = Now();
    DomainReport report;
    {
      auto checker = MakeChecker(Settings(dns, extra_allow));
      EXPECT_TRUE(checker.has_value()) << checker.error().message;
      if (!checker.has_value()) return report;
      const Resources with_checker = Now();
      for (int round = 1; round <= 2; ++round) {
        const auto start = steady_clock::now();
        std::string error;
        report = CheckWithoutThreads([&] { return (*checker)->Check(domain); }, error);
        EXPECT_EQ(error, "") << domain << " round " << round;
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

  struct Burst {
    std::vector<DomainReport> reports;
    double slowest_seconds = 0;
    long peak_growth_kib = -1;     // VmHWM during the burst minus VmRSS before it
    long control_growth_kib = -1;  // the same for a burst of clean checks just before
  };

  /// Checks `domain` 16 times at once on one checker, as 16 concurrent /v1/check calls would,
  /// after the same burst on the clean control domain (so that thread stacks, allocator arenas
  /// and OpenSSL's tables exist before the measurement). Nothing may be left behind.
  Burst CheckSixteenAtOnce(const std::string& domain) {
    Burst out;
    const Resources before = Now();
    {
      auto checker = MakeChecker(Settings(WorldDns()));
      EXPECT_TRUE(checker.has_value()) << checker.error().message;
      if (!checker.has_value()) return out;
      const DomainChecker& c = **checker;
      const auto burst = [&c](const std::string& d, double* slowest) {
        std::vector<std::future<std::pair<DomainReport, double>>> futures;
        for (int i = 0; i < 16; ++i) {
          futures.push_back(std::async(std::launch::async, [&c, d] {
            const auto start = steady_clock::now();
            DomainReport report = c.Check(d);
            return std::make_pair(
                std::move(report),
                std::chrono::duration<double>(steady_clock::now() - start).count());
          }));
        }
        std::vector<DomainReport> reports;
        for (auto& f : futures) {
          auto [report, seconds] = f.get();
          if (slowest != nullptr) *slowest = std::max(*slowest, seconds);
          reports.push_back(std::move(report));
        }
        return reports;
      };
      for (const auto& report : burst("ok.httpfault.test", nullptr)) {
        EXPECT_TRUE(report.enforced) << Messages(report);
      }
      long rss_before = StatusKib("VmRSS");
      EXPECT_TRUE(ResetPeakRss()) << "cannot reset the peak RSS";
      burst("ok.httpfault.test", nullptr);
      out.control_growth_kib = StatusKib("VmHWM") - rss_before;
      rss_before = StatusKib("VmRSS");
      EXPECT_TRUE(ResetPeakRss()) << "cannot reset the peak RSS";
      out.reports = burst(domain, &out.slowest_seconds);
      out.peak_growth_kib = StatusKib("VmHWM") - rss_before;
    }
    EXPECT_EQ(Settle(before), before) << "16 checks of " << domain << " left something behind";
    return out;
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
  // connection to it is refused, and it closes ours. c-ares writing the next query into the
  // closed connection once raised SIGPIPE, which ends this test program (it does not ignore
  // SIGPIPE, as a program using the library need not): asked often enough to meet it.
  for (int i = 0; i < 100; ++i) {
    report = CheckClean("tc-notcp.dnsfault.test", WorldDns());
    EXPECT_EQ(Codes(report), std::set<std::string>{"dns_error"}) << Messages(report);
  }
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

TEST_F(FaultTest, LookupsOfOneCheckShareOneSocketAndChecksDoNot) {
  // What keeps the test above true at one socket per check instead of one per lookup: every
  // lookup of a check goes out on the check's channel (one UDP socket, open until the check
  // ends), and each check has its own. Counted in /proc/self/fd once the answers are in.
  const Resources before = Now();
  {
    dns::ResolverOptions options;
    options.servers = {WorldDns()};
    dns::CaresResolver resolver(options);
    const Resources idle = Now();  // the resolver alone: no thread, no socket before a lookup
    const auto plus = [&idle](int sockets) { return Resources{idle.fds + sockets, idle.threads}; };
    const auto all_of = [](dns::Resolver& r, const std::string& domain) {
      auto txt = r.Txt("_mta-sts." + domain);
      auto mx = r.Mx(domain);
      auto addresses = r.Addresses("mta-sts." + domain);
      auto tlsa = r.Tlsa("_25._tcp.mx." + domain);
      const Deadline deadline = Deadline::After(kTimeout);
      EXPECT_TRUE(dns::Await(txt, deadline, "TXT").has_value());
      EXPECT_TRUE(dns::Await(mx, deadline, "MX").has_value());
      EXPECT_TRUE(dns::Await(addresses, deadline, "A/AAAA").has_value());
      (void)dns::Await(tlsa, deadline, "TLSA");  // answered or not, it went out
    };
    auto first = resolver.ForCheck();
    all_of(*first, "ok.httpfault.test");
    EXPECT_EQ(Settle(plus(1)), plus(1)) << "one check, one socket";
    all_of(*first, "ok.httpfault.test");  // later lookups of the check reuse it
    EXPECT_EQ(Now(), plus(1));
    auto second = resolver.ForCheck();
    all_of(*second, "ok.httpfault.test");
    EXPECT_EQ(Settle(plus(2)), plus(2)) << "two checks, two sockets";
    first.reset();  // a check that ended closes its socket
    EXPECT_EQ(Settle(plus(1)), plus(1));
    all_of(resolver, "ok.httpfault.test");  // outside a check: channels of their own, closed
    EXPECT_EQ(Settle(plus(1)), plus(1));
  }
  EXPECT_EQ(Settle(before), before);
}

// A check's channel is set up once and reused: reset when the check ends (its socket closed,
// what it learnt of the servers forgotten), and only if nothing is pending on it. One still
// waiting for an answer is destroyed: a late answer can never reach the next check.
TEST_F(FaultTest, AChannelIsReusedResetAndOnlyWithNothingPending) {
  const Resources before = Now();
  {
    dns::ResolverOptions options;
    options.servers = {WorldDns()};
    dns::CaresResolver resolver(options);
    const Resources idle = Now();
    const auto answered = [](dns::Resolver& r, const std::string& name) {
      auto txt = r.Txt(name);
      auto answer = dns::Await(txt, Deadline::After(kTimeout), "TXT");
      EXPECT_TRUE(answer.has_value()) << name << ": " << answer.error().message;
      if (answer) {
        EXPECT_EQ(answer->presence, dns::Presence::kFound) << name;
      }
    };
    EXPECT_EQ(resolver.IdleChannels(), 0U);
    auto first = resolver.ForCheck();
    answered(*first, "_mta-sts.ok.httpfault.test");
    first.reset();
    EXPECT_EQ(resolver.IdleChannels(), 1U) << "answered: kept";
    EXPECT_EQ(Settle(idle), idle) << "kept without its socket";

    {
      auto second = resolver.ForCheck();  // the kept channel, reset
      EXPECT_EQ(resolver.IdleChannels(), 0U);
      answered(*second, "_mta-sts.ok.httpfault.test");
      // A TCP retry refused fails only its own query; the channel forgets it when reset.
      auto refused = second->Txt("_mta-sts.tc-notcp.dnsfault.test");
      EXPECT_FALSE(dns::Await(refused, Deadline::After(kTimeout), "TXT").has_value());
      {
        auto third = resolver.ForCheck();  // none kept: a new one
        auto silent = third->Txt("_mta-sts.timeout.dnsfault.test");
        const Deadline passed(std::chrono::steady_clock::now() - std::chrono::milliseconds(1));
        EXPECT_FALSE(dns::Await(silent, passed, "TXT").has_value());
      }
      EXPECT_EQ(resolver.IdleChannels(), 0U) << "a query still pending: destroyed, not kept";
    }
    EXPECT_EQ(resolver.IdleChannels(), 1U) << "its failures answered: reset and kept";
    auto fourth = resolver.ForCheck();
    answered(*fourth, "_mta-sts.ok.httpfault.test");
    answered(*fourth, "_smtp._tls.ok.httpfault.test");
    fourth.reset();
    EXPECT_EQ(Settle(idle), idle);
  }
  EXPECT_EQ(Settle(before), before);
}

TEST_F(FaultTest, AnAnswerThatCameWhileTheCheckWasBusyIsTakenEvenPastTheDeadline) {
  // A check's DNS answers are read by the check's own thread when it waits for them; one that
  // arrived while the thread was busy (fetching the policy, say) waits in the socket and is
  // still taken when the thread comes back after the deadline, as if a loop had read it.
  const Resources before = Now();
  dns::ResolverOptions options;
  options.servers = {WorldDns()};
  dns::CaresResolver resolver(options);
  EXPECT_EQ(Now().threads, before.threads) << "the resolver runs no thread of its own";
  auto check = resolver.ForCheck();
  auto txt = check->Txt("_mta-sts.ok.httpfault.test");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // busy: nobody reads the socket
  const Deadline passed(std::chrono::steady_clock::now() - std::chrono::milliseconds(1));
  auto answer = dns::Await(txt, passed, "TXT");
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->presence, dns::Presence::kFound);
  // Nothing sent, nothing to read: past the deadline a lookup still waiting is a timeout.
  auto silent = check->Txt("_mta-sts.timeout.dnsfault.test");
  auto late = dns::Await(silent, passed, "TXT");
  ASSERT_FALSE(late.has_value());
  EXPECT_NE(late.error().message.find("timed out"), std::string::npos) << late.error().message;
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
  // policy_tls_invalid stays for certificate failures (README "Issue codes"): the certificate here
  // is fine (the peer serves the policy to a TLS 1.0 client, see tests/world/README.md).
  ExpectOnly(CheckClean("tls10.httpfault.test", WorldDns()), "policy_fetch_failed",
             "TLS handshake");
}

// --- Peers that try to exhaust the fetch ----------------------------------------------------

// The review's attack: 21 MB of "a:b" header lines took one check from 13 MB to 474 MB RSS.
// Sixteen at once must end at the head's cap, within the budget, and cost this process's peak
// RSS less than 8 MiB more than sixteen clean checks do. (Under ASan, sixteen clean checks
// already raise the peak by about 16 MiB, because freed memory waits in ASan's quarantine; with
// ASAN_OPTIONS=quarantine_size_mb=0 it is 3 to 6 MiB.)
constexpr long kMaxExtraGrowthKib = 8 * 1024;

void ExpectBoundedGrowth(long growth_kib, long control_kib) {
  std::cout << "peak RSS growth: " << growth_kib << " KiB for 16 hostile checks, " << control_kib
            << " KiB for 16 clean ones\n";
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's shadow memory and allocator make peak-RSS bounds meaningless; the bound is
  // the ASan build's to hold (the caps themselves are asserted by the rest of each test).
  return;
#endif
  EXPECT_GE(growth_kib, 0);
  EXPECT_GE(control_kib, 0);
  EXPECT_LT(growth_kib - control_kib, kMaxExtraGrowthKib)
      << "peak RSS grew by " << growth_kib << " KiB during 16 checks at once, against "
      << control_kib << " KiB for 16 clean checks";
}

TEST_F(FaultTest, HttpsHeaderFloodEndsAtTheHeadCap) {
  ExpectOnly(CheckClean("headerflood.httpfault.test", WorldDns()), "policy_fetch_failed",
             "the response head from mta-sts.headerflood.httpfault.test");
  const Burst burst = CheckSixteenAtOnce("headerflood.httpfault.test");
  ASSERT_EQ(burst.reports.size(), 16U);
  for (const auto& report : burst.reports) {
    ExpectOnly(report, "policy_fetch_failed", "more than 100 header lines");
  }
  EXPECT_LT(burst.slowest_seconds, kBudgetSeconds);
  ExpectBoundedGrowth(burst.peak_growth_kib, burst.control_growth_kib);
}

TEST_F(FaultTest, HttpsOneMebibyteHeaderLine) {
  // The policy behind it is valid: a lenient client would accept it after buffering 1 MiB.
  ExpectOnly(CheckClean("bigheader.httpfault.test", WorldDns()), "policy_fetch_failed",
             "exceeded 16 KiB");
  const Burst burst = CheckSixteenAtOnce("bigheader.httpfault.test");
  ASSERT_EQ(burst.reports.size(), 16U);
  for (const auto& report : burst.reports) {
    ExpectOnly(report, "policy_fetch_failed", "exceeded 16 KiB");
  }
  EXPECT_LT(burst.slowest_seconds, kBudgetSeconds);
  ExpectBoundedGrowth(burst.peak_growth_kib, burst.control_growth_kib);
}

TEST_F(FaultTest, HttpsChunkSizeLineThatNeverEnds) {
  ExpectOnly(CheckClean("chunkline.httpfault.test", WorldDns()), "policy_fetch_failed",
             "a chunk-size line longer than 1024 bytes");
  const Burst burst = CheckSixteenAtOnce("chunkline.httpfault.test");
  ASSERT_EQ(burst.reports.size(), 16U);
  for (const auto& report : burst.reports) {
    ExpectOnly(report, "policy_fetch_failed", "chunk-size line");
  }
  EXPECT_LT(burst.slowest_seconds, kBudgetSeconds);
  ExpectBoundedGrowth(burst.peak_growth_kib, burst.control_growth_kib);
}

// The review's other attack: 3,500 A records answering RST made one check a SYN amplifier
// (3,500 connection attempts in 0.87 s). The peer's name has 3,500 A and 2,000 AAAA records
// (over TCP after TC), all routed to lo where nothing listens; nftables counts the SYNs.
TEST_F(FaultTest, ThousandsOfPolicyHostAddressesCostFourConnectionAttempts) {
  const std::string table = "mtasts_fault_dial";
  std::istringstream cidrs(Env("MTASTS_WORLD_FAULT_MANY_CIDRS"));
  std::string v4_range;
  std::string v6_range;
  cidrs >> v4_range >> v6_range;
  ASSERT_FALSE(v6_range.empty()) << "MTASTS_WORLD_FAULT_MANY_CIDRS is not set";
  const std::string rules =
      "table inet " + table + " {\n  counter v4 { }\n  counter v6 { }\n" +
      "  chain out {\n    type filter hook output priority 0; policy accept;\n" + "    ip daddr " +
      v4_range + " tcp flags & (syn|ack) == syn counter name v4\n    ip6 daddr " + v6_range +
      " tcp flags & (syn|ack) == syn counter name v6\n  }\n}\n";
  const std::string file = Env("MTASTS_WORLD_DIR") + "/fault-dial.nft";
  std::ofstream(file) << rules;
  int status = -1;
  const std::string made = Shell("nft -f " + file, &status);
  ASSERT_EQ(status, 0) << made << rules;
  const auto syns = [&table](const std::string& counter) {
    const std::string out = Shell("nft list counter inet " + table + " " + counter);
    const auto at = out.find("packets ");
    return at == std::string::npos ? -1L : std::stol(out.substr(at + 8));
  };
  for (const auto& dns : {FaultDns(), WorldDns()}) {
    SCOPED_TRACE("DNS server " + dns);
    const long v4_before = syns("v4");
    const long v6_before = syns("v6");
    // Two checks (CheckClean checks twice): two IPv4 and two IPv6 attempts each.
    DomainReport report = CheckClean("many-rst.httpfault.test", dns, {v4_range, v6_range});
    ExpectOnly(report, "policy_fetch_failed", "4 of its 5500 addresses were tried");
    EXPECT_EQ(syns("v4") - v4_before, 2 * 2);
    EXPECT_EQ(syns("v6") - v6_before, 2 * 2);
  }
  Shell("nft delete table inet " + table);
}

}  // namespace
}  // namespace mtasts
