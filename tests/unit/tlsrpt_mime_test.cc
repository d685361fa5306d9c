// MIME unwrapping with GMime (collectors/tlsrpt/report/mime_unwrap.h) and the decoding pipeline
// from received bytes to a parsed report (collectors/tlsrpt/report/report_decode.h).
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collectors/tlsrpt/report/mime_unwrap.h"
#include "collectors/tlsrpt/report/report_decode.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::tlsrpt {
namespace {

using mtasts::test::Gzip;
using mtasts::test::ReadTlsRptTestData;

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t line = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
    if (++line == 19) {
      out += "\r\n";
      line = 0;
    }
  }
  return out + "\r\n";
}

std::string Message(const std::string& content_type, const std::string& body) {
  return "From: r@reporter.example\r\nTo: tlsrpt@example.com\r\nSubject: report\r\n"
         "MIME-Version: 1.0\r\nContent-Type: " +
         content_type + "\r\n\r\n" + body;
}

TEST(UnwrapReportMessage, Rfc8460MultipartReportWithBase64Gzip) {
  auto a = UnwrapReportMessage(ReadTlsRptTestData("message-rfc8460.eml"));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->bytes, ReadTlsRptTestData("google-sts.json.gz"));
  EXPECT_TRUE(a->gzip);
  EXPECT_TRUE(a->in_tlsrpt_report);
  EXPECT_EQ(a->media_type, "application/tlsrpt+gzip");
  EXPECT_EQ(a->filename, "google.com!example.com!1772409600!1772495999!001.json.gz");
}

TEST(UnwrapReportMessage, TlsRptMediaTypeWithoutReportTypeQuotedPrintableLf) {
  auto a = UnwrapReportMessage(ReadTlsRptTestData("message-no-report-type.eml"));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->bytes, ReadTlsRptTestData("tolerant.json"));
  EXPECT_FALSE(a->gzip);
  EXPECT_FALSE(a->in_tlsrpt_report);
  EXPECT_EQ(a->media_type, "application/tlsrpt+json");
}

TEST(UnwrapReportMessage, OctetStreamWithReportFileNameInNestedMultipart) {
  auto a = UnwrapReportMessage(ReadTlsRptTestData("message-filename-only.eml"));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_TRUE(a->gzip);
  EXPECT_EQ(a->media_type, "application/octet-stream");
  auto decoded = DecodeReport(ReadTlsRptTestData("message-filename-only.eml"), InputKind::kMessage);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->report.organization_name, "Microsoft Corporation");
}

TEST(UnwrapReportMessage, ForwardedMessageCarryingAReport) {
  const std::string inner = ReadTlsRptTestData("message-rfc8460.eml");
  const std::string outer = Message("multipart/mixed; boundary=\"fw\"",
                                    "--fw\r\nContent-Type: text/plain\r\n\r\nFYI\r\n"
                                    "--fw\r\nContent-Type: message/rfc822\r\n\r\n" +
                                        inner + "\r\n--fw--\r\n");
  auto a = UnwrapReportMessage(outer);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->bytes, ReadTlsRptTestData("google-sts.json.gz"));
}

