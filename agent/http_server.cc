#include "agent/http_server.h"

#include <httplib.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>

#include "agent/internal_errors.h"
#include "agent/report_json.h"
#include "base/clock.h"
#include "base/domain_name.h"
#include "build_info.h"
#include "collectors/check/registry.h"
#include "collectors/policy/policy_parser.h"

namespace mtasts::agent {
namespace {

using nlohmann::json;

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::uint64_t> dist;
  std::uint64_t hi = dist(random);
  std::uint64_t lo = dist(random);
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

/// The envelope of every /v1 answer (CONTRACT.md).
void Reply(httplib::Response& res, int status, json data, const std::string& message) {
  const bool ok = status < 400;
  json body = {
      {"data", std::move(data)},
      {"meta",
       {{"timestamp", FormatRfc3339Millis(NowUnixMillis())}, {"request_id", NewRequestId()}}},
      {"status", ok ? "ok" : "error"},
      {"message", message},
      {"success", ok}};
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

constexpr const char* kLandingPage = R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mta-sts-exporter</title></head>
<body><h1>mta-sts-exporter</h1>
<p>MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) posture of mail domains.</p>
<ul>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="v1/check?domain=example.com">/v1/check?domain=D</a>: live check of any domain</li>
<li><a href="v1/policy?domain=example.com">/v1/policy?domain=D</a>: live parsed policy file</li>
<li><a href="v1/meta">/v1/meta</a>: what this exporter checks</li>
<li><a href="-/healthy">/-/healthy</a>, <a href="-/ready">/-/ready</a></li>
</ul></body></html>
)";

json Meta() {
  // The catalogue is the check registry's declaration, so it cannot drift from what is judged.
  json checks = json::array();
  for (const check::CheckInfo& info : check::Catalogue()) {
    json codes = json::array();
    for (IssueCode code : info.codes) codes.push_back(IssueCodeName(code));
    json entry = {{"name", info.name}, {"spec", info.spec}};
    if (info.scope != check::Scope::kEveryCheck) entry["scope"] = check::ScopeText(info.scope);
    entry["codes"] = std::move(codes);
    checks.push_back(std::move(entry));
  }
  return {{"note", std::string("mta-sts-exporter ") + kVersion +
                       ": checks run live and server-side; policy hosts on private or special "
                       "addresses are refused (target_refused)"},
          {"modes", {"enforce", "testing", "none"}},
          {"checks", std::move(checks)},
          {"endpoints",
           {"/", "/metrics", "/v1/check?domain=D", "/v1/policy?domain=D", "/v1/meta", "/-/healthy",
            "/-/ready", "/-/reload"}}};
}

// How the listener bounds its clients (README "HTTP endpoints"; ConnectionGate).
constexpr int kWorkers = 32;
constexpr int kOperatorWorkers = 4;
constexpr int kKeepAliveMaxCount = 100;
constexpr std::chrono::seconds kWriteTimeout{10};  // for a whole response
constexpr std::size_t kMaxConnections = 1024;
constexpr std::size_t kMinConnections = 64;
// Wrong or missing API keys: a burst of 10 per client address, then 10 a minute.
constexpr double kAuthFailuresPerMinute = 10;
constexpr int kAuthFailureBurst = 10;

using Digest = std::array<unsigned char, 32>;

Digest Sha256(std::string_view data) {
  Digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
  return digest;
}

/// Whether `key` is one of `keys` (SHA-256 digests), in time independent of where they differ:
/// digests of equal length compared with CRYPTO_memcmp, every one of them, no early exit.
bool KeyMatches(const std::vector<Digest>& keys, std::string_view key) {
  const Digest presented = Sha256(key);
  int matched = 0;
  for (const Digest& stored : keys) {
    matched |= static_cast<int>(CRYPTO_memcmp(presented.data(), stored.data(), stored.size()) == 0);
  }
  return matched != 0;
}

std::string Hex(const Digest& digest, std::size_t octets) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < octets && i < digest.size(); ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xF];
  }
  return out;
}

