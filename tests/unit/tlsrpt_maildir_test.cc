// The Maildir reader (README "Receiving reports by mail"): each pass over new/ against a real
// Receiver and its SQLite store in a temp dir; the watcher through the Receiver, woken by inotify.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/result_store.h"
#include "agent/tlsrpt/maildir.h"
#include "agent/tlsrpt/receiver.h"
#include "tests/unit/tlsrpt_test_data.h"

namespace mtasts::agent {
namespace {

namespace fs = std::filesystem;
using mtasts::test::ReadTlsRptTestData;
using tlsrpt::MaildirPass;
using tlsrpt::MaildirWalker;

/// The names in `dir` (sorted), or nothing when it does not exist.
std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void Write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// The sample message with another report-id: a report the store has not seen.
std::string Message(const std::string& id) {
  // The report is a base64 gzip attachment; a bare JSON report is a message too (`tlsrpt ingest`).
  std::string text = ReadTlsRptTestData("google-sts.json");
  const std::string old_id = "2026-03-02T00:00:00Z_example.com";
  text.replace(text.find(old_id), old_id.size(), id);
  return text;
}

class MaildirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tlsrpt-maildir-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    maildir_ = dir_ / "Maildir";
    auto prepared = tlsrpt::PrepareMaildir(maildir_.string());
    ASSERT_TRUE(prepared.has_value()) << prepared.error().message;
    settings_.retention = std::chrono::hours(24 * 3650);  // the samples are from March 2026
  }
  void TearDown() override {
    if (receiver_) receiver_->Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// A receiver watching example.com over `store` (default: dir_/tlsrpt.sqlite).
  void StartReceiver(const std::string& store = "") {
    if (receiver_) receiver_->Stop();
    receiver_ = std::make_unique<tlsrpt::Receiver>(
        tlsrpt::Receiver::Options{
            .path = store.empty() ? (dir_ / "tlsrpt.sqlite").string() : store,
            .poll = std::chrono::milliseconds(50),
            .maildir_rescan = std::chrono::hours(1)},  // inotify, not the rescan, in these tests
        results_);
    receiver_->Configure(settings_, {"example.com"});
    receiver_->Start();
  }

  MaildirWalker Walker(std::size_t max_message = MaildirWalker::Options{}.max_message,
                       std::size_t max_per_pass = MaildirWalker::Options{}.max_per_pass) {
    return MaildirWalker(
        {.dir = maildir_.string(), .max_message = max_message, .max_per_pass = max_per_pass},
        [this](std::string_view message) {
          ++received_;
          if (on_receive_) on_receive_();
          return receiver_->Receive(message, mtasts::tlsrpt::InputKind::kMessage);
        },
        [this](std::string_view reason) { receiver_->CountRejected(reason); });
  }

  std::uint64_t Rejected(const std::string& reason) {
    const auto snapshot = results_.Get();
    auto it = snapshot->tlsrpt.rejected.find(reason);
    return it == snapshot->tlsrpt.rejected.end() ? 0 : it->second;
  }

  std::int64_t StoredReports() {
    receiver_->Refresh();
    const auto snapshot = results_.Get();
    auto it = snapshot->tlsrpt.domains.find("example.com");
    return it == snapshot->tlsrpt.domains.end() ? 0 : it->second.reports;
  }

  fs::path dir_;
  fs::path maildir_;
  config::TlsRptSettings settings_;
  ResultStore results_;
  std::unique_ptr<tlsrpt::Receiver> receiver_;
  int received_ = 0;
  std::function<void()> on_receive_;
};

TEST_F(MaildirTest, PrepareMakesTheFoldersAndNamesAnUnusablePath) {
  for (const char* sub : {"new", "cur", "tmp", ".rejected/new", ".rejected/cur", ".rejected/tmp"}) {
    EXPECT_TRUE(fs::is_directory(maildir_ / sub)) << sub;
  }
  Write(dir_ / "file", "x");
  auto refused = tlsrpt::PrepareMaildir((dir_ / "file").string());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            "tlsrpt.maildir: " + (dir_ / "file").string() + ": not a directory");
  fs::remove(maildir_ / "cur");
  Write(maildir_ / "cur", "x");
  refused = tlsrpt::PrepareMaildir(maildir_.string());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            "tlsrpt.maildir: " + (maildir_ / "cur").string() + ": not a directory");
}

