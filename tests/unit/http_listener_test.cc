// The listener's request handling without a socket (HttpServer::ServeExchanges, which the
// fuzzer drives too), the gate's judgement of every request (ConnectionGate::Examine), and the
// gate's caps with real connections on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "agent/http/connection_gate.h"
#include "agent/http/server.h"
#include "agent/internal_errors.h"

namespace mtasts::agent {
namespace {

using Kind = ConnectionGate::Verdict::Kind;

HttpHandlers Handlers(std::atomic<int>* reloads = nullptr) {
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
  h.reload = [reloads] {
    if (reloads != nullptr) ++*reloads;
    return Result<bool>(true);
  };
  return h;
}

config::ApiSettings Api() {
  config::ApiSettings api;
  api.rate_limit_per_minute = 1e6;
  api.rate_limit_burst = 1000;
  return api;
}

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
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
  // The bytes end before the blank line: the request never completes, and the listener answers
  // 408 when its time is up.
  EXPECT_EQ(StatusOf(server.ServeBytes("GET /-/healthy HTTP/1.1\r\n")), 408);
  EXPECT_EQ(server.ServeBytes(""), "") << "no request line: no answer";
}

// Found by the http_request fuzzer (corpus/http_request/regression-expect-100-continue): with
// `Expect: 100-continue` httplib sends an interim 100 before the answer, which must not count as
// the response's status (an error response ends the connection).
TEST(HttpListener, ExpectContinueThenTheRealAnswer) {
  HttpServer server(Handlers(), Api());
  const std::string response = server.ServeBytes(
      "GET /v1/policy?domain=B%bC6%Ccher:.test HTTP/1.1\r\nX: 9443\r\n"
      "Expect: 100-continue\r\n\r\n");
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

TEST(HttpListener, PipelinedRequestsAreServedOneByOneAsTheGateDelimitsThem) {
  std::atomic<int> reloads{0};
  HttpServer server(Handlers(&reloads), Api());
  // A POST without Content-Length has no body (RFC 9112 §6.3): the GET after it is a request of
  // its own, not a body to read until the connection ends.
  const auto exchanges = server.ServeExchanges(
      "POST /-/reload HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /-/reload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "GET /v1/meta HTTP/1.1\r\nConnection: close\r\n\r\n"
      "GET /-/healthy HTTP/1.1\r\n\r\n");
  ASSERT_EQ(exchanges.size(), 4U) << "nothing after Connection: close";
  EXPECT_EQ(StatusOf(exchanges[0].response), 200) << exchanges[0].response;
  EXPECT_EQ(StatusOf(exchanges[1].response), 200);
  EXPECT_NE(exchanges[1].response.find("Healthy."), std::string::npos);
  EXPECT_EQ(StatusOf(exchanges[2].response), 200);
  EXPECT_EQ(exchanges[2].request.substr(exchanges[2].request.size() - 3), "abc");
  EXPECT_EQ(StatusOf(exchanges[3].response), 200);
  EXPECT_EQ(reloads.load(), 2);
}

// A GET with a body once reached httplib, which ignores a GET's body: the body was then served as
// a second request, behind the back of any proxy that had let only the GET through.
TEST(HttpListener, AGetWithABodyIsRefusedNotServedTwice) {
  std::atomic<int> reloads{0};
  HttpServer server(Handlers(&reloads), Api());
  const std::string smuggled = "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  const auto exchanges = server.ServeExchanges(
      "GET /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
      "\r\n\r\n" + smuggled);
  ASSERT_EQ(exchanges.size(), 1U);
  EXPECT_EQ(StatusOf(exchanges[0].response), 400) << exchanges[0].response;
  EXPECT_NE(exchanges[0].response.find("Connection: close"), std::string::npos);
  // Two lengths, the larger one covering a second request: refused whole.
  const auto twice =
      server.ServeExchanges("POST /-/healthy HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: " +
                            std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  ASSERT_EQ(twice.size(), 1U);
  EXPECT_EQ(StatusOf(twice[0].response), 400);
  EXPECT_EQ(reloads.load(), 0);
}

// Found by the http_request fuzzer (corpus/http_request/regression-query-only-target): httplib
// routes the target "?/-/reload" as the path /-/reload, which a proxy filtering paths would not
// see as one.
TEST(HttpListener, ATargetIsAPath) {
  std::atomic<int> reloads{0};
  HttpServer server(Handlers(&reloads), Api());
  EXPECT_EQ(StatusOf(server.ServeBytes("POST ?/-/reload HTTP/1.1\r\nHost: x\r\n\r\n")), 400);
  EXPECT_EQ(StatusOf(server.ServeBytes("POST /-/reload HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  EXPECT_EQ(reloads.load(), 1);
}

TEST(HttpListener, RefusalsInMemoryAreTheGatesAnswers) {
  HttpServer server(Handlers(), Api());
  EXPECT_EQ(StatusOf(server.ServeBytes("GET /metrics HTTP/1.1\nHost: x\n\n")), 400);
  EXPECT_EQ(StatusOf(server.ServeBytes(
                "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")),
            411);
  EXPECT_EQ(StatusOf(server.ServeBytes("POST /-/reload HTTP/1.1\r\nContent-Length: 70000\r\n\r\n")),
            413);
  // A gzip body would be inflated by httplib without a bound (64 KiB of zeros compress to
  // less than 100 bytes): coded bodies are refused.
  EXPECT_EQ(
      StatusOf(server.ServeBytes(
          "POST /-/reload HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd")),
      415);
}

/// One row of the gate's table: the bytes, and what Examine must make of them.
struct Case {
  const char* name;
  std::string bytes;
  Kind kind;
  int status = 0;
  std::size_t length = 0;  // kComplete: 0 means the whole input
  bool priority = false;
};

TEST(ConnectionGate, ExamineJudgesEveryRequest) {
  const ConnectionGate::Limits limits;
  const std::string big_head = "GET / HTTP/1.1\r\nX: " + std::string(limits.max_head, 'a');
  const std::string post = "POST /-/reload HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
  const std::vector<Case> cases = {
      // Complete, and where each request ends.
      {"plain GET", "GET /v1/meta HTTP/1.1\r\nHost: x\r\n\r\n", Kind::kComplete},
      {"operator GET", "GET /metrics HTTP/1.1\r\n\r\n", Kind::kComplete, 0, 0, true},
      {"operator HEAD", "HEAD /-/ready?x=1 HTTP/1.0\r\n\r\n", Kind::kComplete, 0, 0, true},
      {"operator healthy", "GET /-/healthy HTTP/1.1\r\n\r\n", Kind::kComplete, 0, 0, true},
      {"POST to an operator path", "POST /metrics HTTP/1.1\r\n\r\n", Kind::kComplete},
      {"POST without a length has no body", "POST /-/reload HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n",
       Kind::kComplete, 0, 27},
      {"POST with its body", post + "abcde", Kind::kComplete},
      {"POST, body, next request", post + "abcdeGET / HTTP/1.1\r\n\r\n", Kind::kComplete, 0,
       post.size() + 5},
      {"pipelined GETs", "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", Kind::kComplete, 0, 19},
      {"GET with Content-Length 0", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", Kind::kComplete},
      {"length with leading zeros", "POST / HTTP/1.1\r\nContent-Length: 005\r\n\r\nabcde",
       Kind::kComplete},
      {"a body of exactly the limit",
       "POST / HTTP/1.1\r\nContent-Length: 65536\r\n\r\n" + std::string(65536, 'b'),
       Kind::kComplete},
      {"optional whitespace around values", "GET / HTTP/1.1\r\nHost:\t x \r\n\r\n",
       Kind::kComplete},
      {"Content-Encoding without a body", "GET / HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\n",
       Kind::kComplete},
      // Not complete yet.
      {"head not ended", "GET / HTTP/1.1\r\nHost: x\r\n", Kind::kPartial},
      {"CR at the very end", "GET / HTTP/1.1\r", Kind::kPartial},
      {"body not all here", post + "abc", Kind::kPartial},
      {"nothing", "", Kind::kPartial},
      // Line endings: CRLF only.
      {"bare LF head", "GET /metrics HTTP/1.1\n\n", Kind::kRefused, 400},
      {"bare LF after the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", Kind::kRefused, 400},
      {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: x\r\n\n", Kind::kRefused, 400},
      {"bare LF before the head is complete", "GET / HTTP/1.1\r\nX: y\n", Kind::kRefused, 400},
      {"bare CR", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", Kind::kRefused, 400},
      {"NUL", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), Kind::kRefused, 400},
      // Request line.
      {"empty line first", "\r\nGET / HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      {"no version", "GET /\r\n\r\n", Kind::kRefused, 400},
      {"two spaces", "GET  / HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", Kind::kRefused, 400},
      {"trailing space", "GET / HTTP/1.1 \r\n\r\n", Kind::kRefused, 400},
      {"method not a token", "G(T / HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      {"control in the target", "GET /\x01 HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      {"target not a path", "POST ?/-/reload HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      {"absolute-form target", "GET http://x/metrics HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      {"asterisk-form target", "OPTIONS * HTTP/1.1\r\n\r\n", Kind::kRefused, 400},
      // Header lines.
      {"obsolete folding", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", Kind::kRefused, 400},
      {"no colon", "GET / HTTP/1.1\r\n9443\r\n\r\n", Kind::kRefused, 400},
      {"empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", Kind::kRefused, 400},
      {"space before the colon", "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nabcde",
       Kind::kRefused, 400},
      // Bodies: one Content-Length, within the limit, on POST, uncoded; never chunked.
      {"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", Kind::kRefused, 411},
      {"chunked GET", "GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", Kind::kRefused, 411},
      {"any other coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", Kind::kRefused,
       411},
      {"chunked and a length",
       "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", Kind::kRefused,
       400},
      {"two equal lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
       Kind::kRefused, 400},
      {"two lengths", "POST / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 45\r\n\r\n",
       Kind::kRefused, 400},
      {"a list of lengths", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", Kind::kRefused, 400},
      {"negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", Kind::kRefused, 400},
      {"signed length", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", Kind::kRefused, 400},
      {"empty length", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", Kind::kRefused, 400},
      {"hex length", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", Kind::kRefused, 400},
      {"GET with a body", "GET /-/healthy HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde",
       Kind::kRefused, 400},
      {"HEAD with a body", "HEAD / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", Kind::kRefused, 400},
      {"PUT with a body", "PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", Kind::kRefused, 400},
      {"GET with a huge length", "GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
       Kind::kRefused, 400},
      {"body over the limit", "POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", Kind::kRefused,
       413},
      {"length beyond 64 bits",
       "POST / HTTP/1.1\r\nContent-Length: 999999999999999999999999999\r\n\r\n", Kind::kRefused,
       413},
      {"coded body", "POST / HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\nab",
       Kind::kRefused, 415},
      // Size of the head.
      {"head over 16 KiB, not ended", big_head, Kind::kRefused, 431},
      {"head over 16 KiB, ended", big_head + "\r\n\r\n", Kind::kRefused, 431},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto verdict = ConnectionGate::Examine(c.bytes, limits);
    EXPECT_EQ(static_cast<int>(verdict.kind), static_cast<int>(c.kind));
    if (c.kind == Kind::kRefused) {
      EXPECT_EQ(verdict.status, c.status);
      EXPECT_FALSE(verdict.reason.empty());
    }
    if (c.kind == Kind::kComplete) {
      EXPECT_EQ(verdict.length, c.length == 0 ? c.bytes.size() : c.length);
      EXPECT_EQ(verdict.priority, c.priority);
    }
  }
}

TEST(ConnectionGate, RefusalRepliesCloseAndSayWhen) {
  const std::string reply = ConnectionGate::RefusalReply(503, "too many connections");
  EXPECT_EQ(reply.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0U);
  EXPECT_NE(reply.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(reply.find("\r\nRetry-After: 1\r\n"), std::string::npos);
  EXPECT_EQ(reply.substr(reply.find("\r\n\r\n") + 4), "too many connections\n");
  EXPECT_EQ(ConnectionGate::RefusalReply(411, "x").rfind("HTTP/1.1 411 Length Required\r\n", 0),
            0U);
}

TEST(ConnectionGate, ClientNetworks) {
  EXPECT_EQ(ClientNetwork("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientNetwork("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientNetwork("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientNetwork("2001:db8:1:2::99"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientNetwork("::1"), "::/64");
  EXPECT_EQ(ClientNetwork("not an address"), "not an address");
}

// --- The gate with real connections on loopback ----------------------------------------------

/// A listening socket on 127.0.0.1 feeding a gate whose dispatched requests stay with the test
/// (as with a worker that takes its time) until it answers them.
class GateOnLoopback : public ::testing::Test {
 protected:
  void Start(ConnectionGate::Limits limits) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(listener_, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    gate_ = std::make_unique<ConnectionGate>(limits, [this](ConnectionGate::Ready ready) {
      std::lock_guard lock(mutex_);
      ready_.push_back(std::move(ready));
      changed_.notify_all();
    });
  }
  void TearDown() override {
    gate_.reset();
    ready_.clear();  // closes what the test still holds
    for (int fd : clients_) close(fd);
    if (listener_ >= 0) close(listener_);
  }

  /// Connects from 127.0.0.`host` and hands the server side to the gate; the client side.
  int Connect(int host = 1) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(0x7f000000U | static_cast<std::uint32_t>(host));
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    gate_->Accept(UniqueFd(accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)));
    clients_.push_back(fd);
    return fd;
  }

  /// Waits up to 3 s for the gate to have dispatched `count` requests in all.
  bool WaitDispatched(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(3), [&] { return ready_.size() >= count; });
  }
  /// The i-th request dispatched (a deque: it stays where it is while more arrive).
  ConnectionGate::Ready& Dispatched(std::size_t i) {
    std::lock_guard lock(mutex_);
    return ready_.at(i);
  }

  /// What `fd` receives within `limit`, and whether the peer closed it.
  static std::pair<std::string, bool> Receive(
      int fd, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {out, false};
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return {out, false};
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return {out, true};
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

  static void Send(int fd, std::string_view data) {
    ASSERT_EQ(send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
  }

  std::unique_ptr<ConnectionGate> gate_;
  int listener_ = -1;
  int port_ = 0;
  std::vector<int> clients_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ConnectionGate::Ready> ready_;
};

TEST_F(GateOnLoopback, AWorkerGetsExactlyOneRequestAndTheRestWaitsForItsReturn) {
  Start({});
  const int client = Connect();
  Send(client,
       "POST /-/reload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /metrics HTTP/1.1\r\n\r\nGET /");
  ASSERT_TRUE(WaitDispatched(1));
  EXPECT_EQ(Dispatched(0).request, "POST /-/reload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_FALSE(Dispatched(0).priority);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(ready_.size(), 1U) << "the next request waits until the connection is returned";
  }
  gate_->Return(std::move(Dispatched(0).fd), true);
  ASSERT_TRUE(WaitDispatched(2));
  EXPECT_EQ(Dispatched(1).request, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(Dispatched(1).served, 1);
  EXPECT_TRUE(Dispatched(1).priority);
  // The rest of the third request arrives after the return.
  gate_->Return(std::move(Dispatched(1).fd), true);
  Send(client, "v1/meta HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitDispatched(3));
  EXPECT_EQ(Dispatched(2).request, "GET /v1/meta HTTP/1.1\r\n\r\n");
  gate_->Return(std::move(Dispatched(2).fd), false);  // all one connection, returned now
}

TEST_F(GateOnLoopback, ARefusalIsReadBeforeTheCloseEvenWhileTheClientKeepsSending) {
  Start({});
  const int client = Connect();
  Send(client, "GET /metrics HTTP/1.1\nHost: x\n\n");
  const std::string junk(64 * 1024, 'j');
  for (int i = 0; i < 8; ++i) send(client, junk.data(), junk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  const auto [answer, closed] = Receive(client);
  EXPECT_EQ(StatusOf(answer), 400) << answer;
  EXPECT_NE(answer.find("bare LF"), std::string::npos);
  EXPECT_TRUE(closed);
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(ready_.empty()) << "nothing reached a worker";
}

TEST_F(GateOnLoopback, OneClientBeyondItsCapClosesItsOwnOldestWaitingConnection) {
  ConnectionGate::Limits limits;
  limits.max_per_client = 3;
  Start(limits);
  const int other = Connect(2);  // another client, older than all of these
  std::vector<int> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(Connect(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int newest = Connect(1);
  EXPECT_TRUE(Receive(mine[0], std::chrono::milliseconds(1000)).second) << "the oldest is closed";
  EXPECT_FALSE(Receive(mine[1], std::chrono::milliseconds(100)).second);
  EXPECT_FALSE(Receive(other, std::chrono::milliseconds(100)).second) << "not another client's";
  Send(newest, "GET /v1/meta HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitDispatched(1));
  EXPECT_EQ(Dispatched(0).request, "GET /v1/meta HTTP/1.1\r\n\r\n");
}

TEST_F(GateOnLoopback, BeyondTheCapsOnlyOperatorRequestsComeThroughTheReserve) {
  ConnectionGate::Limits limits;
  limits.max_per_client = 2;
  limits.max_connections = 3;
  limits.operator_reserve = 1;
  Start(limits);
  // Two busy connections from 127.0.0.1 (their requests are with "workers"), one from .2.
  for (int host : {1, 1, 2}) Send(Connect(host), "GET /v1/meta HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitDispatched(3));
  // Nothing is waiting, so nothing can be closed to make room: the reserve.
  const int scrape = Connect(1);
  Send(scrape, "GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitDispatched(4));
  EXPECT_EQ(Dispatched(3).request, "GET /metrics HTTP/1.1\r\n\r\n");
  // The reserve is in use by a busy scrape: 503 with Retry-After, at once.
  const auto [shed, shed_closed] = Receive(Connect(3));
  EXPECT_EQ(StatusOf(shed), 503) << shed;
  EXPECT_NE(shed.find("Retry-After: 1"), std::string::npos);
  EXPECT_TRUE(shed_closed);
  // Once the scrape is answered and closed, the reserve takes an operator request only.
  gate_->Return(std::move(Dispatched(3).fd), false);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int api = Connect(4);
  Send(api, "GET /v1/meta HTTP/1.1\r\n\r\n");
  const auto [refused, refused_closed] = Receive(api);
  EXPECT_EQ(StatusOf(refused), 503) << refused;
  EXPECT_TRUE(refused_closed);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(ready_.size(), 4U);
  ready_.erase(ready_.begin() + 3);  // returned
}

TEST_F(GateOnLoopback, AtTheGlobalCapTheOldestWaitingConnectionMakesRoom) {
  ConnectionGate::Limits limits;
  limits.max_connections = 4;
  Start(limits);
  std::vector<int> idle;
  for (int host = 1; host <= 4; ++host) {
    idle.push_back(Connect(host));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The oldest had begun a request: it learns why it ends.
  Send(idle[0], "GET /v1/meta HTTP/1.1\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int late = Connect(5);
  const auto [answer, closed] = Receive(idle[0], std::chrono::milliseconds(1000));
  EXPECT_EQ(StatusOf(answer), 408) << answer;
  EXPECT_TRUE(closed);
  EXPECT_FALSE(Receive(idle[1], std::chrono::milliseconds(100)).second);
  Send(late, "GET /-/healthy HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(WaitDispatched(1));
}

// A path with a body cap of its own takes bodies up to it; others keep max_body. Bodies over
// max_body being received at once are capped in number (each may hold its path's cap).
TEST_F(GateOnLoopback, LargeBodiesOnlyWhereAllowedAndOnlySoManyAtOnce) {
  ConnectionGate::Limits limits;
  int refused = 0;
  limits.body_limits.push_back({"/big", 1 << 20, [&refused] { ++refused; }});
  limits.max_large_bodies = 1;
  Start(limits);
  const std::string large(200 * 1024, 'x');
  const int first = Connect(1);
  Send(first, "POST /big?x=1 HTTP/1.1\r\nContent-Length: 300000\r\n\r\n" + large);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(Receive(first, std::chrono::milliseconds(100)).second) << "still receiving";
  // A second large body while the first is being received: 503.
  const int second = Connect(2);
  Send(second, "POST /big HTTP/1.1\r\nContent-Length: 300000\r\n\r\n" + large);
  const auto [busy, busy_closed] = Receive(second);
  EXPECT_EQ(StatusOf(busy), 503) << busy;
  EXPECT_TRUE(busy_closed);
  // The first completes and is dispatched whole; then a large body is welcome again.
  Send(first, std::string(300000 - large.size(), 'y'));
  ASSERT_TRUE(WaitDispatched(1));
  EXPECT_EQ(
      Dispatched(0).request.size(),
      std::string("POST /big?x=1 HTTP/1.1\r\nContent-Length: 300000\r\n\r\n").size() + 300000);
  const int third = Connect(3);
  Send(third, "POST /big HTTP/1.1\r\nContent-Length: 150000\r\n\r\n" + std::string(150000, 'z'));
  ASSERT_TRUE(WaitDispatched(2));
  // Over the path's cap, and over max_body elsewhere: 413 from the head, and only the path's
  // refusal is reported to it.
  const int over = Connect(4);
  Send(over, "POST /big HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n");
  EXPECT_EQ(StatusOf(Receive(over).first), 413);
  const int elsewhere = Connect(5);
  Send(elsewhere, "POST /v1/check HTTP/1.1\r\nContent-Length: 70000\r\n\r\n");
  EXPECT_EQ(StatusOf(Receive(elsewhere).first), 413);
  const int get = Connect(6);
  Send(get, "GET /big HTTP/1.1\r\nContent-Length: 70000\r\n\r\n");
  EXPECT_EQ(StatusOf(Receive(get).first), 400) << "a body only on POST";
  EXPECT_EQ(refused, 1);
}

// --- API keys and rate limits -----------------------------------------------------------------

class KeyedServer : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::filesystem::temp_directory_path() /
            ("mtasts-keys-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::ofstream(keys_) << "# keys\nsecret-key-1\n  secret-key-2  \n";
  }
  void TearDown() override { std::filesystem::remove(keys_); }
  std::filesystem::path keys_;
};

int Status(HttpServer& server, const std::string& key, const std::string& from = "192.0.2.1") {
  return StatusOf(server.ServeBytes(
      "GET /v1/check?domain=example.com HTTP/1.1\r\nx-api-key: " + key + "\r\n\r\n", from));
}

TEST_F(KeyedServer, OnlyWholeKeysAreAccepted) {
  config::ApiSettings api = Api();
  api.keys_file = keys_.string();
  HttpServer server(Handlers(), api);
  EXPECT_EQ(Status(server, "secret-key-1"), 200);
  EXPECT_EQ(Status(server, "secret-key-2"), 200);
  EXPECT_EQ(Status(server, "secret-key-", "192.0.2.2"), 401) << "a prefix";
  EXPECT_EQ(Status(server, "secret-key-10", "192.0.2.2"), 401) << "an extension";
  EXPECT_EQ(Status(server, "SECRET-KEY-1", "192.0.2.2"), 401);
  EXPECT_EQ(
      StatusOf(server.ServeBytes("GET /v1/check?domain=example.com HTTP/1.1\r\n\r\n", "192.0.2.2")),
      401)
      << "no key";
}

TEST_F(KeyedServer, WrongKeysAreLimitedPerAddressBeforeAnyKeyIsLookedAt) {
  config::ApiSettings api = Api();
  api.keys_file = keys_.string();
  HttpServer server(Handlers(), api);
  std::vector<int> statuses;
  for (int i = 0; i < 30; ++i) statuses.push_back(Status(server, "guess-" + std::to_string(i)));
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 401), 10);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 429), 20);
  const std::string limited = server.ServeBytes(
      "GET /v1/check?domain=example.com HTTP/1.1\r\nx-api-key: secret-key-1\r\n\r\n", "192.0.2.1");
  EXPECT_EQ(StatusOf(limited), 429) << "the right key from that address too: no oracle";
  EXPECT_NE(limited.find("Retry-After: "), std::string::npos);
  EXPECT_EQ(Status(server, "secret-key-1", "192.0.2.99"), 200) << "other addresses are not held";
  // A whole IPv6 /64 is one client.
  for (int i = 0; i < 10; ++i) Status(server, "guess", "2001:db8::" + std::to_string(i + 1));
  EXPECT_EQ(Status(server, "secret-key-1", "2001:db8::ffff"), 429);
  EXPECT_EQ(Status(server, "secret-key-1", "2001:db8:0:1::1"), 200);
}

TEST(HttpListener, AReloadKeepsTheRateLimitBuckets) {
  config::ApiSettings api;
  api.rate_limit_per_minute = 1;
  api.rate_limit_burst = 2;
  HttpServer server(Handlers(), api);
  const auto status = [&] {
    return StatusOf(server.ServeBytes("GET /v1/policy?domain=example.com HTTP/1.1\r\n\r\n"));
  };
  EXPECT_EQ(status(), 200);
  EXPECT_EQ(status(), 200);
  EXPECT_EQ(status(), 429);
  ASSERT_TRUE(server.Configure(api).has_value());
  EXPECT_EQ(status(), 429) << "a reload does not refill an emptied bucket";
  api.rate_limit_burst = 50;
  ASSERT_TRUE(server.Configure(api).has_value());
  EXPECT_EQ(status(), 429) << "nor does a larger burst";
  api.rate_limit_per_minute = 6e7;  // a million a second: the bucket refills at once
  ASSERT_TRUE(server.Configure(api).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(status(), 200) << "the new rate applies to the kept bucket";
}

}  // namespace
}  // namespace mtasts::agent