/// The gate's limits for this process: the connection cap is a quarter of the descriptor limit
/// (the rest is for outbound DNS, HTTPS and SMTP sockets and files), between 64 and 1024.
ConnectionGate::Limits ListenerLimits() {
  ConnectionGate::Limits limits;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    limits.max_connections = std::clamp<std::size_t>(static_cast<std::size_t>(nofile.rlim_cur / 4),
                                                     kMinConnections, kMaxConnections);
  } else {
    limits.max_connections = kMaxConnections;
  }
  return limits;
}

}  // namespace

/// One request's bytes for httplib, exactly as the gate delimited them: reads end with them (the
/// socket is never read), so httplib cannot see past the request the gate judged. Writes go to
/// the socket, the whole response within kWriteTimeout of its first byte; with fd -1 (ServeBytes)
/// they are collected.
class HttpServer::ConnectionStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  ConnectionStream(int fd, std::string request, std::string remote = {})
      : fd_(fd), in_(std::move(request)), remote_(std::move(remote)) {}

  bool is_readable() const override { return pos_ < in_.size(); }
  bool is_writable() const override {
    return fd_ < 0 || Wait(POLLOUT, write_deadline_.value_or(Clock::now() + kWriteTimeout));
  }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (status_ == 0 && size >= 12 && std::memcmp(ptr, "HTTP/1.1 ", 9) == 0 && ptr[9] != '1') {
      status_ = std::atoi(std::string(ptr + 9, 3).c_str());  // the final status, not 100 Continue
    }
    if (fd_ < 0) {
      out_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!write_deadline_) write_deadline_ = Clock::now() + kWriteTimeout;
    for (;;) {
      if (!Wait(POLLOUT, *write_deadline_)) return -1;
      const ssize_t sent = send(fd_, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return sent;
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(getsockname, ip, port);
  }
  int socket() const override { return fd_; }

  bool Consumed() const { return pos_ == in_.size(); }  // httplib read the whole request
  int ResponseStatus() const { return status_; }        // of the response written, 0 before
  const std::string& Output() const { return out_; }

 private:
  bool Wait(short events, Clock::time_point until) const {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, events, 0};
      const int ready = poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      return ready > 0 && (p.revents & events) != 0;
    }
  }
  void Address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    ip = remote_;
    port = 0;
    if (fd_ < 0) return;
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (get(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      ip = host;
      port = std::atoi(serv);
    }
  }

  int fd_;
  std::string in_;
  std::size_t pos_ = 0;
  std::string out_;
  int status_ = 0;
  std::optional<Clock::time_point> write_deadline_;
  std::string remote_;
};

/// cpp-httplib's server with its connection handling replaced: accepted sockets go to the gate,
/// and complete requests are served through process_request (httplib's parsing and routing).
class HttpServer::Listener : public httplib::Server {
 public:
  std::function<void(int)> on_accept;

  /// Serves one request; false when the connection must close afterwards.
  bool Serve(httplib::Stream& stream, bool last) {
    bool closed = false;
    const bool ok = process_request(stream, last, closed, nullptr);
    return ok && !closed && !last;
  }
  /// httplib listens with a backlog of 5; a burst of connects must not be dropped.
  void RaiseBacklog() { ::listen(svr_sock_.load(), SOMAXCONN); }

 private:
  bool process_and_close_socket(int sock) override {
    on_accept(sock);
    return true;
  }
};

struct HttpServer::Access {
  std::vector<Digest> keys;  // SHA-256 of each key; empty: no key required
  int max_live = 16;
};

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos)
      return Error{"listen address \"" + text + "\": expected [IPv6]:PORT"};
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return Error{"listen address \"" + text + "\": expected HOST:PORT or :PORT"};
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    return Error{"listen address \"" + text + "\": port \"" + port + "\" is not 0-65535"};
  }
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : host, value);
}

