#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "config/config.h"

namespace mtasts::agent::tlsrpt {

/// `mta-sts-exporter tlsrpt ingest [FILE...]` (README "TLS-RPT reports"): each input (each FILE,
/// or standard input without one) is an RFC 5322 message carrying a report or a bare report
/// (JSON or gzip). Reports for a domain of `config` are stored in `state_dir/tlsrpt.sqlite`.
/// One line per input on `err` says what happened. Returns the exit status (sysexits.h, what
/// mail delivery agents act on): 0 when every input was stored or already stored; 75
/// (EX_TEMPFAIL) when the store was unavailable for any of them, so that the mail system
/// retries and nothing is lost; else 65 (EX_DATAERR) when one was not a report for a watched
/// domain; 66 (EX_NOINPUT) when a FILE could not be read.
int RunIngestCommand(const config::Config& config, const std::vector<std::string>& files,
                     int stdin_fd, std::ostream& err);

}  // namespace mtasts::agent::tlsrpt