TEST(UnwrapReportMessage, RefusalsWithTheirReasons) {
  const std::string gz = ReadTlsRptTestData("google-sts.json.gz");
  std::string many_parts;
  for (int i = 0; i < 80; ++i) many_parts += "--m\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  std::string deep_body;
  std::string deep_tail;
  for (int i = 0; i < 12; ++i) {
    deep_body += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=\"b" +
                 std::to_string(i + 1) + "\"\r\n\r\n";
    deep_tail = "--b" + std::to_string(i) + "--\r\n" + deep_tail;
  }
  deep_body +=
      "--b12\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: "
      "base64\r\n\r\n" +
      Base64(gz) + "--b12--\r\n" + deep_tail;
  struct Case {
    std::string name;
    std::string message;
    UnwrapFailure kind;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"two reports", ReadTlsRptTestData("message-two-reports.eml"), UnwrapFailure::kNotAReport,
       "carries 2 report attachments"},
      {"no report", ReadTlsRptTestData("message-no-report.eml"), UnwrapFailure::kNotAReport,
       "no TLS-RPT report in the message"},
      {"plain text", Message("text/plain", "hello\r\n"), UnwrapFailure::kNotAReport,
       "no TLS-RPT report"},
      {"empty", "", UnwrapFailure::kNotAReport, ""},
      {"too many parts", Message("multipart/mixed; boundary=\"m\"", many_parts + "--m--\r\n"),
       UnwrapFailure::kNotAReport, "more than 64 MIME parts"},
      {"too deep", Message("multipart/mixed; boundary=\"b0\"", deep_body),
       UnwrapFailure::kNotAReport, "nested deeper than 8"},
      {"message over the cap", Message("text/plain", std::string((std::size_t{4} << 20) + 1, 'a')),
       UnwrapFailure::kTooLarge, "message larger than 4194304 bytes"},
      {"attachment over the cap",
       Message("multipart/report; report-type=tlsrpt; boundary=\"r\"",
               "--r\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: "
               "base64\r\n\r\n" +
                   Base64(std::string((std::size_t{1} << 20) + 1, 'z')) + "--r--\r\n"),
       UnwrapFailure::kTooLarge, "report attachment larger than 1048576 bytes"},
      {"empty attachment",
       Message("multipart/report; report-type=tlsrpt; boundary=\"r\"",
               "--r\r\nContent-Type: application/tlsrpt+json\r\n\r\n--r--\r\n"),
       UnwrapFailure::kNotAReport, "empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto a = UnwrapReportMessage(c.message);
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().kind, c.kind);
    EXPECT_NE(a.error().message.find(c.reason), std::string::npos) << a.error().message;
  }
}

TEST(UnwrapReportMessage, PrefersThePartInsideTheTlsRptReport) {
  // A stray +json part outside, the report inside multipart/report: rule 1 decides.
  const std::string gz = ReadTlsRptTestData("google-sts.json.gz");
  const std::string message = Message(
      "multipart/mixed; boundary=\"o\"",
      "--o\r\nContent-Type: application/tlsrpt+json\r\n\r\n{}\r\n"
      "--o\r\nContent-Type: multipart/report; report-type=\"TLSRPT\"; boundary=\"r\"\r\n\r\n"
      "--r\r\nContent-Type: text/plain\r\n\r\nreport\r\n"
      "--r\r\nContent-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
          Base64(gz) + "--r--\r\n--o--\r\n");
  auto a = UnwrapReportMessage(message);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_TRUE(a->in_tlsrpt_report);
  EXPECT_EQ(a->bytes, gz);
}

TEST(UnwrapReportMessage, SafeFromManyThreadsAtOnce) {
  // g_mime_init() runs once, whichever thread gets there first.
  const std::string message = ReadTlsRptTestData("message-rfc8460.eml");
  const std::string expected = ReadTlsRptTestData("google-sts.json.gz");
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto a = UnwrapReportMessage(message);
        ok[static_cast<std::size_t>(t)] += a.has_value() && a->bytes == expected ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int n : ok) EXPECT_EQ(n, 25);
}

TEST(InputKindFromContentType, OnlyRfc8460MediaTypes) {
  EXPECT_EQ(InputKindFromContentType("application/tlsrpt+gzip"), InputKind::kGzip);
  EXPECT_EQ(InputKindFromContentType("Application/TLSRPT+JSON; charset=utf-8"), InputKind::kJson);
  EXPECT_EQ(InputKindFromContentType(" application/tlsrpt+json ;x=y"), InputKind::kJson);
  for (const char* other : {"application/json", "application/gzip", "text/plain", "",
                            "application/tlsrpt+gzipx", "multipart/report"}) {
    SCOPED_TRACE(other);
    EXPECT_FALSE(InputKindFromContentType(other).has_value());
  }
}

