#include "agent/http/web_guard.h"

#include <httplib.h>

#include <string>

namespace mtasts::agent {

bool WebGuard::Admit(const httplib::Request& req, httplib::Response& res) {
  const auto check = access_.CheckUser(req.remote_addr, req.get_header_value("Authorization"));
  switch (check.kind) {
    case Access::KeyCheck::Kind::kAdmitted: return true;
    case Access::KeyCheck::Kind::kTooManyWrong:
      res.status = 429;
      res.set_header("Retry-After", std::to_string(check.retry_after));
      res.set_content("Too many wrong passwords.\n", "text/plain");
      return false;
    case Access::KeyCheck::Kind::kMissing:
    case Access::KeyCheck::Kind::kWrong: break;
  }
  res.status = 401;
  res.set_header("WWW-Authenticate", "Basic");
  res.set_content("Unauthorized\n", "text/plain");
  return false;
}

void WebGuard::Decorate(httplib::Response& res) {
  for (const auto& [name, value] : *access_.ExtraHeaders()) {
    // A handler's own value stays: the toolkit sets these before the handler runs.
    if (!res.has_header(name)) res.set_header(name, value);
  }
}

}  // namespace mtasts::agent
