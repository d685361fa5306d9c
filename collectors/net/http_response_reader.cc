#include "collectors/net/http_response_reader.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace mtasts::net {
namespace {

constexpr std::uint64_t kSaturated = std::numeric_limits<std::uint64_t>::max();

/// The peer's text for a message: at most 80 bytes, anything but printable ASCII as '?'.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    out += std::isprint(static_cast<unsigned char>(c)) != 0 ? c : '?';
  }
  if (text.size() > 80) out += "...";
  return out;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// RFC 9110 §5.6.2 tchar.
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) return true;
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return kSymbols.find(c) != std::string_view::npos;
}

/// RFC 9110 §5.5 field-vchar, SP and HTAB: every byte but the control characters.
bool IsFieldValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

std::string_view TrimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// `line` (its LF removed) without the CR before the LF; nullopt when another CR is in it.
std::optional<std::string_view> WithoutCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find('\r') != std::string_view::npos) return std::nullopt;
  return line;
}

/// Splits one field line (RFC 9112 §5) into name and value, or says what is wrong with it.
/// `what` names the line in messages ("header line 3").
Result<HeaderField> ParseFieldLine(std::string_view line, const std::string& what) {
  if (line.front() == ' ' || line.front() == '\t') {
    return Error{what + " starts with whitespace: obs-fold is refused (RFC 9112 §5.2)"};
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return Error{what + " \"" + Printable(line) + "\" has no colon"};
  }
  const std::string_view name = line.substr(0, colon);
  if (name.empty()) return Error{what + " has an empty field name"};
  for (char c : name) {
    if (c == ' ' || c == '\t') {
      return Error{what + " has whitespace before the colon (RFC 9112 §5.1)"};
    }
    if (!IsTokenChar(c)) {
      return Error{what + ": the field name \"" + Printable(name) + "\" is not a token"};
    }
  }
  const std::string_view value = TrimWhitespace(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
    return Error{what + " has a control character in its value"};
  }
  return HeaderField{std::string(name), std::string(value)};
}

}  // namespace

std::vector<std::string_view> ResponseHead::Values(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& field : fields) {
    if (EqualsIgnoringCase(field.name, name)) out.emplace_back(field.value);
  }
  return out;
}

Result<ResponseHead> ParseResponseHead(std::string_view head, std::size_t max_fields) {
  std::vector<std::string_view> lines;
  bool terminated = false;
  std::size_t pos = 0;
  while (pos < head.size()) {
    const auto lf = head.find('\n', pos);
    if (lf == std::string_view::npos) break;
    auto line = WithoutCr(head.substr(pos, lf - pos));
    if (!line) return Error{"line " + std::to_string(lines.size() + 1) + " has a bare CR"};
    pos = lf + 1;
    if (line->empty()) {
      terminated = true;
      break;
    }
    lines.push_back(*line);
  }
  if (!terminated) return Error{"the head does not end with an empty line"};
  if (pos != head.size()) return Error{"bytes follow the empty line that ends the head"};
  if (lines.empty()) return Error{"there is no status line"};

  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]. The SP before an
  // absent reason is often left out, and tolerated.
  const std::string_view status_line = lines.front();
  const auto digit = [&](std::size_t i) {
    return std::isdigit(static_cast<unsigned char>(status_line[i])) != 0;
  };
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || !digit(7) ||
      status_line[8] != ' ' || !digit(9) || !digit(10) || !digit(11) ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return Error{"the status line \"" + Printable(status_line) + R"(" is not "HTTP/1.x NNN")"};
  }
  ResponseHead out;
  out.minor_version = status_line[7] - '0';
  out.status =
      (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  if (out.status < 100 || out.status > 599) {
    return Error{"the status code " + std::to_string(out.status) + " is outside 100-599"};
  }
  if (status_line.size() > 13) out.reason = std::string(status_line.substr(13));
  if (!std::all_of(out.reason.begin(), out.reason.end(), IsFieldValueChar)) {
    return Error{"the status line has a control character in its reason phrase"};
  }

  if (lines.size() - 1 > max_fields) {
    return Error{"more than " + std::to_string(max_fields) + " header lines"};
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto field = ParseFieldLine(lines[i], "header line " + std::to_string(i));
    if (!field) return field.error();
    out.fields.push_back(std::move(field).value());
  }
  return out;
}

