#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collectors/report/certificate_info.h"
#include "collectors/report/issue_codes.h"
#include "collectors/report/policy.h"
#include "collectors/report/txt_fields.h"

namespace mtasts {

/// One finding about a domain. Findings are data, never exceptions.
struct Issue {
  IssueCode code;
  Severity severity;
  std::string message;  // what is wrong, in words a person can act on
};

struct StsRecordReport {
  bool found = false;                 // some TXT record begins with v=STSv1
  bool valid = false;                 // exactly one, and it parses
  std::optional<std::string> record;  // the record text when exactly one was found
  std::optional<std::string> id;
  std::vector<std::string> candidates;  // every v=STSv1 record seen
};

struct PolicyReport {
  bool found = false;  // a 200 answer with a body was retrieved
  bool valid = false;  // ... and it parses under RFC 8461 §3.2
  std::string url;
  std::optional<policy::Policy> policy;  // set when valid
  std::optional<int> http_status;
  std::optional<std::string> content_type;
  std::optional<std::string> address;  // the vetted address that was dialled
  std::optional<std::string> error;    // why it could not be retrieved or parsed
  std::optional<net::CertificateInfo> certificate;
  std::optional<std::string> body;  // the retrieved text, when found
};

struct TlsRptReport {
  bool found = false;
  bool valid = false;
  std::optional<std::string> record;
  std::vector<std::string> rua;
};

/// One SMTP STARTTLS probe of one address of one MX host (RFC 8461 §4.2, RFC 3207).
struct MxProbe {
  std::string host;
  std::string address;
  bool refused = false;                    // the SSRF guard refused the address; nothing was sent
  bool reachable = false;                  // an SMTP greeting and an EHLO answer were read
  bool starttls = false;                   // STARTTLS was offered and the TLS handshake completed
  std::optional<std::string> tls_version;  // "TLSv1.3"
  std::optional<std::string> cipher;
  std::optional<bool> cert_valid;  // chain and DNS-ID for the MX host name; unset without TLS
  std::optional<std::string> cert_error;
  std::optional<std::int64_t> cert_not_after;  // Unix seconds
  std::vector<std::string> cert_names;         // subjectAltName dNSNames of the leaf
  std::optional<std::string> error;            // why the probe stopped short, in words
};

/// DANE (RFC 7672) for one MX host: the TLSA records at _25._tcp.<host>.
struct MxDane {
  std::string host;
  bool tlsa_present = false;
  bool dnssec_validated = false;     // the resolver set AD on the answer
  std::vector<std::string> records;  // "usage selector mtype hexdata"
  std::optional<std::string> error;  // the lookup failed (SERVFAIL, timeout)
};

struct MxReport {
  std::vector<std::string> hosts;      // by preference; a null MX is not listed
  std::vector<std::string> uncovered;  // hosts matching no policy mx pattern
  bool probed = false;                 // the STARTTLS probe ran (probe_mx)
  std::vector<MxProbe> probes;         // one per (host, address), in host order
  std::vector<MxDane> dane;            // one per host
};

/// The `history` check's output: what the daemon's memory holds of the domain's policy
/// (collectors/history/history.h, README "History-aware checks"). One-shot checks have no
/// memory, so the check does nothing and DomainReport::history stays unset; the daemon's
/// scheduled checks always set it.
struct HistoryReport {
  std::optional<std::int64_t> policy_first_seen_ms;      // when the current policy was first seen
  std::optional<std::string> previous_id;                // the TXT id before the current one
  std::optional<std::int64_t> mode_downgraded_at_ms;     // the last enforce -> testing/none
  std::optional<std::int64_t> mode_downgraded_until_ms;  // mode_downgraded active until then
};

/// The posture of one domain: what was observed and the prioritised issues.
struct DomainReport {
  std::string domain;  // A-label form
  bool enforced = false;
  std::vector<Issue> issues;  // most severe first once finished
  StsRecordReport sts_record;
  PolicyReport policy;
  TlsRptReport tls_rpt;
  MxReport mx;
  bool check_complete = true;      // every lookup answered (found or not)
  std::int64_t checked_at_ms = 0;  // Unix milliseconds when the check started
  double duration_seconds = 0;
  std::optional<HistoryReport> history;  // the `history` check's; unset in one-shot checks

  /// Records a finding. A code is active at most once per domain (metrics carry one series per
  /// code), so a second finding of the same code joins the first's message.
  void AddIssue(IssueCode code, std::string message) {
    AddIssue(code, DefaultSeverity(code), std::move(message));
  }
  void AddIssue(IssueCode code, Severity severity, std::string message) {
    for (auto& issue : issues) {
      if (issue.code != code) continue;
      issue.message += "; " + message;
      if (severity < issue.severity) issue.severity = severity;
      return;
    }
    issues.push_back({code, severity, std::move(message)});
  }
  bool HasIssue(IssueCode code) const {
    for (const auto& issue : issues) {
      if (issue.code == code) return true;
    }
    return false;
  }
};

}  // namespace mtasts
