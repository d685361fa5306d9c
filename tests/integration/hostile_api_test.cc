// Hostile API clients against the real daemon in the test world: slowloris connections, oversized
// request heads and query strings, floods of concurrent requests, invalid UTF-8 and homoglyph
// domains; request bodies without a length or chunked, heads with bare LF line ends, smuggled
// requests, thousands of connections under the usual 1024-descriptor limit, one address holding
// many connections, wrong API keys, and a reload in the middle of a rate limit. Throughout, a
// prober fetches /metrics and /-/healthy on fresh connections from 127.0.0.1 and every answer
// must come within a second. The bound is functional (a scrape must not time out), not a
// benchmark. Attackers that stand for many clients connect from addresses of their own in
// 127.0.0.0/8 (the listener caps connections per client address).
#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>

#include <atomic>
#include <mutex>

#include "base/domain_name.h"
#include "tests/integration/daemon_support.h"

namespace mtasts::world {
namespace {

using Clock = std::chrono::steady_clock;

/// The address attacker `i` connects from: 127.1.x.y, never the prober's 127.0.0.1.
std::uint32_t Attacker(int i) {
  return 0x7f010000U | (static_cast<std::uint32_t>(i / 250) << 8) |
         static_cast<std::uint32_t>(i % 250 + 1);
}

/// A connection to the daemon from `source` (an IPv4 address in host order on loopback).
int Connect(int port, std::uint32_t source = INADDR_LOOPBACK) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(source);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((source != INADDR_LOOPBACK &&
       bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
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
                    std::chrono::milliseconds limit = std::chrono::seconds(10),
                    std::uint32_t source = INADDR_LOOPBACK) {
  const int fd = Connect(port, source);
  if (fd < 0) return "";
  SendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
                  "Connection: close\r\n\r\n");
  std::string out = ReadAll(fd, limit);
  close(fd);
  return out;
}

/// How many responses a raw byte stream holds (no body here holds a status line).
int Responses(const std::string& out) {
  int n = 0;
  for (std::size_t at = out.find("HTTP/1.1 "); at != std::string::npos;
       at = out.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

/// A field of /proc/PID/status in KiB (VmRSS, VmHWM), or -1.
long StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

/// What came of offering a body: bytes sent before the server closed (or `total`), what it
/// answered, and whether it closed.
struct Flooded {
  std::size_t sent = 0;
  std::string answer;
  bool closed = false;
};

/// Sends `head`, then `total` bytes of filler as fast as the server takes them, reading what it
/// answers meanwhile, until it closes the connection (FIN or reset) or everything is sent.
Flooded Flood(int fd, const std::string& head, std::size_t total) {
  Flooded result;
  if (!SendAll(fd, head)) {
    result.closed = true;
    return result;
  }
  const std::string filler(1 << 20, 'f');
  char buf[4096];
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  while (result.sent < total && Clock::now() < give_up) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        result.answer.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        result.closed = true;
        break;
      }
    }
    if ((p.revents & POLLOUT) != 0) {
      const std::size_t chunk = std::min(filler.size(), total - result.sent);
      const ssize_t n = send(fd, filler.data(), chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        result.closed = true;
        break;
      }
      if (n > 0) result.sent += static_cast<std::size_t>(n);
    }
  }
  // Whatever answer is still in flight.
  if (result.closed) result.answer += ReadAll(fd, std::chrono::milliseconds(200));
  return result;
}

constexpr std::size_t kMiB = 1024 * 1024;

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
  /// The config's api: section. By default a generous rate limit, so that the domain
  /// validation itself is what answers.
  virtual std::string ApiSection() const {
    return "api:\n  rate_limit_per_minute: 1000000\n  rate_limit_burst: 100000\n";
  }
  /// The daemon's soft RLIMIT_NOFILE, or 0 to inherit the test's.
  virtual rlim_t DescriptorLimit() const { return 0; }

