// The daemon's memory against the test world: a policy rewritten without a new TXT id, a mode
// downgrade under a new id and a needless id bump, each seen by the scheduled re-checks in
// /metrics and in the state file, kept across a restart, and a downgrade window that ends on
// time (running, or while the daemon is down). The policy file is rewritten in place (nginx
// serves it from disk); the TXT record is swapped with set-txt.sh.
#include <gtest/gtest.h>

#include <functional>

#include "tests/integration/daemon_support.h"

namespace {

using namespace mtasts::world;  // NOLINT: test support

const std::string kDomain = "enforce.test";
const std::string kName = "_mta-sts.enforce.test";
const std::string kOriginalTxt = "v=STSv1; id=20240101T000000;";
const std::string kPolicy =
    "version: STSv1\nmode: enforce\nmx: mx1.enforce.test\nmx: *.mail.enforce.test\nmax_age: "
    "604800\n";

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

std::string Issue(const std::string& code, const std::string& severity) {
  return R"(mta_sts_issue{domain="enforce.test",code=")" + code + R"(",severity=")" + severity +
         R"("})";
}
const std::string kStale = Issue("policy_changed_without_id_change", "medium");
const std::string kNeedless = Issue("policy_id_changed_without_change", "info");
const std::string kDowngraded = Issue("mode_downgraded", "high");
const std::string kFirstSeen =
    R"(mta_sts_policy_first_seen_timestamp_seconds{domain="enforce.test"})";
