#include "collectors/dns/cares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace mtasts::dns {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string NormalizeHost(const char* host) {
  std::string out = Lower(host == nullptr ? "" : host);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

/// The one place c-ares statuses become words.
std::string DescribeStatus(int status) {
  switch (status) {
    case ARES_ESERVFAIL: return "the DNS server answered SERVFAIL";
    case ARES_EREFUSED: return "the DNS server refused the query (REFUSED)";
    case ARES_ETIMEOUT: return "no answer from the DNS server (timed out)";
    // c-ares 1.18 also ends a query with ECONNREFUSED when every try met a SERVFAIL, REFUSED or
    // NOTIMP answer, or a TCP connection that failed: it cannot tell these apart for us.
    case ARES_ECONNREFUSED:
      return "the DNS server failed the query (SERVFAIL, REFUSED or NOTIMP) or refused the "
             "connection";
    case ARES_EFORMERR: return "the DNS server answered FORMERR";
    case ARES_ENOTIMP: return "the DNS server answered NOTIMP";
    case ARES_EBADRESP: return "malformed answer from the DNS server";
    case ARES_EDESTRUCTION: return "the resolver was shut down";
    case ARES_ECANCELLED: return "the query was cancelled";
    default: return ares_strerror(status);
  }
}

template <class T>
struct Pending {
  explicit Pending(std::string what_) : what(std::move(what_)) {}
  AnswerSlot<T> answer = std::make_shared<std::optional<Result<T>>>();
  std::string what;  // "TXT _mta-sts.example.com", for messages
};

/// Maps a query status to an early result: NXDOMAIN/NODATA answers or an error. Returns
/// nothing when the status is success and the answer must be parsed.
template <class T>
std::optional<Result<T>> EarlyOutcome(int status, const std::string& what) {
  if (status == ARES_SUCCESS) return std::nullopt;
  if (status == ARES_ENOTFOUND) return Result<T>(T{Presence::kNxDomain, {}});
  if (status == ARES_ENODATA) return Result<T>(T{Presence::kNoData, {}});
  return Result<T>(Error{what + ": " + DescribeStatus(status)});
}

void OnTxt(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<Pending<TxtAnswer>> pending(static_cast<Pending<TxtAnswer>*>(arg));
  if (auto early = EarlyOutcome<TxtAnswer>(status, pending->what)) {
    pending->answer->emplace(std::move(*early));
    return;
  }
  ares_txt_ext* txt = nullptr;
  int parsed = ares_parse_txt_reply_ext(abuf, alen, &txt);
  if (auto early = EarlyOutcome<TxtAnswer>(parsed, pending->what)) {
    pending->answer->emplace(std::move(*early));
    return;
  }
  TxtAnswer answer{Presence::kFound, {}};
  // RFC 8461 §3.1 / RFC 7208 §3.3: a record of several character-strings is their
  // concatenation, with nothing added between them.
  for (ares_txt_ext* part = txt; part != nullptr; part = part->next) {
    std::string text(reinterpret_cast<const char*>(part->txt), part->length);
    if (part->record_start != 0 || answer.records.empty()) {
      answer.records.push_back(std::move(text));
    } else {
      answer.records.back() += text;
    }
  }
  ares_free_data(txt);
  pending->answer->emplace(std::move(answer));
}

void OnMx(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<Pending<MxAnswer>> pending(static_cast<Pending<MxAnswer>*>(arg));
  if (auto early = EarlyOutcome<MxAnswer>(status, pending->what)) {
    pending->answer->emplace(std::move(*early));
    return;
  }
  ares_mx_reply* mx = nullptr;
  int parsed = ares_parse_mx_reply(abuf, alen, &mx);
  if (auto early = EarlyOutcome<MxAnswer>(parsed, pending->what)) {
    pending->answer->emplace(std::move(*early));
    return;
  }
  MxAnswer answer{Presence::kFound, {}};
  for (ares_mx_reply* r = mx; r != nullptr; r = r->next) {
    answer.records.push_back({r->priority, NormalizeHost(r->host)});
  }
  ares_free_data(mx);
  std::sort(answer.records.begin(), answer.records.end(), [](const auto& a, const auto& b) {
    return std::tie(a.preference, a.host) < std::tie(b.preference, b.host);
  });
  pending->answer->emplace(std::move(answer));
}

