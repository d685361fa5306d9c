#include "agent/tlsrpt/ingest.h"

#include <algorithm>
#include <utility>

#include "agent/metrics_page.h"

namespace mtasts::agent::tlsrpt {

namespace report = mtasts::tlsrpt;

int HttpStatus(Answer answer) {
  switch (answer) {
    case Answer::kStored: return 201;
    case Answer::kAlreadyStored: return 200;
    case Answer::kMalformed: return 400;
    case Answer::kTooLarge: return 413;
    case Answer::kMediaType: return 415;
    case Answer::kUnwatched: return 422;
    case Answer::kUnavailable: return 503;
  }
  return 500;
}

int ExitStatus(Answer answer) {
  constexpr int kExOk = 0;
  constexpr int kExDataErr = 65;
  constexpr int kExTempFail = 75;
  switch (answer) {
    case Answer::kStored:
    case Answer::kAlreadyStored: return kExOk;
    case Answer::kMalformed:
    case Answer::kTooLarge:
    case Answer::kMediaType:
    case Answer::kUnwatched: return kExDataErr;
    case Answer::kUnavailable: return kExTempFail;
  }
  return kExTempFail;
}

std::optional<std::string_view> RejectedReason(Answer answer) {
  switch (answer) {
    case Answer::kMalformed: return "malformed";
    case Answer::kTooLarge: return "too_large";
    case Answer::kMediaType: return "media_type";
    case Answer::kUnwatched: return "unwatched";
    case Answer::kStored:
    case Answer::kAlreadyStored:
    case Answer::kUnavailable: break;
  }
  return std::nullopt;
}

std::string_view AnswerName(Answer answer) {
  switch (answer) {
    case Answer::kStored: return "stored";
    case Answer::kAlreadyStored: return "already stored";
    case Answer::kMalformed: return "malformed";
    case Answer::kTooLarge: return "too large";
    case Answer::kMediaType: return "unsupported media type";
    case Answer::kUnwatched: return "unwatched";
    case Answer::kUnavailable: return "store unavailable";
  }
  return "unknown";
}

IngestOutcome Ingest(std::string_view bytes, std::optional<report::InputKind> kind,
                     const DomainSet& watched, const IngestLimits& limits, ReportSink& sink,
                     std::int64_t now) {
  IngestOutcome out;
  if (!kind) {
    out.answer = Answer::kMediaType;
    out.message =
        "not a TLS-RPT media type: send application/tlsrpt+gzip or "
        "application/tlsrpt+json (RFC 8460 §5.4)";
    return out;
  }
  auto decoded = report::DecodeReport(bytes, *kind, limits.decode);
  if (!decoded) {
    const report::DecodeError& error = decoded.error();
    switch (error.kind) {
      case report::Refusal::kTooLarge: out.answer = Answer::kTooLarge; break;
      case report::Refusal::kMediaType: out.answer = Answer::kMediaType; break;
      case report::Refusal::kMalformed: out.answer = Answer::kMalformed; break;
    }
    out.message = error.message;
    return out;
  }
  const report::DecodedReport& d = decoded.value();
  const report::Report& r = d.report;
  out.organization = r.organization_name;
  out.report_id = r.report_id;
  out.source = d.source;
  if (r.end_time > now + limits.max_future_seconds) {
    out.answer = Answer::kMalformed;
    out.message = "date-range: end-datetime is more than " +
                  std::to_string(limits.max_future_seconds) + " s in the future";
    return out;
  }
  for (const auto& p : r.policies) {
    if (watched.contains(p.policy_domain) &&
        std::find(out.domains.begin(), out.domains.end(), p.policy_domain) == out.domains.end()) {
      out.domains.push_back(p.policy_domain);
    }
  }
  if (out.domains.empty()) {
    out.answer = Answer::kUnwatched;
    out.message = "no policy-domain of the report is a watched domain";
    return out;
  }
  const std::string compressed = d.received_gzip ? std::string() : GzipCompress(d.json);
  const std::string_view raw = d.received_gzip ? std::string_view(d.received) : compressed;
  auto stored = sink.Insert(ReportToStore{&r, raw, now});
  if (!stored) {
    out.answer = Answer::kUnavailable;
    out.message = "the report store is unavailable; try again later";
    out.internal_error = stored.error().message;
    return out;
  }
  out.answer = stored.value() == InsertResult::kStored ? Answer::kStored : Answer::kAlreadyStored;
  return out;
}

}  // namespace mtasts::agent::tlsrpt