Result<BodyFraming> FramingOf(const ResponseHead& head) {
  using Kind = BodyFraming::Kind;
  if (head.status < 200 || head.status == 204 || head.status == 304)
    return BodyFraming{Kind::kNone};
  const auto codings = head.Values("Transfer-Encoding");
  const auto lengths = head.Values("Content-Length");
  if (!codings.empty()) {
    if (!lengths.empty()) {
      return Error{
          "both Transfer-Encoding and Content-Length are present (RFC 9112 §6.3: a message "
          "framed twice is an error, the stuff of request smuggling)"};
    }
    if (head.minor_version == 0) {
      return Error{"Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1: faulty framing)"};
    }
    // The codings of every field, comma-separated; empty list elements do not count.
    std::vector<std::string_view> list;
    std::string joined;
    for (auto value : codings) {
      joined += (joined.empty() ? "" : ", ") + std::string(value);
      std::size_t start = 0;
      while (start <= value.size()) {
        auto comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        auto element = TrimWhitespace(value.substr(start, comma - start));
        if (!element.empty()) list.push_back(element);
        start = comma + 1;
      }
    }
    if (list.size() != 1 || !EqualsIgnoringCase(list.front(), "chunked")) {
      return Error{"the transfer coding \"" + Printable(joined) +
                   "\" is not plain chunked (no compression was asked for)"};
    }
    return BodyFraming{Kind::kChunked};
  }
  if (!lengths.empty()) {
    if (lengths.size() > 1) return Error{"more than one Content-Length field"};
    const std::string_view text = lengths.front();
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return Error{"the Content-Length \"" + Printable(text) + "\" is not a number"};
    }
    std::uint64_t length = 0;
    for (char c : text) {
      const auto d = static_cast<std::uint64_t>(c - '0');
      length = length > (kSaturated - d) / 10 ? kSaturated : length * 10 + d;
    }
    return BodyFraming{Kind::kLength, length};
  }
  return BodyFraming{Kind::kUntilClose};
}

// --- ChunkedDecoder ------------------------------------------------------------------------

ChunkedDecoder::ChunkedDecoder(std::size_t max_body, std::size_t max_trailer_bytes,
                               std::size_t max_trailer_lines)
    : max_body_(max_body),
      max_trailer_bytes_(max_trailer_bytes),
      max_trailer_lines_(max_trailer_lines) {}

ChunkedDecoder::Progress ChunkedDecoder::Fail(Progress progress, std::string problem) {
  progress_ = progress;
  problem_ = std::move(problem);
  line_.clear();
  return progress_;
}

ChunkedDecoder::Progress ChunkedDecoder::Feed(std::string_view& in, std::string& body) {
  while (progress_ == Progress::kNeedMore && !in.empty()) {
    switch (state_) {
      case State::kSizeLine: {
        const auto lf = in.find('\n');
        const std::size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
        if (line_.size() + take > kMaxChunkSizeLine) {
          return Fail(Progress::kMalformed, "a chunk-size line longer than " +
                                                std::to_string(kMaxChunkSizeLine) + " bytes");
        }
        if (framing_ + take > kMaxChunkFraming) {
          return Fail(Progress::kMalformed, "more than " + std::to_string(kMaxChunkFraming) +
                                                " bytes of chunk-size lines in one body");
        }
        line_.append(in.substr(0, take));
        framing_ += take;
        in.remove_prefix(take);
        if (lf != std::string_view::npos) EndSizeLine(body);
        break;
      }
      case State::kData: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
        body.append(in.substr(0, n));
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) {
          state_ = State::kDataEnd;
          data_end_cr_ = false;
        }
        break;
      }
      case State::kDataEnd: {
        const char c = in.front();
        if (c != '\n' && (c != '\r' || data_end_cr_)) {
          return Fail(Progress::kMalformed, "chunk data is not followed by a line ending");
        }
        if (++framing_ > kMaxChunkFraming) {
          return Fail(Progress::kMalformed, "more than " + std::to_string(kMaxChunkFraming) +
                                                " bytes of chunk-size lines in one body");
        }
        in.remove_prefix(1);
        if (c == '\r') {
          data_end_cr_ = true;
        } else {
          state_ = State::kSizeLine;
        }
        break;
      }
      case State::kTrailerLine: {
        const auto lf = in.find('\n');
        const std::size_t take = lf == std::string_view::npos ? in.size() : lf + 1;
        if (trailer_bytes_ + take > max_trailer_bytes_) {
          return Fail(Progress::kTrailersTooLarge, "with its trailer fields exceeded 16 KiB");
        }
        line_.append(in.substr(0, take));
        trailer_bytes_ += take;
        in.remove_prefix(take);
        if (lf != std::string_view::npos) EndTrailerLine();
        break;
      }
      case State::kDone: return progress_;
    }
  }
  return progress_;
}

