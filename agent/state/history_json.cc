#include "agent/state/history_json.h"

#include <string>

namespace mtasts::agent {

using history::PolicyHistory;
using nlohmann::json;

json HistoryToJson(const PolicyHistory& h) {
  return {{"id", h.id},
          {"digest", h.digest},
          {"mode", h.mode},
          {"max_age", h.max_age},
          {"first_seen_ms", h.first_seen_ms},
          {"id_digest", h.id_digest},
          {"id_first_seen_ms", h.id_first_seen_ms},
          {"previous_id", h.previous_id},
          {"id_bump_until_ms", h.id_bump_until_ms},
          {"downgraded_at_ms", h.downgraded_at_ms},
          {"downgraded_until_ms", h.downgraded_until_ms},
          {"downgraded_to", h.downgraded_to}};
}

Result<PolicyHistory> HistoryFromJson(const json& in) {
  try {
    PolicyHistory h;
    h.id = in.at("id").get<std::string>();
    h.digest = in.at("digest").get<std::string>();
    h.mode = in.at("mode").get<std::string>();
    h.max_age = in.at("max_age").get<std::uint32_t>();
    h.first_seen_ms = in.at("first_seen_ms").get<std::int64_t>();
    h.id_digest = in.at("id_digest").get<std::string>();
    h.id_first_seen_ms = in.at("id_first_seen_ms").get<std::int64_t>();
    h.previous_id = in.at("previous_id").get<std::string>();
    h.id_bump_until_ms = in.at("id_bump_until_ms").get<std::int64_t>();
    h.downgraded_at_ms = in.at("downgraded_at_ms").get<std::int64_t>();
    h.downgraded_until_ms = in.at("downgraded_until_ms").get<std::int64_t>();
    h.downgraded_to = in.at("downgraded_to").get<std::string>();
    if (h.Known() && (h.id.empty() || h.id_digest.empty() ||
                      (h.mode != "enforce" && h.mode != "testing" && h.mode != "none"))) {
      return Error{"malformed history: id, id_digest and mode are required"};
    }
    return h;
  } catch (const json::exception& e) {
    return Error{std::string("malformed history: ") + e.what()};
  }
}

}  // namespace mtasts::agent
