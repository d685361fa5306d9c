#include "agent/cli.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/app.h"
#include "agent/log.h"
#include "agent/report_json.h"
#include "agent/terminal_text.h"
#include "agent/tlsrpt/ingest.h"
#include "agent/tlsrpt/ingest_command.h"
#include "base/domain_name.h"
#include "base/duration.h"
#include "build_info.h"
#include "collectors/check/checker_factory.h"
#include "config/config_loader.h"
#include "config/overrides.h"
#include "config/shard.h"

namespace mtasts::agent {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFindings = 1;
constexpr int kExitUsage = 2;
constexpr std::size_t kMaxParallelChecks = 32;

// The layout is the one help2man reads to make the man page (docs/PACKAGING.md): one
// "Usage:"/"or:" line per form, flags indented under a heading, descriptions from column 31.
constexpr const char* kUsage = R"(Usage: mta-sts-exporter [daemon flags] [network flags]
  or:  mta-sts-exporter check [--json] [--shard=K/N] [network flags] DOMAIN...
  or:  mta-sts-exporter policy [--json] [network flags] DOMAIN
  or:  mta-sts-exporter config check FILE
  or:  mta-sts-exporter tlsrpt ingest [--config.file=FILE] [FILE...]
  or:  mta-sts-exporter --version | --help
Watch the MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) posture of mail domains: as a daemon
exporting Prometheus metrics, or once from the command line (check, policy).

Daemon flags:
  --config.file=FILE          configuration file (default: /etc/mta-sts-exporter/config.yaml)
  --web.listen-address=HOST:PORT
                              where to serve /metrics and the API (default: :10056)
  --web.enable-lifecycle      allow POST /-/reload (with an API key when api.keys_file is set)
  --web.config.file=FILE      exporter-toolkit web configuration: TLS, basic_auth_users
                              (bcrypt), response headers, for every endpoint; re-read on reload
  --log.level=debug|info|warn|error
                              least severe level logged (default: info)
  --log.format=logfmt|json    log line format (default: logfmt)
  --shard=K/N                 watch only shard K of N of the domains (also for check)

Network flags:
  --dns.server=IP[:PORT]      resolver to ask (repeatable; default: /etc/resolv.conf)
  --tls.ca-file=FILE          PEM bundle of trusted roots for policy and MX hosts
                              (default: the system trust store)
  --ssrf.allow-cidr=CIDR      range exempted from the SSRF guard (repeatable; default: none)
  --check.timeout=DURATION    budget for one whole domain check (default: 10s)
  --probe-mx                  also probe every MX host: STARTTLS and its certificate on port 25
                              (daemon: for every domain, as probe_mx: true)

--web.enable-lifecycle serves POST /-/reload (without it: 403; with api.keys_file it also
needs a valid x-api-key). SIGHUP reloads the config either way.

check exits 0 when every domain is enforced with no critical or high issue, 1 otherwise,
2 for bad usage or a bad domain name. policy exits 0 when a valid policy was retrieved.
tlsrpt ingest stores TLS-RPT reports (RFC 8460), each FILE (or standard input) a mail
message or a bare .json/.json.gz report, for the domains of the config file; exit 0 stored or
already stored, 65 not a report for a watched domain, 75 store or config unavailable (the mail
system retries), 66 a FILE could not be read.
--shard=K/N (K from 0 to N-1) keeps only the domains whose hash falls in shard K of N (the
first 8 octets of SHA-256 over the A-label, modulo N; README "Sharding"); it overrides the
config file's shard: for the daemon, and makes check skip the other domains.
)";