TEST_F(MaildirTest, AStoredReportMovesToCurWithItsInfo) {
  StartReceiver();
  Write(maildir_ / "new" / "1772500000.M1P1.mx", ReadTlsRptTestData("message-rfc8460.eml"));
  Write(maildir_ / "new" / "1772500001.M2P1.mx", ReadTlsRptTestData("message-rfc8460.eml"));
  Write(maildir_ / "tmp" / "1772500002.M3P1.mx", Message("in-tmp"));  // still being delivered
  Write(maildir_ / "new" / ".hidden", Message("dot-file"));
  const MaildirPass pass = Walker().Pass();
  EXPECT_EQ(pass.stored, 2) << "stored, then already stored";
  EXPECT_EQ(pass.rejected, 0);
  EXPECT_FALSE(pass.more);
  EXPECT_EQ(Names(maildir_ / "cur"),
            (std::vector<std::string>{"1772500000.M1P1.mx:2,S", "1772500001.M2P1.mx:2,S"}));
  EXPECT_EQ(Names(maildir_ / "new"), std::vector<std::string>{".hidden"});
  EXPECT_EQ(Names(maildir_ / "tmp"), std::vector<std::string>{"1772500002.M3P1.mx"});
  EXPECT_EQ(received_, 2) << "tmp/ and dot files are never read";
  EXPECT_EQ(StoredReports(), 1);
}

TEST_F(MaildirTest, WhatIsNoReportForAWatchedDomainIsRejected) {
  StartReceiver();
  Write(maildir_ / "new" / "no-report", ReadTlsRptTestData("message-no-report.eml"));
  Write(maildir_ / "new" / "unwatched", ReadTlsRptTestData("rfc8460-appendix-b.json"));
  Write(maildir_ / "new" / "broken", "{\"organization-name\": 1}");
  const MaildirPass pass = Walker().Pass();
  EXPECT_EQ(pass.rejected, 3);
  EXPECT_EQ(Names(maildir_ / ".rejected" / "cur"),
            (std::vector<std::string>{"broken:2,", "no-report:2,", "unwatched:2,"}));
  EXPECT_TRUE(Names(maildir_ / "new").empty());
  EXPECT_TRUE(Names(maildir_ / "cur").empty());
  EXPECT_EQ(Rejected("unwatched"), 1);
  EXPECT_EQ(Rejected("malformed"), 2);
  EXPECT_EQ(StoredReports(), 0);
}

