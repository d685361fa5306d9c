#include "agent/http/tlsrpt_endpoint.h"

#include <httplib.h>

#include <string_view>
#include <utility>

#include "agent/http/api.h"
#include "agent/http/connection_gate.h"
#include "agent/http/envelope.h"
#include "agent/log.h"
#include "base/domain_name.h"
#include "collectors/tlsrpt/report/report_decode.h"
#include "collectors/tlsrpt/report/report_parser.h"

namespace mtasts::agent {
namespace {

using nlohmann::json;

double PerMinute(const config::TlsRptSettings& settings) {
  return settings.rate_limit_per_second * 60;
}

}  // namespace

TlsRptEndpoint::TlsRptEndpoint(tlsrpt::Receiver& receiver, Access& access,
                               const config::TlsRptSettings& settings)
    : receiver_(receiver),
      access_(access),
      limiter_(PerMinute(settings), settings.rate_limit_burst) {}

void TlsRptEndpoint::Configure(const config::TlsRptSettings& settings) {
  limiter_.Reconfigure(PerMinute(settings), settings.rate_limit_burst);
}

void TlsRptEndpoint::Register(httplib::Server& server) {
  server.Post("/v1/tlsrpt",
              [this](const httplib::Request& req, httplib::Response& res) { Receive(req, res); });
  server.Get("/v1/tlsrpt",
             [this](const httplib::Request& req, httplib::Response& res) { Show(req, res); });
}

std::vector<RouteOwner::BodyLimit> TlsRptEndpoint::BodyLimits() {
  // RFC 8460 reports are small; 1 MiB compressed is far beyond any real one (README).
  return {{"/v1/tlsrpt", kMaxBody, [this] { receiver_.CountRejected("too_large"); }}};
}

void TlsRptEndpoint::AnyPath::Register(httplib::Server& server) {
  const auto receive = [this](const httplib::Request& req, httplib::Response& res) {
    endpoint_.Receive(req, res);
  };
  const auto not_here = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Allow", "POST");
    Reply(res, 405, nullptr, "only POST of a TLS-RPT report is served here");
  };
  server.Post("/.*", receive);
  server.Get("/.*", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 404, nullptr, "nothing is served here; POST a TLS-RPT report");
  });
  server.Put("/.*", not_here);
  server.Patch("/.*", not_here);
  server.Delete("/.*", not_here);
  server.Options("/.*", not_here);
}

bool TlsRptEndpoint::AnyPath::AnswerError(const httplib::Request& /*req*/, httplib::Response& res) {
  if (!res.body.empty()) return false;
  Reply(res, res.status, nullptr, res.status == 404 ? "no such endpoint" : "request refused");
  return true;
}

std::vector<RouteOwner::BodyLimit> TlsRptEndpoint::AnyPath::BodyLimits() {
  auto limits = endpoint_.BodyLimits();
  for (auto& limit : limits) limit.path = kEveryPath;
  return limits;
}

// Rate limit, media type, decoding and the watched domains, the store: in this order. Reporters
// have no API key (RFC 8460 §5.4): the limit is per client address.
void TlsRptEndpoint::Receive(const httplib::Request& req, httplib::Response& res) {
  if (int wait = limiter_.Acquire(ClientNetwork(req.remote_addr)); wait > 0) {
    receiver_.CountRejected("rate_limited");
    res.set_header("Retry-After", std::to_string(wait));
    Reply(res, 429, nullptr, "too many reports; retry after " + std::to_string(wait) + " s");
    return;
  }
  const auto kind = mtasts::tlsrpt::InputKindFromContentType(req.get_header_value("Content-Type"));
  const tlsrpt::IngestOutcome outcome = receiver_.Receive(req.body, kind);
  const int status = tlsrpt::HttpStatus(outcome.answer);
  json data = nullptr;
  if (!outcome.organization.empty()) {
    data = {{"organization", outcome.organization},
            {"report_id", outcome.report_id},
            {"domains", outcome.domains}};
  }
  std::string message = outcome.message;
  if (message.empty()) message = std::string(tlsrpt::AnswerName(outcome.answer));
  if (outcome.answer == tlsrpt::Answer::kUnavailable) {
    Log(LogLevel::kError, "TLS-RPT report not stored", {{"error", outcome.internal_error}});
    res.set_header("Retry-After", "60");
  } else {
    Log(LogLevel::kDebug, "TLS-RPT report received",
        {{"client", req.remote_addr},
         {"answer", std::string(tlsrpt::AnswerName(outcome.answer))},
         {"organization", outcome.organization},
         {"report_id", outcome.report_id}});
  }
  Reply(res, status, std::move(data), message);
}

// Key, rate limit, parameters: as the other /v1 GETs.
void TlsRptEndpoint::Show(const httplib::Request& req, httplib::Response& res) {
  if (!AdmitApiRequest(access_, req, res)) return;
  const auto domain = DomainParam(req, res);
  if (!domain) return;
  std::int64_t since = 0;
  if (req.has_param("since")) {
    bool had_zone = false;
    auto parsed = req.get_param_value_count("since") == 1
                      ? mtasts::tlsrpt::ParseReportDateTime(req.get_param_value("since"), &had_zone)
                      : Result<std::int64_t>(Error{"more than one since"});
    if (!parsed || !had_zone) {
      Reply(res, 400, nullptr,
            "since: give one RFC 3339 time with its zone, e.g. 2026-03-01T00:00:00Z");
      return;
    }
    since = parsed.value();
  }
  // Reports are kept for every policy-domain they name; only a watched domain is shown.
  if (!receiver_.Watches(domain.value())) {
    Reply(res, 404, nullptr, domain.value() + " is not a watched domain");
    return;
  }
  auto aggregate = receiver_.Aggregate(domain.value(), since);
  if (!aggregate) {
    Log(LogLevel::kError, "TLS-RPT aggregate failed", {{"error", aggregate.error().message}});
    res.set_header("Retry-After", "60");
    Reply(res, 503, nullptr, "the report store is unavailable; try again later");
    return;
  }
  Reply(res, 200, AggregateJson(domain.value(), aggregate.value()), "ok");
}

json TlsRptEndpoint::AggregateJson(const std::string& domain,
                                   const tlsrpt::DomainAggregate& aggregate) {
  json by_result_type = json::object();
  for (const auto& [type, n] : aggregate.by_result_type) by_result_type[type] = n;
  json by_mx = json::array();
  for (const auto& mx : aggregate.by_mx) {
    by_mx.push_back({{"receiving_mx_hostname", mx.receiving_mx_hostname}, {"failure", mx.failure}});
  }
  json reporters = json::array();
  for (const auto& r : aggregate.reporters) {
    reporters.push_back({{"organization", r.organization},
                         {"reports", r.reports},
                         {"success", r.success},
                         {"failure", r.failure}});
  }
  json days = json::array();
  for (const auto& d : aggregate.days) {
    days.push_back({{"date", d.date}, {"success", d.success}, {"failure", d.failure}});
  }
  return {{"domain", domain},
          {"reports", aggregate.reports},
          {"sessions", {{"success", aggregate.success}, {"failure", aggregate.failure}}},
          {"by_result_type", std::move(by_result_type)},
          {"by_mx", std::move(by_mx)},
          {"reporters", std::move(reporters)},
          {"days", std::move(days)}};
}

}  // namespace mtasts::agent
