#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "collectors/report/txt_fields.h"

namespace mtasts::tlsrpt {

/// A parsed `_smtp._tls` TXT record (RFC 8460 §3).
struct TlsRptRecord {
  std::vector<std::string> rua;  // every URI of the first rua field, as published
  Extensions extensions;
};

/// Parses one TXT record (joined) under the ABNF of RFC 8460 §3. Invalid when: the version is
/// not the literal first field, a field is malformed, there is no `rua`, a URI is not an
/// RFC 3986 absolute URI, or no URI uses a supported scheme (`mailto:` with an address,
/// `https:` with a host). Total: never throws.
Result<TlsRptRecord> ParseTlsRptRecord(std::string_view text);

struct TlsRptSelection {
  RecordStatus status = RecordStatus::kMissing;
  std::optional<TlsRptRecord> record;
  std::optional<std::string> raw;
  std::string problem;
  std::size_t candidates = 0;
};

/// RFC 8460 §3: records not beginning with `v=TLSRPTv1` (followed by end, WSP or ";") are
/// discarded; none left is kMissing, several is kInvalid, one that does not parse is kInvalid.
TlsRptSelection SelectTlsRptRecord(const std::vector<std::string>& txt_records);

}  // namespace mtasts::tlsrpt
