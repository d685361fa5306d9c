// End to end with a real Prometheus (Debian's prometheus): the daemon watches every domain of the
// test world; Prometheus, on loopback, scrapes it every second and evaluates the alert rules of
// grafana/alerts. Then, through Prometheus's HTTP API:
//   - every query of the Grafana dashboard (panels, annotations, the domain variable), with the
//     dashboard's variables substituted, returns data with at least one number in it;
//   - every alert the world's postures call for is firing (derived from postures.tsv: not
//     enforced, policy unreachable, MX not covered, TLS-RPT missing, MX TLS broken, MX
//     unreachable, certificate expiring; plus a downgrade made during the test and a webhook that
//     cannot be reached), no other per-domain alert fires, and nothing fires for the good domains;
//   - every rule evaluates without error.
//
// The rules are loaded from a copy made by this test in which every `for:` is 1s instead of the
// production durations (10m to 1d) that the real file keeps; nothing else in the copy differs.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

#include "tests/integration/daemon_support.h"

namespace {

using namespace mtasts::world;  // NOLINT: test support

const fs::path kSourceDir = MTASTS_SOURCE_DIR;
// The domain whose policy the test downgrades from enforce to testing while Prometheus watches.
const std::string kDowngraded = "multi-string-txt.test";
// A clean domain: no alert may name it.
const std::string kGood = "enforce.test";
// A clean domain that senders report failures for (TLS-RPT).
const std::string kReported = "cname-txt.test";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return done();
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Posture {
  std::string domain;
  bool enforced = false;
  std::string mode;
  std::set<std::string> codes;
};

std::vector<Posture> WorldPostures() {
  std::vector<Posture> postures;
  std::istringstream in(ReadFile(Env("MTASTS_WORLD_POSTURES")));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string domain, enforced, mode, codes;
    std::getline(fields, domain, '\t');
    std::getline(fields, enforced, '\t');
    std::getline(fields, mode, '\t');
    std::getline(fields, codes, '\t');
    Posture p{domain, enforced == "true", mode, {}};
    std::istringstream list(codes);
    for (std::string code; std::getline(list, code, ',');) {
      if (code != "-") p.codes.insert(code);
    }
    postures.push_back(p);
  }
  return postures;
}

