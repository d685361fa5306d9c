#include "agent/state/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/report_json.h"
#include "agent/state/history_json.h"
#include "base/unique_fd.h"

namespace mtasts::agent {
namespace {

constexpr int kFormatVersion = 1;

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

StateFile::StateFile(std::string state_dir)
    : dir_(std::move(state_dir)), path_(dir_ + "/state.json") {}

Result<bool> StateFile::Save(const Snapshot& snapshot) const {
  if (mkdir(dir_.c_str(), 0750) != 0 && errno != EEXIST) {
    return Error{Errno("cannot create state_dir " + dir_)};
  }
  const std::string temp = path_ + ".tmp";
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) return Error{Errno("cannot write " + temp)};
  // Streamed one domain at a time: memory stays flat however many domains are watched.
  std::string buffer = R"({"version":)" + std::to_string(kFormatVersion) + R"(,"domains":{)";
  bool ok = true;
  bool first = true;
  for (const auto& [name, state] : snapshot.domains) {
    nlohmann::json entry = {{"next_check_ms", state.next_check_ms},
                            {"posture_changes", state.posture_changes}};
    if (state.report) entry["report"] = ReportToJson(state.report.Unpack());
    if (const auto tracker = state.tracker.Unpack(); tracker.committed) {
      entry["posture"] = webhooks::TrackerToJson(tracker);
    }
    if (const auto memory = state.history.Unpack(); memory.Known()) {
      entry["history"] = HistoryToJson(memory);
    }
    if (!first) buffer += ',';
    first = false;
    buffer += nlohmann::json(name).dump() + ':' +
              entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (buffer.size() > std::size_t{64} * 1024) {
      ok = ok && WriteAll(fd.get(), buffer);
      buffer.clear();
    }
  }
  buffer += "}}\n";
  ok = ok && WriteAll(fd.get(), buffer) && fsync(fd.get()) == 0;
  if (!ok) {
    auto error = Error{Errno("cannot write " + temp)};
    fd.reset();
    unlink(temp.c_str());
    return error;
  }
  fd.reset();
  if (rename(temp.c_str(), path_.c_str()) != 0) {
    auto error = Error{Errno("cannot replace " + path_)};
    unlink(temp.c_str());
    return error;
  }
  // The rename is durable only once the directory entry is on disk.
  if (const UniqueFd dir(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)); dir) {
    fsync(dir.get());
  }
  return true;
}

Result<std::map<std::string, DomainState>> StateFile::Load() const {
  std::map<std::string, DomainState> out;
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return out;
    return Error{Errno("cannot read " + path_)};
  }
  std::stringstream text;
  text << in.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Error{path_ + ": not valid JSON; starting without saved state"};
  }
  if (json.value("version", 0) != kFormatVersion) {
    return Error{path_ + ": unknown state format version; starting without saved state"};
  }
  try {
    for (const auto& [name, entry] : json.at("domains").items()) {
      DomainState state;
      state.next_check_ms = entry.value("next_check_ms", std::int64_t{0});
      state.posture_changes = entry.value("posture_changes", std::uint64_t{0});
      history::PolicyHistory memory;
      if (entry.contains("history")) {
        auto saved = HistoryFromJson(entry.at("history"));
        if (saved) memory = std::move(saved).value();  // else: remembered afresh
      }
      webhooks::TrackerState tracker;
      if (entry.contains("report")) {
        auto report = ReportFromJson(entry.at("report"));
        if (!report) return Error{path_ + ": domain " + name + ": " + report.error().message};
        DomainReport restored = std::move(report).value();
        if (!memory.Known()) {
          // A file from before history was kept: the saved report is the first sight.
          memory = history::JudgeHistory({}, restored, restored.checked_at_ms).after;
        }
        restored.history = history::HistorySummary(memory, restored);
        tracker.committed = webhooks::PostureFromReport(restored);
        state.report = PackedReport(restored);
      }
      if (entry.contains("posture")) tracker = webhooks::TrackerFromJson(entry.at("posture"));
      if (memory.Known()) state.history = Packed<history::PolicyHistory>(memory);
      if (tracker.committed) state.tracker = Packed<webhooks::TrackerState>(tracker);
      out.emplace(name, std::move(state));
    }
  } catch (const nlohmann::json::exception& e) {
    return Error{path_ + ": " + e.what()};
  }
  return out;
}

}  // namespace mtasts::agent