const std::string kLastCheck = R"(mta_sts_last_check_timestamp_seconds{domain="enforce.test"})";

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("mtasts-history");
    policy_file_ = fs::path(Env("MTASTS_WORLD_DIR")) / "www/enforce.test/.well-known/mta-sts.txt";
    WriteFile(policy_file_, kPolicy);
    // Fast schedule: a full check every ~2 s.
    WriteFile(dir_ / "config.yaml",
              "state_dir: " + (dir_ / "state").string() + "\n" + NetworkSection() +
                  "schedule:\n  min_interval: 1s\n  max_interval: 2s\n  dns_interval: 1h\n"
                  "domains:\n  - " +
                  kDomain + "\n");
    daemon_ = std::make_unique<Daemon>(dir_, FreePort());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "daemon log:\n" << daemon_->Log();
    daemon_.reset();
    WriteFile(policy_file_, kPolicy);
    EXPECT_TRUE(SetTxt(kName, {kOriginalTxt}));
    fs::remove_all(dir_);
  }
  std::string Metrics() const {
    auto res = daemon_->Get("/metrics");
    return res ? res->body : "";
  }
  double Metric(const std::string& series) const { return Value(Metrics(), series); }
  /// The domain's entry of the saved state file (null until there is one).
  json Saved() const {
    std::ifstream in(dir_ / "state" / "state.json");
    if (!in) return nullptr;
    json state = json::parse(in, nullptr, false);
    if (state.is_discarded()) return nullptr;
    return state["domains"].value(kDomain, json(nullptr));
  }
  static bool HasCode(const json& entry, const std::string& code) {
    if (entry.is_null()) return false;
    for (const auto& issue : entry["report"]["issues"]) {
      if (issue["code"] == code) return true;
    }
    return false;
  }

  fs::path dir_;
  fs::path policy_file_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(HistoryTest, APolicyRewrittenWithoutANewIdIsFlaggedUntilTheIdChanges) {
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  const double first_seen = Metric(kFirstSeen);
  EXPECT_GT(first_seen, 1.7e9) << Metrics();
  EXPECT_EQ(Metric(kStale), -1);
  // /v1/meta names the history-aware codes.
  auto meta = daemon_->Get("/v1/meta");
  ASSERT_TRUE(meta);
  EXPECT_NE(meta->body.find("policy_changed_without_id_change"), std::string::npos) << meta->body;

  // Same id, new content (max_age a day): senders with the week-long cache never refetch it.
  std::string changed = kPolicy;
  changed.replace(changed.find("604800"), 6, "86400");
  WriteFile(policy_file_, changed);
  ASSERT_TRUE(WaitUntil([&] { return Metric(kStale) == 1; }, std::chrono::seconds(20)))
      << Metrics();
  EXPECT_GT(Metric(kFirstSeen), first_seen) << "the new content is younger";
  EXPECT_EQ(Metric(kNeedless), -1);
  EXPECT_EQ(Metric(kDowngraded), -1);
  // The state file carries the issue in the report, the report's history and the memory.
  ASSERT_TRUE(WaitUntil([&] { return HasCode(Saved(), "policy_changed_without_id_change"); },
                        std::chrono::seconds(10)));
  json saved = Saved();
  EXPECT_NE(saved["history"]["digest"], saved["history"]["id_digest"]) << saved.dump(2);
  EXPECT_EQ(saved["history"]["id"], "20240101T000000");
  EXPECT_TRUE(saved["report"]["history"]["policy_first_seen"].is_string()) << saved.dump(2);

  // A restart neither clears nor re-fires it: served from the state, then re-checked.
  EXPECT_EQ(daemon_->Stop(), 0);
  daemon_->Start();
  ASSERT_TRUE(WaitUntil([&] { return !Metrics().empty(); }, std::chrono::seconds(10)));
  const std::string restored = Metrics();
  EXPECT_EQ(Value(restored, kStale), 1) << restored;
  const double restored_check = Value(restored, kLastCheck);
  ASSERT_TRUE(
      WaitUntil([&] { return Metric(kLastCheck) > restored_check; }, std::chrono::seconds(20)));
  EXPECT_EQ(Metric(kStale), 1) << "still the same id with the changed policy";
  EXPECT_EQ(Metric(kFirstSeen), Value(restored, kFirstSeen)) << "the age survives the restart";

  // A new id fixes it; the bump is no needless one (caches held the old policy).
  ASSERT_TRUE(SetTxt(kName, {"v=STSv1; id=20260101T000001;"}));
  ASSERT_TRUE(WaitUntil([&] { return Metric(kStale) == -1; }, std::chrono::seconds(20)))
      << Metrics();
  EXPECT_EQ(Metric(kNeedless), -1);
  ASSERT_TRUE(WaitUntil([&] { return Saved()["history"]["previous_id"] == "20240101T000000"; },
                        std::chrono::seconds(10)))
      << Saved().dump(2);
  EXPECT_EQ(Saved()["report"]["history"]["previous_id"], "20240101T000000");
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(HistoryTest, ADowngradeUnderANewIdIsFlaggedAndANeedlessBumpNoted) {
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  EXPECT_EQ(Metric(kDowngraded), -1);

  // enforce -> testing the proper way: new content, then a new id.
  std::string testing = kPolicy;
  testing.replace(testing.find("enforce\n"), 7, "testing");
  WriteFile(policy_file_, testing);
  ASSERT_TRUE(SetTxt(kName, {"v=STSv1; id=20260101T000001;"}));
  ASSERT_TRUE(WaitUntil([&] { return Metric(kDowngraded) == 1 && Metric(kStale) == -1; },
                        std::chrono::seconds(20)))
      << Metrics();
  EXPECT_EQ(Metric(Issue("mode_testing", "medium")), 1);
  // The new issue set is a posture change (confirmed by the next check), so webhooks hear it.
  ASSERT_TRUE(WaitUntil(
      [&] { return Metric(R"(mta_sts_posture_changes_total{domain="enforce.test"})") >= 1; },
      std::chrono::seconds(20)));
  ASSERT_TRUE(
      WaitUntil([&] { return HasCode(Saved(), "mode_downgraded"); }, std::chrono::seconds(10)));
  json saved = Saved();
  EXPECT_EQ(saved["history"]["downgraded_to"], "testing") << saved.dump(2);
  const auto at = saved["history"]["downgraded_at_ms"].get<std::int64_t>();
  EXPECT_EQ(saved["history"]["downgraded_until_ms"].get<std::int64_t>(), at + 604800 * 1000LL)
      << "active for the enforce policy's max_age";
  EXPECT_TRUE(saved["report"]["history"]["mode_downgraded_at"].is_string());

  // Only the id changes now: every sender refetches the same file for nothing.
  ASSERT_TRUE(SetTxt(kName, {"v=STSv1; id=20260101T000002;"}));
  ASSERT_TRUE(WaitUntil([&] { return Metric(kNeedless) == 1; }, std::chrono::seconds(20)))
      << Metrics();
  EXPECT_EQ(Metric(kDowngraded), 1) << "the downgrade window is still open";
  EXPECT_EQ(Metric(kStale), -1);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(HistoryTest, ADowngradeWindowEndsOnTimeWhetherTheDaemonRunsOrNot) {
  // The enforce policy lives 5 s in caches; the testing one an hour, so the next planned check
  // is far off and only the end of the downgrade window brings the re-check that clears it.
  WriteFile(dir_ / "config.yaml",
            "state_dir: " + (dir_ / "state").string() + "\n" + NetworkSection() +
                "schedule:\n  min_interval: 1s\n  max_interval: 1h\n  dns_interval: 1s\n"
                "domains:\n  - " +
                kDomain + "\n");
  std::string enforce = kPolicy;
  enforce.replace(enforce.find("604800"), 6, "5");
  WriteFile(policy_file_, enforce);
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  std::string testing = kPolicy;
  testing.replace(testing.find("enforce\n"), 7, "testing");
  testing.replace(testing.find("604800"), 6, "3600");
  WriteFile(policy_file_, testing);
  ASSERT_TRUE(SetTxt(kName, {"v=STSv1; id=20260101T000001;"}));
  ASSERT_TRUE(WaitUntil([&] { return Metric(kDowngraded) == 1; }, std::chrono::seconds(20)))
      << Metrics();
  // Down before the window ends, up after it: served from the state, then re-judged at once.
  EXPECT_EQ(daemon_->Stop(), 0);
  ASSERT_TRUE(
      WaitUntil([&] { return HasCode(Saved(), "mode_downgraded"); }, std::chrono::seconds(1)));
  const auto until = Saved()["history"]["downgraded_until_ms"].get<std::int64_t>();
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::int64_t>(until - now_ms, 0)) +
                              std::chrono::milliseconds(500));
  daemon_->Start();
  ASSERT_TRUE(WaitUntil([&] { return Metric(kLastCheck) > 0; }, std::chrono::seconds(10)));
  ASSERT_TRUE(WaitUntil([&] { return Metric(kDowngraded) == -1; }, std::chrono::seconds(15)))
      << Metrics();
  EXPECT_EQ(Metric(Issue("mode_testing", "medium")), 1);

  // The same while running: enforce again (a new id, found by the id re-read), then testing;
  // the window's end, not the planned check an hour later, clears it.
  WriteFile(policy_file_, enforce);
  ASSERT_TRUE(SetTxt(kName, {"v=STSv1; id=20260101T000002;"}));
  ASSERT_TRUE(WaitUntil([&] { return Metric(Issue("mode_testing", "medium")) == -1; },
                        std::chrono::seconds(20)));
  WriteFile(policy_file_, testing);
  ASSERT_TRUE(SetTxt(kName, {"v=STSv1; id=20260101T000003;"}));
  ASSERT_TRUE(WaitUntil([&] { return Metric(kDowngraded) == 1; }, std::chrono::seconds(20)))
      << Metrics();
  ASSERT_TRUE(WaitUntil([&] { return Metric(kDowngraded) == -1; }, std::chrono::seconds(15)))
      << Metrics();
  EXPECT_GT(
      Metric(R"(mta_sts_next_check_timestamp_seconds{domain="enforce.test"})") - Metric(kLastCheck),
      600)
      << "the planned check is far off";
  EXPECT_EQ(daemon_->Stop(), 0);
}

}  // namespace
