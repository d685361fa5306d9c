#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "collectors/tlsrpt/report/mime_unwrap.h"
#include "collectors/tlsrpt/report/report.h"
#include "collectors/tlsrpt/report/report_parser.h"

namespace mtasts::tlsrpt {

/// What the bytes handed to DecodeReport are.
enum class InputKind {
  kGzip,     // an HTTP body declared application/tlsrpt+gzip (RFC 8460 §5.4)
  kJson,     // an HTTP body declared application/tlsrpt+json
  kMessage,  // a file or stdin: an RFC 5322 message, or a bare report (gzip or JSON)
};

/// The media type of an HTTP body (a Content-Type value: parameters and case do not matter):
/// kGzip or kJson for RFC 8460's two, nothing for any other (an answer of 415).
std::optional<InputKind> InputKindFromContentType(std::string_view content_type);

/// Why bytes are not a report, in the contract's terms (400 / 413 / 415).
enum class Refusal { kMalformed, kTooLarge, kMediaType };

struct DecodeError {
  Refusal kind = Refusal::kMalformed;
  std::string message;
};

struct DecodeLimits {
  std::size_t max_body = std::size_t{1} << 20;       // the report as received (gzip or JSON)
  std::size_t max_inflated = std::size_t{16} << 20;  // tlsrpt.max_size: JSON after inflating
  MimeLimits mime;                                   // messages (max_attachment = max_body)
  ParseLimits parse;
};

struct DecodedReport {
  Report report;
  std::string received;  // the report's bytes as received (gzip or JSON), for the store
  bool received_gzip = false;
  std::string json;    // the report's JSON text
  std::string source;  // how it came: "application/tlsrpt+gzip", "message: ...", ...
};

/// Bytes to a parsed report: for kMessage, a bare report is recognised by its first bytes (the
/// gzip magic, or "{" after optional whitespace and a UTF-8 BOM), anything else is unwrapped as
/// a message (UnwrapReportMessage); gzip is inflated under `max_inflated` (Gunzip); the JSON is
/// parsed (ParseReport). Refusals: kTooLarge for a body over `max_body`, a message over its cap
/// or JSON inflating past `max_inflated`; kMalformed for everything else that is not a report.
/// kMediaType is never returned here (the caller decides it from the Content-Type). Pure; never
/// throws.
Result<DecodedReport, DecodeError> DecodeReport(std::string_view bytes, InputKind kind,
                                                const DecodeLimits& limits = {});

}  // namespace mtasts::tlsrpt
