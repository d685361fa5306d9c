#include "agent/metrics_page.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace mtasts::agent {
namespace {

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);  // gzip only
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(MetricsPage, GzipWriterMakesOneGzipStreamOfItsPieces) {
  std::string text;
  GzipWriter writer;
  for (int i = 0; i < 20000; ++i) {
    const std::string line = "mta_sts_enforced{domain=\"d" + std::to_string(i) + ".test\"} 1\n";
    text += line;
    writer.Write(line);
  }
  const std::string gz = writer.Finish();
  ASSERT_GE(gz.size(), 2U);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // RFC 1952 magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_LT(gz.size(), text.size() / 5);
  EXPECT_EQ(Gunzip(gz), text);  // zlib's own inflate agrees
  EXPECT_EQ(GzipDecompress(gz).value(), text);
  EXPECT_EQ(Gunzip(GzipCompress(text)), text);
  EXPECT_EQ(GzipDecompress(GzipCompress("")).value(), "");

  const MetricsPage page(gz);
  EXPECT_EQ(page.gzip(), gz);
  EXPECT_EQ(page.Text(), text);
}

TEST(MetricsPage, ThePlainTextIsReadPieceByPieceFromAnyStartingPoint) {
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "series{domain=\"d" + std::to_string(i) + "\"} 1\n";
  auto page = std::make_shared<const MetricsPage>(GzipCompress(text));

  PageTextReader reader(page);
  EXPECT_EQ(reader.size(), text.size()) << "the gzip trailer's size";
  std::string read;
  std::size_t largest = 0;
  for (std::string_view piece; !(piece = reader.Read(read.size(), 4096)).empty();) {
    largest = std::max(largest, piece.size());
    read += piece;
  }
  EXPECT_EQ(read, text);
  EXPECT_LE(largest, 4096U) << "memory holds one piece, not the text";

  // A range request: the first piece asked for starts in the middle.
  PageTextReader ranged(page);
  const std::size_t from = text.size() / 2 + 12345;
  std::string tail;
  for (std::string_view piece; !(piece = ranged.Read(from + tail.size(), 65536)).empty();) {
    tail += piece;
  }
  EXPECT_EQ(tail, text.substr(from));

  EXPECT_THROW(PageTextReader(std::make_shared<const MetricsPage>("not gzip")), std::logic_error);
}

TEST(MetricsPage, DecompressRefusesWhatIsNotACompleteGzipStream) {
  const std::string gz = GzipCompress(std::string(100000, 'x'));
  EXPECT_FALSE(GzipDecompress(gz.substr(0, gz.size() / 2)).has_value());
  EXPECT_FALSE(GzipDecompress("plain text").has_value());
  EXPECT_FALSE(GzipDecompress("").has_value());
}

TEST(MetricsPage, AcceptsGzipAsRfc9110Says) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("GZIP"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("br, gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("deflate , gzip ; q=1"));
  EXPECT_TRUE(AcceptsGzip("gzip, deflate"));  // what httplib's client and Prometheus send
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(AcceptsGzip("gzipped"));
}

TEST(MetricsCache, RendersOncePerSnapshotAndGeneration) {
  MetricsCache cache;
  int renders = 0;
  auto render = [&](const Snapshot& s) {
    ++renders;
    return "domains " + std::to_string(s.domains.size()) + " render " + std::to_string(renders);
  };
  auto first = std::make_shared<const Snapshot>();
  auto a = cache.Get(first, 1, false, render);
  auto b = cache.Get(first, 1, false, render);
  EXPECT_EQ(renders, 1);
  EXPECT_EQ(a, b);  // the very same page
  EXPECT_EQ(a->gzip(), "domains 0 render 1");

  auto c = cache.Get(first, 2, false, render);  // a check was observed: the histogram changed
  EXPECT_EQ(renders, 2);
  EXPECT_EQ(c->gzip(), "domains 0 render 2");

  Snapshot changed;
  changed.domains["example.com"] = DomainState{};
  changed.changes = 1;
  auto second = std::make_shared<const Snapshot>(changed);
  auto d = cache.Get(second, 2, false, render);  // a new snapshot was published
  EXPECT_EQ(renders, 3);
  EXPECT_EQ(d->gzip(), "domains 1 render 3");
  EXPECT_EQ(a->gzip(), "domains 0 render 1");  // a page handed out stays valid
}

TEST(MetricsCache, DuringTheFirstRoundResultsRenderAtMostOncePerInterval) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  MetricsCache cache([&now] { return now; });
  int renders = 0;
  auto render = [&](const Snapshot&) {
    ++renders;
    now += std::chrono::milliseconds(500);  // this render takes 0.5 s: the interval is 2 s
    return std::string("page ") + std::to_string(renders);
  };
  Snapshot state;
  auto at = [&](std::uint64_t changes, std::uint64_t updates) {
    state.changes = changes;
    state.updates = updates;
    return std::make_shared<const Snapshot>(state);
  };
  EXPECT_EQ(cache.Get(at(1, 0), 1, true, render)->gzip(), "page 1");
  now += std::chrono::milliseconds(1500);  // 1.5 s after the render ended
  EXPECT_EQ(cache.Get(at(2, 0), 2, true, render)->gzip(), "page 1") << "a result: too soon";
  EXPECT_EQ(cache.Get(at(3, 1), 2, true, render)->gzip(), "page 2") << "a reload: at once";
  now += std::chrono::milliseconds(1999);
  EXPECT_EQ(cache.Get(at(4, 1), 3, true, render)->gzip(), "page 2");
  now += std::chrono::milliseconds(1);
  EXPECT_EQ(cache.Get(at(4, 1), 3, true, render)->gzip(), "page 3") << "the interval is over";
  EXPECT_EQ(renders, 3);
}

