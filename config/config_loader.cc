#include "config/config_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "base/domain_name.h"
#include "base/duration.h"
#include "collectors/net/ip_address.h"

namespace mtasts::config {
namespace {

using std::chrono::milliseconds;

/// Deeper than any real config (webhooks[i].headers.NAME is four levels); also what stops a
/// self-referencing alias (`a: &x [*x]`) from sending the walk round for ever.
constexpr int kMaxDepth = 16;
/// Nodes visited, aliases counted each time they are used: stops a "billion laughs" file.
constexpr std::size_t kMaxNodes = 1000000;
/// Every duration is capped so that the scheduler can add it to a clock without overflow.
constexpr milliseconds kMaxDuration{365LL * 24 * 3600 * 1000};  // 1y
constexpr std::size_t kMaxQuoted = 200;

/// Thrown inside this file only; ParseConfig turns it into an Error.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A value as the user wrote it, quoted, control characters escaped, long ones cut.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text.substr(0, kMaxQuoted)) {
    if (c < 0x20 || c == 0x7f) {
      constexpr std::string_view kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxQuoted) out += "...";
  return out + "\"";
}

std::string Join(const std::set<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string At(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

/// One value of the file: where it sits (`schedule.min_interval`, `domains[2]`), its mark and
/// the mark of its key. `secret` values (webhook URLs and headers) never appear in messages.
struct Field {
  std::string path;
  YAML::Node value;
  YAML::Mark key_mark = YAML::Mark::null_mark();
  bool secret = false;

  /// yaml-cpp marks an empty value (`key:` and nothing) at the next token, often on another
  /// line; the key is the better place to point at then.
  YAML::Mark Mark() const {
    if (value.IsNull() && !key_mark.is_null()) return key_mark;
    return value.Mark();
  }
  std::string Child(std::string_view key) const {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  Field Item(std::size_t index, bool secret_item) const {
    return Field{path + "[" + std::to_string(index) + "]", value[index], YAML::Mark::null_mark(),
                 secret_item};
  }
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& where,
                         const std::string& message) const {
    std::string out = path_;
    if (!mark.is_null()) {
      out += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    out += ": ";
    if (!where.empty()) out += where + ": ";
    throw ConfigError(out + message);
  }
  [[noreturn]] void Fail(const Field& field, const std::string& message) const {
    Fail(field.Mark(), field.path, message);
  }

  /// What the value is, for "expected X, got Y"; a secret scalar is not shown.
  static std::string Describe(const Field& field) {
    const YAML::Node& node = field.value;
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    if (node.IsScalar()) {
      if (field.secret) return "a string (not shown)";
      return Quote(node.Scalar());
    }
    return "nothing (null)";
  }

  /// Walks the whole document before anything is read: refuses keys that are not plain
  /// strings, a key repeated within one mapping (yaml-cpp keeps both and answers lookups with
  /// the first), nesting deeper than kMaxDepth and alias bombs.
  void CheckStructure(const YAML::Node& node, const std::string& where, int depth,
                      std::size_t& visited) const {
    if (++visited > kMaxNodes) {
      Fail(node.Mark(), where, "the document is too large (aliases expanding without end?)");
    }
    if (depth > kMaxDepth) {
      Fail(node.Mark(), where,
           "nested more than " + std::to_string(kMaxDepth) +
               " levels deep (a self-referencing alias?)");
    }
    if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        CheckStructure(node[i], where + "[" + std::to_string(i) + "]", depth + 1, visited);
      }
    } else if (node.IsMap()) {
      std::map<std::string, YAML::Mark> seen;
      for (const auto& entry : node) {
        const YAML::Node& key = entry.first;
        if (!key.IsScalar()) {
          Field field{where, key, YAML::Mark::null_mark(), false};
          Fail(key.Mark(), where, "a key must be a plain name, got " + Describe(field));
        }
        const std::string& name = key.Scalar();
        const std::string child = where.empty() ? name : where + "." + name;
        if (auto [it, inserted] = seen.emplace(name, key.Mark()); !inserted) {
          Fail(key.Mark(), child, "duplicate key (first at " + At(it->second) + ")");
        }
        CheckStructure(entry.second, child, depth + 1, visited);
      }
    }
  }

  /// A mapping whose keys must all be in `allowed`; each value is then looked up with Get().
  class Section {
   public:
    Section(const Reader& reader, const Field& field, const std::set<std::string>& allowed)
        : field_(field) {
      if (!field.value.IsMap()) {
        reader.Fail(field, "expected a mapping, got " + Describe(field));
      }
      for (const auto& entry : field.value) {
        const std::string& key = entry.first.Scalar();  // CheckStructure: a scalar, unique
        if (allowed.count(key) == 0) {
          reader.Fail(entry.first.Mark(), field.Child(key),
                      "unknown key (known keys" +
                          (field.path.empty() ? std::string() : " of " + field.path) + ": " +
                          Join(allowed, ", ") + ")");
        }
        entries_.emplace(key, Field{field.Child(key), entry.second, entry.first.Mark(), false});
      }
    }

    /// The value under `key`, or nullptr when the key is absent.
    const Field* Get(const std::string& key) const {
      auto it = entries_.find(key);
      return it == entries_.end() ? nullptr : &it->second;
    }
    /// The mapping itself, for messages about a key it lacks.
    const Field& Whole() const { return field_; }

   private:
    Field field_;
    std::map<std::string, Field> entries_;
  };

  const Field& Require(const Section& section, const std::string& key) const {
    const Field* field = section.Get(key);
    if (field == nullptr) Fail(section.Whole(), "missing key \"" + key + "\"");
    return *field;
  }

  std::string String(const Field& field) const {
    if (!field.value.IsScalar()) Fail(field, "expected a string, got " + Describe(field));
    return field.value.Scalar();
  }

  std::string NonEmptyString(const Field& field) const {
    std::string value = String(field);
    if (value.empty()) Fail(field, "must not be empty");
    return value;
  }

  /// A Prometheus-style duration, longer than zero and at most kMaxDuration.
  milliseconds Duration(const Field& field) const {
    const std::string text = String(field);
    auto parsed = ParseDuration(text);
    if (!parsed) Fail(field, parsed.error().message);
    if (parsed.value().count() <= 0) Fail(field, "must be longer than zero, got " + Quote(text));
    if (parsed.value() > kMaxDuration) {
      Fail(field, "must be at most " + FormatDuration(kMaxDuration) + ", got " + Quote(text));
    }
    return parsed.value();
  }

  /// A YAML integer (unquoted) within [min, max].
  int Integer(const Field& field, int min, int max) const {
    const YAML::Node& node = field.value;
    if (!node.IsScalar()) Fail(field, "expected a whole number, got " + Describe(field));
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") {
      Fail(field, "expected a whole number, got the quoted string " + Quote(text) +
                      " (write numbers without quotes)");
    }
    long long value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
    if (ptr != end || text.empty() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      Fail(field, "expected a whole number, got " + Quote(text));
    }
    if (ec == std::errc::result_out_of_range || value < min || value > max) {
      Fail(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + text);
    }
    return static_cast<int>(value);
  }

  /// A YAML boolean, unquoted: true or false (YAML 1.2 core schema only; no yes/no/on/off).
  bool Boolean(const Field& field) const {
    const YAML::Node& node = field.value;
    if (!node.IsScalar()) Fail(field, "expected true or false, got " + Describe(field));
    const std::string& text = node.Scalar();
    if (node.Tag() != "!") {
      if (text == "true") return true;
      if (text == "false") return false;
    }
    Fail(field, "expected true or false, got " + Quote(text));
  }

  /// A YAML number (unquoted), finite and above zero.
  double PositiveNumber(const Field& field) const {
    const YAML::Node& node = field.value;
    if (!node.IsScalar()) Fail(field, "expected a number, got " + Describe(field));
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") {
      Fail(field, "expected a number, got the quoted string " + Quote(text) +
                      " (write numbers without quotes)");
    }
    double value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
      Fail(field, "expected a number, got " + Quote(text));
    }
    if (value <= 0) Fail(field, "must be above zero, got " + text);
    return value;
  }

  std::string OneOf(const Field& field, const std::set<std::string>& choices) const {
    std::string value = String(field);
    if (choices.count(value) == 0) {
      Fail(field, Quote(value) + " is not one of " + Join(choices, " | "));
    }
    return value;
  }

  /// A list; a null value (`key:` with nothing after it) is not one.
  void ExpectList(const Field& field) const {
    if (!field.value.IsSequence()) Fail(field, "expected a list, got " + Describe(field));
  }

 private:
  std::string path_;
};

