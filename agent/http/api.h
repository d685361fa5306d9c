#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "agent/http/access.h"
#include "agent/http/routes.h"
#include "collectors/report/report.h"

namespace mtasts::agent {

/// The admission of a request behind the API keys (README "HTTP endpoints"), shared by every
/// such endpoint (the /v1 GETs, /probe): the API key, then the rate limit. A refusal is answered
/// on `res` in the /v1 envelope and gives false.
bool AdmitApiRequest(Access& access, const httplib::Request& req, httplib::Response& res);

/// The one `?domain=` of a /v1 request, normalised as a configured domain is (base/domain_name.h),
/// or nullopt with the 400 answered on `res` in the /v1 envelope.
std::optional<std::string> DomainParam(const httplib::Request& req, httplib::Response& res);

/// A place among the live checks in flight (api.max_concurrent_requests), or nullopt with the
/// 503 (Retry-After: 1) answered on `res` in the /v1 envelope.
std::optional<Access::LiveSlot> TakeLiveSlot(Access& access, httplib::Response& res);

/// The /v1 API (README "HTTP endpoints"): `/v1/check` and `/v1/policy` run live, SSRF-guarded
/// checks of any domain behind the API keys, the rate limits and the cap on live checks of
/// `access`; `/v1/meta` says what the exporter checks. Every answer, errors included, carries
/// the envelope (envelope.h).
class Api final : public RouteOwner {
 public:
  using LiveCheck = std::function<DomainReport(const std::string& domain)>;
  Api(LiveCheck check, LiveCheck policy, Access& access);

  void Register(httplib::Server& server) override;
  bool AnswerError(const httplib::Request& req, httplib::Response& res) override;

  /// The data of `/v1/meta`: the checks, the codes each can raise, the endpoints.
  static nlohmann::json Meta();

 private:
  void Serve(bool policy_only, const httplib::Request& req, httplib::Response& res);

  LiveCheck check_;
  LiveCheck policy_;
  Access& access_;
};

}  // namespace mtasts::agent
