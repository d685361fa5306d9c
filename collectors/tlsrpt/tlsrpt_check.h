#pragma once

#include <string_view>

#include "collectors/dns/resolver.h"
#include "collectors/report/report.h"

namespace mtasts::tlsrpt {

/// Judges the answer for `_smtp._tls.<domain>` TXT (RFC 8460 §3) into report.tls_rpt and its
/// issues: tls_rpt_missing, tls_rpt_invalid or dns_error. Pure: no I/O.
void ApplyTlsRpt(std::string_view domain, const Result<dns::TxtAnswer>& answer,
                 DomainReport& report);

}  // namespace mtasts::tlsrpt
