#include "agent/http/connection_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "collectors/net/socket_bio.h"

namespace mtasts::agent {
namespace {

using Verdict = ConnectionGate::Verdict;

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 §5.6.2: tchar.
bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

// RFC 9110 §5.6.3: optional whitespace is SP and HTAB.
std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Verdict Refused(int status, std::string_view reason) {
  Verdict v;
  v.kind = Verdict::Kind::kRefused;
  v.status = status;
  v.reason = reason;
  return v;
}

// GET or HEAD of /metrics, /-/healthy or /-/ready (any query string).
bool IsOperatorRequest(std::string_view method, std::string_view target) {
  if (method != "GET" && method != "HEAD") return false;
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/metrics" || path == "/-/healthy" || path == "/-/ready";
}

std::string_view StatusText(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// The numeric address of the peer of `fd` ("" when it has none, e.g. a Unix socket).
std::string PeerAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "";
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof text);
  }
  return text;
}

void CloseNow(UniqueFd fd) {
  shutdown(fd.get(), SHUT_RDWR);
}

constexpr std::string_view kReserveOnly =
    "too many connections; only /metrics, /-/healthy and /-/ready are served on this one";

}  // namespace

std::string ClientNetwork(const std::string& address) {
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return address;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return address;
  char text[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
    inet_ntop(AF_INET, &v4, text, sizeof text);
    return text;
  }
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), 0);
  inet_ntop(AF_INET6, &v6, text, sizeof text);
  return std::string(text) + "/64";
}

