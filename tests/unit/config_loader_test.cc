#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace mtasts::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kDir = std::string(MTASTS_TESTDATA_DIR) + "/config";

std::string TestFile(const std::string& name) {
  return kDir + "/" + name;
}

Config LoadGood(const std::string& path) {
  auto config = LoadConfig(path);
  if (!config) {
    ADD_FAILURE() << config.error().message;
    return Config{};
  }
  return std::move(config).value();
}

/// One bad file per error, with the exact message after "FILE:" (line, column, key, reason).
struct BadCase {
  const char* file;
  const char* message;
};

// clang-format off
const BadCase kBadCases[] = {
      {"alias_cycle.yaml", R"(1:10: domains[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested more than 16 levels deep (a self-referencing alias?))"},
      {"bad_cidr.yaml", R"(2:34: network.ssrf_allow_cidrs[1]: "192.0.2.1/24" is not a CIDR (ADDRESS/LENGTH with no host bits set, e.g. 192.0.2.0/24))"},
      {"bad_dns_server.yaml", R"(2:33: network.dns_servers[1]: "dns.example.net" is not a DNS server address (IP, IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:53))"},
      {"bad_domain.yaml", R"(3:5: domains[1]: "exa_mple.org" is not a domain name: it contains "_" (a mail domain has only letters, digits, hyphens and dots; underscores belong to service names such as _mta-sts))"},
      {"bad_duration.yaml", R"(2:17: schedule.min_interval: invalid duration "5q": missing or unknown unit after 5 (units y, w, d, h, m, s, ms))"},
      {"bad_events.yaml", R"(4:13: webhooks[0].events: "upgrades" is not one of all | downgrade)"},
      {"bad_probe_mx.yaml", R"(1:11: probe_mx: expected true or false, got "yes")"},
      {"bad_domain_probe_mx.yaml", R"(3:15: domains[0].probe_mx: expected true or false, got "1")"},
      {"bad_smtp_port.yaml", R"(2:14: network.smtp_port: must be between 1 and 65535, got 70000)"},
      {"bad_ehlo_name.yaml", R"(2:14: network.ehlo_name: "mail server" is not a domain name: it contains a space)"},
      {"bad_format.yaml", R"(4:13: webhooks[0].format: "xml" is not one of json | slack)"},
      {"bad_shard_count.yaml", R"(2:26: shard.count: must be between 1 and 65536, got 0)"},
      {"bad_shard_index.yaml", R"(3:10: shard.index: must be below shard.count (4; shards are numbered from 0), got 4)"},
      {"bad_webhook_name.yaml", R"(2:11: webhooks[0].name: "ops team" is not a valid webhook name (1-64 letters, digits, '_', '-' or '.', starting with a letter or digit))"},
      {"comments_only.yaml", R"(1:1: the file is empty (it needs at least a domains: list))"},
      {"complex_key.yaml", R"(1:3: a key must be a plain name, got a list)"},
      {"domain_without_name.yaml", R"(5:5: domains[0]: missing key "name")"},
      {"duplicate_domain.yaml", R"(3:11: domains[1].name: duplicate domain "example.com." (example.com, first at line 2, column 5))"},
      {"duplicate_key.yaml", R"(3:1: state_dir: duplicate key (first at line 1, column 1))"},
      {"duplicate_nested_key.yaml", R"(3:3: schedule.min_interval: duplicate key (first at line 2, column 3))"},
      {"duplicate_webhook_name.yaml", R"(4:11: webhooks[1].name: duplicate webhook name "ops" (first at line 2, column 11))"},
      {"duplicate_webhook_reference.yaml", R"(6:21: domains[0].webhooks[1]: webhook "ops" listed twice)"},
      {"duration_too_long.yaml", R"(2:17: schedule.max_interval: must be at most 1y, got "2y")"},
      {"duration_without_unit.yaml", R"(2:18: network.check_timeout: invalid duration "300": missing or unknown unit after 300 (units y, w, d, h, m, s, ms))"},
      {"empty.yaml", R"(1:1: the file is empty (it needs at least a domains: list))"},
      {"empty_state_dir.yaml", R"(1:12: state_dir: must not be empty)"},
      {"invalid_syntax.yaml", R"(3:8: not valid YAML: end of sequence flow not found)"},
      {"ip_literal_domain.yaml", R"(2:5: domains[0]: "192.0.2.1" is not a domain name: it is an IPv4 address literal; give the mail domain)"},
      {"max_below_min.yaml", R"(3:17: schedule.max_interval: 30m is shorter than schedule.min_interval (1h))"},
      {"min_above_default_max.yaml", R"(2:17: schedule.min_interval: 2d is longer than schedule.max_interval (1d, the default))"},
      {"missing_domains.yaml", R"(1:1: missing key "domains" (the list of mail domains to watch; [] for none))"},
      {"multiple_documents.yaml", R"(3:1: a second YAML document (after ---); the config is a single document)"},
      {"negative_number.yaml", R"(2:26: schedule.max_concurrent_checks: must be between 1 and 4096, got -1)"},
      {"not_a_mapping.yaml", R"(1:1: the top level must be a mapping of api, domains, network, probe_mx, schedule, shard, state_dir, tlsrpt, webhooks, got a list)"},
      {"null_domains.yaml", R"(1:1: domains: expected a list of domains (write [] to watch none), got nothing (null))"},
      {"number_too_large.yaml", R"(4:19: webhooks[0].max_attempts: must be between 1 and 1000, got 99999999999999999999)"},
      {"shard_without_count.yaml", R"(2:8: shard: missing key "count")"},
      {"tiny_rate_limit.yaml", R"(2:26: api.rate_limit_per_minute: must be between 0.01 and 1000000000, got 0.000000001)"},
      {"tlsrpt_bad_listen_address.yaml", R"(3:19: tlsrpt.listen_address: "8443" is not a listen address (HOST:PORT, :PORT or [IPv6]:PORT, e.g. ":8443"))"},
      {"tlsrpt_bad_max_size.yaml", R"(3:13: tlsrpt.max_size: expected a size (bytes, or a number with KiB or MiB, e.g. 16MiB), got "lots")"},
      {"tlsrpt_cert_without_listen_address.yaml", R"(3:18: tlsrpt.tls_cert_file: is used only with tlsrpt.listen_address (the second listener), which is empty)"},
      {"tlsrpt_cert_without_key.yaml", R"(3:18: tlsrpt.tls_cert_file: needs tlsrpt.tls_key_file too (HTTPS needs both the certificate and its key))"},
      {"tlsrpt_max_size_too_large.yaml", R"(3:13: tlsrpt.max_size: must be between 1MiB and 64MiB, got "100MiB")"},
      {"tlsrpt_short_retention.yaml", R"(3:14: tlsrpt.retention: must be between 1d and 10y, got "12h")"},
      {"tlsrpt_unknown_rate_key.yaml", R"(3:16: tlsrpt.rate_limit.per_minute: unknown key (known keys of tlsrpt.rate_limit: burst, per_second))"},
      {"tlsrpt_window_over_retention.yaml", R"(4:11: tlsrpt.window: 5w (tlsrpt.window) is longer than tlsrpt.retention (4w): reports would be deleted while they count)"},
      {"tlsrpt_zero_burst.yaml", R"(3:23: tlsrpt.rate_limit.burst: must be between 1 and 100000, got 0)"},
      {"unknown_domain_key.yaml", R"(3:5: domains[0].webhook: unknown key (known keys of domains[0]: name, probe_mx, webhooks))"},
      {"unknown_nested_key.yaml", R"(3:3: schedule.max_intervall: unknown key (known keys of schedule: confirmations, dns_interval, max_concurrent_checks, max_interval, min_interval))"},
      {"unknown_top_key.yaml", R"(2:1: state_dri: unknown key (known keys: api, domains, network, probe_mx, schedule, shard, state_dir, tlsrpt, webhooks))"},
      {"unknown_webhook_key.yaml", R"(4:5: webhooks[0].retries: unknown key (known keys of webhooks[0]: events, format, headers, max_attempts, name, secret_file, timeout, url))"},
      {"unknown_webhook_reference.yaml", R"(8:21: domains[0].webhooks[1]: unknown webhook "opz" (defined webhooks: ops, sec))"},
      {"url_domain.yaml", R"(2:11: domains[0].name: "https://example.com/" is not a domain name: it is a URL; give the bare mail domain ("example.com"))"},
      {"webhook_bad_header.yaml", R"(6:7: webhooks[0].headers.X Bad: not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~))"},
      {"webhook_bad_url.yaml", R"(3:10: webhooks[0].url: must be an http:// or https:// URL with a host and no spaces (the value is not shown: webhook URLs often carry tokens))"},
      {"webhook_duplicate_header.yaml", R"(6:7: webhooks[0].headers.x-token: duplicate header (names are case-insensitive; first at line 5, column 7))"},
      {"webhook_multiline_header.yaml", R"(5:16: webhooks[0].headers.X-Token: a header value must be one line (the value is not shown))"},
      {"webhook_reference_without_webhooks.yaml", R"(3:16: domains[0].webhooks[0]: unknown webhook "ops" (no webhooks are defined))"},
      {"webhook_without_url.yaml", R"(2:5: webhooks[0]: missing key "url")"},
      {"webhooks_not_a_list.yaml", R"(1:11: webhooks: expected a list, got a string (not shown))"},
      {"wrong_type_domain_item.yaml", R"(2:5: domains[0]: expected a domain name or a mapping with name (and webhooks), got a list)"},
      {"wrong_type_domains.yaml", R"(1:10: domains: expected a list of domains (write [] to watch none), got "example.com")"},
      {"wrong_type_integer.yaml", R"(2:26: schedule.max_concurrent_checks: expected a whole number, got "many")"},
      {"wrong_type_list.yaml", R"(2:16: network.dns_servers: expected a list, got "127.0.0.1:53")"},
      {"wrong_type_quoted_integer.yaml", R"(2:26: schedule.max_concurrent_checks: expected a whole number, got the quoted string "64" (write numbers without quotes))"},
      {"wrong_type_section.yaml", R"(1:10: network: expected a mapping, got a list)"},
      {"wrong_type_string.yaml", R"(1:12: state_dir: expected a string, got a list)"},
      {"zero_duration.yaml", R"(2:18: network.check_timeout: must be longer than zero, got "0s")"},
      {"zero_number.yaml", R"(2:21: api.rate_limit_burst: must be between 1 and 100000, got 0)"},
      {"zero_rate_limit.yaml", R"(2:26: api.rate_limit_per_minute: must be above zero, got 0)"},
};
// clang-format on

/// The files that must load; every other file of the directory must be in kBadCases.
const std::set<std::string> kGoodFiles = {"good.yaml", "minimal.yaml", "no_domains.yaml",
                                          "empty_sections.yaml", "tlsrpt_maildir.yaml"};

TEST(ConfigLoader, EachBadFileFailsWithItsMessage) {
  for (const auto& c : kBadCases) {
    SCOPED_TRACE(c.file);
    const std::string path = TestFile(c.file);
    auto config = LoadConfig(path);
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().message, path + ":" + c.message);
  }
}

