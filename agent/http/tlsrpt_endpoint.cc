#include "agent/http/tlsrpt_endpoint.h"

#include <httplib.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "agent/http/api.h"
#include "agent/http/connection_gate.h"
#include "agent/http/envelope.h"
#include "agent/log.h"
#include "base/domain_name.h"
#include "base/rfc3339.h"
#include "collectors/tlsrpt/report/report_decode.h"
#include "collectors/tlsrpt/report/report_parser.h"

namespace mtasts::agent {
namespace {

using nlohmann::json;

double PerMinute(const config::TlsRptSettings& settings) {
  return settings.rate_limit_per_second * 60;
}

// A host name as RFC 8460 §4.4's receiving-mx-hostname and the MX record may both spell it:
// DNS names compare without regard to ASCII case, and the root's trailing dot is optional.
std::string HostKey(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::string key(host);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

// The result types of RFC 8460 §4.3.1 and §4.3.2 that a STARTTLS probe of the MX can see too:
// no STARTTLS, or a certificate that does not verify for the host.
bool IsMxTlsFailure(std::string_view type) {
  return type == "starttls-not-supported" || type == "certificate-host-mismatch" ||
         type == "certificate-expired" || type == "certificate-not-trusted" ||
         type == "validation-failure";
}

// What the MX probe saw of one host, over all its addresses.
struct HostProbe {
  json view = nullptr;  // null: the host was not probed
  bool good = false;    // every reachable address: STARTTLS and a valid certificate
  std::string bad;      // what was wrong at the first address where something was; "" when none
};

HostProbe ProbeOf(const MxReport& mx, const std::string& key, std::int64_t checked_at_ms) {
  HostProbe out;
  json addresses = json::array();
  int reachable = 0;
  int starttls = 0;
  int valid = 0;
  int invalid = 0;
  for (const auto& p : mx.probes) {
    if (HostKey(p.host) != key) continue;
    const json certificate =
        p.cert_valid ? json(*p.cert_valid ? "valid" : "invalid") : json(nullptr);
    addresses.push_back(
        {{"address", p.address},
         {"refused", p.refused},
         {"reachable", p.reachable},
         {"starttls", p.starttls},
         {"tls_version", p.tls_version ? json(*p.tls_version) : json(nullptr)},
         {"certificate", certificate},
         {"cert_error", p.cert_error ? json(*p.cert_error) : json(nullptr)},
         {"cert_not_after",
          p.cert_not_after ? json(FormatRfc3339Millis(*p.cert_not_after * 1000)) : json(nullptr)},
         {"error", p.error ? json(*p.error) : json(nullptr)}});
    if (p.refused || !p.reachable) continue;
    ++reachable;
    if (p.starttls) {
      ++starttls;
    } else if (out.bad.empty()) {
      out.bad = "no STARTTLS at " + p.address;
    }
    if (p.cert_valid == true) ++valid;
    if (p.cert_valid == false) {
      ++invalid;
      if (out.bad.empty()) {
        out.bad = "an invalid certificate at " + p.address;
        if (p.cert_error) out.bad += " (" + *p.cert_error + ")";
      }
    }
  }
  if (addresses.empty()) return out;
  const char* certificate = invalid > 0 ? "invalid" : valid > 0 ? "valid" : "unknown";
  out.good = reachable > 0 && starttls == reachable && invalid == 0 && valid == starttls;
  out.view = {{"checked_at", FormatRfc3339Millis(checked_at_ms)},
              {"starttls", reachable > 0 && starttls == reachable},
              {"certificate", certificate},
              {"addresses", std::move(addresses)}};
  return out;
}

std::string Types(const std::map<std::string, std::int64_t>& types) {
  std::string out;
  for (const auto& [type, n] : types) {
    if (!IsMxTlsFailure(type) || n == 0) continue;
    out += (out.empty() ? "" : ", ") + type;
  }
  return out;
}

// by_mx: the hosts senders named (one entry per host however they spelled it), then the hosts
// the probe checked that no report names; each with the probe's view and whether they disagree.
json ByMxJson(const tlsrpt::DomainAggregate& aggregate, const DomainReport* check) {
  struct Entry {
    std::string key;
    tlsrpt::DomainAggregate::Mx mx;
  };
  std::vector<Entry> entries;
  for (const auto& mx : aggregate.by_mx) {
    std::string key = HostKey(mx.receiving_mx_hostname);
    auto same = std::find_if(entries.begin(), entries.end(),
                             [&](const Entry& e) { return !key.empty() && e.key == key; });
    if (same == entries.end()) {
      entries.push_back({std::move(key), mx});
      continue;
    }
    same->mx.failure += mx.failure;
    for (const auto& [type, n] : mx.result_types) same->mx.result_types[type] += n;
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.mx.failure > b.mx.failure; });
  const bool probed = check != nullptr && check->mx.probed;
  if (probed) {
    for (const auto& p : check->mx.probes) {
      std::string key = HostKey(p.host);
      const bool listed =
          std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.key == key; });
      if (!listed && !key.empty()) entries.push_back({std::move(key), {p.host, 0, {}}});
    }
  }
  json by_mx = json::array();
  for (const auto& [key, mx] : entries) {
    json result_types = json::object();
    std::int64_t tls_failures = 0;
    for (const auto& [type, n] : mx.result_types) {
      result_types[type] = n;
      if (IsMxTlsFailure(type)) tls_failures += n;
    }
    HostProbe probe;
    if (probed && !key.empty()) probe = ProbeOf(check->mx, key, check->checked_at_ms);
    json note = nullptr;
    if (!probe.view.is_null() && tls_failures > 0 && probe.good) {
      note = "senders report " + std::to_string(tls_failures) + " failed sessions (" +
             Types(mx.result_types) + ") at " + key +
             " while the probe found STARTTLS and a valid certificate: interception on the "
             "senders' path or a stale host is worth a look";
    } else if (!probe.view.is_null() && mx.failure == 0 && aggregate.success > 0 &&
               !probe.bad.empty()) {
      note = "the probe found " + probe.bad + " of " + key +
             " while senders report no failed sessions there: worth a look";
    }
    const bool disagreement = !note.is_null();
    by_mx.push_back({{"receiving_mx_hostname", mx.receiving_mx_hostname},
                     {"failure", mx.failure},
                     {"result_types", std::move(result_types)},
                     {"probe", std::move(probe.view)},
                     {"disagreement", disagreement},
                     {"note", std::move(note)}});
  }
  return by_mx;
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
  const auto check = receiver_.LatestCheck(domain.value());
  Reply(res, 200, AggregateJson(domain.value(), aggregate.value(), check ? &*check : nullptr),
        "ok");
}

json TlsRptEndpoint::AggregateJson(const std::string& domain,
                                   const tlsrpt::DomainAggregate& aggregate,
                                   const DomainReport* check) {
  json by_result_type = json::object();
  for (const auto& [type, n] : aggregate.by_result_type) by_result_type[type] = n;
  json by_mx = ByMxJson(aggregate, check);
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
