#include "agent/http/listener.h"

#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "agent/http/envelope.h"
#include "agent/internal_errors.h"

namespace mtasts::agent {
namespace {

// How the listener bounds its clients (README "HTTP endpoints"; ConnectionGate).
constexpr int kWorkers = 32;
constexpr int kOperatorWorkers = 4;
constexpr int kKeepAliveMaxCount = 100;
constexpr std::chrono::seconds kWriteTimeout{10};  // for a whole response
constexpr std::size_t kMaxConnections = 1024;
constexpr std::size_t kMinConnections = 64;

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
/// they are collected. With TLS they go through the connection's SSL, which the gate lent with
/// the socket (non-blocking: OpenSSL's wants are waited for with poll, within the same deadline).
class Listener::ConnectionStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  ConnectionStream(int fd, std::string request, std::string remote = {}, SSL* tls = nullptr)
      : fd_(fd), in_(std::move(request)), remote_(std::move(remote)), tls_(tls) {}

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
    if (tls_ != nullptr) return WriteTls(ptr, size);
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

  /// After the last answer on a connection that closes: TLS's close_notify, then the FIN.
  void EndWrites() {
    if (tls_ != nullptr) {
      ERR_clear_error();
      (void)SSL_shutdown(tls_);
      ERR_clear_error();
    }
    shutdown(fd_, SHUT_WR);
  }

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

  ssize_t WriteTls(const char* ptr, size_t size) {
    const int chunk = static_cast<int>(std::min<size_t>(size, 1 << 30));
    for (;;) {
      ERR_clear_error();
      const int sent = SSL_write(tls_, ptr, chunk);  // partial writes are enabled
      if (sent > 0) return sent;
      const int error = SSL_get_error(tls_, sent);
      short wanted = 0;
      if (error == SSL_ERROR_WANT_WRITE) wanted = POLLOUT;
      if (error == SSL_ERROR_WANT_READ) wanted = POLLIN;
      if (wanted == 0 || !Wait(wanted, *write_deadline_)) {
        ERR_clear_error();
        return -1;
      }
    }
  }

  int fd_;
  std::string in_;
  std::size_t pos_ = 0;
  std::string out_;
  int status_ = 0;
  std::optional<Clock::time_point> write_deadline_;
  std::string remote_;
  SSL* tls_;
};

/// cpp-httplib's server with its connection handling replaced: accepted sockets go to the gate,
/// and complete requests are served through process_request (httplib's parsing and routing).
class Listener::Server : public httplib::Server {
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
    // An answer leaves in more than one write (head, then body): with Nagle's algorithm the
    // body waits for the client to acknowledge the head, and a client's delayed ACK holds every
    // answer on a keep-alive connection up to 40 ms (BENCHMARKS.md, "TLS-RPT reports").
    const int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    on_accept(sock);
    return true;
  }
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

Listener::Listener(std::vector<RouteOwner*> owners, ListenerGuard* guard)
    : owners_(std::move(owners)), guard_(guard), server_(std::make_unique<Server>()) {
  httplib::Server& s = *server_;
  // httplib's accept loop only hands sockets to the gate (Server::process_and_close_socket);
  // the gate and ServeConnection bound reading, keep-alive and writing.
  s.new_task_queue = [] { return new httplib::ThreadPool(1); };
  std::size_t max_payload = limits_.max_body;
  for (RouteOwner* owner : owners_) {
    owner->Register(s);
    for (auto& limit : owner->BodyLimits()) {
      max_payload = std::max(max_payload, limit.max);
      limits_.body_limits.push_back(std::move(limit));
    }
  }
  // The gate has held every body to its path's cap already; httplib's cap is the largest.
  s.set_payload_max_length(max_payload);
  if (guard_ != nullptr) {
    // Before any route, so that every path, unknown ones included, is behind the guard.
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return guard_->Admit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                     : httplib::Server::HandlerResponse::Handled;
    });
    s.set_post_routing_handler(
        [this](const httplib::Request&, httplib::Response& res) { guard_->Decorate(res); });
  }
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    for (RouteOwner* owner : owners_) {
      if (owner->AnswerError(req, res)) return;
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

Listener::~Listener() {
  Stop();
}

Result<bool> Listener::Start(const std::string& listen_address) {
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
  auto body_limits = std::move(limits_.body_limits);
  limits_ = ListenerLimits();
  limits_.body_limits = std::move(body_limits);
  workers_ = std::make_unique<httplib::ThreadPool>(kWorkers);
  operator_workers_ = std::make_unique<httplib::ThreadPool>(kOperatorWorkers);
  // The queues need no bound of their own: every request in them holds a connection, and the
  // gate caps those.
  gate_ = std::make_unique<ConnectionGate>(limits_, [this](ConnectionGate::Ready ready) {
    auto& pool = ready.priority ? *operator_workers_ : *workers_;
    // The pool takes copyable tasks only: the socket's owner rides in a shared_ptr.
    auto task = std::make_shared<ConnectionGate::Ready>(std::move(ready));
    pool.enqueue([this, task] {
      // A pool thread must not end on an exception (the process would): logged and counted.
      RunGuarded(ThreadKind::kHttp, "serving a connection",
                 [&] { ServeConnection(std::move(*task)); });
    });
  });
  server_->on_accept = [this](int sock) {
    std::shared_ptr<const TlsServerContext> tls;
    {
      std::lock_guard lock(tls_mutex_);
      tls = tls_;
    }
    gate_->Accept(UniqueFd(sock), std::move(tls));
  };
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void Listener::SetTls(std::shared_ptr<const TlsServerContext> tls) {
  std::lock_guard lock(tls_mutex_);
  tls_ = std::move(tls);
}

bool Listener::ServeOne(ConnectionStream& stream, int served) {
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

void Listener::ServeConnection(ConnectionGate::Ready ready) {
  // The socket goes back to the gate whatever happens here, an exception included: the gate
  // keeps the connection's place (and counts it) until then.
  struct GiveBack {
    ConnectionGate& gate;
    UniqueFd& fd;
    bool keep_alive = false;
    ~GiveBack() { gate.Return(std::move(fd), keep_alive); }
  } give_back{*gate_, ready.fd};
  ConnectionStream stream(ready.fd.get(), std::move(ready.request), {}, ready.tls);
  give_back.keep_alive = ServeOne(stream, ready.served);
  // The client learns at once that the answer is complete (a client reading until the end of
  // the connection does not wait for the gate); the gate then drains and closes.
  if (!give_back.keep_alive) stream.EndWrites();
}

std::vector<HttpExchange> Listener::ServeExchanges(std::string_view bytes,
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

std::string Listener::ServeBytes(std::string_view bytes, const std::string& remote_addr) {
  std::string out;
  for (const HttpExchange& exchange : ServeExchanges(bytes, remote_addr)) out += exchange.response;
  return out;
}

void Listener::Stop() {
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
