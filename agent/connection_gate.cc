#include "agent/connection_gate.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <stdexcept>

namespace mtasts::agent {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kTimeoutReply =
    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 40\r\n\r\nthe request did not arrive in time; bye\n";
constexpr std::string_view kTooLargeReply =
    "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
    "Content-Type: text/plain\r\nContent-Length: 40\r\n\r\nthe request line and headers are too "
    "big";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// GET or HEAD of /metrics, /-/healthy or /-/ready (any query string).
bool IsOperatorRequest(std::string_view request_line) {
  std::string_view rest;
  if (request_line.rfind("GET ", 0) == 0) {
    rest = request_line.substr(4);
  } else if (request_line.rfind("HEAD ", 0) == 0) {
    rest = request_line.substr(5);
  } else {
    return false;
  }
  const std::string_view target = rest.substr(0, rest.find(' '));
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/metrics" || path == "/-/healthy" || path == "/-/ready";
}

}  // namespace

ConnectionGate::Completeness ConnectionGate::Examine(std::string_view bytes, const Limits& limits,
                                                     bool* priority) {
  const std::size_t crlf = bytes.find("\r\n\r\n");
  const std::size_t lf = bytes.find("\n\n");
  std::size_t head_end = std::string_view::npos;
  if (crlf != std::string_view::npos) head_end = crlf + 4;
  if (lf != std::string_view::npos && (head_end == std::string_view::npos || lf + 2 < head_end)) {
    head_end = lf + 2;
  }
  if (head_end == std::string_view::npos) {
    return bytes.size() > limits.max_head ? Completeness::kHeadTooLarge : Completeness::kPartial;
  }
  if (head_end > limits.max_head) return Completeness::kHeadTooLarge;

  const std::string_view head = bytes.substr(0, head_end);
  std::size_t line_end = head.find('\n');
  if (priority != nullptr) *priority = IsOperatorRequest(Trim(head.substr(0, line_end)));

  // The body announced by Content-Length is gathered here too when it is small; anything else
  // (chunked, a bad or a large length) goes to a worker at once, whose reads keep the deadline.
  std::size_t body = 0;
  while (line_end != std::string_view::npos && line_end + 1 < head.size()) {
    const std::size_t start = line_end + 1;
    line_end = head.find('\n', start);
    const std::string_view line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = Trim(line.substr(0, colon));
    if (IEquals(name, "transfer-encoding")) return Completeness::kComplete;
    if (!IEquals(name, "content-length")) continue;
    const std::string_view value = Trim(line.substr(colon + 1));
    std::size_t length = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc() || end != value.data() + value.size() || length > limits.max_body) {
      return Completeness::kComplete;
    }
    body = std::max(body, length);
  }
  return bytes.size() - head_end >= body ? Completeness::kComplete : Completeness::kPartial;
}

ConnectionGate::ConnectionGate(Limits limits, Dispatch dispatch)
    : limits_(limits), dispatch_(std::move(dispatch)) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    throw std::runtime_error("cannot create the listener's epoll set");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  thread_ = std::thread([this] { Run(); });
}

ConnectionGate::~ConnectionGate() {
  Stop();
  close(epoll_fd_);
  close(wake_fd_);
}

void ConnectionGate::Add(int fd, std::string carry, int served) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      incoming_.push_back({fd, std::move(carry), served});
      const std::uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof one);
      return;
    }
  }
  shutdown(fd, SHUT_RDWR);
  close(fd);
}

void ConnectionGate::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    const std::uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

void ConnectionGate::Run() {
  std::array<epoll_event, 64> events{};
  auto last_expiry = Clock::now();
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd != wake_fd_) {
        OnReadable(fd);
        continue;
      }
      std::uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof count);
      std::vector<Incoming> incoming;
      bool stopped = false;
      {
        std::lock_guard lock(mutex_);
        incoming.swap(incoming_);
        stopped = stopped_;
      }
      for (auto& c : incoming) {
        if (stopped) {
          shutdown(c.fd, SHUT_RDWR);
          close(c.fd);
        } else {
          Admit(c.fd, std::move(c.carry), c.served);
        }
      }
      if (stopped) {
        while (!waiting_.empty()) Close(waiting_.begin()->first, "");
        return;
      }
    }
    if (Clock::now() - last_expiry >= std::chrono::milliseconds(50)) {
      Expire();
      last_expiry = Clock::now();
    }
  }
}

void ConnectionGate::Admit(int fd, std::string carry, int served) {
  if (waiting_.size() >= limits_.max_connections) Evict();
  const auto now = Clock::now();
  if (!carry.empty()) {
    bool priority = false;
    switch (Examine(carry, limits_, &priority)) {
      case Completeness::kComplete:
        dispatch_(Ready{fd, std::move(carry), served, priority});
        return;
      case Completeness::kHeadTooLarge:
        send(fd, kTooLargeReply.data(), kTooLargeReply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        shutdown(fd, SHUT_RDWR);
        close(fd);
        return;
      case Completeness::kPartial: break;
    }
  }
  const auto deadline = now + (carry.empty() ? limits_.idle_timeout : limits_.request_timeout);
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    shutdown(fd, SHUT_RDWR);
    close(fd);
    return;
  }
  waiting_[fd] = Waiting{std::move(carry), served, now, deadline};
  // A client usually sends its request right after connecting: read it now, so that a burst of
  // connections with their requests already in flight does not fill the gate and evict itself.
  OnReadable(fd);
}

void ConnectionGate::OnReadable(int fd) {
  auto it = waiting_.find(fd);
  if (it == waiting_.end()) return;
  Waiting& w = it->second;
  std::array<char, 8192> buf{};
  const ssize_t got = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    Close(fd, "");
    return;
  }
  if (got < 0) return;
  if (w.bytes.empty()) w.deadline = Clock::now() + limits_.request_timeout;
  w.bytes.append(buf.data(), static_cast<std::size_t>(got));
  bool priority = false;
  switch (Examine(w.bytes, limits_, &priority)) {
    case Completeness::kPartial: return;
    case Completeness::kHeadTooLarge: Close(fd, kTooLargeReply); return;
    case Completeness::kComplete: {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      Ready ready{fd, std::move(w.bytes), w.served, priority};
      waiting_.erase(it);
      dispatch_(std::move(ready));
      return;
    }
  }
}

void ConnectionGate::Expire() {
  const auto now = Clock::now();
  std::vector<int> expired;
  for (const auto& [fd, w] : waiting_) {
    if (w.deadline <= now) expired.push_back(fd);
  }
  for (int fd : expired) Close(fd, waiting_[fd].bytes.empty() ? "" : kTimeoutReply);
}

void ConnectionGate::Evict() {
  auto oldest = std::min_element(
      waiting_.begin(), waiting_.end(),
      [](const auto& a, const auto& b) { return a.second.since < b.second.since; });
  if (oldest != waiting_.end()) {
    Close(oldest->first, oldest->second.bytes.empty() ? "" : kTimeoutReply);
  }
}

void ConnectionGate::Close(int fd, std::string_view reply) {
  if (!reply.empty()) send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  shutdown(fd, SHUT_RDWR);
  close(fd);
  waiting_.erase(fd);
}

}  // namespace mtasts::agent
