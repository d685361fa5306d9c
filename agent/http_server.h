#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "agent/connection_gate.h"
#include "agent/metrics_page.h"
#include "agent/rate_limiter.h"
#include "base/result.h"
#include "collectors/report/report.h"
#include "config/config.h"

namespace httplib {
class ThreadPool;
}

namespace mtasts::agent {

/// What the listener serves; the daemon wires these to its parts.
struct HttpHandlers {
  std::function<std::shared_ptr<const MetricsPage>()> metrics;    // the current exposition
  std::function<DomainReport(const std::string& domain)> check;   // live, SSRF-guarded
  std::function<DomainReport(const std::string& domain)> policy;  // live, SSRF-guarded
  std::function<bool()> ready;
  std::function<Result<bool>()> reload;  // empty: lifecycle API not enabled (POST /-/reload 403)
};

/// "HOST:PORT", ":PORT" (every interface) or "[IPv6]:PORT" into host and port; errors name it.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& text);

/// The one listener of CONTRACT.md: `/`, `/metrics`, `/v1/check`, `/v1/policy`, `/v1/meta`,
/// `/-/healthy`, `/-/ready`, `/-/reload`, on cpp-httplib. Connections wait in a ConnectionGate
/// (no thread held) until a whole request has arrived: 16 KiB of request line and headers, a
/// 64 KiB body, 10 s from the first byte, 5 s idle between keep-alive requests, 512 waiting
/// connections. Complete requests go to 32 workers; /metrics, /-/healthy and /-/ready have 4 of
/// their own, so neither slow clients nor floods of API requests stall scrapes. Live checks beyond
/// api.max_concurrent_requests get 503. /v1 answers carry the envelope; optional API keys
/// (`x-api-key`) and a per-key or per-address token bucket.
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

  /// Serves one raw HTTP/1.1 request from memory, as the listener would serve it from
  /// `remote_addr`, and returns the raw response (empty without a request line). The same
  /// parsing, routing, validation and handlers, with no socket: for the fuzzer and tests.
  std::string ServeBytes(std::string_view request, const std::string& remote_addr = "127.0.0.1");

 private:
  class Listener;  // the httplib::Server that takes its connections from the gate
  void Routes();
  void ServeConnection(ConnectionGate::Ready ready);

  HttpHandlers handlers_;
  std::unique_ptr<Listener> server_;
  std::unique_ptr<ConnectionGate> gate_;
  std::unique_ptr<httplib::ThreadPool> workers_;           // every complete request but...
  std::unique_ptr<httplib::ThreadPool> operator_workers_;  // /metrics, /-/healthy, /-/ready
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  int port_ = 0;

  struct Access;  // keys and limiter, swapped whole on reload
  std::shared_ptr<Access> access_;
  std::mutex access_mutex_;
  std::atomic<int> live_checks_{0};
};

}  // namespace mtasts::agent