using Section = Reader::Section;

/// A resolver address as c-ares takes it: IP, IPv4:PORT or [IPv6]:PORT.
bool IsDnsServer(std::string_view text) {
  auto port_ok = [](std::string_view port) {
    int value = 0;
    const char* end = port.data() + port.size();
    auto [ptr, ec] = std::from_chars(port.data(), end, value, 10);
    return !port.empty() && ec == std::errc() && ptr == end && value >= 1 && value <= 65535 &&
           port.front() != '0';
  };
  if (net::IpAddress::Parse(text)) return true;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return false;
    auto address = net::IpAddress::Parse(text.substr(1, close - 1));
    return address && !address->is_v4() && port_ok(text.substr(close + 2));
  }
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  auto address = net::IpAddress::Parse(text.substr(0, colon));
  return address && address->is_v4() && port_ok(text.substr(colon + 1));
}

void ReadNetwork(const Reader& r, const Field& field, NetworkSettings& out) {
  const Section s(
      r, field,
      {"dns_servers", "ca_file", "ssrf_allow_cidrs", "check_timeout", "smtp_port", "ehlo_name"});
  if (const Field* f = s.Get("dns_servers")) {
    r.ExpectList(*f);
    out.dns_servers.clear();
    for (std::size_t i = 0; i < f->value.size(); ++i) {
      const Field item = f->Item(i, false);
      std::string server = r.String(item);
      if (!IsDnsServer(server)) {
        r.Fail(item, Quote(server) +
                         " is not a DNS server address (IP, IPv4:PORT or [IPv6]:PORT, e.g. "
                         "127.0.0.1:53)");
      }
      out.dns_servers.push_back(std::move(server));
    }
  }
  if (const Field* f = s.Get("ca_file")) out.ca_file = r.String(*f);
  if (const Field* f = s.Get("ssrf_allow_cidrs")) {
    r.ExpectList(*f);
    out.ssrf_allow_cidrs.clear();
    for (std::size_t i = 0; i < f->value.size(); ++i) {
      const Field item = f->Item(i, false);
      std::string cidr = r.String(item);
      if (!net::Cidr::Parse(cidr)) {
        r.Fail(item, Quote(cidr) +
                         " is not a CIDR (ADDRESS/LENGTH with no host bits set, e.g. "
                         "192.0.2.0/24)");
      }
      out.ssrf_allow_cidrs.push_back(std::move(cidr));
    }
  }
  if (const Field* f = s.Get("check_timeout")) out.check_timeout = r.Duration(*f);
  if (const Field* f = s.Get("smtp_port")) {
    out.smtp_port = static_cast<std::uint16_t>(r.Integer(*f, 1, 65535));
  }
  if (const Field* f = s.Get("ehlo_name")) {
    std::string name = r.NonEmptyString(*f);
    auto normalized = NormalizeDomain(name);
    if (!normalized) r.Fail(*f, normalized.error().message);
    out.ehlo_name = std::move(normalized).value();
  }
}

