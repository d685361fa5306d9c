// The real daemon against the test world: metrics after the first round, the /v1 API against
// `check --json`, 400/401/429, reloads good and bad, removed domains, restart with saved state,
// and promtool on a real scrape.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

extern char** environ;

#include "collectors/report/issue_codes.h"
#include "config/shard.h"
#include "tests/integration/daemon_support.h"

namespace {

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return "(inflateInit2 failed)";
  std::string out(16 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return status == Z_STREAM_END ? out : "(not a complete gzip stream)";
}

using namespace mtasts::world;  // NOLINT: test support

/// Drops what differs between two runs of the same check (timing, the time of day).
json Stable(json report) {
  for (const char* key : {"checked_at", "checked_at_ms", "duration_seconds"}) report.erase(key);
  return report;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("mtasts-daemon");
    port_ = FreePort();
    daemon_ = std::make_unique<Daemon>(dir_, port_);
  }
  void TearDown() override {
    daemon_.reset();
    if (HasFailure()) std::cerr << "daemon log:\n" << Daemon(dir_, port_).Log();
    fs::remove_all(dir_);
  }
  std::string Exporter(const std::string& args, int* status = nullptr) const {
    return Capture(
        std::string(MTASTS_BINARY) + " " + args + " --dns.server=" + Env("MTASTS_WORLD_DNS") +
            " --tls.ca-file=" + Env("MTASTS_WORLD_CA") +
            " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR") +
            " --ssrf.allow-cidr=" + Env("MTASTS_WORLD_ALLOW_CIDR6") + " --check.timeout=3s",
        status);
  }
  std::string Metrics() const {
    auto res = daemon_->Get("/metrics");
    return res ? res->body : "";
  }

  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

const std::vector<std::string> kDomains = {"enforce.test", "testing.test", "none.test",
                                           "policy-404.test", "mx-uncovered.test"};

TEST_F(DaemonTest, MetricsAfterTheFirstRound) {
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, kDomains));
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  const std::string m = Metrics();
  EXPECT_EQ(Value(m, R"(mta_sts_enforced{domain="enforce.test"})"), 1) << m;
  EXPECT_EQ(Value(m, R"(mta_sts_enforced{domain="testing.test"})"), 0);
  EXPECT_EQ(Value(m, R"(mta_sts_mode{domain="enforce.test",mode="enforce"})"), 1);
  EXPECT_EQ(Value(m, R"(mta_sts_mode{domain="enforce.test",mode="testing"})"), 0);
  EXPECT_EQ(Value(m, R"(mta_sts_mode{domain="testing.test",mode="testing"})"), 1);
  EXPECT_EQ(Value(m, R"(mta_sts_mode{domain="policy-404.test",mode="unknown"})"), 1);
  EXPECT_EQ(
      Value(m, R"(mta_sts_issue{domain="testing.test",code="mode_testing",severity="medium"})"), 1);
  EXPECT_EQ(
      Value(
          m,
          R"(mta_sts_issue{domain="mx-uncovered.test",code="mx_not_covered",severity="critical"})"),
      1);
  EXPECT_EQ(Value(m, R"(mta_sts_issues{domain="mx-uncovered.test",severity="critical"})"), 1);
  EXPECT_EQ(Value(m, R"(mta_sts_issues{domain="enforce.test",severity="info"})"), 0);
  EXPECT_EQ(Value(m, R"(mta_sts_policy_max_age_seconds{domain="enforce.test"})"), 604800);
  EXPECT_EQ(Value(m, R"(mta_sts_policy_max_age_seconds{domain="policy-404.test"})"), -1);
  EXPECT_EQ(Value(m, R"(mta_sts_check_success{domain="enforce.test"})"), 1);
  EXPECT_EQ(Value(m, "mta_sts_exporter_domains_watched"), 5);
  EXPECT_EQ(Value(m, "mta_sts_exporter_config_last_reload_successful"), 1);
  // The next check follows max_age (a week) held to max_interval (a day), less jitter.
  const double last = Value(m, R"(mta_sts_last_check_timestamp_seconds{domain="enforce.test"})");
  const double next = Value(m, R"(mta_sts_next_check_timestamp_seconds{domain="enforce.test"})");
  EXPECT_GT(next - last, 0.9 * 86400 - 5);
  EXPECT_LE(next - last, 86400 + 5);
  EXPECT_NE(daemon_->Log().find("msg=\"check finished\" domain=enforce.test"), std::string::npos);

  // With Accept-Encoding: gzip the same exposition comes gzip-compressed, byte for byte.
  {
    httplib::Client raw("127.0.0.1", port_);
    raw.set_decompress(false);
    auto zipped = raw.Get("/metrics", {{"Accept-Encoding", "gzip"}});
    ASSERT_TRUE(zipped);
    EXPECT_EQ(zipped->get_header_value("Content-Encoding"), "gzip");
    EXPECT_LT(zipped->body.size(), m.size());
    EXPECT_EQ(Gunzip(zipped->body), Metrics());
    auto plain = raw.Get("/metrics", {{"Accept-Encoding", "identity"}});
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->has_header("Content-Encoding"));
    EXPECT_EQ(plain->body, Metrics());
  }

  // The exposition passes promtool's own linter, on a real scrape.
  if (fs::exists("/usr/bin/promtool")) {
    WriteFile(dir_ / "scrape.prom", m);
    int status = -1;
    std::string out =
        Capture("promtool check metrics < " + (dir_ / "scrape.prom").string() + " 2>&1", &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "") << out;
  } else {
    ADD_FAILURE() << "promtool is not installed (scripts/install-deps.sh --with-test installs it)";
  }
  EXPECT_EQ(daemon_->Stop(), 0);
}

