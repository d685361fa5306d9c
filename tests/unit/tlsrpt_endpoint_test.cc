// POST and GET /v1/tlsrpt on a real listener on loopback, with a real store on a temporary
// directory: every answer of README "TLS-RPT reports", the body caps tested with the attacks
// themselves (a body over 1 MiB, a length that lies, a gzip bomb), and the counters.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "agent/http/server.h"
#include "agent/tlsrpt/receiver.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::agent {
namespace {

namespace fs = std::filesystem;
using mtasts::test::Gzip;
using mtasts::test::ReadTlsRptTestData;
using mtasts::test::ResetPeakRss;
using mtasts::test::StatusKiB;
using mtasts::test::ZeroBomb;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kGzip = "application/tlsrpt+gzip";
constexpr const char* kJson = "application/tlsrpt+json";

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
  return h;
}

/// Everything a client reads until the server closes (or `timeout`).
std::string ReadUntilClose(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  char buf[16384];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

class TlsRptEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tlsrpt-http-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // The sample reports are from March 2026: the default 400 days would delete them one day.
    settings_.retention = std::chrono::hours(24 * 3650);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (receiver_) receiver_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Start(config::ApiSettings api = {}) {
    receiver_ = std::make_unique<tlsrpt::Receiver>(
        tlsrpt::Receiver::Options{
            .path = store_path_.empty() ? (dir_ / "tlsrpt.sqlite").string() : store_path_,
            .poll = std::chrono::milliseconds(50)},
        results_);
    receiver_->Configure(settings_, {"example.com", "example.org"});
    receiver_->Start();
    HttpHandlers h = Handlers();
    h.tlsrpt = receiver_.get();
    if (api.rate_limit_per_minute == config::ApiSettings{}.rate_limit_per_minute) {
      api.rate_limit_per_minute = 1e6;
      api.rate_limit_burst = 1000;
    }
    server_ = std::make_unique<HttpServer>(h, api, settings_);
    auto started = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(started.has_value()) << started.error().message;
  }

  httplib::Result Post(const std::string& body, const char* type) {
    httplib::Client client("127.0.0.1", server_->port());
    return client.Post("/v1/tlsrpt", body, type);
  }

  httplib::Result Get(const std::string& target, const std::string& key = "") {
    httplib::Client client("127.0.0.1", server_->port());
    httplib::Headers headers;
    if (!key.empty()) headers.emplace("x-api-key", key);
    return client.Get(target.c_str(), headers);
  }

  int Connect() { return Connect(server_->port()); }
  int Connect(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  /// Announces a 2 MiB report at `path` of the listener on `port`, then sends the 2 MiB as an
  /// attacker would, and returns whatever the server answered before it closed.
  std::string PostTwoMebibytes(int port, const std::string& path) {
    const int fd = Connect(port);
    const std::string head = "POST " + path +
                             " HTTP/1.1\r\nHost: x\r\nContent-Type: application/tlsrpt+gzip\r\n"
                             "Content-Length: 2097152\r\n\r\n";
    EXPECT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
    const std::string chunk(std::size_t{64} * 1024, 'x');
    for (int i = 0; i < 32; ++i) {
      if (send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) break;
    }
    std::string reply = ReadUntilClose(fd, std::chrono::seconds(5));
    close(fd);
    return reply;
  }

  std::uint64_t Rejected(const std::string& reason) {
    const auto snapshot = results_.Get();
    auto it = snapshot->tlsrpt.rejected.find(reason);
    return it == snapshot->tlsrpt.rejected.end() ? 0 : it->second;
  }

  /// The reports counted for `domain`, once the counters reach `want` (or after 5 s).
  std::int64_t CountedReports(const std::string& domain, std::int64_t want) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    std::int64_t got = 0;
    do {
      const auto snapshot = results_.Get();
      auto it = snapshot->tlsrpt.domains.find(domain);
      got = it == snapshot->tlsrpt.domains.end() ? 0 : it->second.reports;
      if (got == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (Clock::now() < deadline);
    return got;
  }

  fs::path dir_;
  std::string store_path_;  // empty: dir_/tlsrpt.sqlite
  config::TlsRptSettings settings_;
  ResultStore results_;
  std::unique_ptr<tlsrpt::Receiver> receiver_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsRptEndpointTest, StoresGzipAndJsonReportsOnceEach) {
  Start();
  auto gz = Post(Gzip(ReadTlsRptTestData("google-sts.json")), kGzip);
  ASSERT_TRUE(gz) << httplib::to_string(gz.error());
  EXPECT_EQ(gz->status, 201) << gz->body;
  const json body = json::parse(gz->body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["data"]["organization"], "Google Inc.");
  EXPECT_EQ(body["data"]["domains"], json::array({"example.com"}));

  auto again = Post(Gzip(ReadTlsRptTestData("google-sts.json")), kGzip);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(json::parse(again->body)["message"], "already stored");

  auto js =
      Post(ReadTlsRptTestData("microsoft-sts.json"), "application/tlsrpt+json; charset=utf-8");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 201) << js->body;

  EXPECT_EQ(CountedReports("example.com", 2), 2) << "the duplicate counts once";
  const auto snapshot = results_.Get();
  const tlsrpt::DomainTotals& totals = snapshot->tlsrpt.domains.at("example.com");
  EXPECT_GT(totals.last_end_time, 0);
  EXPECT_FALSE(totals.sessions.empty());
}

TEST_F(TlsRptEndpointTest, RefusalsAnswerWithTheContractsStatusAndAreCounted) {
  Start();
  struct Case {
    std::string body;
    const char* type;
    int status;
    const char* reason;
  };
  const Case cases[] = {
      {ReadTlsRptTestData("google-sts.json"), "application/json", 415, "media_type"},
      {"{\"organization-name\": ", kJson, 400, "malformed"},
      {"not gzip at all", kGzip, 400, "malformed"},
      {Gzip(ReadTlsRptTestData("google-sts.json")).substr(0, 40), kGzip, 400, "malformed"},
      {"{}", kJson, 400, "malformed"},
      {ReadTlsRptTestData("rfc8460-appendix-b.json"), kJson, 422, "unwatched"},
  };
  std::map<std::string, std::uint64_t> expected;
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.status) + " " + c.reason);
    auto res = Post(c.body, c.type);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << res->body;
    const json body = json::parse(res->body);
    EXPECT_EQ(body["success"], false);
    EXPECT_FALSE(body["message"].get<std::string>().empty());
    ++expected[c.reason];
  }
  for (const auto& [reason, n] : expected) EXPECT_EQ(Rejected(reason), n) << reason;
  EXPECT_EQ(CountedReports("company-y.example", 0), 0);
}

