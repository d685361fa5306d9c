#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/tlsrpt/store.h"
#include "collectors/tlsrpt/report/report_decode.h"

namespace mtasts::agent::tlsrpt {

/// The answer to one received report, shared by the three receiving paths (HTTP POST, the
/// `tlsrpt ingest` command, the Maildir).
enum class Answer {
  kStored,         // 201 / exit 0
  kAlreadyStored,  // 200 / exit 0: same organization-name and report-id, nothing counts twice
  kMalformed,      // 400 / exit 65: bad gzip, bad JSON, missing fields, absurd values, ...
  kTooLarge,       // 413 / exit 65
  kMediaType,      // 415 / exit 65
  kUnwatched,      // 422 / exit 65: no policy-domain is a watched domain; nothing stored
  kUnavailable,    // 503 / exit 75: the store failed; the sender should try again later
};

/// The HTTP status of an answer.
int HttpStatus(Answer answer);
/// The exit status of `tlsrpt ingest` (sysexits.h): EX_OK (0), EX_DATAERR (65) for anything
/// that is not a report for a watched domain, EX_TEMPFAIL (75) when the store is unavailable
/// (mail delivery agents defer the message and try again).
int ExitStatus(Answer answer);
/// The `reason` label of mta_sts_tlsrpt_rejected_total for a refusal: media_type, too_large,
/// malformed or unwatched; nothing for the other answers (rate_limited is the HTTP layer's).
std::optional<std::string_view> RejectedReason(Answer answer);
/// "stored", "already stored", "malformed", ...: for logs and messages.
std::string_view AnswerName(Answer answer);

struct IngestOutcome {
  Answer answer = Answer::kMalformed;
  std::string message;       // why, for a refusal (safe to show: sanitised, bounded)
  std::string organization;  // of the report, when it parsed
  std::string report_id;
  std::vector<std::string> domains;  // the watched policy domains it is about
  std::string source;                // how it came (media type, message part)
  std::string internal_error;        // kUnavailable: the store's error, for the log only
};

struct IngestLimits {
  mtasts::tlsrpt::DecodeLimits decode;
  /// A report whose date-range ends later than this after its receipt is refused: senders
  /// report on the past, and a far-future end would stay "recent" and never expire.
  std::int64_t max_future_seconds = 86'400;
};

/// Receives one report: decodes it (`kind` empty means an unsupported Content-Type: 415),
/// refuses a report none of whose policy-domains is in `watched` (422, nothing stored), and
/// otherwise hands it to `sink`, answering only once the sink says it is durable. The sink gets
/// the whole report: the policies for unwatched domains in a report that also covers a watched
/// one are stored with it, and no query ever counts them for an unwatched domain. The report's
/// JSON is kept gzip-compressed (as received when it came gzip). `now` is Unix seconds (the
/// receipt time). Never throws.
IngestOutcome Ingest(std::string_view bytes, std::optional<mtasts::tlsrpt::InputKind> kind,
                     const DomainSet& watched, const IngestLimits& limits, ReportSink& sink,
                     std::int64_t now);

}  // namespace mtasts::agent::tlsrpt