struct CommandLine {
  std::vector<std::string> positional;
  bool json = false;
  bool help = false;
  bool version = false;
  config::Overrides overrides;  // the network flags, --probe-mx and --shard
  bool enable_lifecycle = false;
  std::optional<std::string> config_file;
  std::optional<std::string> listen_address;
  std::optional<std::string> web_config_file;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Flags are `--name=value` or `--name value`, anywhere on the line; "--" ends the flags.
CommandLine Parse(int argc, char** argv) {
  CommandLine cl;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (flags_done || arg.size() < 2 || arg.rfind("--", 0) != 0) {
      if (!flags_done && arg.size() > 1 && arg[0] == '-') {
        throw UsageError("unknown flag \"" + arg + "\"");
      }
      cl.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto take_value = [&]() -> std::string {
      if (value) return *value;
      if (i + 1 >= argc) throw UsageError("flag " + name + " needs a value");
      return argv[++i];
    };
    auto no_value = [&]() {
      if (value) throw UsageError("flag " + name + " takes no value");
    };
    if (name == "--json") {
      no_value();
      cl.json = true;
    } else if (name == "--help" || name == "-h") {
      no_value();
      cl.help = true;
    } else if (name == "--version") {
      no_value();
      cl.version = true;
    } else if (name == "--dns.server") {
      if (!cl.overrides.dns_servers) cl.overrides.dns_servers.emplace();
      cl.overrides.dns_servers->push_back(take_value());
    } else if (name == "--tls.ca-file") {
      cl.overrides.ca_file = take_value();
    } else if (name == "--ssrf.allow-cidr") {
      if (!cl.overrides.ssrf_allow_cidrs) cl.overrides.ssrf_allow_cidrs.emplace();
      cl.overrides.ssrf_allow_cidrs->push_back(take_value());
    } else if (name == "--check.timeout") {
      std::string text = take_value();
      auto timeout = ParseDuration(text);
      if (!timeout) throw UsageError("--check.timeout: " + timeout.error().message);
      if (timeout.value().count() <= 0) throw UsageError("--check.timeout must be positive");
      cl.overrides.check_timeout = timeout.value();
    } else if (name == "--probe-mx") {
      no_value();
      cl.overrides.probe_mx = true;
    } else if (name == "--smtp.port") {  // hidden: tests run their MTAs on other ports
      std::string text = take_value();
      unsigned port = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
      if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
        throw UsageError("--smtp.port: \"" + text + "\" is not a port number (1-65535)");
      }
      cl.overrides.smtp_port = static_cast<std::uint16_t>(port);
    } else if (name == "--shard") {
      auto shard = ParseShard(take_value());
      if (!shard) throw UsageError("--shard: " + shard.error().message);
      cl.overrides.shard = shard.value();
    } else if (name == "--config.file") {
      cl.config_file = take_value();
    } else if (name == "--web.enable-lifecycle") {
      no_value();
      cl.enable_lifecycle = true;
    } else if (name == "--web.listen-address") {
      cl.listen_address = take_value();
    } else if (name == "--web.config.file") {
      cl.web_config_file = take_value();
      if (cl.web_config_file->empty()) throw UsageError("--web.config.file needs a file name");
    } else if (name == "--log.level") {
      cl.log_level = take_value();
    } else if (name == "--log.format") {
      cl.log_format = take_value();
    } else {
      throw UsageError("unknown flag \"" + name + "\"");
    }
  }
  return cl;
}

/// Colours for a terminal only; NO_COLOR (https://no-color.org) turns them off.
struct Palette {
  bool on = false;
  std::string Paint(const std::string& text, const char* code) const {
    return on ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
  }
};

const char* SeverityColour(Severity severity) {
  switch (severity) {
    case Severity::kCritical: return "1;31";
    case Severity::kHigh: return "31";
    case Severity::kMedium: return "33";
    case Severity::kLow: return "36";
    case Severity::kInfo: return "2";
  }
  return "0";
}

// Everything below that comes from the network (records, host names, policy text, messages
// quoting them) goes through TerminalSafe: a TXT record must not be able to drive the terminal.

/// Network strings, each made terminal-safe, joined.
std::string Join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + TerminalSafe(item);
  return out;
}

