#include "agent/http/api.h"

#include <httplib.h>

#include <utility>

#include "agent/http/envelope.h"
#include "agent/report_json.h"
#include "base/domain_name.h"
#include "build_info.h"
#include "collectors/check/registry.h"

namespace mtasts::agent {

using nlohmann::json;

Api::Api(LiveCheck check, LiveCheck policy, Access& access)
    : check_(std::move(check)), policy_(std::move(policy)), access_(access) {}

json Api::Meta() {
  // The catalogue is the check registry's declaration, so it cannot drift from what is judged.
  json checks = json::array();
  for (const check::CheckInfo& info : check::Catalogue()) {
    json codes = json::array();
    for (IssueCode code : info.codes) codes.push_back(IssueCodeName(code));
    json entry = {{"name", info.name}, {"spec", info.spec}};
    if (info.scope != check::Scope::kEveryCheck) entry["scope"] = check::ScopeText(info.scope);
    entry["codes"] = std::move(codes);
    checks.push_back(std::move(entry));
  }
  return {
      {"note", std::string("mta-sts-exporter ") + kVersion +
                   ": checks run live and server-side; policy hosts on private or special "
                   "addresses are refused (target_refused)"},
      {"modes", {"enforce", "testing", "none"}},
      {"checks", std::move(checks)},
      {"endpoints",
       {"/", "/metrics", "/v1/check?domain=D", "/v1/policy?domain=D", "/probe?target=D", "/v1/meta",
        "/v1/tlsrpt", "/v1/tlsrpt?domain=D", "/-/healthy", "/-/ready", "/-/reload"}}};
}

void Api::Register(httplib::Server& server) {
  server.Get("/v1/check", [this](const httplib::Request& req, httplib::Response& res) {
    Serve(false, req, res);
  });
  server.Get("/v1/policy", [this](const httplib::Request& req, httplib::Response& res) {
    Serve(true, req, res);
  });
  server.Get("/v1/meta", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, Meta(), "ok");
  });
}

bool Api::AnswerError(const httplib::Request& req, httplib::Response& res) {
  if (req.path.rfind("/v1/", 0) != 0 || !res.body.empty()) return false;
  Reply(res, res.status, nullptr, res.status == 404 ? "no such endpoint" : "request refused");
  return true;
}

bool AdmitApiRequest(Access& access, const httplib::Request& req, httplib::Response& res) {
  const auto key = access.CheckKey(req.remote_addr, req.get_header_value("x-api-key"));
  switch (key.kind) {
    case Access::KeyCheck::Kind::kAdmitted: break;
    case Access::KeyCheck::Kind::kTooManyWrong:
      res.set_header("Retry-After", std::to_string(key.retry_after));
      Reply(res, 429, nullptr,
            "too many wrong API keys; retry after " + std::to_string(key.retry_after) + " s");
      return false;
    case Access::KeyCheck::Kind::kMissing:
      Reply(res, 401, nullptr, "missing API key (header x-api-key)");
      return false;
    case Access::KeyCheck::Kind::kWrong: Reply(res, 401, nullptr, "wrong API key"); return false;
  }
  if (int wait = access.AcquireRate(key.bucket); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    Reply(res, 429, nullptr, "rate limit exceeded; retry after " + std::to_string(wait) + " s");
    return false;
  }
  return true;
}

std::optional<Access::LiveSlot> TakeLiveSlot(Access& access, httplib::Response& res) {
  auto slot = access.TakeLiveSlot();
  if (!slot) {
    res.set_header("Retry-After", "1");
    Reply(res, 503, nullptr, "too many live checks in flight; retry shortly");
  }
  return slot;
}

std::optional<std::string> DomainParam(const httplib::Request& req, httplib::Response& res) {
  if (!req.has_param("domain") || req.get_param_value_count("domain") != 1) {
    Reply(res, 400, nullptr, "give exactly one domain: ?domain=example.com");
    return std::nullopt;
  }
  auto domain = NormalizeDomain(req.get_param_value("domain"));
  if (!domain) {
    Reply(res, 400, nullptr, domain.error().message);
    return std::nullopt;
  }
  return std::move(domain).value();
}

// Key, rate limit, domain validation, bounded live checks: in this order.
void Api::Serve(bool policy_only, const httplib::Request& req, httplib::Response& res) {
  if (!AdmitApiRequest(access_, req, res)) return;
  const auto domain = DomainParam(req, res);
  if (!domain) return;
  const auto slot = TakeLiveSlot(access_, res);
  if (!slot) return;
  DomainReport report = policy_only ? policy_(*domain) : check_(*domain);
  Reply(res, 200, policy_only ? PolicyToJson(report) : ReportToJson(report), "ok");
}

}  // namespace mtasts::agent
