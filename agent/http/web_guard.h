#pragma once

#include "agent/http/access.h"
#include "agent/http/routes.h"

namespace mtasts::agent {

/// The web configuration's hold on the whole listener (README "Web configuration"): with
/// basic_auth_users, every request, /-/healthy and unknown paths included, needs a user and its
/// password (else 401 with `WWW-Authenticate: Basic`; 429 with Retry-After once the address has
/// spent its wrong-key budget), as the exporter-toolkit has it; every answer carries
/// http_server_config.headers. The API keys apply after it, to the paths they cover.
class WebGuard final : public ListenerGuard {
 public:
  explicit WebGuard(Access& access) : access_(access) {}

  bool Admit(const httplib::Request& req, httplib::Response& res) override;
  void Decorate(httplib::Response& res) override;

 private:
  Access& access_;
};

}  // namespace mtasts::agent
