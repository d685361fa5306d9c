#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/common/deadline.h"
#include "collectors/common/result.h"
#include "collectors/net/ip_address.h"

struct x509_store_st;

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

/// What the peer's certificate looked like and what verification said.
struct CertificateInfo {
  bool verified = false;
  std::string verify_error;               // OpenSSL's words when not verified
  int verify_code = 0;                    // X509_V_* code
  std::vector<std::string> dns_names;     // subjectAltName dNSName entries of the leaf
  std::string subject;                    // leaf subject, one line
  std::string issuer;                     // leaf issuer, one line
  std::optional<std::int64_t> not_after;  // Unix seconds
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
    kProtocolError,       // the connection broke mid-response or the HTTP was malformed
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
  std::size_t max_body = 64 * 1024;
  Deadline deadline = Deadline::After(std::chrono::seconds(10));
};

/// HTTPS GET on cpp-httplib + OpenSSL for policy files (RFC 8461 §3.3): connects only to the
/// given vetted address, SNI and Host are the host name, the certificate must chain to the trust
/// store and carry a matching DNS-ID (subjectAltName only, never the CN; a wildcard only as the
/// whole left-most label), TLS 1.2 or later (§7.2), redirects are never followed, no HTTP
/// caching, no compression, the body capped at max_body, the whole exchange bounded by the
/// deadline. httplib errors are translated to FetchResult here and only here. Thread-safe.
class HttpsFetcher {
 public:
  explicit HttpsFetcher(std::shared_ptr<const TrustStore> trust) : trust_(std::move(trust)) {}
  FetchResult Fetch(const FetchRequest& request) const;

 private:
  std::shared_ptr<const TrustStore> trust_;
};

}  // namespace mtasts::net
