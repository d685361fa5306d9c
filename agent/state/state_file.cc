#include "agent/state/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "agent/report_json.h"
#include "agent/state/history_json.h"
#include "base/unique_fd.h"
#include "collectors/tlsrpt/report/json_tree.h"

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

/// One saved domain's entry (`{"next_check_ms": …, "report": …, "posture": …, "history": …}`)
/// to its state. nlohmann::json exceptions for entries of the wrong shape reach the caller.
Result<DomainState> EntryToState(const nlohmann::json& entry) {
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
    if (!report) return report.error();
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
  return state;
}

// An entry is one domain's few hundred values, nested a few levels: the report parser's bounds
// are far above it.
constexpr ::mtasts::tlsrpt::ParseLimits kEntryLimits{};

/// Reads state.json as it streams in (nlohmann::json's SAX interface) and hands each entry of
/// "domains" over as a JSON tree of its own, built by the TLS-RPT parser's BoundedTreeBuilder and
/// then dropped: only one domain's tree is held at a time, not the whole file's (at 100,000 watched
/// domains that tree peaked at 1.3 GiB). "version" is kept; anything else at the top level is
/// read past.
class StateReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  using Json = nlohmann::json;
  /// `on_entry(name, entry)`: false stops the reading.
  using EntryHandler = std::function<bool(const std::string&, const Json&)>;
  explicit StateReader(EntryHandler on_entry) : on_entry_(std::move(on_entry)) {}

  int Version() const { return version_; }
  bool SawDomains() const { return saw_domains_; }
  bool RootWasObject() const { return root_was_object_; }
  /// Why an entry's tree was refused (too deep, too many values, a duplicate key); empty if not.
  std::string EntryFailure() const { return entry_failure_; }

  bool null() override { return entry_ ? entry_->null() : Scalar(Json(nullptr)); }
  bool boolean(bool value) override {
    return entry_ ? entry_->boolean(value) : Scalar(Json(value));
  }
  bool number_integer(number_integer_t value) override {
    if (entry_) return entry_->number_integer(value);
    if (depth_ == 1 && root_key_ == "version" && value >= 0 && value <= 1000) {
      version_ = static_cast<int>(value);
    }
    return Scalar(Json(value));
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (entry_) return entry_->number_unsigned(value);
    if (depth_ == 1 && root_key_ == "version" && value <= 1000) {
      version_ = static_cast<int>(value);  // a version past any int is no version we know
    }
    return Scalar(Json(value));
  }
  bool number_float(number_float_t value, const string_t& text) override {
    return entry_ ? entry_->number_float(value, text) : Scalar(Json(value));
  }
  bool string(string_t& value) override {
    return entry_ ? entry_->string(value) : Scalar(Json(std::move(value)));
  }
  bool binary(binary_t& value) override {
    return entry_ ? entry_->binary(value) : Scalar(Json(std::move(value)));
  }

  bool start_object(std::size_t elements) override {
    ++depth_;
    if (depth_ == 1) root_was_object_ = true;
    if (depth_ == 2 && root_key_ == "domains" && !in_domains_) {
      in_domains_ = saw_domains_ = true;
      return true;
    }
    if (depth_ == 3 && in_domains_) entry_.emplace(kEntryLimits);  // a domain's entry begins
    return !entry_ || Refused(entry_->start_object(elements));
  }
  bool start_array(std::size_t elements) override {
    ++depth_;
    if (depth_ == 3 && in_domains_) entry_.emplace(kEntryLimits);
    return !entry_ || Refused(entry_->start_array(elements));
  }
  bool end_object() override { return Close(true); }
  bool end_array() override { return Close(false); }

  bool key(string_t& name) override {
    if (entry_) return Refused(entry_->key(name));
    if (depth_ == 1) root_key_ = name;
    if (depth_ == 2 && in_domains_) domain_ = std::move(name);
    return true;  // a key inside a top-level value read past
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

 private:
  /// A value outside any entry: a scalar entry (the caller refuses it), or a top-level one.
  bool Scalar(const Json& value) {
    if (depth_ == 2 && in_domains_) return on_entry_(domain_, value);
    return true;
  }

  bool Refused(bool ok) {
    if (!ok) entry_failure_ = entry_->Failure();
    return ok;
  }

  bool Close(bool object) {
    bool keep_going = true;
    if (entry_) {
      keep_going = Refused(object ? entry_->end_object() : entry_->end_array());
      if (depth_ == 3 && keep_going) {  // the entry is whole
        keep_going = on_entry_(domain_, entry_->Root());
        entry_.reset();
      }
    } else if (depth_ == 2 && in_domains_) {
      in_domains_ = false;
    }
    --depth_;
    return keep_going;
  }

  EntryHandler on_entry_;
  int depth_ = 0;         // containers open
  std::string root_key_;  // the top-level key being read
  std::string domain_;    // the domain whose entry is being read
  std::optional<::mtasts::tlsrpt::BoundedTreeBuilder> entry_;  // while an entry is read
  std::string entry_failure_;
  int version_ = 0;
  bool in_domains_ = false;
  bool saw_domains_ = false;
  bool root_was_object_ = false;
};

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
  std::optional<Error> entry_error;
  StateReader reader([&](const std::string& name, const nlohmann::json& entry) {
    auto state = EntryToState(entry);
    if (!state) {
      entry_error = Error{path_ + ": domain " + name + ": " + state.error().message};
      return false;
    }
    out.insert_or_assign(name, std::move(state).value());
    return true;
  });
  try {
    const bool parsed = nlohmann::json::sax_parse(in, &reader);
    if (entry_error) return *entry_error;
    if (!reader.EntryFailure().empty()) return Error{path_ + ": " + reader.EntryFailure()};
    if (!parsed || !reader.RootWasObject()) {
      return Error{path_ + ": not valid JSON; starting without saved state"};
    }
  } catch (const nlohmann::json::exception& e) {
    return Error{path_ + ": " + e.what()};
  }
  if (reader.Version() != kFormatVersion) {
    return Error{path_ + ": unknown state format version; starting without saved state"};
  }
  if (!reader.SawDomains()) return Error{path_ + ": no \"domains\" object"};
  return out;
}

}  // namespace mtasts::agent
