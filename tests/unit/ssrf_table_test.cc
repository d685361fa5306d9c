// The SSRF guard as the policy fetch uses it (RetrievePolicy), over one address of every refused
// range of the IANA special-purpose registries and every embedded-IPv4 form: alone, and mixed
// with public addresses in any position, the policy host is refused whole and nothing is
// dialled. The fetcher is real but every deadline here has already passed, so even a wrongly
// allowed address would end in "no time left" before any socket is opened.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "collectors/policy/policy_check.h"

namespace mtasts::policy {
namespace {

struct Row {
  const char* address;
  const char* range;  // what the refusal must name
};

// One address per refused range (IPv4 and IPv6 registries, plus the forms that embed IPv4).
const Row kRefused[] = {
    {"0.0.0.0", "0.0.0.0/8"},
    {"0.1.2.3", "0.0.0.0/8"},
    {"10.0.0.1", "10.0.0.0/8"},
    {"100.64.0.1", "100.64.0.0/10"},
    {"127.0.0.1", "127.0.0.0/8"},
    {"169.254.169.254", "169.254.0.0/16"},
    {"172.16.0.1", "172.16.0.0/12"},
    {"192.0.0.8", "192.0.0.0/24"},
    {"192.0.2.1", "192.0.2.0/24"},
    {"192.31.196.1", "192.31.196.0/24"},
    {"192.52.193.1", "192.52.193.0/24"},
    {"192.88.99.1", "192.88.99.0/24"},
    {"192.168.1.1", "192.168.0.0/16"},
    {"192.175.48.1", "192.175.48.0/24"},
    {"198.18.0.1", "198.18.0.0/15"},
    {"198.51.100.1", "198.51.100.0/24"},
    {"203.0.113.1", "203.0.113.0/24"},
    {"224.0.0.1", "224.0.0.0/4"},
    {"240.0.0.1", "240.0.0.0/4"},
    {"255.255.255.255", "255.255.255.255/32"},
    {"::", "::/128"},
    {"::1", "::1/128"},
    {"::ffff:8.8.8.8", "::ffff:0:0/96"},  // IPv4-mapped, even of a public address
    {"::ffff:127.0.0.1", "embeds 127.0.0.1"},
    {"::8.8.8.8", "::/96 (IPv4-compatible"},
    {"::10.0.0.1", "embeds 10.0.0.1"},
    {"64:ff9b::a00:1", "which is in 10.0.0.0/8"},  // NAT64 of a private address
    {"64:ff9b::7f00:1", "which is in 127.0.0.0/8"},
    {"64:ff9b::a9fe:a9fe", "which is in 169.254.0.0/16"},
    {"64:ff9b:1::808:808", "64:ff9b:1::/48"},  // local-use NAT64, whatever it embeds
    {"100::1", "100::/64"},
    {"2001::1", "2001::/32 (Teredo"},
    {"2001:0:4136:e378:8000:63bf:f5ff:fffe", "embeds client 10.0.0.1"},
    {"2001:1::1", "2001:1::1/128"},
    {"2001:1::2", "2001:1::2/128"},
    {"2001:2::1", "2001:2::/48"},
    {"2001:3::1", "2001:3::/32"},
    {"2001:4:112::1", "2001:4:112::/48"},
    {"2001:10::1", "2001:10::/28"},
    {"2001:20::1", "2001:20::/28"},
    {"2001:30::1", "2001:30::/28"},
    {"2001:100::1", "2001::/23"},
    {"2001:db8::1", "2001:db8::/32"},
    {"2002:a00:1::1", "which is in 10.0.0.0/8"},  // 6to4 of a private address
    {"2002:7f00:1::1", "which is in 127.0.0.0/8"},
    {"2002::1", "which is in 0.0.0.0/8"},
    {"2620:4f:8000::1", "2620:4f:8000::/48"},
    {"3fff::1", "3fff::/20"},
    {"5f00::1", "5f00::/16"},
    {"fc00::1", "fc00::/7"},
    {"fd00::1", "fc00::/7"},
    {"fe80::1", "fe80::/10"},
    {"fec0::1", "fec0::/10"},
    {"ff02::1", "ff00::/8"},
    {"4000::1", "outside 2000::/3"},
};

const char* const kPublic4 = "8.8.8.8";
const char* const kPublic6 = "2606:4700::1111";

net::IpAddress Ip(const char* text) {
  const auto ip = net::IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << text;
  return ip.value_or(net::IpAddress{});
}

dns::Lookup<dns::AddressAnswer> Answer(const std::vector<const char*>& addresses) {
  std::promise<Result<dns::AddressAnswer>> promise;
  dns::AddressAnswer answer;
  answer.presence = dns::Presence::kFound;
  for (const char* a : addresses) answer.addresses.push_back(Ip(a));
  promise.set_value(answer);
  return promise.get_future();
}

class SsrfTable : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto trust = net::TrustStore::Load("");
    ASSERT_TRUE(trust.has_value()) << trust.error().message;
    fetcher_ = new net::HttpsFetcher(trust.value());
  }
  static void TearDownTestSuite() {
    delete fetcher_;
    fetcher_ = nullptr;
  }