HttpServer::HttpServer(HttpHandlers handlers, const config::ApiSettings& api)
    : handlers_(std::move(handlers)),
      server_(std::make_unique<Listener>()),
      limiter_(api.rate_limit_per_minute, api.rate_limit_burst),
      auth_failures_(kAuthFailuresPerMinute, kAuthFailureBurst) {
  auto configured = Configure(api);
  if (!configured) throw std::runtime_error(configured.error().message);
  Routes();
}

HttpServer::~HttpServer() {
  Stop();
}

Result<bool> HttpServer::Configure(const config::ApiSettings& api) {
  auto access = std::make_shared<Access>();
  access->max_live = api.max_concurrent_requests;
  if (!api.keys_file.empty()) {
    std::ifstream in(api.keys_file);
    if (!in) return Error{"api.keys_file \"" + api.keys_file + "\": cannot read it"};
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
        line.pop_back();
      auto start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      access->keys.push_back(Sha256(std::string_view(line).substr(start)));
    }
    if (access->keys.empty()) {
      return Error{"api.keys_file \"" + api.keys_file + "\" holds no key (one per line)"};
    }
  }
  std::lock_guard lock(access_mutex_);
  access_ = std::move(access);
  limiter_.Reconfigure(api.rate_limit_per_minute, api.rate_limit_burst);
  return true;
}

