#include "agent/app.h"

#include <malloc.h>

#include <stdexcept>
#include <system_error>

#include "agent/log.h"
#include "agent/service/service_loop.h"
#include "base/clock.h"
#include "build_info.h"

namespace mtasts::agent {

App::App(DaemonFlags flags) : config_(std::move(flags)) {}

App::~App() {
  // Members go in reverse order: the listener and the scheduler stop before what they feed.
  if (http_) http_->Stop();
  if (tlsrpt_) tlsrpt_->Stop();
  if (scheduler_) scheduler_->Stop();
  if (dispatcher_) dispatcher_->Stop();
}

RunningConfig::Parts App::Parts() {
  return {store_, *scheduler_, *pipeline_, *dispatcher_, http_.get(), tlsrpt_.get()};
}

Result<bool> App::Reload() {
  return config_.Reload(Parts());
}

HttpHandlers App::Handlers() {
  HttpHandlers handlers;
  handlers.metrics = [this] {
    const bool first_round = !scheduler_->FirstRoundDone();
    return metrics_cache_.Get(
        store_.Get(), metrics_.Generation(), first_round, [this](const Snapshot& s) {
          // Compressed as it is rendered: the whole text (12 MB at 10,000 domains) never sits in
          // memory, only the gzip (~0.7 MB) that is kept.
          // The first page has no previous size to go by: about 80 bytes a domain (0.77 MB at
          // 10,000 healthy ones, 6.5 MB at 100,000 mostly without a policy).
          GzipWriter gzip(last_page_size_ != 0 ? last_page_size_ : s.domains.size() * 80);
          metrics_.Render(s, [&gzip](std::string_view text) { gzip.Write(text); });
          std::string page = gzip.Finish();
          last_page_size_ = page.size();
          malloc_trim(0);  // the render's transients are large with many domains: give them back
          return page;
        });
  };
  handlers.check = [this](const std::string& domain) {
    return config_.Checker()->Check(domain, config_.ProbeMx(domain));
  };
  // A probe's target need not be watched: it takes no memory and leaves none (README "Probing
  // domains listed in Prometheus").
  handlers.probe = [this](const std::string& domain, bool probe_mx) {
    return config_.Checker()->Check(domain, probe_mx);
  };
  handlers.policy = [this](const std::string& domain) {
    return config_.Checker()->CheckPolicyOnly(domain);
  };
  handlers.ready = [this] { return scheduler_->FirstRoundDone(); };
  // Lifecycle endpoints only when asked for (README "Lifecycle"); SIGHUP works regardless.
  if (config_.flags().enable_lifecycle) handlers.reload = [this] { return Reload(); };
  handlers.tlsrpt = tlsrpt_.get();
  return handlers;
}

int App::Run() {
  ServiceLoop service;  // takes the signals before any thread starts

  auto config = config_.Load();
  if (!config) {
    Log(LogLevel::kError, "cannot start: bad configuration", {{"error", config.error().message}});
    return 2;
  }
  state_file_ = std::make_unique<StateFile>(config.value().state_dir);
  persister_ = std::make_unique<Persister>(*state_file_, store_);
  outbox_ = std::make_unique<webhooks::Outbox>(config.value().state_dir + "/outbox");
  dispatcher_ = std::make_unique<webhooks::Dispatcher>(*outbox_, store_);
  auto restored = state_file_->Load();
  if (!restored) {
    Log(LogLevel::kWarn, "saved state not used", {{"error", restored.error().message}});
  } else if (!restored.value().empty()) {
    const std::size_t count = restored.value().size();
    store_.Update([&](Snapshot& s) { s.domains = DomainMap(std::move(restored).value()); });
    Log(LogLevel::kInfo, "state restored",
        {{"file", state_file_->path()}, {"domains", std::to_string(count)}});
  }

  pipeline_ = std::make_unique<ReportPipeline>(ReportPipeline::Parts{
      store_, [] { return NowUnixMillis(); },
      [this](const std::string& domain, const webhooks::Observation& observation) {
        dispatcher_->Emit(domain, observation);
      },
      [this](const std::string& domain, std::int64_t at_ms) {
        scheduler_->RecheckAt(domain, at_ms);
      },
      [this] { persister_->MarkDirty(); }});
  scheduler_ = std::make_unique<Scheduler>(
      config.value().schedule, [] { return NowUnixMillis(); },
      [this](const std::string& domain) {
        // The check judges the domain's history too: it takes the memory stored so far, and
        // what the stored TLS-RPT reports say (none when the store is unavailable).
        const std::optional<DomainState> state = store_.GetDomain(domain);
        auto window = tlsrpt_->Window(domain, NowUnixMillis() / 1000);
        if (!window) {
          Log(LogLevel::kWarn, "TLS-RPT reports not judged",
              {{"domain", domain}, {"error", window.error().message}});
        }
        return config_.Checker()->Check(domain, config_.ProbeMx(domain),
                                        state ? state->history.Unpack() : history::PolicyHistory{},
                                        window ? &window.value() : nullptr);
      },
      [this](const std::string& domain) { return config_.Checker()->CurrentStsId(domain); },
      [this](const std::string& domain, const CheckOutcome& outcome, std::int64_t next) {
        metrics_.ObserveCheckDuration(outcome.report.duration_seconds);
        pipeline_->OnReport(domain, outcome, next);
      });
  tlsrpt_ = std::make_unique<tlsrpt::Receiver>(
      tlsrpt::Receiver::Options{
          .path = config.value().state_dir + "/tlsrpt.sqlite",
          // New reports are judged soon (tlsrpt_failures_reported, tlsrpt_policy_mismatch),
          // not at the domain's next planned check, which may be a day away.
          .on_new_reports =
              [this](const std::string& domain) {
                scheduler_->RecheckAt(domain, NowUnixMillis());
              }},
      store_);
  auto applied = config_.Apply(config.value(), true, Parts());
  if (!applied) {
    Log(LogLevel::kError, "cannot start", {{"error", applied.error().message}});
    return 2;
  }
  const std::size_t watched = config.value().domains.size();
  config.value().domains = {};  // applied: the running parts hold them (README "Memory")
  malloc_trim(0);               // a large config's YAML tree is gone by now: give its memory back
  try {
    tlsrpt_->Start();  // the counters are restored from the store before anyone can scrape
  } catch (const std::system_error& e) {
    Log(LogLevel::kError, "cannot start: no threads", {{"error", e.what()}});
    return 2;
  }

  try {
    http_ = std::make_unique<HttpServer>(Handlers(), config.value().api, config.value().tlsrpt);
    http_->Configure(config.value().web);
  } catch (const std::runtime_error& e) {
    Log(LogLevel::kError, "cannot start", {{"error", e.what()}});
    return 2;
  }
  if (auto tls = config_.WebTls(config.value()); tls) {
    http_->SetTls(std::move(tls).value());
  } else {
    Log(LogLevel::kError, "cannot start", {{"error", tls.error().message}});
    return 2;
  }
  auto listening = http_->Start(config_.flags().listen_address);
  if (listening) listening = http_->StartReports(config.value().tlsrpt);
  if (!listening) {
    Log(LogLevel::kError, "cannot start", {{"error", listening.error().message}});
    return 2;
  }
  try {
    persister_->Start();
    scheduler_->Start();
  } catch (const std::system_error& e) {
    Log(LogLevel::kError, "cannot start: no threads", {{"error", e.what()}});
    return 2;
  }
  Log(LogLevel::kInfo, "mta-sts-exporter started",
      {{"version", kVersion},
       {"revision", kRevision},
       {"listen", config_.flags().listen_address},
       {"port", std::to_string(http_->port())},
       {"config", config_.flags().config_file},
       {"domains", std::to_string(watched)}});

  service.Run([this] { return Reload().has_value(); },
              [this] {
                const std::size_t domains = config_.Domains();
                return "watching " + std::to_string(domains) + " domain" +
                       (domains == 1 ? "" : "s") + ", listening on port " +
                       std::to_string(http_->port());
              });
  http_->Stop();
  tlsrpt_->Stop();
  scheduler_->Stop();   // drains the checks in flight
  dispatcher_->Stop();  // pending events stay in the outbox
  persister_->Stop();   // one last save, whatever happened since the previous one
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace mtasts::agent
