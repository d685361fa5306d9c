#pragma once

#include <string_view>

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

}  // namespace mtasts::net
