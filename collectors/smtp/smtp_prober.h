#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/deadline.h"
#include "collectors/net/https_fetcher.h"
#include "collectors/net/ip_address.h"

namespace mtasts::smtp {

/// One line of an SMTP reply (RFC 5321 §4.2): "250-text" (more follow) or "250 text" (last).
struct ReplyLine {
  int code = 0;
  bool last = true;
  std::string text;
};

/// Parses one reply line (without CR LF); nothing when it is not "DDD", "DDD text" or "DDD-text".
std::optional<ReplyLine> ParseReplyLine(std::string_view line);

/// Whether EHLO reply lines (the text after the code, first line = the greeting) advertise the
/// STARTTLS extension (RFC 3207 §4), case-insensitively and without parameters.
bool OffersStarttls(const std::vector<std::string>& ehlo_lines);

struct ProbeRequest {
  std::string host;        // the MX host name: SNI and the name the certificate must carry
  net::IpAddress address;  // the vetted address to connect to; no lookup happens here
  std::uint16_t port = 25;
  std::string ehlo_name;  // what we call ourselves in EHLO
  Deadline deadline = Deadline::After(std::chrono::seconds(10));
};

/// How far one probe got. Failures to observe are data, like the policy fetcher's.
struct ProbeResult {
  enum class Outcome {
    kConnectFailed,  // TCP refused or unreachable
    kTimeout,        // the deadline passed (connect, greeting, EHLO, STARTTLS or handshake)
    kProtocolError,  // not SMTP: a malformed or overlong line, a closed connection, a 4xx/5xx
    kNoStarttls,     // EHLO answered, STARTTLS not offered (or refused with 4xx/5xx)
    kTlsFailed,      // STARTTLS accepted, the TLS 1.2+ handshake failed
    kTls,            // the handshake completed; see certificate for the verdict
  };
  Outcome outcome = Outcome::kProtocolError;
  std::string message;   // for every outcome but kTls, what happened in words
  std::string greeting;  // the first line of the 220 banner, when read
  std::optional<std::string> tls_version;
  std::optional<std::string> cipher;
  std::optional<net::CertificateInfo> certificate;  // verified against the trust store and host
};

/// Probes one MX address (RFC 3207 STARTTLS, RFC 8461 §4.2 certificate rules): connect, read the
/// greeting, EHLO, STARTTLS, TLS 1.2+ handshake with SNI = host, verify the chain against the
/// trust store and the DNS-ID against the host (VerifyCertificateFor, as for policy hosts), then
/// QUIT. No mail is ever sent. Lines are capped at 2048 bytes and replies at 100 lines; every
/// step is bounded by the request's deadline (non-blocking socket, poll). Thread-safe.
class SmtpProber {
 public:
  explicit SmtpProber(std::shared_ptr<const net::TrustStore> trust) : trust_(std::move(trust)) {}
  ProbeResult Probe(const ProbeRequest& request) const;

 private:
  std::shared_ptr<const net::TrustStore> trust_;
};

}  // namespace mtasts::smtp