TEST(ConfigLoader, EveryTestdataFileIsCovered) {
  std::set<std::string> listed = kGoodFiles;
  for (const auto& c : kBadCases) {
    EXPECT_TRUE(listed.insert(c.file).second) << c.file << " is listed twice";
  }
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    ++files;
    EXPECT_EQ(listed.count(entry.path().filename().string()), 1U)
        << entry.path() << " is in testdata but no test reads it";
  }
  EXPECT_EQ(files, listed.size()) << "a listed file is missing from testdata";
}

TEST(ConfigLoader, WebhookUrlsAndHeaderValuesNeverAppearInMessages) {
  std::size_t checked = 0;
  for (const auto& c : kBadCases) {
    std::ifstream in(TestFile(c.file));
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find("s3cr3t") == std::string::npos) continue;
    SCOPED_TRACE(c.file);
    ++checked;
    auto config = LoadConfig(TestFile(c.file));
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().message.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(config.error().message.find("hooks.slack.com"), std::string::npos);
  }
  EXPECT_GE(checked, 4U);
}

TEST(ConfigLoader, GoodFileSetsEveryKey) {
  const std::string path = TestFile("good.yaml");
  const Config config = LoadGood(path);
  EXPECT_EQ(config.path, path);
  EXPECT_EQ(config.state_dir, "/srv/mta-sts");

  EXPECT_EQ(config.network.dns_servers,
            (std::vector<std::string>{"127.0.0.1:53", "[2001:db8::53]:5353", "192.0.2.53"}));
  EXPECT_EQ(config.network.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(config.network.ssrf_allow_cidrs,
            (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"}));
  EXPECT_EQ(config.network.check_timeout, seconds(15));

  EXPECT_EQ(config.schedule.min_interval, minutes(10));
  EXPECT_EQ(config.schedule.max_interval, hours(12));
  EXPECT_EQ(config.schedule.dns_interval, minutes(30));
  EXPECT_EQ(config.schedule.max_concurrent_checks, 8);

  EXPECT_EQ(config.api.keys_file, "/etc/mta-sts-exporter/api-keys");
  EXPECT_DOUBLE_EQ(config.api.rate_limit_per_minute, 30.5);
  EXPECT_EQ(config.api.rate_limit_burst, 5);
  EXPECT_EQ(config.api.max_concurrent_requests, 4);

  EXPECT_EQ(config.shard, (Shard{2, 3}));

  EXPECT_EQ(config.tlsrpt.listen_address, "127.0.0.1:8443");
  EXPECT_EQ(config.tlsrpt.tls_cert_file, "/etc/mta-sts-exporter/reports.crt");
  EXPECT_EQ(config.tlsrpt.tls_key_file, "/etc/mta-sts-exporter/reports.key");
  EXPECT_EQ(config.tlsrpt.retention, hours(90 * 24));
  EXPECT_EQ(config.tlsrpt.window, hours(3 * 24));
  EXPECT_EQ(config.tlsrpt.max_size, std::size_t{8} << 20);
  EXPECT_EQ(config.tlsrpt.rate_limit_burst, 12);
  EXPECT_DOUBLE_EQ(config.tlsrpt.rate_limit_per_second, 0.5);

  ASSERT_EQ(config.domains.size(), 3U);
  EXPECT_EQ(config.domains[0].name, "example.com");
  EXPECT_FALSE(config.domains[0].webhooks.has_value());
  EXPECT_EQ(config.domains[1].name, "example.org");
  EXPECT_EQ(config.domains[1].webhooks, (std::vector<std::string>{"ops"}));
  EXPECT_EQ(config.domains[2].name, "xn--bcher-kva.example");
  ASSERT_TRUE(config.domains[2].webhooks.has_value());
  EXPECT_TRUE(config.domains[2].webhooks->empty());

  ASSERT_EQ(config.webhooks.size(), 2U);
  const WebhookSettings& ops = config.webhooks[0];
  EXPECT_EQ(ops.name, "ops");
  EXPECT_EQ(ops.url, "https://hooks.example.net/mta-sts");
  EXPECT_EQ(ops.secret_file, "/etc/mta-sts-exporter/ops.secret");
  EXPECT_EQ(ops.format, "json");
  EXPECT_EQ(ops.events, "all");
  EXPECT_EQ(ops.timeout, seconds(10));
  EXPECT_EQ(ops.max_attempts, 8);
  EXPECT_TRUE(ops.headers.empty());
  const WebhookSettings& chat = config.webhooks[1];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_EQ(chat.url, "https://hooks.slack.com/services/T000/B000/XXXX");
  EXPECT_EQ(chat.secret_file, "");
  EXPECT_EQ(chat.format, "slack");
  EXPECT_EQ(chat.events, "downgrade");
  EXPECT_EQ(chat.timeout, seconds(5));
  EXPECT_EQ(chat.max_attempts, 3);
  EXPECT_EQ(chat.headers, (std::map<std::string, std::string>{{"X-Team", "mail"},
                                                              {"Authorization", "Bearer abc"}}));
}

/// The defaults of README "Configuration" and config.h, spelled out.
void ExpectDefaults(const Config& config) {
  EXPECT_EQ(config.state_dir, "/var/lib/mta-sts-exporter");
  EXPECT_TRUE(config.network.dns_servers.empty());
  EXPECT_EQ(config.network.ca_file, "");
  EXPECT_TRUE(config.network.ssrf_allow_cidrs.empty());
  EXPECT_EQ(config.network.check_timeout, seconds(10));
  EXPECT_EQ(config.schedule.min_interval, minutes(5));
  EXPECT_EQ(config.schedule.max_interval, hours(24));
  EXPECT_EQ(config.schedule.dns_interval, hours(1));
  EXPECT_EQ(config.schedule.max_concurrent_checks, 64);
  EXPECT_EQ(config.api.keys_file, "");
  EXPECT_DOUBLE_EQ(config.api.rate_limit_per_minute, 60);
  EXPECT_EQ(config.api.rate_limit_burst, 10);
  EXPECT_EQ(config.api.max_concurrent_requests, 16);
  EXPECT_TRUE(config.webhooks.empty());
  EXPECT_EQ(config.shard, (Shard{0, 1}));
  EXPECT_EQ(config.tlsrpt.listen_address, "");
  EXPECT_EQ(config.tlsrpt.maildir, "");
  EXPECT_EQ(config.tlsrpt.retention, hours(400 * 24));
  EXPECT_EQ(config.tlsrpt.window, hours(7 * 24));
  EXPECT_EQ(config.tlsrpt.max_size, std::size_t{16} << 20);
  EXPECT_EQ(config.tlsrpt.rate_limit_burst, 30);
  EXPECT_DOUBLE_EQ(config.tlsrpt.rate_limit_per_second, 1);
}

TEST(ConfigLoader, TlsRptMaildirIsRead) {
  EXPECT_EQ(LoadGood(TestFile("tlsrpt_maildir.yaml")).tlsrpt.maildir, "/var/mail/tlsrpt");
}

TEST(ConfigLoader, MinimalFileGetsEveryDefault) {
  const Config config = LoadGood(TestFile("minimal.yaml"));
  ExpectDefaults(config);
  ASSERT_EQ(config.domains.size(), 1U);
  EXPECT_EQ(config.domains[0].name, "example.com");
  EXPECT_FALSE(config.domains[0].webhooks.has_value());
}

TEST(ConfigLoader, EmptySectionsKeepTheirDefaults) {
  const Config config = LoadGood(TestFile("empty_sections.yaml"));
  ExpectDefaults(config);
  ASSERT_EQ(config.domains.size(), 1U);
}

TEST(ConfigLoader, AnEmptyDomainListIsValid) {
  const Config config = LoadGood(TestFile("no_domains.yaml"));
  EXPECT_TRUE(config.domains.empty());
}

TEST(ConfigLoader, WebhookDefaults) {
  auto config = ParseConfig(
      "webhooks: [{name: a, url: 'http://127.0.0.1:8080/hook'}]\ndomains: [example.com]\n",
      "inline.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  ASSERT_EQ(config->webhooks.size(), 1U);
  const WebhookSettings& hook = config->webhooks[0];
  EXPECT_EQ(hook.url, "http://127.0.0.1:8080/hook");
  EXPECT_EQ(hook.secret_file, "");
  EXPECT_EQ(hook.format, "json");
  EXPECT_EQ(hook.events, "all");
  EXPECT_EQ(hook.timeout, seconds(10));
  EXPECT_EQ(hook.max_attempts, 8);
  EXPECT_TRUE(hook.headers.empty());
}

TEST(ConfigLoader, DurationsArePrometheusStyle) {
  struct Case {
    const char* text;
    milliseconds value;
  } cases[] = {
      {"90s", seconds(90)},   {"5m", minutes(5)},  {"1h30m", minutes(90)},
      {"7d", hours(7 * 24)},  {"1w", hours(168)},  {"500ms", milliseconds(500)},
      {"'10s'", seconds(10)}, {"1y", hours(8760)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto config = ParseConfig(
        std::string("network: {check_timeout: ") + c.text + "}\ndomains: []\n", "inline.yaml");
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(config->network.check_timeout, c.value);
  }
}

TEST(ConfigLoader, ParseConfigNamesThePathGiven) {
  auto config = ParseConfig("domains: [example.com]\nbogus: 1\n", "/etc/inline.yaml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().message,
            "/etc/inline.yaml:2:1: bogus: unknown key (known keys: api, domains, network, "
            "probe_mx, schedule, shard, state_dir, tlsrpt, webhooks)");
}

// Found by the config fuzzer (tests/fuzz/corpus/config_loader/regression-*): yaml-cpp 0.7 never
// gets past a top-level ',' outside a flow collection, and YAML::LoadAll grew without end.
TEST(ConfigLoader, AStrayCommaIsAnErrorNotAnEndlessLoop) {
  const std::pair<std::string, std::string> cases[] = {
      {",", "x.yaml:1:1: not valid YAML: unexpected ','"},
      {"&a,", "x.yaml:1:3: not valid YAML: unexpected ','"},
      {"!t,", "x.yaml:1:3: not valid YAML: unexpected ','"},
      {"---\n,", "x.yaml:2:1: not valid YAML: unexpected ','"},
      {"domains: []\n---\n,", "x.yaml:3:1: not valid YAML: unexpected ','"},
      {std::string("&oa1, ; *alsics1& *\x89\n\n"), "x.yaml:1:5: not valid YAML: unexpected ','"},
  };
  for (const auto& [text, message] : cases) {
    SCOPED_TRACE(text);
    auto config = ParseConfig(text, "x.yaml");
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().message.rfind(message, 0), 0U) << config.error().message;
  }
  // Commas where YAML allows them still load.
  EXPECT_TRUE(ParseConfig("domains: [example.com, example.org]\n", "x.yaml").has_value());
  EXPECT_TRUE(ParseConfig("state_dir: /a,b\ndomains: []\n", "x.yaml").has_value());
}

TEST(ConfigLoader, UnreadableFiles) {
  const std::string missing = TestFile("does-not-exist.yaml");
  auto config = LoadConfig(missing);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().message,
            missing + ": cannot read the config file: No such file or directory");

  config = LoadConfig(kDir);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().message, kDir + ": cannot read the config file: it is a directory");
}

/// The shipped config (scripts/run.sh starts the daemon on it) loads as it is.
TEST(ExampleConfig, LoadsCleanly) {
  const std::string path = std::string(MTASTS_SOURCE_DIR) + "/config/example.yaml";
  const Config config = LoadGood(path);
  EXPECT_EQ(config.state_dir, "/var/lib/mta-sts-exporter");
  std::vector<std::string> names;
  for (const auto& domain : config.domains) names.push_back(domain.name);
  EXPECT_EQ(names, (std::vector<std::string>{"gmail.com", "outlook.com", "yahoo.com", "proton.me",
                                             "fastmail.com"}));
  ExpectDefaults(config);  // the schedule is spelled out with the default values
}

/// Every commented-out example of the shipped config is valid too: lines "#key: ..." and
/// "#  key: ..." are uncommented (the prose comments are "# Text" and stay comments).
TEST(ExampleConfig, LoadsWithEveryCommentedExampleEnabled) {
  const std::string path = std::string(MTASTS_SOURCE_DIR) + "/config/example.yaml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string text;
  std::size_t uncommented = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.size() > 1 && line[0] == '#' && (line[1] != ' ' || line.rfind("#  ", 0) == 0)) {
      line.erase(0, 1);
      ++uncommented;
    }
    text += line + "\n";
  }
  EXPECT_GT(uncommented, 20U);
  auto config = ParseConfig(text, path + " (uncommented)");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_FALSE(config->network.dns_servers.empty());
  EXPECT_FALSE(config->api.keys_file.empty());
  ASSERT_EQ(config->webhooks.size(), 1U);
  EXPECT_FALSE(config->webhooks[0].headers.empty());
  ASSERT_EQ(config->domains.size(), 6U);
  EXPECT_EQ(config->domains[5].webhooks, (std::vector<std::string>{"ops"}));
}

}  // namespace
}  // namespace mtasts::config
