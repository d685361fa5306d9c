#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace httplib {
struct Response;
}

namespace mtasts::agent {

/// A random (version 4) UUID, the request_id of an envelope.
std::string NewRequestId();

/// Answers `status` with the envelope every /v1 answer carries (README "HTTP endpoints"):
/// `data`, `meta` (timestamp, request_id), `status`, `message`, `success`; never cached.
void Reply(httplib::Response& res, int status, nlohmann::json data, const std::string& message);

}  // namespace mtasts::agent