void OnTlsa(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<Pending<TlsaAnswer>> pending(static_cast<Pending<TlsaAnswer>*>(arg));
  // ares_send reports only transport-level trouble (and SERVFAIL/REFUSED from every server);
  // NXDOMAIN and NODATA arrive as ARES_SUCCESS with the message, judged by the parser.
  if (status != ARES_SUCCESS || abuf == nullptr || alen <= 0) {
    pending->answer->emplace(Error{
        pending->what + ": " + DescribeStatus(status == ARES_SUCCESS ? ARES_EBADRESP : status)});
    return;
  }
  auto parsed = ParseTlsaResponse(abuf, static_cast<std::size_t>(alen));
  if (!parsed) {
    pending->answer->emplace(Error{pending->what + ": " + parsed.error().message});
    return;
  }
  pending->answer->emplace(std::move(parsed));
}

/// A and AAAA are two queries; the second to finish combines both into one answer.
struct AddressPair {
  AnswerSlot<AddressAnswer> answer = std::make_shared<std::optional<Result<AddressAnswer>>>();
  std::string name;
  std::optional<Result<AddressAnswer>> v4;
  std::optional<Result<AddressAnswer>> v6;

  void Finish() {
    const Result<AddressAnswer>& a = *v4;
    const Result<AddressAnswer>& b = *v6;
    bool a_found = a.has_value() && a->presence == Presence::kFound;
    bool b_found = b.has_value() && b->presence == Presence::kFound;
    if (a_found || b_found) {
      // One family answering is enough to connect; the guard judges what is known.
      AddressAnswer merged{Presence::kFound, {}};
      if (a_found) merged.addresses = a->addresses;
      if (b_found)
        merged.addresses.insert(merged.addresses.end(), b->addresses.begin(), b->addresses.end());
      answer->emplace(std::move(merged));
    } else if (!a.has_value()) {
      answer->emplace(a);
    } else if (!b.has_value()) {
      answer->emplace(b);
    } else {
      bool nx = a->presence == Presence::kNxDomain || b->presence == Presence::kNxDomain;
      answer->emplace(AddressAnswer{nx ? Presence::kNxDomain : Presence::kNoData, {}});
    }
  }
};

struct AddressQuery {
  std::shared_ptr<AddressPair> pair;
  bool v6 = false;
};

void OnAddress(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<AddressQuery> query(static_cast<AddressQuery*>(arg));
  const std::string what = std::string(query->v6 ? "AAAA " : "A ") + query->pair->name;
  std::optional<Result<AddressAnswer>> outcome = EarlyOutcome<AddressAnswer>(status, what);
  if (!outcome) {
    hostent* host = nullptr;
    int parsed = query->v6 ? ares_parse_aaaa_reply(abuf, alen, &host, nullptr, nullptr)
                           : ares_parse_a_reply(abuf, alen, &host, nullptr, nullptr);
    outcome = EarlyOutcome<AddressAnswer>(parsed, what);
    if (!outcome) {
      AddressAnswer answer{Presence::kFound, {}};
      for (char** p = host->h_addr_list; p != nullptr && *p != nullptr; ++p) {
        if (query->v6) {
          std::array<std::uint8_t, 16> bytes{};
          std::memcpy(bytes.data(), *p, bytes.size());
          answer.addresses.push_back(net::IpAddress::V6(bytes));
        } else {
          std::array<std::uint8_t, 4> bytes{};
          std::memcpy(bytes.data(), *p, bytes.size());
          answer.addresses.push_back(net::IpAddress::V4(bytes));
        }
      }
      ares_free_hostent(host);
      if (answer.addresses.empty()) answer.presence = Presence::kNoData;
      outcome = std::move(answer);
    }
  }
  AddressPair& pair = *query->pair;
  // Both callbacks run on the thread that drives the channel: no lock.
  (query->v6 ? pair.v6 : pair.v4) = std::move(outcome);
  if (pair.v4 && pair.v6) pair.Finish();
}

