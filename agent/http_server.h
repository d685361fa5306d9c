#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "agent/metrics_page.h"
#include "agent/rate_limiter.h"
#include "collectors/common/report.h"
#include "collectors/common/result.h"
#include "config/config.h"

namespace httplib {
class Server;
}

namespace mtasts::agent {

/// What the listener serves; the daemon wires these to its parts.
struct HttpHandlers {
  std::function<std::shared_ptr<const MetricsPage>()> metrics;    // the current exposition
  std::function<DomainReport(const std::string& domain)> check;   // live, SSRF-guarded
  std::function<DomainReport(const std::string& domain)> policy;  // live, SSRF-guarded
  std::function<bool()> ready;
  std::function<Result<bool>()> reload;
};

/// "HOST:PORT", ":PORT" (every interface) or "[IPv6]:PORT" into host and port; errors name it.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& text);

/// The one listener of CONTRACT.md: `/`, `/metrics`, `/v1/check`, `/v1/policy`, `/v1/meta`,
/// `/-/healthy`, `/-/ready`, `/-/reload`, on cpp-httplib. Requests are bounded in size (64 KiB
/// body, 8 KiB headers), time (5 s to read a request) and concurrency (live checks beyond
/// api.max_concurrent_requests get 503), so slow clients cannot stall scrapes. /v1 answers carry
/// the envelope; optional API keys (`x-api-key`) and a per-key or per-address token bucket.
class HttpServer {
 public:
  HttpServer(HttpHandlers handlers, const config::ApiSettings& api);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts serving on a background thread. Errors name the address and the reason.
  Result<bool> Start(const std::string& listen_address);
  void Stop();
  int port() const { return port_; }

  /// Replaces API keys and rate limits (config reload). Keys: one per line, '#' comments.
  Result<bool> Configure(const config::ApiSettings& api);

 private:
  void Routes();

  HttpHandlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  struct Access;  // keys and limiter, swapped whole on reload
  std::shared_ptr<Access> access_;
  std::mutex access_mutex_;
  std::atomic<int> live_checks_{0};
};

}  // namespace mtasts::agent
