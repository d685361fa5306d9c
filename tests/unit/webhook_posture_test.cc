#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/webhooks/message.h"
#include "agent/webhooks/posture.h"
#include "base/base64.h"

namespace mtasts::agent::webhooks {
namespace {

Posture Enforced() {
  Posture p;
  p.enforced = true;
  p.mode = "enforce";
  p.sts_id = "id1";
  p.mx = {"mx.example.com"};
  p.max_age = 604800;
  p.sts_record_present = p.policy_present = p.tls_rpt_present = true;
  return p;
}

Posture Testing() {
  Posture p = Enforced();
  p.enforced = false;
  p.mode = "testing";
  p.issues = {{"mode_testing", "medium"}};
  return p;
}

Posture Gone() {
  Posture p = Enforced();
  p.enforced = false;
  p.mode = "absent";
  p.mx.clear();
  p.max_age.reset();
  p.policy_present = false;
  p.issues = {{"policy_missing", "high"}};
  return p;
}

Posture Unreachable() {  // the policy host timed out: not a definite absence
  Posture p = Gone();
  p.issues = {{"policy_fetch_failed", "high"}};
  return p;
}

TEST(WebhookTracker, DampsFlapsAndConfirmsChanges) {
  struct Step {
    Posture seen;
    bool changed;
    bool pending;
  };
  struct Case {
    const char* name;
    int confirmations;
    std::vector<Step> steps;
  } cases[] = {
      {"baseline then stable", 2, {{Enforced(), false, false}, {Enforced(), false, false}}},
      {"single flap",
       2,
       {{Enforced(), false, false}, {Testing(), false, true}, {Enforced(), false, false}}},
      {"confirmed after two",
       2,
       {{Enforced(), false, false},
        {Testing(), false, true},
        {Testing(), true, false},
        {Testing(), false, false}}},
      {"confirmations 1", 1, {{Enforced(), false, false}, {Testing(), true, false}}},
      {"confirmations 3",
       3,
       {{Enforced(), false, false},
        {Testing(), false, true},
        {Testing(), false, true},
        {Testing(), true, false}}},
      {"policy gone at once", 3, {{Enforced(), false, false}, {Gone(), true, false}}},
      {"candidate switches",
       2,
       {{Enforced(), false, false}, {Testing(), false, true}, {Gone(), true, false}}},
      {"unreachable policy is damped",
       2,
       {{Enforced(), false, false}, {Unreachable(), false, true}, {Enforced(), false, false}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TrackerState state;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      SCOPED_TRACE(i);
      Observation o = Observe(state, c.steps[i].seen, c.confirmations);
      EXPECT_EQ(o.changed, c.steps[i].changed);
      EXPECT_EQ(o.pending, c.steps[i].pending);
      if (o.changed) {
        EXPECT_EQ(o.after, c.steps[i].seen);
      }
    }
  }
}

TEST(WebhookTracker, StateRoundTripsThroughJson) {
  TrackerState state;
  Observe(state, Enforced(), 2);
  Observe(state, Testing(), 2);
  TrackerState back = TrackerFromJson(TrackerToJson(state));
  EXPECT_EQ(back.committed, state.committed);
  EXPECT_EQ(back.candidate, state.candidate);
  EXPECT_EQ(back.seen, 1);
}

TEST(WebhookPosture, DowngradesAndDiffs) {
  EXPECT_TRUE(IsDowngrade(Enforced(), Testing()));
  EXPECT_TRUE(IsDowngrade(Enforced(), Gone()));
  EXPECT_FALSE(IsDowngrade(Testing(), Enforced()));
  Posture new_high = Enforced();
  new_high.issues = {{"mx_missing", "high"}};
  EXPECT_TRUE(IsDowngrade(Enforced(), new_high));
  Posture new_low = Enforced();
  new_low.issues = {{"tls_rpt_missing", "low"}};
  EXPECT_FALSE(IsDowngrade(Enforced(), new_low));

  auto changes = Diff(Enforced(), Testing());
  ASSERT_EQ(changes.size(), 3U);
  EXPECT_EQ(changes[0].field, "enforced");
  EXPECT_EQ(changes[1].field, "mode");
  EXPECT_EQ(changes[1].from, "enforce");
  EXPECT_EQ(changes[1].to, "testing");
  EXPECT_EQ(changes[2].field, "issues");
  EXPECT_EQ(changes[2].to, nlohmann::json({"mode_testing"}));
  EXPECT_TRUE(Diff(Enforced(), Enforced()).empty());
}

TEST(WebhookPosture, EventIdsAreDeterministic) {
  const auto id = [](const char* domain, std::uint64_t seq, const Posture& a, const Posture& b) {
    return EventId(domain, seq, a, b);
  };
  EXPECT_EQ(id("a.example", 1, Enforced(), Testing()), id("a.example", 1, Enforced(), Testing()));
  EXPECT_NE(id("a.example", 1, Enforced(), Testing()), id("b.example", 1, Enforced(), Testing()));
  EXPECT_NE(id("a.example", 1, Enforced(), Testing()), id("a.example", 1, Testing(), Enforced()));
  // The same transition again later is a new event, not a duplicate.
  EXPECT_NE(id("a.example", 1, Enforced(), Testing()), id("a.example", 3, Enforced(), Testing()));
  EXPECT_EQ(id("a.example", 1, Enforced(), Testing()).rfind("evt_", 0), 0U);
}

TEST(WebhookTracker, SequenceNumbersCommittedChanges) {
  TrackerState state;
  Observe(state, Enforced(), 1);
  EXPECT_EQ(Observe(state, Testing(), 1).sequence, 1U);
  EXPECT_EQ(Observe(state, Enforced(), 1).sequence, 2U);
  EXPECT_EQ(TrackerFromJson(TrackerToJson(state)).sequence, 2U);
}

TEST(WebhookMessage, HmacKnownAnswer) {
  // RFC 4231 §4.3, test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookMessage, SignedDeliveryHeaders) {
  PendingEvent event{"f.json", "evt_1", R"({"id":"evt_1","domain":"a.example","changes":[]})"};
  Delivery d = RenderDelivery(event, "json", std::string("k"), 1700000000, {{"X-Extra", "1"}});
  EXPECT_EQ(d.body, event.payload);
  auto header = [&](const std::string& name) {
    for (const auto& [n, v] : d.headers) {
      if (n == name) return v;
    }
    return std::string();
  };
  EXPECT_EQ(header("X-Extra"), "1");
  EXPECT_EQ(header("X-MTA-STS-Event-Id"), "evt_1");
  EXPECT_EQ(header("webhook-id"), "evt_1");
  EXPECT_EQ(header("webhook-timestamp"), "1700000000");
  EXPECT_EQ(header("X-MTA-STS-Signature"),
            "t=1700000000,v1=" + HmacSha256Hex("k", "1700000000." + event.payload));
  EXPECT_EQ(header("webhook-signature"),
            "v1," + HmacSha256Base64("k", "evt_1.1700000000." + event.payload));
  // A whsec_ secret signs Standard Webhooks with its base64-decoded key ("key" is a2V5).
  Delivery w = RenderDelivery(event, "json", std::string("whsec_a2V5"), 1, {});
  for (const auto& [n, v] : w.headers) {
    if (n == "webhook-signature") {
      EXPECT_EQ(v, "v1," + HmacSha256Base64("key", "evt_1.1." + event.payload));
    }
  }
  // Unsigned without a secret.
  Delivery u = RenderDelivery(event, "json", std::nullopt, 1, {});
  for (const auto& [n, v] : u.headers) EXPECT_NE(n, "X-MTA-STS-Signature");
}

TEST(WebhookMessage, StandardWebhooksReferenceExample) {
  // The example of the Standard Webhooks specification (as svix publishes it).
  PendingEvent event{"f", "msg_p5jXN8AQM9LWM0D4loKWxJek", R"({"test": 2432232314})"};
  Delivery d = RenderDelivery(event, "json", std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                              1614265330, {});
  bool found = false;
  for (const auto& [n, v] : d.headers) {
    if (n == "webhook-signature") {
      found = true;
      EXPECT_EQ(v, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
  }
  EXPECT_TRUE(found);
}

// Strict RFC 4648 base64 for the key of a whsec_ secret. Padding longer than the data once
// wrapped a size_t (whsec_==== ended the daemon).
TEST(WebhookMessage, Unbase64IsStrict) {
  struct Case {
    const char* text;
    std::optional<std::string> bytes;
  };
  const Case cases[] = {
      {"a2V5", std::string("key")},
      {"a2U=", std::string("ke")},
      {"aw==", std::string("k")},
      {"AAAA", std::string(3, '\0')},
      {"+/+/", std::string("\xfb\xff\xbf")},
      {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       std::string("\x31\xf2\x90\xf6\xbf\x06\x29\x8a\xab\x4f\x08\xd4\x3c\x3f\x08\x2c"
                   "\xf6\x48\xa3\x62\xda\x2d\xa4\xb0")},
      {"", std::nullopt},         // nothing to decode
      {"====", std::nullopt},     // padding only
      {"a===", std::nullopt},     // three "=": more padding than a group allows
      {"=a2V", std::nullopt},     // "=" before the data
      {"a2=5", std::nullopt},     // "=" inside the data
      {"a2V5a2U", std::nullopt},  // not a multiple of 4
      {"a2V", std::nullopt},
      {"!!!!", std::nullopt},
      {"a2V5\n", std::nullopt},
      {"a2 5", std::nullopt},
      {"a2V5=", std::nullopt},
      {"a-_5", std::nullopt},  // the URL-safe alphabet is not the standard one
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(Unbase64(c.text), c.bytes);
  }
}

TEST(WebhookMessage, SecretsAreValidatedWithoutQuotingThem) {
  EXPECT_TRUE(ValidateSecret("plain secret bytes").has_value());
  EXPECT_TRUE(ValidateSecret("whsec_a2V5").has_value());
  EXPECT_TRUE(ValidateSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").has_value());
  for (const char* bad : {"whsec_====", "whsec_", "whsec_!!!!", "whsec_a2V", "whsec_a===", ""}) {
    SCOPED_TRACE(bad);
    auto valid = ValidateSecret(bad);
    ASSERT_FALSE(valid.has_value());
    if (std::string_view(bad).size() > 6) {
      EXPECT_EQ(valid.error().message.find(std::string_view(bad).substr(6)), std::string::npos)
          << valid.error().message;
    }
  }

  // Loading: the error names the file and says why, never what it holds.
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("mtasts-secret-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "ops.secret";
  for (const char* bad : {"whsec_====\n", "whsec_\n", "whsec_!!!!", "whsec_QUJD=\r\n"}) {
    SCOPED_TRACE(bad);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bad;
    auto loaded = LoadSecret(file.string());
    ASSERT_FALSE(loaded.has_value());
    const std::string& message = loaded.error().message;
    EXPECT_EQ(message.rfind("webhook secret_file \"" + file.string() + "\": ", 0), 0U) << message;
    EXPECT_NE(message.find("base64"), std::string::npos) << message;
    for (const char* content : {"====", "!!!!", "QUJD"}) {
      EXPECT_EQ(message.find(content), std::string::npos) << message;
    }
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      << "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
  auto good = LoadSecret(file.string());
  ASSERT_TRUE(good.has_value()) << good.error().message;
  EXPECT_EQ(good.value(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  std::ofstream(file, std::ios::binary | std::ios::trunc) << "\n";
  EXPECT_FALSE(LoadSecret(file.string()).has_value());
  fs::remove_all(dir);
}

// A bad secret that reaches signing anyway (it never should: secrets are validated as they are
// loaded) signs with its own bytes instead of ending the process.
TEST(WebhookMessage, RenderingWithABadWhsecSecretDoesNotThrow) {
  PendingEvent event{"f", "evt_1", "{}"};
  for (const char* secret : {"whsec_====", "whsec_", "whsec_!!!!"}) {
    SCOPED_TRACE(secret);
    Delivery d;
    ASSERT_NO_THROW(d = RenderDelivery(event, "json", std::string(secret), 1, {}));
    bool signed_with_raw_bytes = false;
    for (const auto& [n, v] : d.headers) {
      if (n == "webhook-signature") {
        signed_with_raw_bytes = v == "v1," + HmacSha256Base64(secret, "evt_1.1.{}");
      }
    }
    EXPECT_TRUE(signed_with_raw_bytes);
  }
}

TEST(WebhookMessage, SlackTextIsReadable) {
  Event e;
  e.id = "evt_2";
  e.domain = "a.example";
  e.previous = Enforced();
  e.current = Testing();
  e.changes = Diff(e.previous, e.current);
  e.downgrade = true;
  PendingEvent pending{"f", e.id, EventToJson(e).dump()};
  auto body = nlohmann::json::parse(RenderDelivery(pending, "slack", std::nullopt, 1, {}).body);
  const std::string text = body["text"];
  EXPECT_NE(text.find("MTA-STS downgrade for a.example"), std::string::npos) << text;
  EXPECT_NE(text.find("mode: enforce → testing"), std::string::npos) << text;
}

}  // namespace
}  // namespace mtasts::agent::webhooks
