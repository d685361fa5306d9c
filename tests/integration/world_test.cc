// The real binary against the test world: dnsmasq and nginx with a CA minted at test time, in
// a private network namespace (tests/world/with-world.sh). Every posture of
// tests/world/postures.tsv is checked with `check --json --probe-mx` (postfix answers for every MX
// host) and its exact issue set asserted.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

struct Posture {
  std::string domain;
  bool enforced = false;
  std::string mode;  // "null" when no valid policy
  std::set<std::string> codes;
  std::string description;
};

// Shown by gtest when a parameterised test fails, instead of the object's bytes.
void PrintTo(const Posture& p, std::ostream* os) {
  *os << p.domain;
}

std::vector<Posture> LoadPostures() {
  std::vector<Posture> postures;
  std::ifstream in(Env("MTASTS_WORLD_POSTURES"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() < 4) continue;
    Posture p{cols[0], cols[1] == "true", cols[2], {}, cols.size() > 4 ? cols[4] : ""};
    if (cols[3] != "-") {
      std::stringstream codes(cols[3]);
      while (std::getline(codes, col, ',')) p.codes.insert(col);
    }
    postures.push_back(p);
  }
  return postures;
}

struct RunResult {
  int status = -1;
  std::string out;
};

/// Runs the exporter with the world's network flags; stderr goes to the test log.
RunResult Exporter(const std::string& args, bool world_flags = true,
                   const std::string& timeout = "3s") {
  std::string command = std::string(MTASTS_BINARY) + " " + args;
  if (world_flags) {
    command +=
        " --dns.server=" + Env("MTASTS_WORLD_DNS") + " --tls.ca-file=" + Env("MTASTS_WORLD_CA") +
        " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR") +
        " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR6") + " --check.timeout=" + timeout;
  }
  RunResult run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  int raw = pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

std::set<std::string> Codes(const json& report) {
  std::set<std::string> codes;
  for (const auto& issue : report["issues"]) codes.insert(issue["code"].get<std::string>());
  return codes;
}

/// One `check --json` over every posture, run once: the domains are checked concurrently.
class WorldTest : public ::testing::TestWithParam<Posture> {
 public:
  static void SetUpTestSuite() {
    std::string domains;
    for (const auto& p : LoadPostures()) domains += " " + p.domain;
    RunResult run = Exporter("check --json --probe-mx" + domains);
    reports_ = new json(json::parse(run.out, nullptr, false));
  }
  static void TearDownTestSuite() {
    delete reports_;
    reports_ = nullptr;
  }

 protected:
  static const json* Find(const std::string& domain) {
    if (reports_ == nullptr || !reports_->is_array()) return nullptr;
    for (const auto& report : *reports_) {
      if (report["domain"] == domain) return &report;
    }
    return nullptr;
  }
  static json* reports_;
};

json* WorldTest::reports_ = nullptr;

TEST_P(WorldTest, PostureHasExactlyTheExpectedIssues) {
  const Posture& p = GetParam();
  SCOPED_TRACE(p.domain + ": " + p.description);
  const json* report = Find(p.domain);
  ASSERT_NE(report, nullptr) << "no report for " << p.domain;
  EXPECT_EQ(Codes(*report), p.codes) << report->dump(2);
  EXPECT_EQ((*report)["enforced"].get<bool>(), p.enforced) << report->dump(2);
  if (p.mode == "null") {
    EXPECT_TRUE((*report)["policy"]["mode"].is_null()) << report->dump(2);
  } else {
    EXPECT_EQ((*report)["policy"]["mode"], p.mode) << report->dump(2);
  }
  // Every issue carries a severity and a message a person can act on.
  for (const auto& issue : (*report)["issues"]) {
    EXPECT_FALSE(issue["message"].get<std::string>().empty());
    EXPECT_TRUE(issue["severity"].is_string());
  }
  // No check may outlive its budget (3 s here), even against a server that never answers.
  EXPECT_LT((*report)["duration_seconds"].get<double>(), 5.0);
}

