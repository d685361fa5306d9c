#pragma once

#include <memory>

#include "agent/http/server.h"
#include "agent/metrics.h"
#include "agent/metrics_page.h"
#include "agent/pipeline/report_pipeline.h"
#include "agent/result_store.h"
#include "agent/running_config.h"
#include "agent/scheduler.h"
#include "agent/state/persister.h"
#include "agent/state/state_file.h"
#include "agent/tlsrpt/receiver.h"
#include "agent/webhooks/dispatcher.h"
#include "agent/webhooks/outbox.h"

namespace mtasts::agent {

/// The daemon: the running config, the scheduler, the report pipeline, the result store and its
/// state file, the webhooks, the metrics and the HTTP listener, wired together. Run() blocks
/// until SIGTERM/SIGINT; SIGHUP reloads, and so does POST /-/reload with --web.enable-lifecycle.
class App {
 public:
  explicit App(DaemonFlags flags);
  ~App();

  /// Returns the process exit status: 0 after a clean shutdown, 2 for a fatal start-up error.
  int Run();

  /// Re-reads the config; a bad file keeps the running one (and is reported).
  Result<bool> Reload();

 private:
  RunningConfig::Parts Parts();
  HttpHandlers Handlers();

  RunningConfig config_;
  ResultStore store_;
  Metrics metrics_;
  MetricsCache metrics_cache_;
  std::size_t last_page_size_ = 0;  // of the last /metrics render; guarded by metrics_cache_
  std::unique_ptr<StateFile> state_file_;
  std::unique_ptr<Persister> persister_;
  std::unique_ptr<webhooks::Outbox> outbox_;
  std::unique_ptr<webhooks::Dispatcher> dispatcher_;
  std::unique_ptr<ReportPipeline> pipeline_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<tlsrpt::Receiver> tlsrpt_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace mtasts::agent
