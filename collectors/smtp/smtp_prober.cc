#include "collectors/smtp/smtp_prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"
#include "collectors/net/certificate_verify.h"

namespace mtasts::smtp {
namespace {

constexpr std::size_t kMaxLine = 2048;       // RFC 5321 §4.5.3.1.5 says 512; be lenient, bounded
constexpr std::size_t kMaxReplyLines = 100;  // an EHLO reply lists a dozen extensions
constexpr auto kQuitGrace = std::chrono::seconds(2);

using Outcome = ProbeResult::Outcome;

/// A step that failed: the outcome to report and the words for it.
struct Failure {
  Outcome outcome;
  std::string message;
};

std::string OpenSslErrors() {
  return net::DrainOpenSslErrors(
      "the peer closed the connection or sent something that is not TLS");
}

/// The ASCII text of a peer's line, control characters shown as '?', for messages.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) {
    out += std::isprint(static_cast<unsigned char>(c)) != 0 ? c : '?';
  }
  return out;
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

/// One SMTP conversation on one non-blocking socket; every wait is bounded by `deadline`.
class Connection {
 public:
  Connection(const ProbeRequest& request, std::string where)
      : request_(request), where_(std::move(where)) {}
  ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::optional<Failure> Connect() {
    const auto& address = request_.address;
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (address.is_v4()) {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      in->sin_port = htons(request_.port);
      std::memcpy(&in->sin_addr, address.bytes().data(), 4);
      length = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(request_.port);
      std::memcpy(&in6->sin6_addr, address.bytes().data(), 16);
      length = sizeof(sockaddr_in6);
    }
    fd_.reset(socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_) {
      return Failure{Outcome::kConnectFailed,
                     "cannot open a socket for " + where_ + ": " + std::strerror(errno)};
    }
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 &&
        errno != EINPROGRESS) {
      return Failure{Outcome::kConnectFailed,
                     "cannot connect to " + where_ + ": " + std::strerror(errno)};
    }
    if (!Wait(POLLOUT, request_.deadline)) {
      return Failure{Outcome::kTimeout, "connecting to " + where_ + " timed out"};
    }
    int error = 0;
    socklen_t size = sizeof error;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      return Failure{Outcome::kConnectFailed,
                     "cannot connect to " + where_ + ": " + std::strerror(error)};
    }
    return std::nullopt;
  }

  /// Reads one whole reply; its lines' texts go to `lines`.
  std::optional<Failure> ReadReply(int& code, std::vector<std::string>& lines,
                                   const Deadline& deadline, std::string_view after) {
    lines.clear();
    for (;;) {
      std::string line;
      if (auto failure = ReadLine(line, deadline, after)) return failure;
      auto parsed = ParseReplyLine(line);
      if (!parsed) {
        return Failure{Outcome::kProtocolError, where_ + " sent a malformed SMTP reply after " +
                                                    std::string(after) + ": \"" + Printable(line) +
                                                    "\""};
      }
      code = parsed->code;
      lines.push_back(std::move(parsed->text));
      if (parsed->last) return std::nullopt;
      if (lines.size() >= kMaxReplyLines) {
        return Failure{Outcome::kProtocolError, where_ + " sent a reply of more than " +
                                                    std::to_string(kMaxReplyLines) +
                                                    " lines after " + std::string(after)};
      }
    }
  }

  std::optional<Failure> Send(std::string_view text, const Deadline& deadline) {
    while (!text.empty()) {
      ssize_t n = send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL);
      if (n > 0) {
        text.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!Wait(POLLOUT, deadline)) {
          return Failure{Outcome::kTimeout, "sending to " + where_ + " timed out"};
        }
        continue;
      }
      return Failure{Outcome::kProtocolError,
                     "the connection to " + where_ + " broke: " + std::strerror(errno)};
    }
    return std::nullopt;
  }

  /// True when nothing the peer sent is waiting unread (checked before the TLS handshake: bytes
  /// pipelined after "220 ready" would be plaintext injected into the TLS session, CVE-2011-0411).
  bool BufferEmpty() const { return buffer_.empty(); }

  /// STARTTLS handshake on the socket; fills the TLS fields of `result`.
  std::optional<Failure> Handshake(X509_STORE* store, ProbeResult& result) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_)
      return Failure{Outcome::kTlsFailed, "cannot create a TLS context: " + OpenSslErrors()};
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);  // RFC 8461 §4.2 / RFC 8996
    // Verified after the handshake, so a bad certificate still shows its TLS version and names;
    // nothing but QUIT is ever sent over the session.
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1 ||
        // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
        SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(request_.host.c_str())) != 1) {
      return Failure{Outcome::kTlsFailed,
                     "cannot set up TLS for " + where_ + ": " + OpenSslErrors()};
    }
    SSL_set_connect_state(ssl_.get());
    for (;;) {
      ERR_clear_error();
      int rc = SSL_do_handshake(ssl_.get());
      if (rc == 1) break;
      int error = SSL_get_error(ssl_.get(), rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, request_.deadline)) {
          return Failure{Outcome::kTimeout, "the TLS handshake with " + where_ + " timed out"};
        }
        continue;
      }
      std::string reason = OpenSslErrors();
      ssl_.reset();  // no close_notify on a failed handshake
      return Failure{Outcome::kTlsFailed, "STARTTLS was accepted by " + where_ +
                                              " but the TLS handshake failed: " + reason +
                                              " (TLS 1.2 or later is required)"};
    }
    result.tls_version = SSL_get_version(ssl_.get());
    result.cipher = SSL_get_cipher_name(ssl_.get());
    X509* leaf = SSL_get0_peer_certificate(ssl_.get());
    if (leaf == nullptr) {
      net::CertificateInfo none;
      none.verify_code = X509_V_ERR_UNSPECIFIED;
      none.verify_error = "no certificate presented";
      result.certificate = std::move(none);
    } else {
      result.certificate = net::VerifyCertificateFor(leaf, SSL_get_peer_cert_chain(ssl_.get()),
                                                     store, request_.host);
    }
    return std::nullopt;
  }

  /// A polite goodbye, plain or over TLS; best effort within a short grace period.
  void Quit() {
    const Deadline grace(std::min(request_.deadline.at(), Deadline::Clock::now() + kQuitGrace));
    if (!ssl_) {
      if (!Send("QUIT\r\n", grace)) {
        int code = 0;
        std::vector<std::string> lines;
        (void)ReadReply(code, lines, grace, "QUIT");
      }
      return;
    }
    constexpr std::string_view kQuit = "QUIT\r\n";
    for (;;) {
      ERR_clear_error();
      int rc = SSL_write(ssl_.get(), kQuit.data(), static_cast<int>(kQuit.size()));
      if (rc > 0) break;
      int error = SSL_get_error(ssl_.get(), rc);
      if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) ||
          !Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, grace)) {
        ERR_clear_error();
        return;
      }
    }
    char buf[512];
    for (;;) {  // read the 221 (or whatever comes) until the peer closes or the grace ends
      ERR_clear_error();
      int rc = SSL_read(ssl_.get(), buf, sizeof buf);
      if (rc > 0) {
        if (std::string_view(buf, static_cast<std::size_t>(rc)).find('\n') != std::string::npos)
          break;
        continue;
      }
      int error = SSL_get_error(ssl_.get(), rc);
      if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) ||
          !Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, grace)) {
        break;
      }
    }
    SSL_shutdown(ssl_.get());  // one non-blocking close_notify; the answer is not awaited
    ERR_clear_error();
  }

 private:
  bool Wait(short events, const Deadline& deadline) {
    for (;;) {
      auto left = deadline.remaining();
      if (left.count() <= 0) return false;
      pollfd p{fd_.get(), events, 0};
      int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60000)));
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) return false;
    }
  }

  std::optional<Failure> ReadLine(std::string& line, const Deadline& deadline,
                                  std::string_view after) {
    for (;;) {
      auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return std::nullopt;
      }
      if (buffer_.size() > kMaxLine) {
        return Failure{Outcome::kProtocolError, where_ + " sent a line longer than " +
                                                    std::to_string(kMaxLine) + " bytes after " +
                                                    std::string(after)};
      }
      char chunk[1024];
      ssize_t n = recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        return Failure{Outcome::kProtocolError,
                       where_ + " closed the connection after " + std::string(after)};
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (!Wait(POLLIN, deadline)) {
          return Failure{Outcome::kTimeout,
                         "no complete answer from " + where_ + " after " + std::string(after)};
        }
        continue;
      }
      return Failure{Outcome::kProtocolError, "the connection to " + where_ + " broke after " +
                                                  std::string(after) + ": " + std::strerror(errno)};
    }
  }

  const ProbeRequest& request_;
  std::string where_;
  UniqueFd fd_;
  std::string buffer_;  // received, not yet consumed (plaintext phase only)
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
};

}  // namespace