INSTANTIATE_TEST_SUITE_P(Postures, WorldTest, ::testing::ValuesIn(LoadPostures()),
                         [](const auto& param_info) {
                           std::string name = param_info.param.domain;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(World, EnforcedDomainReportInFull) {
  RunResult run = Exporter("check --json enforce.test");
  ASSERT_EQ(run.status, 0) << run.out;
  json report = json::parse(run.out);
  ASSERT_TRUE(report.is_object()) << "one domain gives one object";
  EXPECT_EQ(report["issues"], json::array());
  EXPECT_EQ(report["policy"]["found"], true);
  EXPECT_EQ(report["policy"]["valid"], true);
  EXPECT_EQ(report["policy"]["url"], "https://mta-sts.enforce.test/.well-known/mta-sts.txt");
  EXPECT_EQ(report["policy"]["version"], "STSv1");
  EXPECT_EQ(report["policy"]["max_age"], 604800);
  EXPECT_EQ(report["policy"]["mx"], json({"mx1.enforce.test", "*.mail.enforce.test"}));
  EXPECT_EQ(report["sts_record"]["found"], true);
  EXPECT_EQ(report["sts_record"]["id"], "20240101T000000");
  EXPECT_EQ(report["tls_rpt"]["found"], true);
  EXPECT_EQ(report["tls_rpt"]["rua"], json({"mailto:tlsrpt@enforce.test"}));
  EXPECT_EQ(report["mx"]["hosts"], json({"mx1.enforce.test", "a.mail.enforce.test"}));
  EXPECT_EQ(report["mx"]["uncovered"], json::array());
  EXPECT_EQ(report["check_success"], true);
}

// The dual-stack postures (README "Dual stack"): the report names the address the policy came
// from. dual.test has a good A and a good AAAA and is fetched over IPv6, the family tried first;
// v6-broken.test has the same shape with a dead AAAA (nothing listens there), so its policy came
// from the A after the IPv6 attempt was refused. The text output shows the address too.
TEST(World, DualStackReportsTheAddressThePolicyCameFrom) {
  RunResult run = Exporter("check --json v6-only.test dual.test v6-broken.test");
  EXPECT_EQ(run.status, 0) << run.out;
  const json reports = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(reports.is_array()) << run.out;
  ASSERT_EQ(reports.size(), 3U);
  const struct {
    const char* domain;
    const char* address;
  } kCases[] = {{"v6-only.test", "2001:db8:113::10"},
                {"dual.test", "2001:db8:113::10"},
                {"v6-broken.test", "203.0.113.10"}};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(kCases[i].domain);
    const json& report = reports[i];
    EXPECT_EQ(report["domain"], kCases[i].domain);
    EXPECT_EQ(report["enforced"], true) << report.dump(2);
    EXPECT_EQ(report["issues"], json::array()) << report.dump(2);  // no --probe-mx here
    EXPECT_EQ(report["policy"]["valid"], true);
    EXPECT_EQ(report["policy"]["mode"], "enforce");
    EXPECT_EQ(report["policy"]["address"], kCases[i].address) << report.dump(2);
    EXPECT_TRUE(report["policy"]["error"].is_null()) << report.dump(2);
  }
  // v6-only.test's policy request reached nginx on its IPv6 address, with the right SNI and Host.
  std::ifstream in(Env("MTASTS_WORLD_DIR") + "/access-v6-only.test.log");
  std::string line;
  std::string last;
  while (std::getline(in, line)) last = line;
  EXPECT_NE(last.find(" 2001:db8:113::10:443 sni=mta-sts.v6-only.test host=mta-sts.v6-only.test "),
            std::string::npos)
      << last;

  RunResult text = Exporter("check v6-only.test");
  EXPECT_EQ(text.status, 0) << text.out;
  EXPECT_NE(text.out.find("\n    address: 2001:db8:113::10\n"), std::string::npos) << text.out;
}

TEST(World, ExitStatusFollowsTheWorstDomain) {
  EXPECT_EQ(Exporter("check enforce.test short-max-age.test").status, 0);
  EXPECT_EQ(Exporter("check enforce.test policy-404.test").status, 1);
  EXPECT_EQ(Exporter("check mx-uncovered.test").status, 1);  // enforced, but critical
  // Served as text/html: parsed, but not enforced (README "What it checks").
  EXPECT_EQ(Exporter("check text-html.test").status, 1);
}

TEST(World, SeveralDomainsGiveAnArrayInTheOrderGiven) {
  RunResult run = Exporter("check --json testing.test enforce.test none.test");
  json reports = json::parse(run.out);
  ASSERT_TRUE(reports.is_array());
  ASSERT_EQ(reports.size(), 3U);
  EXPECT_EQ(reports[0]["domain"], "testing.test");
  EXPECT_EQ(reports[1]["domain"], "enforce.test");
  EXPECT_EQ(reports[2]["domain"], "none.test");
}

// The array is printed as the checks finish, in the order given (README "One-shot checks"):
// the first domain's report is out while a later one (slow.test: its policy host answers after
// 30 s, the check gives up at 3 s) is still being checked, not held until the last is done.
TEST(World, ReportsArePrintedAsTheyFinishInTheOrderGiven) {
  const std::string command =
      std::string(MTASTS_BINARY) +
      " check --json enforce.test slow.test none.test --dns.server=" + Env("MTASTS_WORLD_DNS") +
      " --tls.ca-file=" + Env("MTASTS_WORLD_CA") +
      " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR") + " --check.timeout=3s";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  // Up to the end of the first element: its closing brace, two spaces in.
  const auto first_done = [&] {
    return text.size() >= 4 && text.compare(text.size() - 4, 4, "\n  }") == 0;
  };
  while (!first_done()) {
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_NE(text.find("\"enforce.test\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"slow.test\""), std::string::npos)
      << "the first report came only with the slow one's";
  int raw = 0;
  EXPECT_EQ(waitpid(child, &raw, WNOHANG), 0)
      << "the first report came only when every check was done";
  for (ssize_t n = 0; (n = read(out[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  ASSERT_EQ(waitpid(child, &raw, 0), child);
  EXPECT_EQ(WEXITSTATUS(raw), 1);
  const json reports = json::parse(text, nullptr, false);
  ASSERT_TRUE(reports.is_array()) << text;
  ASSERT_EQ(reports.size(), 3U);
  EXPECT_EQ(reports[0]["domain"], "enforce.test");
  EXPECT_EQ(reports[1]["domain"], "slow.test");
  EXPECT_EQ(reports[2]["domain"], "none.test");
  EXPECT_EQ(reports[0]["enforced"], true);
  EXPECT_EQ(reports[1]["enforced"], false);
}

TEST(World, BadDomainNamesAreUsageErrors) {
  for (const char* bad : {"127.0.0.1", "https://enforce.test/", "enforce.test:443",
                          "postmaster@enforce.test", "'[::1]'", "localhost", "-bad-.test"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(Exporter(std::string("check ") + bad).status, 2);
  }
  EXPECT_EQ(Exporter("check").status, 2);
  EXPECT_EQ(Exporter("check --no-such-flag enforce.test").status, 2);
  EXPECT_EQ(Exporter("check --check.timeout=soon enforce.test", false).status, 2);
}

TEST(World, InternationalisedNamesAreCheckedAsALabels) {
  RunResult run = Exporter("check --json bücher.test");
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(json::parse(run.out)["domain"], "xn--bcher-kva.test");
}

TEST(World, PolicyCommand) {
  RunResult run = Exporter("policy --json enforce.test");
  ASSERT_EQ(run.status, 0) << run.out;
  json policy = json::parse(run.out);
  EXPECT_EQ(policy["domain"], "enforce.test");
  EXPECT_EQ(policy["found"], true);
  EXPECT_EQ(policy["url"], "https://mta-sts.enforce.test/.well-known/mta-sts.txt");
  EXPECT_EQ(policy["version"], "STSv1");
  EXPECT_EQ(policy["mode"], "enforce");
  EXPECT_EQ(policy["max_age"], 604800);
  EXPECT_EQ(policy["mx"], json({"mx1.enforce.test", "*.mail.enforce.test"}));

  EXPECT_EQ(Exporter("policy policy-404.test").status, 1);
  EXPECT_EQ(Exporter("policy enforce.test testing.test").status, 2);
  RunResult human = Exporter("policy enforce.test");
  EXPECT_NE(human.out.find("mode: enforce"), std::string::npos) << human.out;
}

TEST(World, HumanOutputSummarisesEachDomain) {
  RunResult run = Exporter("check enforce.test mx-uncovered.test");
  EXPECT_NE(run.out.find("enforce.test  ENFORCED"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("CRITICAL mx_not_covered"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("\033["), std::string::npos) << "no colour when not on a terminal";
}

// A TXT record holding an escape sequence, a CR and bytes that are not UTF-8 (hostile-txt.test)
// checked together with a good domain: JSON output is valid JSON with both reports (the bad bytes
// replaced by U+FFFD), and text output shows every control escaped. `check --json` once aborted
// (exit 134, nlohmann type_error 316), losing every domain's report; text mode printed the
// record raw, so the escape sequence rewrote the line into a spoofed "STS record: ... id=ok;".
TEST(World, HostileRecordsCannotBreakTheOutput) {
  RunResult run = Exporter("check --json hostile-txt.test enforce.test");
  ASSERT_EQ(run.status, 1) << run.out;  // hostile-txt.test is not enforced
  json reports = json::parse(run.out, nullptr, false);
  ASSERT_FALSE(reports.is_discarded()) << run.out;
  ASSERT_TRUE(reports.is_array());
  ASSERT_EQ(reports.size(), 2U);
  EXPECT_EQ(reports[0]["domain"], "hostile-txt.test");
  EXPECT_EQ(reports[1]["domain"], "enforce.test");
  EXPECT_EQ(reports[1]["enforced"], true);
  EXPECT_EQ(Codes(reports[0]), std::set<std::string>{"sts_record_invalid"});
  EXPECT_EQ(reports[0]["sts_record"]["record"],
            "v=STSv1; id=\x1b[2K\rSTS record: v=STSv1; id=ok;\xef\xbf\xbd\xef\xbf\xbd")
      << "ESC and CR are JSON escapes; 0xFF and 0xFE are U+FFFD";
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos);
  EXPECT_NE(run.out.find("\\u001b[2K"), std::string::npos) << run.out;

  RunResult text = Exporter("check hostile-txt.test enforce.test");
  EXPECT_EQ(text.status, 1);
  for (const char raw : {'\x1b', '\r', '\xff', '\xfe'}) {
    EXPECT_EQ(text.out.find(raw), std::string::npos)
        << "raw byte " << static_cast<int>(static_cast<unsigned char>(raw)) << " in:\n"
        << text.out;
  }
  EXPECT_NE(text.out.find("  STS record: v=STSv1; id=\\x1b[2K\\x0dSTS record: v=STSv1; "
                          "id=ok;\\xff\\xfe\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("enforce.test  ENFORCED"), std::string::npos) << text.out;

  // The policy body in text mode: the C1 control (valid UTF-8, so the policy is valid) is
  // escaped too; the lines stay lines.
  RunResult policy = Exporter("policy hostile-txt.test");
  EXPECT_EQ(policy.status, 0) << policy.out;
  EXPECT_EQ(policy.out.find("\xc2\x9b"), std::string::npos) << policy.out;
  EXPECT_NE(policy.out.find("\nmode: enforce\n"), std::string::npos) << policy.out;
  EXPECT_NE(policy.out.find("\nx-note: \\u009b31mred\n"), std::string::npos) << policy.out;
  RunResult policy_json = Exporter("policy --json hostile-txt.test");
  EXPECT_EQ(policy_json.status, 0);
  EXPECT_FALSE(json::parse(policy_json.out, nullptr, false).is_discarded()) << policy_json.out;
}

TEST(World, SsrfGuardIsOnByDefaultAndNeverDialsRefusedHosts) {
  // Without the exemption, the world's own documentation-range hosts are refused too.
  RunResult run =
      Exporter("check --json --dns.server=" + Env("MTASTS_WORLD_DNS") + " enforce.test", false);
  json report = json::parse(run.out);
  EXPECT_EQ(Codes(report), std::set<std::string>{"target_refused"}) << report.dump(2);

  // A private policy host (10.0.0.1, with a real nginx listening there) is never contacted.
  const std::string log = Env("MTASTS_WORLD_DIR") + "/access-private.log";
  RunResult refused = Exporter("check --json private-host.test mixed-host.test");
  ASSERT_EQ(refused.status, 1);
  std::ifstream in(log);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, "") << "the exporter connected to a refused address";
}

}  // namespace