void ReadSchedule(const Reader& r, const Field& field, ScheduleSettings& out) {
  const Section s(
      r, field,
      {"min_interval", "max_interval", "dns_interval", "max_concurrent_checks", "confirmations"});
  const Field* min = s.Get("min_interval");
  const Field* max = s.Get("max_interval");
  if (min != nullptr) out.min_interval = r.Duration(*min);
  if (max != nullptr) out.max_interval = r.Duration(*max);
  if (const Field* f = s.Get("dns_interval")) out.dns_interval = r.Duration(*f);
  if (const Field* f = s.Get("max_concurrent_checks")) {
    out.max_concurrent_checks = r.Integer(*f, 1, 4096);
  }
  if (const Field* f = s.Get("confirmations")) out.confirmations = r.Integer(*f, 1, 10);
  if (out.max_interval < out.min_interval) {
    const std::string min_text = FormatDuration(out.min_interval);
    const std::string max_text = FormatDuration(out.max_interval);
    if (max != nullptr || min == nullptr) {
      r.Fail(max != nullptr ? *max : field,
             max_text + " is shorter than schedule.min_interval (" + min_text + ")");
    }
    r.Fail(*min,
           min_text + " is longer than schedule.max_interval (" + max_text + ", the default)");
  }
}

void ReadApi(const Reader& r, const Field& field, ApiSettings& out) {
  const Section s(
      r, field,
      {"keys_file", "rate_limit_per_minute", "rate_limit_burst", "max_concurrent_requests"});
  if (const Field* f = s.Get("keys_file")) out.keys_file = r.String(*f);
  if (const Field* f = s.Get("rate_limit_per_minute")) {
    out.rate_limit_per_minute = r.PositiveNumber(*f);
    // One every 100 minutes to a billion: beyond, the value is a slip (README "Configuration").
    if (out.rate_limit_per_minute < 0.01 || out.rate_limit_per_minute > 1e9) {
      r.Fail(*f, "must be between 0.01 and 1000000000, got " + f->value.Scalar());
    }
  }
  if (const Field* f = s.Get("rate_limit_burst")) out.rate_limit_burst = r.Integer(*f, 1, 100000);
  if (const Field* f = s.Get("max_concurrent_requests")) {
    out.max_concurrent_requests = r.Integer(*f, 1, 1024);
  }
}

