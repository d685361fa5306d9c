// Webhook dispatch: which webhooks an event goes to, and that it is queued in the outbox.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agent/webhooks/dispatcher.h"

namespace mtasts::agent::webhooks {
namespace {

config::WebhookSettings Hook(const std::string& name, const std::string& events = "all") {
  config::WebhookSettings hook;
  hook.name = name;
  // Nothing listens on the discard port of loopback: every attempt fails, the events stay.
  hook.url = "http://127.0.0.1:9/" + name;
  hook.events = events;
  hook.max_attempts = 100;
  return hook;
}

using Names = std::vector<std::string>;

TEST(WebhookRoute, EveryWebhookUnlessTheDomainListsItsOwn) {
  const std::vector<config::WebhookSettings> hooks = {Hook("ops"), Hook("sec")};
  EXPECT_EQ(Route(hooks, std::nullopt, false), (Names{"ops", "sec"}));
  EXPECT_EQ(Route(hooks, Names{"sec"}, false), (Names{"sec"}));
  EXPECT_EQ(Route(hooks, Names{}, true), Names{});
  EXPECT_EQ(Route(hooks, Names{"gone"}, true), Names{});
}

TEST(WebhookRoute, DowngradeOnlyWebhooksHearOnlyDowngrades) {
  const std::vector<config::WebhookSettings> hooks = {Hook("all"), Hook("pager", "downgrade")};
  EXPECT_EQ(Route(hooks, std::nullopt, false), (Names{"all"}));
  EXPECT_EQ(Route(hooks, std::nullopt, true), (Names{"all", "pager"}));
  EXPECT_EQ(Route(hooks, Names{"pager"}, false), Names{});
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mtasts-dispatcher-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    outbox_ = std::make_unique<Outbox>(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::size_t Pending(const std::string& hook) const {
    auto pending = outbox_->Load(hook);
    return pending ? pending.value().size() : 0;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Outbox> outbox_;
  ResultStore store_;
};

Observation Change(const std::string& from_mode, const std::string& to_mode, bool enforced) {
  Observation observation;
  observation.changed = true;
  observation.before.mode = from_mode;
  observation.before.enforced = true;
  observation.after.mode = to_mode;
  observation.after.enforced = enforced;
  observation.sequence = 1;
  return observation;
}

TEST_F(DispatcherTest, EventsAreQueuedForTheWebhooksTheirDomainRoutesThemTo) {
  config::Config config;
  config.webhooks = {Hook("ops"), Hook("pager", "downgrade"), Hook("team")};
  config.domains = {{"a.example", std::nullopt, false}, {"b.example", Names{"team"}, false}};
  Dispatcher dispatcher(*outbox_, store_);
  ASSERT_TRUE(dispatcher.Configure(config, {{"ops", {}}, {"pager", {}}, {"team", {}}}));

  dispatcher.Emit("a.example", Change("enforce", "testing", false));  // a downgrade
  dispatcher.Emit("a.example", Change("testing", "enforce", true));   // not one
  dispatcher.Emit("b.example", Change("enforce", "none", false));     // only to team
  EXPECT_EQ(Pending("ops"), 2U);
  EXPECT_EQ(Pending("pager"), 1U);
  EXPECT_EQ(Pending("team"), 3U);
  const auto snapshot = store_.Get();
  EXPECT_EQ(snapshot->webhooks.at("ops").queue_length, 2U);
  EXPECT_EQ(snapshot->webhooks.at("pager").queue_length, 1U);
  EXPECT_EQ(snapshot->webhooks.at("team").queue_length, 3U);
  dispatcher.Stop();
}

TEST_F(DispatcherTest, AWebhookNoLongerConfiguredGetsNothingAndKeepsWhatItHas) {
  config::Config config;
  config.webhooks = {Hook("ops"), Hook("old")};
  config.domains = {{"a.example", std::nullopt, false}};
  Dispatcher dispatcher(*outbox_, store_);
  ASSERT_TRUE(dispatcher.Configure(config, {{"ops", {}}, {"old", {}}}));
  dispatcher.Emit("a.example", Change("enforce", "testing", false));
  config.webhooks = {Hook("ops")};
  ASSERT_TRUE(dispatcher.Configure(config, {{"ops", {}}}));
  dispatcher.Emit("a.example", Change("testing", "none", false));
  EXPECT_EQ(Pending("ops"), 2U);
  EXPECT_EQ(Pending("old"), 1U);  // stays in the outbox for a later return
}

}  // namespace
}  // namespace mtasts::agent::webhooks