ConnectionGate::Verdict ConnectionGate::Examine(std::string_view bytes, const Limits& limits) {
  // The head ends at the first empty line. Lines end with CRLF only (RFC 9112 §2.2 lets a
  // server refuse a bare CR; a bare LF is refused too, since the parser behind the gate does
  // not end lines there and would read on past the head the gate saw). NUL is refused
  // (RFC 9110 §5.5).
  if (bytes.empty()) return Verdict{};
  const std::string_view window = bytes.substr(0, limits.max_head);
  const std::size_t blank = window.find("\r\n\r\n");
  const std::size_t head_end = blank == std::string_view::npos ? blank : blank + 4;
  // The head, or as much of it as has come: vetted at once, so that a bad head is refused
  // before its end (with memchr: this runs on every read of the gate's thread).
  const std::string_view head_bytes = window.substr(0, head_end);
  const char* const first = head_bytes.data();
  const char* const last = first + head_bytes.size();
  const auto find = [last](const char* from, char c) {
    return static_cast<const char*>(std::memchr(from, c, static_cast<std::size_t>(last - from)));
  };
  if (find(first, '\0') != nullptr) return Refused(400, "a NUL byte in the head");
  for (const char* lf = find(first, '\n'); lf != nullptr; lf = find(lf + 1, '\n')) {
    if (lf == first || lf[-1] != '\r') return Refused(400, "a line ends with a bare LF");
  }
  for (const char* cr = find(first, '\r'); cr != nullptr; cr = find(cr + 1, '\r')) {
    const std::size_t next = static_cast<std::size_t>(cr - bytes.data()) + 1;
    if (next < bytes.size() && bytes[next] != '\n') return Refused(400, "a bare CR");
  }
  if (head_end == std::string_view::npos) {
    if (bytes.size() > limits.max_head) {
      return Refused(431, "the request line and headers are too big");
    }
    return Verdict{};
  }

  // RFC 9112 §3: method SP request-target SP HTTP-version.
  const std::string_view head = bytes.substr(0, head_end - 2);  // each line ends with CRLF
  std::size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 =
      sp1 == std::string_view::npos ? std::string_view::npos : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Refused(400, "a malformed request line");
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = request_line.substr(sp2 + 1);
  // The target in origin form (RFC 9112 §3.2.1): httplib would route "?/-/reload" as
  // "/-/reload", past a proxy that filters paths.
  if (!IsToken(method) || target.empty() || target.front() != '/' ||
      std::any_of(target.begin(), target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }) ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return Refused(400, "a malformed request line");
  }

  // The body cap: the path's own for a POST to one of `body_limits`, else `max_body`.
  const RouteOwner::BodyLimit* own_limit = nullptr;
  if (method == "POST") {
    const std::string_view path = target.substr(0, target.find('?'));
    for (const auto& limit : limits.body_limits) {
      if (limit.path == path || limit.path == RouteOwner::kEveryPath) own_limit = &limit;
    }
  }
  const std::size_t max_body = own_limit != nullptr ? own_limit->max : limits.max_body;

  // The header fields (RFC 9112 §5): name, colon, value; no folding, no space before the colon.
  std::optional<std::size_t> content_length;
  bool too_long = false;
  bool transfer_encoding = false;
  bool content_encoding = false;
  for (std::size_t start = line_end + 2; start < head.size();) {
    line_end = head.find("\r\n", start);  // every line of `head` ends with CRLF
    const std::string_view line = head.substr(start, line_end - start);
    start = line_end + 2;
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return Refused(400, "obsolete line folding in a header");
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return Refused(400, "a malformed header line");
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (IEquals(name, "transfer-encoding")) {
      transfer_encoding = true;
    } else if (IEquals(name, "content-encoding")) {
      content_encoding = true;
    } else if (IEquals(name, "content-length")) {
      // RFC 9112 §6.3: several or invalid lengths are unrecoverable errors.
      if (content_length.has_value()) return Refused(400, "more than one Content-Length");
      if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
          })) {
        return Refused(400, "Content-Length is not a number");
      }
      std::size_t length = 0;
      for (const char digit : value) {
        if (length > max_body) {
          too_long = true;  // no need to read further digits (no overflow)
          break;
        }
        length = length * 10 + static_cast<std::size_t>(digit - '0');
      }
      content_length = length;
      too_long = too_long || length > max_body;
    }
  }

  // Bodies are taken only as Content-Length bytes (RFC 9112 §6.3 lets a server refuse others
  // with 411), only on POST (the parser behind the gate would ignore a GET's body and read it
  // as the next request), and uncoded.
  if (transfer_encoding) {
    return content_length.has_value()
               ? Refused(400, "both Transfer-Encoding and Content-Length")
               : Refused(411, "Transfer-Encoding is not accepted; send a Content-Length");
  }
  const std::size_t body = content_length.value_or(0);
  if ((body > 0 || too_long) && method != "POST") {
    return Refused(400, "a body on a request other than POST");
  }
  if (too_long) {
    Verdict refused = Refused(413, "the request body is too large");
    refused.body_limit = own_limit;
    return refused;
  }
  if (body > 0 && content_encoding) return Refused(415, "coded request bodies are not accepted");
  if (bytes.size() - head_end < body) return Verdict{};
  Verdict complete;
  complete.kind = Verdict::Kind::kComplete;
  complete.length = head_end + body;
  complete.priority = IsOperatorRequest(method, target);
  return complete;
}

std::string ConnectionGate::RefusalReply(int status, std::string_view reason) {
  std::string body(reason);
  body += '\n';
  std::string reply = "HTTP/1.1 " + std::to_string(status) + " " + std::string(StatusText(status)) +
                      "\r\nConnection: close\r\nContent-Type: text/plain\r\n";
  if (status == 503) reply += "Retry-After: 1\r\n";
  reply += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return reply;
}

ConnectionGate::ConnectionGate(Limits limits, Dispatch dispatch)
    : limits_(std::move(limits)), dispatch_(std::move(dispatch)) {
  epoll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_fd_ || !wake_fd_) {
    throw std::runtime_error("cannot create the listener's epoll set");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd_.get();
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &event);
  thread_ = std::thread([this] { Run(); });
}

ConnectionGate::~ConnectionGate() {
  Stop();
}

