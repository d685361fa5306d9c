#pragma once

#include <functional>
#include <string>

#include "agent/http/access.h"
#include "agent/http/routes.h"
#include "collectors/report/report.h"

namespace mtasts::agent {

/// `GET /probe?target=D[&probe_mx=true]` (README "Probing domains listed in Prometheus"), the
/// multi-target exporter pattern: a live, SSRF-guarded check of D, admitted like `/v1/check` (API
/// key, rate limit, the cap on live checks of `access`), answered as Prometheus text exposition
/// with the per-domain families of /metrics. Nothing is stored: no state, no history, no webhooks.
class ProbeEndpoint final : public RouteOwner {
 public:
  using Check = std::function<DomainReport(const std::string& domain, bool probe_mx)>;
  ProbeEndpoint(Check check, Access& access);

  void Register(httplib::Server& server) override;
  bool AnswerError(const httplib::Request& req, httplib::Response& res) override;

 private:
  void Serve(const httplib::Request& req, httplib::Response& res);

  Check check_;
  Access& access_;
};

}  // namespace mtasts::agent