/// A child process (prometheus) started through setpriv --pdeathsig, so that it cannot outlive
/// this test even if the test is killed; output goes to a log file.
class Process {
 public:
  Process(std::vector<std::string> args, fs::path log)
      : args_(std::move(args)), log_(std::move(log)) {}
  ~Process() { Stop(); }
  void Start() {
    std::vector<std::string> args = {"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"};
    args.insert(args.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

 private:
  std::vector<std::string> args_;
  fs::path log_;
  pid_t pid_ = 0;
};

/// The webhook receiver: a real HTTP server on loopback that accepts every delivery.
class Receiver {
 public:
  explicit Receiver(int port) {
    server_.Post("/hook", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      ++received_;
      res.status = 200;
    });
    EXPECT_TRUE(server_.bind_to_port("127.0.0.1", port));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int Received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  std::mutex mutex_;
  int received_ = 0;
};

/// Prometheus's HTTP API.
class PrometheusApi {
 public:
  explicit PrometheusApi(int port) : port_(port) {}
  /// The `data` of a successful answer, or null (the failure recorded in `error`).
  json Get(const std::string& path, std::string* error = nullptr) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(10, 0);
    auto res = client.Get(path);
    if (!res) {
      if (error != nullptr) *error = "no answer to " + path;
      return nullptr;
    }
    json body = json::parse(res->body, nullptr, false);
    if (res->status != 200 || body.is_discarded() || body.value("status", "") != "success") {
      if (error != nullptr) *error = path + " -> " + std::to_string(res->status) + " " + res->body;
      return nullptr;
    }
    return body["data"];
  }
  json Instant(const std::string& query, std::string* error = nullptr) const {
    return Get("/api/v1/query?query=" + PercentEncode(query), error);
  }
  json Range(const std::string& query, double start, double end,
             std::string* error = nullptr) const {
    // Prometheus evaluates at start, start + step, ... and not past end. With start moved back
    // to a whole number of steps before end, end itself is evaluated: otherwise the last point
    // can fall up to a step before the samples a wait has just seen (two samples of a new
    // series, an increase() over them), and a panel shows no data though the data is there.
    start = end - std::ceil(end - start);
    char window[96];
    std::snprintf(window, sizeof window, "&start=%.3f&end=%.3f&step=1", start, end);
    return Get("/api/v1/query_range?query=" + PercentEncode(query) + window, error);
  }
  /// The single number of an instant query's one-sample answer, or NaN.
  double Scalar(const std::string& query) const {
    json data = Instant(query);
    if (data.is_null() || data["result"].size() != 1) return std::nan("");
    return std::stod(data["result"][0]["value"][1].get<std::string>());
  }

 private:
  int port_;
};

/// Whether a query answer holds at least one sample that is a number (not NaN).
bool HasNumber(const json& data) {
  if (data.is_null() || !data.contains("result")) return false;
  for (const auto& series : data["result"]) {
    std::vector<json> samples;
    if (series.contains("value")) samples.push_back(series["value"]);
    if (series.contains("values")) {
      for (const auto& v : series["values"]) samples.push_back(v);
    }
    for (const auto& sample : samples) {
      if (!std::isnan(std::stod(sample[1].get<std::string>()))) return true;
    }
  }
  return false;
}

struct DashboardQuery {
  std::string where;
  std::string expr;
  bool instant = false;
  json panel;   // the panel (without its targets), for the dump below
  json target;  // the target
};

void CollectPanels(const json& panels, std::vector<DashboardQuery>& out) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) CollectPanels(panel["panels"], out);
    for (const auto& target : panel.value("targets", json::array())) {
      json info = panel;
      info.erase("targets");
      info.erase("panels");
      out.push_back(
          {"panel \"" + panel.value("title", "") + "\" target " + target.value("refId", "?"),
           target.at("expr").get<std::string>(), target.value("instant", false), info, target});
    }
  }
}

std::string Substitute(std::string expr, const std::map<std::string, std::string>& variables) {
  for (const auto& [from, to] : variables) {
    for (auto pos = expr.find(from); pos != std::string::npos; pos = expr.find(from, pos)) {
      expr.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  return expr;
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mtasts-prometheus-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "tsdb");
    postures_ = WorldPostures();
    ASSERT_GE(postures_.size(), 20U);
    policy_file_ =
        fs::path(Env("MTASTS_WORLD_DIR")) / "www" / kDowngraded / ".well-known/mta-sts.txt";
    original_policy_ = ReadFile(policy_file_);
    ASSERT_NE(original_policy_.find("mode: enforce"), std::string::npos);
  }
  void TearDown() override {
    WriteFile(policy_file_, original_policy_);
    if (HasFailure()) {
      std::cerr << "prometheus log:\n" << ReadFile(dir_ / "prometheus.log");
      std::cerr << "daemon log (tail):\n";
      const std::string log = ReadFile(dir_ / "daemon.log");
      std::cerr << log.substr(log.size() > 20000 ? log.size() - 20000 : 0);
    }
    fs::remove_all(dir_);
  }

  /// The rules file with every `for:` set to 1s; the number of rules it holds.
  int WriteFastRules(const fs::path& to) {
    const std::string rules = ReadFile(kSourceDir / "grafana/alerts/mta-sts-exporter.rules.yml");
    std::istringstream in(rules);
    std::ostringstream out;
    int alerts = 0;
    int fors = 0;
    const std::regex for_line(R"(^(\s+)for: \S+\s*$)");
    const std::regex alert_line(R"(^\s+- alert: \S+\s*$)");
    for (std::string line; std::getline(in, line);) {
      if (std::regex_match(line, alert_line)) ++alerts;
      if (std::regex_match(line, for_line)) {
        ++fors;
        line = std::regex_replace(line, for_line, "$1for: 1s");
      }
      out << line << "\n";
    }
    EXPECT_EQ(fors, alerts) << "every alert rule has a for: (and only those lines change)";
    WriteFile(to, out.str());
    return alerts;
  }

  fs::path dir_;
  fs::path policy_file_;
  std::string original_policy_;
  std::vector<Posture> postures_;
};