void ConnectionGate::Accept(UniqueFd fd, std::shared_ptr<const TlsServerContext> tls) {
  Post({std::move(fd), true, false, std::move(tls)});
}

void ConnectionGate::Return(UniqueFd fd, bool keep_alive) {
  Post({std::move(fd), false, keep_alive, nullptr});
}

void ConnectionGate::Post(Event event) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      events_.push_back(std::move(event));
      const std::uint64_t one = 1;
      (void)!write(wake_fd_.get(), &one, sizeof one);
      return;
    }
  }
  CloseNow(std::move(event.fd));  // the gate has stopped: nobody would take it
}

void ConnectionGate::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    const std::uint64_t one = 1;
    (void)!write(wake_fd_.get(), &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

void ConnectionGate::Run() {
  std::array<epoll_event, 64> ready{};
  auto last_expiry = Clock::now();
  for (;;) {
    const int n = epoll_wait(epoll_fd_.get(), ready.data(), static_cast<int>(ready.size()), 100);
    for (int i = 0; i < n; ++i) {
      const int fd = ready[static_cast<std::size_t>(i)].data.fd;
      if (fd != wake_fd_.get()) {
        OnReadable(fd);
        continue;
      }
      std::uint64_t count = 0;
      (void)!read(wake_fd_.get(), &count, sizeof count);
      std::vector<Event> events;
      bool stopped = false;
      {
        std::lock_guard lock(mutex_);
        events.swap(events_);
        stopped = stopped_;
      }
      for (Event& e : events) {
        if (stopped) {
          // A returned connection is the gate's again, to close with the others.
          const int returned = e.fd.get();
          auto it = e.accept ? conns_.end() : conns_.find(returned);
          if (it == conns_.end()) {
            CloseNow(std::move(e.fd));
          } else {
            it->second.socket = std::move(e.fd);
            Drop(returned);
          }
        } else if (e.accept) {
          OnAccept(std::move(e.fd), e.tls);
        } else {
          OnReturn(std::move(e.fd), e.keep_alive);
        }
      }
      if (stopped) {
        // Busy connections are their workers' until Return, which closes them itself now.
        std::vector<int> mine;
        for (const auto& [waiting, conn] : conns_) {
          if (conn.state != State::kBusy) mine.push_back(waiting);
        }
        for (int waiting : mine) Drop(waiting);
        return;
      }
    }
    if (Clock::now() - last_expiry >= std::chrono::milliseconds(50)) {
      Expire();
      last_expiry = Clock::now();
    }
  }
}

void ConnectionGate::OnAccept(UniqueFd owned, const std::shared_ptr<const TlsServerContext>& tls) {
  const int fd = owned.get();
  const std::string client = ClientNetwork(PeerAddress(fd));
  const auto over_cap = [&] {
    const auto it = per_client_.find(client);
    const bool client_full = it != per_client_.end() && it->second >= limits_.max_per_client;
    return std::pair{client_full, conns_.size() - restricted_ >= limits_.max_connections};
  };
  // Make room by closing the oldest waiting connection: the client's own when the client is at
  // its cap, anyone's when the listener is.
  if (auto [client_full, all_full] = over_cap(); client_full) {
    Evict(&client, Pick::kAny);
  } else if (all_full) {
    Evict(nullptr, Pick::kUnrestricted);
  }
  bool restricted = false;
  if (auto [client_full, all_full] = over_cap(); client_full || all_full) {
    // Every connection in the way is queued or being served: the operator reserve.
    if (restricted_ >= limits_.operator_reserve && !Evict(nullptr, Pick::kRestricted)) {
      // Shed. Reading what already arrived first lets the close send FIN, not a reset. (A TLS
      // client cannot read an answer before a handshake: it is closed.)
      std::array<char, 16384> discard{};
      (void)!recv(fd, discard.data(), discard.size(), MSG_DONTWAIT);
      if (!tls) {
        const std::string reply = RefusalReply(503, "too many connections; retry shortly");
        send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      CloseNow(std::move(owned));
      return;
    }
    restricted = true;
  }
  UniqueSsl ssl;
  if (tls) {
    // OpenSSL reads and writes the socket itself: non-blocking, so that neither the gate nor a
    // worker can block in it, and through a BIO that sends with MSG_NOSIGNAL, as the plain
    // answers do, so that a client that resets the connection is an error, never SIGPIPE.
    const int flags = fcntl(fd, F_GETFL);
    ssl.reset(SSL_new(tls->ctx()));
    BIO* bio = ssl ? net::NewSocketBio(fd) : nullptr;
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 || bio == nullptr) {
      if (bio != nullptr) BIO_free(bio);
      ERR_clear_error();
      CloseNow(std::move(owned));
      return;
    }
    SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns the BIO; the BIO does not own the socket
    SSL_set_accept_state(ssl.get());
  }
  if (!WatchClient(fd)) {
    CloseNow(std::move(owned));
    return;
  }
  Conn& conn = conns_[fd];
  conn.tls = std::move(ssl);
  conn.handshaking = conn.tls != nullptr;
  conn.socket = std::move(owned);
  conn.client = client;
  conn.restricted = restricted;
  restricted_ += restricted ? 1 : 0;
  ++per_client_[client];
  const auto now = Clock::now();
  conn.since = now;
  // A handshake is part of the request: it has request_timeout to complete (a client that opens
  // TLS and stalls is a slowloris).
  conn.deadline = now + (conn.handshaking ? limits_.request_timeout : limits_.idle_timeout);
  // A client usually sends its request right after connecting: read it now, so that a burst of
  // connections with their requests already in flight does not fill the gate and evict itself.
  OnReadable(fd);
}

void ConnectionGate::OnReturn(UniqueFd owned, bool keep_alive) {
  const int fd = owned.get();
  auto it = conns_.find(fd);
  if (it == conns_.end()) {
    CloseNow(std::move(owned));  // cannot happen: a busy connection stays in conns_
    return;
  }
  Conn& conn = it->second;
  conn.socket = std::move(owned);
  ++conn.served;
  if (!keep_alive) {
    Linger(fd, conn);
    return;
  }
  if (!WatchClient(fd)) {
    Drop(fd);
    return;
  }
  Wait(conn);
  // The next request may be here already (pipelined): judge it before waiting for more.
  if (!conn.bytes.empty()) Judge(fd);
  // With TLS, decrypted bytes may wait inside the session, where epoll does not see them.
  const auto it_after = conns_.find(fd);
  if (it_after != conns_.end() && it_after->second.state == State::kWaiting &&
      it_after->second.tls && SSL_has_pending(it_after->second.tls.get()) == 1) {
    OnReadable(fd);
  }
}

void ConnectionGate::Wait(Conn& conn) {
  const auto now = Clock::now();
  conn.state = State::kWaiting;
  conn.since = now;
  conn.deadline = now + (conn.bytes.empty() ? limits_.idle_timeout : limits_.request_timeout);
}

void ConnectionGate::OnReadable(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& conn = it->second;
  if (conn.state == State::kBusy) return;
  std::array<char, 8192> buf{};
  if (conn.state == State::kClosing) {
    // Discarded: the raw bytes will do, TLS or not.
    const ssize_t got = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (got <= 0) {
      Drop(fd);
      return;
    }
    conn.drained += static_cast<std::size_t>(got);
    if (conn.drained > kMaxDrain) Drop(fd);
    return;
  }
  if (conn.handshaking && !Handshake(fd, conn)) return;
  for (Conn* c = &conn;;) {
    const ssize_t got = Receive(fd, *c, buf.data(), buf.size());
    if (got < 0) return;
    if (got == 0) {
      Drop(fd);  // closed or reset by the client: nobody to answer
      return;
    }
    if (c->bytes.empty()) c->deadline = Clock::now() + limits_.request_timeout;
    c->bytes.append(buf.data(), static_cast<std::size_t>(got));
    Judge(fd);
    // A TLS record may hold more than one read took; epoll does not see what waits inside the
    // session. Each turn reads at most what one record brought (the caps are Judge's).
    const auto it_after = conns_.find(fd);
    if (it_after == conns_.end()) return;
    c = &it_after->second;
    if (c->state != State::kWaiting || !c->tls || SSL_has_pending(c->tls.get()) != 1) return;
  }
}

bool ConnectionGate::Handshake(int fd, Conn& conn) {
  ERR_clear_error();
  const int done = SSL_do_handshake(conn.tls.get());
  if (done == 1) {
    conn.handshaking = false;
    WatchFor(fd, conn, false);
    // Now idle until the request's first byte.
    conn.deadline = Clock::now() + limits_.idle_timeout;
    return true;
  }
  switch (SSL_get_error(conn.tls.get(), done)) {
    case SSL_ERROR_WANT_READ: WatchFor(fd, conn, false); return false;
    case SSL_ERROR_WANT_WRITE: WatchFor(fd, conn, true); return false;
    default:
      // Plain HTTP to the TLS port, an unknown CA, a version refused: OpenSSL has queued its
      // alert; the client reads it, then the close. Nothing reaches a worker.
      ERR_clear_error();
      conn.tls_failed = true;
      Linger(fd, conn);
      return false;
  }
}

ssize_t ConnectionGate::Receive(int fd, Conn& conn, char* buf, std::size_t size) {
  if (!conn.tls) {
    const ssize_t got = recv(fd, buf, size, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -1;
    return got < 0 ? 0 : got;
  }
  ERR_clear_error();
  const int got = SSL_read(conn.tls.get(), buf, static_cast<int>(size));
  if (got > 0) return got;
  switch (SSL_get_error(conn.tls.get(), got)) {
    case SSL_ERROR_WANT_READ: WatchFor(fd, conn, false); return -1;
    case SSL_ERROR_WANT_WRITE: WatchFor(fd, conn, true); return -1;
    case SSL_ERROR_ZERO_RETURN: return 0;  // the client's close_notify
    default:
      ERR_clear_error();
      conn.tls_failed = true;
      return 0;
  }
}

void ConnectionGate::SendReply(int fd, Conn& conn, std::string_view reply) {
  if (!conn.tls) {
    send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } else if (!conn.handshaking && !conn.tls_failed) {
    ERR_clear_error();
    (void)SSL_write(conn.tls.get(), reply.data(), static_cast<int>(reply.size()));
    ERR_clear_error();
  }
}

void ConnectionGate::WatchFor(int fd, Conn& conn, bool write) {
  if (conn.want_write == write) return;
  epoll_event event{};
  event.events = write ? EPOLLOUT : (EPOLLIN | EPOLLRDHUP);
  event.data.fd = fd;
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &event);
  conn.want_write = write;
}

void ConnectionGate::Judge(int fd) {
  Conn& conn = conns_.at(fd);
  const Verdict verdict = Examine(conn.bytes, limits_);
  if (verdict.kind == Verdict::Kind::kPartial) {
    // Past the head and the default body cap, it is a large body: few of those at once.
    if (!conn.large && conn.bytes.size() > limits_.max_head + limits_.max_body) {
      if (large_ >= limits_.max_large_bodies) {
        Refuse(fd, 503, "too many large request bodies at once; retry shortly");
        return;
      }
      conn.large = true;
      ++large_;
    }
    return;
  }
  ReleaseLarge(conn);
  switch (verdict.kind) {
    case Verdict::Kind::kPartial: return;
    case Verdict::Kind::kRefused:
      if (verdict.body_limit != nullptr && verdict.body_limit->refused)
        verdict.body_limit->refused();
      Refuse(fd, verdict.status, verdict.reason);
      return;
    case Verdict::Kind::kComplete: break;
  }
  if (conn.restricted && !verdict.priority) {
    Refuse(fd, 503, kReserveOnly);
    return;
  }
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  conn.state = State::kBusy;
  conn.want_write = false;  // the next WatchClient starts from readable
  Ready ready{std::move(conn.socket), conn.bytes.substr(0, verdict.length), conn.served,
              verdict.priority, conn.tls.get()};
  conn.bytes.erase(0, verdict.length);
  dispatch_(std::move(ready));
}

void ConnectionGate::Refuse(int fd, int status, std::string_view reason) {
  Conn& conn = conns_.at(fd);
  SendReply(fd, conn, RefusalReply(status, reason));
  Linger(fd, conn);
}

bool ConnectionGate::WatchClient(int fd) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.fd = fd;
  return epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) == 0;
}