/// Sends one query on `channel`; without a channel (`status` says why), the callback answers at
/// once with that failure.
void Send(ares_channel channel, int status, const std::string& name, int type,
          ares_callback callback, void* arg) {
  if (channel == nullptr) return callback(arg, status, 0, nullptr, 0);
  ares_query(channel, name.c_str(), ns_c_in, type, callback, arg);
}

/// Sends one query (`kind` "TXT", "MX") whose callback (OnTxt, OnMx) parses the answer into a
/// T; `driver` is the channel the waiting thread drives.
template <class T>
Lookup<T> SendParsed(ares_channel channel, int status, std::shared_ptr<LookupDriver> driver,
                     const char* kind, const std::string& name, int type, ares_callback callback) {
  auto* pending = new Pending<T>(kind + (" " + name));
  auto answer = pending->answer;
  Send(channel, status, name, type, callback, pending);
  return {std::move(answer), std::move(driver)};
}

// c-ares 1.18 writes TCP queries with writev(2), which raises SIGPIPE when the server has reset
// the connection (a DNS server or forwarder that closes a TCP retry): the whole process would
// end unless it ignores SIGPIPE, as the daemon does but a program using this library need not.
// Its sockets go through these instead; the same calls, writes with MSG_NOSIGNAL (EPIPE, which
// c-ares handles as a failed connection). With these, c-ares leaves configuring a new socket
// to us: non-blocking (it expects every call to return at once), and TCP_NODELAY as it sets.
ares_socket_t OpenSocket(int domain, int type, int protocol, void* /*user*/) {
  const int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd >= 0 && type == SOCK_STREAM) {
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  return fd;
}
int CloseSocket(ares_socket_t fd, void* /*user*/) {
  return close(fd);
}
int ConnectSocket(ares_socket_t fd, const sockaddr* address, ares_socklen_t length,
                  void* /*user*/) {
  return connect(fd, address, length);
}
ares_ssize_t ReceiveFrom(ares_socket_t fd, void* buffer, std::size_t length, int flags,
                         sockaddr* from, ares_socklen_t* from_length, void* /*user*/) {
  return recvfrom(fd, buffer, length, flags, from, from_length);
}
ares_ssize_t SendWithoutSignal(ares_socket_t fd, const iovec* parts, int count, void* /*user*/) {
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(parts);  // sendmsg does not write through it
  message.msg_iovlen = static_cast<std::size_t>(count);
  return sendmsg(fd, &message, MSG_NOSIGNAL);
}
constexpr ares_socket_functions kSocketFunctions = {OpenSocket, CloseSocket, ConnectSocket,
                                                    ReceiveFrom, SendWithoutSignal};

/// "IP", "IP:PORT" or "[IPv6]:PORT" to c-ares' CSV form; throws naming the bad value.
std::string ServerToCsvEntry(const std::string& server) {
  std::string host = server;
  std::string port;
  if (!server.empty() && server.front() == '[') {
    auto close = server.find(']');
    if (close == std::string::npos)
      throw std::runtime_error("DNS server \"" + server + "\": missing ']'");
    host = server.substr(1, close - 1);
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':')
        throw std::runtime_error("DNS server \"" + server + "\": expected ':PORT' after ']'");
      port = server.substr(close + 2);
    }
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    auto colon = server.find(':');
    host = server.substr(0, colon);
    port = server.substr(colon + 1);
  }
  auto address = net::IpAddress::Parse(host);
  if (!address) {
    throw std::runtime_error("DNS server \"" + server + "\" is not an IP address (IP[:PORT])");
  }
  if (!port.empty() || server.find(']') != std::string::npos) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      throw std::runtime_error("DNS server \"" + server + "\": port \"" + port +
                               "\" is not a number from 1 to 65535");
    }
  }
  std::string entry = address->is_v4() ? address->ToString() : "[" + address->ToString() + "]";
  return entry + ":" + (port.empty() ? "53" : port);
}

}  // namespace

