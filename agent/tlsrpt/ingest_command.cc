#include "agent/tlsrpt/ingest_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "agent/terminal_text.h"
#include "agent/tlsrpt/ingest.h"
#include "agent/tlsrpt/store.h"
#include "base/clock.h"
#include "base/read_capped.h"
#include "base/unique_fd.h"

namespace mtasts::agent::tlsrpt {
namespace {

constexpr int kExNoInput = 66;

/// Opens the store when the first report is to be stored: an input that is not a report is
/// answered without touching the state directory.
class LazyStoreSink final : public ReportSink {
 public:
  explicit LazyStoreSink(std::string path) : path_(std::move(path)) {}

  Result<InsertResult> Insert(const ReportToStore& report) override {
    if (!store_) {
      // state_dir may not exist yet (the daemon makes it when it first saves its state).
      const std::string dir = std::filesystem::path(path_).parent_path().string();
      if (!dir.empty()) mkdir(dir.c_str(), 0750);  // a failure shows as the open's error
      auto opened = Store::Open(path_);
      if (!opened) return opened.error();
      store_ = std::move(opened).value();
    }
    return store_->Insert(report);
  }

 private:
  std::string path_;
  std::unique_ptr<Store> store_;
};

/// The worse of two exit statuses: a retry (75) outranks everything, so that a message with a
/// report that could not be stored is delivered again; then unreadable input, then bad data.
int Worse(int a, int b) {
  for (int status :
       {ExitStatus(Answer::kUnavailable), kExNoInput, ExitStatus(Answer::kMalformed)}) {
    if (a == status || b == status) return status;
  }
  return std::max(a, b);
}

}  // namespace

int RunIngestCommand(const config::Config& config, const std::vector<std::string>& files,
                     int stdin_fd, std::ostream& err) {
  DomainSet watched;
  for (const auto& domain : config.domains) watched.insert(domain.name);
  IngestLimits limits;
  limits.decode.max_inflated = config.tlsrpt.max_size;
  const std::size_t cap = limits.decode.mime.max_message;
  LazyStoreSink sink(config.state_dir + "/tlsrpt.sqlite");

  std::vector<std::string> inputs = files;
  if (inputs.empty()) inputs.emplace_back("-");
  int status = 0;
  for (const std::string& name : inputs) {
    const std::string shown = name == "-" ? std::string("stdin") : TerminalSafe(name);
    const std::string prefix = "mta-sts-exporter: tlsrpt ingest: " + shown + ": ";
    UniqueFd owned;
    int fd = stdin_fd;
    if (name != "-") {
      owned = UniqueFd(open(name.c_str(), O_RDONLY | O_CLOEXEC));
      if (!owned) {
        err << prefix << "cannot read: " << std::strerror(errno) << "\n";
        status = Worse(status, kExNoInput);
        continue;
      }
      fd = owned.get();
    }
    auto bytes = ReadCapped(fd, cap);
    if (!bytes) {
      err << prefix << "cannot read: " << bytes.error().message << "\n";
      status = Worse(status, kExNoInput);
      continue;
    }
    IngestOutcome outcome;
    if (bytes.value().size() > cap) {
      outcome.answer = Answer::kTooLarge;
      outcome.message = "larger than " + std::to_string(cap >> 20) + " MiB";
    } else {
      outcome = Ingest(bytes.value(), mtasts::tlsrpt::InputKind::kMessage, watched, limits, sink,
                       NowUnixMillis() / 1000);
    }
    err << prefix << AnswerName(outcome.answer);
    if (!outcome.organization.empty()) {
      err << " (" << TerminalSafe(outcome.organization) << ", report-id "
          << TerminalSafe(outcome.report_id);
      if (!outcome.domains.empty()) {
        err << ", for";
        for (const auto& domain : outcome.domains) err << " " << domain;
      }
      err << ")";
    }
    if (!outcome.message.empty()) err << ": " << TerminalSafe(outcome.message);
    if (!outcome.internal_error.empty()) err << " (" << TerminalSafe(outcome.internal_error) << ")";
    err << "\n";
    status = Worse(status, ExitStatus(outcome.answer));
  }
  return status;
}

}  // namespace mtasts::agent::tlsrpt
