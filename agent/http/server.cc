#include "agent/http/server.h"

#include <utility>

namespace mtasts::agent {

HttpServer::HttpServer(HttpHandlers handlers, const config::ApiSettings& api)
    : access_(api),
      operator_(
          {std::move(handlers.metrics), std::move(handlers.ready), std::move(handlers.reload)},
          access_),
      api_(std::move(handlers.check), std::move(handlers.policy), access_),
      listener_({&operator_, &api_}) {}

}  // namespace mtasts::agent
