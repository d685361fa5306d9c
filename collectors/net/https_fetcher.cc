#include "collectors/net/https_fetcher.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/unique_fd.h"
#include "build_info.h"
#include "collectors/net/certificate_verify.h"
#include "collectors/net/http_response_reader.h"
#include "collectors/net/socket_bio.h"

namespace mtasts::net {
namespace {

using Kind = FetchResult::Kind;

/// Plaintext read per SSL_read: one TLS record's worth.
constexpr std::size_t kReadSize = std::size_t{16} * 1024;

/// A step that failed: the kind to report and the words for it.
struct Failure {
  Kind kind;
  std::string message;
};

std::string OpenSslErrors() {
  return DrainOpenSslErrors("unknown OpenSSL error");
}

/// What the verify callback needs and leaves behind, one per connection, on its SSL.
struct VerifyContext {
  const std::string* host = nullptr;
  std::optional<CertificateInfo> certificate;
};

/// The SSL ex_data slot of a connection's VerifyContext, allocated once per process.
int VerifyContextIndex() {
  static const int kIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return kIndex;
}

/// Replaces OpenSSL's chain verification for every connection of the shared context (`arg` is
/// the trust store): verifies with RFC 8461 §3.3 name rules for the host on the connection's
/// SSL and records what the peer presented. Returning 0 under SSL_VERIFY_PEER aborts the
/// handshake, so no request is ever sent over an unverified channel.
int VerifyCertificate(X509_STORE_CTX* handshake_ctx, void* arg) {
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(handshake_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* context = ssl == nullptr
                      ? nullptr
                      : static_cast<VerifyContext*>(SSL_get_ex_data(ssl, VerifyContextIndex()));
  if (context == nullptr) {  // every SSL made by Fetch carries one; refuse anything else
    X509_STORE_CTX_set_error(handshake_ctx, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  CertificateInfo info = VerifyCertificateFor(X509_STORE_CTX_get0_cert(handshake_ctx),
                                              X509_STORE_CTX_get0_untrusted(handshake_ctx),
                                              static_cast<X509_STORE*>(arg), *context->host);
  const bool ok = info.verified;
  const int error = info.verify_code;
  context->certificate = std::move(info);
  X509_STORE_CTX_set_error(handshake_ctx, ok ? X509_V_OK : error);
  return ok ? 1 : 0;
}

std::string FormatSeconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

/// Host names and paths go into the request line and Host header verbatim: anything that could
/// end a line or a token there is a bug upstream (names are validated long before).
bool SafeForRequest(std::string_view text, bool path) {
  if (text.empty() || (path && text.front() != '/')) return false;
  return std::all_of(text.begin(), text.end(), [path](char c) {
    const auto u = static_cast<unsigned char>(c);
    if (path) return u > 0x20 && u < 0x7f;
    return std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_';
  });
}

std::string RequestText(const FetchRequest& request) {
  std::string host = request.host;
  if (request.port != 443) host += ":" + std::to_string(request.port);
  // RFC 8461 §3.3: no HTTP caching; no Accept-Encoding, so no compression; one request per
  // connection.
  return "GET " + request.path + " HTTP/1.1\r\nHost: " + host +
         "\r\nUser-Agent: mta-sts-exporter/" + kVersion +
         "\r\nAccept: text/plain\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
}

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

/// One HTTPS exchange on one non-blocking socket. Every wait is a poll(2) bounded by the
/// request's deadline, and the deadline is checked before every read and write, so the whole
/// exchange ends by it however the peer paces its bytes.
class Connection {
 public:
  Connection(const FetchRequest& request, std::string where, std::string budget)
      : request_(request), where_(std::move(where)), budget_(std::move(budget)) {}
  ~Connection() { ssl_.reset(); }
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
      return Failure{Kind::kConnectFailed,
                     "cannot open a socket for " + where_ + ": " + std::strerror(errno)};
    }
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 &&
        errno != EINPROGRESS && errno != EINTR) {
      return Failure{Kind::kConnectFailed,
                     "cannot connect to " + where_ + ": " + std::strerror(errno)};
    }
    if (request_.connect_deadline && request_.connect_deadline->at() < request_.deadline.at()) {
      const std::string share = FormatSeconds(request_.connect_deadline->remaining());
      if (!Wait(POLLOUT, *request_.connect_deadline)) {
        return Failure{Kind::kConnectFailed, "connecting to " + where_ + " got no answer within " +
                                                 share + ", its share of the check budget"};
      }
    } else if (!Wait(POLLOUT)) {
      return Failure{Kind::kTimeout, "connecting to " + where_ + " timed out after " + budget_};
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    if (error != 0) {
      return Failure{Kind::kConnectFailed,
                     "cannot connect to " + where_ + ": " + std::strerror(error)};
    }
    return std::nullopt;
  }

  std::optional<Failure> Handshake(SSL_CTX* ctx, VerifyContext& verify) {
    ssl_.reset(SSL_new(ctx));
    BIO* bio = ssl_ ? NewSocketBio(fd_.get()) : nullptr;
    if (bio == nullptr) {
      return Failure{Kind::kTlsFailed, "cannot set up TLS for " + where_ + ": " + OpenSslErrors()};
    }
    SSL_set_bio(ssl_.get(), bio, bio);  // the SSL owns the BIO now
    if (SSL_set_ex_data(ssl_.get(), VerifyContextIndex(), &verify) != 1 ||
        // SSL_set_tlsext_host_name, spelled out: the macro's C cast trips -Wold-style-cast.
        SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(request_.host.c_str())) != 1) {
      return Failure{Kind::kTlsFailed, "cannot set up TLS for " + where_ + ": " + OpenSslErrors()};
    }
    SSL_set_connect_state(ssl_.get());
    for (;;) {
      if (request_.deadline.expired()) return TimedOut();
      ERR_clear_error();
      const int rc = SSL_do_handshake(ssl_.get());
      if (rc == 1) return std::nullopt;
      const int error = SSL_get_error(ssl_.get(), rc);
      const int saved_errno = errno;
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) return TimedOut();
        continue;
      }
      broken_ = true;
      if (verify.certificate && !verify.certificate->verified) {
        ERR_clear_error();
        return Failure{Kind::kCertificateInvalid,
                       "the certificate of " + where_ +
                           " did not verify: " + verify.certificate->verify_error};
      }
      std::string reason = error == SSL_ERROR_SSL
                               ? OpenSslErrors() + " (TLS 1.2 or later is required, RFC 8461 §7.2)"
                               : (saved_errno != 0 ? std::string(std::strerror(saved_errno))
                                                   : std::string("the peer closed the connection"));
      ERR_clear_error();
      return Failure{Kind::kTlsFailed, "TLS handshake with " + where_ + " failed: " + reason};
    }
  }