/// The JSON text of `value`; bytes that are not UTF-8 (a TXT record may hold any) become
/// U+FFFD instead of aborting the output of every domain.
std::string JsonText(const nlohmann::json& value) {
  return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

void PrintIssues(const DomainReport& report, const Palette& palette) {
  if (report.issues.empty()) {
    std::cout << "  " << palette.Paint("no issues", "32") << "\n";
    return;
  }
  for (const auto& issue : report.issues) {
    std::string severity(SeverityName(issue.severity));
    for (auto& c : severity) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::cout << "  " << palette.Paint(severity, SeverityColour(issue.severity)) << " "
              << IssueCodeName(issue.code) << ": " << TerminalSafe(issue.message) << "\n";
  }
}

void PrintReport(const DomainReport& report, const Palette& palette) {
  const auto& policy = report.policy.policy;
  std::cout << palette.Paint(TerminalSafe(report.domain), "1") << "  "
            << (report.enforced ? palette.Paint("ENFORCED", "1;32")
                                : palette.Paint("NOT ENFORCED", "1;31"))
            << "\n";
  std::cout << "  STS record: "
            << (report.sts_record.record ? TerminalSafe(*report.sts_record.record)
                                         : (report.sts_record.found ? "ambiguous" : "none"))
            << "\n";
  std::cout << "  policy:     " << TerminalSafe(report.policy.url);
  if (policy) {
    std::cout << "  mode " << policy::ModeName(policy->mode) << ", max_age " << policy->max_age
              << ", mx " << Join(policy->mx);
  } else {
    std::cout << "  (" << (report.policy.found ? "invalid" : "not retrieved") << ")";
  }
  // The address the policy came from (or the last one tried): which family a dual-stack host
  // answered on (README "Dual stack").
  if (report.policy.address) std::cout << "\n    address: " << TerminalSafe(*report.policy.address);
  std::cout << "\n  MX:         " << (report.mx.hosts.empty() ? "none" : Join(report.mx.hosts));
  if (!report.mx.uncovered.empty())
    std::cout << "  (uncovered: " << Join(report.mx.uncovered) << ")";
  for (const auto& probe : report.mx.probes) {
    std::cout << "\n    " << TerminalSafe(probe.host)
              << (probe.address.empty() ? "" : " (" + TerminalSafe(probe.address) + ")") << ": ";
    if (probe.starttls) {
      std::cout << "STARTTLS " << TerminalSafe(probe.tls_version.value_or("?")) << ", certificate "
                << (probe.cert_valid.value_or(false) ? "valid" : "INVALID");
    } else {
      std::cout << TerminalSafe(probe.error.value_or("no STARTTLS"));
    }
  }
  for (const auto& dane : report.mx.dane) {
    if (dane.tlsa_present) {
      std::cout << "\n    DANE " << TerminalSafe(dane.host) << ": " << dane.records.size()
                << " TLSA record(s)"
                << (dane.dnssec_validated ? ", DNSSEC validated" : ", not DNSSEC validated");
    }
  }
  std::cout << "\n  TLS-RPT:    "
            << (report.tls_rpt.valid ? Join(report.tls_rpt.rua)
                                     : (report.tls_rpt.found ? "invalid" : "none"))
            << "\n";
  PrintIssues(report, palette);
}

bool HasCriticalOrHigh(const DomainReport& report) {
  for (const auto& issue : report.issues) {
    if (issue.severity == Severity::kCritical || issue.severity == Severity::kHigh) return true;
  }
  return false;
}

/// Validates every name before any check runs: one bad name is a usage error (exit 2).
std::optional<std::vector<std::string>> NormalizeAll(const std::vector<std::string>& inputs) {
  std::vector<std::string> domains;
  bool ok = true;
  for (const auto& input : inputs) {
    auto domain = NormalizeDomain(input);
    if (!domain) {
      std::cerr << "mta-sts-exporter: " << domain.error().message << "\n";
      ok = false;
    } else {
      domains.push_back(domain.value());
    }
  }
  if (!ok) return std::nullopt;
  return domains;
}

/// One finished check on its way to the output.
struct Checked {
  DomainReport report;
  std::string json;  // its JSON text, rendered on the thread that checked it (when asked for)
};

/// Checks the domains concurrently on a bounded set of threads and hands each to `print` in
/// input order, as soon as it and every one before it are done (`print` runs under a lock, one
/// call at a time, on whichever checking thread completed that prefix; standard output is
/// flushed after each run of prints). With `json_depth`, each report's JSON text is rendered on
/// its check's thread that many levels in (ReportJsonText). A printed check is freed at once: what
/// waits in memory is the checks finished ahead of a slower one earlier in the list, not every
/// report of the run.
void CheckAll(const DomainChecker& checker, const std::vector<std::string>& domains,
              bool policy_only, bool probe_mx, std::optional<int> json_depth,
              const std::function<void(std::size_t, Checked&)>& print) {
  std::vector<std::unique_ptr<Checked>> finished(domains.size());
  std::size_t printed = 0;  // guarded by `mutex`, as `finished` is
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < domains.size(); i = next++) {
      auto checked = std::make_unique<Checked>();
      checked->report =
          policy_only ? checker.CheckPolicyOnly(domains[i]) : checker.Check(domains[i], probe_mx);
      if (json_depth) checked->json = ReportJsonText(checked->report, *json_depth);
      const std::lock_guard lock(mutex);
      finished[i] = std::move(checked);
      if (!finished[printed]) continue;  // an earlier one is still being checked
      for (; printed < finished.size() && finished[printed]; ++printed) {
        print(printed, *finished[printed]);
        finished[printed].reset();
      }
      // What is printed is out at once, not when the buffer fills: a reader sees each report
      // when it is done (one write per batch; a batch is most often one report).
      std::cout.flush();
    }
  };
  std::vector<std::thread> workers;
  const std::size_t count = std::min(domains.size(), kMaxParallelChecks);
  for (std::size_t i = 1; i < count; ++i) workers.emplace_back(work);
  work();
  for (auto& worker : workers) worker.join();
}