// A body announced over 1 MiB is refused from its head, before any of it is buffered.
TEST_F(TlsRptEndpointTest, ABodyOverOneMebibyteIsRefusedBeforeItIsRead) {
  Start();
  // The 2 MiB are sent too, as an attacker would: the answer is there all the same.
  const std::string reply = PostTwoMebibytes(server_->port(), "/v1/tlsrpt");
  EXPECT_EQ(reply.rfind("HTTP/1.1 413 ", 0), 0U) << reply.substr(0, 200);
  EXPECT_EQ(Rejected("too_large"), 1U);

  // Exactly 1 MiB is taken (and is not a report).
  auto res = Post(std::string(std::size_t{1} << 20, 'x'), kGzip);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  // Every other path keeps the listener's 64 KiB.
  httplib::Client client("127.0.0.1", server_->port());
  auto other = client.Post("/v1/check", std::string(std::size_t{65} * 1024, 'x'), "text/plain");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 413);
  EXPECT_EQ(Rejected("too_large"), 1U) << "only refusals of reports count";
}

// The reports' own listener (tlsrpt.listen_address) takes a report at any path, so its 1 MiB
// cap holds at every path: a body announced over it is refused from its head there too.
TEST_F(TlsRptEndpointTest, TheReportsListenerCapsTheBodyAtEveryPath) {
  Start();
  config::TlsRptSettings reports = settings_;
  reports.listen_address = "127.0.0.1:0";
  auto started = server_->StartReports(reports);
  ASSERT_TRUE(started.has_value()) << started.error().message;
  const std::string reply = PostTwoMebibytes(server_->reports_port(), "/deep/path");
  EXPECT_EQ(reply.rfind("HTTP/1.1 413 ", 0), 0U) << reply.substr(0, 200);
  EXPECT_EQ(Rejected("too_large"), 1U);
  // Exactly 1 MiB at another path is taken (and is not a report).
  httplib::Client client("127.0.0.1", server_->reports_port());
  auto res = client.Post("/any", std::string(std::size_t{1} << 20, 'x'), kGzip);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
}