ChunkedDecoder::Progress ChunkedDecoder::EndSizeLine(std::string& body) {
  std::string_view raw = line_;
  raw.remove_suffix(1);  // the LF
  const auto line = WithoutCr(raw);
  if (!line) return Fail(Progress::kMalformed, "a chunk-size line has a bare CR");
  std::size_t digits = 0;
  std::uint64_t size = 0;
  while (digits < line->size() && std::isxdigit(static_cast<unsigned char>((*line)[digits])) != 0) {
    const char c = (*line)[digits];
    const auto d = static_cast<std::uint64_t>(
        std::isdigit(static_cast<unsigned char>(c)) != 0 ? c - '0' : std::tolower(c) - 'a' + 10);
    size = size > (kSaturated - d) / 16 ? kSaturated : size * 16 + d;
    ++digits;
  }
  // RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] );
  // extensions are skipped, whitespace after the size tolerated.
  const std::string_view rest = TrimWhitespace(line->substr(digits));
  if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
    return Fail(Progress::kMalformed,
                "the chunk size \"" + Printable(*line) + "\" is not hexadecimal");
  }
  if (!std::all_of(rest.begin(), rest.end(), IsFieldValueChar)) {
    return Fail(Progress::kMalformed, "a chunk extension has a control character");
  }
  if (size > max_body_ - std::min(body.size(), max_body_)) {
    return Fail(Progress::kTooLarge, "");
  }
  line_.clear();
  remaining_ = size;
  state_ = size == 0 ? State::kTrailerLine : State::kData;
  return progress_;
}

ChunkedDecoder::Progress ChunkedDecoder::EndTrailerLine() {
  std::string_view raw = line_;
  raw.remove_suffix(1);  // the LF
  const auto line = WithoutCr(raw);
  if (!line) return Fail(Progress::kMalformed, "a trailer line has a bare CR");
  if (line->empty()) {
    state_ = State::kDone;
    progress_ = Progress::kComplete;
    line_.clear();
    return progress_;
  }
  if (++trailer_lines_ > max_trailer_lines_) {
    return Fail(Progress::kTrailersTooLarge, "with its trailer fields had more than " +
                                                 std::to_string(kMaxHeaderLines) + " header lines");
  }
  auto field = ParseFieldLine(*line, "trailer line " + std::to_string(trailer_lines_));
  if (!field) return Fail(Progress::kMalformed, field.error().message);
  line_.clear();
  return progress_;
}

// --- ResponseReader ------------------------------------------------------------------------

ResponseReader::ResponseReader(std::size_t max_body) : max_body_(max_body) {}

ResponseReader::Progress ResponseReader::Fail(Progress progress, std::string problem) {
  progress_ = progress;
  problem_ = std::move(problem);
  head_bytes_.clear();
  return progress_;
}

