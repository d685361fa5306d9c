#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace mtasts {

/// Validates a mail domain given by a user (command line, config, API) and returns its DNS
/// form: A-labels (IDNs converted with libidn2, IDNA2008/UTS#46 non-transitional), lower-case,
/// no trailing dot. Refused with a message that names the value and the reason: empty, longer
/// than 253 octets, a label empty or over 63 octets, characters outside LDH, a label starting
/// or ending with "-", a single label, an all-numeric top-level label, an IP literal in any
/// spelling (dotted, decimal, octal, hex, IPv6, bracketed), a URL, host:port or user@host,
/// whitespace, control characters, invalid UTF-8. ASCII labels are only lower-cased; U-labels and
/// "xn--" labels go through libidn2 (transitional processing as a fallback, for IDNA2003 names).
/// The value in messages is quoted with non-printable characters escaped. Never throws.
Result<std::string> NormalizeDomain(std::string_view input);

}  // namespace mtasts