/// TLS-RPT report retention: up to ten years (README "TLS-RPT reports"), beyond the one-year
/// cap of the schedule's durations.
constexpr milliseconds kMaxRetention{10LL * 365 * 24 * 3600 * 1000};
/// tlsrpt.max_size: at least what one received body may hold (1 MiB), at most 64 MiB, since each
/// report being decoded may hold that much JSON in memory.
constexpr std::size_t kMinReportSize = std::size_t{1} << 20;
constexpr std::size_t kMaxReportSize = std::size_t{64} << 20;

/// "HOST:PORT", ":PORT" or "[IPv6]:PORT" with a port of 1-65535 (the listener's syntax).
bool IsListenAddress(std::string_view text) {
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos || close == 1) return false;
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    port = text.substr(colon + 1);
  }
  int value = 0;
  const char* end = port.data() + port.size();
  auto [ptr, ec] = std::from_chars(port.data(), end, value, 10);
  return !port.empty() && ec == std::errc() && ptr == end && value >= 1 && value <= 65535;
}

/// A size in bytes: a whole number of bytes, or one followed by KiB or MiB ("16MiB").
std::optional<std::size_t> ParseSize(std::string_view text) {
  std::size_t unit = 1;
  for (const auto& [suffix, factor] :
       {std::pair<std::string_view, std::size_t>{"KiB", 1024}, {"MiB", std::size_t{1} << 20}}) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      unit = factor;
      text.remove_suffix(suffix.size());
      break;
    }
  }
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (text.empty() || ec != std::errc() || ptr != end || value > (std::size_t{1} << 40) / unit) {
    return std::nullopt;
  }
  return value * unit;
}

