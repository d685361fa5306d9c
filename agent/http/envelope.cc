#include "agent/http/envelope.h"

#include <httplib.h>

#include <cstdint>
#include <cstdio>
#include <random>

#include "base/clock.h"
#include "base/rfc3339.h"

namespace mtasts::agent {

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<std::uint64_t> dist;
  std::uint64_t hi = dist(random);
  std::uint64_t lo = dist(random);
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return buf;
}

void Reply(httplib::Response& res, int status, nlohmann::json data, const std::string& message) {
  using nlohmann::json;
  const bool ok = status < 400;
  json body = {
      {"data", std::move(data)},
      {"meta",
       {{"timestamp", FormatRfc3339Millis(NowUnixMillis())}, {"request_id", NewRequestId()}}},
      {"status", ok ? "ok" : "error"},
      {"message", message},
      {"success", ok}};
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

}  // namespace mtasts::agent
