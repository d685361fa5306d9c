#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mtasts::tlsrpt {

/// Bounds on one mail message carrying a report.
struct MimeLimits {
  std::size_t max_message = std::size_t{4} << 20;     // octets of the whole message
  std::size_t max_attachment = std::size_t{1} << 20;  // octets of the report part, decoded
  std::size_t max_parts = 64;                         // MIME entities visited
  std::size_t max_depth = 8;                          // nesting of multiparts and messages
};

enum class UnwrapFailure { kTooLarge, kNotAReport };

struct UnwrapError {
  UnwrapFailure kind = UnwrapFailure::kNotAReport;
  std::string message;
};

/// The report attachment of a message: its bytes with the transfer encoding undone.
struct Attachment {
  std::string bytes;
  std::string media_type;         // as declared, lower case ("application/tlsrpt+gzip", ...)
  std::string filename;           // as declared, sanitised; may be empty
  bool gzip = false;              // the bytes are gzip (by the gzip magic, whatever was declared)
  bool in_tlsrpt_report = false;  // found inside multipart/report; report-type=tlsrpt
};

/// Finds the TLS-RPT report in an RFC 5322 message, parsed with GMime (RFC 8460 §5.3).
///
/// Which part is the report, in order of preference; the first rule that finds any part
/// decides, and more than one part under it is refused (one report per message, §5.3):
///  1. a part of type application/tlsrpt+gzip or application/tlsrpt+json directly inside a
///     `multipart/report; report-type=tlsrpt` (the RFC's shape);
///  2. a part of one of those two types anywhere in the message (reporters that leave out the
///     report-type parameter or wrap the report differently);
///  3. a part whose file name ends in `.json.gz`, `.gz` or `.json` (reporters that declare
///     application/gzip, application/octet-stream or application/json).
/// Whether the bytes are gzip is read from the gzip magic, not from the declared type, since
/// reporters are not consistent in what they declare.
///
/// Bounded: the message by `max_message` (kTooLarge), the parts visited by `max_parts` and
/// their nesting by `max_depth` (kNotAReport), the decoded attachment by `max_attachment`
/// (kTooLarge). Base64, quoted-printable and the identity encodings are decoded by GMime, which
/// is initialised once per process here (thread-safe). Never throws.
Result<Attachment, UnwrapError> UnwrapReportMessage(std::string_view message,
                                                    const MimeLimits& limits = {});

}  // namespace mtasts::tlsrpt
