// The SSRF guard at packet level, in the test world's network namespace: nftables counts every
// TCP SYN that leaves, per destination. Policy hosts resolving to refused addresses (put on lo
// here, so that a connection attempt would really send a SYN) must cost zero SYNs; a host
// resolving to a public-and-private mix is refused whole; and the fetcher connects only to the
// address it vetted, without a second DNS lookup (rebinding).
#include <map>

#include "collectors/net/https_fetcher.h"
#include "tests/integration/daemon_support.h"

namespace mtasts::world {
namespace {

constexpr const char* kTable = "mtasts_ssrf_proof";

int Shell(const std::string& command) {
  int status = -1;
  const std::string out = Capture(command + " 2>&1", &status);
  if (status != 0) ADD_FAILURE() << command << " failed (" << status << "): " << out;
  return status;
}

/// SYN packets sent so far to `address` (IPv4 or IPv6), from the nftables counter.
long Syns(const std::string& address) {
  const std::string name = "syn_" + std::to_string(std::hash<std::string>{}(address) % 100000);
  const std::string out =
      Capture(std::string("nft list counter inet ") + kTable + " " + name + " 2>&1");
  const auto at = out.find("packets ");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no counter for " << address << ": " << out;
    return -1;
  }
  return std::stol(out.substr(at + 8));
}

/// All SYNs to anything but the world's web server (and DNS, which is UDP or TCP to :53).
long SynsElsewhere() {
  const std::string out =
      Capture(std::string("nft list counter inet ") + kTable + " syn_elsewhere 2>&1");
  const auto at = out.find("packets ");
  return at == std::string::npos ? -1 : std::stol(out.substr(at + 8));
}

std::string DnsLog() {
  std::ifstream in(Env("MTASTS_WORLD_DIR") + "/dnsmasq.log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

/// A TCP connect from this process; the SYN goes out even when nothing listens (RST back).
void Knock(const std::string& address) {
  Capture("timeout 2 bash -c 'exec 3<>/dev/tcp/" + address + "/443' 2>&1");
}

json CheckJson(const std::string& domains) {
  const std::string command =
      std::string(MTASTS_BINARY) + " check --json --dns.server=" + Env("MTASTS_WORLD_DNS") +
      " --tls.ca-file=" + Env("MTASTS_WORLD_CA") +
      " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR") + " --check.timeout=3s " + domains;
  return json::parse(Capture(command), nullptr, false);
}

// The refused policy hosts of with-world.sh's ssrf_dns, by address.
const std::vector<std::pair<std::string, std::string>> kRefused = {
    {"ssrf-loopback.test", "127.0.0.1"},
    {"ssrf-private.test", "10.0.0.1"},
    {"ssrf-metadata.test", "169.254.169.254"},
    {"ssrf-cgnat.test", "100.64.0.1"},
    {"ssrf-zero.test", "0.0.0.0"},
    {"ssrf-ula.test", "fd00::1"},
    {"ssrf-mapped.test", "::ffff:10.0.0.1"},
    {"ssrf-nat64.test", "64:ff9b::a00:1"},
    {"ssrf-6to4.test", "2002:a00:1::1"},
    {"ssrf-teredo.test", "2001:0:4136:e378:8000:63bf:f5ff:fffe"},
    {"private-host.test", "10.0.0.1"},
    {"mixed-host.test", "10.0.0.1"},
    {"ssrf-mixed6.test", "fd00::1"},
};

class SsrfPacketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The refused addresses on lo (10.0.0.1 and 127.0.0.1 are there already), so that nothing
    // but the guard stands between the exporter and a SYN.
    for (const char* a : {"169.254.169.254/32", "100.64.0.1/32"})
      Shell(std::string("ip addr add ") + a + " dev lo");
    for (const char* a : {"fd00::1/128", "64:ff9b::a00:1/128", "2002:a00:1::1/128",
                          "2001:0:4136:e378:8000:63bf:f5ff:fffe/128"}) {
      Shell(std::string("ip -6 addr add ") + a + " dev lo nodad");
    }
    std::string rules = std::string("table inet ") + kTable + " {\n";
    std::set<std::string> addresses = {"203.0.113.10"};
    for (const auto& [domain, address] : kRefused) addresses.insert(address);
    std::string chain = "  chain out {\n    type filter hook output priority 0; policy accept;\n";
    for (const auto& address : addresses) {
      const std::string name = "syn_" + std::to_string(std::hash<std::string>{}(address) % 100000);
      rules += "  counter " + name + " { }\n";
      const bool v6 = address.find(':') != std::string::npos;
      // ::ffff:a.b.c.d never leaves as IPv6: a socket sends it as IPv4.
      const std::string match = address.rfind("::ffff:", 0) == 0
                                    ? "ip daddr " + address.substr(7)
                                    : (v6 ? "ip6 daddr " : "ip daddr ") + address;
      chain += "    " + match + " tcp flags & (syn|ack) == syn counter name " + name + "\n";
    }
    rules += "  counter syn_elsewhere { }\n";
    chain +=
        "    ip daddr != 203.0.113.10 tcp flags & (syn|ack) == syn counter name syn_elsewhere\n";
    chain += "    meta nfproto ipv6 tcp flags & (syn|ack) == syn counter name syn_elsewhere\n";
    rules += chain + "  }\n}\n";
    std::ofstream(Env("MTASTS_WORLD_DIR") + "/ssrf.nft") << rules;
    Shell("nft -f " + Env("MTASTS_WORLD_DIR") + "/ssrf.nft");
  }
  static void TearDownTestSuite() { Capture(std::string("nft delete table inet ") + kTable); }
};

