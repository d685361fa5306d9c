// The flags over the file: one override type, applied in one place (README "The daemon").
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config/overrides.h"

namespace mtasts::config {
namespace {

Config FromFile() {
  Config config;
  config.network.dns_servers = {"192.0.2.53"};
  config.network.ca_file = "/etc/file-ca.pem";
  config.network.ssrf_allow_cidrs = {"198.51.100.0/24"};
  config.network.check_timeout = std::chrono::seconds(20);
  config.network.ehlo_name = "mail.example.net";
  config.probe_mx = false;
  config.domains = {{"a.example", std::nullopt, false}, {"b.example", std::nullopt, true}};
  config.shard = Shard{1, 4};
  return config;
}

TEST(ApplyOverrides, NothingSetLeavesTheFileAsItIs) {
  Config config = FromFile();
  ApplyOverrides(config, Overrides{});
  const Config file = FromFile();
  EXPECT_EQ(config.network, file.network);
  EXPECT_EQ(config.probe_mx, file.probe_mx);
  EXPECT_EQ(config.domains[0].probe_mx, false);
  EXPECT_EQ(config.domains[1].probe_mx, true);
  EXPECT_EQ(config.shard.index, 1);
  EXPECT_EQ(config.shard.count, 4);
}

TEST(ApplyOverrides, EachFlagGivenWinsOverTheFileAndOnlyThatOne) {
  Overrides overrides;
  overrides.dns_servers = std::vector<std::string>{"127.0.0.1:5353", "::1"};
  overrides.check_timeout = std::chrono::seconds(3);
  overrides.smtp_port = 2525;
  Config config = FromFile();
  ApplyOverrides(config, overrides);
  EXPECT_EQ(config.network.dns_servers, (std::vector<std::string>{"127.0.0.1:5353", "::1"}));
  EXPECT_EQ(config.network.check_timeout, std::chrono::seconds(3));
  EXPECT_EQ(config.network.smtp_port, 2525);
  // Not given: the file's.
  EXPECT_EQ(config.network.ca_file, "/etc/file-ca.pem");
  EXPECT_EQ(config.network.ssrf_allow_cidrs, std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_EQ(config.network.ehlo_name, "mail.example.net");

  overrides = {};
  overrides.ca_file = "/tmp/test-ca.pem";
  overrides.ssrf_allow_cidrs = std::vector<std::string>{};  // given, and empty: none exempted
  ApplyOverrides(config, overrides);
  EXPECT_EQ(config.network.ca_file, "/tmp/test-ca.pem");
  EXPECT_TRUE(config.network.ssrf_allow_cidrs.empty());
  EXPECT_EQ(config.network.check_timeout, std::chrono::seconds(3));
}

TEST(ApplyOverrides, ProbeMxReachesEveryDomainAndShardReplacesTheFiles) {
  Overrides overrides;
  overrides.probe_mx = true;
  overrides.shard = Shard{0, 2};
  Config config = FromFile();
  ApplyOverrides(config, overrides);
  EXPECT_TRUE(config.probe_mx);
  for (const auto& entry : config.domains) EXPECT_EQ(entry.probe_mx, true) << entry.name;
  EXPECT_EQ(config.shard.index, 0);
  EXPECT_EQ(config.shard.count, 2);
}

TEST(ApplyOverrides, TheDaemonsLoadedFileAndTheOneShotDefaultsMeetTheSameFlags) {
  const std::string path = ::testing::TempDir() + "mtasts-overrides.yaml";
  std::ofstream(path) << "network:\n  dns_servers: [\"192.0.2.53\"]\ndomains:\n  - example.com\n";
  auto loaded = LoadConfig(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  Overrides overrides;
  overrides.dns_servers = std::vector<std::string>{"127.0.0.1"};
  overrides.probe_mx = true;
  Config daemon = loaded.value();
  ApplyOverrides(daemon, overrides);
  Config one_shot;
  ApplyOverrides(one_shot, overrides);
  EXPECT_EQ(daemon.network, one_shot.network);
  EXPECT_EQ(daemon.probe_mx, one_shot.probe_mx);
  EXPECT_EQ(daemon.domains.at(0).probe_mx, true);
}

}  // namespace
}  // namespace mtasts::config