TEST_F(MaildirTest, AMessageStaysInNewWhileTheStoreIsUnavailable) {
  StartReceiver("/proc/self/no-such-dir/tlsrpt.sqlite");
  Write(maildir_ / "new" / "a", Message("wait-1"));
  Write(maildir_ / "new" / "b", Message("wait-2"));
  MaildirPass pass = Walker().Pass();
  EXPECT_EQ(pass.deferred, 1) << "the pass stops at the first: the others would wait too";
  EXPECT_EQ(received_, 1);
  EXPECT_EQ(Names(maildir_ / "new"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(Names(maildir_ / "cur").empty());
  EXPECT_TRUE(Names(maildir_ / ".rejected" / "cur").empty());

  StartReceiver();  // the store is back: the next pass takes both
  pass = Walker().Pass();
  EXPECT_EQ(pass.stored, 2);
  EXPECT_EQ(Names(maildir_ / "cur"), (std::vector<std::string>{"a:2,S", "b:2,S"}));
  EXPECT_EQ(StoredReports(), 2);
}

TEST_F(MaildirTest, AnOversizeMessageIsRejectedUnread) {
  StartReceiver();
  // Sparse: 4 MiB and one byte, and nothing written.
  Write(maildir_ / "new" / "huge", "");
  fs::resize_file(maildir_ / "new" / "huge", (std::size_t{4} << 20) + 1);
  Write(maildir_ / "new" / "small", std::string(2048, 'x'));
  const MaildirPass pass = Walker(1024).Pass();
  EXPECT_EQ(pass.rejected, 2);
  EXPECT_EQ(received_, 0) << "never handed on";
  EXPECT_EQ(Rejected("too_large"), 2);
  EXPECT_EQ(Names(maildir_ / ".rejected" / "cur"),
            (std::vector<std::string>{"huge:2,", "small:2,"}));
}

TEST_F(MaildirTest, AMessageVanishingBetweenListingAndOpeningIsSkipped) {
  StartReceiver();
  Write(maildir_ / "new" / "a", Message("gone-1"));
  Write(maildir_ / "new" / "b", Message("gone-2"));
  // Another reader takes both while the first is being received.
  on_receive_ = [this] {
    fs::remove(maildir_ / "new" / "a");
    fs::remove(maildir_ / "new" / "b");
  };
  const MaildirPass pass = Walker().Pass();
  EXPECT_EQ(received_, 1);
  EXPECT_EQ(pass.skipped, 2) << "one not moved (gone), one not opened (gone)";
  EXPECT_EQ(pass.rejected, 0);
  EXPECT_EQ(Rejected("malformed"), 0);
  EXPECT_TRUE(Names(maildir_ / "cur").empty());
  EXPECT_TRUE(Names(maildir_ / ".rejected" / "cur").empty());
}

TEST_F(MaildirTest, SymbolicLinksAndOtherNonFilesAreNotFollowed) {
  StartReceiver();
  // A link to a valid report the daemon may read: it must not be read through the Maildir.
  Write(dir_ / "outside.json", Message("via-link"));
  fs::create_symlink(dir_ / "outside.json", maildir_ / "new" / "link");
  ASSERT_EQ(mkfifo((maildir_ / "new" / "fifo").c_str(), 0600), 0);  // would block a read
  fs::create_directory(maildir_ / "new" / "dir");
  const MaildirPass pass = Walker().Pass();
  EXPECT_EQ(pass.rejected, 3);
  EXPECT_EQ(received_, 0);
  EXPECT_EQ(Rejected("malformed"), 3);
  EXPECT_TRUE(fs::is_symlink(maildir_ / ".rejected" / "cur" / "link:2,")) << "the link itself";
  EXPECT_TRUE(fs::exists(dir_ / "outside.json"));
  EXPECT_EQ(StoredReports(), 0);
}

TEST_F(MaildirTest, APassIsBounded) {
  StartReceiver();
  for (int i = 0; i < 5; ++i) {
    Write(maildir_ / "new" / ("m" + std::to_string(i)), Message("bounded-" + std::to_string(i)));
  }
  MaildirWalker walker = Walker(MaildirWalker::Options{}.max_message, 2);
  MaildirPass pass = walker.Pass();
  EXPECT_EQ(pass.stored, 2);
  EXPECT_TRUE(pass.more);
  pass = walker.Pass();
  EXPECT_EQ(pass.stored, 2);
  EXPECT_TRUE(pass.more);
  pass = walker.Pass();
  EXPECT_EQ(pass.stored, 1);
  EXPECT_FALSE(pass.more);
  EXPECT_EQ(Names(maildir_ / "cur").size(), 5U);
}

// The daemon's path: the Receiver starts the watcher with tlsrpt.maildir; a message waiting at
// start is taken by the first pass, one delivered later (tmp/, then a rename into new/) by the
// inotify event (the rescan is an hour away).
TEST_F(MaildirTest, TheReceiverReadsTheMaildirItIsConfiguredWith) {
  Write(maildir_ / "new" / "early", Message("early"));
  settings_.maildir = maildir_.string();
  StartReceiver();
  const auto wait_for_cur = [this](std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (Names(maildir_ / "cur").size() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  wait_for_cur(1);
  ASSERT_EQ(Names(maildir_ / "cur"), std::vector<std::string>{"early:2,S"});
  Write(maildir_ / "tmp" / "late", Message("late"));
  fs::rename(maildir_ / "tmp" / "late", maildir_ / "new" / "late");
  wait_for_cur(2);
  EXPECT_EQ(Names(maildir_ / "cur"), (std::vector<std::string>{"early:2,S", "late:2,S"}));
  EXPECT_EQ(StoredReports(), 2);

  // Reconfigured without a Maildir: the reader stops, and what comes later stays in new/.
  settings_.maildir.clear();
  receiver_->Configure(settings_, {"example.com"});
  Write(maildir_ / "new" / "after", Message("after"));
  receiver_->Stop();
  EXPECT_EQ(Names(maildir_ / "new"), std::vector<std::string>{"after"});
}

}  // namespace
}  // namespace mtasts::agent