  void SetUp() override {
    dir_ = FreshTestDir("mtasts-hostile");
    WriteFile(dir_ / "keys", "secret-one\nsecret-two\n");
    WriteFile(dir_ / "config.yaml",
              ConfigText(dir_, {"enforce.test", "testing.test"}, ApiSection()));
    port_ = FreePort();
    daemon_ = std::make_unique<Daemon>(dir_, port_);
    rlimit saved{};
    getrlimit(RLIMIT_NOFILE, &saved);
    if (DescriptorLimit() != 0) {
      // The daemon inherits the soft limit; the test itself needs more, so it is put back.
      rlimit lowered = saved;
      lowered.rlim_cur = DescriptorLimit();
      ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
    }
    daemon_->Start({"--web.enable-lifecycle"});  // the smuggling and reload tests POST /-/reload
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
    ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->Log();
    }
    fs::remove_all(dir_);
  }

  /// Asserts that neither the daemon's resident memory nor its peak grew by 64 MiB or more since
  /// `rss` and `peak` (KiB) were read. (The test build runs under ASan, whose baseline is far
  /// above a release build's, so growth is what is bounded, not the size.)
  void ExpectMemoryBounded(long rss, long peak, const std::string& what) const {
    const long rss_now = StatusKiB(daemon_->pid(), "VmRSS");
    const long peak_now = StatusKiB(daemon_->pid(), "VmHWM");
    std::printf("%s: VmRSS %ld -> %ld KiB, VmHWM %ld -> %ld KiB\n", what.c_str(), rss, rss_now,
                peak, peak_now);
    EXPECT_LT(rss_now - rss, 64L * 1024) << what;
    EXPECT_LT(peak_now - peak, 64L * 1024) << what;
  }

  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(HostileApiTest, SlowlorisConnectionsNeitherStallProbesNorLiveOn) {
  Prober prober(port_);
  // 400 connections, each sending its request head one byte at a time, never finishing.
  const std::string drip = "GET /v1/check?domain=enforce.test HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  // (From 8 addresses, 50 each: within the per-client cap.)
  std::vector<int> fds;
  for (int i = 0; i < 400; ++i) {
    const int fd = Connect(port_, Attacker(i % 8));
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
  // 1100 connections that send nothing, from 22 addresses: more than the 1024 the listener holds
  // in all (its descriptor limit here is far above 4096).
  std::vector<int> fds;
  for (int i = 0; i < 1100; ++i) {
    const int fd = Connect(port_, Attacker(i % 22));
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  prober.ExpectAllFast("1100 idle connections");
  int closed = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    char c = 0;
    if (poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0) ++closed;
    close(fd);
  }
  EXPECT_GE(closed, 1100 - 1024) << "the oldest idle connections are closed to make room";
}

TEST_F(HostileApiTest, OneAddressHoldsAtMost64Connections) {
  // From the prober's own address: the prober's connections make room for themselves by
  // closing this address's oldest idle ones.
  Prober prober(port_);
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  prober.ExpectAllFast("300 idle connections from one address");
  int open = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    char c = 0;
    if (!(poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0)) ++open;
  }
  EXPECT_LE(open, 64) << "connections of one address still open";
  EXPECT_GE(open, 60) << "the newest are kept";
  for (int fd : fds) close(fd);
  prober.ExpectAllFast("after");
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
  // 200 clients at once (from 8 addresses), each with 15 KiB of headers: every one answered.
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 200; ++i) {
    clients.emplace_back([&, i] {
      std::string headers;
      for (int h = 0; h < 15; ++h)
        headers += "X-F" + std::to_string(h) + ": " + std::string(1000, 'e') + "\r\n";
      if (StatusOf(Request(port_, "/v1/meta", headers, std::chrono::seconds(10),
                           Attacker(i % 8))) == 200) {
        ++answered;
      }
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
  // (Each sends at once, as clients do; connections that send nothing are the idle test's. They
  // come from 20 addresses, 50 each.)
  std::vector<int> fds;
  for (int i = 0; i < 1000; ++i) {
    const int fd = Connect(port_, Attacker(i % 20));
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
    const int n = Responses(out);
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

// A body without a length once went to a worker that read it to the end of the connection: 800 MB
// offered took the daemon from 15 MB to 830 MB. Without Content-Length a request has no body
// (RFC 9112 §6.3): the POST is answered, and what follows is taken for the next request head,
// which is cut at 16 KiB.
TEST_F(HostileApiTest, ABodyWithoutALengthIsNotBuffered) {
  Prober prober(port_);
  const long rss = StatusKiB(daemon_->pid(), "VmRSS");
  const long peak = StatusKiB(daemon_->pid(), "VmHWM");
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const Flooded flood = Flood(fd, "POST /anything HTTP/1.1\r\nHost: x\r\n\r\n", 800 * kMiB);
  close(fd);
  EXPECT_TRUE(flood.closed) << "the listener closes the connection";
  EXPECT_LT(flood.sent, 64 * kMiB);
  EXPECT_EQ(StatusOf(flood.answer), 404) << flood.answer.substr(0, 200);
  std::printf("no length: %zu bytes sent before the close\n", flood.sent);
  ExpectMemoryBounded(rss, peak, "POST without a length, 800 MB offered");
  prober.ExpectAllFast("POST without a length");
}

TEST_F(HostileApiTest, AChunkedBodyIsRefused) {
  Prober prober(port_);
  const long rss = StatusKiB(daemon_->pid(), "VmRSS");
  const long peak = StatusKiB(daemon_->pid(), "VmHWM");
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  // One chunk of 1 GiB announced, 800 MB offered.
  const Flooded flood = Flood(
      fd, "POST /anything HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40000000\r\n",
      800 * kMiB);
  close(fd);
  EXPECT_TRUE(flood.closed);
  EXPECT_LT(flood.sent, 64 * kMiB);
  EXPECT_EQ(StatusOf(flood.answer), 411) << flood.answer.substr(0, 200);
  EXPECT_EQ(Responses(flood.answer), 1);
  ExpectMemoryBounded(rss, peak, "chunked body, 800 MB offered");
  prober.ExpectAllFast("chunked body");
}

// A head whose header lines end in a bare LF once passed the gate (which took "\n\n" for the
// end of the head); httplib skips such lines as invalid and went on reading the socket itself
// (for up to 10 s, with no limit on the lines it skips): four of them held the four operator
// workers, and one followed by 300 MB held them all in memory.
TEST_F(HostileApiTest, BareLfHeadsAreRefusedAtOnce) {
  Prober prober(port_);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) {
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\n\n"));
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = Clock::now();
  const std::string scrape = Request(port_, "/metrics", "", std::chrono::seconds(15));
  const auto took = Clock::now() - start;
  EXPECT_EQ(StatusOf(scrape), 200);
  EXPECT_LT(took, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  for (int fd : fds) {
    const std::string answer = ReadAll(fd, std::chrono::seconds(2));
    EXPECT_EQ(StatusOf(answer), 400) << answer;
    EXPECT_EQ(Responses(answer), 1);
    close(fd);
  }
  // One more, followed by 300 MB.
  const long rss = StatusKiB(daemon_->pid(), "VmRSS");
  const long peak = StatusKiB(daemon_->pid(), "VmHWM");
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  const Flooded flood = Flood(fd, "GET /-/healthy HTTP/1.1\r\nHost: x\n\n", 300 * kMiB);
  close(fd);
  EXPECT_TRUE(flood.closed);
  EXPECT_LT(flood.sent, 64 * kMiB);
  EXPECT_EQ(StatusOf(flood.answer), 400) << flood.answer.substr(0, 200);
  ExpectMemoryBounded(rss, peak, "bare LF head, 300 MB after it");
  prober.ExpectAllFast("bare LF heads");
}

// The gate waited for a GET's body (and took the largest of several lengths); httplib ignores a
// GET's body (and takes the first length) and read the body as a second request.
TEST_F(HostileApiTest, ABodyCannotSmuggleASecondRequest) {
  Prober prober(port_);
  const std::string smuggled = "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  const std::string length = "Content-Length: " + std::to_string(smuggled.size()) + "\r\n";
  for (const std::string& head :
       {"GET /-/healthy HTTP/1.1\r\nHost: x\r\n" + length + "\r\n",
        "POST /-/healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + length + "\r\n",
        "POST /-/healthy HTTP/1.1\r\nHost: x\r\n" + length + "Content-Length: 0\r\n\r\n"}) {
    SCOPED_TRACE(head);
    const int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, head + smuggled));
    const std::string answer = ReadAll(fd, std::chrono::seconds(3));
    close(fd);
    EXPECT_EQ(Responses(answer), 1) << answer;
    EXPECT_EQ(StatusOf(answer), 400) << answer;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(daemon_->Log().find("config reloaded"), std::string::npos) << "a smuggled reload ran";
  // A reload sent as what it is still works.
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(StatusOf(ReadAll(fd, std::chrono::seconds(5))), 200);
  close(fd);
  prober.ExpectAllFast("smuggling");
}

/// The daemon with the usual soft limit of 1024 descriptors: its listener holds at most 256
/// connections, a quarter of it.
class HostileApiFewDescriptorsTest : public HostileApiTest {
 protected:
  rlim_t DescriptorLimit() const override { return 1024; }
};

// 1,100 connections with bare-LF heads once held every descriptor of a daemon limited to 1024:
// /metrics timed out and no lookup or fetch could open a socket.
TEST_F(HostileApiFewDescriptorsTest, ThousandsOfBareLfConnectionsLeaveDescriptorsForChecks) {
  Prober prober(port_);
  std::vector<int> fds;
  for (int i = 0; i < 1100; ++i) {
    const int fd = Connect(port_, Attacker(i % 22));
    ASSERT_GE(fd, 0) << "connection " << i;
    SendAll(fd, "GET /v1/meta HTTP/1.1\r\nHost: x\n\n");
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto start = Clock::now();
  EXPECT_EQ(StatusOf(Request(port_, "/metrics", "", std::chrono::seconds(15))), 200);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
  // A live check opens DNS and HTTPS sockets.
  const std::string live =
      Request(port_, "/v1/check?domain=enforce.test", "", std::chrono::seconds(15));
  ASSERT_EQ(StatusOf(live), 200) << live.substr(0, 300);
  const auto body = json::parse(live.substr(live.find("\r\n\r\n") + 4), nullptr, false);
  ASSERT_FALSE(body.is_discarded());
  EXPECT_EQ(body["data"]["enforced"], true) << body.dump();
  int refused = 0;
  for (int fd : fds) {
    if (StatusOf(ReadAll(fd, std::chrono::milliseconds(20))) == 400) ++refused;
    close(fd);
  }
  EXPECT_EQ(refused, 1100);
  prober.ExpectAllFast("1100 bare-LF connections, 1024 descriptors");
}

TEST_F(HostileApiFewDescriptorsTest, IdleConnectionsAreCappedAtAQuarterOfTheDescriptors) {
  Prober prober(port_);
  std::vector<int> fds;
  for (int i = 0; i < 1100; ++i) {
    const int fd = Connect(port_, Attacker(i % 22));
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  prober.ExpectAllFast("1100 idle connections, 1024 descriptors");
  const std::string live =
      Request(port_, "/v1/check?domain=enforce.test", "", std::chrono::seconds(15));
  EXPECT_EQ(StatusOf(live), 200) << live.substr(0, 300);
  int open = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    char c = 0;
    if (!(poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0)) ++open;
    close(fd);
  }
  EXPECT_LE(open, 256 + 16) << "connections the listener still holds";
  prober.ExpectAllFast("after");
}

/// API keys and a tight limit: one request a minute per key, a burst of 3.
class HostileApiKeysTest : public HostileApiTest {
 protected:
  std::string ApiSection() const override {
    return "api:\n  keys_file: " + (dir_ / "keys").string() +
           "\n  rate_limit_per_minute: 1\n  rate_limit_burst: 3\n";
  }
};

std::string KeyedCheck(int port, const std::string& key, std::uint32_t source) {
  return Request(port, "/v1/check?domain=-bad-.test", "x-api-key: " + key + "\r\n",
                 std::chrono::seconds(5), source);
}

// Wrong keys were checked before any limit, so they could be tried without end.
TEST_F(HostileApiKeysTest, WrongKeysAreRateLimitedPerAddress) {
  Prober prober(port_);
  int unauthorized = 0;
  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    const std::string answer = KeyedCheck(port_, "guess-" + std::to_string(i), Attacker(0));
    unauthorized += StatusOf(answer) == 401 ? 1 : 0;
    if (StatusOf(answer) == 429) {
      ++limited;
      EXPECT_NE(answer.find("Retry-After: "), std::string::npos);
    }
  }
  EXPECT_EQ(unauthorized, 10);
  EXPECT_EQ(limited, 20);
  EXPECT_EQ(StatusOf(KeyedCheck(port_, "secret-one", Attacker(0))), 429)
      << "that address is held, whatever key it sends";
  EXPECT_EQ(StatusOf(KeyedCheck(port_, "secret-one", Attacker(1))), 400)
      << "another address is not (400: the domain is invalid)";
  prober.ExpectAllFast("wrong keys");
}

// A reload built a new limiter, so every bucket was full again after it.
TEST_F(HostileApiKeysTest, AReloadKeepsAnEmptiedBucketEmpty) {
  Prober prober(port_);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(StatusOf(KeyedCheck(port_, "secret-two", Attacker(2))), 400);
  EXPECT_EQ(StatusOf(KeyedCheck(port_, "secret-two", Attacker(2))), 429);
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(
      SendAll(fd,
              "POST /-/reload HTTP/1.1\r\nHost: x\r\nx-api-key: secret-one\r\nContent-Length: 0\r\n"
              "Connection: close\r\n\r\n"));
  EXPECT_EQ(StatusOf(ReadAll(fd, std::chrono::seconds(5))), 200);
  close(fd);
  EXPECT_EQ(StatusOf(KeyedCheck(port_, "secret-two", Attacker(2))), 429)
      << "the bucket is still empty after the reload";
  EXPECT_EQ(StatusOf(KeyedCheck(port_, "secret-one", Attacker(2))), 400) << "buckets are per key";
  prober.ExpectAllFast("reload");
}

}  // namespace
}  // namespace mtasts::world