// A Content-Length that lies: more bytes than announced are the next request (not a report,
// and refused as one); fewer leave the request incomplete until the gate's timeout.
TEST_F(TlsRptEndpointTest, ABodyLongerOrShorterThanItsLengthGoesNoFurther) {
  Start();
  const std::size_t announced = std::size_t{1} << 20;
  const std::string report = ReadTlsRptTestData("google-sts.json");
  std::string padded = report + std::string(announced - report.size(), ' ');
  {
    const int fd = Connect();
    const std::string request =
        "POST /v1/tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Type: " + std::string(kJson) +
        "\r\nContent-Length: " + std::to_string(announced) + "\r\n\r\n" + padded +
        "GARBAGE\r\n\r\n" + std::string(std::size_t{512} * 1024, 'y');
    std::thread sender([&] {
      std::size_t sent = 0;
      while (sent < request.size()) {
        const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server closed after refusing the rest
        sent += static_cast<std::size_t>(n);
      }
    });
    const std::string reply = ReadUntilClose(fd, std::chrono::seconds(5));
    shutdown(fd, SHUT_RDWR);
    sender.join();
    close(fd);
    // The announced bytes are one report (stored); what follows is no request at all.
    EXPECT_EQ(reply.rfind("HTTP/1.1 201 ", 0), 0U) << reply.substr(0, 300);
    EXPECT_NE(reply.find("HTTP/1.1 400 Bad Request"), std::string::npos) << reply.substr(0, 600);
    EXPECT_EQ(CountedReports("example.com", 1), 1);
  }
  {
    const int fd = Connect();
    const std::string request =
        "POST /v1/tlsrpt HTTP/1.1\r\nHost: x\r\nContent-Type: " + std::string(kJson) +
        "\r\nContent-Length: " + std::to_string(announced) + "\r\n\r\n" +
        padded.substr(0, announced / 2);
    ASSERT_GT(send(fd, request.data(), request.size(), MSG_NOSIGNAL), 0);
    const auto start = Clock::now();
    const std::string reply = ReadUntilClose(fd, std::chrono::seconds(20));
    close(fd);
    EXPECT_EQ(reply.rfind("HTTP/1.1 408 ", 0), 0U) << reply.substr(0, 300);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(15));
  }
}

// A gzip bomb within the 1 MiB body: inflating stops at tlsrpt.max_size (16 MiB), 413, and the
// process's memory does not follow the bomb.
TEST_F(TlsRptEndpointTest, AGzipBombIsRefusedWithMemoryFlat) {
  Start();
  const std::string bomb = ZeroBomb(1000);  // 1000 MiB of zeros in about 1 MB
  ASSERT_LE(bomb.size(), std::size_t{1} << 20);
  ResetPeakRss();
  const std::int64_t before = StatusKiB("VmRSS");
  auto res = Post(bomb, kGzip);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  const std::int64_t growth = StatusKiB("VmHWM") - before;
  // The cap (16 MiB) and the body held twice (client and server) in this one process.
  EXPECT_LT(growth, 64 * 1024) << "peak RSS grew by " << growth << " KiB";
  EXPECT_EQ(Rejected("too_large"), 1U);
}

