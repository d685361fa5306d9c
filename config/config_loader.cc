#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "collectors/common/domain_name.h"
#include "collectors/common/duration.h"
#include "collectors/net/ip_address.h"

namespace mtasts::config {
namespace {

/// Thrown inside this file only; LoadConfig turns it into an Error.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& key,
                         const std::string& message) const {
    std::ostringstream out;
    out << path_;
    if (!mark.is_null()) out << ":" << mark.line + 1 << ":" << mark.column + 1;
    out << ": " << (key.empty() ? "" : key + ": ") << message;
    throw ConfigError(out.str());
  }
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    Fail(node.Mark(), key, message);
  }

  static std::string Quote(const YAML::Node& node) {
    if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    return "null";
  }

  /// Refuses keys of `map` outside `allowed`, naming the closest place.
  void OnlyKeys(const YAML::Node& map, const std::string& where,
                const std::set<std::string>& allowed) const {
    if (!map.IsMap()) Fail(map, where, "expected a mapping, got " + Quote(map));
    for (const auto& entry : map) {
      const auto key = entry.first.as<std::string>();
      if (allowed.count(key) == 0) {
        std::string list;
        for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
        Fail(entry.first, where.empty() ? key : where + "." + key,
             "unknown key (known keys" + std::string(where.empty() ? "" : " of " + where) + ": " +
                 list + ")");
      }
    }
  }

  std::string String(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) Fail(node, key, "expected a string, got " + Quote(node));
    return node.Scalar();
  }

  std::chrono::milliseconds Duration(const YAML::Node& node, const std::string& key) const {
    auto parsed = ParseDuration(String(node, key));
    if (!parsed) Fail(node, key, parsed.error().message);
    return parsed.value();
  }

  long long Integer(const YAML::Node& node, const std::string& key, long long min,
                    long long max) const {
    const std::string text = String(node, key);
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(text, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      Fail(node, key, "expected a whole number, got \"" + text + "\"");
    if (value < min || value > max) {
      Fail(node, key,
           "\"" + text + "\" is out of range (" + std::to_string(min) + " to " +
               std::to_string(max) + ")");
    }
    return value;
  }

  double Number(const YAML::Node& node, const std::string& key, double min) const {
    const std::string text = String(node, key);
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      Fail(node, key, "expected a number, got \"" + text + "\"");
    if (!(value >= min))
      Fail(node, key, "\"" + text + "\" must be at least " + std::to_string(min));
    return value;
  }

  std::vector<std::string> StringList(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence()) Fail(node, key, "expected a list, got " + Quote(node));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(String(node[i], key + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  std::string OneOf(const YAML::Node& node, const std::string& key,
                    const std::set<std::string>& choices) const {
    std::string value = String(node, key);
    if (choices.count(value) == 0) {
      std::string list;
      for (const auto& c : choices) list += (list.empty() ? "" : " | ") + c;
      Fail(node, key, "\"" + value + "\" is not one of " + list);
    }
    return value;
  }

 private:
  std::string path_;
};

void ReadNetwork(const Reader& r, const YAML::Node& node, NetworkSettings& out) {
  r.OnlyKeys(node, "network", {"dns_servers", "ca_file", "ssrf_allow_cidrs", "check_timeout"});
  if (auto n = node["dns_servers"]) out.dns_servers = r.StringList(n, "network.dns_servers");
  if (auto n = node["ca_file"]) out.ca_file = r.String(n, "network.ca_file");
  if (auto n = node["ssrf_allow_cidrs"]) {
    out.ssrf_allow_cidrs = r.StringList(n, "network.ssrf_allow_cidrs");
    for (std::size_t i = 0; i < out.ssrf_allow_cidrs.size(); ++i) {
      if (!net::Cidr::Parse(out.ssrf_allow_cidrs[i])) {
        r.Fail(n[i], "network.ssrf_allow_cidrs",
               "\"" + out.ssrf_allow_cidrs[i] +
                   "\" is not a CIDR (ADDRESS/LENGTH with no host bits set, e.g. 192.0.2.0/24)");
      }
    }
  }
  if (auto n = node["check_timeout"]) {
    out.check_timeout = r.Duration(n, "network.check_timeout");
    if (out.check_timeout.count() <= 0) r.Fail(n, "network.check_timeout", "must be positive");
  }
}

void ReadSchedule(const Reader& r, const YAML::Node& node, ScheduleSettings& out) {
  r.OnlyKeys(node, "schedule",
             {"min_interval", "max_interval", "dns_interval", "max_concurrent_checks"});
  if (auto n = node["min_interval"]) out.min_interval = r.Duration(n, "schedule.min_interval");
  if (auto n = node["max_interval"]) out.max_interval = r.Duration(n, "schedule.max_interval");
  if (auto n = node["dns_interval"]) out.dns_interval = r.Duration(n, "schedule.dns_interval");
  if (auto n = node["max_concurrent_checks"]) {
    out.max_concurrent_checks =
        static_cast<int>(r.Integer(n, "schedule.max_concurrent_checks", 1, 4096));
  }
  if (out.min_interval.count() <= 0) {
    r.Fail(node["min_interval"] ? node["min_interval"] : node, "schedule.min_interval",
           "must be positive");
  }
  if (out.max_interval < out.min_interval) {
    r.Fail(node["max_interval"] ? node["max_interval"] : node, "schedule.max_interval",
           "must not be shorter than schedule.min_interval");
  }
  if (out.dns_interval.count() <= 0) {
    r.Fail(node["dns_interval"] ? node["dns_interval"] : node, "schedule.dns_interval",
           "must be positive");
  }
}

void ReadApi(const Reader& r, const YAML::Node& node, ApiSettings& out) {
  r.OnlyKeys(node, "api",
             {"keys_file", "rate_limit_per_minute", "rate_limit_burst", "max_concurrent_requests"});
  if (auto n = node["keys_file"]) out.keys_file = r.String(n, "api.keys_file");
  if (auto n = node["rate_limit_per_minute"]) {
    out.rate_limit_per_minute = r.Number(n, "api.rate_limit_per_minute", 0.001);
  }
  if (auto n = node["rate_limit_burst"]) {
    out.rate_limit_burst = static_cast<int>(r.Integer(n, "api.rate_limit_burst", 1, 100000));
  }
  if (auto n = node["max_concurrent_requests"]) {
    out.max_concurrent_requests =
        static_cast<int>(r.Integer(n, "api.max_concurrent_requests", 1, 1024));
  }
}

void ReadWebhooks(const Reader& r, const YAML::Node& node, std::vector<WebhookSettings>& out) {
  if (!node.IsSequence()) r.Fail(node, "webhooks", "expected a list, got " + Reader::Quote(node));
  std::set<std::string> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    const std::string where = "webhooks[" + std::to_string(i) + "]";
    r.OnlyKeys(
        item, where,
        {"name", "url", "secret_file", "format", "events", "timeout", "max_attempts", "headers"});
    WebhookSettings hook;
    if (!item["name"]) r.Fail(item, where, "missing key \"name\"");
    if (!item["url"]) r.Fail(item, where, "missing key \"url\"");
    hook.name = r.String(item["name"], where + ".name");
    if (hook.name.empty()) r.Fail(item["name"], where + ".name", "must not be empty");
    if (!names.insert(hook.name).second) {
      r.Fail(item["name"], where + ".name", "duplicate webhook name \"" + hook.name + "\"");
    }
    hook.url = r.String(item["url"], where + ".url");
    if (hook.url.rfind("https://", 0) != 0 && hook.url.rfind("http://", 0) != 0) {
      // The URL is a secret of sorts (it often embeds a token): name the key, not the value.
      r.Fail(item["url"], where + ".url", "must be an http:// or https:// URL");
    }
    if (auto n = item["secret_file"]) hook.secret_file = r.String(n, where + ".secret_file");
    if (auto n = item["format"]) hook.format = r.OneOf(n, where + ".format", {"json", "slack"});
    if (auto n = item["events"]) hook.events = r.OneOf(n, where + ".events", {"all", "downgrade"});
    if (auto n = item["timeout"]) {
      hook.timeout = r.Duration(n, where + ".timeout");
      if (hook.timeout.count() <= 0) r.Fail(n, where + ".timeout", "must be positive");
    }
    if (auto n = item["max_attempts"]) {
      hook.max_attempts = static_cast<int>(r.Integer(n, where + ".max_attempts", 1, 1000));
    }
    if (auto n = item["headers"]) {
      if (!n.IsMap()) r.Fail(n, where + ".headers", "expected a mapping of header: value");
      for (const auto& header : n) {
        hook.headers[r.String(header.first, where + ".headers")] =
            r.String(header.second, where + ".headers");
      }
    }
    out.push_back(std::move(hook));
  }
}

void ReadDomains(const Reader& r, const YAML::Node& node, const std::set<std::string>& hooks,
                 std::vector<DomainEntry>& out) {
  if (!node.IsSequence()) r.Fail(node, "domains", "expected a list, got " + Reader::Quote(node));
  std::set<std::string> seen;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& item = node[i];
    const std::string where = "domains[" + std::to_string(i) + "]";
    DomainEntry entry;
    YAML::Node name_node = item;
    if (item.IsMap()) {
      r.OnlyKeys(item, where, {"name", "webhooks"});
      if (!item["name"]) r.Fail(item, where, "missing key \"name\"");
      name_node = item["name"];
      if (auto n = item["webhooks"]) {
        entry.webhooks = r.StringList(n, where + ".webhooks");
        for (std::size_t j = 0; j < entry.webhooks->size(); ++j) {
          if (hooks.count((*entry.webhooks)[j]) == 0) {
            r.Fail(n[j], where + ".webhooks",
                   "unknown webhook \"" + (*entry.webhooks)[j] + "\" (not defined under webhooks)");
          }
        }
      }
    }
    const std::string text = r.String(name_node, where);
    auto normalized = NormalizeDomain(text);
    if (!normalized) r.Fail(name_node, where, normalized.error().message);
    entry.name = normalized.value();
    if (!seen.insert(entry.name).second) {
      r.Fail(name_node, where, "duplicate domain \"" + text + "\" (" + entry.name + ")");
    }
    out.push_back(std::move(entry));
  }
}

