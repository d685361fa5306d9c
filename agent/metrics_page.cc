#include "agent/metrics_page.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace mtasts::agent {

std::string GzipCompress(std::string_view data) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");  // out of memory
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);  // deflateBound: one call always suffices
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
  return out;
}

const std::string& MetricsPage::gzip() const {
  std::call_once(gzip_once_, [this] { gzip_ = GzipCompress(text_); });
  return gzip_;
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

std::shared_ptr<const MetricsPage> MetricsCache::Get(
    std::shared_ptr<const Snapshot> snapshot, std::uint64_t generation,
    const std::function<std::string(const Snapshot&)>& render) {
  std::lock_guard lock(mutex_);
  if (!page_ || snapshot_ != snapshot || generation_ != generation) {
    page_ = std::make_shared<const MetricsPage>(render(*snapshot));
    snapshot_ = std::move(snapshot);
    generation_ = generation;
  }
  return page_;
}

}  // namespace mtasts::agent
