#include "agent/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/rfc3339.h"

namespace mtasts::agent {
namespace {

bool g_json = false;

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

/// logfmt: bare when safe, else quoted with \ and " escaped.
void AppendLogfmtValue(std::string& out, std::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

Result<bool> InitLogging(const std::string& level, const std::string& format) {
  static const auto kLogger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto made = std::make_shared<spdlog::logger>("mta-sts-exporter", sink);
    made->set_pattern("%v");
    spdlog::set_default_logger(made);
    return made;
  }();
  if (format != "logfmt" && format != "json") {
    return Error{"--log.format \"" + format + "\" is not logfmt or json"};
  }
  g_json = format == "json";
  if (level == "debug") {
    kLogger->set_level(spdlog::level::debug);
  } else if (level == "info") {
    kLogger->set_level(spdlog::level::info);
  } else if (level == "warn") {
    kLogger->set_level(spdlog::level::warn);
  } else if (level == "error") {
    kLogger->set_level(spdlog::level::err);
  } else {
    return Error{"--log.level \"" + level + "\" is not debug, info, warn or error"};
  }
  return true;
}

void Log(LogLevel level, std::string_view message, const LogFields& fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(ToSpdlog(level))) return;
  const auto now_ms = NowUnixMillis();
  std::string line;
  if (g_json) {
    nlohmann::json object = {
        {"ts", FormatRfc3339Millis(now_ms)}, {"level", LevelName(level)}, {"msg", message}};
    for (const auto& [key, value] : fields) object[key] = value;
    line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line =
        "ts=" + FormatRfc3339Millis(now_ms) + " level=" + std::string(LevelName(level)) + " msg=";
    AppendLogfmtValue(line, message);
    for (const auto& [key, value] : fields) {
      line += " " + key + "=";
      AppendLogfmtValue(line, value);
    }
  }
  logger->log(ToSpdlog(level), "{}", line);
}

}  // namespace mtasts::agent