// A store that cannot be opened: 503 with Retry-After (the sender tries again later), bad
// input still refused as such; the poller opens it once it can, and reports are stored again.
TEST_F(TlsRptEndpointTest, AStoreThatCannotBeOpenedAnswers503UntilItCan) {
  std::ofstream(dir_ / "blocked") << "a file where the state directory should be";
  store_path_ = (dir_ / "blocked" / "tlsrpt.sqlite").string();
  Start();
  auto unavailable = Post(ReadTlsRptTestData("google-sts.json"), kJson);
  ASSERT_TRUE(unavailable);
  EXPECT_EQ(unavailable->status, 503) << unavailable->body;
  EXPECT_FALSE(unavailable->get_header_value("Retry-After").empty());
  auto bad = Post("{}", kJson);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  fs::remove(dir_ / "blocked");
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (status != 201 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto res = Post(ReadTlsRptTestData("google-sts.json"), kJson);
    status = res ? res->status : 0;
  }
  EXPECT_EQ(status, 201);
  EXPECT_EQ(CountedReports("example.com", 1), 1);
}

TEST_F(TlsRptEndpointTest, EachAddressHasItsBurstThenARate) {
  settings_.rate_limit_burst = 3;
  settings_.rate_limit_per_second = 0.001;
  Start();
  for (int i = 0; i < 3; ++i) {
    auto res = Post("{}", kJson);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
  }
  auto limited = Post(ReadTlsRptTestData("google-sts.json"), kJson);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429) << limited->body;
  EXPECT_FALSE(limited->get_header_value("Retry-After").empty());
  EXPECT_EQ(Rejected("rate_limited"), 1U);
  EXPECT_EQ(CountedReports("example.com", 0), 0) << "a limited report is not stored";
  // A reload raises the rate: the bucket refills at once at the new rate.
  settings_.rate_limit_per_second = 1000;
  ASSERT_TRUE(server_->Configure(settings_).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto after = Post(ReadTlsRptTestData("google-sts.json"), kJson);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 201) << after->body;
}

TEST_F(TlsRptEndpointTest, GetShowsTheAggregateOfAWatchedDomain) {
  Start();
  for (const char* name : {"google-sts.json", "microsoft-sts.json", "tolerant.json"}) {
    auto res = Post(ReadTlsRptTestData(name), kJson);
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 201) << name << " " << res->body;
  }
  auto res = Get("/v1/tlsrpt?domain=Example.COM");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["status"], "ok");
  ASSERT_TRUE(body["meta"].contains("request_id"));
  const json& data = body["data"];
  EXPECT_EQ(data["domain"], "example.com");
  EXPECT_EQ(data["reports"], 3);
  for (const char* key : {"sessions", "by_result_type", "by_mx", "reporters", "days"}) {
    EXPECT_TRUE(data.contains(key)) << key;
  }
  EXPECT_TRUE(data["sessions"].contains("success"));
  EXPECT_TRUE(data["sessions"].contains("failure"));
  EXPECT_EQ(data["reporters"].size(), 3U);
  EXPECT_TRUE(data["reporters"][0].contains("organization"));
  ASSERT_FALSE(data["days"].empty());
  EXPECT_TRUE(data["days"][0].contains("date"));

  // `since` keeps the reports whose date-range ends at or after it.
  auto later = Get("/v1/tlsrpt?domain=example.com&since=2026-03-04T00:00:00Z");
  ASSERT_TRUE(later);
  ASSERT_EQ(later->status, 200) << later->body;
  EXPECT_EQ(json::parse(later->body)["data"]["reports"], 1);

  for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{
           {"/v1/tlsrpt", 400},
           {"/v1/tlsrpt?domain=exa_mple.com", 400},
           {"/v1/tlsrpt?domain=example.com&since=yesterday", 400},
           {"/v1/tlsrpt?domain=example.com&since=2026-03-04T00:00:00", 400},
           {"/v1/tlsrpt?domain=unwatched.example", 404},
       }) {
    auto bad = Get(target);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, status) << target << " " << bad->body;
    EXPECT_EQ(json::parse(bad->body)["success"], false) << target;
  }
}

