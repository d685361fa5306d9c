#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/check/network_settings.h"
#include "config/shard.h"
#include "config/web_config.h"

namespace mtasts::config {

using mtasts::NetworkSettings;  // checks own it; the file and the flags fill it
using std::chrono::milliseconds;

struct ScheduleSettings {
  milliseconds min_interval{5 * 60 * 1000};     // never re-check more often
  milliseconds max_interval{24 * 3600 * 1000};  // re-check at min(max_age, this)
  milliseconds dns_interval{3600 * 1000};       // cheap re-read of the _mta-sts id
  int max_concurrent_checks = 64;
  int confirmations = 2;  // consecutive checks that must see a new posture before it counts
};

struct DomainEntry {
  std::string name;                                  // A-label form, normalised
  std::optional<std::vector<std::string>> webhooks;  // unset: every webhook; empty: none
  std::optional<bool> probe_mx;  // STARTTLS probes of the MX hosts; after loading, always set
                                 // (the top-level probe_mx when the entry does not say)
};

struct WebhookSettings {
  std::string name;
  std::string url;
  std::string secret_file;      // empty: unsigned
  std::string format = "json";  // json | slack
  std::string events = "all";   // all | downgrade
  milliseconds timeout{10 * 1000};
  int max_attempts = 8;
  std::map<std::string, std::string> headers;
};

struct ApiSettings {
  std::string keys_file;              // empty: no API keys required
  double rate_limit_per_minute = 60;  // per key, or per client address without keys
  int rate_limit_burst = 10;
  int max_concurrent_requests = 16;  // live /v1 checks in flight at once
};

/// TLS-RPT aggregate reports received (README "TLS-RPT reports").
struct TlsRptSettings {
  std::string listen_address;  // a second listener for reports; empty: the main one only
  std::string tls_cert_file;   // both or neither: HTTPS on listen_address
  std::string tls_key_file;
  std::string maildir;                               // empty: no Maildir is read
  milliseconds retention{400LL * 24 * 3600 * 1000};  // stored reports older are deleted
  milliseconds window{7LL * 24 * 3600 * 1000};       // reports that count for the codes
  std::size_t max_size = std::size_t{16} << 20;      // a report's JSON after inflating
  int rate_limit_burst = 30;                         // reports per client address at once
  double rate_limit_per_second = 1;                  // ... and after the burst
};

/// The whole configuration file (README "Configuration"), defaults for everything but `domains`.
struct Config {
  std::string path;  // where it was read from, for messages
  std::string state_dir = "/var/lib/mta-sts-exporter";
  NetworkSettings network;
  bool probe_mx = false;  // default for every domain: probe MX hosts (outbound port 25)
  ScheduleSettings schedule;
  ApiSettings api;
  std::vector<DomainEntry> domains;  // required key, may be empty: the daemon then only serves
                                     // the API
  std::vector<WebhookSettings> webhooks;
  TlsRptSettings tlsrpt;
  Shard shard;    // this instance watches only the domains of its shard (default: all of them)
  WebConfig web;  // not a key of this file: --web.config.file, read beside it (the daemon only)
};

}  // namespace mtasts::config