/// Channels that served a check and were reset, kept for the next: setting a channel up
/// (`ares_dup`: the options, its 3,072 query-table list heads, a read of /dev/urandom) and
/// tearing it down cost 0.09 M instructions a check (bench/NOTES.md). Shared by the resolver and
/// its channels, which may outlive it (a reload replaces the resolver while checks run).
class CaresResolver::ChannelPool {
 public:
  explicit ChannelPool(ares_channel model) {
    if (ares_get_servers_ports(model, &servers_) != ARES_SUCCESS) servers_ = nullptr;
  }
  ~ChannelPool() {
    for (ares_channel channel : idle_) ares_destroy(channel);
    if (servers_ != nullptr) ares_free_data(servers_);
  }
  ChannelPool(const ChannelPool&) = delete;
  ChannelPool& operator=(const ChannelPool&) = delete;

  /// A reset channel, or nullptr when none waits.
  ares_channel Take() {
    const std::lock_guard lock(mutex_);
    if (idle_.empty()) return nullptr;
    ares_channel channel = idle_.back();
    idle_.pop_back();
    return channel;
  }

  /// Keeps `channel` for another check if nothing is pending on it: setting its servers again
  /// (c-ares refuses while a query is pending) closes its sockets and forgets what it learnt of
  /// the servers, so the next check starts as on a new channel, from a new socket and port.
  /// Anything else is destroyed, which fails what is still pending, once.
  void Give(ares_channel channel) {
    if (servers_ != nullptr && ares_set_servers_ports(channel, servers_) == ARES_SUCCESS) {
      const std::lock_guard lock(mutex_);
      if (idle_.size() < kMaxIdle) {
        idle_.push_back(channel);
        return;
      }
    }
    ares_destroy(channel);
  }

  std::size_t Idle() {
    const std::lock_guard lock(mutex_);
    return idle_.size();
  }

 private:
  // About 75 KiB each (c-ares 1.18's query tables), held between rounds. A check's thread gives
  // its channel back just before it takes one for its next check, so a few cover any number of
  // threads; the burst at a round's start sets up new ones.
  static constexpr std::size_t kMaxIdle = 8;
  ares_addr_port_node* servers_ = nullptr;  // the configured servers, read from the template
  std::mutex mutex_;
  std::vector<ares_channel> idle_;
};

/// One c-ares channel: a check's, or a lookup's own. c-ares 1.18 handles a failed connection to
/// a server by failing over every query pending on that server's channel, so on a channel shared
/// between domains one hostile domain (a truncated answer whose TCP retry is refused, say) would
/// turn the lookups of every other domain checked at the same time into errors. Within one check
/// that failure is the domain's own (its records, its MX hosts' TLSA), and its lookups share one
/// UDP socket (ARES_FLAG_STAYOPEN keeps it open between them) instead of five or six. Used by one
/// thread at a time (c-ares 1.18 channels are not thread-safe): the check's, or the lookup's
/// caller's. When the check and the last of its lookups are done, its sockets are closed and the
/// channel goes back to the pool, reset (ChannelPool::Give), or is destroyed.
class CaresResolver::Channel final : public LookupDriver {
 public:
  Channel(ares_channel handle, int status, std::shared_ptr<ChannelPool> pool)
      : handle_(handle), status_(status), pool_(std::move(pool)) {}
  ~Channel() override {
    if (handle_ != nullptr) pool_->Give(handle_);
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  Channel(Channel&&) = delete;
  Channel& operator=(Channel&&) = delete;

  ares_channel Handle() const { return handle_; }
  int Status() const { return status_; }  // why there is no handle

  void RunUntil(const std::function<bool()>& done,
                std::chrono::steady_clock::time_point until) override {
    if (handle_ == nullptr) return;  // every lookup on it was answered with the reason at once
    for (bool first = true; !done(); first = false) {
      timeval retry{};
      if (ares_timeout(handle_, nullptr, &retry) == nullptr) return;  // no query pending
      const auto now = std::chrono::steady_clock::now();
      if (!first && now >= until) return;
      std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> sockets{};
      const int bitmask = ares_getsock(handle_, sockets.data(), ARES_GETSOCK_MAXNUM);
      std::array<pollfd, ARES_GETSOCK_MAXNUM> fds{};
      nfds_t count = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bitmask, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bitmask, i)) events |= POLLOUT;
        if (events != 0) fds[count++] = {sockets[static_cast<std::size_t>(i)], events, 0};
      }
      // Until the channel's next retry or the deadline, whichever is first; once the deadline
      // has passed, a look at what has already arrived (an answer that came in while the
      // thread was fetching the policy is still taken).
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                            std::max(until - now, std::chrono::steady_clock::duration::zero()))
                            .count();
      const long long to_retry = retry.tv_sec * 1000LL + (retry.tv_usec + 999) / 1000;
      const int wait = static_cast<int>(std::min<long long>(left, to_retry));
      const int ready = poll(fds.data(), count, wait);
      if (ready < 0 && errno != EINTR) return;  // the lookups end by the caller's deadline
      for (nfds_t i = 0; i < count; ++i) {
        if (fds[i].revents == 0) continue;
        const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (fds[i].revents & POLLOUT) != 0;
        ares_process_fd(handle_, readable ? fds[i].fd : ARES_SOCKET_BAD,
                        writable ? fds[i].fd : ARES_SOCKET_BAD);
      }
      ares_process_fd(handle_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // retries and timeouts due
    }
  }

 private:
  ares_channel handle_;
  int status_;
  std::shared_ptr<ChannelPool> pool_;
};

