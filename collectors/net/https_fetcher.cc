#include "collectors/net/https_fetcher.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>

#include <csignal>
#include <ctime>

#include "build_info.h"
#include "collectors/net/certificate_verify.h"
#include "collectors/net/socket_watchdog.h"

namespace mtasts::net {
namespace {

std::string OpenSslErrors() {
  return DrainOpenSslErrors("unknown OpenSSL error");
}

/// What the verify callback needs and what it leaves behind, one per fetch.
struct VerifyContext {
  X509_STORE* store = nullptr;
  const std::string* host = nullptr;
  std::optional<CertificateInfo> certificate;
};

/// Replaces OpenSSL's chain verification for the connection: verifies against the shared trust
/// store with RFC 8461 §3.3 name rules and records what the peer presented. Returning 0 with
/// SSL_VERIFY_PEER aborts the handshake, so no request is ever sent over an unverified channel.
int VerifyCertificate(X509_STORE_CTX* handshake_ctx, void* arg) {
  auto* context = static_cast<VerifyContext*>(arg);
  CertificateInfo info = VerifyCertificateFor(X509_STORE_CTX_get0_cert(handshake_ctx),
                                              X509_STORE_CTX_get0_untrusted(handshake_ctx),
                                              context->store, *context->host);
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

/// Blocks SIGPIPE in the calling thread for its lifetime and swallows one raised meanwhile.
/// OpenSSL writes with write(2), so a write to a peer that reset the connection, or to a socket
/// the watchdog shut down at the deadline, raises SIGPIPE, whose default action ends the process:
/// the daemon ignores it, but the fetcher must not kill any other program it is part of.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (sigismember(&old_, SIGPIPE) == 1) return;  // blocked by the caller already: theirs
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
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

FetchResult HttpsFetcher::Fetch(const FetchRequest& request) const {
  const SigpipeBlock no_sigpipe;
  FetchResult result;
  result.address = request.address.ToString();
  const std::string where =
      request.host + " (" + result.address + ") port " + std::to_string(request.port);
  if (request.deadline.expired()) {
    result.kind = FetchResult::Kind::kTimeout;
    result.message = "no time left in the check budget to contact " + where;
    return result;
  }

  httplib::SSLClient client(request.host, request.port);
  // Dial the vetted address only: the name is never looked up again here, so a DNS answer
  // that changes between the guard's lookup and the connect cannot redirect us (rebinding).
  client.set_hostname_addr_map({{request.host, result.address}});
  client.enable_server_certificate_verification(false);  // replaced by VerifyCertificate
  client.set_follow_location(false);                     // RFC 8461 §3.3
  client.set_decompress(false);
  client.set_keep_alive(false);

  VerifyContext verify{trust_->get(), &request.host, std::nullopt};
  SSL_CTX* ssl_ctx = client.ssl_context();
  SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);  // RFC 8461 §7.2
  SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ssl_ctx, VerifyCertificate, &verify);

  auto remaining = request.deadline.remaining();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(remaining);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(remaining - secs);
  client.set_connection_timeout(secs.count(), usecs.count());
  client.set_read_timeout(secs.count(), usecs.count());
  client.set_write_timeout(secs.count(), usecs.count());

  auto& watchdog = SocketWatchdog::Instance();
  std::vector<SocketWatchdog::Token> tokens;
  client.set_socket_options([&](int sock) {
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tokens.push_back(watchdog.Arm(sock, request.deadline.at()));
  });

  std::optional<HttpResponse> head;
  bool too_large = false;
  std::string body;
  httplib::Headers headers = {
      {"User-Agent", std::string("mta-sts-exporter/") + kVersion},
      {"Accept", "text/plain"},
      {"Cache-Control", "no-cache"},  // §3.3: HTTP caching MUST NOT be used
      {"Connection", "close"},
  };
  auto res = client.Get(
      request.path, headers,
      [&](const httplib::Response& response) {
        head = HttpResponse{response.status,
                            response.get_header_value("Content-Type"),
                            response.get_header_value("Location"),
                            {}};
        if (response.status != 200) return false;  // the body of a non-200 is of no use
        if (response.has_header("Content-Length")) {
          auto declared =
              std::strtoull(response.get_header_value("Content-Length").c_str(), nullptr, 10);
          if (declared > request.max_body) {
            too_large = true;
            return false;
          }
        }
        return true;
      },
      [&](const char* data, std::size_t length) {
        if (body.size() + length > request.max_body) {
          too_large = true;
          return false;
        }
        body.append(data, length);
        return true;
      });

  bool timed_out = false;
  for (auto token : tokens) timed_out = watchdog.Disarm(token) || timed_out;
  timed_out = timed_out || request.deadline.expired();
  result.certificate = verify.certificate;

  if (too_large) {
    result.kind = FetchResult::Kind::kTooLarge;
    result.message =
        "the body from " + where + " exceeds " + std::to_string(request.max_body) + " bytes";
    result.response = head;
    return result;
  }
  // A non-200 answer is complete once its head is read; a 200 only once its body is.
  if (head && (head->status != 200 || res)) {
    result.kind = FetchResult::Kind::kResponse;
    result.response = std::move(head);
    result.response->body = std::move(body);
    return result;
  }
  const auto elapsed_budget = FormatSeconds(remaining);
  if (verify.certificate && !verify.certificate->verified) {
    result.kind = FetchResult::Kind::kCertificateInvalid;
    result.message =
        "the certificate of " + where + " did not verify: " + verify.certificate->verify_error;
    return result;
  }
  if (timed_out) {
    result.kind = FetchResult::Kind::kTimeout;
    result.message = "no complete answer from " + where + " within " + elapsed_budget;
    return result;
  }
  switch (res.error()) {
    case httplib::Error::Connection:
      result.kind = FetchResult::Kind::kConnectFailed;
      result.message = "cannot connect to " + where + " (refused or unreachable)";
      break;
    case httplib::Error::ConnectionTimeout:
      result.kind = FetchResult::Kind::kTimeout;
      result.message = "connecting to " + where + " timed out after " + elapsed_budget;
      break;
    case httplib::Error::SSLConnection:
      result.kind = FetchResult::Kind::kTlsFailed;
      result.message = "TLS handshake with " + where + " failed: " + OpenSslErrors() +
                       " (TLS 1.2 or later is required, RFC 8461 §7.2)";
      break;
    case httplib::Error::Read:
      result.kind = FetchResult::Kind::kProtocolError;
      result.message = "the connection to " + where +
                       " was closed or reset before a complete HTTP response arrived";
      break;
    default:
      result.kind = FetchResult::Kind::kProtocolError;
      result.message = "request to " + where + " failed: " + httplib::to_string(res.error());
      break;
  }
  ERR_clear_error();
  return result;
}

}  // namespace mtasts::net
