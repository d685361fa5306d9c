#include "collectors/tlsrpt/report/mime_unwrap.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "collectors/tlsrpt/report/gzip_inflate.h"
#include "collectors/tlsrpt/report/report_parser.h"

namespace mtasts::tlsrpt {
namespace {

// GMime's objects are GObjects: one reference each, dropped on every path out.
struct GObjectUnref {
  void operator()(void* object) const {
    if (object != nullptr) g_object_unref(object);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

void InitGmimeOnce() {
  static std::once_flag once;
  // g_mime_init() sets up process-wide tables (charsets, type registrations); it is never
  // undone, so parsers on any thread can rely on it for the life of the process.
  std::call_once(once, [] { g_mime_init(); });
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string MediaType(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (type == nullptr) return "text/plain";  // RFC 2045 §5.2
  const char* media = g_mime_content_type_get_media_type(type);
  const char* sub = g_mime_content_type_get_media_subtype(type);
  return AsciiLowered(std::string(media != nullptr ? media : "") + "/" +
                      (sub != nullptr ? sub : ""));
}

bool IsTlsRptMediaType(std::string_view media_type) {
  // RFC 8460 §6.4 and §6.5 register these two.
  return media_type == "application/tlsrpt+gzip" || media_type == "application/tlsrpt+json";
}

bool HasReportFileName(std::string_view lower_name) {
  return EndsWith(lower_name, ".json.gz") || EndsWith(lower_name, ".gz") ||
         EndsWith(lower_name, ".json");
}

struct Candidate {
  GMimePart* part = nullptr;  // owned by the message
  std::string media_type;
  std::string filename;
  bool in_tlsrpt_report = false;
};

class Walker {
 public:
  explicit Walker(const MimeLimits& limits) : limits_(limits) {}

  bool Walk(GMimeObject* object, std::size_t depth, bool parent_is_tlsrpt_report) {
    if (object == nullptr) return true;
    if (++parts_ > limits_.max_parts) {
      return Fail("more than " + std::to_string(limits_.max_parts) + " MIME parts");
    }
    if (depth > limits_.max_depth) {
      return Fail("MIME parts nested deeper than " + std::to_string(limits_.max_depth));
    }
    if (GMIME_IS_MULTIPART(object)) {
      const bool is_report = IsTlsRptReport(object);
      auto* multipart = GMIME_MULTIPART(object);
      const int count = g_mime_multipart_get_count(multipart);
      for (int i = 0; i < count; ++i) {
        if (!Walk(g_mime_multipart_get_part(multipart, i), depth + 1, is_report)) return false;
      }
      return true;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
      // A forwarded message (message/rfc822): its report counts like one at the top.
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      return inner == nullptr || Walk(g_mime_message_get_mime_part(inner), depth + 1, false);
    }
    if (GMIME_IS_PART(object)) {
      GMimePart* part = GMIME_PART(object);
      const char* name = g_mime_part_get_filename(part);
      candidates_.push_back(Candidate{part, MediaType(object),
                                      name != nullptr ? std::string(name) : std::string(),
                                      parent_is_tlsrpt_report});
    }
    return true;
  }

  // The report part, by the rules of UnwrapReportMessage, or nullptr with failure() set.
  const Candidate* Choose() {
    using Rule = bool (*)(const Candidate&);
    static constexpr Rule kRules[] = {
        [](const Candidate& c) { return c.in_tlsrpt_report && IsTlsRptMediaType(c.media_type); },
        [](const Candidate& c) { return IsTlsRptMediaType(c.media_type); },
        [](const Candidate& c) { return HasReportFileName(AsciiLowered(c.filename)); },
    };
    for (const Rule rule : kRules) {
      const Candidate* chosen = nullptr;
      std::size_t matches = 0;
      for (const Candidate& c : candidates_) {
        if (!rule(c)) continue;
        ++matches;
        if (chosen == nullptr) chosen = &c;
      }
      if (matches > 1) {
        Fail("the message carries " + std::to_string(matches) +
             " report attachments; RFC 8460 §5.3 sends one per message");
        return nullptr;
      }
      if (chosen != nullptr) return chosen;
    }
    Fail(
        "no TLS-RPT report in the message (no application/tlsrpt+gzip or +json part, no "
        ".json or .gz attachment)");
    return nullptr;
  }

  const std::string& Failure() const { return failure_; }

 private:
  static bool IsTlsRptReport(GMimeObject* object) {
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (type == nullptr || !g_mime_content_type_is_type(type, "multipart", "report")) {
      return false;
    }
    const char* report_type = g_mime_content_type_get_parameter(type, "report-type");
    return report_type != nullptr && AsciiLowered(report_type) == "tlsrpt";
  }

  bool Fail(std::string message) {
    if (failure_.empty()) failure_ = std::move(message);
    return false;
  }

  const MimeLimits& limits_;
  std::size_t parts_ = 0;
  std::vector<Candidate> candidates_;
  std::string failure_;
};

UnwrapError NotAReport(std::string message) {
  return UnwrapError{UnwrapFailure::kNotAReport, std::move(message)};
}

}  // namespace

Result<Attachment, UnwrapError> UnwrapReportMessage(std::string_view message,
                                                    const MimeLimits& limits) {
  if (message.size() > limits.max_message) {
    return UnwrapError{UnwrapFailure::kTooLarge,
                       "message larger than " + std::to_string(limits.max_message) + " bytes"};
  }
  InitGmimeOnce();
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  // Not an mbox: a "From " line is not a message separator here.
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> parsed(g_mime_parser_construct_message(parser.get(), nullptr));
  if (parsed == nullptr) return NotAReport("not a mail message");

  Walker walker(limits);
  if (!walker.Walk(g_mime_message_get_mime_part(parsed.get()), 0, false)) {
    return NotAReport(walker.Failure());
  }
  const Candidate* chosen = walker.Choose();
  if (chosen == nullptr) return NotAReport(walker.Failure());

  GMimeDataWrapper* content = g_mime_part_get_content(chosen->part);
  if (content == nullptr) return NotAReport("the report attachment is empty");
  GPtr<GMimeStream> decoded(g_mime_stream_mem_new());
  // Undoes the Content-Transfer-Encoding. Decoding never grows the content (base64 and
  // quoted-printable shrink it), so this is bounded by the message cap above.
  if (g_mime_data_wrapper_write_to_stream(content, decoded.get()) < 0) {
    return NotAReport("the report attachment could not be decoded");
  }
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(decoded.get()));
  const std::size_t size = bytes != nullptr ? bytes->len : 0;
  if (size > limits.max_attachment) {
    return UnwrapError{
        UnwrapFailure::kTooLarge,
        "report attachment larger than " + std::to_string(limits.max_attachment) + " bytes"};
  }
  if (size == 0) return NotAReport("the report attachment is empty");
  Attachment attachment;
  attachment.bytes.assign(reinterpret_cast<const char*>(bytes->data), size);
  attachment.media_type = SanitizeForDisplay(chosen->media_type);
  attachment.filename = SanitizeForDisplay(chosen->filename.substr(0, 255));
  attachment.gzip = LooksLikeGzip(attachment.bytes);
  attachment.in_tlsrpt_report = chosen->in_tlsrpt_report;
  return attachment;
}

}  // namespace mtasts::tlsrpt