TEST_F(SsrfPacketTest, TheCountersSeeEveryConnectAttempt) {
  // The control: a plain connect to each refused address is counted, so zero below means zero.
  for (const auto& [domain, address] : kRefused) {
    if (address.rfind("::ffff:", 0) == 0 || address == "0.0.0.0") continue;  // not dialable as is
    SCOPED_TRACE(address);
    const long before = Syns(address);
    Knock(address);
    EXPECT_GE(Syns(address), before + 1);
  }
  const long before = SynsElsewhere();
  Knock("10.0.0.1");
  EXPECT_GE(SynsElsewhere(), before + 1);
}

TEST_F(SsrfPacketTest, RefusedHostsCostNoPacket) {
  std::string domains;
  for (const auto& [domain, address] : kRefused) domains += " " + domain;
  const long elsewhere_before = SynsElsewhere();
  std::map<std::string, long> before;
  for (const auto& [domain, address] : kRefused) before[address] = Syns(address);

  const json reports = CheckJson(domains);
  ASSERT_TRUE(reports.is_array()) << reports.dump();
  ASSERT_EQ(reports.size(), kRefused.size());
  for (std::size_t i = 0; i < kRefused.size(); ++i) {
    const auto& [domain, address] = kRefused[i];
    SCOPED_TRACE(domain + " -> " + address);
    const json& report = reports[i];
    EXPECT_EQ(report["domain"], domain);
    bool refused = false;
    for (const auto& issue : report["issues"]) {
      if (issue["code"] == "target_refused") {
        refused = true;
        EXPECT_NE(issue["message"].get<std::string>().find("no connection was made"),
                  std::string::npos)
            << issue.dump();
      }
      EXPECT_NE(issue["code"], "policy_fetch_failed") << "a refused host is never dialled";
    }
    EXPECT_TRUE(refused) << report.dump(2);
    EXPECT_EQ(Syns(address), before[address]) << "a SYN went to a refused address";
  }
  EXPECT_EQ(SynsElsewhere(), elsewhere_before) << "a SYN went somewhere other than 203.0.113.10";
  // The mixed answers are refused whole: not even their public address is dialled.
  for (const char* mixed : {"mixed-host.test", "ssrf-mixed6.test"}) {
    for (const auto& report : reports) {
      if (report["domain"] != mixed) continue;
      EXPECT_NE(report["policy"]["error"].get<std::string>().find("refused whole"),
                std::string::npos)
          << report.dump(2);
    }
  }
}