TEST_F(PrometheusTest, DashboardQueriesReturnDataAndTheWorldsAlertsFire) {
  // The daemon: every world domain, re-checked every few seconds, probing the MX hosts (the
  // world's postfix hosts; postures.tsv lists the codes of `check --probe-mx`), two webhooks: one
  // answered by a receiver here, one whose port nobody listens on.
  const int exporter_port = FreePort();
  const int receiver_port = FreePort();
  const int dead_port = FreePort();
  Receiver receiver(receiver_port);
  std::vector<std::string> domains;
  for (const auto& p : postures_) domains.push_back(p.domain);
  WriteFile(
      dir_ / "config.yaml",
      "state_dir: " + (dir_ / "state").string() + "\n" + NetworkSection() +
          "schedule:\n  min_interval: 1s\n  max_interval: 4s\n  dns_interval: 1h\n"
          "  confirmations: 2\n"
          "probe_mx: true\n"
          "webhooks:\n"
          "  - name: ops\n    url: http://127.0.0.1:" +
          std::to_string(receiver_port) +
          "/hook\n    timeout: 2s\n"
          "  - name: unreachable\n    url: http://127.0.0.1:" +
          std::to_string(dead_port) + "/hook\n    timeout: 1s\n    max_attempts: 1000\n" +
          "domains:\n" + [&] {
            std::string list;
            for (const auto& d : domains) list += "  - " + d + "\n";
            return list;
          }());
  Daemon daemon(dir_, exporter_port);
  daemon.Start();
  ASSERT_TRUE(daemon.WaitReady(std::chrono::seconds(60))) << daemon.Log();

  // Prometheus on loopback, scraping every second, evaluating the rules every second.
  const int rules = WriteFastRules(dir_ / "rules.yml");
  ASSERT_GE(rules, 8);
  WriteFile(dir_ / "prometheus.yml",
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            "rule_files:\n  - " +
                (dir_ / "rules.yml").string() +
                "\nscrape_configs:\n  - job_name: mta-sts-exporter\n    static_configs:\n"
                "      - targets: [\"127.0.0.1:" +
                std::to_string(exporter_port) + "\"]\n");
  const int prometheus_port = FreePort();
  ASSERT_TRUE(fs::exists("/usr/bin/prometheus"))
      << "prometheus is not installed (scripts/install-deps.sh --with-test installs it)";
  Process prometheus(
      {"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      dir_ / "prometheus.log");
  const double start = UnixNow();
  prometheus.Start();
  PrometheusApi api(prometheus_port);
  ASSERT_TRUE(WaitUntil(
      [&] {
        httplib::Client client("127.0.0.1", prometheus_port);
        auto res = client.Get("/-/ready");
        return res && res->status == 200;
      },
      std::chrono::seconds(30)));

  // Two successful scrapes.
  ASSERT_TRUE(
      WaitUntil([&] { return api.Scalar(R"(sum_over_time(up{job="mta-sts-exporter"}[1m]))") >= 2; },
                std::chrono::seconds(30)));

  // A downgrade while Prometheus watches: enforce -> testing, confirmed by the next check.
  std::string testing = original_policy_;
  testing.replace(testing.find("mode: enforce"), 13, "mode: testing");
  WriteFile(policy_file_, testing);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return api.Scalar("mta_sts_posture_changes_total{domain=\"" + kDowngraded + "\"}") == 1;
      },
      std::chrono::seconds(40)))
      << daemon.Log();
  ASSERT_TRUE(WaitUntil([&] { return receiver.Received() >= 1; }, std::chrono::seconds(20)));

  // A TLS-RPT report with failures for a domain whose posture is clean, and one refused: the
  // report panels have data, and the domain's next check carries tlsrpt_failures_reported.
  {
    httplib::Client exporter("127.0.0.1", exporter_port);
    auto stored = exporter.Post("/v1/tlsrpt", TlsRptFailureReport(kReported, "e2e-1", 7),
                                "application/tlsrpt+json");
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, 201) << stored->body;
    auto refused = exporter.Post("/v1/tlsrpt", "not a report", "text/plain");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 415);
  }
  // Two scrapes at least of the new series: the panels' increase() needs two samples.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return api.Scalar("sum(mta_sts_tlsrpt_failed_sessions_total{domain=\"" + kReported +
                          "\"})") == 7 &&
               api.Scalar("min(count_over_time(mta_sts_tlsrpt_reports_total{domain=\"" + kReported +
                          "\"}[1m]))") >= 2;
      },
      std::chrono::seconds(20)));

  // The alerts the world calls for. Per-domain alerts are compared exactly, as
  // "alertname domain [code]".
  const std::set<std::string> unreachable_codes = {"policy_fetch_failed", "policy_tls_invalid",
                                                   "policy_missing",      "policy_redirect",
                                                   "policy_too_large",    "target_refused"};
  const bool has_changed_without_id =
      ReadFile(dir_ / "rules.yml").find("- alert: MtaStsPolicyChangedWithoutIdChange\n") !=
      std::string::npos;
  std::set<std::string> expected;
  for (const auto& p : postures_) {
    const bool downgraded = p.domain == kDowngraded;
    if (!p.enforced || downgraded) expected.insert("MtaStsNotEnforced " + p.domain);
    if (downgraded) {
      expected.insert("MtaStsDowngradedFromEnforce " + p.domain);
      // The policy file changed while the TXT id stayed: where the rules have the alert for
      // that (history-aware checks), it fires as well.
      if (has_changed_without_id) {
        expected.insert("MtaStsPolicyChangedWithoutIdChange " + p.domain);
      }
    }
    for (const auto& code : p.codes) {
      if (unreachable_codes.count(code) != 0) {
        expected.insert("MtaStsPolicyUnreachable " + p.domain + " " + code);
      }
    }
    if (p.codes.count("mx_not_covered") != 0) expected.insert("MtaStsMxNotCovered " + p.domain);
    if (p.codes.count("tls_rpt_missing") != 0) expected.insert("MtaStsTlsRptMissing " + p.domain);
    if (p.domain == kReported) expected.insert("MtaStsTlsRptFailures " + p.domain);
    // The MX probe and the certificates (the world has no certificate under 2 days from expiry,
    // so MtaStsCertificateExpiresSoon fires for none).
    if (p.codes.count("mx_starttls_missing") != 0 || p.codes.count("mx_cert_invalid") != 0) {
      expected.insert("MtaStsMxTlsBroken " + p.domain);
    }
    if (p.codes.count("mx_unreachable") != 0) expected.insert("MtaStsMxUnreachable " + p.domain);
    if (p.codes.count("mx_cert_expiring") != 0 || p.codes.count("policy_cert_expiring") != 0) {
      expected.insert("MtaStsCertificateExpiring " + p.domain);
    }
  }
  // A check that could not finish (a lookup unanswered) alerts too (MtaStsChecksFailing). Every
  // world check runs to the end (a policy fetch that times out is an answer: policy_fetch_failed),
  // but a loaded machine may drop a DNS answer, so which domains those are is read from the
  // exporter, and at most two are tolerated.
  std::set<std::string> incomplete;
  auto firing = [&] {
    std::set<std::string> names;
    json data = api.Get("/api/v1/alerts");
    if (data.is_null()) return names;
    for (const auto& alert : data["alerts"]) {
      if (alert["state"] != "firing") continue;
      const json& labels = alert["labels"];
      std::string name = labels["alertname"].get<std::string>();
      if (labels.contains("domain")) name += " " + labels["domain"].get<std::string>();
      if (labels.contains("code") && name.rfind("MtaStsPolicyUnreachable", 0) == 0) {
        name += " " + labels["code"].get<std::string>();
      }
      if (labels.contains("webhook")) name += " webhook=" + labels["webhook"].get<std::string>();
      names.insert(name);
    }
    return names;
  };
  auto per_domain_expected = [&] {
    std::set<std::string> all = expected;
    json data = api.Instant("mta_sts_check_success == 0");
    incomplete.clear();
    if (!data.is_null()) {
      for (const auto& series : data["result"]) {
        const std::string domain = series["metric"]["domain"];
        incomplete.insert(domain);
        all.insert("MtaStsChecksFailing " + domain);
      }
    }
    return all;
  };
  std::set<std::string> actual;
  std::set<std::string> want;
  const bool settled = WaitUntil(
      [&] {
        want = per_domain_expected();
        want.insert("MtaStsWebhookDeliveriesFailing webhook=unreachable");
        actual = firing();
        return actual == want;
      },
      std::chrono::seconds(40));
  EXPECT_TRUE(settled) << [&] {
    std::string diff = "missing:";
    for (const auto& a : want) {
      if (actual.count(a) == 0) diff += "\n  " + a;
    }
    diff += "\nunexpected:";
    for (const auto& a : actual) {
      if (want.count(a) == 0) diff += "\n  " + a;
    }
    return diff;
  }();
  std::cout << actual.size() << " alerts firing:";
  for (const auto& a : actual) std::cout << "\n  " << a;
  std::cout << std::endl;
  EXPECT_LE(incomplete.size(), 2U) << "most world checks must run to the end";
  for (const auto& a : actual) {
    EXPECT_EQ(a.find(" " + kGood), std::string::npos) << "an alert for the good domain: " << a;
  }
  // Spot checks of the derivation above (so an empty postures file cannot pass).
  for (const char* a :
       {"MtaStsNotEnforced testing.test", "MtaStsNotEnforced none.test",
        "MtaStsPolicyUnreachable policy-404.test policy_missing",
        "MtaStsPolicyUnreachable wrong-cert.test policy_tls_invalid",
        "MtaStsMxNotCovered mx-uncovered.test", "MtaStsTlsRptMissing no-tlsrpt.test",
        "MtaStsDowngradedFromEnforce multi-string-txt.test",
        "MtaStsMxTlsBroken mx-no-starttls.test", "MtaStsMxTlsBroken mx-wrong-cert.test",
        "MtaStsMxUnreachable mx-down.test", "MtaStsCertificateExpiring mx-expiring.test",
        "MtaStsCertificateExpiring policy-expiring.test", "MtaStsTlsRptFailures cname-txt.test"}) {
    EXPECT_EQ(actual.count(a), 1U) << a;
  }

  // MtaStsMxTlsBroken follows the issue's severity (critical in enforce, warning in testing), and
  // its description names the failing MX host (a query in the template, on the real series).
  std::map<std::string, std::pair<std::string, std::string>> mx_tls;  // domain -> severity, text
  const json alerts = api.Get("/api/v1/alerts")["alerts"];
  for (const auto& alert : alerts) {
    if (alert["state"] == "firing" && alert["labels"]["alertname"] == "MtaStsMxTlsBroken") {
      mx_tls[alert["labels"]["domain"]] = {alert["labels"]["severity"],
                                           alert["annotations"]["description"]};
    }
  }
  EXPECT_EQ(mx_tls["mx-no-starttls.test"].first, "critical");
  EXPECT_NE(mx_tls["mx-no-starttls.test"].second.find("MX host(s): mx1.mx-no-starttls.test "),
            std::string::npos)
      << mx_tls["mx-no-starttls.test"].second;
  EXPECT_EQ(mx_tls["mx-testing.test"].first, "warning");

  // Every rule evaluates without error (a many-to-many match, say, shows only at run time).
  json groups = api.Get("/api/v1/rules")["groups"];
  int loaded = 0;
  for (const auto& group : groups) {
    for (const auto& rule : group["rules"]) {
      ++loaded;
      EXPECT_EQ(rule["health"], "ok") << rule["name"] << ": " << rule.value("lastError", "");
    }
  }
  EXPECT_EQ(loaded, rules);

  // Every dashboard query returns data: instant targets as instant queries, the others (time
  // series panels, annotations) as range queries over the test's time, as Grafana asks them.
  const json dashboard =
      json::parse(ReadFile(kSourceDir / "grafana/dashboards/mta-sts-exporter.json"));
  std::string all_value;
  for (const auto& variable : dashboard["templating"]["list"]) {
    if (variable["name"] == "domain") all_value = variable.value("allValue", "");
  }
  ASSERT_FALSE(all_value.empty()) << "the domain variable has no allValue";
  // $__rate_interval: Grafana's max(4 x scrape interval, $__interval + scrape interval), at
  // least the 1m a Grafana data source's default scrape interval (15s) gives.
  const std::map<std::string, std::string> variables = {{"$__rate_interval", "1m"},
                                                        {"$__interval", "1s"},
                                                        {"$__range", "5m"},
                                                        {"${domain}", all_value},
                                                        {"$domain", all_value}};
  std::vector<DashboardQuery> queries;
  CollectPanels(dashboard["panels"], queries);
  for (const auto& annotation : dashboard["annotations"]["list"]) {
    if (annotation.contains("expr")) {
      queries.push_back({"annotation \"" + annotation.value("name", "") + "\"",
                         annotation["expr"].get<std::string>(), false, json::object(), annotation});
    }
  }
  ASSERT_GT(queries.size(), 20U);
  // MTASTS_DASHBOARD_DUMP=FILE (scripts/render-dashboard.sh): let a minute of data gather, and
  // write every panel's query answers to FILE, for rendering the panels as images.
  const std::string dump_file = Env("MTASTS_DASHBOARD_DUMP");
  if (!dump_file.empty()) std::this_thread::sleep_for(std::chrono::seconds(60));
  json dump = json::array();
  const double end = UnixNow();
  for (const auto& query : queries) {
    const std::string expr = Substitute(query.expr, variables);
    std::string error;
    json data = query.instant ? api.Instant(expr, &error) : api.Range(expr, start, end, &error);
    EXPECT_TRUE(HasNumber(data)) << query.where << ": no data for " << expr << "\n"
                                 << error << data.dump();
    dump.push_back({{"panel", query.panel},
                    {"target", query.target},
                    {"query", expr},
                    {"start", start},
                    {"end", end},
                    {"data", data}});
  }
  if (!dump_file.empty()) WriteFile(dump_file, dump.dump(1));
  std::cout << queries.size() << " dashboard queries asked" << std::endl;
  // The domain variable lists every watched domain.
  json values = api.Get("/api/v1/label/domain/values?match%5B%5D=mta_sts_enforced");
  EXPECT_EQ(values.size(), postures_.size()) << values.dump();

  // And a few values the panels show, against the world's postures.
  int enforced = 0;
  for (const auto& p : postures_) enforced += p.enforced && p.domain != kDowngraded ? 1 : 0;
  const double n = static_cast<double>(postures_.size());
  EXPECT_EQ(api.Scalar("sum(mta_sts_exporter_domains_watched)"), n);
  EXPECT_NEAR(api.Scalar(Substitute(R"(avg(mta_sts_enforced{domain=~"$domain"}))", variables)),
              enforced / n, 1e-9);
  int testing_mode = 1;  // the downgraded domain
  for (const auto& p : postures_) testing_mode += p.mode == "testing" ? 1 : 0;
  EXPECT_EQ(api.Scalar(R"(sum(mta_sts_mode{mode="testing"}))"), testing_mode);
  EXPECT_GE(api.Scalar(R"(sum(mta_sts_webhook_deliveries_total{webhook="ops",result="success"}))"),
            1);
  EXPECT_GE(api.Scalar(
                R"(sum(mta_sts_webhook_deliveries_total{webhook="unreachable",result="failure"}))"),
            1);

  prometheus.Stop();
  EXPECT_EQ(daemon.Stop(), 0);
}

