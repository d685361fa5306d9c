#include "config/overrides.h"

namespace mtasts::config {

void ApplyOverrides(Config& config, const Overrides& overrides) {
  NetworkSettings& network = config.network;
  if (overrides.dns_servers) network.dns_servers = *overrides.dns_servers;
  if (overrides.ca_file) network.ca_file = *overrides.ca_file;
  if (overrides.ssrf_allow_cidrs) network.ssrf_allow_cidrs = *overrides.ssrf_allow_cidrs;
  if (overrides.check_timeout) network.check_timeout = *overrides.check_timeout;
  if (overrides.smtp_port) network.smtp_port = *overrides.smtp_port;
  if (overrides.probe_mx) {
    config.probe_mx = *overrides.probe_mx;
    for (auto& entry : config.domains) entry.probe_mx = *overrides.probe_mx;
  }
  if (overrides.shard) config.shard = *overrides.shard;
}

}  // namespace mtasts::config
