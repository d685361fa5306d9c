#include "agent/http/server.h"

#include <utility>

#include "agent/log.h"

namespace mtasts::agent {
namespace {

std::vector<RouteOwner*> Parts(RouteOwner* operator_endpoints, RouteOwner* api, RouteOwner* probe,
                               RouteOwner* tlsrpt) {
  std::vector<RouteOwner*> parts = {operator_endpoints, api};
  if (probe != nullptr) parts.push_back(probe);
  if (tlsrpt != nullptr) parts.push_back(tlsrpt);
  return parts;
}

}  // namespace

HttpServer::HttpServer(HttpHandlers handlers, const config::ApiSettings& api,
                       const config::TlsRptSettings& tlsrpt)
    : access_(api),
      guard_(access_),
      operator_(
          {std::move(handlers.metrics), std::move(handlers.ready), std::move(handlers.reload)},
          access_),
      api_(std::move(handlers.check), std::move(handlers.policy), access_),
      probe_(handlers.probe ? std::make_unique<ProbeEndpoint>(std::move(handlers.probe), access_)
                            : nullptr),
      tlsrpt_(handlers.tlsrpt != nullptr
                  ? std::make_unique<TlsRptEndpoint>(*handlers.tlsrpt, access_, tlsrpt)
                  : nullptr),
      report_routes_(tlsrpt_ ? std::make_unique<TlsRptEndpoint::AnyPath>(*tlsrpt_) : nullptr),
      listener_(Parts(&operator_, &api_, probe_.get(), tlsrpt_.get()), &guard_) {}

namespace {

/// The reports' listener's HTTPS: null without a certificate; errors name the setting and file.
Result<std::shared_ptr<const TlsServerContext>> ReportsTls(const config::TlsRptSettings& tlsrpt) {
  if (tlsrpt.tls_cert_file.empty() && tlsrpt.tls_key_file.empty()) {
    return std::shared_ptr<const TlsServerContext>();
  }
  TlsServerSettings settings;
  settings.cert_file = tlsrpt.tls_cert_file;
  settings.key_file = tlsrpt.tls_key_file;
  auto loaded = TlsServerContext::Load(settings);
  if (!loaded) return Error{"tlsrpt.tls_cert_file/tls_key_file: " + loaded.error().message};
  return loaded;
}

}  // namespace

Result<bool> HttpServer::StartReports(const config::TlsRptSettings& tlsrpt) {
  if (tlsrpt.listen_address.empty()) return true;
  if (!report_routes_) return Error{"tlsrpt.listen_address needs the TLS-RPT receiver"};
  auto tls = ReportsTls(tlsrpt);
  if (!tls) return tls.error();
  auto listener = std::make_unique<Listener>(std::vector<RouteOwner*>{report_routes_.get()});
  listener->SetTls(std::move(tls).value());
  auto started = listener->Start(tlsrpt.listen_address);
  if (!started) return Error{"tlsrpt.listen_address: " + started.error().message};
  reports_ = std::move(listener);
  reports_settings_ = tlsrpt;
  Log(LogLevel::kInfo, "TLS-RPT reports listener started",
      {{"listen", tlsrpt.listen_address},
       {"port", std::to_string(reports_->port())},
       {"https", tlsrpt.tls_cert_file.empty() ? "no" : "yes"}});
  return true;
}

Result<bool> HttpServer::Configure(const config::TlsRptSettings& tlsrpt) {
  if (reports_) {
    if (tlsrpt.listen_address != reports_settings_.listen_address) {
      Log(LogLevel::kWarn, "tlsrpt.listen_address changes take effect at the next start",
          {{"running", reports_settings_.listen_address}, {"configured", tlsrpt.listen_address}});
    } else {
      // Certificates rotate: a reload reads them again (README "TLS-RPT reports").
      auto tls = ReportsTls(tlsrpt);
      if (!tls) return tls.error();
      reports_->SetTls(std::move(tls).value());
      reports_settings_.tls_cert_file = tlsrpt.tls_cert_file;
      reports_settings_.tls_key_file = tlsrpt.tls_key_file;
    }
  } else if (!tlsrpt.listen_address.empty()) {
    Log(LogLevel::kWarn, "tlsrpt.listen_address changes take effect at the next start",
        {{"running", ""}, {"configured", tlsrpt.listen_address}});
  }
  if (tlsrpt_) tlsrpt_->Configure(tlsrpt);
  return true;
}

void HttpServer::Stop() {
  listener_.Stop();
  if (reports_) reports_->Stop();
}

}  // namespace mtasts::agent
