#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/http/access.h"
#include "agent/http/api.h"
#include "agent/http/listener.h"
#include "agent/http/operator_endpoints.h"
#include "agent/http/probe_endpoint.h"
#include "agent/http/tlsrpt_endpoint.h"
#include "agent/http/web_guard.h"
#include "agent/metrics_page.h"
#include "base/result.h"
#include "collectors/report/report.h"
#include "config/config.h"
#include "config/web_config.h"

namespace mtasts::agent {

/// What the daemon's listener serves; the daemon wires these to its parts.
struct HttpHandlers {
  std::function<std::shared_ptr<const MetricsPage>()> metrics;    // the current exposition
  std::function<DomainReport(const std::string& domain)> check;   // live, SSRF-guarded
  std::function<DomainReport(const std::string& domain)> policy;  // live, SSRF-guarded
  ProbeEndpoint::Check probe;  // live, SSRF-guarded, nothing stored; empty: /probe is not served
  std::function<bool()> ready;
  std::function<Result<bool>()> reload;  // empty: lifecycle API not enabled (POST /-/reload 403)
  tlsrpt::Receiver* tlsrpt = nullptr;    // null: /v1/tlsrpt is not served
};

/// The daemon's HTTP service on one listener: the operator endpoints (`/`, `/metrics`,
/// `/-/healthy`, `/-/ready`, `/-/reload`), the /v1 API (`/v1/check`, `/v1/policy`,
/// `/v1/meta`), given a probe check `/probe`, and, given a Receiver, the TLS-RPT reports
/// (`/v1/tlsrpt`), behind one Access (keys, rate limits, the live-check cap; api.* settings),
/// all of it behind the web configuration's users (WebGuard).
/// Another listener serving other parts is another Listener given those parts.
class HttpServer {
 public:
  /// Throws std::runtime_error when api.keys_file cannot be read (a fatal start-up error).
  HttpServer(HttpHandlers handlers, const config::ApiSettings& api,
             const config::TlsRptSettings& tlsrpt = {});
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Result<bool> Start(const std::string& listen_address) { return listener_.Start(listen_address); }
  /// Opens the reports' own listener when `tlsrpt.listen_address` is set (README "TLS-RPT
  /// reports"), HTTPS with `tls_cert_file`/`tls_key_file`; errors name the address or the file.
  /// Needs a Receiver (the TLS-RPT endpoint).
  Result<bool> StartReports(const config::TlsRptSettings& tlsrpt);
  void Stop();
  int port() const { return listener_.port(); }
  /// The reports' listener's port (0 when there is none).
  int reports_port() const { return reports_ ? reports_->port() : 0; }
  /// The main listener's HTTPS (see Listener::SetTls).
  void SetTls(std::shared_ptr<const TlsServerContext> tls) { listener_.SetTls(std::move(tls)); }
  const ConnectionGate::Limits& limits() const { return listener_.limits(); }

  /// Replaces API keys and rate limits (config reload). Keys: one per line, '#' comments.
  /// The rate-limit buckets survive a reload: the new rate and burst apply to them.
  Result<bool> Configure(const config::ApiSettings& api) { return access_.Configure(api); }
  /// basic_auth_users and http_server_config.headers of the web configuration, for every
  /// request of the listener (at start and on reload).
  void Configure(const config::WebConfig& web) { access_.ConfigureWeb(web); }
  /// The TLS-RPT endpoint's rate limit, and the reports' listener's certificate, read again
  /// (config reload): new connections get the new one. A certificate that does not load is an
  /// error and the running one stays. A new `listen_address` waits for a restart (logged).
  Result<bool> Configure(const config::TlsRptSettings& tlsrpt);

  /// See Listener::ServeExchanges (for the fuzzer and tests).
  std::vector<HttpExchange> ServeExchanges(std::string_view bytes,
                                           const std::string& remote_addr = "127.0.0.1") {
    return listener_.ServeExchanges(bytes, remote_addr);
  }
  std::string ServeBytes(std::string_view bytes, const std::string& remote_addr = "127.0.0.1") {
    return listener_.ServeBytes(bytes, remote_addr);
  }

 private:
  Access access_;
  WebGuard guard_;
  OperatorEndpoints operator_;
  Api api_;
  std::unique_ptr<ProbeEndpoint> probe_;                    // with a probe check only
  std::unique_ptr<TlsRptEndpoint> tlsrpt_;                  // with a Receiver only
  std::unique_ptr<TlsRptEndpoint::AnyPath> report_routes_;  // with a Receiver only
  Listener listener_;                        // stopped and destroyed before the parts it serves
  std::unique_ptr<Listener> reports_;        // tlsrpt.listen_address, once started
  config::TlsRptSettings reports_settings_;  // what reports_ was started with
};

}  // namespace mtasts::agent