void ConnectionGate::ReleaseLarge(Conn& conn) {
  if (conn.large) {
    conn.large = false;
    --large_;
  }
}

void ConnectionGate::Linger(int fd, Conn& conn) {
  ReleaseLarge(conn);
  if (conn.state == State::kBusy) {
    conn.want_write = false;
    if (!WatchClient(fd)) {
      Drop(fd);
      return;
    }
  } else {
    WatchFor(fd, conn, false);  // draining reads only
  }
  if (conn.tls && !conn.handshaking && !conn.tls_failed &&
      (SSL_get_shutdown(conn.tls.get()) & SSL_SENT_SHUTDOWN) == 0) {
    ERR_clear_error();
    (void)SSL_shutdown(conn.tls.get());  // close_notify: the answer is complete
    ERR_clear_error();
  }
  shutdown(fd, SHUT_WR);
  conn.state = State::kClosing;
  conn.bytes.clear();
  conn.bytes.shrink_to_fit();
  conn.drained = 0;
  conn.deadline = Clock::now() + limits_.linger;
}

void ConnectionGate::Drop(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  if (it->second.state != State::kBusy) epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  CloseNow(std::move(it->second.socket));
  auto client = per_client_.find(it->second.client);
  if (client != per_client_.end() && --client->second == 0) per_client_.erase(client);
  restricted_ -= it->second.restricted ? 1 : 0;
  ReleaseLarge(it->second);
  conns_.erase(it);
}