// shard: {index: K, count: 2} watches exactly the domains whose hash falls in shard K; the two
// shards together watch the whole list, each domain once.
TEST_F(DaemonTest, ShardsSplitTheDomainList) {
  std::set<std::string> watched_by_both;
  std::size_t total = 0;
  for (int index = 0; index < 2; ++index) {
    SCOPED_TRACE(index);
    WriteFile(
        dir_ / "config.yaml",
        ConfigText(dir_, kDomains, "shard: {index: " + std::to_string(index) + ", count: 2}\n"));
    Daemon daemon(dir_, port_);
    daemon.Start();
    ASSERT_TRUE(daemon.WaitReady());
    auto res = daemon.Get("/metrics");
    ASSERT_TRUE(res);
    const std::string& m = res->body;
    std::size_t expected = 0;
    for (const auto& domain : kDomains) {
      const bool mine = mtasts::ShardOf(domain, 2) == index;
      expected += mine ? 1 : 0;
      const bool present =
          m.find("mta_sts_enforced{domain=\"" + domain + "\"}") != std::string::npos;
      EXPECT_EQ(present, mine) << domain;
      if (present) {
        EXPECT_TRUE(watched_by_both.insert(domain).second) << domain;
      }
    }
    EXPECT_EQ(Value(m, "mta_sts_exporter_domains_watched"), static_cast<double>(expected));
    total += expected;
    EXPECT_NE(daemon.Log().find("msg=\"sharded domain list\" shard=" + std::to_string(index) +
                                "/2 listed=5"),
              std::string::npos);
    EXPECT_EQ(daemon.Stop(), 0);
  }
  EXPECT_EQ(total, kDomains.size());
  EXPECT_EQ(watched_by_both.size(), kDomains.size());
}

