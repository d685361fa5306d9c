#include "agent/tlsrpt/maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "agent/internal_errors.h"
#include "agent/log.h"
#include "agent/terminal_text.h"
#include "base/read_capped.h"

namespace mtasts::agent::tlsrpt {
namespace {

std::string Errno() {
  return std::strerror(errno);
}

/// Makes `path` a directory if it is none yet, then checks that it is one we can use.
Result<bool> EnsureDirectory(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{"tlsrpt.maildir: " + path + ": cannot create: " + Errno()};
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Error{"tlsrpt.maildir: " + path + ": " + Errno()};
  if (!S_ISDIR(st.st_mode)) return Error{"tlsrpt.maildir: " + path + ": not a directory"};
  // Messages are read from new/ and renamed out of it into cur/: both need every permission.
  if (access(path.c_str(), R_OK | W_OK | X_OK) != 0) {
    return Error{"tlsrpt.maildir: " + path + ": not readable and writable: " + Errno()};
  }
  return true;
}

struct CloseDir {
  void operator()(DIR* dir) const { closedir(dir); }
};

}  // namespace

Result<bool> PrepareMaildir(const std::string& dir) {
  if (dir.empty()) return Error{"tlsrpt.maildir: empty"};
  for (const char* sub : {"", "/new", "/cur", "/tmp", "/.rejected", "/.rejected/new",
                          "/.rejected/cur", "/.rejected/tmp"}) {
    auto made = EnsureDirectory(dir + sub);
    if (!made) return made;
  }
  return true;
}

MaildirWalker::MaildirWalker(Options options, ReceiveFn receive, CountRejectedFn count_rejected)
    : options_(std::move(options)),
      receive_(std::move(receive)),
      count_rejected_(std::move(count_rejected)) {}

MaildirPass MaildirWalker::Pass() {
  MaildirPass pass;
  const auto open_dir = [this](const char* sub) {
    return UniqueFd(open((options_.dir + sub).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  };
  UniqueFd new_fd = open_dir("/new");
  UniqueFd cur_fd = open_dir("/cur");
  UniqueFd rejected_fd = open_dir("/.rejected/cur");
  // The DIR stream owns a descriptor of its own, so that new_fd stays valid for openat.
  std::unique_ptr<DIR, CloseDir> listing(new_fd ? fdopendir(fcntl(new_fd.get(), F_DUPFD_CLOEXEC, 0))
                                                : nullptr);
  if (!new_fd || !cur_fd || !rejected_fd || !listing) {
    // Removed or made unusable while running: retried at every pass, logged once.
    if (!dir_failing_) {
      Log(LogLevel::kError, "TLS-RPT Maildir unusable; messages wait in new",
          {{"dir", TerminalSafe(options_.dir)}, {"error", Errno()}});
    }
    dir_failing_ = true;
    return pass;
  }
  if (dir_failing_) Log(LogLevel::kInfo, "TLS-RPT Maildir usable again", {{"dir", options_.dir}});
  dir_failing_ = false;

  // The names first, at most the bound: a directory of a million entries costs one pass's worth.
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = readdir(listing.get())) {
    // Dot files are not messages (Maildir); ".", ".." among them.
    if (entry->d_name[0] == '.') continue;
    if (names.size() == options_.max_per_pass) {
      pass.more = true;
      break;
    }
    names.emplace_back(entry->d_name);
  }
  for (const std::string& name : names) {
    switch (One(new_fd.get(), cur_fd.get(), rejected_fd.get(), name)) {
      case Handled::kStored: ++pass.stored; break;
      case Handled::kRejected: ++pass.rejected; break;
      case Handled::kSkipped: ++pass.skipped; break;
      case Handled::kDeferred:
        // The store is unavailable: the others would wait as well. The next pass retries.
        ++pass.deferred;
        pass.more = false;
        return pass;
    }
  }
  return pass;
}

MaildirWalker::Handled MaildirWalker::One(int new_fd, int cur_fd, int rejected_fd,
                                          const std::string& name) {
  const std::string shown = TerminalSafe(options_.dir + "/new/" + name);
  // Looked at before it is opened: a FIFO or a device is never opened, a symbolic link never
  // followed (it could point at any file this process may read).
  struct stat st {};
  if (fstatat(new_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Handled::kSkipped;  // taken by another reader meanwhile
    Log(LogLevel::kWarn, "TLS-RPT Maildir message not readable",
        {{"file", shown}, {"error", Errno()}});
    return Handled::kSkipped;
  }
  if (S_ISLNK(st.st_mode)) {
    return Reject(new_fd, rejected_fd, name, "malformed", "a symbolic link (not followed)");
  }
  if (!S_ISREG(st.st_mode)) return Reject(new_fd, rejected_fd, name, "malformed", "not a file");
  const auto too_large = [&] {
    return Reject(new_fd, rejected_fd, name, "too_large",
                  "larger than " + std::to_string(options_.max_message >> 20) + " MiB");
  };
  if (static_cast<std::uint64_t>(st.st_size) > options_.max_message) return too_large();
  // O_NOFOLLOW and O_NONBLOCK: the name may have been replaced since it was looked at.
  const UniqueFd fd(
      openat(new_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Handled::kSkipped;
    if (errno == ELOOP) {
      return Reject(new_fd, rejected_fd, name, "malformed", "a symbolic link (not followed)");
    }
    Log(LogLevel::kWarn, "TLS-RPT Maildir message not readable",
        {{"file", shown}, {"error", Errno()}});
    return Handled::kSkipped;
  }
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Reject(new_fd, rejected_fd, name, "malformed", "not a file");
  }
  auto bytes = ReadCapped(fd.get(), options_.max_message);
  if (!bytes) {
    Log(LogLevel::kWarn, "TLS-RPT Maildir message not readable",
        {{"file", shown}, {"error", bytes.error().message}});
    return Handled::kSkipped;
  }
  if (bytes.value().size() > options_.max_message) return too_large();

  const IngestOutcome outcome = receive_(bytes.value());
  switch (outcome.answer) {
    case Answer::kStored:
    case Answer::kAlreadyStored: {
      LogFields fields = {{"file", shown},
                          {"answer", std::string(AnswerName(outcome.answer))},
                          {"organization", TerminalSafe(outcome.organization)},
                          {"report_id", TerminalSafe(outcome.report_id)}};
      Log(LogLevel::kInfo, "TLS-RPT report received from the Maildir", fields);
      // Stored but not moved: the next pass finds it already stored and tries again.
      return Move(new_fd, cur_fd, name, "S") ? Handled::kStored : Handled::kSkipped;
    }
    case Answer::kUnavailable:
      Log(LogLevel::kWarn, "TLS-RPT report store unavailable; the Maildir message waits in new",
          {{"file", shown}, {"error", outcome.internal_error}});
      return Handled::kDeferred;
    default: break;
  }
  // Counted by receive_ (the same counters as HTTP refusals).
  Log(LogLevel::kWarn, "TLS-RPT Maildir message rejected",
      {{"file", shown},
       {"answer", std::string(AnswerName(outcome.answer))},
       {"error", TerminalSafe(outcome.message)}});
  return Move(new_fd, rejected_fd, name, "") ? Handled::kRejected : Handled::kSkipped;
}

MaildirWalker::Handled MaildirWalker::Reject(int new_fd, int rejected_fd, const std::string& name,
                                             std::string_view reason, std::string_view why) {
  count_rejected_(reason);
  Log(LogLevel::kWarn, "TLS-RPT Maildir message rejected",
      {{"file", TerminalSafe(options_.dir + "/new/" + name)},
       {"reason", std::string(reason)},
       {"error", std::string(why)}});
  return Move(new_fd, rejected_fd, name, "") ? Handled::kRejected : Handled::kSkipped;
}

bool MaildirWalker::Move(int new_fd, int to_fd, const std::string& name, std::string_view flags) {
  // A message moved out of new/ gets the info suffix ":2," and its flags (Maildir); the unique
  // part of the name is kept. A name in new/ has no info, but should one come with it, it is
  // replaced rather than doubled.
  const std::string target = name.substr(0, name.find(':')) + ":2," + std::string(flags);
  if (renameat(new_fd, name.c_str(), to_fd, target.c_str()) == 0) return true;
  if (errno != ENOENT) {
    Log(LogLevel::kError, "TLS-RPT Maildir message not moved",
        {{"file", TerminalSafe(options_.dir + "/new/" + name)}, {"error", Errno()}});
  }
  return false;
}

MaildirWatcher::MaildirWatcher(MaildirWalker::Options options, std::chrono::milliseconds rescan,
                               MaildirWalker::ReceiveFn receive,
                               MaildirWalker::CountRejectedFn count_rejected)
    : dir_(options.dir),
      rescan_(rescan),
      walker_(std::move(options), std::move(receive), std::move(count_rejected)) {}

MaildirWatcher::~MaildirWatcher() {
  Stop();
}

void MaildirWatcher::Start() {
  wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) throw std::system_error(errno, std::generic_category(), "eventfd");
  inotify_ = UniqueFd(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (inotify_ && inotify_add_watch(inotify_.get(), (dir_ + "/new").c_str(),
                                    IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
    inotify_.reset();
  }
  if (!inotify_) {
    // Out of inotify instances or watches: the rescans find every message, only later.
    Log(LogLevel::kWarn, "TLS-RPT Maildir not watched; rescanned only",
        {{"dir", TerminalSafe(dir_)}, {"error", Errno()}});
  }
  thread_ = std::thread([this] {
    RunGuarded(ThreadKind::kPersist, "the TLS-RPT Maildir reader", [this] { Run(); });
  });
  Log(LogLevel::kInfo, "TLS-RPT Maildir read", {{"dir", TerminalSafe(dir_)}});
}

void MaildirWatcher::Stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof one);
  thread_.join();
  inotify_.reset();
  wake_.reset();
}

void MaildirWatcher::Run() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_pass = Clock::now();  // the first pass at once
  Clock::time_point not_before{};              // no pass before this (the store was unavailable)
  bool event = false;                          // inotify saw a delivery since the last pass
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (now >= next_pass || (event && now >= not_before)) {
      MaildirPass pass;
      RunGuarded(ThreadKind::kPersist, "the TLS-RPT Maildir reader",
                 [&] { pass = walker_.Pass(); });
      event = false;
      const Clock::time_point after = Clock::now();
      next_pass = pass.more ? after : after + rescan_;
      // Deliveries while the store is unavailable wait for the rescan, not one pass each.
      not_before = pass.deferred > 0 ? next_pass : after;
    }
    const Clock::time_point wake_at = event ? std::max(not_before, Clock::now()) : next_pass;
    const auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - Clock::now()).count();
    std::array<pollfd, 2> fds{{{wake_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}}};
    // A negative descriptor (no inotify) is ignored by poll.
    const int ready = poll(fds.data(), fds.size(),
                           static_cast<int>(std::clamp<std::int64_t>(timeout, 0, 3'600'000)));
    if (ready < 0 && errno != EINTR) {
      Log(LogLevel::kError, "TLS-RPT Maildir reader: poll failed", {{"error", Errno()}});
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) return;  // Stop
    if ((fds[1].revents & POLLIN) != 0) {
      // What the events say does not matter: a pass lists new/ anyway (an overflow included).
      alignas(inotify_event) std::array<char, 4096> buffer{};
      while (read(inotify_.get(), buffer.data(), buffer.size()) > 0) {
      }
      event = true;
    }
  }
}

}  // namespace mtasts::agent::tlsrpt