void ReadTlsRpt(const Reader& r, const Field& field, TlsRptSettings& out) {
  const Section s(r, field,
                  {"listen_address", "tls_cert_file", "tls_key_file", "maildir", "retention",
                   "window", "max_size", "rate_limit"});
  const Field* listen = s.Get("listen_address");
  if (listen != nullptr) {
    out.listen_address = r.String(*listen);
    if (!out.listen_address.empty() && !IsListenAddress(out.listen_address)) {
      r.Fail(*listen, Quote(out.listen_address) +
                          " is not a listen address (HOST:PORT, :PORT or [IPv6]:PORT, e.g. "
                          "\":8443\")");
    }
  }
  const Field* cert = s.Get("tls_cert_file");
  const Field* key = s.Get("tls_key_file");
  if (cert != nullptr) out.tls_cert_file = r.String(*cert);
  if (key != nullptr) out.tls_key_file = r.String(*key);
  if (out.tls_cert_file.empty() != out.tls_key_file.empty()) {
    const Field& given = out.tls_cert_file.empty() ? *key : *cert;
    r.Fail(given, std::string("needs tlsrpt.") +
                      (out.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file") +
                      " too (HTTPS needs both the certificate and its key)");
  }
  if (!out.tls_cert_file.empty() && out.listen_address.empty()) {
    r.Fail(*cert, "is used only with tlsrpt.listen_address (the second listener), which is empty");
  }
  const Field* maildir = s.Get("maildir");
  if (maildir != nullptr) out.maildir = r.String(*maildir);
  const Field* retention = s.Get("retention");
  if (retention != nullptr) {
    const std::string text = r.String(*retention);
    auto parsed = ParseDuration(text);
    if (!parsed) r.Fail(*retention, parsed.error().message);
    if (parsed.value() < milliseconds{24LL * 3600 * 1000} || parsed.value() > kMaxRetention) {
      r.Fail(*retention,
             "must be between 1d and " + FormatDuration(kMaxRetention) + ", got " + Quote(text));
    }
    out.retention = parsed.value();
  }
  const Field* window = s.Get("window");
  if (window != nullptr) out.window = r.Duration(*window);
  if (out.window > out.retention) {
    r.Fail(window != nullptr ? *window : *retention,
           FormatDuration(out.window) + " (tlsrpt.window) is longer than tlsrpt.retention (" +
               FormatDuration(out.retention) + "): reports would be deleted while they count");
  }
  if (const Field* f = s.Get("max_size")) {
    const YAML::Node& node = f->value;
    const auto size = node.IsScalar() ? ParseSize(node.Scalar()) : std::nullopt;
    if (!size) {
      r.Fail(*f, "expected a size (bytes, or a number with KiB or MiB, e.g. 16MiB), got " +
                     Reader::Describe(*f));
    }
    if (*size < kMinReportSize || *size > kMaxReportSize) {
      r.Fail(*f, "must be between 1MiB and 64MiB, got " + Quote(node.Scalar()));
    }
    out.max_size = *size;
  }
  if (const Field* f = s.Get("rate_limit"); f != nullptr && !f->value.IsNull()) {
    const Section limit(r, *f, {"burst", "per_second"});
    if (const Field* b = limit.Get("burst")) out.rate_limit_burst = r.Integer(*b, 1, 100000);
    if (const Field* p = limit.Get("per_second")) {
      out.rate_limit_per_second = r.PositiveNumber(*p);
      // The rate limiter's range (README "TLS-RPT reports"): one every 100 minutes to 10^7/s.
      if (out.rate_limit_per_second < 0.01 / 60 || out.rate_limit_per_second > 1e7) {
        r.Fail(*p, "must be between 0.0002 and 10000000, got " + p->value.Scalar());
      }
    }
  }
}

/// A webhook name: also a metric label value and a file name in the outbox.
bool IsWebhookName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (std::isalnum(static_cast<unsigned char>(name.front())) == 0) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.';
  });
}