TEST(MetricsCache, AfterTheFirstRoundOnlyASlowRenderOfManyDomainsHoldsThePage) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  MetricsCache cache([&now] { return now; });
  int renders = 0;
  auto cost = std::chrono::milliseconds(99);
  auto render = [&](const Snapshot&) {
    ++renders;
    now += cost;
    return std::string("page ") + std::to_string(renders);
  };
  Snapshot few;
  few.domains = DomainMap(std::map<std::string, DomainState>{{"example.com", DomainState{}}});
  Snapshot state;
  std::map<std::string, DomainState> many;
  for (std::size_t i = 0; i < MetricsCache::kManyDomains; ++i) {
    many.emplace("d" + std::to_string(i) + ".example", DomainState{});
  }
  state.domains = DomainMap(std::move(many));
  auto at = [&](std::uint64_t changes) {
    state.changes = changes;
    return std::make_shared<const Snapshot>(state);
  };
  {
    MetricsCache small([&now] { return now; });
    cost = std::chrono::seconds(1);  // a slow render (a busy machine) of one domain
    few.changes = 1;
    EXPECT_EQ(small.Get(std::make_shared<const Snapshot>(few), 1, false, render)->gzip(), "page 1");
    few.changes = 2;
    EXPECT_EQ(small.Get(std::make_shared<const Snapshot>(few), 2, false, render)->gzip(), "page 2")
        << "few domains: every change renders, however slow";
    renders = 0;
    cost = std::chrono::milliseconds(99);
  }
  EXPECT_EQ(cache.Get(at(1), 1, false, render)->gzip(), "page 1");
  EXPECT_EQ(cache.Get(at(2), 2, false, render)->gzip(), "page 2") << "a fast render: every change";
  cost = MetricsCache::kSlowRender;  // 100 ms: the interval stays 1 s
  EXPECT_EQ(cache.Get(at(3), 3, false, render)->gzip(), "page 3");
  EXPECT_EQ(cache.Get(at(4), 4, false, render)->gzip(), "page 3") << "a slow render holds";
  now += std::chrono::milliseconds(999);
  EXPECT_EQ(cache.Get(at(5), 5, false, render)->gzip(), "page 3");
  now += std::chrono::milliseconds(1);
  EXPECT_EQ(cache.Get(at(5), 5, false, render)->gzip(), "page 4") << "the interval is over";
  cost = std::chrono::milliseconds(1);
  now += std::chrono::seconds(1);
  EXPECT_EQ(cache.Get(at(6), 6, false, render)->gzip(), "page 5");
  EXPECT_EQ(cache.Get(at(7), 7, false, render)->gzip(), "page 6") << "fast again: every change";
  EXPECT_EQ(renders, 6);
}

}  // namespace
}  // namespace mtasts::agent
