#include "agent/webhooks/message.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

#include "base/base64.h"
#include "base/rfc3339.h"

namespace mtasts::agent::webhooks {
namespace {

using nlohmann::json;

std::string RawHmac(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return {reinterpret_cast<const char*>(digest), length};
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// Slack treats &, < and > as control characters in message text.
std::string SlackEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Describe(const json& value) {
  if (value.is_null()) return "none";
  if (value.is_string()) return SlackEscape(value.get<std::string>());
  return SlackEscape(value.dump());
}

}  // namespace

Result<bool> ValidateSecret(std::string_view secret) {
  if (secret.empty()) return Error{"it is empty"};
  if (secret.starts_with(kStandardWebhooksPrefix)) {
    const auto key = Unbase64(secret.substr(kStandardWebhooksPrefix.size()));
    if (!key || key->empty()) {
      return Error{
          "a secret beginning with \"whsec_\" must continue with a non-empty key in "
          "base64 (RFC 4648: A-Z a-z 0-9 + /, padded with = to a multiple of 4)"};
    }
  }
  return true;
}

json EventToJson(const Event& event) {
  json changes = json::array();
  for (const auto& change : event.changes) {
    changes.push_back({{"field", change.field}, {"from", change.from}, {"to", change.to}});
  }
  return {{"id", event.id},
          {"type", "posture_changed"},
          {"domain", event.domain},
          {"occurred_at", FormatRfc3339Millis(event.occurred_at_ms)},
          {"previous", PostureToJson(event.previous)},
          {"current", PostureToJson(event.current)},
          {"changes", std::move(changes)},
          {"downgrade", event.downgrade}};
}

json SlackMessage(const json& event) {
  std::string text =
      event.value("downgrade", false) ? "MTA-STS downgrade for " : "MTA-STS change for ";
  text += SlackEscape(event.value("domain", std::string("?"))) + ":";
  for (const auto& change : event.value("changes", json::array())) {
    text += "\n• " + SlackEscape(change.value("field", std::string())) + ": " +
            Describe(change["from"]) + " → " + Describe(change["to"]);
  }
  text += "\n(" + event.value("occurred_at", std::string()) + ", event " +
          event.value("id", std::string()) + ")";
  return {{"text", text}};
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : RawHmac(key, data)) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

std::string HmacSha256Base64(std::string_view key, std::string_view data) {
  return Base64(RawHmac(key, data));
}

Result<std::string> LoadSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"webhook secret_file \"" + path + "\": cannot read it"};
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Error{"webhook secret_file \"" + path + "\" is empty"};
  // The message names the file, never what it holds.
  if (auto valid = ValidateSecret(secret); !valid) {
    return Error{"webhook secret_file \"" + path + "\": " + valid.error().message};
  }
  return secret;
}

Delivery RenderDelivery(const PendingEvent& event, const std::string& format,
                        const std::optional<std::string>& secret, std::int64_t unix_seconds,
                        const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  Delivery delivery;
  if (format == "slack") {
    json parsed = json::parse(event.payload, nullptr, false);
    delivery.body = SlackMessage(parsed.is_discarded() ? json::object() : parsed).dump();
  } else {
    delivery.body = event.payload;
  }
  delivery.headers = extra_headers;
  const std::string ts = std::to_string(unix_seconds);
  delivery.headers.emplace_back("X-MTA-STS-Event-Id", event.event_id);
  delivery.headers.emplace_back("webhook-id", event.event_id);
  delivery.headers.emplace_back("webhook-timestamp", ts);
  if (secret) {
    delivery.headers.emplace_back(
        "X-MTA-STS-Signature",
        "t=" + ts + ",v1=" + HmacSha256Hex(*secret, ts + "." + delivery.body));
    std::string key = *secret;
    if (key.starts_with(kStandardWebhooksPrefix)) {
      // Secrets are validated as they are loaded; a bad one would sign with its own bytes.
      if (auto decoded = Unbase64(std::string_view(key).substr(kStandardWebhooksPrefix.size()));
          decoded && !decoded->empty()) {
        key = *decoded;
      }
    }
    delivery.headers.emplace_back(
        "webhook-signature",
        "v1," + HmacSha256Base64(key, event.event_id + "." + ts + "." + delivery.body));
  }
  return delivery;
}

}  // namespace mtasts::agent::webhooks
