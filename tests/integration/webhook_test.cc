// Webhooks end to end: the real daemon in the test world, a real HTTP receiver on loopback, and
// the world's published posture changed under it.
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>

#include "tests/integration/daemon_support.h"

namespace {

using namespace mtasts::world;  // NOLINT: test support

struct Received {
  std::string body;
  std::string event_id;
  std::string webhook_id;
  std::string signature;
};

/// An HTTP receiver on a fixed loopback port that can be taken down and brought back.
class Receiver {
 public:
  explicit Receiver(int port) : port_(port) {}
  ~Receiver() { Down(); }
  void Up() {
    server_ = std::make_unique<httplib::Server>();
    server_->Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      received_.push_back({req.body, req.get_header_value("X-MTA-STS-Event-Id"),
                           req.get_header_value("webhook-id"),
                           req.get_header_value("X-MTA-STS-Signature")});
      res.status = status_;
    });
    ASSERT_TRUE(server_->bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  void Down() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }
  std::vector<Received> Events() {
    std::lock_guard lock(mutex_);
    return received_;
  }
  /// The status of every answer from now on (200 until told otherwise).
  void AnswerWith(int status) {
    std::lock_guard lock(mutex_);
    status_ = status;
  }

 private:
  int port_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Received> received_;
  int status_ = 200;
};

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