// GET follows the API's key rules; POST needs no key (reporters have none).
TEST_F(TlsRptEndpointTest, GetNeedsTheApiKeyPostDoesNot) {
  const fs::path keys = dir_ / "keys";
  std::ofstream(keys) << "k1\n";
  config::ApiSettings api;
  api.keys_file = keys.string();
  api.rate_limit_per_minute = 1e6;
  api.rate_limit_burst = 1000;
  Start(api);
  auto post = Post(ReadTlsRptTestData("google-sts.json"), kJson);
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 201) << post->body;
  auto missing = Get("/v1/tlsrpt?domain=example.com");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  auto wrong = Get("/v1/tlsrpt?domain=example.com", "k2");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto right = Get("/v1/tlsrpt?domain=example.com", "k1");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200) << right->body;
}

// The probe's view beside the reports (README "TLS-RPT reports"): AggregateJson joins each
// reported host with the daemon's latest MX probe of it, by name in any case and with or
// without the trailing dot, and flags where the two disagree.

MxProbe Probe(const std::string& host, const std::string& address, bool starttls,
              std::optional<bool> cert_valid) {
  MxProbe p;
  p.host = host;
  p.address = address;
  p.reachable = true;
  p.starttls = starttls;
  p.cert_valid = cert_valid;
  if (cert_valid == false) p.cert_error = "hostname mismatch";
  return p;
}

tlsrpt::DomainAggregate Reported() {
  tlsrpt::DomainAggregate agg;
  agg.reports = 3;
  agg.success = 500;
  agg.failure = 12 + 2;
  agg.by_mx = {{"MX2.Example.com.", 12, {{"certificate-host-mismatch", 12}}},
               {"", 2, {{"sts-policy-fetch-error", 2}}}};
  return agg;
}

DomainReport Checked(std::vector<MxProbe> probes) {
  DomainReport check;
  check.domain = "example.com";
  check.checked_at_ms = 1'780'000'000'000;
  check.mx.probed = true;
  check.mx.probes = std::move(probes);
  return check;
}

TEST(TlsRptProbeView, WithoutAProbeEachHostHasItsResultTypesAndANullProbe) {
  const json data = TlsRptEndpoint::AggregateJson("example.com", Reported());
  ASSERT_EQ(data["by_mx"].size(), 2U);
  const json& mx = data["by_mx"][0];
  EXPECT_EQ(mx["receiving_mx_hostname"], "MX2.Example.com.");
  EXPECT_EQ(mx["failure"], 12);
  EXPECT_EQ(mx["result_types"], json({{"certificate-host-mismatch", 12}}));
  EXPECT_TRUE(mx["probe"].is_null());
  EXPECT_EQ(mx["disagreement"], false);
  EXPECT_TRUE(mx["note"].is_null());

  // A check without probe_mx (no probes ran) shows no probe either.
  DomainReport unprobed = Checked({});
  unprobed.mx.probed = false;
  const json off = TlsRptEndpoint::AggregateJson("example.com", Reported(), &unprobed);
  EXPECT_TRUE(off["by_mx"][0]["probe"].is_null());
  EXPECT_EQ(off["by_mx"].size(), 2U) << "no host added";
}

TEST(TlsRptProbeView, SendersFailingWhereTheProbeSeesAValidCertificateDisagree) {
  const DomainReport check = Checked({Probe("mx2.example.com", "192.0.2.2", true, true),
                                      Probe("mx2.example.com", "2001:db8::2", true, true)});
  const json data = TlsRptEndpoint::AggregateJson("example.com", Reported(), &check);
  ASSERT_EQ(data["by_mx"].size(), 2U);
  const json& mx = data["by_mx"][0];
  ASSERT_FALSE(mx["probe"].is_null()) << mx.dump();
  EXPECT_EQ(mx["probe"]["starttls"], true);
  EXPECT_EQ(mx["probe"]["certificate"], "valid");
  EXPECT_EQ(mx["probe"]["checked_at"], "2026-05-28T20:26:40.000Z");
  ASSERT_EQ(mx["probe"]["addresses"].size(), 2U);
  EXPECT_EQ(mx["probe"]["addresses"][1]["address"], "2001:db8::2");
  EXPECT_EQ(mx["disagreement"], true);
  const std::string note = mx["note"].get<std::string>();
  EXPECT_NE(note.find("certificate-host-mismatch"), std::string::npos) << note;
  EXPECT_NE(note.find("mx2.example.com"), std::string::npos) << note;
  EXPECT_NE(note.find("valid certificate"), std::string::npos) << note;
  // The failures without a host name join no probe.
  EXPECT_TRUE(data["by_mx"][1]["probe"].is_null());
  EXPECT_EQ(data["by_mx"][1]["disagreement"], false);
}

