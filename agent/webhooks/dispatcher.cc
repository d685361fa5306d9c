#include "agent/webhooks/dispatcher.h"

#include <algorithm>
#include <utility>

#include "agent/log.h"
#include "agent/webhooks/message.h"
#include "base/clock.h"

namespace mtasts::agent::webhooks {
namespace {

/// Whether a running deliverer can go on as it is: everything that shapes a delivery is the
/// same (`events` only filters what is queued, and the secret is compared by the caller).
bool SameDelivery(const config::WebhookSettings& a, const config::WebhookSettings& b) {
  return a.url == b.url && a.format == b.format && a.timeout == b.timeout &&
         a.max_attempts == b.max_attempts && a.headers == b.headers;
}

}  // namespace

Result<Secrets> LoadSecrets(const config::Config& config) {
  Secrets secrets;
  for (const auto& hook : config.webhooks) {
    if (hook.secret_file.empty()) {
      secrets[hook.name] = std::nullopt;
      continue;
    }
    auto secret = LoadSecret(hook.secret_file);
    if (!secret) return secret.error();
    secrets[hook.name] = std::move(secret).value();
  }
  return secrets;
}

std::vector<std::string> Route(const std::vector<config::WebhookSettings>& hooks,
                               const std::optional<std::vector<std::string>>& domain_hooks,
                               bool downgrade) {
  std::vector<std::string> out;
  for (const auto& hook : hooks) {
    if (domain_hooks &&
        std::find(domain_hooks->begin(), domain_hooks->end(), hook.name) == domain_hooks->end()) {
      continue;  // this domain lists its webhooks, and not this one
    }
    if (hook.events == "downgrade" && !downgrade) continue;
    out.push_back(hook.name);
  }
  return out;
}

Dispatcher::Dispatcher(Outbox& outbox, ResultStore& store) : outbox_(outbox), store_(store) {}

Dispatcher::~Dispatcher() {
  Stop();
}

std::unique_ptr<Deliverer> Dispatcher::MakeDeliverer(const config::WebhookSettings& hook,
                                                     const std::optional<std::string>& secret) {
  DelivererOptions options;
  options.name = hook.name;
  options.url = hook.url;
  options.timeout = hook.timeout;
  options.max_attempts = hook.max_attempts;
  std::vector<std::pair<std::string, std::string>> headers(hook.headers.begin(),
                                                           hook.headers.end());
  const std::string name = hook.name;
  const std::string format = hook.format;
  return std::make_unique<Deliverer>(
      options, outbox_,
      [format, secret, headers](const PendingEvent& event, std::int64_t now) {
        return RenderDelivery(event, format, secret, now, headers);
      },
      [this, name](bool success) {
        store_.Update([&](Snapshot& s) {
          auto& stats = s.webhooks[name];
          (success ? stats.successes : stats.failures)++;
          if (success && stats.queue_length > 0) --stats.queue_length;
        });
      },
      [this, name](const PendingEvent&, const std::string&) {
        store_.Update([&](Snapshot& s) {
          auto& stats = s.webhooks[name];
          if (stats.queue_length > 0) --stats.queue_length;
        });
      });
}

Result<bool> Dispatcher::Configure(const config::Config& config, const Secrets& secrets) {
  std::map<std::string, std::optional<std::vector<std::string>>> domain_hooks;
  // Only the domains that name their webhooks: the others get every one (README "Memory").
  for (const auto& entry : config.domains) {
    if (entry.webhooks) domain_hooks[entry.name] = entry.webhooks;
  }

  std::lock_guard lock(mutex_);
  // A reload must not restart what did not change: restarting a deliverer cut its backoff short
  // (README "Lifecycle"). What is replaced or gone stops first; its pending events stay in the
  // outbox with their progress, for the new deliverer to carry on from.
  std::map<std::string, std::unique_ptr<Deliverer>> kept;
  for (const auto& hook : config.webhooks) {
    auto running = deliverers_.find(hook.name);
    if (running == deliverers_.end()) continue;
    auto old = std::find_if(settings_.begin(), settings_.end(),
                            [&](const config::WebhookSettings& s) { return s.name == hook.name; });
    if (old != settings_.end() && SameDelivery(*old, hook) &&
        secrets_[hook.name] == secrets.at(hook.name)) {
      kept[hook.name] = std::move(running->second);
      deliverers_.erase(running);
    }
  }
  for (auto& [name, deliverer] : deliverers_) deliverer->Stop();
  deliverers_ = std::move(kept);

  for (const auto& hook : config.webhooks) {
    if (deliverers_.count(hook.name) != 0) continue;  // kept running
    auto deliverer = MakeDeliverer(hook, secrets.at(hook.name));
    auto started = deliverer->Start();
    if (!started) return started;
    const auto queued = deliverer->QueueLength();
    store_.Update([&](Snapshot& s) { s.webhooks[hook.name].queue_length = queued; });
    deliverers_[hook.name] = std::move(deliverer);
  }
  settings_ = config.webhooks;
  secrets_ = secrets;
  domain_hooks_ = std::move(domain_hooks);
  return true;
}

void Dispatcher::Emit(const std::string& domain, const Observation& observation) {
  Event event;
  event.domain = domain;
  event.occurred_at_ms = NowUnixMillis();
  event.previous = observation.before;
  event.current = observation.after;
  event.changes = Diff(observation.before, observation.after);
  event.downgrade = IsDowngrade(observation.before, observation.after);
  event.id = EventId(domain, observation.sequence, observation.before, observation.after);
  const std::string payload = EventToJson(event).dump();

  std::lock_guard lock(mutex_);
  const auto only = domain_hooks_.find(domain);
  const auto targets =
      Route(settings_, only != domain_hooks_.end() ? only->second : std::nullopt, event.downgrade);
  for (const auto& name : targets) {
    auto added = outbox_.Add(name, event.occurred_at_ms, event.id, payload);
    if (!added) {
      Log(LogLevel::kError, "cannot queue a webhook event",
          {{"webhook", name}, {"domain", domain}, {"error", added.error().message}});
      continue;
    }
    store_.Update([&](Snapshot& s) { ++s.webhooks[name].queue_length; });
    // Without a running deliverer (its start failed) the event waits in the outbox.
    if (auto deliverer = deliverers_.find(name); deliverer != deliverers_.end()) {
      deliverer->second->Enqueue(added.value());
    }
  }
}

void Dispatcher::Stop() {
  std::lock_guard lock(mutex_);
  for (auto& [name, deliverer] : deliverers_) deliverer->Stop();
}

}  // namespace mtasts::agent::webhooks
