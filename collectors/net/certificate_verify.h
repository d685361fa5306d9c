#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/net/https_fetcher.h"

struct x509_st;
struct stack_st_X509;

namespace mtasts::net {

/// What a leaf certificate says: subject, issuer, subjectAltName dNSNames, notAfter. Pure.
CertificateInfo DescribeLeaf(x509_st* leaf);

/// Verifies `leaf` (with the peer's `untrusted` intermediates, may be null) against `store` for
/// `host` under RFC 8461 §3.3/§4.2 and RFC 6125: the chain must lead to a trusted root, no
/// certificate may be expired, and a subjectAltName DNS-ID must match `host` (never the subject
/// CN; a wildcard only as the whole left-most label). Returns DescribeLeaf's fields plus the
/// verdict (verified, verify_code, verify_error). Thread-safe; never throws.
CertificateInfo VerifyCertificateFor(x509_st* leaf, stack_st_X509* untrusted, x509_store_st* store,
                                     std::string_view host);

/// "YYYY-MM-DD HH:MM:SS UTC", for certificate dates in messages.
std::string FormatCertificateDate(std::int64_t unix_seconds);

/// Up to five certificate names, joined ("a, b and 3 more"), or what a certificate without a
/// subjectAltName DNS name shows.
std::string JoinCertificateNames(const std::vector<std::string>& names);

/// Why `cert` failed VerifyCertificateFor, in words a mail admin can act on. `where` names the
/// peer as the message should show it, `name` what the certificate must be valid for, and
/// `rule` (may be empty) the RFC section a name mismatch breaks.
std::string DescribeCertificateFailure(std::string_view where, std::string_view name,
                                       const CertificateInfo& cert, std::string_view rule = "");

/// The queued OpenSSL errors of this thread, joined and cleared; `when_none` when there are none.
std::string DrainOpenSslErrors(std::string_view when_none);

}  // namespace mtasts::net
