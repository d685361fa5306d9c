// libFuzzer target: the listener's request handling, in-process. The input is one raw HTTP/1.1
// request as a client would send it (request line, query string, headers, body); it is served by
// the real HttpServer (httplib's parsing, the routes, API keys, the rate limit, the domain
// validation) through ServeBytes, with check handlers that answer from memory instead of the
// network. The first byte picks the server: with or without API keys.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/http_server.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using mtasts::agent::HttpHandlers;
using mtasts::agent::HttpServer;

HttpHandlers Handlers() {
  HttpHandlers h;
  // One page for every request: rendering is not what this target fuzzes.
  static const auto page = std::make_shared<const mtasts::agent::MetricsPage>(
      mtasts::agent::GzipCompress("# HELP x y\n# TYPE x gauge\nx 1\n"));
  h.metrics = [] { return page; };
  auto report = [](const std::string& domain) {
    mtasts::DomainReport r;
    r.domain = domain;
    return r;
  };
  h.check = report;
  h.policy = report;
  h.ready = [] { return true; };
  h.reload = [] { return mtasts::Result<bool>(true); };
  return h;
}

mtasts::config::ApiSettings Api(const std::string& keys_file) {
  mtasts::config::ApiSettings api;
  api.keys_file = keys_file;
  api.rate_limit_per_minute = 1e9;  // the limiter must not hide everything behind 429
  api.rate_limit_burst = 1000000000;
  return api;
}

std::string KeysFile() {
  char path[] = "/tmp/mtasts-fuzz-keys.XXXXXX";
  const int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  std::ofstream(path) << "# keys\nsecret-key-1\n  secret-key-2  \n";
  return path;
}

// The body after the blank line of a raw response (after any 100 Continue interim response,
// which httplib sends for `Expect: 100-continue`).
std::string Body(std::string response) {
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  while (response.rfind(kContinue, 0) == 0) response.erase(0, kContinue.size());
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  static HttpServer* open = new HttpServer(Handlers(), Api(""));
  static const std::string keys = KeysFile();
  static HttpServer* keyed = new HttpServer(Handlers(), Api(keys));
  if (size == 0) return 0;
  HttpServer& server = (data[0] & 1) != 0 ? *keyed : *open;
  const std::string request(mtasts::fuzz::AsText(data + 1, size - 1));
  const std::string response = server.ServeBytes(request, "192.0.2.7");
  if (response.empty()) return 0;
  mtasts::fuzz::Require(response.rfind("HTTP/1.1 ", 0) == 0, "a response starts with a status",
                        response.substr(0, 40));
  // A JSON answer parses, unless compressed (Accept-Encoding), partial (Range: httplib answers
  // 206 with the bytes asked for) or without a body (HEAD).
  const std::string head = response.substr(0, response.find("\r\n\r\n"));
  if (head.find("Content-Type: application/json") != std::string::npos &&
      head.find("Content-Encoding:") == std::string::npos &&
      head.find("Content-Range:") == std::string::npos &&
      head.find("multipart/byteranges") == std::string::npos && request.rfind("HEAD ", 0) != 0) {
    const auto body = nlohmann::json::parse(Body(response), nullptr, false);
    mtasts::fuzz::Require(!body.is_discarded() && body.contains("success"),
                          "a JSON answer carries the envelope", Body(response));
  }
  return 0;
}
