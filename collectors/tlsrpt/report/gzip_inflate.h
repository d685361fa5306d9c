#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mtasts::tlsrpt {

/// Why a gzip body gave no bytes: it inflates past the cap, or it is not (whole) gzip.
enum class InflateFailure { kTooLarge, kBroken };

struct InflateError {
  InflateFailure kind = InflateFailure::kBroken;
  std::string message;
};

/// True when `bytes` starts with the gzip magic (RFC 1952 §2.3.1: 1f 8b).
bool LooksLikeGzip(std::string_view bytes);

/// The bytes a gzip stream (RFC 1952) holds, inflated with zlib, at most `max_output` of them.
///
/// Memory: output is produced in 64 KiB steps and inflation stops as soon as it would pass
/// `max_output`, so a gzip bomb costs at most `max_output` (plus one step), however far it would
/// inflate; "too large" is answered without reading the rest. Concatenated members (RFC 1952
/// §2.2; what `cat a.gz b.gz` makes, and gzip(1) reads as one file) are inflated one after the
/// other under the same cap. Anything after the last member that is not another member (trailing
/// garbage, zero padding) makes the body broken, as do a bad CRC or length, a truncated stream
/// and an empty body: a report is one exact object, and extra bytes mean the sender and we may
/// not agree on what it is. Never throws.
Result<std::string, InflateError> Gunzip(std::string_view compressed, std::size_t max_output);

}  // namespace mtasts::tlsrpt
