#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "base/result.h"
#include "collectors/net/ip_address.h"
#include "collectors/report/certificate_info.h"

struct x509_store_st;
struct ssl_ctx_st;

namespace mtasts::net {

/// The roots that policy hosts' certificates must chain to, loaded once and shared by every
/// fetch (loading a CA bundle costs far more than a handshake). Immutable after Load.
class TrustStore {
 public:
  /// `ca_file` empty: the system trust store. Errors name the file and OpenSSL's reason.
  static Result<std::shared_ptr<const TrustStore>> Load(const std::string& ca_file);
  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;

  x509_store_st* get() const { return store_; }

 private:
  explicit TrustStore(x509_store_st* store) : store_(store) {}
  x509_store_st* store_;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;  // as sent, "" when absent
  std::string location;      // for 3xx
  std::string body;
};

/// The outcome of one HTTPS GET. Failures to observe (refused, timed out, bad TLS) are data.
struct FetchResult {
  enum class Kind {
    kResponse,            // an HTTP response (any status) was read
    kConnectFailed,       // TCP connection refused, unreachable or reset
    kTimeout,             // no complete answer within the deadline
    kTlsFailed,           // TLS handshake failed for a reason other than the certificate
    kCertificateInvalid,  // the certificate did not verify (chain, expiry, name)
    kTooLarge,            // the body exceeded max_body
    kProtocolError,       // the connection broke mid-response, the HTTP was malformed, or its
                          // head went past 16 KiB / 100 lines
  };
  Kind kind = Kind::kProtocolError;
  std::string message;  // for failures, what happened in words
  std::optional<HttpResponse> response;
  std::optional<CertificateInfo> certificate;
  std::string address;  // the address actually dialled
};

struct FetchRequest {
  std::string host;   // the name for SNI, Host and certificate verification
  IpAddress address;  // the vetted address to connect to; no lookup happens here
  std::uint16_t port = 443;
  std::string path = "/";
  std::size_t max_body = std::size_t{64} * 1024;
  Deadline deadline = Deadline::After(std::chrono::seconds(10));
  /// When set (before `deadline`): a TCP connection not established by then is given up as
  /// kConnectFailed, leaving the rest of `deadline` for another address of the host.
  std::optional<Deadline> connect_deadline;
};

/// HTTPS/1.1 GET for policy files (RFC 8461 §3.3), on OpenSSL directly. Connects only to the
/// given vetted address (no lookup here); SNI and Host are the host name; the certificate must
/// chain to the trust store and carry a matching DNS-ID (subjectAltName only, never the CN; a
/// wildcard only as the whole left-most label); TLS 1.2 or later (§7.2); redirects are never
/// followed; no HTTP caching (`Cache-Control: no-cache`); no compression (no Accept-Encoding);
/// `Connection: close`. A hostile peer is bounded everywhere: one deadline covers connect,
/// handshake, request and response on a non-blocking socket driven by poll(2), so a peer dripping
/// bytes ends at the deadline; the response head (status line, headers, 1xx heads and trailers)
/// is capped at 16 KiB and 100 lines, chunk-size lines at 1 KiB each, the body at max_body;
/// nothing else is buffered. Writes never raise SIGPIPE (MSG_NOSIGNAL), and no signal mask or
/// helper thread is involved. The body of a status other than 200 is not read.
///
/// One SSL_CTX (TLS 1.2 minimum, our verify callback over the trust store, no session cache) is
/// made by the constructor and shared by every fetch of this fetcher and its copies; what a
/// connection needs (the expected host, the certificate seen) lives on its SSL. Thread-safe:
/// Fetch may run on many threads at once. The constructor throws std::runtime_error only when
/// OpenSSL cannot allocate a context (a fatal start-up error).
class HttpsFetcher {
 public:
  explicit HttpsFetcher(const std::shared_ptr<const TrustStore>& trust);
  FetchResult Fetch(const FetchRequest& request) const;

 private:
  std::shared_ptr<ssl_ctx_st> ctx_;  // keeps the trust store alive with it
};

}  // namespace mtasts::net
