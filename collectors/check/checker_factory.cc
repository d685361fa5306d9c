#include "collectors/check/checker_factory.h"

#include <unistd.h>

#include <cctype>
#include <stdexcept>

#include "collectors/dns/cares_resolver.h"

namespace mtasts {
namespace {

/// Our name for EHLO when none is configured: the host name when it is a plausible DNS name
/// (letters, digits, '-', '.'), else "localhost"; never anything that could break the line.
std::string DefaultEhloName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  for (const char* p = name; *p != '\0'; ++p) {
    if (std::isalnum(static_cast<unsigned char>(*p)) == 0 && *p != '-' && *p != '.') {
      return "localhost";
    }
  }
  return name;
}

}  // namespace

Result<std::unique_ptr<DomainChecker>> MakeChecker(const NetworkSettings& settings) {
  std::vector<net::Cidr> allowed;
  for (const auto& text : settings.ssrf_allow_cidrs) {
    auto cidr = net::Cidr::Parse(text);
    if (!cidr) {
      return Error{"SSRF allow range \"" + text +
                   "\" is not a CIDR (ADDRESS/LENGTH with no host bits set, e.g. 192.0.2.0/24)"};
    }
    allowed.push_back(*cidr);
  }
  auto trust = net::TrustStore::Load(settings.ca_file);
  if (!trust) return trust.error();

  dns::ResolverOptions resolver_options;
  resolver_options.servers = settings.dns_servers;
  std::shared_ptr<dns::Resolver> resolver;
  try {
    resolver = std::make_shared<dns::CaresResolver>(resolver_options);
  } catch (const std::runtime_error& e) {
    return Error{e.what()};
  }
  CheckerOptions options;
  options.timeout = settings.check_timeout;
  options.smtp_port = settings.smtp_port;
  options.ehlo_name = settings.ehlo_name.empty() ? DefaultEhloName() : settings.ehlo_name;
  smtp::SmtpProber prober(trust.value());
  return std::make_unique<DomainChecker>(
      std::move(resolver), net::AddressPolicy(std::move(allowed)),
      net::HttpsFetcher(std::move(trust).value()), options, std::move(prober));
}

}  // namespace mtasts
