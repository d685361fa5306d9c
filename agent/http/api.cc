#include "agent/http/api.h"

#include <httplib.h>

#include <utility>

#include "agent/http/envelope.h"
#include "agent/report_json.h"
#include "base/domain_name.h"
#include "build_info.h"

namespace mtasts::agent {

using nlohmann::json;

Api::Api(LiveCheck check, LiveCheck policy, Access& access)
    : check_(std::move(check)), policy_(std::move(policy)), access_(access) {}

json Api::Meta() {
  json checks = json::array({
      {{"name", "sts_record"},
       {"spec", "RFC 8461 §3.1"},
       {"codes", {"sts_record_missing", "sts_record_invalid", "dns_error"}}},
      {{"name", "policy"},
       {"spec", "RFC 8461 §3.2, §3.3"},
       {"codes",
        {"policy_missing", "policy_fetch_failed", "policy_tls_invalid", "policy_redirect",
         "policy_content_type", "policy_too_large", "policy_invalid", "mode_testing", "mode_none",
         "max_age_short", "target_refused", "dns_error"}}},
      {{"name", "mx"},
       {"spec", "RFC 8461 §4.1"},
       {"codes", {"mx_not_covered", "mx_missing", "dns_error"}}},
      {{"name", "tls_rpt"},
       {"spec", "RFC 8460 §3"},
       {"codes", {"tls_rpt_missing", "tls_rpt_invalid", "dns_error"}}},
      {{"name", "history"},
       {"spec", "RFC 8461 §3.1, §5.1"},
       {"scope", "the daemon's scheduled checks of watched domains (not /v1/check)"},
       {"codes",
        {"policy_changed_without_id_change", "policy_id_changed_without_change",
         "mode_downgraded"}}},
  });
  return {{"note", std::string("mta-sts-exporter ") + kVersion +
                       ": checks run live and server-side; policy hosts on private or special "
                       "addresses are refused (target_refused)"},
          {"modes", {"enforce", "testing", "none"}},
          {"checks", std::move(checks)},
          {"endpoints",
           {"/", "/metrics", "/v1/check?domain=D", "/v1/policy?domain=D", "/v1/meta", "/-/healthy",
            "/-/ready", "/-/reload"}}};
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

// Key, rate limit, domain validation, bounded live checks: in this order.
void Api::Serve(bool policy_only, const httplib::Request& req, httplib::Response& res) {
  const auto key = access_.CheckKey(req.remote_addr, req.get_header_value("x-api-key"));
  switch (key.kind) {
    case Access::KeyCheck::Kind::kAdmitted: break;
    case Access::KeyCheck::Kind::kTooManyWrong:
      res.set_header("Retry-After", std::to_string(key.retry_after));
      Reply(res, 429, nullptr,
            "too many wrong API keys; retry after " + std::to_string(key.retry_after) + " s");
      return;
    case Access::KeyCheck::Kind::kMissing:
      Reply(res, 401, nullptr, "missing API key (header x-api-key)");
      return;
    case Access::KeyCheck::Kind::kWrong: Reply(res, 401, nullptr, "wrong API key"); return;
  }
  if (int wait = access_.AcquireRate(key.bucket); wait > 0) {
    res.set_header("Retry-After", std::to_string(wait));
    Reply(res, 429, nullptr, "rate limit exceeded; retry after " + std::to_string(wait) + " s");
    return;
  }
  if (!req.has_param("domain") || req.get_param_value_count("domain") != 1) {
    Reply(res, 400, nullptr, "give exactly one domain: ?domain=example.com");
    return;
  }
  auto domain = NormalizeDomain(req.get_param_value("domain"));
  if (!domain) {
    Reply(res, 400, nullptr, domain.error().message);
    return;
  }
  const auto slot = access_.TakeLiveSlot();
  if (!slot) {
    res.set_header("Retry-After", "1");
    Reply(res, 503, nullptr, "too many live checks in flight; retry shortly");
    return;
  }
  DomainReport report = policy_only ? policy_(domain.value()) : check_(domain.value());
  Reply(res, 200, policy_only ? PolicyToJson(report) : ReportToJson(report), "ok");
}

}  // namespace mtasts::agent