/// One check's view of the resolver: every lookup through it goes out on the check's channel.
class CaresResolver::CheckView final : public Resolver {
 public:
  CheckView(CaresResolver& parent, std::shared_ptr<Channel> channel)
      : parent_(parent), channel_(std::move(channel)) {}

  Lookup<TxtAnswer> Txt(const std::string& name) override {
    return parent_.StartTxt(name, channel_);
  }
  Lookup<MxAnswer> Mx(const std::string& name) override { return parent_.StartMx(name, channel_); }
  Lookup<AddressAnswer> Addresses(const std::string& name) override {
    return parent_.StartAddresses(name, channel_);
  }
  Lookup<TlsaAnswer> Tlsa(const std::string& name) override {
    return parent_.StartTlsa(name, channel_);
  }
  std::unique_ptr<Resolver> ForCheck() override { return parent_.ForCheck(); }

 private:
  CaresResolver& parent_;
  std::shared_ptr<Channel> channel_;
};

CaresResolver::CaresResolver(const ResolverOptions& options) {
  static const int kLibraryStatus = ares_library_init(ARES_LIB_INIT_ALL);
  if (kLibraryStatus != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(kLibraryStatus));
  }
  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  // No search list, no hosts file: names are asked exactly as given (the SSRF guard relies on it).
  // STAYOPEN: a check's lookups reuse its socket between them; the channel closes it at the end.
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS | ARES_FLAG_STAYOPEN;
  opts.timeout = static_cast<int>(options.try_timeout.count());
  opts.tries = options.tries;
  char lookups[] = "b";
  opts.lookups = lookups;
  int status = ares_init_options(&template_, &opts, mask);
  if (status != ARES_SUCCESS) {
    throw std::runtime_error(std::string("c-ares: cannot start a resolver: ") +
                             ares_strerror(status));
  }
  if (!options.servers.empty()) {
    std::string csv;
    for (const auto& server : options.servers) {
      if (!csv.empty()) csv += ",";
      csv += ServerToCsvEntry(server);
    }
    status = ares_set_servers_ports_csv(template_, csv.c_str());
    if (status != ARES_SUCCESS) {
      ares_destroy(template_);
      throw std::runtime_error("c-ares: cannot use DNS servers \"" + csv +
                               "\": " + ares_strerror(status));
    }
  }
  pool_ = std::make_shared<ChannelPool>(template_);
}

CaresResolver::~CaresResolver() {
  ares_destroy(template_);
}