  static PolicyRetrieval Retrieve(const std::vector<const char*>& addresses) {
    auto lookup = Answer(addresses);
    const Deadline passed = Deadline::After(std::chrono::milliseconds(-1));
    return RetrievePolicy("example.com", lookup, net::AddressPolicy{}, *fetcher_, passed);
  }

  static net::HttpsFetcher* fetcher_;
};

net::HttpsFetcher* SsrfTable::fetcher_ = nullptr;

TEST_F(SsrfTable, EveryRefusedAddressRefusesTheHostAloneAndInAnyMix) {
  for (const Row& row : kRefused) {
    const std::vector<std::vector<const char*>> answers = {
        {row.address},           {kPublic4, row.address},
        {row.address, kPublic4}, {kPublic4, kPublic6, row.address},
        {row.address, kPublic6},
    };
    for (const auto& answer : answers) {
      std::string label;
      for (const char* a : answer) label += std::string(a) + " ";
      SCOPED_TRACE("answer: " + label);
      const PolicyRetrieval r = Retrieve(answer);
      EXPECT_EQ(r.stage, PolicyRetrieval::Stage::kRefused);
      EXPECT_FALSE(r.fetch.has_value()) << "nothing may be dialled";
      ASSERT_EQ(r.refused.size(), 1U);
      EXPECT_EQ(r.refused[0].rfind(Ip(row.address).ToString() + ": ", 0), 0U) << r.refused[0];
      EXPECT_NE(r.refused[0].find(row.range), std::string::npos) << r.refused[0];
      EXPECT_NE(r.message.find("no connection was made"), std::string::npos) << r.message;
      if (answer.size() > 1) {
        EXPECT_NE(r.message.find("refused whole"), std::string::npos) << r.message;
      }
    }
  }
}

TEST_F(SsrfTable, EveryRefusedAddressIsNamedInOneAnswer) {
  std::vector<const char*> all;
  for (const Row& row : kRefused) all.push_back(row.address);
  all.push_back(kPublic4);
  const PolicyRetrieval r = Retrieve(all);
  EXPECT_EQ(r.stage, PolicyRetrieval::Stage::kRefused);
  EXPECT_EQ(r.refused.size(), std::size(kRefused));
  EXPECT_FALSE(r.fetch.has_value());
}

TEST_F(SsrfTable, PublicAnswersGoToTheFetcherWithTheVettedAddress) {
  // Public IPv4, public IPv6, and the NAT64/6to4 forms of a public IPv4 address.
  for (const char* address : {kPublic4, kPublic6, "64:ff9b::808:808", "2002:808:808::1"}) {
    SCOPED_TRACE(address);
    const PolicyRetrieval r = Retrieve({address});
    ASSERT_EQ(r.stage, PolicyRetrieval::Stage::kFetched);
    ASSERT_TRUE(r.fetch.has_value());
    EXPECT_EQ(r.fetch->address, Ip(address).ToString());
    // The deadline had passed: the fetcher gave up before opening a socket.
    EXPECT_EQ(r.fetch->kind, net::FetchResult::Kind::kTimeout);
    EXPECT_NE(r.fetch->message.find("no time left"), std::string::npos) << r.fetch->message;
  }
}

