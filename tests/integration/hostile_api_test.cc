// Hostile API clients against the real daemon in the test world: slowloris connections, oversized
// request heads and query strings, floods of concurrent requests, invalid UTF-8 and homoglyph
// domains. Throughout, a prober fetches /metrics and /-/healthy on fresh connections (from the
// same address as the attackers) and every answer must come within a second. The bound is
// functional (a scrape must not time out), not a benchmark.
#include <arpa/inet.h>
#include <poll.h>

#include <atomic>
#include <mutex>

#include "base/domain_name.h"
#include "tests/integration/daemon_support.h"

namespace mtasts::world {
namespace {

using Clock = std::chrono::steady_clock;

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads until the peer closes or `limit` passes; what arrived.
std::string ReadAll(int fd, std::chrono::milliseconds limit) {
  std::string out;
  const auto until = Clock::now() + limit;
  char buf[4096];
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// The status code of a raw response, or 0.
int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

/// One request on a fresh connection with `Connection: close`; the raw response.
std::string Request(int port, const std::string& target, const std::string& headers = "",
                    std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  SendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
                  "Connection: close\r\n\r\n");
  std::string out = ReadAll(fd, limit);
  close(fd);
  return out;
}

/// Fetches /metrics and /-/healthy in turn every 100 ms on fresh connections and keeps the
/// worst latency and every failure.
class Prober {
 public:
  explicit Prober(int port) : port_(port) {
    thread_ = std::thread([this] {
      int i = 0;
      while (!stop_) {
        const std::string path = (i++ % 2 == 0) ? "/metrics" : "/-/healthy";
        const auto start = Clock::now();
        const std::string response = Request(port_, path, "", std::chrono::seconds(3));
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        {
          std::lock_guard lock(mutex_);
          ++probes_;
          worst_ = std::max(worst_, took);
          const bool ok = StatusOf(response) == 200 &&
                          (path == "/metrics" ? response.find("mta_sts_") != std::string::npos
                                              : response.find("Healthy.") != std::string::npos);
          if (!ok || took >= std::chrono::seconds(1)) {
            failures_.push_back(path + " took " + std::to_string(took.count()) + " ms, got \"" +
                                response.substr(0, 60) + "\"");
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~Prober() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  /// Asserts every probe so far answered 200 within a second; resets the record. A phase
  /// shorter than one probe waits for the probe in flight (at most 5 s).
  void ExpectAllFast(const std::string& phase) {
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < until) {
      {
        std::lock_guard lock(mutex_);
        if (probes_ > 0) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mutex_);
    EXPECT_GT(probes_, 0) << phase;
    EXPECT_TRUE(failures_.empty()) << phase << ": " << failures_.size() << " of " << probes_
                                   << " probes failed or were slow; first: " << failures_.front();
    std::printf("%s: %d probes, slowest %lld ms\n", phase.c_str(), probes_,
                static_cast<long long>(worst_.count()));
    probes_ = 0;
    worst_ = {};
    failures_.clear();
  }

 private:
  int port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  int probes_ = 0;
  std::chrono::milliseconds worst_{0};
  std::vector<std::string> failures_;
};

class HostileApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mtasts-hostile-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    // A generous rate limit, so that the domain validation itself is what answers.
    WriteFile(dir_ / "config.yaml",
              ConfigText(dir_, {"enforce.test", "testing.test"},
                         "api:\n  rate_limit_per_minute: 1000000\n  rate_limit_burst: 100000\n"));
    port_ = FreePort();
    daemon_ = std::make_unique<Daemon>(dir_, port_);
    daemon_->Start();
    ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
    }
    fs::remove_all(dir_);
  }

  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(HostileApiTest, SlowlorisConnectionsNeitherStallProbesNorLiveOn) {
  Prober prober(port_);
  // 400 connections, each sending its request head one byte at a time, never finishing.
  const std::string drip = "GET /v1/check?domain=enforce.test HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::vector<int> fds;
  for (int i = 0; i < 400; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  // Drip for 6 s: a byte per connection every 200 ms.
  const auto start = Clock::now();
  std::size_t sent = 0;
  while (Clock::now() - start < std::chrono::seconds(6)) {
    for (int fd : fds) send(fd, &drip[sent % drip.size()], 1, MSG_NOSIGNAL);
    ++sent;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  prober.ExpectAllFast("slowloris (400 connections, 6 s)");
  // The listener cuts each of them once its request is 10 s old: 408, then the close.
  int timed_out = 0;
  for (int fd : fds) {
    const std::string rest = ReadAll(fd, std::chrono::seconds(8));
    if (StatusOf(rest) == 408) ++timed_out;
    close(fd);
  }
  EXPECT_EQ(timed_out, 400) << "every slowloris connection gets 408 and is closed";
  prober.ExpectAllFast("slowloris cut off");
}

TEST_F(HostileApiTest, IdleConnectionsBeyondTheCapEvictTheOldest) {
  Prober prober(port_);
  // 700 connections that send nothing: more than the 512 the listener keeps waiting.
  std::vector<int> fds;
  for (int i = 0; i < 700; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  prober.ExpectAllFast("700 idle connections");
  int closed = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    char c = 0;
    if (poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;
    close(fd);
  }
  EXPECT_GE(closed, 700 - 512) << "the oldest idle connections are closed to make room";
}

TEST_F(HostileApiTest, OversizedHeadsAndQueryStringsAreRefusedFast) {
  Prober prober(port_);
  // A query string over httplib's 8192-byte URI limit: 414.
  const std::string long_query = "/v1/check?domain=" + std::string(9000, 'a') + ".test";
  EXPECT_EQ(StatusOf(Request(port_, long_query)), 414);
  // A single header line of 12 KiB (httplib: 8 KiB per line): 400, the head refused.
  const int one =
      StatusOf(Request(port_, "/-/healthy", "X-Big: " + std::string(12000, 'b') + "\r\n"));
  EXPECT_TRUE(one == 400 || one == 431) << one;
  // Headers adding up to more than 16 KiB: 431 from the listener, without reading further.
  std::string many;
  for (int i = 0; i < 40; ++i)
    many += "X-H" + std::to_string(i) + ": " + std::string(1000, 'c') + "\r\n";
  EXPECT_EQ(StatusOf(Request(port_, "/-/healthy", many)), 431);
  // An endless head (1 MiB of headers sent as fast as possible) is cut at 16 KiB.
  {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    std::string endless = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n";
    while (endless.size() < 1024 * 1024) endless += "X-More: " + std::string(100, 'd') + "\r\n";
    SendAll(fd, endless);  // fails part-way once the listener closes; that is the point
    EXPECT_EQ(StatusOf(ReadAll(fd, std::chrono::seconds(5))), 431);
    close(fd);
  }
  // 200 clients at once, each with 15 KiB of headers: every one answered.
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 200; ++i) {
    clients.emplace_back([&] {
      std::string headers;
      for (int h = 0; h < 15; ++h)
        headers += "X-F" + std::to_string(h) + ": " + std::string(1000, 'e') + "\r\n";
      if (StatusOf(Request(port_, "/v1/meta", headers)) == 200) ++answered;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 200);
  prober.ExpectAllFast("oversized heads");
}

TEST_F(HostileApiTest, ThousandsOfConcurrentRequests) {
  Prober prober(port_);
  // 2000 requests on 1000 connections held open at once (two keep-alive requests each), mixing
  // invalid domains, the landing page and the metadata.
  const std::vector<std::string> targets = {"/v1/check?domain=-bad-.test", "/v1/meta", "/",
                                            "/v1/policy?domain=127.0.0.1", "/v1/nothing"};
  // (Each sends at once, as clients do; connections that send nothing are the idle test's.)
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
    const std::string& t = targets[static_cast<std::size_t>(i) % targets.size()];
    SendAll(fd, "GET " + t + " HTTP/1.1\r\nHost: x\r\n\r\nGET " + t +
                    " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }
  // Both requests are answered, except after a 400: a refused request ends its connection.
  int answers = 0;
  int wrong = 0;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    const std::string out = ReadAll(fds[i], std::chrono::seconds(20));
    int n = 0;
    for (std::size_t at = out.find("HTTP/1.1 "); at != std::string::npos;
         at = out.find("HTTP/1.1 ", at + 1)) {
      ++n;
    }
    const bool bad_request = targets[i % targets.size()].find("domain=") != std::string::npos;
    if (n != (bad_request ? 1 : 2)) ++wrong;
    answers += n;
    close(fds[i]);
  }
  EXPECT_EQ(wrong, 0) << "connections without every answer due";
  EXPECT_EQ(answers, 1600);
  prober.ExpectAllFast("2000 concurrent requests");
}

TEST_F(HostileApiTest, InvalidUtf8AndHomoglyphDomains) {
  Prober prober(port_);
  // Invalid UTF-8, overlong forms, lone surrogates, controls, NULs: 400 naming the problem.
  for (const char* bad :
       {"%FF%FE.test", "%C0%AE.test", "%ED%A0%80.test", "a%00b.test", "%E2%80%AE.test",
        "enforce.test%0d%0aX-Injected:%201", "%C3.test", "xn--.test", "xn--zz-.test"}) {
    SCOPED_TRACE(bad);
    const std::string response = Request(port_, std::string("/v1/check?domain=") + bad);
    EXPECT_EQ(StatusOf(response), 400) << response;
    EXPECT_EQ(response.find("\r\nX-Injected"), std::string::npos) << "no header injection";
  }
  // Homoglyphs are other domains: checked under their own A-label, never as the ASCII look-alike.
  for (const std::string homoglyph :
       {"ex\xD0\xB0mple.test", "\xD0\xB5nforce.test", "enf\xCE\xBFrce.test"}) {
    SCOPED_TRACE(homoglyph);
    const auto expected = NormalizeDomain(homoglyph);
    ASSERT_TRUE(expected.has_value());
    ASSERT_EQ(expected.value().rfind("xn--", 0), 0U) << expected.value();
    const std::string response = Request(port_, "/v1/check?domain=" + PercentEncode(homoglyph), "",
                                         std::chrono::seconds(15));
    ASSERT_EQ(StatusOf(response), 200) << response;
    const auto body = json::parse(response.substr(response.find("\r\n\r\n") + 4), nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << response;
    EXPECT_EQ(body["data"]["domain"], expected.value());
    EXPECT_NE(body["data"]["domain"], "enforce.test");
    EXPECT_EQ(body["data"]["enforced"], false) << "a look-alike never inherits enforce.test";
  }
  prober.ExpectAllFast("invalid UTF-8 and homoglyphs");
}

}  // namespace
}  // namespace mtasts::world
