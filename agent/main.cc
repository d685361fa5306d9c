#include "agent/cli.h"

int main(int argc, char** argv) {
  return mtasts::agent::RunCli(argc, argv);
}
