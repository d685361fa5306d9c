#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mtasts::agent {

/// A part of the HTTP service that owns some paths (the /v1 API, the operator endpoints, …):
/// it registers them on every listener that serves it, so a listener serves exactly the parts
/// it is given and a new endpoint goes to the part it belongs to.
class RouteOwner {
 public:
  virtual ~RouteOwner() = default;
  /// Registers this part's routes; called once per listener, before it starts.
  virtual void Register(httplib::Server& server) = 0;
  /// Writes the answer to a request httplib refused or found no route for (`res.status` set,
  /// no body yet) when its path is this part's, in this part's format; false leaves it as it is.
  virtual bool AnswerError(const httplib::Request& /*req*/, httplib::Response& /*res*/) {
    return false;
  }

  /// A path (or kEveryPath) whose POST bodies may be larger than the listener's default cap (README
  /// "HTTP endpoints"); `refused` hears of every body the gate refuses for being over `max`. A
  /// BodyLimit path that stands for every path (a listener serving one thing at any path).
  static constexpr const char* kEveryPath = "*";
  struct BodyLimit {
    std::string path;
    std::size_t max = 0;
    std::function<void()> refused;
  };
  /// This part's paths with a body cap of their own (none by default).
  virtual std::vector<BodyLimit> BodyLimits() { return {}; }
};

/// What every request to a listener passes before it is routed, and what every answer the
/// listener writes carries (README "Web configuration": basic authentication, extra headers).
class ListenerGuard {
 public:
  virtual ~ListenerGuard() = default;
  /// True to route the request; false when `res` holds the refusal.
  virtual bool Admit(const httplib::Request& req, httplib::Response& res) = 0;
  /// Adds what every answer carries; called for each answer httplib writes, refusals included.
  virtual void Decorate(httplib::Response& res) = 0;
};

}  // namespace mtasts::agent
