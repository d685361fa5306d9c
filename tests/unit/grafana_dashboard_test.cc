// The Grafana dashboard and the alert rules in grafana/: the dashboard JSON parses, every query
// goes through the ${datasource} variable, and every PromQL expression (dashboard and rules) names
// only metrics the exporter serves (tests/testdata/metrics/golden.prom and the README's Metrics
// table). With promtool at hand, every dashboard expression is also
// parsed by Prometheus itself: written as a recording rule and checked offline with
// `promtool check rules` (promtool 2.42 has no offline `promtool query`).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::filesystem::path kSourceDir = MTASTS_SOURCE_DIR;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json LoadDashboard() {
  return nlohmann::json::parse(ReadFile(kSourceDir / "grafana/dashboards/mta-sts-exporter.json"));
}

void AddHistogramSeries(std::set<std::string>& names, const std::string& name) {
  names.insert(name);
  names.insert(name + "_bucket");
  names.insert(name + "_sum");
  names.insert(name + "_count");
}

// Metric names of the golden exposition: every sample's name, and a histogram's series.
std::set<std::string> GoldenMetricNames() {
  std::set<std::string> names;
  std::istringstream in(ReadFile(kSourceDir / "tests/testdata/metrics/golden.prom"));
  const std::regex type_line(R"(^# TYPE (\S+) histogram$)");
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ])");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, m, type_line)) {
      AddHistogramSeries(names, m[1]);
    } else if (std::regex_search(line, m, sample)) {
      names.insert(m[1]);
    }
  }
  return names;
}

// Metric names of the README's "### Metrics" table, the list users read.
std::set<std::string> ReadmeMetricNames() {
  std::set<std::string> names;
  std::istringstream in(ReadFile(kSourceDir / "README.md"));
  bool in_section = false;
  const std::regex name("`(mta_sts_[a-z_]+)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#", 0) == 0) {
      in_section = line == "### Metrics";
      continue;
    }
    if (!in_section || line.rfind("|", 0) != 0) continue;
    const bool histogram = line.find("| histogram |") != std::string::npos;
    for (std::sregex_iterator it(line.begin(), line.end(), name), end; it != end; ++it) {
      if (histogram) {
        AddHistogramSeries(names, (*it)[1]);
      } else {
        names.insert((*it)[1]);
      }
    }
  }
  return names;
}

