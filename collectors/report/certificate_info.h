#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mtasts::net {

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

}  // namespace mtasts::net