void HttpServer::Routes() {
  httplib::Server& s = *server_;
  // httplib's accept loop only hands sockets to the gate (Listener::process_and_close_socket);
  // the gate and ServeConnection bound reading, keep-alive and writing.
  s.new_task_queue = [] { return new httplib::ThreadPool(1); };
  s.set_payload_max_length(std::size_t{64} * 1024);

  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kLandingPage, "text/html; charset=utf-8");
  });
  s.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    // The page is rendered once per change and shared. A fixed-length provider makes httplib
    // send the bytes as they are, never compressing them again.
    auto page = handlers_.metrics();
    const bool gzip = AcceptsGzip(req.get_header_value("Accept-Encoding"));
    // The page is kept gzip-compressed; a plain request gets it inflated, for itself only.
    auto body = gzip ? std::shared_ptr<const std::string>(page, &page->gzip())
                     : std::make_shared<const std::string>(page->Text());
    if (gzip) res.set_header("Content-Encoding", "gzip");
    res.set_header("Vary", "Accept-Encoding");
    res.set_content_provider(
        body->size(), "text/plain; version=0.0.4; charset=utf-8",
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
  // Lifecycle endpoints as Prometheus has them: only with --web.enable-lifecycle (the daemon then
  // sets the handler), and with API keys configured only for a valid key. Why a reload failed
  // goes to the log, never to the client (it names files).
  s.Post("/-/reload", [this](const httplib::Request& req, httplib::Response& res) {
    if (!handlers_.reload) {
      res.status = 403;
      res.set_content("Lifecycle API is not enabled.\n", "text/plain");
      return;
    }
    std::shared_ptr<Access> access;
    {
      std::lock_guard lock(access_mutex_);
      access = access_;
    }
    if (!access->keys.empty()) {
      // The wrong-key budget of the API applies here too: no guessing keys through reloads.
      const std::string client = ClientNetwork(req.remote_addr);
      if (int wait = auth_failures_.Peek(client); wait > 0) {
        res.status = 429;
        res.set_header("Retry-After", std::to_string(wait));
        res.set_content("Too many wrong API keys.\n", "text/plain");
        return;
      }
      const std::string key = req.get_header_value("x-api-key");
      if (key.empty() || !KeyMatches(access->keys, key)) {
        (void)auth_failures_.Acquire(client);
        res.status = 401;
        res.set_content(key.empty() ? "Missing API key (header x-api-key).\n" : "Wrong API key.\n",
                        "text/plain");
        return;
      }
    }
    const bool reloaded = handlers_.reload().has_value();
    res.status = reloaded ? 200 : 500;
    res.set_content(reloaded ? "Reloaded.\n" : "Reload failed; see the exporter's log.\n",
                    "text/plain");
  });

  // The /v1 API: key, rate limit, domain validation, bounded live checks.
  auto api = [this](bool policy_only) {
    return [this, policy_only](const httplib::Request& req, httplib::Response& res) {
      std::shared_ptr<Access> access;
      {
        std::lock_guard lock(access_mutex_);
        access = access_;
      }
      // Limits count per client network (README "HTTP endpoints"), and with keys the wrong
      // ones count first: an address out of wrong-key budget gets 429 before its key is looked
      // at, right or wrong (else the answer would tell the right key apart).
      const std::string client = ClientNetwork(req.remote_addr);
      std::string bucket = "address:" + client;
      if (!access->keys.empty()) {
        if (int wait = auth_failures_.Peek(client); wait > 0) {
          res.set_header("Retry-After", std::to_string(wait));
          Reply(res, 429, nullptr,
                "too many wrong API keys; retry after " + std::to_string(wait) + " s");
          return;
        }
        const std::string key = req.get_header_value("x-api-key");
        if (key.empty() || !KeyMatches(access->keys, key)) {
          (void)auth_failures_.Acquire(client);
          Reply(res, 401, nullptr,
                key.empty() ? "missing API key (header x-api-key)" : "wrong API key");
          return;
        }
        bucket = "key:" + Hex(Sha256(key), 16);
      }
      if (int wait = limiter_.Acquire(bucket); wait > 0) {
        res.set_header("Retry-After", std::to_string(wait));
        Reply(res, 429, nullptr, "rate limit exceeded; retry after " + std::to_string(wait) + " s");
        return;
      }
      if (!req.has_param("domain") || req.get_param_value_count("domain") != 1) {
        Reply(res, 400, nullptr, "give exactly one domain: ?domain=example.com");
        return;
      }
      auto domain = NormalizeDomain(req.get_param_value("domain"));
      if (!domain) {
        Reply(res, 400, nullptr, domain.error().message);
        return;
      }
      if (live_checks_.fetch_add(1) >= access->max_live) {
        live_checks_.fetch_sub(1);
        res.set_header("Retry-After", "1");
        Reply(res, 503, nullptr, "too many live checks in flight; retry shortly");
        return;
      }
      struct Release {
        std::atomic<int>& count;
        ~Release() { count.fetch_sub(1); }
      } release{live_checks_};
      DomainReport report =
          policy_only ? handlers_.policy(domain.value()) : handlers_.check(domain.value());
      Reply(res, 200, policy_only ? PolicyToJson(report) : ReportToJson(report), "ok");
    };
  };
  s.Get("/v1/check", api(false));
  s.Get("/v1/policy", api(true));
  s.Get("/v1/meta",
        [](const httplib::Request&, httplib::Response& res) { Reply(res, 200, Meta(), "ok"); });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.rfind("/v1/", 0) == 0 && res.body.empty()) {
      Reply(res, res.status, nullptr, res.status == 404 ? "no such endpoint" : "request refused");
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                             const std::exception_ptr& error) {
    // A handler threw: logged and counted (mta_sts_exporter_internal_errors_total).
    if (error) {
      RunGuarded(ThreadKind::kHttp, "a request handler", [&] { std::rethrow_exception(error); });
    }
    Reply(res, 500, nullptr, "internal error");
  });
}

