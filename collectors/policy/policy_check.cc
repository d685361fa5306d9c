#include "collectors/policy/policy_check.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "collectors/check/checks.h"
#include "collectors/net/certificate_verify.h"
#include "collectors/policy/policy_parser.h"

namespace mtasts::policy {
namespace {

constexpr std::uint32_t kShortMaxAge = 86400;

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

std::vector<net::IpAddress> AddressesToDial(const std::vector<net::IpAddress>& answer) {
  // Only the number dialled is capped; the guard vets every address of the answer. Two per
  // family keeps a dual-stack host reachable when one family is broken; RFC 8461 sets no number.
  // The order is a sender's (RFC 8305 §4): IPv6 first, then the families alternate, so a broken
  // family costs one attempt before the other is tried.
  std::array<std::vector<net::IpAddress>, 2> family;  // IPv6, IPv4
  for (const auto& address : answer) {
    auto& mine = family[address.is_v4() ? 1 : 0];
    if (mine.size() < kMaxDialledPerFamily) mine.push_back(address);
  }
  std::vector<net::IpAddress> out;
  for (std::size_t i = 0; i < kMaxDialledPerFamily; ++i) {
    for (const auto& addresses : family) {
      if (i < addresses.size() && out.size() < kMaxDialledAddresses) out.push_back(addresses[i]);
    }
  }
  return out;
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
    // Named up to a point: an answer of thousands of records must not make a message as long.
    constexpr std::size_t kNamed = 10;
    std::string list;
    for (std::size_t i = 0; i < out.refused.size() && i < kNamed; ++i) {
      list += (list.empty() ? "" : ", ") + out.refused[i];
    }
    if (out.refused.size() > kNamed) {
      list += " and " + std::to_string(out.refused.size() - kNamed) + " more";
    }
    out.message = host + " resolves to refused address(es) " + list +
                  (out.refused.size() < answer->addresses.size()
                       ? " among public ones (a mixed answer is refused whole)"
                       : "") +
                  "; no connection was made";
    return out;
  }
  out.stage = PolicyRetrieval::Stage::kFetched;
  const std::vector<net::IpAddress> to_dial = AddressesToDial(answer->addresses);
  for (std::size_t i = 0; i < to_dial.size(); ++i) {
    net::FetchRequest request;
    request.host = host;
    request.address = to_dial[i];
    request.path = "/.well-known/mta-sts.txt";
    request.deadline = deadline;
    // An address that drops the SYN must not use up the whole deadline while others wait (a
    // broken AAAA beside a good A, RFC 8305 §5): each address but the last may take an equal
    // share of what is left to connect.
    if (const std::size_t left = to_dial.size() - i; left > 1) {
      request.connect_deadline = Deadline(Deadline::Clock::now() + deadline.remaining() / left);
    }
    out.fetch = fetcher.Fetch(request);
    out.dialled.push_back(out.fetch->address);
    // Only a failure to reach this address is worth trying another one for.
    if (out.fetch->kind != net::FetchResult::Kind::kConnectFailed) break;
  }
  if (out.fetch->kind == net::FetchResult::Kind::kConnectFailed &&
      out.dialled.size() < answer->addresses.size()) {
    out.fetch->message += "; " + std::to_string(out.dialled.size()) + " of its " +
                          std::to_string(answer->addresses.size()) +
                          " addresses were tried (at most " + std::to_string(kMaxDialledPerFamily) +
                          " per address family)";
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
      out.error = fetch.certificate ? net::DescribeCertificateFailure(
                                          host, host, *fetch.certificate, "RFC 8461 §3.3")
                                    : fetch.message;
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
    report.AddIssue(
        IssueCode::kPolicyContentType,
        out.url + " is served as " +
            (response.content_type.empty() ? "no media type"
                                           : "\"" + response.content_type + "\"") +
            "; it must be text/plain (RFC 8461 §3.2): common resolvers discard it, so the "
            "domain is not enforced");
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

namespace mtasts::check {

PolicyCheck::PolicyCheck()
    : Check(
          {"policy",
           "RFC 8461 §3.2, §3.3",
           Scope::kEveryCheck,
           {IssueCode::kPolicyMissing, IssueCode::kPolicyFetchFailed, IssueCode::kPolicyTlsInvalid,
            IssueCode::kPolicyRedirect, IssueCode::kPolicyContentType, IssueCode::kPolicyTooLarge,
            IssueCode::kPolicyInvalid, IssueCode::kModeTesting, IssueCode::kModeNone,
            IssueCode::kMaxAgeShort, IssueCode::kTargetRefused, IssueCode::kDnsError}}) {}

void PolicyCheck::Judge(const Observations& seen, const JudgeContext& /*context*/,
                        DomainReport& report) const {
  if (!seen.policy) return;
  // After the sts_record check: with no TXT record the policy host's absence is expected.
  policy::ApplyPolicy(seen.domain, *seen.policy, report.HasIssue(IssueCode::kStsRecordMissing),
                      report);
}

}  // namespace mtasts::check
