#include "agent/http/server.h"

#include <utility>

namespace mtasts::agent {
namespace {

std::vector<RouteOwner*> Parts(RouteOwner* operator_endpoints, RouteOwner* api,
                               RouteOwner* tlsrpt) {
  std::vector<RouteOwner*> parts = {operator_endpoints, api};
  if (tlsrpt != nullptr) parts.push_back(tlsrpt);
  return parts;
}

}  // namespace

HttpServer::HttpServer(HttpHandlers handlers, const config::ApiSettings& api,
                       const config::TlsRptSettings& tlsrpt)
    : access_(api),
      operator_(
          {std::move(handlers.metrics), std::move(handlers.ready), std::move(handlers.reload)},
          access_),
      api_(std::move(handlers.check), std::move(handlers.policy), access_),
      tlsrpt_(handlers.tlsrpt != nullptr
                  ? std::make_unique<TlsRptEndpoint>(*handlers.tlsrpt, access_, tlsrpt)
                  : nullptr),
      listener_(Parts(&operator_, &api_, tlsrpt_.get())) {}

}  // namespace mtasts::agent