TEST_F(SsrfPacketTest, OnlyTheVettedAddressIsDialledAndOnlyOnceLookedUp) {
  const long web_before = Syns("203.0.113.10");
  const long elsewhere_before = SynsElsewhere();
  const std::size_t queries_before = Count(DnsLog(), "query[A] mta-sts.enforce.test ");
  const json report = CheckJson("enforce.test");
  ASSERT_TRUE(report.is_object()) << report.dump();
  EXPECT_EQ(report["policy"]["valid"], true) << report.dump(2);
  EXPECT_EQ(report["policy"]["address"], "203.0.113.10");
  EXPECT_EQ(Syns("203.0.113.10"), web_before + 1) << "one connection, to the vetted address";
  EXPECT_EQ(SynsElsewhere(), elsewhere_before);
  // One lookup of the policy host per check: nothing resolves it again before the connect.
  EXPECT_EQ(Count(DnsLog(), "query[A] mta-sts.enforce.test "), queries_before + 1) << DnsLog();
}

TEST_F(SsrfPacketTest, RebindingCannotRedirectTheFetch) {
  // mta-sts.private-host.test "rebinds": DNS now says 10.0.0.1, where a real nginx serves its
  // policy. The fetcher was given the address vetted earlier (203.0.113.10): it dials that one,
  // never asks DNS, and never sends a packet to 10.0.0.1.
  const long private_before = Syns("10.0.0.1");
  const long web_before = Syns("203.0.113.10");
  const std::size_t queries_before = Count(DnsLog(), "mta-sts.private-host.test");
  auto trust = net::TrustStore::Load(Env("MTASTS_WORLD_CA"));
  ASSERT_TRUE(trust.has_value()) << trust.error().message;
  net::HttpsFetcher fetcher(trust.value());
  net::FetchRequest request;
  request.host = "mta-sts.private-host.test";
  request.address = *net::IpAddress::Parse("203.0.113.10");
  request.path = "/.well-known/mta-sts.txt";
  request.deadline = Deadline::After(std::chrono::seconds(5));
  const net::FetchResult result = fetcher.Fetch(request);
  EXPECT_EQ(result.address, "203.0.113.10");
  ASSERT_EQ(result.kind, net::FetchResult::Kind::kResponse) << result.message;
  // 203.0.113.10 has no site for that name: nginx's default server answers 421.
  EXPECT_EQ(result.response->status, 421);
  EXPECT_EQ(Syns("203.0.113.10"), web_before + 1);
  EXPECT_EQ(Syns("10.0.0.1"), private_before) << "the rebound address was dialled";
  EXPECT_EQ(Count(DnsLog(), "mta-sts.private-host.test"), queries_before)
      << "the fetcher looked the name up again";
  std::ifstream in(Env("MTASTS_WORLD_DIR") + "/access-unknown.log");
  const std::string log{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(log.find("203.0.113.10:443 sni=mta-sts.private-host.test"), std::string::npos) << log;
}

// GET /probe of a refused policy host: the same guard, no packet. The daemon listens on the web
// server's address, so the test's own connections to it are not counted as SYNs elsewhere.
TEST_F(SsrfPacketTest, ProbeOfARefusedHostCostsNoPacket) {
  const fs::path dir = FreshTestDir("mtasts-ssrf-probe");
  WriteFile(dir / "config.yaml",
            ConfigText(dir, {"enforce.test"},
                       "api:\n  rate_limit_per_minute: 100000\n  rate_limit_burst: 1000\n"));
  Daemon daemon(dir, FreePort(), "203.0.113.10");
  daemon.Start();
  ASSERT_TRUE(daemon.WaitReady()) << daemon.Log();
  const long elsewhere_before = SynsElsewhere();
  for (const auto& [domain, address] : kRefused) {
    SCOPED_TRACE(domain + " -> " + address);
    const long before = Syns(address);
    auto res = daemon.Get("/probe?target=" + domain);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_NE(
        res->body.find("mta_sts_issue{domain=\"" + domain + "\",code=\"target_refused\",severity="),
        std::string::npos)
        << res->body;
    EXPECT_EQ(res->body.find("code=\"policy_fetch_failed\""), std::string::npos)
        << "a refused host is never dialled";
    EXPECT_EQ(Value(res->body, "mta_sts_probe_success"), 1) << res->body;
    EXPECT_EQ(Syns(address), before) << "a SYN went to a refused address";
  }
  EXPECT_EQ(SynsElsewhere(), elsewhere_before) << "a SYN went somewhere other than 203.0.113.10";
  EXPECT_EQ(daemon.Stop(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mtasts::world
