#include "collectors/tlsrpt/report/report_decode.h"

#include <algorithm>
#include <utility>

#include "collectors/tlsrpt/report/gzip_inflate.h"

namespace mtasts::tlsrpt {
namespace {

std::string_view Trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool IsBareJson(std::string_view bytes) {
  if (bytes.starts_with("\xef\xbb\xbf")) bytes.remove_prefix(3);
  const auto first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '{';
}

DecodeError TooLarge(std::string message) {
  return DecodeError{Refusal::kTooLarge, std::move(message)};
}
DecodeError Malformed(std::string message) {
  return DecodeError{Refusal::kMalformed, std::move(message)};
}

Result<DecodedReport, DecodeError> FromBody(std::string body, bool gzip, std::string source,
                                            const DecodeLimits& limits) {
  if (body.size() > limits.max_body) {
    return TooLarge("report larger than " + std::to_string(limits.max_body) + " bytes");
  }
  DecodedReport decoded;
  if (gzip) {
    auto inflated = Gunzip(body, limits.max_inflated);
    if (!inflated) {
      const InflateError& error = inflated.error();
      return error.kind == InflateFailure::kTooLarge ? TooLarge("report JSON " + error.message)
                                                     : Malformed(error.message);
    }
    decoded.json = std::move(inflated).value();
  } else {
    if (body.size() > limits.max_inflated) {
      return TooLarge("report JSON larger than " + std::to_string(limits.max_inflated) + " bytes");
    }
    decoded.json = body;
  }
  auto report = ParseReport(decoded.json, limits.parse);
  if (!report) return Malformed(report.error().message);
  decoded.report = std::move(report).value();
  decoded.received = std::move(body);
  decoded.received_gzip = gzip;
  decoded.source = std::move(source);
  return decoded;
}

}  // namespace

std::optional<InputKind> InputKindFromContentType(std::string_view content_type) {
  std::string media(Trim(content_type.substr(0, content_type.find(';'))));
  std::transform(media.begin(), media.end(), media.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  // RFC 8460 §5.4 (HTTPS delivery) and §6.4/§6.5 (the two media types).
  if (media == "application/tlsrpt+gzip") return InputKind::kGzip;
  if (media == "application/tlsrpt+json") return InputKind::kJson;
  return std::nullopt;
}

Result<DecodedReport, DecodeError> DecodeReport(std::string_view bytes, InputKind kind,
                                                const DecodeLimits& limits) {
  switch (kind) {
    case InputKind::kGzip:
      return FromBody(std::string(bytes.substr(0, limits.max_body + 1)), true,
                      "application/tlsrpt+gzip", limits);
    case InputKind::kJson:
      return FromBody(std::string(bytes.substr(0, limits.max_body + 1)), false,
                      "application/tlsrpt+json", limits);
    case InputKind::kMessage: break;
  }
  if (LooksLikeGzip(bytes)) {
    return FromBody(std::string(bytes.substr(0, limits.max_body + 1)), true, "bare gzip report",
                    limits);
  }
  if (IsBareJson(bytes)) {
    return FromBody(std::string(bytes.substr(0, limits.max_body + 1)), false, "bare JSON report",
                    limits);
  }
  MimeLimits mime = limits.mime;
  mime.max_attachment = limits.max_body;
  auto attachment = UnwrapReportMessage(bytes, mime);
  if (!attachment) {
    const UnwrapError& error = attachment.error();
    return error.kind == UnwrapFailure::kTooLarge ? TooLarge(error.message)
                                                  : Malformed(error.message);
  }
  Attachment& part = attachment.value();
  std::string source = "message: " + part.media_type;
  if (!part.filename.empty()) source += " \"" + part.filename + "\"";
  if (!part.in_tlsrpt_report) source += " (outside multipart/report; report-type=tlsrpt)";
  const bool gzip = part.gzip;
  return FromBody(std::move(part.bytes), gzip, std::move(source), limits);
}

}  // namespace mtasts::tlsrpt
