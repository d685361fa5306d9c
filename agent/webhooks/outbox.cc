#include "agent/webhooks/outbox.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/unique_fd.h"

namespace mtasts::agent::webhooks {
namespace {

namespace fs = std::filesystem;

void SyncDirectory(const fs::path& dir) {
  if (const UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); fd) {
    fsync(fd.get());
  }
}

/// Event ids become file names: keep them to a safe alphabet.
bool IsSafeId(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

constexpr std::string_view kProgressSuffix = ".progress";
constexpr std::size_t kMaxProgressBytes = 64;  // "<attempts> <unix ms>\n" and then some

/// Writes `text` to `path` whole or not at all: a temp file, fsync, rename.
Result<bool> WriteWhole(const fs::path& path, std::string_view text) {
  const fs::path temp = path.string() + ".tmp";
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) return Error{"cannot write " + temp.string() + ": " + std::strerror(errno)};
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = done == text.size() && fsync(fd.get()) == 0;
  fd.reset();
  if (!ok || rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    unlink(temp.c_str());
    return Error{"cannot write " + path.string() + ": " + std::strerror(saved)};
  }
  return true;
}

/// Reads "<attempts> <next attempt ms>" into `event`; a missing or mangled file leaves it at
/// no attempts yet (the event is then tried again from the start: at least once).
void ReadProgress(const fs::path& path, PendingEvent& event) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  std::string text(kMaxProgressBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  int attempts = 0;
  std::int64_t next_ms = 0;
  const char* end = text.data() + text.size();
  auto [after_attempts, ec1] = std::from_chars(text.data(), end, attempts);
  if (ec1 != std::errc() || after_attempts == end || *after_attempts != ' ' || attempts < 0) return;
  auto [after_next, ec2] = std::from_chars(after_attempts + 1, end, next_ms);
  if (ec2 != std::errc() || next_ms < 0) return;
  event.attempts = attempts;
  event.next_attempt_ms = next_ms;
}

}  // namespace

Result<PendingEvent> Outbox::Add(const std::string& webhook, std::int64_t sequence,
                                 const std::string& event_id, const std::string& payload) {
  if (!IsSafeId(event_id)) return Error{"event id \"" + event_id + "\" is not a safe file name"};
  const fs::path dir = fs::path(dir_) / webhook;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{"cannot create outbox " + dir.string() + ": " + ec.message()};
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > event_id.size() + 6 &&
        name.compare(name.size() - event_id.size() - 5, event_id.size() + 5, event_id + ".json") ==
            0) {
      return PendingEvent{name, event_id, payload};  // already pending: at most once in the queue
    }
  }
  char prefix[48];
  std::snprintf(prefix, sizeof prefix, "%020lld-%06llu-", static_cast<long long>(sequence),
                static_cast<unsigned long long>(counter_++ % 1000000));
  const std::string name = prefix + event_id + ".json";
  auto written = WriteWhole(dir / name, payload);
  if (!written) return written.error();
  SyncDirectory(dir);
  return PendingEvent{name, event_id, payload};
}

Result<std::vector<PendingEvent>> Outbox::Load(const std::string& webhook) const {
  std::vector<PendingEvent> events;
  const fs::path dir = fs::path(dir_) / webhook;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return events;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0) names.push_back(name);
  }
  if (ec) return Error{"cannot read outbox " + dir.string() + ": " + ec.message()};
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::ifstream in(dir / name, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    // "<20 digits>-<6 digits>-<id>.json"
    const std::string id = name.size() > 33 ? name.substr(28, name.size() - 28 - 5) : "";
    PendingEvent event{name, id, text.str()};
    ReadProgress(dir / (name + std::string(kProgressSuffix)), event);
    events.push_back(std::move(event));
  }
  return events;
}

Result<bool> Outbox::SaveProgress(const std::string& webhook, const PendingEvent& event) const {
  const fs::path dir = fs::path(dir_) / webhook;
  return WriteWhole(
      dir / (event.file + std::string(kProgressSuffix)),
      std::to_string(event.attempts) + " " + std::to_string(event.next_attempt_ms) + "\n");
}

void Outbox::Remove(const std::string& webhook, const std::string& file) const {
  const fs::path dir = fs::path(dir_) / webhook;
  std::error_code ec;
  // The progress first: a crash in between leaves the event to be tried afresh, never a
  // progress file without its event.
  fs::remove(dir / (file + std::string(kProgressSuffix)), ec);
  fs::remove(dir / file, ec);
  SyncDirectory(dir);
}

}  // namespace mtasts::agent::webhooks
