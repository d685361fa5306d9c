#include "collectors/report/policy.h"

namespace mtasts::policy {

std::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kEnforce: return "enforce";
    case Mode::kTesting: return "testing";
    case Mode::kNone: return "none";
  }
  return "unknown";
}

}  // namespace mtasts::policy
