// libFuzzer target: the listener's request handling, in-process. The input is what a client sends
// on one connection (request lines, query strings, headers, bodies, perhaps several pipelined
// requests); it is served by the real HttpServer through ServeExchanges: the gate's judgement
// (bare LF or CR, chunked bodies, duplicate lengths, bodies on GET: refused; where each request
// ends), then httplib's parsing, the routes, API keys, the rate limit and the domain validation,
// with check handlers that answer from memory instead of the network, and POST/GET /v1/tlsrpt
// through a real Receiver and report store (SQLite in a temporary directory), so gzip and JSON
// report bodies go the whole HTTP path. The first byte picks the server: with or without API
// keys. Properties: one whole response per request (so no request hides in another's body),
// every reload answering a POST of its own, JSON answers in the envelope, no 5xx from
// /v1/tlsrpt (whatever the body, the store stays available).
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/http/server.h"
#include "agent/tlsrpt/receiver.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using mtasts::agent::HttpHandlers;
using mtasts::agent::HttpServer;

int reloads = 0;  // reload handler calls for the input being served

// Reports received: no rate limit to hide them behind 429, and a 1 MiB inflated cap (the cap's
// logic is the same as at the default 16 MiB, and bombs stay fast to refuse).
mtasts::config::TlsRptSettings TlsRptSettings() {
  mtasts::config::TlsRptSettings settings;
  settings.rate_limit_per_second = 1e9;
  settings.rate_limit_burst = 1000000000;
  settings.max_size = std::size_t{1} << 20;
  settings.retention = std::chrono::hours(24 * 365 * 100);  // the seeds' reports stay
  return settings;
}

// One receiver and store for the whole run (both servers), in a directory removed at exit;
// /dev/shm when there is one, so the store's fsyncs cost little.
mtasts::agent::tlsrpt::Receiver* TlsRptReceiver() {
  static mtasts::agent::tlsrpt::Receiver* receiver = [] {
    const std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string dir = base + "/mtasts-fuzz-tlsrpt.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    static const std::string removed = dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(removed, ec);
    });
    static mtasts::agent::ResultStore results;
    auto* r = new mtasts::agent::tlsrpt::Receiver({.path = dir + "/tlsrpt.sqlite"}, results);
    r->Configure(TlsRptSettings(), {"example.com", "example.org"});
    r->Start();
    return r;
  }();
  return receiver;
}

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
  h.reload = [] {
    ++reloads;
    return mtasts::Result<bool>(true);
  };
  h.tlsrpt = TlsRptReceiver();
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

// A response without the interim 100 Continue responses before it (httplib sends one for
// `Expect: 100-continue`).
std::string_view Final(std::string_view response) {
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  while (response.substr(0, kContinue.size()) == kContinue)
    response.remove_prefix(kContinue.size());
  return response;
}

// The Content-Length a response head declares (httplib and the gate always send one), or -1.
long DeclaredLength(std::string_view head) {
  constexpr std::string_view kField = "\r\nContent-Length: ";
  const std::size_t at = head.find(kField);
  if (at == std::string_view::npos) return -1;
  return std::strtol(std::string(head.substr(at + kField.size(), 20)).c_str(), nullptr, 10);
}

// The body a client reads from an answer in `encoding` (httplib compresses text answers with
// gzip or brotli when the request accepts it), or nothing when it does not decode.
std::optional<std::string> Decoded(std::string_view body, std::string_view encoding) {
  std::unique_ptr<httplib::detail::decompressor> decompressor;
  if (encoding == "gzip") decompressor = std::make_unique<httplib::detail::gzip_decompressor>();
  if (encoding == "br") decompressor = std::make_unique<httplib::detail::brotli_decompressor>();
  if (!decompressor) return std::nullopt;
  std::string out;
  const bool whole =
      decompressor->decompress(body.data(), body.size(), [&](const char* d, size_t n) {
        out.append(d, n);
        return out.size() <= (1U << 20);
      });
  if (!whole) return std::nullopt;
  return out;
}