TEST(TlsRptProbeView, AProbeThatAgreesWithTheReportsRaisesNothing) {
  // Senders see a host mismatch, and so does the probe.
  const DomainReport bad = Checked({Probe("mx2.example.com", "192.0.2.2", true, false)});
  const json data = TlsRptEndpoint::AggregateJson("example.com", Reported(), &bad);
  EXPECT_EQ(data["by_mx"][0]["probe"]["certificate"], "invalid");
  EXPECT_EQ(data["by_mx"][0]["disagreement"], false);
  // Failures the probe cannot see (the policy fetch) against a valid certificate: no flag.
  tlsrpt::DomainAggregate fetch = Reported();
  fetch.by_mx[0].result_types = {{"sts-policy-fetch-error", 12}};
  const DomainReport good = Checked({Probe("mx2.example.com", "192.0.2.2", true, true)});
  EXPECT_EQ(TlsRptEndpoint::AggregateJson("example.com", fetch, &good)["by_mx"][0]["disagreement"],
            false);
}

TEST(TlsRptProbeView, AHostTheProbeFindsBadWhileSendersReportOnlySuccessDisagrees) {
  const DomainReport check =
      Checked({Probe("mx2.example.com", "192.0.2.2", true, true),
               Probe("MX3.example.com.", "192.0.2.3", true, false),  // spelled otherwise
               Probe("mx4.example.com", "192.0.2.4", false, std::nullopt)});
  const json data = TlsRptEndpoint::AggregateJson("example.com", Reported(), &check);
  ASSERT_EQ(data["by_mx"].size(), 4U) << data["by_mx"].dump();
  const json& mx3 = data["by_mx"][2];
  EXPECT_EQ(mx3["receiving_mx_hostname"], "MX3.example.com.");
  EXPECT_EQ(mx3["failure"], 0);
  EXPECT_EQ(mx3["result_types"], json::object());
  EXPECT_EQ(mx3["probe"]["certificate"], "invalid");
  EXPECT_EQ(mx3["disagreement"], true);
  EXPECT_NE(mx3["note"].get<std::string>().find("invalid certificate at 192.0.2.3"),
            std::string::npos)
      << mx3["note"];
  const json& mx4 = data["by_mx"][3];
  EXPECT_EQ(mx4["probe"]["starttls"], false);
  EXPECT_EQ(mx4["probe"]["certificate"], "unknown");
  EXPECT_EQ(mx4["disagreement"], true);
  EXPECT_NE(mx4["note"].get<std::string>().find("no STARTTLS"), std::string::npos);

  // No successful sessions reported: nothing to disagree with.
  tlsrpt::DomainAggregate none;
  const json quiet = TlsRptEndpoint::AggregateJson("example.com", none, &check);
  ASSERT_EQ(quiet["by_mx"].size(), 3U);
  for (const auto& mx : quiet["by_mx"]) EXPECT_EQ(mx["disagreement"], false) << mx.dump();
}

TEST(TlsRptProbeView, OneHostSpelledTwoWaysIsOneEntry) {
  tlsrpt::DomainAggregate agg = Reported();
  agg.by_mx.push_back({"mx2.example.com", 20, {{"certificate-expired", 20}}});
  const json data = TlsRptEndpoint::AggregateJson("example.com", agg);
  ASSERT_EQ(data["by_mx"].size(), 2U);
  EXPECT_EQ(data["by_mx"][0]["failure"], 32);
  EXPECT_EQ(data["by_mx"][0]["result_types"],
            json({{"certificate-expired", 20}, {"certificate-host-mismatch", 12}}));
}

}  // namespace
}  // namespace mtasts::agent
