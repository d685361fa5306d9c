#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/result_store.h"
#include "agent/webhooks/deliverer.h"
#include "agent/webhooks/outbox.h"
#include "agent/webhooks/posture.h"
#include "base/result.h"
#include "config/config.h"

namespace mtasts::agent::webhooks {

/// Every webhook's secret by name (nullopt: unsigned), read and validated: a missing file or a
/// bad secret fails the start or the reload before anything running is replaced.
using Secrets = std::map<std::string, std::optional<std::string>>;
Result<Secrets> LoadSecrets(const config::Config& config);

/// The webhooks an event of a domain goes to (README "Webhooks"): those the domain's entry
/// lists (every one when it lists none), less those with `events: downgrade` when the change is
/// not a downgrade. In the order configured.
std::vector<std::string> Route(const std::vector<config::WebhookSettings>& hooks,
                               const std::optional<std::vector<std::string>>& domain_hooks,
                               bool downgrade);

/// Posture changes into webhook events: one deliverer per configured webhook, each event queued
/// in the outbox (so it survives a restart) for the webhooks its domain routes it to. Counts
/// per webhook go to the store. Thread-safe.
class Dispatcher {
 public:
  Dispatcher(Outbox& outbox, ResultStore& store);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Runs a deliverer per webhook of `config`. One whose delivery settings and secret did not
  /// change keeps running untouched; one that must be rebuilt carries on from the attempts and
  /// backoff its events have in the outbox; one no longer configured stops (its events stay).
  Result<bool> Configure(const config::Config& config, const Secrets& secrets);

  /// A confirmed posture change of `domain`: its event, queued for every webhook it routes to.
  void Emit(const std::string& domain, const Observation& observation);

  /// Stops every deliverer; pending events stay in the outbox.
  void Stop();

 private:
  std::unique_ptr<Deliverer> MakeDeliverer(const config::WebhookSettings& hook,
                                           const std::optional<std::string>& secret);

  Outbox& outbox_;
  ResultStore& store_;
  std::mutex mutex_;  // guards the four below (swapped on reload)
  std::map<std::string, std::unique_ptr<Deliverer>> deliverers_;
  std::vector<config::WebhookSettings> settings_;
  Secrets secrets_;  // what each runs with
  std::map<std::string, std::optional<std::vector<std::string>>> domain_hooks_;
};

}  // namespace mtasts::agent::webhooks
