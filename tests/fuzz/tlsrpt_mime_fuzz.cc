// libFuzzer target: the report's way in from a mail message (GMime, RFC 8460 §5.3) and the whole
// decoding pipeline, on any byte sequence.
#include <cstddef>
#include <cstdint>

#include "collectors/tlsrpt/report/gzip_inflate.h"
#include "collectors/tlsrpt/report/mime_unwrap.h"
#include "collectors/tlsrpt/report/report_decode.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  using namespace mtasts::tlsrpt;
  const auto input = fuzz::AsText(data, size);
  MimeLimits limits;
  limits.max_attachment = 256 * 1024;
  auto attachment = UnwrapReportMessage(input, limits);
  if (attachment) {
    const Attachment& a = attachment.value();
    fuzz::Require(!a.bytes.empty() && a.bytes.size() <= limits.max_attachment,
                  "the attachment is bounded");
    fuzz::Require(a.bytes.size() <= input.size(), "decoding never grows the content");
    fuzz::Require(a.gzip == LooksLikeGzip(a.bytes), "gzip is read from the magic");
  } else {
    fuzz::Require(!attachment.error().message.empty(), "a refusal says why");
  }
  DecodeLimits decode;
  decode.max_inflated = 1 << 20;
  auto decoded = DecodeReport(input, InputKind::kMessage, decode);
  if (decoded) {
    fuzz::Require(!decoded.value().report.policies.empty(), "a decoded report has policies");
    fuzz::Require(decoded.value().json.size() <= decode.max_inflated, "JSON bounded");
  } else {
    fuzz::Require(!decoded.error().message.empty(), "a refusal says why");
    fuzz::Require(decoded.error().kind != Refusal::kMediaType, "no media type from bytes");
  }
  return 0;
}