Result<bool> HttpServer::Start(const std::string& listen_address) {
  auto address = ParseListenAddress(listen_address);
  if (!address) return address.error();
  const auto& [host, port] = address.value();
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
    if (port_ < 0) return Error{"cannot listen on " + listen_address};
  } else {
    if (!server_->bind_to_port(host, port)) {
      return Error{"cannot listen on " + listen_address + ": " + std::strerror(errno)};
    }
    port_ = port;
  }
  server_->RaiseBacklog();
  limits_ = ListenerLimits();
  workers_ = std::make_unique<httplib::ThreadPool>(kWorkers);
  operator_workers_ = std::make_unique<httplib::ThreadPool>(kOperatorWorkers);
  // The queues need no bound of their own: every request in them holds a connection, and the
  // gate caps those.
  gate_ = std::make_unique<ConnectionGate>(limits_, [this](ConnectionGate::Ready ready) {
    auto& pool = ready.priority ? *operator_workers_ : *workers_;
    pool.enqueue([this, r = std::move(ready)]() mutable {
      // A pool thread must not end on an exception (the process would): logged and counted.
      RunGuarded(ThreadKind::kHttp, "serving a connection", [&] { ServeConnection(std::move(r)); });
    });
  });
  server_->on_accept = [this](int sock) { gate_->Accept(sock); };
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

bool HttpServer::ServeOne(ConnectionStream& stream, int served) {
  const bool last = served + 1 >= kKeepAliveMaxCount || stopping_;
  const bool open = server_->Serve(stream, last);
  // After a refused request (400, 408, 413, 414, 431) httplib may have stopped reading before
  // the end of the request, and a request it did not read to its end must not leave bytes behind
  // to be taken for the next one: the connection ends there.
  const int status = stream.ResponseStatus();
  const bool refused =
      status == 400 || status == 408 || status == 413 || status == 414 || status == 431;
  return open && stream.Consumed() && !refused && !stopping_;
}

void HttpServer::ServeConnection(ConnectionGate::Ready ready) {
  ConnectionStream stream(ready.fd, std::move(ready.request));
  const bool keep_alive = ServeOne(stream, ready.served);
  // The client learns at once that the answer is complete (a client reading until the end of
  // the connection does not wait for the gate); the gate then drains and closes.
  if (!keep_alive) shutdown(ready.fd, SHUT_WR);
  gate_->Return(ready.fd, keep_alive);
}

std::vector<HttpExchange> HttpServer::ServeExchanges(std::string_view bytes,
                                                     const std::string& remote_addr) {
  std::vector<HttpExchange> exchanges;
  for (int served = 0; !bytes.empty(); ++served) {
    const auto verdict = ConnectionGate::Examine(bytes, limits_);
    if (verdict.kind != ConnectionGate::Verdict::Kind::kComplete) {
      // Refused by the gate, or the bytes end inside a request: the listener answers 408 when
      // the rest does not come in time.
      const bool partial = verdict.kind == ConnectionGate::Verdict::Kind::kPartial;
      exchanges.push_back(
          {std::string(bytes),
           ConnectionGate::RefusalReply(
               partial ? 408 : verdict.status,
               partial ? "the request did not arrive in time; bye" : verdict.reason)});
      break;
    }
    ConnectionStream stream(-1, std::string(bytes.substr(0, verdict.length)), remote_addr);
    const bool keep_alive = ServeOne(stream, served);
    exchanges.push_back({std::string(bytes.substr(0, verdict.length)), stream.Output()});
    bytes.remove_prefix(verdict.length);
    if (!keep_alive) break;
  }
  return exchanges;
}

std::string HttpServer::ServeBytes(std::string_view bytes, const std::string& remote_addr) {
  std::string out;
  for (const HttpExchange& exchange : ServeExchanges(bytes, remote_addr)) out += exchange.response;
  return out;
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
  // No new connection arrives now. Waiting ones are closed; requests being served finish.
  stopping_ = true;
  if (gate_) gate_->Stop();
  if (workers_) {
    workers_->shutdown();
    operator_workers_->shutdown();
    workers_.reset();
    operator_workers_.reset();
  }
}

}  // namespace mtasts::agent