bool ConnectionGate::Evict(const std::string* client, Pick pick) {
  // Closing connections go first (they are done), then the one waiting longest.
  int victim = -1;
  const Conn* best = nullptr;
  for (const auto& [fd, conn] : conns_) {
    if (conn.state == State::kBusy || (client != nullptr && conn.client != *client) ||
        (pick == Pick::kRestricted && !conn.restricted) ||
        (pick == Pick::kUnrestricted && conn.restricted)) {
      continue;
    }
    const bool better = best == nullptr ||
                        (conn.state == State::kClosing && best->state != State::kClosing) ||
                        (conn.state == best->state && conn.since < best->since);
    if (better) {
      best = &conn;
      victim = fd;
    }
  }
  if (best == nullptr) return false;
  if (best->state == State::kWaiting && !best->bytes.empty()) {
    // A request had begun: say why it ends.
    SendReply(victim, conns_.at(victim),
              RefusalReply(408, "the request did not arrive in time; bye"));
  }
  Drop(victim);
  return true;
}

void ConnectionGate::Expire() {
  const auto now = Clock::now();
  std::vector<int> expired;
  for (const auto& [fd, conn] : conns_) {
    if (conn.state != State::kBusy && conn.deadline <= now) expired.push_back(fd);
  }
  for (int fd : expired) {
    Conn& conn = conns_.at(fd);
    if (conn.state == State::kWaiting && !conn.bytes.empty()) {
      Refuse(fd, 408, "the request did not arrive in time; bye");
    } else {
      Drop(fd);  // idle, or done lingering
    }
  }
}

}  // namespace mtasts::agent
