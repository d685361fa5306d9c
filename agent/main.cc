#include <malloc.h>

#include <csignal>

#include "agent/cli.h"

int main(int argc, char** argv) {
  // A peer that closes mid-write must give the writer an EPIPE error, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // glibc gives every busy thread its own arena (up to 8 per core) and keeps what was freed in
  // each: with dozens of check workers, scrape-sized transients then pile up as resident memory.
  mallopt(M_ARENA_MAX, 2);
  return mtasts::agent::RunCli(argc, argv);
}
