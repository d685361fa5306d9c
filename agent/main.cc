#include <csignal>

#include "agent/cli.h"

int main(int argc, char** argv) {
  // A peer that closes mid-write must give the writer an EPIPE error, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  return mtasts::agent::RunCli(argc, argv);
}
