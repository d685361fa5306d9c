// GET /probe (README "Probing domains listed in Prometheus") served from memory
// (HttpServer::ServeBytes): its 400s, the admission it shares with /v1/check (keys, the live-check
// cap) and its exposition.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "agent/http/server.h"

namespace mtasts::agent {
namespace {

struct Probed {
  std::string domain;
  bool probe_mx = false;
};

class ProbeEndpointTest : public ::testing::Test {
 protected:
  HttpHandlers Handlers() {
    HttpHandlers h;
    h.metrics = [] { return std::make_shared<const MetricsPage>(GzipCompress("x 1\n")); };
    auto report = [](const std::string& domain) {
      DomainReport r;
      r.domain = domain;
      r.check_complete = true;
      return r;
    };
    h.check = report;
    h.policy = report;
    h.probe = [this, report](const std::string& domain, bool probe_mx) {
      const std::lock_guard lock(mutex_);
      probed_.push_back({domain, probe_mx});
      return report(domain);
    };
    h.ready = [] { return true; };
    return h;
  }
  static config::ApiSettings Api() {
    config::ApiSettings api;
    api.rate_limit_per_minute = 1e6;
    api.rate_limit_burst = 1000;
    return api;
  }
  static std::string Get(HttpServer& server, const std::string& target,
                         const std::string& headers = "") {
    return server.ServeBytes("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  }
  static int StatusOf(const std::string& response) {
    if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
    return std::stoi(response.substr(9, 3));
  }
  static std::string Body(const std::string& response) {
    const auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
  }
  static std::string Header(const std::string& response, const std::string& name) {
    const auto at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const auto from = at + name.size() + 4;
    return response.substr(from, response.find("\r\n", from) - from);
  }

  std::mutex mutex_;
  std::vector<Probed> probed_;
};

TEST_F(ProbeEndpointTest, ABadOrMissingTargetIs400WithOneLineOfText) {
  HttpServer server(Handlers(), Api());
  for (const std::string target :
       {"/probe", "/probe?domain=example.com",
        "/probe?target=", "/probe?target=a.test&target=b.test", "/probe?target=exa%20mple.com",
        "/probe?target=a..test", "/probe?target=%FF.test", "/probe?target=a.test&probe_mx=yes",
        "/probe?target=a.test&probe_mx=true&probe_mx=false"}) {
    SCOPED_TRACE(target);
    const std::string response = Get(server, target);
    EXPECT_EQ(StatusOf(response), 400) << response;
    EXPECT_EQ(Header(response, "Content-Type"), "text/plain; charset=utf-8");
    const std::string body = Body(response);
    ASSERT_FALSE(body.empty());
    EXPECT_EQ(body.find('\n'), body.size() - 1) << "one line: " << body;
  }
  EXPECT_TRUE(probed_.empty()) << "nothing is checked for a bad request";
}

TEST_F(ProbeEndpointTest, AGoodTargetIsCheckedAndAnsweredAsExposition) {
  HttpServer server(Handlers(), Api());
  std::string response = Get(server, "/probe?target=B%C3%BCcher.TEST");
  ASSERT_EQ(StatusOf(response), 200) << response;
  EXPECT_EQ(Header(response, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string body = Body(response);
  EXPECT_NE(body.find("mta_sts_check_success{domain=\"xn--bcher-kva.test\"} 1\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("\nmta_sts_probe_success 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("\nmta_sts_probe_duration_seconds "), std::string::npos) << body;
  response = Get(server, "/probe?target=a.test&probe_mx=true&module=ignored");
  ASSERT_EQ(StatusOf(response), 200) << response;
  response = Get(server, "/probe?target=b.test&probe_mx=false");
  ASSERT_EQ(StatusOf(response), 200) << response;
  ASSERT_EQ(probed_.size(), 3U);
  EXPECT_EQ(probed_[0].domain, "xn--bcher-kva.test");
  EXPECT_FALSE(probed_[0].probe_mx);
  EXPECT_EQ(probed_[1].domain, "a.test");
  EXPECT_TRUE(probed_[1].probe_mx);
  EXPECT_FALSE(probed_[2].probe_mx);
}

TEST_F(ProbeEndpointTest, KeysAndRateLimitsAsForV1Check) {
  namespace fs = std::filesystem;
  const fs::path keys =
      fs::temp_directory_path() / ("mtasts-probe-keys-" + std::to_string(getpid()));
  std::ofstream(keys) << "k1\n";
  config::ApiSettings api = Api();
  api.keys_file = keys.string();
  api.rate_limit_per_minute = 1;
  api.rate_limit_burst = 1;
  HttpServer server(Handlers(), api);
  fs::remove(keys);
  EXPECT_EQ(StatusOf(Get(server, "/probe?target=a.test")), 401);
  EXPECT_EQ(StatusOf(Get(server, "/probe?target=a.test", "x-api-key: k2\r\n")), 401);
  EXPECT_EQ(StatusOf(Get(server, "/probe?target=a.test", "x-api-key: k1\r\n")), 200);
  // The key's bucket is shared with /v1/check: one token, spent.
  const std::string limited = Get(server, "/v1/check?domain=a.test", "x-api-key: k1\r\n");
  EXPECT_EQ(StatusOf(limited), 429) << limited;
  EXPECT_EQ(StatusOf(Get(server, "/probe?target=a.test", "x-api-key: k1\r\n")), 429);
  EXPECT_EQ(probed_.size(), 1U);
}

// One live check in flight fills a cap of one: /probe then answers as /v1/check does.
TEST_F(ProbeEndpointTest, OverTheLiveCheckCapTheSameAnswerAsV1Check) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  HttpHandlers h = Handlers();
  std::atomic<bool> first{true};
  h.probe = [&](const std::string& domain, bool) {
    if (first.exchange(false)) {
      entered.set_value();
      released.wait();
    }
    DomainReport r;
    r.domain = domain;
    return r;
  };
  config::ApiSettings api = Api();
  api.max_concurrent_requests = 1;
  HttpServer server(h, api);
  std::string busy;
  std::thread holder([&] { busy = Get(server, "/probe?target=slow.test"); });
  ASSERT_EQ(entered.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const std::string probe = Get(server, "/probe?target=a.test");
  const std::string check = Get(server, "/v1/check?domain=a.test");
  release.set_value();
  holder.join();
  EXPECT_EQ(StatusOf(busy), 200) << busy;
  EXPECT_EQ(StatusOf(probe), 503) << probe;
  EXPECT_EQ(Header(probe, "Retry-After"), "1");
  EXPECT_EQ(StatusOf(check), 503) << check;
  EXPECT_EQ(Header(check, "Retry-After"), "1");
  EXPECT_EQ(Header(probe, "Content-Type"), Header(check, "Content-Type"));
  const auto message = [](const std::string& response) {
    const auto body = nlohmann::json::parse(Body(response), nullptr, false);
    return body.is_object() ? body.value("message", "") : "";
  };
  EXPECT_EQ(message(probe), "too many live checks in flight; retry shortly");
  EXPECT_EQ(message(probe), message(check));
  // The slot is given back: the next probe runs.
  EXPECT_EQ(StatusOf(Get(server, "/probe?target=a.test")), 200);
}

TEST_F(ProbeEndpointTest, NotServedWithoutAProbeCheck) {
  HttpHandlers h = Handlers();
  h.probe = nullptr;
  HttpServer server(h, Api());
  EXPECT_EQ(StatusOf(Get(server, "/probe?target=a.test")), 404);
}

}  // namespace
}  // namespace mtasts::agent