Config Read(const std::string& text, const std::string& path) {
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.Fail(e.mark, "", "not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) r.Fail(YAML::Mark::null_mark(), "", "the file is empty");
  r.OnlyKeys(root, "", {"state_dir", "network", "schedule", "api", "domains", "webhooks"});

  Config config;
  config.path = path;
  if (auto n = root["state_dir"]) {
    config.state_dir = r.String(n, "state_dir");
    if (config.state_dir.empty()) r.Fail(n, "state_dir", "must not be empty");
  }
  if (auto n = root["network"]) ReadNetwork(r, n, config.network);
  if (auto n = root["schedule"]) ReadSchedule(r, n, config.schedule);
  if (auto n = root["api"]) ReadApi(r, n, config.api);
  std::set<std::string> hook_names;
  if (auto n = root["webhooks"]) {
    ReadWebhooks(r, n, config.webhooks);
    for (const auto& hook : config.webhooks) hook_names.insert(hook.name);
  }
  if (!root["domains"])
    r.Fail(root, "", "missing key \"domains\" (the list of mail domains to watch)");
  ReadDomains(r, root["domains"], hook_names, config.domains);
  return config;
}

}  // namespace

Result<Config> ParseConfig(const std::string& text, const std::string& path) {
  try {
    return Read(text, path);
  } catch (const ConfigError& e) {
    return Error{e.what()};
  } catch (const YAML::Exception& e) {
    return Error{path + ":" + std::to_string(e.mark.line + 1) + ":" +
                 std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": cannot read the config file: " + std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{path + ": cannot read the config file"};
  return ParseConfig(text.str(), path);
}

}  // namespace mtasts::config
