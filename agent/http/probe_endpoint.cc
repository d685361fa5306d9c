#include "agent/http/probe_endpoint.h"

#include <httplib.h>

#include <chrono>
#include <optional>
#include <utility>

#include "agent/http/api.h"
#include "agent/metrics.h"
#include "base/domain_name.h"

namespace mtasts::agent {
namespace {

constexpr const char* kPath = "/probe";

// A refused probe says why in one line of text: Prometheus shows it beside the failed target.
void Refuse(httplib::Response& res, int status, const std::string& why) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(why + "\n", "text/plain; charset=utf-8");
}

// probe_mx: absent or "false" is no MX probe, "true" is one; anything else is a mistake.
std::optional<bool> ProbeMx(const httplib::Request& req) {
  const std::size_t given = req.get_param_value_count("probe_mx");
  if (given == 0) return false;
  if (given != 1) return std::nullopt;
  const std::string value = req.get_param_value("probe_mx");
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

}  // namespace

ProbeEndpoint::ProbeEndpoint(Check check, Access& access)
    : check_(std::move(check)), access_(access) {}

void ProbeEndpoint::Register(httplib::Server& server) {
  server.Get(kPath,
             [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
}

bool ProbeEndpoint::AnswerError(const httplib::Request& req, httplib::Response& res) {
  if (req.path != kPath || !res.body.empty()) return false;
  Refuse(res, res.status, "request refused");
  return true;
}

// As /v1/check: key, rate limit, target validation, the live-check cap, in this order.
void ProbeEndpoint::Serve(const httplib::Request& req, httplib::Response& res) {
  if (!AdmitApiRequest(access_, req, res)) return;
  if (req.get_param_value_count("target") != 1) {
    Refuse(res, 400, "give exactly one target: /probe?target=example.com");
    return;
  }
  auto domain = NormalizeDomain(req.get_param_value("target"));
  if (!domain) {
    Refuse(res, 400, "bad target: " + domain.error().message);
    return;
  }
  const std::optional<bool> probe_mx = ProbeMx(req);
  if (!probe_mx) {
    Refuse(res, 400, "probe_mx is true or false");
    return;
  }
  const auto slot = TakeLiveSlot(access_, res);
  if (!slot) return;
  const auto start = std::chrono::steady_clock::now();
  const DomainReport report = check_(domain.value(), *probe_mx);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  res.set_header("Cache-Control", "no-store");
  res.set_content(Metrics::RenderProbe(domain.value(), report, took.count()),
                  "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace mtasts::agent
