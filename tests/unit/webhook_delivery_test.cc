// The outbox and the deliverer against a real HTTP receiver on loopback.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "agent/internal_errors.h"
#include "agent/webhooks/deliverer.h"
#include "agent/webhooks/outbox.h"

namespace mtasts::agent::webhooks {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

/// A receiver that answers with the statuses it is told to, then 200, and records the bodies.
class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++requests_;
      if (!failures_.empty()) {
        res.status = failures_.front();
        if (res.status == 429) res.set_header("Retry-After", "1");
        failures_.erase(failures_.begin());
        return;
      }
      bodies_.push_back(req.body);
      ids_.push_back(req.get_header_value("X-Test-Id"));
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  void FailNext(std::vector<int> statuses) {
    std::lock_guard lock(mutex_);
    failures_ = std::move(statuses);
  }
  std::vector<std::string> Bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  int Requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<int> failures_;
  std::vector<std::string> bodies_;
  std::vector<std::string> ids_;
  int requests_ = 0;
};

bool WaitFor(const std::function<bool()>& done, milliseconds limit = milliseconds(10000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

class WebhookDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mtasts-outbox-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Deliverer> Make(Outbox& outbox, const std::string& url, int max_attempts = 5,
                                  milliseconds initial_backoff = milliseconds(20),
                                  Deliverer::Render render = nullptr) {
    DelivererOptions options;
    options.name = "ops";
    options.url = url;
    // No test here waits for a timeout; a short one only turned a slow loopback answer on a
    // loaded CI machine (sanitizers, parallel tests) into an extra failed attempt.
    options.timeout = milliseconds(20000);
    options.max_attempts = max_attempts;
    options.initial_backoff = initial_backoff;
    options.max_backoff = std::max(initial_backoff, milliseconds(100));
    if (!render) {
      render = [](const PendingEvent& event, std::int64_t) {
        return Delivery{event.payload, "application/json", {{"X-Test-Id", event.event_id}}};
      };
    }
    return std::make_unique<Deliverer>(
        options, outbox, std::move(render),
        [this](bool success) { (success ? successes_ : failures_)++; },
        [this](const PendingEvent&, const std::string&) { dropped_++; });
  }

  fs::path dir_;
  std::atomic<int> successes_{0};
  std::atomic<int> failures_{0};
  std::atomic<int> dropped_{0};
};

TEST_F(WebhookDelivery, DeliversInOrderThroughFailuresAndEmptiesTheOutbox) {
  Receiver receiver;
  receiver.FailNext({500, 503, 429});  // the third carries Retry-After: 1
  Outbox outbox(dir_.string());
  auto deliverer = Make(outbox, receiver.Url());
  ASSERT_TRUE(deliverer->Start().has_value());
  for (int i = 0; i < 5; ++i) {
    auto added =
        outbox.Add("ops", 1000 + i, "evt" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}");
    ASSERT_TRUE(added.has_value()) << added.error().message;
    deliverer->Enqueue(added.value());
  }
  ASSERT_TRUE(WaitFor([&] { return receiver.Bodies().size() == 5; }));
  EXPECT_EQ(receiver.Bodies(), (std::vector<std::string>{"{\"n\":0}", "{\"n\":1}", "{\"n\":2}",
                                                         "{\"n\":3}", "{\"n\":4}"}));
  EXPECT_EQ(failures_, 3);
  // The receiver has the last body before the deliverer has its answer.
  EXPECT_TRUE(WaitFor([&] { return successes_ == 5; })) << successes_;
  EXPECT_EQ(dropped_, 0);
  ASSERT_TRUE(WaitFor([&] { return outbox.Load("ops").value().empty(); }));
  EXPECT_TRUE(WaitFor([&] { return deliverer->QueueLength() == 0; }));
}

TEST_F(WebhookDelivery, DropsAfterMaxAttempts) {
  Receiver receiver;
  receiver.FailNext({500, 500, 500});
  Outbox outbox(dir_.string());
  auto deliverer = Make(outbox, receiver.Url(), /*max_attempts=*/3);
  ASSERT_TRUE(deliverer->Start().has_value());
  deliverer->Enqueue(outbox.Add("ops", 1, "doomed", "{}").value());
  deliverer->Enqueue(outbox.Add("ops", 2, "fine", "{\"ok\":1}").value());
  ASSERT_TRUE(WaitFor([&] { return receiver.Bodies().size() == 1; }));
  EXPECT_EQ(receiver.Bodies()[0], "{\"ok\":1}");
  EXPECT_EQ(dropped_, 1);
  EXPECT_EQ(receiver.Requests(), 4);
}

TEST_F(WebhookDelivery, PendingEventsSurviveARestartAndAreNotDuplicated) {
  Outbox outbox(dir_.string());
  {
    // The receiver is down: nothing listens on this port.
    auto deliverer = Make(outbox, "http://127.0.0.1:1/hook", 100);
    ASSERT_TRUE(deliverer->Start().has_value());
    deliverer->Enqueue(outbox.Add("ops", 1, "first", "{\"n\":1}").value());
    deliverer->Enqueue(outbox.Add("ops", 2, "second", "{\"n\":2}").value());
    // The same event detected again (after a crash) is not queued twice.
    ASSERT_TRUE(outbox.Add("ops", 3, "first", "{\"n\":1}").has_value());
    ASSERT_TRUE(WaitFor([&] { return failures_ >= 2; }));
    deliverer->Stop();
  }
  auto pending = outbox.Load("ops");
  ASSERT_TRUE(pending.has_value());
  ASSERT_EQ(pending.value().size(), 2U);
  EXPECT_EQ(pending.value()[0].event_id, "first");
  EXPECT_EQ(pending.value()[1].event_id, "second");

  Receiver receiver;  // back up: a new process delivers what the outbox kept, in order
  Outbox reopened(dir_.string());
  auto deliverer = Make(reopened, receiver.Url());
  ASSERT_TRUE(deliverer->Start().has_value());
  ASSERT_TRUE(WaitFor([&] { return receiver.Bodies().size() == 2; }));
  EXPECT_EQ(receiver.Bodies(), (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"}));
}

// A deliverer rebuilt while an event backs off (a reload that changed the webhook's URL or
// secret, a restart) carries on with the attempts made and the backoff planned: max_attempts
// holds however often it is rebuilt. Restarting once reset both, and every rebuild sent at once.
TEST_F(WebhookDelivery, RebuildsKeepTheAttemptCountAndTheBackoff) {
  Receiver receiver;
  receiver.FailNext(std::vector<int>(50, 500));
  Outbox outbox(dir_.string());
  auto deliverer = Make(outbox, receiver.Url(), /*max_attempts=*/3, milliseconds(300));
  ASSERT_TRUE(deliverer->Start().has_value());
  deliverer->Enqueue(outbox.Add("ops", 1, "doomed", "{}").value());
  ASSERT_TRUE(WaitFor([&] { return receiver.Requests() == 1; }));
  // The progress is in the outbox beside the event: attempts made, and a next attempt planned.
  ASSERT_TRUE(WaitFor([&] {
    auto pending = outbox.Load("ops");
    return pending && pending.value().size() == 1 && pending.value()[0].attempts >= 1 &&
           pending.value()[0].next_attempt_ms > 0;
  }));
  for (int i = 0; i < 10; ++i) {
    deliverer->Stop();
    deliverer = Make(outbox, receiver.Url(), 3, milliseconds(300));
    ASSERT_TRUE(deliverer->Start().has_value());
    std::this_thread::sleep_for(milliseconds(40));
  }
  ASSERT_TRUE(WaitFor([&] { return dropped_ == 1; }));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(receiver.Requests(), 3);
  EXPECT_EQ(failures_, 3);
  EXPECT_TRUE(outbox.Load("ops").value().empty()) << "dropped: gone from the outbox, progress too";
  EXPECT_TRUE(fs::is_empty(dir_ / "ops"));
}

// max_attempts lowered (by a reload) below the attempts already made: dropped without another.
TEST_F(WebhookDelivery, LoweredMaxAttemptsDropsWithoutAnotherAttempt) {
  Receiver receiver;
  Outbox outbox(dir_.string());
  auto event = outbox.Add("ops", 1, "old", "{}").value();
  event.attempts = 4;
  ASSERT_TRUE(outbox.SaveProgress("ops", event).has_value());
  auto deliverer = Make(outbox, receiver.Url(), /*max_attempts=*/3);
  ASSERT_TRUE(deliverer->Start().has_value());
  ASSERT_TRUE(WaitFor([&] { return dropped_ == 1; }));
  EXPECT_EQ(receiver.Requests(), 0);
}

// A render that throws (a bug) is a failed attempt: counted as an internal error, retried, then
// dropped; the thread carries on with the next event. It once ended the process.
TEST_F(WebhookDelivery, ARenderThatThrowsIsAFailedAttemptNotTheEnd) {
  Receiver receiver;
  Outbox outbox(dir_.string());
  const std::uint64_t before = InternalErrors::Process().Count(ThreadKind::kWebhook);
  auto deliverer = Make(outbox, receiver.Url(), /*max_attempts=*/2, milliseconds(20),
                        [](const PendingEvent& event, std::int64_t) -> Delivery {
                          if (event.event_id == "poison") throw std::length_error("basic_string");
                          if (event.event_id == "odd") throw 7;
                          return Delivery{event.payload, "application/json", {}};
                        });
  ASSERT_TRUE(deliverer->Start().has_value());
  deliverer->Enqueue(outbox.Add("ops", 1, "poison", "{\"n\":1}").value());
  deliverer->Enqueue(outbox.Add("ops", 2, "odd", "{\"n\":2}").value());
  deliverer->Enqueue(outbox.Add("ops", 3, "fine", "{\"n\":3}").value());
  ASSERT_TRUE(WaitFor([&] { return receiver.Bodies().size() == 1; }));
  EXPECT_EQ(receiver.Bodies()[0], "{\"n\":3}");
  EXPECT_EQ(receiver.Requests(), 1) << "nothing was sent for the events that could not render";
  EXPECT_EQ(dropped_, 2);
  EXPECT_EQ(failures_, 4);
  // The receiver has the body before the deliverer has the answer.
  EXPECT_TRUE(WaitFor([&] { return successes_ == 1; }));
  EXPECT_EQ(InternalErrors::Process().Count(ThreadKind::kWebhook), before + 4);
  EXPECT_TRUE(WaitFor([&] { return outbox.Load("ops").value().empty(); }));
}

// The same event detected again (after a crash) while it is queued is not queued twice.
TEST_F(WebhookDelivery, AnEventAlreadyQueuedIsNotQueuedTwice) {
  Outbox outbox(dir_.string());
  auto first = outbox.Add("ops", 1, "once", "{}").value();
  // Nothing listens there: the event stays queued, backing off.
  auto deliverer = Make(outbox, "http://127.0.0.1:1/hook", 5, milliseconds(10000));
  ASSERT_TRUE(deliverer->Start().has_value());  // queues "once" from the outbox
  EXPECT_EQ(deliverer->QueueLength(), 1U);
  deliverer->Enqueue(outbox.Add("ops", 2, "once", "{}").value());
  deliverer->Enqueue(first);
  EXPECT_EQ(deliverer->QueueLength(), 1U);
  deliverer->Enqueue(outbox.Add("ops", 3, "other", "{}").value());
  EXPECT_EQ(deliverer->QueueLength(), 2U);
}

TEST_F(WebhookDelivery, RefusesUnsafeEventIds) {
  Outbox outbox(dir_.string());
  EXPECT_FALSE(outbox.Add("ops", 1, "../escape", "{}").has_value());
  EXPECT_FALSE(outbox.Add("ops", 1, "", "{}").has_value());
}

}  // namespace
}  // namespace mtasts::agent::webhooks
