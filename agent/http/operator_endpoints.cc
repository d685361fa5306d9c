#include "agent/http/operator_endpoints.h"

#include <httplib.h>

#include <algorithm>
#include <string>
#include <utility>

namespace mtasts::agent {
namespace {

constexpr const char* kLandingPage = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mta-sts-exporter</title></head>
<body><h1>mta-sts-exporter</h1>
<p>MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) posture of mail domains.</p>
<ul>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="v1/check?domain=example.com">/v1/check?domain=D</a>: live check of any domain</li>
<li><a href="v1/policy?domain=example.com">/v1/policy?domain=D</a>: live parsed policy file</li>
<li><a href="probe?target=example.com">/probe?target=D</a>: live check as Prometheus metrics</li>
<li><a href="v1/meta">/v1/meta</a>: what this exporter checks</li>
<li><a href="-/healthy">/-/healthy</a>, <a href="-/ready">/-/ready</a></li>
</ul></body></html>
)";

}  // namespace

OperatorEndpoints::OperatorEndpoints(Handlers handlers, Access& access)
    : handlers_(std::move(handlers)), access_(access) {}

void OperatorEndpoints::Register(httplib::Server& s) {
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kLandingPage, "text/html; charset=utf-8");
  });
  s.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    // The page is rendered once per change and shared. A fixed-length provider makes httplib
    // send the bytes as they are, never compressing them again.
    auto page = handlers_.metrics();
    const bool gzip = AcceptsGzip(req.get_header_value("Accept-Encoding"));
    res.set_header("Vary", "Accept-Encoding");
    constexpr const char* kType = "text/plain; version=0.0.4; charset=utf-8";
    if (!gzip) {
      // The page is kept gzip-compressed; a plain request gets it inflated as it is sent, a
      // piece at a time (README "Memory"), never the whole text in memory.
      auto text = std::make_shared<PageTextReader>(std::move(page));
      res.set_content_provider(
          text->size(), kType,
          [text](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
            const std::string_view piece = text->Read(offset, std::min<std::size_t>(length, 65536));
            if (piece.empty()) return false;  // shorter than its trailer said: a bug
            sink.write(piece.data(), piece.size());
            return true;
          });
      return;
    }
    res.set_header("Content-Encoding", "gzip");
    auto body = std::shared_ptr<const std::string>(page, &page->gzip());
    res.set_content_provider(
        body->size(), kType,
        [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          sink.write(body->data() + offset, std::min(length, body->size() - offset));
          return true;
        });
  });
  s.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Healthy.\n", "text/plain");
  });
  s.Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = handlers_.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "Ready.\n" : "Not ready: the first round of checks is running.\n",
                    "text/plain");
  });
  s.Post("/-/reload",
         [this](const httplib::Request& req, httplib::Response& res) { Reload(req, res); });
}

// Lifecycle endpoints as Prometheus has them: only with --web.enable-lifecycle (the daemon then
// sets the handler), and with API keys configured only for a valid key. Why a reload failed goes
// to the log, never to the client (it names files).
void OperatorEndpoints::Reload(const httplib::Request& req, httplib::Response& res) {
  if (!handlers_.reload) {
    res.status = 403;
    res.set_content("Lifecycle API is not enabled.\n", "text/plain");
    return;
  }
  // The wrong-key budget of the API applies here too: no guessing keys through reloads.
  const auto key = access_.CheckKey(req.remote_addr, req.get_header_value("x-api-key"));
  switch (key.kind) {
    case Access::KeyCheck::Kind::kAdmitted: break;
    case Access::KeyCheck::Kind::kTooManyWrong:
      res.status = 429;
      res.set_header("Retry-After", std::to_string(key.retry_after));
      res.set_content("Too many wrong API keys.\n", "text/plain");
      return;
    case Access::KeyCheck::Kind::kMissing:
    case Access::KeyCheck::Kind::kWrong:
      res.status = 401;
      res.set_content(key.kind == Access::KeyCheck::Kind::kMissing
                          ? "Missing API key (header x-api-key).\n"
                          : "Wrong API key.\n",
                      "text/plain");
      return;
  }
  const bool reloaded = handlers_.reload().has_value();
  res.status = reloaded ? 200 : 500;
  res.set_content(reloaded ? "Reloaded.\n" : "Reload failed; see the exporter's log.\n",
                  "text/plain");
}

}  // namespace mtasts::agent