TEST(DecodeReport, EveryInputShapeAndRefusal) {
  const std::string json = ReadTlsRptTestData("google-sts.json");
  const std::string gz = ReadTlsRptTestData("google-sts.json.gz");
  struct Case {
    std::string name;
    std::string bytes;
    InputKind kind;
    bool ok;
    Refusal refusal;
    std::string text;  // the source when ok, a part of the reason otherwise
  };
  const std::vector<Case> cases = {
      {"http gzip", gz, InputKind::kGzip, true, {}, "application/tlsrpt+gzip"},
      {"http json", json, InputKind::kJson, true, {}, "application/tlsrpt+json"},
      {"bare gzip file", gz, InputKind::kMessage, true, {}, "bare gzip report"},
      {"bare json file", json, InputKind::kMessage, true, {}, "bare JSON report"},
      {"bare json with BOM and blank lines",
       "\xef\xbb\xbf\r\n  " + json,
       InputKind::kMessage,
       true,
       {},
       "bare JSON report"},
      {"message",
       ReadTlsRptTestData("message-rfc8460.eml"),
       InputKind::kMessage,
       true,
       {},
       "message: application/tlsrpt+gzip"},
      {"json declared gzip", json, InputKind::kGzip, false, Refusal::kMalformed,
       "broken gzip: no gzip header"},
      {"gzip declared json", gz, InputKind::kJson, false, Refusal::kMalformed, "not JSON"},
      {"body over 1 MiB", std::string((std::size_t{1} << 20) + 1, '{'), InputKind::kJson, false,
       Refusal::kTooLarge, "report larger than 1048576 bytes"},
      {"bad JSON in gzip", "\x1f\x8b garbage", InputKind::kGzip, false, Refusal::kMalformed,
       "broken gzip"},
      {"missing field", "{\"organization-name\":\"x\"}", InputKind::kJson, false,
       Refusal::kMalformed, "report-id: missing"},
      {"message without a report", ReadTlsRptTestData("message-no-report.eml"), InputKind::kMessage,
       false, Refusal::kMalformed, "no TLS-RPT report"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto decoded = DecodeReport(c.bytes, c.kind);
    ASSERT_EQ(decoded.has_value(), c.ok) << (decoded ? decoded->source : decoded.error().message);
    if (c.ok) {
      EXPECT_EQ(decoded->source.rfind(c.text, 0), 0U) << decoded->source;
      EXPECT_EQ(decoded->report.organization_name, "Google Inc.");
    } else {
      EXPECT_EQ(decoded.error().kind, c.refusal);
      EXPECT_NE(decoded.error().message.find(c.text), std::string::npos) << decoded.error().message;
    }
  }
}

TEST(DecodeReport, InflatedJsonOverTheCapIsTooLarge) {
  // tlsrpt.max_size applies to the JSON, whether it came gzip (small body, large JSON) or not.
  DecodeLimits limits;
  limits.max_inflated = 100'000;
  std::string padded = ReadTlsRptTestData("google-sts.json");
  padded.insert(1, std::string(200'000, ' '));
  for (const bool gzip : {true, false}) {
    SCOPED_TRACE(gzip);
    const std::string body = gzip ? Gzip(padded) : padded;
    ASSERT_LT(body.size(), limits.max_body);
    auto decoded = DecodeReport(body, gzip ? InputKind::kGzip : InputKind::kJson, limits);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().kind, Refusal::kTooLarge);
    EXPECT_NE(decoded.error().message.find("100000 bytes"), std::string::npos)
        << decoded.error().message;
  }
  limits.max_inflated = 300'000;
  EXPECT_TRUE(DecodeReport(Gzip(padded), InputKind::kGzip, limits).has_value());
}

}  // namespace
}  // namespace mtasts::tlsrpt
