#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/result_store.h"

namespace mtasts::agent {

/// One rendered exposition, shared by every scrape until the next change: the text, and its
/// gzip form (RFC 1952) compressed on first demand and kept. Thread-safe.
class MetricsPage {
 public:
  explicit MetricsPage(std::string text) : text_(std::move(text)) {}
  const std::string& text() const { return text_; }
  const std::string& gzip() const;

 private:
  std::string text_;
  mutable std::once_flag gzip_once_;
  mutable std::string gzip_;
};

/// gzip (RFC 1952) of `data` with zlib at its default level.
std::string GzipCompress(std::string_view data);

/// True when an Accept-Encoding header value accepts gzip (RFC 9110 §12.5.3: "gzip", "x-gzip"
/// or "*", without q=0).
bool AcceptsGzip(std::string_view accept_encoding);

/// Renders /metrics at most once per change. The key is the published snapshot (held, so its
/// address cannot be reused) and a generation counter for what lives outside it (the check
/// duration histogram). A scrape waits at most for a render in progress, never for a check.
class MetricsCache {
 public:
  std::shared_ptr<const MetricsPage> Get(std::shared_ptr<const Snapshot> snapshot,
                                         std::uint64_t generation,
                                         const std::function<std::string(const Snapshot&)>& render);

 private:
  std::mutex mutex_;  // one render at a time: concurrent scrapes share it
  std::shared_ptr<const Snapshot> snapshot_;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const MetricsPage> page_;
};

}  // namespace mtasts::agent
