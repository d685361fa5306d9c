#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/result_store.h"
#include "base/result.h"

namespace mtasts::agent {

/// gzip (RFC 1952) made piece by piece, with zlib at its default level: the input need never be
/// in memory whole.
class GzipWriter {
 public:
  /// `expected`: about how many compressed bytes to expect (the previous page's size), reserved
  /// at once so the output does not grow by doubling (up to twice the page) and need a copy to
  /// shrink at the end.
  explicit GzipWriter(std::size_t expected = 0);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;
  void Write(std::string_view data);
  /// Ends the stream and hands over the compressed bytes; the writer is spent.
  std::string Finish();

 private:
  void Deflate(std::string_view data, int flush);
  struct Stream;
  std::unique_ptr<Stream> stream_;
  std::string out_;
};

/// gzip of `data` in one go.
std::string GzipCompress(std::string_view data);
/// The bytes a gzip stream holds; an error for anything else.
Result<std::string> GzipDecompress(std::string_view gzip);

/// One rendered exposition, shared by every scrape until the next change. It is kept only
/// gzip-compressed, as scrapers (Prometheus) ask for it: ~1/18 of the text's size, so holding it
/// costs little memory; a plain request inflates it. Immutable.
class MetricsPage {
 public:
  explicit MetricsPage(std::string gzip) : gzip_(std::move(gzip)) {}
  const std::string& gzip() const { return gzip_; }
  /// The exposition text (inflated on each call).
  std::string Text() const;

 private:
  std::string gzip_;
};

/// A page's text, inflated piece by piece as it is sent (a scrape without gzip): memory holds
/// one piece, however large the text (138 MB at 100,000 domains). Holds the page. One reader per
/// answer; not thread-safe.
class PageTextReader {
 public:
  explicit PageTextReader(std::shared_ptr<const MetricsPage> page);
  ~PageTextReader();
  PageTextReader(const PageTextReader&) = delete;
  PageTextReader& operator=(const PageTextReader&) = delete;
  /// The text's size: the gzip trailer's ISIZE (RFC 1952 §2.3.1, the size modulo 2^32; a page
  /// stays far below 4 GiB).
  std::size_t size() const { return size_; }
  /// The text from `offset` (never before the previous piece's end), at most `max` bytes; empty
  /// at the end. Throws std::logic_error for a page GzipWriter did not make.
  std::string_view Read(std::size_t offset, std::size_t max);

 private:
  struct Stream;
  std::shared_ptr<const MetricsPage> page_;
  std::unique_ptr<Stream> stream_;
  std::size_t size_ = 0;
  std::size_t position_ = 0;  // text bytes inflated so far
  std::string piece_;
};

/// True when an Accept-Encoding header value accepts gzip (RFC 9110 §12.5.3: "gzip", "x-gzip"
/// or "*", without q=0).
bool AcceptsGzip(std::string_view accept_encoding);

/// Renders /metrics at most once per change (README "Metrics"). The key is the snapshot's
/// change counts (the snapshot itself is not held: a held one kept every report it shares alive
/// while checks replaced them) and a generation counter for what lives outside it (the check
/// duration histogram). While the first round runs, results arrive all the time: a page is then
/// served until it is older than the render interval, max(1 s, 4 x the last render's duration),
/// so renders take at most about a fifth of a core; after the first round too when kManyDomains
/// or more are watched and the last render took kSlowRender or more (tens of thousands of
/// domains, whose re-checks never stop; a small deployment on a busy machine is not held).
/// A reload or any other whole-state change is rendered at once. A scrape waits at most for a
/// render in progress, never for a check.
class MetricsCache {
 public:
  static constexpr std::chrono::milliseconds kSlowRender{100};
  static constexpr std::size_t kManyDomains = 1000;

  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  MetricsCache();
  explicit MetricsCache(Clock clock) : clock_(std::move(clock)) {}

  /// `render` returns the page's gzip bytes. `first_round` says the first round is running.
  std::shared_ptr<const MetricsPage> Get(const std::shared_ptr<const Snapshot>& snapshot,
                                         std::uint64_t generation, bool first_round,
                                         const std::function<std::string(const Snapshot&)>& render);

 private:
  Clock clock_;
  std::mutex mutex_;  // one render at a time: concurrent scrapes share it
  std::uint64_t changes_ = 0;
  std::uint64_t updates_ = 0;
  std::uint64_t generation_ = 0;
  std::chrono::steady_clock::time_point rendered_at_;
  std::chrono::steady_clock::duration
      last_render_{};  // the render interval is 4x this, 1 s at least
  std::shared_ptr<const MetricsPage> page_;
};

}  // namespace mtasts::agent
