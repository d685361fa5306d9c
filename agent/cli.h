#pragma once

namespace mtasts::agent {

/// Parses the command line (README "Command line", "The daemon") and runs the chosen form.
/// Returns the exit status.
int RunCli(int argc, char** argv);

}  // namespace mtasts::agent