/// http:// or https:// (any case), a non-empty host, no spaces or control characters.
bool IsWebhookUrl(std::string_view url) {
  std::string lower(url.substr(0, 8));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t rest = 0;
  if (lower.rfind("https://", 0) == 0) {
    rest = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    rest = 7;
  } else {
    return false;
  }
  if (rest >= url.size() || url[rest] == '/' || url[rest] == '?' || url[rest] == '#') {
    return false;
  }
  return std::none_of(url.begin(), url.end(),
                      [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

/// RFC 9110 §5.1: a field name is a token.
bool IsHeaderName(std::string_view name) {
  constexpr std::string_view kTokenExtras = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](unsigned char c) {
    return std::isalnum(c) != 0 || kTokenExtras.find(static_cast<char>(c)) != std::string::npos;
  });
}

void ReadHeaders(const Reader& r, const Field& field, std::map<std::string, std::string>& out) {
  if (!field.value.IsMap()) {
    r.Fail(field, "expected a mapping of header name: value, got " + Reader::Describe(field));
  }
  std::map<std::string, YAML::Mark> seen;  // header names are case-insensitive
  for (const auto& entry : field.value) {
    const std::string& name = entry.first.Scalar();
    const Field value{field.Child(name), entry.second, entry.first.Mark(), true};
    if (!IsHeaderName(name)) {
      r.Fail(entry.first.Mark(), value.path,
             "not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~)");
    }
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (auto [it, inserted] = seen.emplace(lower, entry.first.Mark()); !inserted) {
      r.Fail(entry.first.Mark(), value.path,
             "duplicate header (names are case-insensitive; first at " + At(it->second) + ")");
    }
    std::string text = r.String(value);
    if (std::any_of(text.begin(), text.end(),
                    [](unsigned char c) { return c == '\r' || c == '\n' || c == '\0'; })) {
      r.Fail(value, "a header value must be one line (the value is not shown)");
    }
    out[name] = std::move(text);
  }
}

void ReadWebhooks(const Reader& r, const Field& field, std::vector<WebhookSettings>& out,
                  std::map<std::string, YAML::Mark>& names) {
  r.ExpectList(field);
  for (std::size_t i = 0; i < field.value.size(); ++i) {
    const Section s(
        r, field.Item(i, true),
        {"name", "url", "secret_file", "format", "events", "timeout", "max_attempts", "headers"});
    WebhookSettings hook;
    const Field& name = r.Require(s, "name");
    const Field& url = r.Require(s, "url");
    hook.name = r.NonEmptyString(name);
    if (!IsWebhookName(hook.name)) {
      r.Fail(name, Quote(hook.name) +
                       " is not a valid webhook name (1-64 letters, digits, '_', '-' or '.', "
                       "starting with a letter or digit)");
    }
    if (auto [it, inserted] = names.emplace(hook.name, name.Mark()); !inserted) {
      r.Fail(name,
             "duplicate webhook name " + Quote(hook.name) + " (first at " + At(it->second) + ")");
    }
    // A webhook URL often embeds a token: messages name the key, never the value.
    const Field url_field{url.path, url.value, url.key_mark, true};
    hook.url = r.String(url_field);
    if (!IsWebhookUrl(hook.url)) {
      r.Fail(url_field,
             "must be an http:// or https:// URL with a host and no spaces (the value is not "
             "shown: webhook URLs often carry tokens)");
    }
    if (const Field* f = s.Get("secret_file")) hook.secret_file = r.String(*f);
    if (const Field* f = s.Get("format")) hook.format = r.OneOf(*f, {"json", "slack"});
    if (const Field* f = s.Get("events")) hook.events = r.OneOf(*f, {"all", "downgrade"});
    if (const Field* f = s.Get("timeout")) hook.timeout = r.Duration(*f);
    if (const Field* f = s.Get("max_attempts")) hook.max_attempts = r.Integer(*f, 1, 1000);
    if (const Field* f = s.Get("headers")) {
      ReadHeaders(r, Field{f->path, f->value, f->key_mark, true}, hook.headers);
    }
    out.push_back(std::move(hook));
  }
}

void ReadDomainWebhooks(const Reader& r, const Field& field,
                        const std::map<std::string, YAML::Mark>& hooks, DomainEntry& entry) {
  r.ExpectList(field);
  std::set<std::string> known;
  for (const auto& [name, mark] : hooks) known.insert(name);
  std::set<std::string> listed;
  entry.webhooks.emplace();
  for (std::size_t j = 0; j < field.value.size(); ++j) {
    const Field item = field.Item(j, false);
    std::string name = r.String(item);
    if (hooks.count(name) == 0) {
      r.Fail(item, "unknown webhook " + Quote(name) +
                       (known.empty() ? std::string(" (no webhooks are defined)")
                                      : " (defined webhooks: " + Join(known, ", ") + ")"));
    }
    if (!listed.insert(name).second) r.Fail(item, "webhook " + Quote(name) + " listed twice");
    entry.webhooks->push_back(std::move(name));
  }
}

/// `shard: {index: K, count: N}`: both keys required, 1 <= N <= kMaxShards, 0 <= K < N.
void ReadShard(const Reader& r, const Field& field, Shard& out) {
  const Section s(r, field, {"index", "count"});
  const Field& count = r.Require(s, "count");
  const Field& index = r.Require(s, "index");
  out.count = r.Integer(count, 1, kMaxShards);
  const int value = r.Integer(index, 0, kMaxShards);
  if (value >= out.count) {
    r.Fail(index, "must be below shard.count (" + std::to_string(out.count) +
                      "; shards are numbered from 0), got " + std::to_string(value));
  }
  out.index = value;
}

void ReadDomains(const Reader& r, const Field& field,
                 const std::map<std::string, YAML::Mark>& hooks, std::vector<DomainEntry>& out) {
  if (!field.value.IsSequence()) {
    r.Fail(field,
           "expected a list of domains (write [] to watch none), got " + Reader::Describe(field));
  }
  std::map<std::string, YAML::Mark> seen;
  for (std::size_t i = 0; i < field.value.size(); ++i) {
    const Field item = field.Item(i, false);
    DomainEntry entry;
    Field name = item;
    if (item.value.IsMap()) {
      const Section s(r, item, {"name", "webhooks", "probe_mx"});
      name = r.Require(s, "name");
      if (const Field* f = s.Get("webhooks")) ReadDomainWebhooks(r, *f, hooks, entry);
      if (const Field* f = s.Get("probe_mx")) entry.probe_mx = r.Boolean(*f);
    } else if (!item.value.IsScalar()) {
      r.Fail(item, "expected a domain name or a mapping with name (and webhooks), got " +
                       Reader::Describe(item));
    }
    const std::string text = r.String(name);
    auto normalized = NormalizeDomain(text);
    if (!normalized) r.Fail(name, normalized.error().message);
    entry.name = std::move(normalized).value();
    if (auto [it, inserted] = seen.emplace(entry.name, name.Mark()); !inserted) {
      r.Fail(name, "duplicate domain " + Quote(text) + " (" + entry.name + ", first at " +
                       At(it->second) + ")");
    }
    out.push_back(std::move(entry));
  }
}

/// Where each YAML document starts, and its root node, from the event parser (no nodes built).
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  std::vector<YAML::Mark> roots;  // the first node's mark of each document that has one

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& mark) {
    if (roots.size() < starts.size()) roots.push_back(mark);
  }
};

