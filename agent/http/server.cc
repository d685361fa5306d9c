#include "agent/http/server.h"

#include <utility>

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
      listener_(Parts(&operator_, &api_, probe_.get(), tlsrpt_.get()), &guard_) {}

}  // namespace mtasts::agent