  std::optional<Failure> Send(std::string_view text) {
    while (!text.empty()) {
      if (request_.deadline.expired()) return TimedOut();
      ERR_clear_error();
      std::size_t written = 0;
      const int rc = SSL_write_ex(ssl_.get(), text.data(), text.size(), &written);
      if (rc == 1) {
        text.remove_prefix(written);
        continue;
      }
      const int error = SSL_get_error(ssl_.get(), rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) return TimedOut();
        continue;
      }
      broken_ = true;
      ERR_clear_error();
      return Broke();
    }
    return std::nullopt;
  }

  /// Feeds `reader` until it has a verdict, the peer closes (close_notify) or the exchange fails.
  std::optional<Failure> Receive(ResponseReader& reader) {
    // Not zeroed: SSL_read_ex writes what it returns, and a zeroed 16 KiB would keep four stack
    // pages resident in each of the 64 check threads for a policy of a few hundred bytes.
    std::array<char, kReadSize> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    for (;;) {
      if (request_.deadline.expired()) return TimedOut();
      ERR_clear_error();
      std::size_t got = 0;
      const int rc = SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &got);
      if (rc == 1) {
        if (reader.Feed({buffer.data(), got}) != ResponseReader::Progress::kNeedMore) {
          return std::nullopt;
        }
        continue;
      }
      const int error = SSL_get_error(ssl_.get(), rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (!Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) return TimedOut();
        continue;
      }
      if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify: the stream ended as the peer meant
        reader.Close();
        return std::nullopt;
      }
      // A reset, a TLS alert, or an end of file without close_notify (which could be a
      // truncation attack on a body delimited by the close): nothing read is trusted.
      broken_ = true;
      ERR_clear_error();
      return Broke();
    }
  }

  /// One close_notify, never waited for; nothing after a failed exchange.
  void Shutdown() {
    if (!ssl_ || broken_) return;
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

  Failure Broke() const {
    return Failure{Kind::kProtocolError,
                   "the connection to " + where_ +
                       " was closed or reset before a complete HTTP response arrived"};
  }

 private:
  Failure TimedOut() const {
    return Failure{Kind::kTimeout, "no complete answer from " + where_ + " within " + budget_};
  }

  /// Waits until the socket is ready for `events` (or in error); false once the deadline passed.
  bool Wait(short events) const { return Wait(events, request_.deadline); }
  bool Wait(short events, const Deadline& deadline) const {
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline.at() - Deadline::Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_.get(), events, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60000)));
      if (ready > 0) return true;
      if (ready < 0 && errno != EINTR) return false;
    }
  }

  const FetchRequest& request_;
  std::string where_;
  std::string budget_;  // the time there was at the start, for messages
  UniqueFd fd_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
  bool broken_ = false;  // a fatal error happened: no close_notify
};

}  // namespace