std::shared_ptr<CaresResolver::Channel> CaresResolver::NewChannel() {
  ares_channel channel = pool_->Take();
  int status = ARES_SUCCESS;
  if (channel == nullptr) {
    // No lock: ares_dup only reads the template (its options and servers), which nothing
    // changes after the constructor.
    status = ares_dup(&channel, template_);
    if (status == ARES_SUCCESS) {
      ares_set_socket_functions(channel, &kSocketFunctions, nullptr);
    } else {
      channel = nullptr;
    }
  }
  return std::make_shared<Channel>(channel, status, pool_);
}

std::size_t CaresResolver::IdleChannels() const {
  return pool_->Idle();
}

std::unique_ptr<Resolver> CaresResolver::ForCheck() {
  return std::make_unique<CheckView>(*this, NewChannel());
}

// A lookup asked outside a check gets a channel of its own.
Lookup<TxtAnswer> CaresResolver::Txt(const std::string& name) {
  return StartTxt(name, NewChannel());
}
Lookup<MxAnswer> CaresResolver::Mx(const std::string& name) {
  return StartMx(name, NewChannel());
}
Lookup<AddressAnswer> CaresResolver::Addresses(const std::string& name) {
  return StartAddresses(name, NewChannel());
}
Lookup<TlsaAnswer> CaresResolver::Tlsa(const std::string& name) {
  return StartTlsa(name, NewChannel());
}

// Each Start* sends its query at once from the caller's thread (c-ares may also answer at once,
// with a failure, by calling the callback before it returns).
Lookup<TxtAnswer> CaresResolver::StartTxt(const std::string& name,
                                          std::shared_ptr<Channel> channel) {
  ares_channel handle = channel->Handle();
  const int status = channel->Status();
  return SendParsed<TxtAnswer>(handle, status, std::move(channel), "TXT", name, ns_t_txt, OnTxt);
}

Lookup<MxAnswer> CaresResolver::StartMx(const std::string& name, std::shared_ptr<Channel> channel) {
  ares_channel handle = channel->Handle();
  const int status = channel->Status();
  return SendParsed<MxAnswer>(handle, status, std::move(channel), "MX", name, ns_t_mx, OnMx);
}

Lookup<AddressAnswer> CaresResolver::StartAddresses(const std::string& name,
                                                    std::shared_ptr<Channel> channel) {
  // A and AAAA of one name share a channel: they stand or fall together anyway.
  auto pair = std::make_shared<AddressPair>();
  pair->name = name;
  auto answer = pair->answer;
  Send(channel->Handle(), channel->Status(), name, ns_t_a, OnAddress,
       new AddressQuery{pair, false});
  Send(channel->Handle(), channel->Status(), name, ns_t_aaaa, OnAddress,
       new AddressQuery{pair, true});
  return {std::move(answer), std::move(channel)};
}

Lookup<TlsaAnswer> CaresResolver::StartTlsa(const std::string& name,
                                            std::shared_ptr<Channel> channel) {
  auto* pending = new Pending<TlsaAnswer>("TLSA " + name);
  auto answer = pending->answer;
  unsigned char* query = nullptr;
  int length = 0;
  constexpr int kTypeTlsa = 52;
  constexpr int kUdpSize = 1232;  // EDNS(0): the DNS flag day 2020 size
  int status = ares_create_query(name.c_str(), ns_c_in, kTypeTlsa, 0, 1, &query, &length, kUdpSize);
  if (status != ARES_SUCCESS || length < 12 + 11) {
    if (query != nullptr) ares_free_string(query);
    pending->answer->emplace(Error{pending->what + ": " + DescribeStatus(status)});
    delete pending;
    return {std::move(answer), std::move(channel)};
  }
  // c-ares 1.18 has no API for these bits: AD in the header asks a validating resolver to
  // report validation (RFC 6840 §5.7); DO is the first bit of the OPT record's TTL, which
  // ares_create_query appends last (TTL, then RDLENGTH 0).
  query[3] |= 0x20;
  query[length - 4] |= 0x80;
  if (channel->Handle() == nullptr) {
    OnTlsa(pending, channel->Status(), 0, nullptr, 0);
  } else {
    ares_send(channel->Handle(), query, length, OnTlsa, pending);
  }
  ares_free_string(query);
  return {std::move(answer), std::move(channel)};
}

}  // namespace mtasts::dns
