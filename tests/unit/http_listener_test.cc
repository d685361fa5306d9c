// The listener's request handling without a socket (HttpServer::ServeBytes, which the fuzzer
// drives too), and the gate's judgement of how complete a request is.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/connection_gate.h"
#include "agent/http_server.h"

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
