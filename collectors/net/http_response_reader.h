#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mtasts::net {

/// Bounds on what a policy host may send around its body (README "Policy fetch"). The head
/// budget covers every status line, header line and trailer line of the response, 1xx interim
/// heads included, with their line endings.
inline constexpr std::size_t kMaxResponseHead = std::size_t{16} * 1024;
/// Header and trailer lines of a response, in all.
inline constexpr std::size_t kMaxHeaderLines = 100;
/// One chunk-size line with its extensions (RFC 9112 §7.1.1), line ending included.
inline constexpr std::size_t kMaxChunkSizeLine = 1024;
/// Chunk-size lines and the line endings after chunk data, in all: a peer sending one-byte
/// chunks with long extensions cannot make the body cost more than this on top of itself.
inline constexpr std::size_t kMaxChunkFraming = std::size_t{16} * 1024;

struct HeaderField {
  std::string name;   // as sent
  std::string value;  // without the whitespace around it
};

/// A response head as sent: the status line and its header fields (RFC 9112 §4, §5).
struct ResponseHead {
  int minor_version = 1;  // HTTP/1.x
  int status = 0;
  std::string reason;
  std::vector<HeaderField> fields;

  /// The values of every field called `name` (case-insensitive), in the order sent.
  std::vector<std::string_view> Values(std::string_view name) const;
};

/// Parses one complete response head: the status line `HTTP/1.x NNN [reason]`, then `name: value`
/// lines, then an empty line; every line ends in CRLF or a bare LF (RFC 9112 §2.2). Strict: a
/// field name that is not a token, whitespace before the colon, obs-fold (RFC 9112 §5.2), control
/// characters or a bare CR, a status outside 100-599, more than `max_fields` fields: each an
/// error naming the line. Pure.
Result<ResponseHead> ParseResponseHead(std::string_view head,
                                       std::size_t max_fields = kMaxHeaderLines);

/// How the body of a response to GET is delimited (RFC 9112 §6.3).
struct BodyFraming {
  enum class Kind {
    kNone,        // 1xx, 204, 304: no body
    kLength,      // Content-Length
    kChunked,     // Transfer-Encoding: chunked
    kUntilClose,  // neither: the body ends when the connection does
  };
  Kind kind = Kind::kUntilClose;
  std::uint64_t length = 0;  // for kLength; saturates at UINT64_MAX
};

/// The framing of `head`'s body. Refused: more than one Content-Length or a malformed one, both
/// Transfer-Encoding and Content-Length (a request-smuggling signal, RFC 9112 §6.3), any transfer
/// coding other than exactly `chunked`, Transfer-Encoding in an HTTP/1.0 response. Pure.
Result<BodyFraming> FramingOf(const ResponseHead& head);

/// Decodes a chunked body (RFC 9112 §7.1) from pieces as they arrive, keeping nothing but the
/// decoded body and one line: chunk-size lines are capped at kMaxChunkSizeLine, their total at
/// kMaxChunkFraming, the body at `max_body`, trailer lines at `max_trailer_bytes` and
/// `max_trailer_lines` (what the head left of its budget). Lines end in CRLF or a bare LF.
/// No I/O; one decoder per body.
class ChunkedDecoder {
 public:
  enum class Progress {
    kNeedMore,          // everything given was consumed; the body is not complete yet
    kComplete,          // the last chunk and the trailers were read
    kMalformed,         // Problem() says what
    kTooLarge,          // a chunk would take the body past max_body
    kTrailersTooLarge,  // the trailers exceed the head's remaining budget
  };

  ChunkedDecoder(std::size_t max_body, std::size_t max_trailer_bytes,
                 std::size_t max_trailer_lines);

  /// Decodes from the front of `in`, appending chunk data to `body` and removing what it consumed
  /// from `in` (on kComplete, `in` keeps what followed the body). Once it returned anything but
  /// kNeedMore it returns the same again.
  Progress Feed(std::string_view& in, std::string& body);
  const std::string& Problem() const { return problem_; }

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailerLine, kDone };
  Progress Fail(Progress progress, std::string problem);
  Progress EndSizeLine(std::string& body);
  Progress EndTrailerLine();

  std::size_t max_body_;
  std::size_t max_trailer_bytes_;
  std::size_t max_trailer_lines_;
  State state_ = State::kSizeLine;
  Progress progress_ = Progress::kNeedMore;
  std::string line_;             // the line being read (size line or trailer line)
  std::uint64_t remaining_ = 0;  // chunk data still to come
  std::size_t framing_ = 0;      // bytes of size lines and data line endings so far
  std::size_t trailer_bytes_ = 0;
  std::size_t trailer_lines_ = 0;
  bool data_end_cr_ = false;  // kDataEnd: the CR was seen
  std::string problem_;
};

/// Reads the response to one policy GET from the bytes of the connection as they arrive, within
/// fixed bounds: the head (interim 1xx heads and trailers included) within kMaxResponseHead and
/// kMaxHeaderLines, the body within `max_body`; nothing else is buffered. A final status other
/// than 200 is complete with its head (only 200 gives a policy, RFC 8461 §3.3, so its body is not
/// read). A Content-Length over `max_body` is kBodyTooLarge before any body byte. No I/O.
class ResponseReader {
 public:
  enum class Progress {
    kNeedMore,      // give it more bytes, or Close()
    kComplete,      // Head() and Body() are the response
    kMalformed,     // not HTTP/1.x as RFC 9112 has it; Problem() says what
    kHeadTooLarge,  // the head (or trailers) went past kMaxResponseHead or kMaxHeaderLines
    kBodyTooLarge,  // the body went (or would go) past max_body; Head() is set
    kTruncated,     // the peer closed before the response was complete
  };

  explicit ResponseReader(std::size_t max_body);

  /// Consumes bytes that just arrived. Bytes after a complete response are ignored.
  Progress Feed(std::string_view data);
  /// The peer ended the stream cleanly: completes a body delimited by the close, else kTruncated.
  Progress Close();

  Progress Current() const { return progress_; }
  /// The final response's head, once read (also on kBodyTooLarge and body errors).
  const std::optional<ResponseHead>& Head() const { return head_; }
  const std::string& Body() const { return body_; }
  /// What went wrong, in words, for kMalformed and kHeadTooLarge ("" otherwise).
  const std::string& Problem() const { return problem_; }
  /// Whether the final head had been read when it stopped (a body error, not a head error).
  bool InBody() const {
    return phase_ == Phase::kLengthBody || phase_ == Phase::kChunkedBody ||
           phase_ == Phase::kCloseBody;
  }

 private:
  enum class Phase { kHead, kLengthBody, kChunkedBody, kCloseBody, kDone };
  Progress Fail(Progress progress, std::string problem);
  Progress EndHead();

  std::size_t max_body_;
  Phase phase_ = Phase::kHead;
  Progress progress_ = Progress::kNeedMore;
  std::string head_bytes_;       // the head being read
  std::size_t line_length_ = 0;  // bytes of the current head line so far, CR included
  bool line_is_cr_ = false;      // the current head line so far is exactly "\r"
  std::size_t head_lines_ = 0;   // complete lines of the head being read, status line included
  std::size_t head_used_ = 0;    // bytes of earlier (1xx) heads
  std::size_t lines_used_ = 0;   // header lines of earlier (1xx) heads
  std::optional<ResponseHead> head_;
  std::uint64_t remaining_ = 0;  // kLengthBody
  std::optional<ChunkedDecoder> chunked_;
  std::string body_;
  std::string problem_;
};

}  // namespace mtasts::net