TEST_F(DaemonTest, ApiAnswersEqualTheCommandLine) {
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test"}));
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  for (const char* domain :
       {"enforce.test", "mx-uncovered.test", "private-host.test", "bücher.test"}) {
    SCOPED_TRACE(domain);
    auto res = daemon_->Get(std::string("/v1/check?domain=") + PercentEncode(domain));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    json envelope = json::parse(res->body);
    EXPECT_EQ(envelope["status"], "ok");
    EXPECT_EQ(envelope["success"], true);
    EXPECT_TRUE(std::regex_match(
        envelope["meta"]["request_id"].get<std::string>(),
        std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
    EXPECT_TRUE(std::regex_match(envelope["meta"]["timestamp"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
    json cli = json::parse(Exporter(std::string("check --json ") + domain));
    EXPECT_EQ(Stable(envelope["data"]), Stable(cli));
  }
  auto policy = daemon_->Get("/v1/policy?domain=enforce.test");
  ASSERT_TRUE(policy);
  ASSERT_EQ(policy->status, 200);
  EXPECT_EQ(json::parse(policy->body)["data"], json::parse(Exporter("policy --json enforce.test")));
  auto meta = daemon_->Get("/v1/meta");
  ASSERT_TRUE(meta);
  json data = json::parse(meta->body)["data"];
  for (const char* key : {"note", "modes", "checks", "endpoints"})
    EXPECT_TRUE(data.contains(key)) << key;
  // The catalogue comes from the check registry: every issue code, each under its check.
  std::set<std::string> meta_codes;
  for (const auto& check : data["checks"]) {
    for (const auto& code : check["codes"]) meta_codes.insert(code.get<std::string>());
  }
  std::set<std::string> all_codes;
  for (int i = 0; i <= static_cast<int>(mtasts::kLastIssueCode); ++i) {
    all_codes.insert(std::string(mtasts::IssueCodeName(static_cast<mtasts::IssueCode>(i))));
  }
  EXPECT_EQ(meta_codes, all_codes) << meta->body;
  auto refused = json::parse(daemon_->Get("/v1/check?domain=private-host.test")->body);
  EXPECT_EQ(refused["data"]["issues"][0]["code"], "target_refused");
  EXPECT_EQ(daemon_->Get("/")->status, 200);
  EXPECT_EQ(daemon_->Get("/-/healthy")->status, 200);
}

TEST_F(DaemonTest, BadRequestsUnauthorisedAndRateLimited) {
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test"}));
  daemon_->Start({"--web.enable-lifecycle"});
  ASSERT_TRUE(daemon_->WaitReady());
  for (const char* bad :
       {"", "domain=", "domain=127.0.0.1", "domain=%5B%3A%3A1%5D", "domain=0x7f.1",
        "domain=https%3A%2F%2Fenforce.test%2F", "domain=enforce.test%3A443",
        "domain=a%40enforce.test", "domain=localhost", "domain=a..b.test"}) {
    SCOPED_TRACE(bad);
    auto res = daemon_->Get(std::string("/v1/check?") + bad);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    json envelope = json::parse(res->body);
    EXPECT_TRUE(envelope["data"].is_null());
    EXPECT_EQ(envelope["status"], "error");
    EXPECT_EQ(envelope["success"], false);
    EXPECT_FALSE(envelope["message"].get<std::string>().empty());
  }

  // Keys and a tight rate limit, by reload.
  WriteFile(dir_ / "keys", "# ops team\nsecret-one\nsecret-two\n");
  WriteFile(dir_ / "config.yaml",
            ConfigText(dir_, {"enforce.test"},
                       "api:\n  keys_file: " + (dir_ / "keys").string() +
                           "\n  rate_limit_per_minute: 1\n  rate_limit_burst: 2\n"));
  ASSERT_EQ(daemon_->Reload()->status, 200);
  EXPECT_EQ(daemon_->Get("/v1/meta")->status, 200) << "meta needs no key";
  EXPECT_EQ(daemon_->Get("/v1/check?domain=enforce.test")->status, 401);
  EXPECT_EQ(daemon_->Get("/v1/check?domain=enforce.test", {{"x-api-key", "wrong"}})->status, 401);
  EXPECT_EQ(daemon_->Get("/v1/check?domain=enforce.test", {{"x-api-key", "secret-one"}})->status,
            200);
  EXPECT_EQ(daemon_->Get("/v1/check?domain=enforce.test", {{"x-api-key", "secret-one"}})->status,
            200);
  auto limited = daemon_->Get("/v1/check?domain=enforce.test", {{"x-api-key", "secret-one"}});
  EXPECT_EQ(limited->status, 429);
  EXPECT_GE(std::stoi(limited->get_header_value("Retry-After")), 1);
  EXPECT_EQ(json::parse(limited->body)["status"], "error");
  EXPECT_EQ(daemon_->Get("/v1/check?domain=enforce.test", {{"x-api-key", "secret-two"}})->status,
            200)
      << "buckets are per key";
  EXPECT_EQ(daemon_->Get("/metrics")->status, 200) << "scrapes are never limited";
}

TEST_F(DaemonTest, ReloadGoodAndBadFiles) {
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test", "testing.test"}));
  daemon_->Start({"--web.enable-lifecycle"});
  ASSERT_TRUE(daemon_->WaitReady());
  ASSERT_NE(Metrics().find(R"(domain="testing.test")"), std::string::npos);

  // Good file by SIGHUP: testing.test removed (its series go), none.test added.
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test", "none.test"}));
  daemon_->Signal(SIGHUP);
  std::string m;
  for (int i = 0; i < 100; ++i) {
    m = Metrics();
    if (Value(m, R"(mta_sts_mode{domain="none.test",mode="none"})") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(m.find(R"(domain="testing.test")"), std::string::npos) << m;
  EXPECT_EQ(Value(m, R"(mta_sts_mode{domain="none.test",mode="none"})"), 1);
  EXPECT_EQ(Value(m, "mta_sts_exporter_domains_watched"), 2);

  // Bad file by POST: refused, the running config stays, the failure is visible.
  WriteFile(dir_ / "config.yaml",
            ConfigText(dir_, {"enforce.test", "none.test"}) + "bogus_key: 1\n");
  auto res = daemon_->Reload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  // Why it failed (file names, lines) is for the log, not for whoever can reach the port.
  EXPECT_EQ(res->body, "Reload failed; see the exporter's log.\n");
  m = Metrics();
  EXPECT_EQ(Value(m, "mta_sts_exporter_config_last_reload_successful"), 0);
  EXPECT_EQ(Value(m, R"(mta_sts_enforced{domain="none.test"})"), 0);
  EXPECT_EQ(Value(m, "mta_sts_exporter_domains_watched"), 2);
  const std::string log = daemon_->Log();
  EXPECT_NE(log.find("config reload failed"), std::string::npos);
  EXPECT_NE(log.find("bogus_key"), std::string::npos) << log;
  EXPECT_EQ(daemon_->Stop(), 0);
}

// Lifecycle endpoints as Prometheus has them: POST /-/reload only with --web.enable-lifecycle,
// and with API keys only for a valid key. Anyone who could reach the port once reloaded at will.
TEST_F(DaemonTest, ReloadNeedsTheLifecycleFlagAndAKey) {
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test"}));
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test", "testing.test"}));
  auto res = daemon_->Reload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(res->body, "Lifecycle API is not enabled.\n");
  EXPECT_EQ(Value(Metrics(), "mta_sts_exporter_domains_watched"), 1) << "nothing was reloaded";
  EXPECT_EQ(daemon_->Log().find("config reloaded"), std::string::npos);
  // SIGHUP needs no flag.
  daemon_->Signal(SIGHUP);
  std::string m;
  for (int i = 0; i < 100; ++i) {
    m = Metrics();
    if (Value(m, "mta_sts_exporter_domains_watched") == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Value(m, "mta_sts_exporter_domains_watched"), 2);
  ASSERT_EQ(daemon_->Stop(), 0);

  // With the flag and API keys: the key is needed.
  WriteFile(dir_ / "keys", "reload-key\n");
  WriteFile(
      dir_ / "config.yaml",
      ConfigText(dir_, {"enforce.test"}, "api:\n  keys_file: " + (dir_ / "keys").string() + "\n"));
  daemon_->Start({"--web.enable-lifecycle"});
  ASSERT_TRUE(daemon_->WaitReady());
  WriteFile(dir_ / "config.yaml",
            ConfigText(dir_, {"enforce.test", "none.test"},
                       "api:\n  keys_file: " + (dir_ / "keys").string() + "\n"));
  res = daemon_->Reload();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->body, "Missing API key (header x-api-key).\n");
  res = daemon_->Reload({{"x-api-key", "wrong"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(Value(Metrics(), "mta_sts_exporter_domains_watched"), 1) << "nothing was reloaded";
  res = daemon_->Reload({{"x-api-key", "reload-key"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "Reloaded.\n");
  EXPECT_EQ(Value(Metrics(), "mta_sts_exporter_domains_watched"), 2);
  EXPECT_EQ(Value(Metrics(), R"(mta_sts_exporter_internal_errors_total{thread="http"})"), 0);
  EXPECT_EQ(daemon_->Stop(), 0);
}

// A webhook secret that is not valid Standard Webhooks base64 is a config error naming the file
// (never its content): the daemon refuses to start, and a reload to it keeps the running one.
// whsec_==== once wrapped a size_t in the deliverer thread and ended the process at every start.
TEST_F(DaemonTest, ABadWebhookSecretIsAConfigError) {
  const std::string hooks =
      "webhooks:\n  - name: ops\n    url: http://127.0.0.1:1/hook\n"
      "    secret_file: " +
      (dir_ / "ops.secret").string() + "\n";
  WriteFile(dir_ / "ops.secret", "whsec_====\n");
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {"enforce.test"}, hooks));
  daemon_->Start();
  EXPECT_EQ(daemon_->Wait(std::chrono::seconds(10)), 2) << "a bad config: exit 2";
  std::string log = daemon_->Log();
  EXPECT_NE(log.find((dir_ / "ops.secret").string()), std::string::npos) << log;
  EXPECT_NE(log.find("base64"), std::string::npos) << log;
  EXPECT_EQ(log.find("===="), std::string::npos) << "the secret is never logged:\n" << log;

  WriteFile(dir_ / "ops.secret", "whsec_a2V5c2VjcmV0a2V5MTIz\n");
  daemon_->Start({"--web.enable-lifecycle"});
  ASSERT_TRUE(daemon_->WaitReady());
  for (const char* bad : {"whsec_!!!!", "whsec_"}) {
    SCOPED_TRACE(bad);
    ReplaceFile(dir_ / "ops.secret", std::string(bad) + "\n");
    auto res = daemon_->Reload();
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(Value(Metrics(), "mta_sts_exporter_config_last_reload_successful"), 0);
  }
  log = daemon_->Log();
  EXPECT_EQ(log.find("!!!!"), std::string::npos) << log;
  ASSERT_TRUE(daemon_->Get("/-/healthy"));
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(DaemonTest, RestartRestoresStateWithoutCountingAChange) {
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, kDomains));
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  const std::string before = Metrics();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(daemon_->Stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  ASSERT_TRUE(fs::exists(dir_ / "state" / "state.json"));

  daemon_->Start();
  // The very first scrape already carries every domain's posture.
  std::optional<httplib::Result> first;
  for (int i = 0; i < 100; ++i) {
    auto res = daemon_->Get("/metrics");
    if (res && res->status == 200) {
      first.emplace(std::move(res));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(first.has_value());
  const std::string after = (*first)->body;
  for (const auto& domain : kDomains) {
    SCOPED_TRACE(domain);
    const std::string label = "{domain=\"" + domain + "\"}";
    EXPECT_EQ(Value(after, "mta_sts_enforced" + label), Value(before, "mta_sts_enforced" + label));
    EXPECT_EQ(Value(after, "mta_sts_last_check_timestamp_seconds" + label),
              Value(before, "mta_sts_last_check_timestamp_seconds" + label))
        << "served from the saved state, not re-checked";
    EXPECT_EQ(Value(after, "mta_sts_posture_changes_total" + label), 0);
  }
  EXPECT_NE(daemon_->Log().find("state restored"), std::string::npos);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(DaemonTest, BadConfigRefusesToStartAndConfigCheckSaysWhy) {
  WriteFile(dir_ / "config.yaml", "domains:\n  - enforce.test\n  - 10.0.0.1\n");
  int status = -1;
  std::string out = Capture(
      std::string(MTASTS_BINARY) + " config check " + (dir_ / "config.yaml").string() + " 2>&1",
      &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("config.yaml:3:5"), std::string::npos) << out;
  daemon_->Start();
  EXPECT_EQ(daemon_->Wait(std::chrono::seconds(5)), 2);
  EXPECT_NE(daemon_->Log().find("10.0.0.1"), std::string::npos);
}

// --web.config.file (README "The daemon"), with curl: every endpoint needs a user, a wrong
// password is 401, the headers come with every answer; a reload re-reads the file and a bad
// one keeps the running one; a bad one at start stops the start, naming file, line and key.
TEST_F(DaemonTest, WebConfigUsersHeadersAndReload) {
  const fs::path web = dir_ / "web.yml";
  WriteFile(web, "basic_auth_users:\n  alice: " + Bcrypt("right") +
                     "\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n");
  WriteFile(dir_ / "config.yaml", ConfigText(dir_, {}) + "  []\n");  // no checks to wait for
  daemon_->Start({"--web.enable-lifecycle", "--web.config.file=" + web.string()});
  const std::string url = "http://127.0.0.1:" + std::to_string(port_);
  auto curl = [&](const std::string& args) {
    return Capture("curl -s -o /dev/null -w '%{http_code}' " + args);
  };
  for (int i = 0; i < 100 && curl("-u alice:right " + url + "/-/healthy") != "200"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const char* path : {"/-/healthy", "/-/ready", "/metrics", "/v1/meta", "/"}) {
    EXPECT_EQ(curl(url + path), "401") << path;
    EXPECT_EQ(curl("-u alice:right " + url + path), "200") << path;
  }
  // Wrong ones spend the address's wrong-key budget (10 at once): two here.
  EXPECT_EQ(curl("-u alice:wrong " + url + "/-/healthy"), "401");
  EXPECT_EQ(curl("-u bob:right " + url + "/metrics"), "401") << "an unknown user";
  const std::string refused = Capture("curl -s -D - -o /dev/null " + url + "/metrics");
  EXPECT_NE(refused.find("WWW-Authenticate: Basic\r\n"), std::string::npos) << refused;
  EXPECT_NE(refused.find("X-Frame-Options: deny\r\n"), std::string::npos) << refused;
  const std::string served =
      Capture("curl -s -D - -o /dev/null -u alice:right " + url + "/metrics");
  EXPECT_NE(served.find("X-Frame-Options: deny\r\n"), std::string::npos) << served;

  // A bad file on reload: refused, the running users stay, the log names file, line and key.
  WriteFile(web, "basic_auth_users:\n  bob: " + Bcrypt("new") + "\nrate_limit: {burst: 1}\n");
  EXPECT_EQ(curl("-X POST -u alice:right " + url + "/-/reload"), "500");
  EXPECT_NE(daemon_->Log().find(web.string() + ":3: rate_limit: not supported"), std::string::npos)
      << daemon_->Log();
  EXPECT_EQ(curl("-u alice:right " + url + "/-/healthy"), "200");
  EXPECT_EQ(curl("-u bob:new " + url + "/-/healthy"), "401");
  // A good one: bob now, alice no more, and no header.
  WriteFile(web, "basic_auth_users:\n  bob: " + Bcrypt("new") + "\n");
  daemon_->Signal(SIGHUP);
  for (int i = 0; i < 100 && curl("-u bob:new " + url + "/-/healthy") != "200"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(curl("-u bob:new " + url + "/-/healthy"), "200");
  EXPECT_EQ(curl("-u alice:right " + url + "/-/healthy"), "401");
  EXPECT_EQ(
      Capture("curl -s -D - -o /dev/null -u bob:new " + url + "/metrics").find("X-Frame-Options"),
      std::string::npos);
  EXPECT_EQ(daemon_->Stop(), 0);

  // A bad file at start: no start.
  WriteFile(web, "basic_auth_users:\n  alice: s3kr1t-value\n");
  daemon_->Start({"--web.config.file=" + web.string()});
  EXPECT_EQ(daemon_->Wait(std::chrono::seconds(5)), 2);
  EXPECT_NE(daemon_->Log().find(web.string() + ":2: basic_auth_users.alice: not a bcrypt hash"),
            std::string::npos);
  EXPECT_EQ(daemon_->Log().find("s3kr1t-value"), std::string::npos) << "the value is not shown";

  // tls_server_config: HTTPS with the user; plain HTTP gets no answer (relative paths: from
  // the web config's directory).
  ASSERT_TRUE(SelfSignedLoopbackCert(dir_, "server"));
  WriteFile(web,
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "basic_auth_users:\n  alice: " +
                Bcrypt("right") + "\n");
  daemon_->Start({"--web.config.file=" + web.string()});
  const std::string https = "https://127.0.0.1:" + std::to_string(port_);
  const std::string ca = "--cacert " + (dir_ / "server.crt").string() + " ";
  for (int i = 0; i < 100 && curl(ca + "-u alice:right " + https + "/-/healthy") != "200"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(curl(ca + "-u alice:right " + https + "/-/healthy"), "200") << daemon_->Log();
  EXPECT_EQ(curl(ca + https + "/metrics"), "401");
  EXPECT_NE(curl("--max-time 3 -u alice:right " + url + "/-/healthy"), "200") << "no plain HTTP";
  EXPECT_NE(curl("--max-time 3 -u alice:right " + https + "/-/healthy"), "200") << "an unknown CA";
  EXPECT_EQ(daemon_->Stop(), 0);
}

}  // namespace