TEST_F(SsrfTable, ThousandsOfRecordsAreAllVettedAndNamedInABoundedMessage) {
  // 3,500 public addresses and one private one last: refused whole, nothing dialled.
  std::vector<std::string> texts;
  for (int i = 0; i < 3500; ++i) {
    texts.push_back("8.8." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  }
  texts.emplace_back("10.0.0.1");
  std::vector<const char*> answer;
  for (const auto& t : texts) answer.push_back(t.c_str());
  PolicyRetrieval r = Retrieve(answer);
  EXPECT_EQ(r.stage, PolicyRetrieval::Stage::kRefused);
  EXPECT_FALSE(r.fetch.has_value());
  EXPECT_TRUE(r.dialled.empty());
  EXPECT_EQ(r.refused.size(), 1U);
  EXPECT_NE(r.message.find("refused whole"), std::string::npos) << r.message;

  // 3,500 private addresses: each one judged, ten named in the message.
  texts.clear();
  for (int i = 0; i < 3500; ++i) {
    texts.push_back("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  }
  answer.clear();
  for (const auto& t : texts) answer.push_back(t.c_str());
  r = Retrieve(answer);
  EXPECT_EQ(r.stage, PolicyRetrieval::Stage::kRefused);
  EXPECT_EQ(r.refused.size(), 3500U);
  EXPECT_NE(r.message.find("and 3490 more"), std::string::npos) << r.message;
  EXPECT_LT(r.message.size(), 2000U);
}

// An address that drops the SYN (here a loopback listener whose accept queue is full: Linux drops
// further SYNs) must not use up the whole check budget: with a connect deadline the fetch gives up
// there as kConnectFailed, which RetrievePolicy answers by dialling the next address.
TEST_F(SsrfTable, AConnectDeadlineGivesUpOnAnAddressThatDropsTheSyn) {
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* raw = reinterpret_cast<sockaddr*>(&address);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener.get(), raw, length), 0);
  ASSERT_EQ(listen(listener.get(), 0), 0);
  ASSERT_EQ(getsockname(listener.get(), raw, &length), 0);
  UniqueFd queued(
      socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // fills the queue, never accepted
  ASSERT_EQ(connect(queued.get(), raw, length), 0);

  net::FetchRequest request;
  request.host = "mta-sts.example.com";
  request.address = Ip("127.0.0.1");
  request.port = ntohs(address.sin_port);
  request.path = "/.well-known/mta-sts.txt";
  request.deadline = Deadline::After(std::chrono::seconds(30));
  request.connect_deadline = Deadline::After(std::chrono::milliseconds(200));
  const net::FetchResult result = fetcher_->Fetch(request);
  EXPECT_EQ(result.kind, net::FetchResult::Kind::kConnectFailed) << result.message;
  EXPECT_NE(result.message.find("got no answer within"), std::string::npos) << result.message;
  EXPECT_FALSE(request.deadline.expired()) << "the rest of the budget is left for another address";
}

TEST(AddressesToDial, TwoPerFamilyFourInAllIpv6FirstFamiliesInterleaved) {
  const struct {
    std::vector<const char*> answer;
    std::vector<const char*> dialled;
  } kRows[] = {
      {{"192.0.2.1"}, {"192.0.2.1"}},
      {{"2001:db8::1"}, {"2001:db8::1"}},
      {{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}, {"192.0.2.1", "192.0.2.2"}},
      // The resolver's order (A before AAAA) does not decide: IPv6 goes first (RFC 8305 §4).
      {{"192.0.2.1", "2001:db8::1"}, {"2001:db8::1", "192.0.2.1"}},
      {{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1", "2001:db8::2", "2001:db8::3"},
       {"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"}},
      {{"2001:db8::1", "192.0.2.1", "2001:db8::2", "2001:db8::3", "192.0.2.2", "192.0.2.3"},
       {"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"}},
      // One family short: the other's second address still comes after its first.
      {{"192.0.2.1", "192.0.2.2", "2001:db8::1"}, {"2001:db8::1", "192.0.2.1", "192.0.2.2"}},
      {{"2001:db8::1", "2001:db8::2", "2001:db8::3"}, {"2001:db8::1", "2001:db8::2"}},
  };
  for (const auto& row : kRows) {
    std::vector<net::IpAddress> answer;
    std::string label;
    for (const char* a : row.answer) {
      answer.push_back(Ip(a));
      label += std::string(a) + " ";
    }
    SCOPED_TRACE(label);
    std::vector<std::string> got;
    for (const auto& a : AddressesToDial(answer)) got.push_back(a.ToString());
    EXPECT_EQ(got, std::vector<std::string>(row.dialled.begin(), row.dialled.end()));
  }
  std::vector<net::IpAddress> thousands(3500, Ip("192.0.2.1"));
  EXPECT_EQ(AddressesToDial(thousands).size(), kMaxDialledPerFamily);
}

}  // namespace
}  // namespace mtasts::policy
