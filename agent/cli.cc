#include "agent/cli.h"

#include <cstdio>

namespace mtasts::agent {

int RunCli(int /*argc*/, char** /*argv*/) {
  std::fputs("mta-sts-exporter: not built yet\n", stderr);
  return 2;
}

}  // namespace mtasts::agent