// The identifiers of an expression that name exporter metrics (quoted strings left out, so
// label values and Grafana legends never count).
std::vector<std::string> ExporterMetricsIn(const std::string& expr) {
  const std::string unquoted =
      std::regex_replace(expr, std::regex(R"("(\\.|[^"\\])*"|'(\\.|[^'\\])*'|`[^`]*`)"), "\"\"");
  std::vector<std::string> names;
  const std::regex ident(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (std::sregex_iterator it(unquoted.begin(), unquoted.end(), ident), end; it != end; ++it) {
    const std::string token = it->str();
    if (token.rfind("mta_sts_", 0) == 0) names.push_back(token);
  }
  return names;
}

// Grafana's variables, replaced by what they stand for at query time.
std::string Interpolate(std::string expr) {
  const std::vector<std::pair<std::string, std::string>> variables = {{"$__rate_interval", "5m"},
                                                                      {"$__interval", "1m"},
                                                                      {"$__range", "1h"},
                                                                      {"${domain}", ".+"},
                                                                      {"$domain", ".+"}};
  for (const auto& [from, to] : variables) {
    for (auto pos = expr.find(from); pos != std::string::npos; pos = expr.find(from, pos)) {
      expr.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  return expr;
}

struct Query {
  std::string where;
  std::string expr;
};

// Every PromQL expression of the dashboard: panel targets (rows included) and annotations.
std::vector<Query> DashboardQueries(const nlohmann::json& dashboard) {
  std::vector<Query> queries;
  std::vector<nlohmann::json> panels(dashboard.at("panels").begin(), dashboard.at("panels").end());
  for (std::size_t i = 0; i < panels.size(); ++i) {
    const nlohmann::json panel = panels[i];
    if (panel.contains("panels")) {
      for (const auto& inner : panel.at("panels")) panels.push_back(inner);
    }
    for (const auto& target : panel.value("targets", nlohmann::json::array())) {
      queries.push_back(
          {"panel \"" + panel.value("title", "") + "\" target " + target.value("refId", "?"),
           target.at("expr").get<std::string>()});
    }
  }
  for (const auto& annotation : dashboard.at("annotations").at("list")) {
    if (annotation.contains("expr")) {
      queries.push_back({"annotation \"" + annotation.value("name", "") + "\"",
                         annotation.at("expr").get<std::string>()});
    }
  }
  return queries;
}

TEST(GrafanaDashboard, ParsesWithUidSchemaAndVariables) {
  const nlohmann::json dashboard = LoadDashboard();
  EXPECT_EQ(dashboard.at("uid"), "mta-sts-exporter");
  EXPECT_GE(dashboard.at("schemaVersion").get<int>(), 36);
  const auto& variables = dashboard.at("templating").at("list");
  ASSERT_EQ(variables.size(), 2U);
  EXPECT_EQ(variables[0].at("name"), "datasource");
  EXPECT_EQ(variables[0].at("type"), "datasource");
  EXPECT_EQ(variables[0].at("query"), "prometheus");
  EXPECT_EQ(variables[1].at("name"), "domain");
  EXPECT_EQ(variables[1].at("query").at("query"), "label_values(mta_sts_enforced, domain)");
  EXPECT_TRUE(variables[1].at("multi").get<bool>());
  EXPECT_TRUE(variables[1].at("includeAll").get<bool>());
  EXPECT_EQ(variables[1].at("datasource").at("uid"), "${datasource}");
}

TEST(GrafanaDashboard, EveryQueryUsesTheDatasourceVariable) {
  const nlohmann::json dashboard = LoadDashboard();
  std::size_t targets = 0;
  for (const auto& panel : dashboard.at("panels")) {
    if (panel.at("type") == "row") continue;
    EXPECT_EQ(panel.at("datasource").at("uid"), "${datasource}") << panel.at("title");
    for (const auto& target : panel.at("targets")) {
      ++targets;
      EXPECT_EQ(target.at("datasource").at("uid"), "${datasource}") << panel.at("title");
      EXPECT_EQ(target.at("datasource").at("type"), "prometheus") << panel.at("title");
    }
  }
  EXPECT_GT(targets, 10U);
}

TEST(GrafanaDashboard, QueriesNameOnlyExportedMetrics) {
  std::set<std::string> known = GoldenMetricNames();
  const std::set<std::string> readme = ReadmeMetricNames();
  ASSERT_GT(known.size(), 20U);
  ASSERT_GT(readme.size(), 15U);
  known.insert(readme.begin(), readme.end());

  const nlohmann::json dashboard = LoadDashboard();
  const std::vector<Query> queries = DashboardQueries(dashboard);
  ASSERT_GT(queries.size(), 10U);
  std::set<std::string> used;
  for (const auto& query : queries) {
    const auto names = ExporterMetricsIn(query.expr);
    EXPECT_FALSE(names.empty()) << query.where << " names no exporter metric: " << query.expr;
    for (const auto& name : names) {
      used.insert(name);
      EXPECT_TRUE(known.count(name) == 1) << query.where << ": unknown metric " << name;
    }
  }
  for (const auto& name :
       {"mta_sts_enforced", "mta_sts_mode", "mta_sts_issues", "mta_sts_policy_info",
        "mta_sts_posture_changes_total", "mta_sts_exporter_check_duration_seconds_bucket",
        "mta_sts_webhook_deliveries_total"}) {
    EXPECT_TRUE(used.count(name) == 1) << "the dashboard shows no " << name;
  }
}

TEST(GrafanaDashboard, AlertRulesNameOnlyExportedMetrics) {
  std::set<std::string> known = GoldenMetricNames();
  const std::set<std::string> readme = ReadmeMetricNames();
  known.insert(readme.begin(), readme.end());
  const YAML::Node rules =
      YAML::LoadFile((kSourceDir / "grafana/alerts/mta-sts-exporter.rules.yml").string());
  std::size_t count = 0;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      ++count;
      const auto alert = rule["alert"].as<std::string>();
      for (const auto& name : ExporterMetricsIn(rule["expr"].as<std::string>())) {
        EXPECT_TRUE(known.count(name) == 1) << alert << ": unknown metric " << name;
      }
      for (const char* annotation : {"summary", "description"}) {
        EXPECT_TRUE(rule["annotations"][annotation]) << alert << " has no " << annotation;
      }
      const auto severity = rule["labels"]["severity"].as<std::string>("");
      EXPECT_TRUE(severity == "critical" || severity == "warning" || severity == "info")
          << alert << ": severity " << severity;
    }
  }
  EXPECT_GE(count, 8U);
}

TEST(GrafanaDashboard, PromtoolParsesEveryQuery) {
#ifndef MTASTS_PROMTOOL
  GTEST_SKIP() << "promtool not found at configure time";
#else
  const std::vector<Query> queries = DashboardQueries(LoadDashboard());
  const std::filesystem::path rules =
      std::filesystem::path(testing::TempDir()) / "mta-sts-dashboard-queries.rules.yml";
  {
    std::ofstream out(rules);
    out << "groups:\n  - name: dashboard\n    rules:\n";
    for (std::size_t i = 0; i < queries.size(); ++i) {
      // A JSON string is a valid YAML double-quoted scalar.
      out << "      - record: dashboard:query" << i
          << "\n        expr: " << nlohmann::json(Interpolate(queries[i].expr)).dump() << "\n";
    }
  }
  const std::string command =
      std::string("'") + MTASTS_PROMTOOL + "' check rules '" + rules.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("SUCCESS: " + std::to_string(queries.size()) + " rules found"),
            std::string::npos)
      << output;
  std::filesystem::remove(rules);
#endif
}

}  // namespace
