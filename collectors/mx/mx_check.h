#pragma once

#include <string_view>

#include "collectors/dns/resolver.h"
#include "collectors/report/report.h"

namespace mtasts::mx {

/// Judges the domain's MX answer against the policy already in report.policy (RFC 8461 §4.1):
/// mx_missing, mx_not_covered (critical in enforce, high in testing; not judged in mode none)
/// or dns_error. Pure: no I/O.
void ApplyMx(std::string_view domain, const Result<dns::MxAnswer>& answer, DomainReport& report);

}  // namespace mtasts::mx