// The multi-target pattern (README "Probing domains listed in Prometheus"): a Prometheus of its own
// scrapes /probe, for three world domains given as targets and relabeled as for blackbox_exporter.
// The dashboard's per-domain queries then return data for those domains, from that job. The
// daemon is behind a web config (TLS, basic_auth), and the same Prometheus scrapes its /metrics
// over HTTPS with basic_auth too.
TEST_F(PrometheusTest, ProbedDomainsFeedTheDashboardsPerDomainQueries) {
  const std::vector<std::string> probed = {"enforce.test", "testing.test", "mx-good.test"};
  const std::string job = "mta-sts-probe";
  // The same Prometheus also scrapes the daemon's /metrics, over HTTPS with basic_auth.
  const std::string tls_job = "mta-sts-exporter-tls";
  const int exporter_port = FreePort();
  WriteFile(dir_ / "config.yaml",
            ConfigText(dir_, {"no-tlsrpt.test"},
                       "api:\n  rate_limit_per_minute: 100000\n  rate_limit_burst: 1000\n"));
  // Behind a web config (README "The daemon"): Prometheus scrapes over HTTPS, with basic_auth.
  ASSERT_TRUE(SelfSignedLoopbackCert(dir_, "exporter"));
  WriteFile(dir_ / "web.yml",
            "tls_server_config:\n  cert_file: exporter.crt\n"
            "  key_file: exporter.key\nbasic_auth_users:\n  prometheus: " +
                Bcrypt("scrape-pw") + "\n");
  Daemon daemon(dir_, exporter_port);
  daemon.Start({"--web.config.file=" + (dir_ / "web.yml").string()});
  const std::string ready = "curl -s -o /dev/null -w '%{http_code}' --cacert " +
                            (dir_ / "exporter.crt").string() +
                            " https://127.0.0.1:" + std::to_string(exporter_port) + "/-/ready";
  ASSERT_TRUE(WaitUntil([&] { return Capture(ready + " -u prometheus:scrape-pw") == "200"; },
                        std::chrono::seconds(60)))
      << daemon.Log();
  ASSERT_EQ(Capture(ready), "401") << "no user: no answer";
  std::string targets;
  for (const auto& d : probed) targets += (targets.empty() ? "" : ", ") + d;
  WriteFile(dir_ / "prometheus.yml",
            "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
            "scrape_configs:\n  - job_name: " +
                job +
                "\n    metrics_path: /probe\n    params:\n      probe_mx: [\"true\"]\n"
                "    scrape_timeout: 4s\n    scrape_interval: 5s\n"
                "    scheme: https\n    tls_config:\n      ca_file: " +
                (dir_ / "exporter.crt").string() +
                "\n    basic_auth:\n      username: prometheus\n      password: scrape-pw\n"
                "    static_configs:\n      - targets: [" +
                targets +
                "]\n    relabel_configs:\n"
                "      - source_labels: [__address__]\n        target_label: __param_target\n"
                "      - source_labels: [__param_target]\n        target_label: instance\n"
                "      - target_label: __address__\n        replacement: 127.0.0.1:" +
                std::to_string(exporter_port) + "\n  - job_name: " + tls_job +
                "\n    scrape_interval: 2s\n    scheme: https\n    tls_config:\n      ca_file: " +
                (dir_ / "exporter.crt").string() +
                "\n    basic_auth:\n      username: prometheus\n      password: scrape-pw\n"
                "    static_configs:\n      - targets: ['127.0.0.1:" +
                std::to_string(exporter_port) + "']\n");
  const int prometheus_port = FreePort();
  Process prometheus(
      {"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
       "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      dir_ / "prometheus.log");
  const double start = UnixNow();
  prometheus.Start();
  PrometheusApi api(prometheus_port);
  // Two successful probes of each domain, each instance named after its target.
  const std::string probes_ok =
      "count(sum_over_time(mta_sts_probe_success{job=\"" + job + "\"}[1m]) >= 2)";
  ASSERT_TRUE(WaitUntil([&] { return api.Scalar(probes_ok) == 3; }, std::chrono::seconds(60)))
      << api.Instant("mta_sts_probe_success").dump() << api.Instant("up").dump();
  // /metrics over HTTPS with basic_auth: the scrape is up and carries the watched domain's series.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return api.Scalar("count(mta_sts_check_success{job=\"" + tls_job +
                          "\",domain=\"no-tlsrpt.test\"})") == 1;
      },
      std::chrono::seconds(60)))
      << api.Instant("up").dump();
  EXPECT_EQ(api.Scalar("up{job=\"" + tls_job + "\"}"), 1);
  for (const auto& d : probed) {
    EXPECT_EQ(api.Scalar("up{job=\"" + job + "\",instance=\"" + d + "\"}"), 1) << d;
    EXPECT_EQ(api.Scalar("mta_sts_check_success{job=\"" + job + "\",instance=\"" + d +
                         "\",domain=\"" + d + "\"}"),
              1)
        << d;
  }

  // Every dashboard query on the domain variable, but those on what only a watched domain has
  // (its schedule, its memory, its posture changes, its stored TLS-RPT reports), with the
  // variable set to the three domains.
  const json dashboard =
      json::parse(ReadFile(kSourceDir / "grafana/dashboards/mta-sts-exporter.json"));
  std::vector<DashboardQuery> queries;
  CollectPanels(dashboard["panels"], queries);
  const std::string domains = "enforce.test|testing.test|mx-good.test";
  const std::map<std::string, std::string> variables = {{"$__rate_interval", "1m"},
                                                        {"$__interval", "1s"},
                                                        {"$__range", "5m"},
                                                        {"${domain}", domains},
                                                        {"$domain", domains}};
  const std::set<std::string> only_watched = {"mta_sts_next_check_timestamp_seconds",
                                              "mta_sts_policy_first_seen_timestamp_seconds",
                                              "mta_sts_posture_changes_total", "mta_sts_tlsrpt_"};
  const double end = UnixNow();
  int asked = 0;
  for (const auto& query : queries) {
    if (query.expr.find("$domain") == std::string::npos) continue;
    if (std::any_of(only_watched.begin(), only_watched.end(),
                    [&](const std::string& f) { return query.expr.find(f) != std::string::npos; }))
      continue;
    ++asked;
    const std::string expr = Substitute(query.expr, variables);
    std::string error;
    const json data =
        query.instant ? api.Instant(expr, &error) : api.Range(expr, start, end, &error);
    EXPECT_TRUE(HasNumber(data)) << query.where << ": no data for " << expr << "\n"
                                 << error << data.dump();
    // The per-domain rows of the table: one for each probed domain.
    if (data.is_object() && query.expr.find(" by (domain) (mta_sts_") != std::string::npos &&
        query.expr.find("max_age") == std::string::npos) {
      std::set<std::string> seen;
      for (const auto& series : data["result"]) seen.insert(series["metric"].value("domain", ""));
      EXPECT_EQ(seen, std::set<std::string>(probed.begin(), probed.end())) << expr;
    }
  }
  EXPECT_GE(asked, 20);
  std::cout << asked << " per-domain dashboard queries asked of the probe job" << std::endl;
  // The series carry the probe job's label, and the domain variable lists the probed domains.
  const json values = api.Get(
      "/api/v1/label/domain/values?match%5B%5D=mta_sts_enforced%7Bjob%3D%22" + job + "%22%7D");
  EXPECT_EQ(values, json(std::set<std::string>(probed.begin(), probed.end())));
  EXPECT_EQ(api.Scalar("count(mta_sts_enforced{job=\"" + job + "\"})"), 3);
  EXPECT_EQ(api.Scalar("mta_sts_issue{job=\"" + job +
                       "\",domain=\"testing.test\",code=\"mode_testing\"}"),
            1);
  EXPECT_EQ(api.Scalar("mta_sts_mx_starttls{job=\"" + job +
                       "\",domain=\"mx-good.test\",mx=\"mx1.mx-good.test\"}"),
            1);
  prometheus.Stop();
  EXPECT_EQ(daemon.Stop(), 0);
}

}  // namespace
