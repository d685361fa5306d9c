#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/http/access.h"
#include "agent/http/rate_limiter.h"
#include "agent/http/routes.h"
#include "agent/tlsrpt/receiver.h"
#include "config/config.h"

namespace mtasts::agent {

/// TLS-RPT reports over HTTP (README "TLS-RPT reports"): `POST /v1/tlsrpt` receives one report
/// (RFC 8460 §5.4) without an API key, under a per-address rate limit (`tlsrpt.rate_limit`),
/// and answers once it is stored; `GET /v1/tlsrpt?domain=D[&since=RFC3339]` shows what the
/// stored reports say about a watched domain, behind the API's keys and rate limits. Every
/// answer carries the API's envelope.
class TlsRptEndpoint final : public RouteOwner {
 public:
  /// The largest body POST /v1/tlsrpt takes (RFC 8460 reports as received, gzip or JSON).
  static constexpr std::size_t kMaxBody = std::size_t{1} << 20;

  TlsRptEndpoint(tlsrpt::Receiver& receiver, Access& access,
                 const config::TlsRptSettings& settings);

  void Register(httplib::Server& server) override;
  std::vector<BodyLimit> BodyLimits() override;

  /// The routes of the reports' own listener (`tlsrpt.listen_address`, README "TLS-RPT
  /// reports"): POST of a report at any path, so that a `rua` can be `https://host/`, with the
  /// same handling, answers, rate limit and body cap as POST /v1/tlsrpt; nothing else is served
  /// there (GET and HEAD: 404, other methods: 405).
  class AnyPath final : public RouteOwner {
   public:
    explicit AnyPath(TlsRptEndpoint& endpoint) : endpoint_(endpoint) {}
    void Register(httplib::Server& server) override;
    bool AnswerError(const httplib::Request& req, httplib::Response& res) override;
    std::vector<BodyLimit> BodyLimits() override;

   private:
    TlsRptEndpoint& endpoint_;
  };

  /// New rate limit (config reload); the buckets keep their tokens.
  void Configure(const config::TlsRptSettings& settings);

  /// The `data` of GET /v1/tlsrpt for an aggregate (README "TLS-RPT reports"), with the
  /// daemon's latest check of the domain beside it (`check`: null when there is none): each
  /// `by_mx` host carries what the MX probe saw of it, and whether that disagrees with what
  /// senders report. Host names match in any case, with or without a trailing dot.
  static nlohmann::json AggregateJson(const std::string& domain,
                                      const tlsrpt::DomainAggregate& aggregate,
                                      const DomainReport* check = nullptr);

 private:
  void Receive(const httplib::Request& req, httplib::Response& res);
  void Show(const httplib::Request& req, httplib::Response& res);

  tlsrpt::Receiver& receiver_;
  Access& access_;
  RateLimiter limiter_;  // per client address (ClientNetwork)
};

}  // namespace mtasts::agent
