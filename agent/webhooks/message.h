#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/webhooks/deliverer.h"
#include "agent/webhooks/posture.h"
#include "base/result.h"

namespace mtasts::agent::webhooks {

/// A posture change of one domain, as delivered and as kept in the outbox.
struct Event {
  std::string id;
  std::string domain;
  std::int64_t occurred_at_ms = 0;
  Posture previous;
  Posture current;
  std::vector<Change> changes;
  bool downgrade = false;
};

/// The `format: json` payload: {id, type, domain, occurred_at, previous, current, changes,
/// downgrade}.
nlohmann::json EventToJson(const Event& event);

/// The `format: slack` payload: {"text": "..."} for a person to read.
nlohmann::json SlackMessage(const nlohmann::json& event);

std::string HmacSha256Hex(std::string_view key, std::string_view data);
std::string HmacSha256Base64(std::string_view key, std::string_view data);

/// The prefix of a Standard Webhooks secret: the rest is the signing key in base64.
inline constexpr std::string_view kStandardWebhooksPrefix = "whsec_";

/// A secret is usable when it is not empty and, when it begins with `whsec_`, the rest is
/// non-empty base64. The error says what is wrong without quoting the secret.
Result<bool> ValidateSecret(std::string_view secret);

/// Reads a webhook secret; one trailing newline is dropped. Fails when the file cannot be read
/// or the secret is not valid (ValidateSecret); the message names the file, never the secret.
Result<std::string> LoadSecret(const std::string& path);

/// One attempt's request for an outbox payload (the event JSON), at `unix_seconds`:
/// the body in the webhook's format; X-MTA-STS-Event-Id and the Standard Webhooks id and
/// timestamp; with a secret, X-MTA-STS-Signature `t=<ts>,v1=<hex HMAC-SHA256(secret,
/// "<ts>.<body>")>` and webhook-signature `v1,<base64 HMAC-SHA256(key, "<id>.<ts>.<body>")>`
/// where key is the base64-decoded part of a `whsec_` secret, else the secret's bytes.
Delivery RenderDelivery(const PendingEvent& event, const std::string& format,
                        const std::optional<std::string>& secret, std::int64_t unix_seconds,
                        const std::vector<std::pair<std::string, std::string>>& extra_headers);

}  // namespace mtasts::agent::webhooks