const std::string kSecret = "s3cret-for-tests";
const std::string kPolicy =
    "version: STSv1\nmode: enforce\nmx: mx1.enforce.test\nmx: *.mail.enforce.test\nmax_age: "
    "604800\n";

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("mtasts-webhook");
    policy_file_ = fs::path(Env("MTASTS_WORLD_DIR")) / "www/enforce.test/.well-known/mta-sts.txt";
    WriteFile(policy_file_, kPolicy);
    receiver_port_ = FreePort();
    WriteFile(dir_ / "secret", kSecret + "\n");
    // Fast schedule: a check every ~2 s, a new posture confirmed by the next check.
    WriteFile(dir_ / "config.yaml",
              "state_dir: " + (dir_ / "state").string() + "\n" + NetworkSection() +
                  "schedule:\n  min_interval: 1s\n  max_interval: 2s\n  dns_interval: 1h\n"
                  "  confirmations: 2\n"
                  "domains:\n  - enforce.test\n"
                  "webhooks:\n  - name: ops\n    url: http://127.0.0.1:" +
                  std::to_string(receiver_port_) + "/hook\n    secret_file: " +
                  (dir_ / "secret").string() + "\n    timeout: 2s\n    max_attempts: 50\n");
    daemon_ = std::make_unique<Daemon>(dir_, FreePort());
  }
  void TearDown() override {
    daemon_.reset();
    WriteFile(policy_file_, kPolicy);
    fs::remove_all(dir_);
  }
  double Metric(const std::string& series) {
    auto res = daemon_->Get("/metrics");
    return res ? Value(res->body, series) : -1;
  }
  double Changes() { return Metric(R"(mta_sts_posture_changes_total{domain="enforce.test"})"); }
  std::string ReadConfig() const {
    std::ifstream in(dir_ / "config.yaml");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void SetMode(const std::string& mode) {
    std::string text = kPolicy;
    text.replace(text.find("enforce\n"), 7, mode);
    WriteFile(policy_file_, text);
  }

  fs::path dir_;
  fs::path policy_file_;
  int receiver_port_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(WebhookTest, ADowngradeEmitsExactlyOneSignedEvent) {
  Receiver receiver(receiver_port_);
  receiver.Up();
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(receiver.Events().empty()) << "the first check is a baseline, not a change";

  SetMode("testing");
  ASSERT_TRUE(WaitUntil([&] { return !receiver.Events().empty(); }, std::chrono::seconds(20)))
      << daemon_->Log();
  std::this_thread::sleep_for(std::chrono::seconds(4));  // and nothing more follows
  auto events = receiver.Events();
  ASSERT_EQ(events.size(), 1U);
  json event = json::parse(events[0].body);
  EXPECT_EQ(event["domain"], "enforce.test");
  EXPECT_EQ(event["type"], "posture_changed");
  EXPECT_EQ(event["downgrade"], true);
  EXPECT_EQ(event["previous"]["mode"], "enforce");
  EXPECT_EQ(event["current"]["mode"], "testing");
  std::set<std::string> fields;
  for (const auto& change : event["changes"]) fields.insert(change["field"].get<std::string>());
  EXPECT_TRUE(fields.count("mode") && fields.count("enforced") && fields.count("issues"))
      << event["changes"].dump();
  EXPECT_EQ(events[0].event_id, event["id"]);
  EXPECT_EQ(events[0].webhook_id, event["id"]);
  EXPECT_EQ(Changes(), 1);

  // The signature verifies with an independent tool: openssl dgst -hmac over "<t>.<body>".
  std::smatch m;
  ASSERT_TRUE(std::regex_match(events[0].signature, m, std::regex("t=(\\d+),v1=([0-9a-f]{64})")))
      << events[0].signature;
  WriteFile(dir_ / "signed", m[1].str() + "." + events[0].body);
  const std::string digest =
      Capture("openssl dgst -sha256 -hmac '" + kSecret + "' -r " + (dir_ / "signed").string());
  EXPECT_EQ(digest.substr(0, 64), m[2].str());
}

TEST_F(WebhookTest, ASingleFlapEmitsNothing) {
  Receiver receiver(receiver_port_);
  receiver.Up();
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  SetMode("testing");
  ASSERT_TRUE(WaitUntil(
      [&] { return Metric(R"(mta_sts_mode{domain="enforce.test",mode="testing"})") == 1; },
      std::chrono::seconds(20)));
  WriteFile(policy_file_, kPolicy);  // back before the confirming check
  ASSERT_TRUE(WaitUntil(
      [&] { return Metric(R"(mta_sts_mode{domain="enforce.test",mode="enforce"})") == 1; },
      std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(receiver.Events().empty());
  EXPECT_EQ(Changes(), 0);
}

TEST_F(WebhookTest, EventsWaitForAReceiverThatIsDownAndArriveInOrder) {
  Receiver receiver(receiver_port_);  // down for now
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  SetMode("testing");
  ASSERT_TRUE(WaitUntil([&] { return Changes() == 1; }, std::chrono::seconds(20)));
  SetMode("none");
  ASSERT_TRUE(WaitUntil([&] { return Changes() == 2; }, std::chrono::seconds(20)));
  EXPECT_GE(Metric(R"(mta_sts_webhook_deliveries_total{webhook="ops",result="failure"})"), 1);
  EXPECT_EQ(Metric(R"(mta_sts_webhook_queue_length{webhook="ops"})"), 2);
  receiver.Up();
  ASSERT_TRUE(WaitUntil([&] { return receiver.Events().size() >= 2; }, std::chrono::seconds(40)));
  auto events = receiver.Events();
  EXPECT_EQ(json::parse(events[0].body)["current"]["mode"], "testing");
  EXPECT_EQ(json::parse(events[1].body)["current"]["mode"], "none");
  EXPECT_TRUE(
      WaitUntil([&] { return Metric(R"(mta_sts_webhook_queue_length{webhook="ops"})") == 0; },
                std::chrono::seconds(5)));
}

TEST_F(WebhookTest, PendingEventsSurviveSigkill) {
  Receiver receiver(receiver_port_);  // down: the event can only wait in the outbox
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  SetMode("testing");
  ASSERT_TRUE(WaitUntil([&] { return Changes() == 1; }, std::chrono::seconds(20)));
  daemon_->Kill();  // SIGKILL: no shutdown, no final save
  receiver.Up();
  daemon_->Start();
  ASSERT_TRUE(WaitUntil([&] { return !receiver.Events().empty(); }, std::chrono::seconds(30)))
      << daemon_->Log();
  std::this_thread::sleep_for(std::chrono::seconds(4));
  // At least once: a copy re-detected after the crash carries the same event id.
  const auto events = receiver.Events();
  for (const auto& e : events) EXPECT_EQ(e.event_id, events[0].event_id);
  EXPECT_EQ(json::parse(events[0].body)["current"]["mode"], "testing");
}

// Reloads do not reset a webhook's attempts or backoff: with max_attempts 3 and a receiver that
// always fails, ten reloads (SIGHUP and POST, half of them changing the secret, which rebuilds
// the deliverer) while the event backs off still make exactly 3 attempts. Each reload once
// restarted the deliverer from attempt 1 without a backoff: ten reloads, ten extra deliveries.
TEST_F(WebhookTest, ReloadsKeepAttemptCountsAndBackoff) {
  std::string config = ReadConfig();
  config.replace(config.find("max_attempts: 50"), 16, "max_attempts: 3");
  WriteFile(dir_ / "config.yaml", config);
  Receiver receiver(receiver_port_);
  receiver.AnswerWith(500);
  receiver.Up();
  daemon_->Start({"--web.enable-lifecycle"});
  ASSERT_TRUE(daemon_->WaitReady());
  SetMode("testing");
  ASSERT_TRUE(WaitUntil([&] { return !receiver.Events().empty(); }, std::chrono::seconds(20)))
      << daemon_->Log();
  // The first attempt failed; the second is about a second away, the third two more.
  for (int i = 0; i < 10; ++i) {
    if (i % 4 >= 2) ReplaceFile(dir_ / "secret", kSecret + "-" + std::to_string(i) + "\n");
    if (i % 2 == 0) {
      daemon_->Signal(SIGHUP);
    } else {
      auto res = daemon_->Reload();
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200) << res->body;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(WaitUntil(
      [&] {
        return daemon_->Log().find("webhook event dropped after every attempt failed") !=
               std::string::npos;
      },
      std::chrono::seconds(20)))
      << daemon_->Log();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // and no attempt follows
  EXPECT_EQ(receiver.Events().size(), 3U) << daemon_->Log();
  for (const auto& e : receiver.Events()) EXPECT_EQ(e.event_id, receiver.Events()[0].event_id);
  EXPECT_EQ(Metric(R"(mta_sts_webhook_deliveries_total{webhook="ops",result="failure"})"), 3);
  EXPECT_EQ(Metric(R"(mta_sts_webhook_queue_length{webhook="ops"})"), 0);
  EXPECT_EQ(Metric(R"(mta_sts_exporter_config_last_reload_successful)"), 1);
  EXPECT_EQ(Metric(R"(mta_sts_exporter_internal_errors_total{thread="webhook"})"), 0);
  EXPECT_EQ(daemon_->Stop(), 0);
}

TEST_F(WebhookTest, APlainRestartIsNotAChange) {
  Receiver receiver(receiver_port_);
  receiver.Up();
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_EQ(daemon_->Stop(), 0);
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady());
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_TRUE(receiver.Events().empty());
  EXPECT_EQ(Changes(), 0);
}

}  // namespace