// A GET of /metrics, with or without a query string (`GET /metrics?x HTTP/1.1` is served by the
// same route).
bool IsMetricsGet(std::string_view request) {
  constexpr std::string_view kPrefix = "GET /metrics";
  if (request.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view rest = request.substr(kPrefix.size());
  return !rest.empty() && (rest.front() == ' ' || rest.front() == '?');
}

// A request for /v1/tlsrpt (either method, with or without a query string).
bool IsTlsRpt(std::string_view request) {
  for (std::string_view prefix : {"POST /v1/tlsrpt", "GET /v1/tlsrpt"}) {
    if (request.substr(0, prefix.size()) != prefix) continue;
    const std::string_view rest = request.substr(prefix.size());
    return !rest.empty() && (rest.front() == ' ' || rest.front() == '?');
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  static HttpServer* open = new HttpServer(Handlers(), Api(""), TlsRptSettings());
  static const std::string keys = KeysFile();
  static HttpServer* keyed = new HttpServer(Handlers(), Api(keys), TlsRptSettings());
  if (size == 0) return 0;
  HttpServer& server = (data[0] & 1) != 0 ? *keyed : *open;
  const std::string input(mtasts::fuzz::AsText(data + 1, size - 1));
  reloads = 0;
  const auto exchanges = server.ServeExchanges(input, "192.0.2.7");
  int reloaded = 0;  // exchanges answered by the reload handler
  for (const auto& exchange : exchanges) {
    const std::string_view request = exchange.request;
    const std::string_view response = Final(exchange.response);
    mtasts::fuzz::Require(response.substr(0, 9) == "HTTP/1.1 ", "a response starts with a status",
                          response.substr(0, 40));
    // Exactly one response: its head and the body it declares, nothing after (HEAD: no body).
    const std::size_t head_end = response.find("\r\n\r\n");
    mtasts::fuzz::Require(head_end != std::string_view::npos, "a response has a whole head",
                          response.substr(0, 200));
    const std::string_view head = response.substr(0, head_end);
    const long declared = DeclaredLength(head);
    mtasts::fuzz::Require(declared >= 0, "a response declares its length", head);
    // (A HEAD request httplib served gets no body; the gate's refusals always carry one.)
    const auto verdict = mtasts::agent::ConnectionGate::Examine(request, server.limits());
    const bool served = verdict.kind == mtasts::agent::ConnectionGate::Verdict::Kind::kComplete &&
                        verdict.length == request.size();
    const bool head_request = served && request.substr(0, 5) == "HEAD ";
    // (httplib writes a content provider's body, which /metrics uses, only while it listens:
    // from memory such an answer is its head alone.)
    const std::size_t body_size = response.size() - head_end - 4;
    const bool provider = served && IsMetricsGet(request) && body_size == 0;
    mtasts::fuzz::Require(
        provider || body_size == (head_request ? 0 : static_cast<std::size_t>(declared)),
        "one whole response per request", response.substr(0, 400));
    // A report, however hostile, is answered by the contract's 2xx/4xx: a 5xx would mean the
    // receiver or the store failed on it.
    if (served && IsTlsRpt(request)) {
      mtasts::fuzz::Require(response.substr(9, 1) != "5", "/v1/tlsrpt answers without a 5xx",
                            response.substr(0, 400));
    }
    // The body as the client reads it. (A partial answer, for Range, is not a whole stream.)
    std::string body(response.substr(head_end + 4));
    const bool partial = head.find("Content-Range:") != std::string_view::npos ||
                         head.find("multipart/byteranges") != std::string_view::npos;
    constexpr std::string_view kEncoding = "\r\nContent-Encoding: ";
    const std::size_t encoding_at = head.find(kEncoding);
    const bool encoded = encoding_at != std::string_view::npos;
    bool decoded = !encoded;
    if (encoded && !partial && !body.empty()) {
      const std::string_view rest = head.substr(encoding_at + kEncoding.size());
      const auto plain = Decoded(body, rest.substr(0, rest.find('\r')));
      mtasts::fuzz::Require(plain.has_value(), "an encoded answer decodes", head);
      body = *plain;
      decoded = true;
    }
    if (body == "Reloaded.\n") {
      ++reloaded;
      mtasts::fuzz::Require(request.substr(0, 6) == "POST /", "only a POST to a path reloads",
                            request);
    }
    // A JSON answer parses, unless partial (Range: httplib answers 206 with the bytes asked for)
    // or without a body (HEAD).
    if (head.find("Content-Type: application/json") != std::string_view::npos && decoded &&
        !partial && !head_request) {
      const auto json = nlohmann::json::parse(body, nullptr, false);
      mtasts::fuzz::Require(!json.is_discarded() && json.contains("success"),
                            "a JSON answer carries the envelope", body);
    }
  }
  // Every reload answered a request of its own: none ran for bytes inside another request.
  mtasts::fuzz::Require(reloads == reloaded, "every reload answers a request of its own", input);
  return 0;
}
