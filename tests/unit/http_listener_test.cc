// The listener's request handling without a socket (HttpServer::ServeBytes, which the fuzzer
// drives too), and the gate's judgement of how complete a request is.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "agent/connection_gate.h"
#include "agent/http_server.h"
#include "agent/internal_errors.h"

namespace mtasts::agent {
namespace {

HttpHandlers Handlers() {
  HttpHandlers h;
  h.metrics = [] { return std::make_shared<const MetricsPage>(GzipCompress("x 1\n")); };
  auto report = [](const std::string& domain) {
    DomainReport r;
    r.domain = domain;
    return r;
  };
  h.check = report;
  h.policy = report;
  h.ready = [] { return true; };
  h.reload = [] { return Result<bool>(true); };
  return h;
}

config::ApiSettings Api() {
  config::ApiSettings api;
  api.rate_limit_per_minute = 1e6;
  api.rate_limit_burst = 1000;
  return api;
}

TEST(HttpListener, ServesARequestFromMemory) {
  HttpServer server(Handlers(), Api());
  const std::string response =
      server.ServeBytes("GET /v1/check?domain=B%C3%BCcher.TEST HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << response;
  const auto body = nlohmann::json::parse(response.substr(response.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["data"]["domain"], "xn--bcher-kva.test");
  EXPECT_EQ(server.ServeBytes("GET /-/healthy HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0U);
  EXPECT_EQ(server.ServeBytes("GET /v1/nothing HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0U);
  // The bytes end before the blank line: the request is malformed.
  EXPECT_EQ(server.ServeBytes("GET /-/healthy HTTP/1.1\r\n").rfind("HTTP/1.1 400", 0), 0U);
  EXPECT_EQ(server.ServeBytes(""), "") << "no request line: no answer";
}

// Found by the http_request fuzzer (corpus/http_request/regression-expect-100-continue): with
// `Expect: 100-continue` httplib sends an interim 100 before the answer, which must not count as
// the response's status (an error response ends the connection).
TEST(HttpListener, ExpectContinueThenTheRealAnswer) {
  HttpServer server(Handlers(), Api());
  const std::string response = server.ServeBytes(
      "GET /v1/policy?domain=B%bC6%Ccher:.test HTTP/1.1\r\n9443\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(response.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\n", 0), 0U)
      << response;
  const auto body = nlohmann::json::parse(response.substr(response.rfind("\r\n\r\n") + 4));
  EXPECT_EQ(body["success"], false);
  EXPECT_NE(body["message"].get<std::string>().find("not valid UTF-8"), std::string::npos);
}

std::string Body(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// POST /-/reload as Prometheus serves its lifecycle API: 403 unless enabled, then the API key
// when keys are configured; why a reload failed is not the client's business.
TEST(HttpListener, ReloadNeedsTheLifecycleFlagAndAKey) {
  const std::string post = "POST /-/reload HTTP/1.1\r\nContent-Length: 0\r\n";
  int reloads = 0;
  {
    HttpHandlers h = Handlers();
    h.reload = nullptr;  // no --web.enable-lifecycle
    HttpServer server(h, Api());
    const std::string response = server.ServeBytes(post + "\r\n");
    EXPECT_EQ(response.rfind("HTTP/1.1 403 ", 0), 0U) << response;
    EXPECT_EQ(Body(response), "Lifecycle API is not enabled.\n");
  }
  HttpHandlers h = Handlers();
  h.reload = [&reloads] {
    ++reloads;
    return Result<bool>(Error{"/etc/secret/path/config.yaml:3:1: unknown key"});
  };
  {
    HttpServer server(h, Api());
    const std::string response = server.ServeBytes(post + "\r\n");
    EXPECT_EQ(response.rfind("HTTP/1.1 500 ", 0), 0U) << response;
    EXPECT_EQ(Body(response), "Reload failed; see the exporter's log.\n");
    EXPECT_EQ(reloads, 1);
  }
  namespace fs = std::filesystem;
  const fs::path keys = fs::temp_directory_path() / ("mtasts-keys-" + std::to_string(getpid()));
  std::ofstream(keys) << "k1\n";
  config::ApiSettings api = Api();
  api.keys_file = keys.string();
  HttpServer server(h, api);
  fs::remove(keys);
  std::string response = server.ServeBytes(post + "\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 401 ", 0), 0U) << response;
  EXPECT_EQ(Body(response), "Missing API key (header x-api-key).\n");
  response = server.ServeBytes(post + "x-api-key: k2\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 401 ", 0), 0U) << response;
  EXPECT_EQ(reloads, 1) << "no reload without the key";
  response = server.ServeBytes(post + "x-api-key: k1\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 500 ", 0), 0U) << response;
  EXPECT_EQ(reloads, 2);
}

// A handler that throws gets a 500 and is logged and counted; the listener carries on.
TEST(HttpListener, AThrowingHandlerIsCountedAsAnInternalError) {
  HttpHandlers h = Handlers();
  h.check = [](const std::string&) -> DomainReport { throw std::runtime_error("bad Result"); };
  h.policy = [](const std::string&) -> DomainReport { throw 5; };
  HttpServer server(h, Api());
  const std::uint64_t before = InternalErrors::Process().Count(ThreadKind::kHttp);
  std::string response = server.ServeBytes("GET /v1/check?domain=a.test HTTP/1.1\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 500 ", 0), 0U) << response;
  EXPECT_EQ(nlohmann::json::parse(Body(response))["message"], "internal error");
  response = server.ServeBytes("GET /v1/policy?domain=a.test HTTP/1.1\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 500 ", 0), 0U) << response;
  EXPECT_EQ(InternalErrors::Process().Count(ThreadKind::kHttp), before + 2);
  EXPECT_EQ(server.ServeBytes("GET /-/healthy HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0U);
}

TEST(ConnectionGate, JudgesHowCompleteARequestIs) {
  using C = ConnectionGate::Completeness;
  const ConnectionGate::Limits limits;
  bool priority = false;
  EXPECT_EQ(ConnectionGate::Examine("GET / HTTP/1.1\r\nHost: x\r\n", limits, &priority),
            C::kPartial);
  EXPECT_EQ(ConnectionGate::Examine("GET /metrics HTTP/1.1\r\n\r\n", limits, &priority),
            C::kComplete);
  EXPECT_TRUE(priority);
  EXPECT_EQ(ConnectionGate::Examine("GET /-/healthy?x=1 HTTP/1.1\n\n", limits, &priority),
            C::kComplete);
  EXPECT_TRUE(priority);
  EXPECT_EQ(ConnectionGate::Examine("GET /v1/meta HTTP/1.1\r\n\r\n", limits, &priority),
            C::kComplete);
  EXPECT_FALSE(priority);
  EXPECT_EQ(ConnectionGate::Examine("POST /metrics HTTP/1.1\r\n\r\n", limits, &priority),
            C::kComplete);
  EXPECT_FALSE(priority) << "only GET and HEAD of the operator endpoints";
  // A body announced by Content-Length is waited for; a large or chunked one is not.
  const std::string post = "POST /-/reload HTTP/1.1\r\ncontent-LENGTH: 5\r\n\r\n";
  EXPECT_EQ(ConnectionGate::Examine(post + "abc", limits, nullptr), C::kPartial);
  EXPECT_EQ(ConnectionGate::Examine(post + "abcde", limits, nullptr), C::kComplete);
  EXPECT_EQ(ConnectionGate::Examine("POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", limits,
                                    nullptr),
            C::kComplete);
  EXPECT_EQ(ConnectionGate::Examine("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", limits,
                                    nullptr),
            C::kComplete);
  // Over 16 KiB of head, ended or not.
  const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(limits.max_head, 'a');
  EXPECT_EQ(ConnectionGate::Examine(big, limits, nullptr), C::kHeadTooLarge);
  EXPECT_EQ(ConnectionGate::Examine(big + "\r\n\r\n", limits, nullptr), C::kHeadTooLarge);
}

}  // namespace
}  // namespace mtasts::agent
