// GET /probe (README "Probing domains listed in Prometheus") on the real daemon in the test world:
// every posture of tests/world/postures.tsv probed with probe_mx=true carries exactly the issue
// codes `check --json --probe-mx` finds (world_integration), as the per-domain families of
// /metrics; nothing of a probe is kept; a bad target is 400.
#include <atomic>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/integration/daemon_support.h"

namespace mtasts::world {
namespace {

struct Posture {
  std::string domain;
  bool enforced = false;
  std::string mode;  // "null" when no valid policy
  std::set<std::string> codes;
};

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
    Posture p{cols[0], cols[1] == "true", cols[2], {}};
    if (cols[3] != "-") {
      std::stringstream codes(cols[3]);
      while (std::getline(codes, col, ',')) p.codes.insert(col);
    }
    postures.push_back(p);
  }
  return postures;
}

/// The issue codes of the mta_sts_issue series of `domain` whose value is 1.
std::set<std::string> IssueCodes(const std::string& exposition, const std::string& domain) {
  static const std::regex series(
      R"re(^mta_sts_issue\{domain="([^"]*)",code="([^"]*)",severity="[a-z]*"\} 1$)re");
  std::set<std::string> codes;
  std::istringstream in(exposition);
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, match, series) && match[1] == domain) codes.insert(match[2]);
  }
  return codes;
}

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("mtasts-probe");
    port_ = FreePort();
    // Probes come in parallel from one address: the rate limit must not be what is tested.
    WriteFile(dir_ / "config.yaml",
              ConfigText(dir_, {"enforce.test"},
                         "api:\n  rate_limit_per_minute: 100000\n  rate_limit_burst: 1000\n"));
    daemon_ = std::make_unique<Daemon>(dir_, port_);
    daemon_->Start();
    ASSERT_TRUE(daemon_->WaitReady());
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::cerr << "daemon log:\n" << daemon_->Log();
    daemon_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(ProbeTest, EveryPostureCarriesItsIssueCodes) {
  const std::vector<Posture> postures = LoadPostures();
  ASSERT_GE(postures.size(), 30U);
  std::vector<std::optional<httplib::Response>> answers(postures.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 8; ++i) {  // half the default live-check cap
    workers.emplace_back([&] {
      for (std::size_t at = next++; at < postures.size(); at = next++) {
        auto res = daemon_->Get("/probe?target=" + postures[at].domain + "&probe_mx=true");
        if (res) answers[at] = *res;
      }
    });
  }
  for (auto& worker : workers) worker.join();

  for (std::size_t i = 0; i < postures.size(); ++i) {
    const Posture& p = postures[i];
    SCOPED_TRACE(p.domain);
    ASSERT_TRUE(answers[i]) << "no answer";
    const httplib::Response& res = *answers[i];
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = res.body;
    const std::string by_domain = "{domain=\"" + p.domain + "\"";
    EXPECT_EQ(IssueCodes(text, p.domain), p.codes) << text;
    EXPECT_EQ(Value(text, "mta_sts_enforced" + by_domain + "}"), p.enforced ? 1 : 0) << text;
    const std::string mode = p.mode == "null" ? "unknown" : p.mode;
    EXPECT_EQ(Value(text, "mta_sts_mode" + by_domain + ",mode=\"" + mode + "\"}"), 1) << text;
    // The check ran to the end: every lookup answered (slow.test's fetch timing out included).
    EXPECT_EQ(Value(text, "mta_sts_probe_success"), 1) << text;
    EXPECT_EQ(Value(text, "mta_sts_check_success" + by_domain + "}"), 1) << text;
    const double took = Value(text, "mta_sts_probe_duration_seconds");
    EXPECT_GT(took, 0) << text;
    EXPECT_LT(took, 5.0) << "no probe outlives its check's budget (3 s)";
    EXPECT_EQ(text.find("mta_sts_posture_changes_total"), std::string::npos);
    EXPECT_EQ(text.find("mta_sts_next_check_timestamp_seconds"), std::string::npos);
  }
  // The MX probe's families come with probe_mx=true only.
  const std::string good = "mta_sts_mx_starttls{domain=\"mx-good.test\",mx=\"mx1.mx-good.test\"}";
  for (std::size_t i = 0; i < postures.size(); ++i) {
    if (postures[i].domain == "mx-good.test") {
      EXPECT_EQ(Value(answers[i]->body, good), 1);
    }
  }
  auto without = daemon_->Get("/probe?target=mx-good.test");
  ASSERT_TRUE(without);
  EXPECT_EQ(Value(without->body, good), -1) << without->body;
  EXPECT_EQ(Value(without->body, "mta_sts_probe_success"), 1) << without->body;

  // Nothing of a probe is kept: /metrics and the state file know the watched domain only.
  auto metrics = daemon_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(Value(metrics->body, "mta_sts_exporter_domains_watched"), 1);
  EXPECT_NE(metrics->body.find("domain=\"enforce.test\""), std::string::npos);
  for (const auto& p : postures) {
    if (p.domain == "enforce.test") continue;
    EXPECT_EQ(metrics->body.find("domain=\"" + p.domain + "\""), std::string::npos) << p.domain;
  }
  EXPECT_EQ(daemon_->Stop(), 0);
  // The state file holds the watched domain only (its report may name others: certificate names).
  std::ifstream in(dir_ / "state" / "state.json");
  const json state = json::parse(in, nullptr, false);
  ASSERT_TRUE(state.is_object() && state.contains("domains")) << state.dump();
  std::set<std::string> saved;
  for (const auto& [name, entry] : state["domains"].items()) saved.insert(name);
  EXPECT_EQ(saved, std::set<std::string>{"enforce.test"});
}

TEST_F(ProbeTest, ABadTargetIs400WithOneLineOfText) {
  for (const std::string target : {"", "?target=", "?target=a..test", "?target=a%20b.test",
                                   "?target=a.test&target=b.test", "?target=a.test&probe_mx=1"}) {
    SCOPED_TRACE(target);
    auto res = daemon_->Get("/probe" + target);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    ASSERT_FALSE(res->body.empty());
    EXPECT_EQ(res->body.find('\n'), res->body.size() - 1) << "one line: " << res->body;
  }
}

}  // namespace
}  // namespace mtasts::world