/// What a one-shot command checks and with what: the names (validated, the shard's), the checker.
struct CheckPlan {
  std::vector<std::string> domains;
  std::unique_ptr<DomainChecker> checker;
  bool probe_mx = false;
};

/// Validates the names and builds the checker; nothing when either fails (already reported).
std::optional<CheckPlan> PlanChecks(const CommandLine& cl, const std::vector<std::string>& names) {
  auto domains = NormalizeAll(names);
  if (!domains) return std::nullopt;
  // The flags over the defaults: a one-shot command reads no config file.
  config::Config config;
  config::ApplyOverrides(config, cl.overrides);
  if (cl.overrides.shard) {
    const std::size_t given = domains->size();
    *domains = FilterShard(*domains, config.shard);
    std::cerr << "mta-sts-exporter: shard " << FormatShard(config.shard) << ": checking "
              << domains->size() << " of " << given << " domains\n";
  }
  auto checker = MakeChecker(config.network);
  if (!checker) {
    std::cerr << "mta-sts-exporter: " << checker.error().message << "\n";
    return std::nullopt;
  }
  return CheckPlan{std::move(*domains), std::move(checker.value()), config.probe_mx};
}

int RunCheck(const CommandLine& cl, const std::vector<std::string>& names) {
  if (names.empty()) throw UsageError("check needs at least one DOMAIN");
  auto plan = PlanChecks(cl, names);
  if (!plan) return kExitUsage;
  const std::size_t count = plan->domains.size();
  // One domain's JSON is its report; more (or none, after --shard) an array of them, in the
  // order given, each printed as soon as it and those before it are done.
  const bool array = cl.json && count != 1;
  const Palette palette{!cl.json && isatty(STDOUT_FILENO) == 1 &&
                        std::getenv("NO_COLOR") == nullptr};
  int status = kExitOk;
  if (array) std::cout << "[";
  CheckAll(*plan->checker, plan->domains, false, plan->probe_mx,
           cl.json ? std::optional<int>(array ? 1 : 0) : std::nullopt,
           [&](std::size_t i, Checked& checked) {
             if (!checked.report.enforced || HasCriticalOrHigh(checked.report)) {
               status = kExitFindings;
             }
             if (!cl.json) {
               if (i > 0) std::cout << "\n";
               PrintReport(checked.report, palette);
             } else if (!array) {
               std::cout << checked.json << "\n";
             } else {
               std::cout << (i == 0 ? "\n  " : ",\n  ") << checked.json;
             }
           });
  if (array) std::cout << (count == 0 ? "]\n" : "\n]\n");
  return status;
}

