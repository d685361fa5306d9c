// The policy fetch's HTTP/1.1 response reading as pure functions: the head parser, the body
// framing, the chunked decoder and the incremental reader, table-driven. Every reader case is fed
// whole, one byte at a time and in 7-byte pieces, and must end the same way each time.
#include "collectors/net/http_response_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mtasts::net {
namespace {

using Progress = ResponseReader::Progress;

std::string Repeat(std::string_view text, std::size_t times) {
  std::string out;
  out.reserve(text.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += text;
  return out;
}

const char* Name(Progress p) {
  switch (p) {
    case Progress::kNeedMore: return "kNeedMore";
    case Progress::kComplete: return "kComplete";
    case Progress::kMalformed: return "kMalformed";
    case Progress::kHeadTooLarge: return "kHeadTooLarge";
    case Progress::kBodyTooLarge: return "kBodyTooLarge";
    case Progress::kTruncated: return "kTruncated";
  }
  return "?";
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\n";
constexpr std::string_view kChunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

// A head of exactly `size` bytes with status 404 (complete with its head): one padded field.
std::string HeadOfSize(std::size_t size) {
  const std::string start = "HTTP/1.1 404 Not Found\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(size - start.size() - end.size(), 'a') + end;
}

struct Case {
  // A constructor rather than an aggregate: most rows leave the trailing fields at their defaults.
  Case(const char* name_, std::string input_, bool close_ = false, std::size_t max_body_ = 65536,
       Progress want_ = Progress::kComplete, int status_ = 0, std::string body_ = "",
       std::string problem_ = "")
      : name(name_),
        input(std::move(input_)),
        close(close_),
        max_body(max_body_),
        want(want_),
        status(status_),
        body(std::move(body_)),
        problem(std::move(problem_)) {}

  const char* name;
  std::string input;
  bool close;  // the peer closes cleanly after the input
  std::size_t max_body;
  Progress want;
  int status;           // checked when non-zero
  std::string body;     // checked on kComplete
  std::string problem;  // a fragment of Problem(), checked when non-empty
};

std::vector<Case> Cases() {
  const std::string policy = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400\n";
  return {
      // Framing.
      {"content length",
       std::string(kOk) + "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", false,
       65536, Progress::kComplete, 200, "hello"},
      {"bare LF line endings", "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", false, 65536,
       Progress::kComplete, 200, "hello"},
      {"mixed line endings", "HTTP/1.1 200 OK\r\nContent-Length: 5\n\r\nhello", false, 65536,
       Progress::kComplete, 200, "hello"},
      {"bytes past the length are ignored", std::string(kOk) + "Content-Length: 2\r\n\r\nhello",
       false, 65536, Progress::kComplete, 200, "he"},
      {"empty body", std::string(kOk) + "Content-Length: 0\r\n\r\n", false, 65536,
       Progress::kComplete, 200, ""},
      {"a policy",
       std::string(kOk) + "Content-Length: " + std::to_string(policy.size()) +
           "\r\nContent-Type: text/plain\r\n\r\n" + policy,
       false, 65536, Progress::kComplete, 200, policy},
      {"until close", std::string(kOk) + "\r\nhello", true, 65536, Progress::kComplete, 200,
       "hello"},
      {"until close, not closed yet", std::string(kOk) + "\r\nhello", false, 65536,
       Progress::kNeedMore},
      {"HTTP/1.0 without a reason", "HTTP/1.0 200\r\n\r\nx", true, 65536, Progress::kComplete, 200,
       "x"},
      {"until close, exactly the cap", std::string(kOk) + "\r\n" + std::string(10, 'a'), true, 10,
       Progress::kComplete, 200, std::string(10, 'a')},
      // Statuses.
      {"404: the head is enough", "HTTP/1.1 404 Not Found\r\nContent-Length: 999999\r\n\r\n", false,
       65536, Progress::kComplete, 404, ""},
      {"301 with a location", "HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\n\r\n", false,
       65536, Progress::kComplete, 301, ""},
      {"204", "HTTP/1.1 204 No Content\r\n\r\n", false, 65536, Progress::kComplete, 204, ""},
      {"interim responses first",
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
           std::string(kOk) + "Content-Length: 2\r\n\r\nok",
       false, 65536, Progress::kComplete, 200, "ok"},
      {"101 was never asked for", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false,
       65536, Progress::kMalformed, 0, "", "101"},
      // Chunked.
      {"chunked", std::string(kChunkedHead) + "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\n\r\n",
       false, 65536, Progress::kComplete, 200, "hello world"},
      {"chunked with LF only and trailers",
       "HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\nA\n0123456789\n0\nX-Check: 1\n\n", false,
       65536, Progress::kComplete, 200, "0123456789"},
      {"chunked, whitespace before an extension",
       std::string(kChunkedHead) + "3 ;x\r\nabc\r\n0\r\n\r\n", false, 65536, Progress::kComplete,
       200, "abc"},
      {"chunked, bytes after the body ignored",
       std::string(kChunkedHead) + "1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", false, 65536,
       Progress::kComplete, 200, "a"},
      {"chunk size not hexadecimal", std::string(kChunkedHead) + "zz\r\nhello\r\n0\r\n\r\n", false,
       65536, Progress::kMalformed, 200, "", "\"zz\" is not hexadecimal"},
      {"chunk size with junk after it", std::string(kChunkedHead) + "5x\r\nhello\r\n0\r\n\r\n",
       false, 65536, Progress::kMalformed, 200, "", "not hexadecimal"},
      {"chunk data without its line ending", std::string(kChunkedHead) + "5\r\nhelloX\r\n0\r\n\r\n",
       false, 65536, Progress::kMalformed, 200, "", "not followed by a line ending"},
      {"a chunk past the cap", std::string(kChunkedHead) + "b\r\n", false, 10,
       Progress::kBodyTooLarge, 200},
      {"chunks past the cap together", std::string(kChunkedHead) + "6\r\nabcdef\r\n6\r\n", false,
       10, Progress::kBodyTooLarge, 200},
      {"a chunk size that overflows 64 bits",
       std::string(kChunkedHead) + "fffffffffffffffffffffff\r\n", false, 65536,
       Progress::kBodyTooLarge, 200},
      {"a chunk-size line that never ends", std::string(kChunkedHead) + std::string(5000, '0'),
       false, 65536, Progress::kMalformed, 200, "", "chunk-size line longer than 1024 bytes"},
      {"chunk-size lines heavier than the body",
       std::string(kChunkedHead) + Repeat("1;" + std::string(900, 'e') + "\r\na\r\n", 40), false,
       65536, Progress::kMalformed, 200, "", "bytes of chunk-size lines"},
      {"trailers past the head budget",
       std::string(kChunkedHead) + "0\r\n" + Repeat("X-T: " + std::string(995, 't') + "\r\n", 17),
       false, 65536, Progress::kHeadTooLarge, 200, "", "trailer fields exceeded 16 KiB"},
      {"a malformed trailer", std::string(kChunkedHead) + "0\r\n bad\r\n\r\n", false, 65536,
       Progress::kMalformed, 200, "", "obs-fold"},
      {"chunked, closed early", std::string(kChunkedHead) + "5\r\nhel", true, 65536,
       Progress::kTruncated, 200},
      // Caps on the head.
      {"a head of exactly 16 KiB", HeadOfSize(16384), false, 65536, Progress::kComplete, 404, ""},
      {"a head of 16 KiB and one byte", HeadOfSize(16385), false, 65536, Progress::kHeadTooLarge, 0,
       "", "exceeded 16 KiB"},
      {"one endless header line", std::string(kOk) + "X-Big: " + std::string(1 << 20, 'a'), false,
       65536, Progress::kHeadTooLarge, 0, "", "exceeded 16 KiB"},
      {"a flood of header lines", std::string(kOk) + Repeat("a:b\r\n", 5000), false, 65536,
       Progress::kHeadTooLarge, 0, "", "more than 100 header lines"},
      {"100 header lines", std::string(kOk) + Repeat("a:b\r\n", 100) + "Content-Length: 0\r\n\r\n",
       false, 65536, Progress::kHeadTooLarge, 0, "", "more than 100 header lines"},
      {"99 header lines and a length",
       std::string(kOk) + Repeat("a:b\r\n", 99) + "Content-Length: 0\r\n\r\n", false, 65536,
       Progress::kComplete, 200, ""},
      {"interim heads count against the cap",
       Repeat("HTTP/1.1 103 Early Hints\r\n" + Repeat("Link: </x>\r\n", 30) + "\r\n", 4) +
           std::string(kOk) + "\r\n",
       false, 65536, Progress::kHeadTooLarge, 0, "", "more than 100 header lines"},
      {"Content-Length past the cap", std::string(kOk) + "Content-Length: 11\r\n\r\n", false, 10,
       Progress::kBodyTooLarge, 200},
      {"Content-Length past 64 bits",
       std::string(kOk) + "Content-Length: 99999999999999999999999\r\n\r\n", false, 65536,
       Progress::kBodyTooLarge, 200},
      {"until close past the cap", std::string(kOk) + "\r\n" + std::string(11, 'a'), false, 10,
       Progress::kBodyTooLarge, 200},
      // Strict head syntax.
      {"obs-fold", std::string(kOk) + "A: b\r\n c\r\n\r\n", false, 65536, Progress::kMalformed, 0,
       "", "obs-fold"},
      {"whitespace before the colon", std::string(kOk) + "A : b\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "whitespace before the colon"},
      {"no colon", std::string(kOk) + "Content-Length 5\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "has no colon"},
      {"a name that is not a token", std::string(kOk) + "A(b): c\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "not a token"},
      {"an empty name", std::string(kOk) + ": c\r\n\r\n", false, 65536, Progress::kMalformed, 0, "",
       "empty field name"},
      {"a bare CR", std::string(kOk) + "A: b\rc\r\n\r\n", false, 65536, Progress::kMalformed, 0, "",
       "bare CR"},
      {"a NUL in a value", std::string(kOk) + std::string("A: b\0c\r\n\r\n", 10), false, 65536,
       Progress::kMalformed, 0, "", "control character"},
      {"HTTP/2", "HTTP/2 200 OK\r\n\r\n", false, 65536, Progress::kMalformed, 0, "",
       "is not \"HTTP/1.x NNN\""},
      {"a two-digit status", "HTTP/1.1 20 OK\r\n\r\n", false, 65536, Progress::kMalformed},
      {"no space after the status", "HTTP/1.1 200OK\r\n\r\n", false, 65536, Progress::kMalformed},
      {"status 600", "HTTP/1.1 600 Odd\r\n\r\n", false, 65536, Progress::kMalformed, 0, "",
       "outside 100-599"},
      {"not HTTP at all", "ICY 200 OK\r\n\r\n", false, 65536, Progress::kMalformed},
      {"an empty line first", "\r\nHTTP/1.1 200 OK\r\n\r\n", false, 65536, Progress::kMalformed, 0,
       "", "no status line"},
      // Framing conflicts.
      {"both Transfer-Encoding and Content-Length",
       std::string(kOk) + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "both Transfer-Encoding and Content-Length"},
      {"two Content-Length fields",
       std::string(kOk) + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "more than one Content-Length"},
      {"a Content-Length list", std::string(kOk) + "Content-Length: 5, 5\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "is not a number"},
      {"a negative Content-Length", std::string(kOk) + "Content-Length: -1\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "is not a number"},
      {"gzip", std::string(kOk) + "Transfer-Encoding: gzip\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "is not plain chunked"},
      {"gzip, then chunked", std::string(kOk) + "Transfer-Encoding: gzip, chunked\r\n\r\n", false,
       65536, Progress::kMalformed, 0, "", "is not plain chunked"},
      {"chunked in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 65536,
       Progress::kMalformed, 0, "", "HTTP/1.0"},
      // Truncation.
      {"closed mid-body", std::string(kOk) + "Content-Length: 10\r\n\r\nhello", true, 65536,
       Progress::kTruncated, 200},
      {"closed mid-head", "HTTP/1.1 200 OK\r\nContent-", true, 65536, Progress::kTruncated},
      {"closed before a byte", "", true, 65536, Progress::kTruncated},
  };
}

/// Feeds `input` in pieces of `piece` bytes (0: whole), then closes when asked.
ResponseReader Read(const Case& c, std::size_t piece) {
  ResponseReader reader(c.max_body);
  std::string_view rest = c.input;
  if (piece == 0) piece = rest.size() + 1;
  while (!rest.empty()) {
    const std::size_t n = std::min(piece, rest.size());
    reader.Feed(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  if (c.close) reader.Close();
  return reader;
}

TEST(HttpResponseReader, EveryCaseEndsAsExpectedHoweverTheBytesArrive) {
  for (const Case& c : Cases()) {
    for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      SCOPED_TRACE(std::string(c.name) + ", pieces of " + std::to_string(piece));
      const ResponseReader reader = Read(c, piece);
      ASSERT_EQ(Name(reader.Current()), std::string(Name(c.want))) << reader.Problem();
      if (c.status != 0) {
        ASSERT_TRUE(reader.Head().has_value());
        EXPECT_EQ(reader.Head()->status, c.status);
      }
      if (c.want == Progress::kComplete) {
        EXPECT_EQ(reader.Body(), c.body);
      }
      if (!c.problem.empty()) {
        EXPECT_NE(reader.Problem().find(c.problem), std::string::npos) << reader.Problem();
      }
      EXPECT_LE(reader.Body().size(), c.max_body);
    }
  }
}

TEST(HttpResponseReader, BodyErrorsAreToldFromHeadErrors) {
  ResponseReader bad_body(65536);
  bad_body.Feed(std::string(kChunkedHead) + "zz\r\n");
  EXPECT_EQ(bad_body.Current(), Progress::kMalformed);
  EXPECT_TRUE(bad_body.InBody());
  ResponseReader bad_head(65536);
  bad_head.Feed("HTTP/1.1 200 OK\r\nA : b\r\n\r\n");
  EXPECT_EQ(bad_head.Current(), Progress::kMalformed);
  EXPECT_FALSE(bad_head.InBody());
}

TEST(HttpResponseReader, NothingIsReadPastAVerdict) {
  ResponseReader reader(65536);
  EXPECT_EQ(reader.Feed(std::string(kOk) + "Content-Length: 1\r\n\r\nab"), Progress::kComplete);
  EXPECT_EQ(reader.Feed(std::string(1 << 20, 'x')), Progress::kComplete);
  EXPECT_EQ(reader.Close(), Progress::kComplete);
  EXPECT_EQ(reader.Body(), "a");
  ResponseReader flooded(65536);
  EXPECT_EQ(flooded.Feed(std::string(kOk) + Repeat("a:b\r\n", 200)), Progress::kHeadTooLarge);
  EXPECT_EQ(flooded.Feed("\r\n\r\nbody"), Progress::kHeadTooLarge);
  EXPECT_FALSE(flooded.Head().has_value());
}

// --- ParseResponseHead and FramingOf directly ---------------------------------------------

TEST(ParseResponseHead, FieldsAsSentValuesTrimmedNamesCaseInsensitive) {
  auto head = ParseResponseHead(
      "HTTP/1.1 200 Fine thanks\r\nContent-Type:  text/plain; charset=utf-8 \t\r\n"
      "X-A: 1\r\nx-a: 2\r\nEmpty:\r\n\r\n");
  ASSERT_TRUE(head.has_value()) << head.error().message;
  EXPECT_EQ(head->minor_version, 1);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->reason, "Fine thanks");
  ASSERT_EQ(head->fields.size(), 4U);
  EXPECT_EQ(head->fields[0].name, "Content-Type");
  EXPECT_EQ(head->fields[0].value, "text/plain; charset=utf-8");
  EXPECT_EQ(head->Values("CONTENT-TYPE"),
            std::vector<std::string_view>{"text/plain; charset=utf-8"});
  EXPECT_EQ(head->Values("x-A"), (std::vector<std::string_view>{"1", "2"}));
  EXPECT_EQ(head->Values("Empty"), std::vector<std::string_view>{""});
  EXPECT_TRUE(head->Values("Location").empty());
}

TEST(ParseResponseHead, RefusesWhatIsNotAWholeHead) {
  const struct {
    const char* head;
    const char* problem;
  } kRows[] = {
      {"HTTP/1.1 200 OK\r\nA: b\r\n", "does not end with an empty line"},
      {"HTTP/1.1 200 OK\r\n\r\nextra", "bytes follow the empty line"},
      {"\r\n", "no status line"},
      {"HTTP/1.1 200 OK\x01\r\n\r\n", "control character in its reason"},
  };
  for (const auto& row : kRows) {
    SCOPED_TRACE(row.head);
    auto head = ParseResponseHead(row.head);
    ASSERT_FALSE(head.has_value());
    EXPECT_NE(head.error().message.find(row.problem), std::string::npos) << head.error().message;
  }
  EXPECT_FALSE(ParseResponseHead("HTTP/1.1 200 OK\r\na: 1\r\nb: 2\r\n\r\n", 1).has_value());
  EXPECT_TRUE(ParseResponseHead("HTTP/1.1 200 OK\r\na: 1\r\n\r\n", 1).has_value());
}

TEST(FramingOf, EachWayABodyIsDelimited) {
  using Kind = BodyFraming::Kind;
  const struct {
    const char* head;
    Kind kind;
    std::uint64_t length;
  } kRows[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", Kind::kLength, 42},
      {"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", Kind::kLength, 7},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Kind::kChunked, 0},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked,\r\n\r\n", Kind::kChunked, 0},
      {"HTTP/1.1 200 OK\r\n\r\n", Kind::kUntilClose, 0},
      {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", Kind::kNone, 0},
      {"HTTP/1.1 304 Not Modified\r\n\r\n", Kind::kNone, 0},
  };
  for (const auto& row : kRows) {
    SCOPED_TRACE(row.head);
    auto head = ParseResponseHead(row.head);
    ASSERT_TRUE(head.has_value()) << head.error().message;
    auto framing = FramingOf(*head);
    ASSERT_TRUE(framing.has_value()) << framing.error().message;
    EXPECT_EQ(framing->kind, row.kind);
    EXPECT_EQ(framing->length, row.length);
  }
}

// --- ChunkedDecoder directly --------------------------------------------------------------

TEST(ChunkedDecoder, LeavesWhatFollowsTheBodyAndKeepsItsVerdict) {
  ChunkedDecoder decoder(100, 100, 5);
  std::string body;
  std::string_view in = "3\r\nabc\r\n0\r\nT: 1\r\n\r\nNEXT";
  EXPECT_EQ(decoder.Feed(in, body), ChunkedDecoder::Progress::kComplete);
  EXPECT_EQ(body, "abc");
  EXPECT_EQ(in, "NEXT");
  std::string_view more = "5\r\nhello\r\n";
  EXPECT_EQ(decoder.Feed(more, body), ChunkedDecoder::Progress::kComplete);
  EXPECT_EQ(body, "abc");
}

TEST(ChunkedDecoder, TrailerBudgetsAreTheCallers) {
  const struct {
    std::size_t bytes;
    std::size_t lines;
    ChunkedDecoder::Progress want;
  } kRows[] = {
      {100, 2, ChunkedDecoder::Progress::kComplete},
      {100, 1, ChunkedDecoder::Progress::kTrailersTooLarge},
      {20, 5, ChunkedDecoder::Progress::kTrailersTooLarge},
      {27, 5, ChunkedDecoder::Progress::kComplete},  // both lines and the empty one; "0\r\n" is
      {26, 5, ChunkedDecoder::Progress::kTrailersTooLarge},  // framing, not trailer
  };
  for (const auto& row : kRows) {
    SCOPED_TRACE(std::to_string(row.bytes) + " bytes, " + std::to_string(row.lines) + " lines");
    ChunkedDecoder decoder(100, row.bytes, row.lines);
    std::string body;
    std::string_view in = "0\r\nA: 12345678\r\nB: 1234567\r\n\r\n";
    EXPECT_EQ(decoder.Feed(in, body), row.want) << decoder.Problem();
  }
}

}  // namespace
}  // namespace mtasts::net