Config Read(const std::string& text, const std::string& path) {
  const Reader r(path);
  // Count the documents before building any. yaml-cpp 0.7 never gets past a ',' at the top level
  // of a document outside [ ] or { } (",", "&a,", "!t,"): it starts an empty document at the
  // same place again and again, and YAML::LoadAll fills memory forever (found by the config
  // fuzzer: 22 bytes took 2 GB in 30 s). A document starting where the last one did is that.
  DocumentStarts documents;
  YAML::Node root_node;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (documents.starts.size() < 4 && parser.HandleNextDocument(documents)) {
      const auto& s = documents.starts;
      if (s.size() >= 2 && s[s.size() - 1].pos == s[s.size() - 2].pos) {
        r.Fail(s.back(), "", "not valid YAML: unexpected ',' outside a [ ] or { } collection");
      }
    }
    if (!documents.starts.empty()) root_node = YAML::Load(text);  // the first document
  } catch (const YAML::Exception& e) {
    r.Fail(e.mark, "", "not valid YAML: " + e.msg);
  }
  const YAML::Mark start{};  // line 1, column 1
  if (documents.starts.empty() || root_node.IsNull()) {
    r.Fail(start, "", "the file is empty (it needs at least a domains: list)");
  }
  if (documents.starts.size() > 1) {
    r.Fail(documents.roots.size() > 1 ? documents.roots[1] : documents.starts[1], "",
           "a second YAML document (after ---); the config is a single document");
  }
  std::size_t visited = 0;
  r.CheckStructure(root_node, "", 0, visited);

  const std::set<std::string> top_keys = {"state_dir", "network",  "schedule", "api",   "domains",
                                          "webhooks",  "probe_mx", "shard",    "tlsrpt"};
  const Field root_field{"", root_node, YAML::Mark::null_mark(), false};
  if (!root_node.IsMap()) {
    r.Fail(root_node.Mark(), "",
           "the top level must be a mapping of " + Join(top_keys, ", ") + ", got " +
               Reader::Describe(root_field));
  }
  const Section root(r, root_field, top_keys);

  Config config;
  config.path = path;
  if (const Field* f = root.Get("state_dir")) config.state_dir = r.NonEmptyString(*f);
  if (const Field* f = root.Get("probe_mx")) config.probe_mx = r.Boolean(*f);
  // An empty section (`network:` with every key commented out) keeps the defaults.
  if (const Field* f = root.Get("network"); f != nullptr && !f->value.IsNull()) {
    ReadNetwork(r, *f, config.network);
  }
  if (const Field* f = root.Get("schedule"); f != nullptr && !f->value.IsNull()) {
    ReadSchedule(r, *f, config.schedule);
  }
  if (const Field* f = root.Get("api"); f != nullptr && !f->value.IsNull()) {
    ReadApi(r, *f, config.api);
  }
  if (const Field* f = root.Get("tlsrpt"); f != nullptr && !f->value.IsNull()) {
    ReadTlsRpt(r, *f, config.tlsrpt);
  }
  if (const Field* f = root.Get("shard")) ReadShard(r, *f, config.shard);
  std::map<std::string, YAML::Mark> hook_names;
  if (const Field* f = root.Get("webhooks"); f != nullptr && !f->value.IsNull()) {
    ReadWebhooks(r, Field{f->path, f->value, f->key_mark, true}, config.webhooks, hook_names);
  }
  const Field* domains = root.Get("domains");
  if (domains == nullptr) {
    r.Fail(start, "", "missing key \"domains\" (the list of mail domains to watch; [] for none)");
  }
  ReadDomains(r, *domains, hook_names, config.domains);
  for (auto& entry : config.domains) {
    if (!entry.probe_mx) entry.probe_mx = config.probe_mx;
  }
  return config;
}

}  // namespace

Result<Config> ParseConfig(const std::string& text, const std::string& path) {
  try {
    return Read(text, path);
  } catch (const ConfigError& e) {
    return Error{e.what()};
  } catch (const YAML::Exception& e) {  // a conversion this file failed to foresee
    std::string where = path;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Error{where + ": " + e.msg};
  } catch (const std::exception& e) {
    return Error{path + ": cannot read the config: " + e.what()};
  }
}

Result<Config> LoadConfig(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error{path + ": cannot read the config file: it is a directory"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return Error{path + ": cannot read the config file: " + std::strerror(error)};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{path + ": cannot read the config file"};
  return ParseConfig(text.str(), path);
}

}  // namespace mtasts::config