ResponseReader::Progress ResponseReader::Feed(std::string_view data) {
  while (progress_ == Progress::kNeedMore && !data.empty()) {
    switch (phase_) {
      case Phase::kHead: {
        // Scan for the empty line that ends the head, never past what is left of the budget.
        const std::size_t room = kMaxResponseHead - head_used_ - head_bytes_.size();
        const std::size_t limit = std::min(data.size(), room);
        std::size_t i = 0;
        bool end = false;
        while (i < limit && !end) {
          const char c = data[i++];
          if (c != '\n') {
            line_is_cr_ = line_length_ == 0 && c == '\r';
            ++line_length_;
            continue;
          }
          if (line_length_ == 0 || line_is_cr_) {
            end = true;
            continue;
          }
          // A complete status or header line; the first is the status line.
          if (++head_lines_ > 1 + kMaxHeaderLines - lines_used_) {
            return Fail(Progress::kHeadTooLarge,
                        "had more than " + std::to_string(kMaxHeaderLines) + " header lines");
          }
          line_length_ = 0;
          line_is_cr_ = false;
        }
        head_bytes_.append(data.substr(0, i));
        data.remove_prefix(i);
        if (end) {
          EndHead();
        } else if (!data.empty()) {  // the budget is spent and the head goes on
          return Fail(Progress::kHeadTooLarge, "exceeded 16 KiB (" +
                                                   std::to_string(kMaxResponseHead) +
                                                   " bytes for the status line and header fields)");
        }
        break;
      }
      case Phase::kLengthBody: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
        body_.append(data.substr(0, n));
        data.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) {
          phase_ = Phase::kDone;
          progress_ = Progress::kComplete;
        }
        break;
      }
      case Phase::kCloseBody:
        if (data.size() > max_body_ - body_.size()) return Fail(Progress::kBodyTooLarge, "");
        body_.append(data);
        data = {};
        break;
      case Phase::kChunkedBody:
        switch (chunked_->Feed(data, body_)) {
          case ChunkedDecoder::Progress::kNeedMore: break;
          case ChunkedDecoder::Progress::kComplete:
            phase_ = Phase::kDone;
            progress_ = Progress::kComplete;
            break;
          case ChunkedDecoder::Progress::kMalformed:
            return Fail(Progress::kMalformed, chunked_->Problem());
          case ChunkedDecoder::Progress::kTooLarge: return Fail(Progress::kBodyTooLarge, "");
          case ChunkedDecoder::Progress::kTrailersTooLarge:
            return Fail(Progress::kHeadTooLarge, chunked_->Problem());
        }
        break;
      case Phase::kDone: data = {}; break;
    }
  }
  return progress_;
}

ResponseReader::Progress ResponseReader::EndHead() {
  auto parsed = ParseResponseHead(head_bytes_, kMaxHeaderLines - lines_used_);
  if (!parsed) return Fail(Progress::kMalformed, parsed.error().message);
  ResponseHead head = std::move(parsed).value();
  head_used_ += head_bytes_.size();
  lines_used_ += head.fields.size();
  head_bytes_.clear();
  line_length_ = 0;
  line_is_cr_ = false;
  head_lines_ = 0;
  if (head.status < 200) {
    // RFC 9110 §15.2: interim responses precede the final one; none of them has a body.
    if (head.status == 101) {
      return Fail(Progress::kMalformed, "101 Switching Protocols, but no upgrade was asked for");
    }
    return progress_;
  }
  auto framing = FramingOf(head);
  const bool is_200 = head.status == 200;
  head_ = std::move(head);
  if (!is_200) {  // only 200 gives a policy (RFC 8461 §3.3): the body is of no use
    phase_ = Phase::kDone;
    progress_ = Progress::kComplete;
    return progress_;
  }
  if (!framing) return Fail(Progress::kMalformed, framing.error().message);
  switch (framing->kind) {
    case BodyFraming::Kind::kNone:
      phase_ = Phase::kDone;
      progress_ = Progress::kComplete;
      break;
    case BodyFraming::Kind::kLength:
      if (framing->length > max_body_) return Fail(Progress::kBodyTooLarge, "");
      remaining_ = framing->length;
      phase_ = remaining_ == 0 ? Phase::kDone : Phase::kLengthBody;
      if (remaining_ == 0) progress_ = Progress::kComplete;
      break;
    case BodyFraming::Kind::kChunked:
      chunked_.emplace(max_body_, kMaxResponseHead - head_used_, kMaxHeaderLines - lines_used_);
      phase_ = Phase::kChunkedBody;
      break;
    case BodyFraming::Kind::kUntilClose: phase_ = Phase::kCloseBody; break;
  }
  return progress_;
}

ResponseReader::Progress ResponseReader::Close() {
  if (progress_ != Progress::kNeedMore) return progress_;
  if (phase_ == Phase::kCloseBody) {
    phase_ = Phase::kDone;
    progress_ = Progress::kComplete;
    return progress_;
  }
  return Fail(Progress::kTruncated, "");
}

}  // namespace mtasts::net
