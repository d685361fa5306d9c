#include "agent/metrics_page.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace mtasts::agent {

struct GzipWriter::Stream {
  z_stream z{};
};

GzipWriter::GzipWriter(std::size_t expected) : stream_(std::make_unique<Stream>()) {
  out_.reserve(expected + expected / 16);
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");  // out of memory
  }
}

GzipWriter::~GzipWriter() {
  deflateEnd(&stream_->z);
}

void GzipWriter::Deflate(std::string_view data, int flush) {
  z_stream& z = stream_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  for (;;) {
    const std::size_t used = out_.size();
    const std::size_t room = std::max<std::size_t>(std::size_t{64} * 1024, data.size() / 4);
    out_.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int status = deflate(&z, flush);
    out_.resize(used + room - z.avail_out);
    if (status == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
    if (flush == Z_FINISH ? status == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0)) {
      return;
    }
  }
}

void GzipWriter::Write(std::string_view data) {
  // zlib counts in uInt: hand over large pieces in slices.
  constexpr std::size_t kSlice = std::size_t{1} << 30;
  while (!data.empty()) {
    const std::string_view slice = data.substr(0, kSlice);
    Deflate(slice, Z_NO_FLUSH);
    data.remove_prefix(slice.size());
  }
}

std::string GzipWriter::Finish() {
  Deflate({}, Z_FINISH);
  // Kept for as long as the page is served: at most 1/8 unused, without a copy when the
  // expectation was about right.
  if (out_.capacity() > out_.size() + out_.size() / 8) out_.shrink_to_fit();
  return std::move(out_);
}

std::string GzipCompress(std::string_view data) {
  GzipWriter writer;
  writer.Write(data);
  return writer.Finish();
}

namespace {

// The smallest gzip stream: a 10-byte header, an empty deflate block, the 8-byte trailer.
constexpr std::size_t kShortestGzip = 18;

// The trailer's ISIZE (RFC 1952 §2.3.1): the inflated length modulo 2^32. Needs kShortestGzip.
std::size_t GzipTextSize(std::string_view gzip) {
  const auto* end = reinterpret_cast<const unsigned char*>(gzip.data() + gzip.size());
  return std::uint32_t{end[-4]} | std::uint32_t{end[-3]} << 8 | std::uint32_t{end[-2]} << 16 |
         std::uint32_t{end[-1]} << 24;
}

}  // namespace

Result<std::string> GzipDecompress(std::string_view gzip) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Error{"zlib: inflateInit2 failed"};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzip.data()));
  z.avail_in = static_cast<uInt>(gzip.size());
  std::string out;
  // Reserved from the trailer, so a large page is inflated into one allocation instead of a
  // doubling series (two copies alive at once).
  if (gzip.size() >= kShortestGzip) out.reserve(GzipTextSize(gzip));
  int status = Z_OK;
  for (;;) {
    const std::size_t used = out.size();
    const std::size_t room =
        std::max<std::size_t>(std::size_t{64} * 1024, out.capacity() - out.size());
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    status = inflate(&z, Z_NO_FLUSH);
    const bool full = z.avail_out == 0;
    out.resize(used + room - z.avail_out);
    // Go on while there is progress or only room was lacking; Z_BUF_ERROR with room left means
    // the input ended before the stream did.
    if (status == Z_OK || (status == Z_BUF_ERROR && full)) continue;
    break;
  }
  inflateEnd(&z);
  if (status != Z_STREAM_END) return Error{"not a complete gzip stream"};
  return out;
}

std::string MetricsPage::Text() const {
  auto text = GzipDecompress(gzip_);
  // Only ever holds what GzipWriter made: failing to inflate it is a bug.
  if (!text) throw std::logic_error("cached /metrics page: " + text.error().message);
  return std::move(text).value();
}

struct PageTextReader::Stream {
  z_stream z{};
};

PageTextReader::PageTextReader(std::shared_ptr<const MetricsPage> page)
    : page_(std::move(page)), stream_(std::make_unique<Stream>()) {
  const std::string& gzip = page_->gzip();
  if (gzip.size() < kShortestGzip || inflateInit2(&stream_->z, 15 + 16) != Z_OK) {
    throw std::logic_error("cached /metrics page: not a gzip stream");
  }
  size_ = GzipTextSize(gzip);
  stream_->z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzip.data()));
  stream_->z.avail_in = static_cast<uInt>(gzip.size());
}

PageTextReader::~PageTextReader() {
  inflateEnd(&stream_->z);
}

std::string_view PageTextReader::Read(std::size_t offset, std::size_t max) {
  if (offset < position_) throw std::logic_error("PageTextReader: read backwards");
  z_stream& z = stream_->z;
  for (;;) {
    const std::size_t skip = offset - position_;  // a range request starts past the beginning
    const std::size_t want = skip > 0 ? std::min<std::size_t>(skip, std::size_t{64} * 1024) : max;
    if (want == 0 || position_ >= size_) return {};
    piece_.resize(std::min(want, size_ - position_));
    z.next_out = reinterpret_cast<Bytef*>(piece_.data());
    z.avail_out = static_cast<uInt>(piece_.size());
    const int status = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = piece_.size() - z.avail_out;
    if (got == 0 && status != Z_OK) throw std::logic_error("cached /metrics page: corrupt");
    position_ += got;
    if (skip == 0) return {piece_.data(), got};
  }
}

bool AcceptsGzip(std::string_view header) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const auto semicolon = item.find(';');
    std::string_view coding = item.substr(0, semicolon);
    std::string_view params =
        semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      return s;
    };
    coding = trim(coding);
    std::string lower(coding);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower != "gzip" && lower != "x-gzip" && lower != "*") continue;
    params = trim(params);
    if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
      const std::string q(params.substr(2));
      if (std::strtod(q.c_str(), nullptr) <= 0) continue;  // q=0: explicitly not acceptable
    }
    return true;
  }
  return false;
}

MetricsCache::MetricsCache() : clock_([] { return std::chrono::steady_clock::now(); }) {}

std::shared_ptr<const MetricsPage> MetricsCache::Get(
    const std::shared_ptr<const Snapshot>& snapshot, std::uint64_t generation, bool first_round,
    const std::function<std::string(const Snapshot&)>& render) {
  std::lock_guard lock(mutex_);
  const bool same = page_ && changes_ == snapshot->changes && generation_ == generation;
  if (same) return page_;
  const auto now = clock_();
  // Only check results changed and the page is recent: serve it while the first round runs,
  // and after it when many domains make a render slow (their re-checks flow all the time).
  const bool hold =
      first_round || (snapshot->domains.size() >= kManyDomains && last_render_ >= kSlowRender);
  const auto interval =
      std::max<std::chrono::steady_clock::duration>(std::chrono::seconds(1), 4 * last_render_);
  if (page_ && hold && updates_ == snapshot->updates && now - rendered_at_ < interval) {
    return page_;
  }
  page_.reset();  // the previous page's memory is free before the next is made
  page_ = std::make_shared<const MetricsPage>(render(*snapshot));
  const auto done = clock_();
  last_render_ = done - now;
  rendered_at_ = done;
  changes_ = snapshot->changes;
  updates_ = snapshot->updates;
  generation_ = generation;
  return page_;
}

}  // namespace mtasts::agent