int RunPolicy(const CommandLine& cl, const std::vector<std::string>& names) {
  if (names.size() != 1) throw UsageError("policy needs exactly one DOMAIN");
  if (cl.overrides.shard)
    throw UsageError("--shard applies to the daemon and to check, not to policy");
  auto plan = PlanChecks(cl, names);
  if (!plan) return kExitUsage;
  DomainReport report;
  CheckAll(*plan->checker, plan->domains, true, false, std::nullopt,
           [&](std::size_t, Checked& checked) { report = std::move(checked.report); });
  if (cl.json) {
    std::cout << JsonText(PolicyToJson(report)) << "\n";
  } else {
    Palette palette{isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr};
    std::cout << palette.Paint(TerminalSafe(report.policy.url), "1") << "\n";
    if (report.policy.body) {
      const std::string body = TerminalSafeLines(*report.policy.body);
      std::cout << body << (body.empty() || body.back() == '\n' ? "" : "\n");
    }
    PrintIssues(report, palette);
  }
  return report.policy.valid ? kExitOk : kExitFindings;
}

int RunConfigCheck(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "check") throw UsageError("usage: config check FILE");
  auto config = config::LoadConfig(args[1]);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return kExitUsage;
  }
  std::cout << args[1] << ": OK (" << config.value().domains.size() << " domains, "
            << config.value().webhooks.size() << " webhooks)\n";
  return kExitOk;
}

int RunTlsRpt(const CommandLine& cl, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "ingest") {
    throw UsageError("usage: tlsrpt ingest [--config.file=FILE] [FILE...]");
  }
  const std::string path = cl.config_file.value_or(DaemonFlags{}.config_file);
  auto config = config::LoadConfig(path);
  if (!config) {
    // EX_TEMPFAIL: the mail system keeps the message until the config is mended.
    std::cerr << "mta-sts-exporter: tlsrpt ingest: " << config.error().message << "\n";
    return tlsrpt::ExitStatus(tlsrpt::Answer::kUnavailable);
  }
  const std::vector<std::string> files(args.begin() + 1, args.end());
  return tlsrpt::RunIngestCommand(config.value(), files, STDIN_FILENO, std::cerr);
}

int RunDaemon(const CommandLine& cl) {
  // glibc gives every busy thread its own arena (up to 8 per core) and keeps what was freed in
  // each: in a daemon that runs for months with dozens of check workers, scrape-sized
  // transients then pile up as resident memory: two arenas hold it down (README "Memory").
  // The one-shot commands keep glibc's default: they end, so nothing piles up, and 32 checks
  // on two arenas queue for the arena locks.
  mallopt(M_ARENA_MAX, 2);
  auto logging = InitLogging(cl.log_level.value_or("info"), cl.log_format.value_or("logfmt"));
  if (!logging) throw UsageError(logging.error().message);
  DaemonFlags flags;
  if (cl.config_file) flags.config_file = *cl.config_file;
  if (cl.listen_address) flags.listen_address = *cl.listen_address;
  if (cl.web_config_file) flags.web_config_file = *cl.web_config_file;
  flags.overrides = cl.overrides;
  flags.enable_lifecycle = cl.enable_lifecycle;
  App app(flags);
  return app.Run();
}

}  // namespace

int RunCli(int argc, char** argv) {
  try {
    CommandLine cl = Parse(argc, argv);
    if (cl.help) {
      std::cout << kUsage;
      return kExitOk;
    }
    if (cl.version) {
      std::cout << "mta-sts-exporter " << kVersion << " (revision " << kRevision << ")\n";
      return kExitOk;
    }
    if (cl.positional.empty()) return RunDaemon(cl);
    const std::string& command = cl.positional.front();
    std::vector<std::string> rest(cl.positional.begin() + 1, cl.positional.end());
    if (command == "check") return RunCheck(cl, rest);
    if (command == "policy") return RunPolicy(cl, rest);
    if (command == "config") return RunConfigCheck(rest);
    if (command == "tlsrpt") return RunTlsRpt(cl, rest);
    throw UsageError("unknown command \"" + command + "\"");
  } catch (const UsageError& e) {
    std::cerr << "mta-sts-exporter: " << e.what() << "\n\n" << kUsage;
    return kExitUsage;
  }
}

}  // namespace mtasts::agent