std::optional<ReplyLine> ParseReplyLine(std::string_view line) {
  if (line.size() < 3 || line.size() > kMaxLine) return std::nullopt;
  for (std::size_t i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
  }
  if (line[0] < '2' || line[0] > '5') return std::nullopt;
  ReplyLine out;
  out.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) return out;
  if (line[3] != ' ' && line[3] != '-') return std::nullopt;
  out.last = line[3] == ' ';
  out.text = std::string(line.substr(4));
  return out;
}

bool OffersStarttls(const std::vector<std::string>& ehlo_lines) {
  // The first line is the server's greeting to us; extensions follow, one per line.
  for (std::size_t i = 1; i < ehlo_lines.size(); ++i) {
    std::string_view keyword = ehlo_lines[i];
    keyword = keyword.substr(0, keyword.find(' '));
    while (!keyword.empty() && (keyword.back() == ' ' || keyword.back() == '\t'))
      keyword.remove_suffix(1);
    constexpr std::string_view kStarttls = "STARTTLS";
    if (keyword.size() == kStarttls.size() &&
        std::equal(keyword.begin(), keyword.end(), kStarttls.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        })) {
      return true;
    }
  }
  return false;
}

ProbeResult SmtpProber::Probe(const ProbeRequest& request) const {
  ProbeResult result;
  const std::string address = request.address.ToString();
  const std::string where = request.host + " (" +
                            (request.address.is_v4() ? address : "[" + address + "]") + ") port " +
                            std::to_string(request.port);
  auto fail = [&](Failure failure) {
    result.outcome = failure.outcome;
    result.message = std::move(failure.message);
    return result;
  };
  if (request.deadline.expired()) {
    return fail({Outcome::kTimeout, "no time left in the check budget to probe " + where});
  }
  Connection connection(request, where);
  if (auto failure = connection.Connect()) return fail(std::move(*failure));

  int code = 0;
  std::vector<std::string> lines;
  if (auto failure = connection.ReadReply(code, lines, request.deadline, "connecting")) {
    return fail(std::move(*failure));
  }
  result.greeting = lines.empty() ? "" : std::to_string(code) + " " + lines.front();
  if (code != 220) {
    connection.Quit();
    return fail({Outcome::kProtocolError,
                 where + " does not accept mail: greeting \"" + Printable(result.greeting) + "\""});
  }
  if (auto failure = connection.Send("EHLO " + request.ehlo_name + "\r\n", request.deadline)) {
    return fail(std::move(*failure));
  }
  if (auto failure = connection.ReadReply(code, lines, request.deadline, "EHLO")) {
    return fail(std::move(*failure));
  }
  if (code != 250) {
    connection.Quit();
    return fail({Outcome::kNoStarttls, where + " answered EHLO with " + std::to_string(code) +
                                           " (ESMTP refused), so STARTTLS is not available"});
  }
  if (!OffersStarttls(lines)) {
    connection.Quit();
    return fail({Outcome::kNoStarttls, where + " does not offer STARTTLS in its EHLO reply"});
  }
  if (auto failure = connection.Send("STARTTLS\r\n", request.deadline)) {
    return fail(std::move(*failure));
  }
  if (auto failure = connection.ReadReply(code, lines, request.deadline, "STARTTLS")) {
    return fail(std::move(*failure));
  }
  if (code != 220) {
    connection.Quit();
    return fail({Outcome::kNoStarttls, where + " offers STARTTLS but answered it with " +
                                           std::to_string(code) + " " +
                                           Printable(lines.empty() ? "" : lines.front())});
  }
  if (!connection.BufferEmpty()) {
    return fail({Outcome::kProtocolError,
                 where + " sent data after accepting STARTTLS, before the TLS handshake "
                         "(plaintext injection)"});
  }
  if (auto failure = connection.Handshake(trust_->get(), result)) return fail(std::move(*failure));
  connection.Quit();
  result.outcome = Outcome::kTls;
  return result;
}

}  // namespace mtasts::smtp
