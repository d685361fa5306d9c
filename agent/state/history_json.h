#pragma once

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "collectors/history/history.h"

namespace mtasts::agent {

/// A domain's memory (history::PolicyHistory) in the state file. Reading rejects a malformed
/// object (the caller starts that domain's memory afresh) and accepts unknown fields.
nlohmann::json HistoryToJson(const history::PolicyHistory& history);
Result<history::PolicyHistory> HistoryFromJson(const nlohmann::json& json);

}  // namespace mtasts::agent
