#pragma once

#include <functional>
#include <memory>

#include "agent/http/access.h"
#include "agent/http/routes.h"
#include "agent/metrics_page.h"
#include "base/result.h"

namespace mtasts::agent {

/// What an operator asks of the daemon (README "HTTP endpoints", "Lifecycle"): the landing page
/// `/`, `/metrics`, `/-/healthy`, `/-/ready` and `POST /-/reload`.
class OperatorEndpoints final : public RouteOwner {
 public:
  struct Handlers {
    std::function<std::shared_ptr<const MetricsPage>()> metrics;  // the current exposition
    std::function<bool()> ready;
    std::function<Result<bool>()> reload;  // empty: lifecycle API not enabled (403)
  };
  /// With API keys in `access`, POST /-/reload needs one too.
  OperatorEndpoints(Handlers handlers, Access& access);

  void Register(httplib::Server& server) override;

 private:
  void Reload(const httplib::Request& req, httplib::Response& res);

  Handlers handlers_;
  Access& access_;
};

}  // namespace mtasts::agent