Result<std::shared_ptr<const TrustStore>> TrustStore::Load(const std::string& ca_file) {
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return Error{"cannot create a trust store: " + OpenSslErrors()};
  int ok = ca_file.empty() ? X509_STORE_set_default_paths(store)
                           : X509_STORE_load_file(store, ca_file.c_str());
  if (ok != 1) {
    X509_STORE_free(store);
    if (ca_file.empty()) return Error{"cannot load the system trust store: " + OpenSslErrors()};
    return Error{"cannot load CA file \"" + ca_file + "\": " + OpenSslErrors()};
  }
  return std::shared_ptr<const TrustStore>(new TrustStore(store));
}

TrustStore::~TrustStore() {
  X509_STORE_free(store_);
}

HttpsFetcher::HttpsFetcher(const std::shared_ptr<const TrustStore>& trust) {
  if (!trust) throw std::invalid_argument("HttpsFetcher needs a trust store");
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) throw std::runtime_error("cannot create a TLS context: " + OpenSslErrors());
  // The deleter holds the trust store: the verify callback reads it as long as the context lives.
  ctx_ = std::shared_ptr<SSL_CTX>(ctx, [trust](SSL_CTX* c) { SSL_CTX_free(c); });
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {  // RFC 8461 §7.2
    throw std::runtime_error("cannot require TLS 1.2: " + OpenSslErrors());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, VerifyCertificate, trust->get());
  // Every fetch verifies and reports the certificate afresh: no session resumption. No
  // renegotiation either: a peer cannot make us redo handshakes mid-response.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  // Read what the socket holds into the record buffer at once, instead of one recv for each
  // record's 5-byte header and another for its body: the server's flight, its session tickets
  // and the response arrive as a dozen records, mostly together. Nothing changes in what is
  // read or trusted: records are still taken one by one, and Receive stops at the same point.
  SSL_CTX_set_read_ahead(ctx, 1);
  // What we send is a ClientHello, the Finished and one short GET: records of at most 4 KiB
  // hold each of them whole, and OpenSSL sizes a connection's write buffer by this limit (4.4
  // instead of 16.7 KiB each, times the checks in flight). Reading is not limited: the
  // server's records may still be 16 KiB.
  SSL_CTX_set_max_send_fragment(ctx, 4096);
}

FetchResult HttpsFetcher::Fetch(const FetchRequest& request) const {
  if (!SafeForRequest(request.host, false) || !SafeForRequest(request.path, true)) {
    throw std::invalid_argument("refusing to request \"" + request.path + "\" from \"" +
                                request.host + "\"");
  }
  FetchResult result;
  result.address = request.address.ToString();
  const std::string where =
      request.host + " (" + result.address + ") port " + std::to_string(request.port);
  if (request.deadline.expired()) {
    result.kind = Kind::kTimeout;
    result.message = "no time left in the check budget to contact " + where;
    return result;
  }

  VerifyContext verify{&request.host, std::nullopt};
  Connection connection(request, where, FormatSeconds(request.deadline.remaining()));
  auto fail = [&](Failure failure) {
    result.kind = failure.kind;
    result.message = std::move(failure.message);
    result.certificate = verify.certificate;
    return result;
  };
  if (auto failure = connection.Connect()) return fail(std::move(*failure));
  if (auto failure = connection.Handshake(ctx_.get(), verify)) return fail(std::move(*failure));
  result.certificate = verify.certificate;
  if (auto failure = connection.Send(RequestText(request))) return fail(std::move(*failure));
  ResponseReader reader(request.max_body);
  if (auto failure = connection.Receive(reader)) return fail(std::move(*failure));
  connection.Shutdown();

  using Progress = ResponseReader::Progress;
  const auto response_of = [&](std::string body) {
    const ResponseHead& head = *reader.Head();
    const auto content_type = head.Values("Content-Type");
    const auto location = head.Values("Location");
    return HttpResponse{head.status, content_type.empty() ? "" : std::string(content_type.front()),
                        location.empty() ? "" : std::string(location.front()), std::move(body)};
  };
  switch (reader.Current()) {
    case Progress::kComplete:
      result.kind = Kind::kResponse;
      result.response = response_of(reader.Body());
      return result;
    case Progress::kBodyTooLarge:
      result.kind = Kind::kTooLarge;
      result.message =
          "the body from " + where + " exceeds " + std::to_string(request.max_body) + " bytes";
      result.response = response_of("");
      return result;
    case Progress::kHeadTooLarge:
      result.kind = Kind::kProtocolError;
      result.message =
          "the response head from " + where + " " + reader.Problem() + "; nothing more was read";
      return result;
    case Progress::kMalformed:
      result.kind = Kind::kProtocolError;
      result.message =
          reader.InBody()
              ? where + " sent a malformed body before a complete HTTP response arrived: " +
                    reader.Problem()
              : where + " sent a malformed HTTP response head: " + reader.Problem();
      return result;
    case Progress::kTruncated:
    case Progress::kNeedMore: break;
  }
  return fail(connection.Broke());
}

}  // namespace mtasts::net
