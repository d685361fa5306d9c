#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "collectors/report/report.h"

namespace mtasts {

/// The report object of README "Command line" (`check --json`, `data` of /v1/check).
nlohmann::json ReportToJson(const DomainReport& report);

/// The text of ReportToJson(report).dump(2, ' ', false, error_handler_t::replace), byte for
/// byte, `depth` levels of indentation further in (1: an element of the array that `check
/// --json` prints), written without building the tree.
std::string ReportJsonText(const DomainReport& report, int depth = 0);

/// The policy object (`policy --json`, `data` of /v1/policy, README "HTTP endpoints"):
/// {domain, found, url, version, mode, max_age, mx} plus valid, error and fetch details.
nlohmann::json PolicyToJson(const DomainReport& report);

/// Reads back what ReportToJson wrote (for state persisted across restarts). Fields the JSON
/// does not carry (certificate details, body) stay empty. Errors name the field.
Result<DomainReport> ReportFromJson(const nlohmann::json& json);

}  // namespace mtasts
