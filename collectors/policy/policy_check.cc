#include "collectors/policy/policy_check.h"

#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "collectors/policy/policy_parser.h"

namespace mtasts::policy {
namespace {

constexpr std::uint32_t kShortMaxAge = 86400;

std::string Date(std::int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string JoinNames(const std::vector<std::string>& names) {
  if (names.empty()) return "no DNS name (subjectAltName)";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

/// A message a person can act on, from what the certificate check saw.
std::string DescribeCertificateFailure(const std::string& host, const net::CertificateInfo& cert) {
  switch (cert.verify_code) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return host + " presents a certificate for " + JoinNames(cert.dns_names) +
             "; it must be valid for " + host + " (RFC 8461 §3.3)";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "the certificate of " + host + " expired" +
             (cert.not_after ? " on " + Date(*cert.not_after) : std::string());
    case X509_V_ERR_CERT_NOT_YET_VALID: return "the certificate of " + host + " is not valid yet";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return host + " presents a self-signed certificate (" + cert.subject +
             "); it must chain to a trusted root";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "the certificate chain of " + host +
             " does not lead to a trusted root (issuer: " + cert.issuer + ")";
    default: return "the certificate of " + host + " is not valid: " + cert.verify_error;
  }
}

}  // namespace

std::string PolicyHost(std::string_view domain) {
  return "mta-sts." + std::string(domain);
}

std::string PolicyUrl(std::string_view domain) {
  return "https://" + PolicyHost(domain) + "/.well-known/mta-sts.txt";
}

bool IsTextPlain(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  constexpr std::string_view kTextPlain = "text/plain";
  return type.size() == kTextPlain.size() &&
         std::equal(type.begin(), type.end(), kTextPlain.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

PolicyRetrieval RetrievePolicy(std::string_view domain, dns::Lookup<dns::AddressAnswer>& addresses,
                               const net::AddressPolicy& guard, const net::HttpsFetcher& fetcher,
                               const Deadline& deadline) {
  const std::string host = PolicyHost(domain);
  PolicyRetrieval out;
  auto answer = dns::Await(addresses, deadline, "A/AAAA " + host);
  if (!answer) {
    out.stage = PolicyRetrieval::Stage::kDnsError;
    out.message = answer.error().message;
    return out;
  }
  if (answer->presence != dns::Presence::kFound || answer->addresses.empty()) {
    out.stage = PolicyRetrieval::Stage::kNoHost;
    out.message = answer->presence == dns::Presence::kNxDomain
                      ? "the policy host " + host + " does not exist (NXDOMAIN)"
                      : "the policy host " + host + " has no A or AAAA records";
    return out;
  }
  for (const auto& address : answer->addresses) {
    auto verdict = guard.Check(address);
    if (!verdict.allowed) out.refused.push_back(address.ToString() + ": " + verdict.reason);
  }
  if (!out.refused.empty()) {
    out.stage = PolicyRetrieval::Stage::kRefused;
    std::string list;
    for (const auto& r : out.refused) list += (list.empty() ? "" : ", ") + r;
    out.message = host + " resolves to refused address(es) " + list +
                  (out.refused.size() < answer->addresses.size()
                       ? " among public ones (a mixed answer is refused whole)"
                       : "") +
                  "; no connection was made";
    return out;
  }
  out.stage = PolicyRetrieval::Stage::kFetched;
  for (const auto& address : answer->addresses) {
    net::FetchRequest request;
    request.host = host;
    request.address = address;
    request.path = "/.well-known/mta-sts.txt";
    request.deadline = deadline;
    out.fetch = fetcher.Fetch(request);
    // Only a failure to reach this address is worth trying another one for.
    if (out.fetch->kind != net::FetchResult::Kind::kConnectFailed) break;
  }
  return out;
}

void ApplyPolicy(std::string_view domain, const PolicyRetrieval& retrieval, bool sts_record_missing,
                 DomainReport& report) {
  const std::string host = PolicyHost(domain);
  PolicyReport& out = report.policy;
  out.url = PolicyUrl(domain);
  using Stage = PolicyRetrieval::Stage;
  switch (retrieval.stage) {
    case Stage::kDnsError:
      out.error = retrieval.message;
      report.check_complete = false;
      report.AddIssue(IssueCode::kDnsError, retrieval.message);
      return;
    case Stage::kNoHost:
      out.error = retrieval.message;
      if (!sts_record_missing) {
        report.AddIssue(IssueCode::kPolicyMissing,
                        retrieval.message + ", so no policy can be fetched from " + out.url);
      }
      return;
    case Stage::kRefused:
      out.error = retrieval.message;
      report.AddIssue(IssueCode::kTargetRefused, retrieval.message);
      return;
    case Stage::kFetched: break;
  }

  const net::FetchResult& fetch = *retrieval.fetch;
  out.address = fetch.address;
  out.certificate = fetch.certificate;
  if (fetch.response) {
    out.http_status = fetch.response->status;
    if (!fetch.response->content_type.empty()) out.content_type = fetch.response->content_type;
  }
  using Kind = net::FetchResult::Kind;
  switch (fetch.kind) {
    case Kind::kResponse: break;
    case Kind::kTooLarge:
      out.found = true;
      out.error = fetch.message;
      report.AddIssue(IssueCode::kPolicyTooLarge,
                      fetch.message + " (64 KiB limit, RFC 8461 §3.3); senders may discard it");
      return;
    case Kind::kCertificateInvalid:
      out.error =
          fetch.certificate ? DescribeCertificateFailure(host, *fetch.certificate) : fetch.message;
      report.AddIssue(IssueCode::kPolicyTlsInvalid, *out.error);
      return;
    case Kind::kConnectFailed:
    case Kind::kTimeout:
    case Kind::kTlsFailed:
    case Kind::kProtocolError:
      out.error = fetch.message;
      report.AddIssue(IssueCode::kPolicyFetchFailed, fetch.message);
      return;
  }

  const net::HttpResponse& response = *fetch.response;
  const std::string status = std::to_string(response.status);
  if (response.status >= 300 && response.status < 400) {
    out.error = out.url + " answered " + status + " redirecting to " +
                (response.location.empty() ? "nowhere" : response.location) +
                "; redirects are never followed (RFC 8461 §3.3)";
    report.AddIssue(IssueCode::kPolicyRedirect, *out.error);
    return;
  }
  if (response.status == 404 || response.status == 410) {
    out.error = out.url + " answered " + status + ": no policy is published";
    if (!sts_record_missing) report.AddIssue(IssueCode::kPolicyMissing, *out.error);
    return;
  }
  if (response.status != 200) {
    out.error = out.url + " answered HTTP " + status + "; only 200 gives a policy (RFC 8461 §3.3)";
    report.AddIssue(IssueCode::kPolicyFetchFailed, *out.error);
    return;
  }

  out.found = true;
  out.body = response.body;
  if (!IsTextPlain(response.content_type)) {
    report.AddIssue(IssueCode::kPolicyContentType,
                    out.url + " is served as " +
                        (response.content_type.empty() ? "no media type"
                                                       : "\"" + response.content_type + "\"") +
                        "; it should be text/plain (RFC 8461 §3.2) and strict senders reject it");
  }
  auto parsed = ParsePolicy(response.body);
  if (!parsed) {
    out.error = "the policy at " + out.url + " is invalid: " + parsed.error().message;
    report.AddIssue(IssueCode::kPolicyInvalid, *out.error);
    return;
  }
  out.valid = true;
  out.policy = parsed.value();
  const Policy& policy = *out.policy;
  if (policy.mode == Mode::kTesting) {
    report.AddIssue(IssueCode::kModeTesting,
                    "the policy is in mode testing: senders report failures but still deliver "
                    "without TLS; switch to enforce once TLS-RPT reports are clean");
  } else if (policy.mode == Mode::kNone) {
    report.AddIssue(IssueCode::kModeNone,
                    "the policy is in mode none: MTA-STS is withdrawn and mail is not protected");
  }
  if (policy.max_age < kShortMaxAge) {
    report.AddIssue(IssueCode::kMaxAgeShort,
                    "max_age is " + std::to_string(policy.max_age) +
                        " s, under a day; RFC 8461 §3.2 expects weeks, so a downgrade attacker "
                        "waits less for the cache to expire");
  }
}

}  // namespace mtasts::policy
