#pragma once

#include <string_view>

#include "collectors/dns/resolver.h"
#include "collectors/report/report.h"

namespace mtasts::sts {

/// Judges the answer for `_mta-sts.<domain>` TXT (RFC 8461 §3.1) into report.sts_record and
/// its issues: sts_record_missing, sts_record_invalid or dns_error. Pure: no I/O.
void ApplyStsRecord(std::string_view domain, const Result<dns::TxtAnswer>& answer,
                    DomainReport& report);

}  // namespace mtasts::sts
