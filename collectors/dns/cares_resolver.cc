#include "collectors/dns/cares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>

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
  std::promise<Result<T>> promise;
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
    pending->promise.set_value(std::move(*early));
    return;
  }
  ares_txt_ext* txt = nullptr;
  int parsed = ares_parse_txt_reply_ext(abuf, alen, &txt);
  if (auto early = EarlyOutcome<TxtAnswer>(parsed, pending->what)) {
    pending->promise.set_value(std::move(*early));
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
  pending->promise.set_value(std::move(answer));
}

void OnMx(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<Pending<MxAnswer>> pending(static_cast<Pending<MxAnswer>*>(arg));
  if (auto early = EarlyOutcome<MxAnswer>(status, pending->what)) {
    pending->promise.set_value(std::move(*early));
    return;
  }
  ares_mx_reply* mx = nullptr;
  int parsed = ares_parse_mx_reply(abuf, alen, &mx);
  if (auto early = EarlyOutcome<MxAnswer>(parsed, pending->what)) {
    pending->promise.set_value(std::move(*early));
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
  pending->promise.set_value(std::move(answer));
}

void OnTlsa(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<Pending<TlsaAnswer>> pending(static_cast<Pending<TlsaAnswer>*>(arg));
  // ares_send reports only transport-level trouble (and SERVFAIL/REFUSED from every server);
  // NXDOMAIN and NODATA arrive as ARES_SUCCESS with the message, judged by the parser.
  if (status != ARES_SUCCESS || abuf == nullptr || alen <= 0) {
    pending->promise.set_value(Error{
        pending->what + ": " + DescribeStatus(status == ARES_SUCCESS ? ARES_EBADRESP : status)});
    return;
  }
  auto parsed = ParseTlsaResponse(abuf, static_cast<std::size_t>(alen));
  if (!parsed) {
    pending->promise.set_value(Error{pending->what + ": " + parsed.error().message});
    return;
  }
  pending->promise.set_value(std::move(parsed));
}

/// A and AAAA are two queries; the second to finish combines both into one answer.
struct AddressPair {
  std::promise<Result<AddressAnswer>> promise;
  std::string name;
  std::mutex mutex;
  int outstanding = 2;
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
      promise.set_value(std::move(merged));
    } else if (!a.has_value()) {
      promise.set_value(a);
    } else if (!b.has_value()) {
      promise.set_value(b);
    } else {
      bool nx = a->presence == Presence::kNxDomain || b->presence == Presence::kNxDomain;
      promise.set_value(AddressAnswer{nx ? Presence::kNxDomain : Presence::kNoData, {}});
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
  std::lock_guard lock(pair.mutex);
  (query->v6 ? pair.v6 : pair.v4) = std::move(outcome);
  if (--pair.outstanding == 0) pair.Finish();
}

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

/// Wraps a query's callback to count it out of the in-flight total (see kMaxInFlight).
struct Counted {
  ares_callback callback;
  void* arg;
  int* in_flight;
};

void OnCounted(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  std::unique_ptr<Counted> counted(static_cast<Counted*>(arg));
  --*counted->in_flight;
  counted->callback(counted->arg, status, timeouts, abuf, alen);
}

}  // namespace

/// The channel the lookups of one check share (CaresResolver::ForCheck).
struct CaresResolver::CheckChannel {
  ares_channel handle = nullptr;      // loop thread only: made for the check's first lookup
  std::atomic<bool> released{false};  // the check is over: no lookup of it will come
};

/// The configured template, and the live channels. Every check gets a channel of its own (a
/// copy of the template), and so does every lookup asked outside a check: c-ares 1.18 handles a
/// failed connection to a server by failing over every query pending on that server's channel,
/// so on a channel shared between domains one hostile domain (a truncated answer whose TCP
/// retry is refused, say) would turn the lookups of every other domain checked at the same time
/// into errors. Within one check that failure is the domain's own (its records, its MX hosts'
/// TLSA), and its lookups share one UDP socket (ARES_FLAG_STAYOPEN keeps it open between them)
/// instead of five or six. Touched only by the loop thread (and by the destructor once the loop
/// has ended).
struct CaresResolver::Channel {
  struct Live {
    ares_channel channel = nullptr;
    std::shared_ptr<CheckChannel> check;  // null: a lookup's own channel
  };
  ares_channel handle = nullptr;
  std::vector<Live> live;
  ~Channel() {
    for (const Live& l : live) ares_destroy(l.channel);  // fails its outstanding queries
    if (handle != nullptr) ares_destroy(handle);
  }
  /// The check's channel (made at its first lookup), or a fresh one for a lookup without a
  /// check; nullptr (with the c-ares status) when none can be made.
  ares_channel Acquire(const std::shared_ptr<CheckChannel>& check, int& status) {
    if (check != nullptr && check->handle != nullptr) return check->handle;
    ares_channel channel = nullptr;
    status = ares_dup(&channel, handle);
    if (status != ARES_SUCCESS) return nullptr;
    live.push_back({channel, check});
    if (check != nullptr) check->handle = channel;
    return channel;
  }
};

/// One check's view of the resolver: every lookup through it goes out on the check's channel.
class CaresResolver::CheckView final : public Resolver {
 public:
  explicit CheckView(CaresResolver& parent)
      : parent_(parent), check_(std::make_shared<CheckChannel>()) {}
  ~CheckView() override {
    // The loop destroys the channel once its last lookup has ended (ReapFinished).
    check_->released = true;
    parent_.Wake();
  }
  CheckView(const CheckView&) = delete;
  CheckView& operator=(const CheckView&) = delete;
  CheckView(CheckView&&) = delete;
  CheckView& operator=(CheckView&&) = delete;

  Lookup<TxtAnswer> Txt(const std::string& name) override { return parent_.StartTxt(name, check_); }
  Lookup<MxAnswer> Mx(const std::string& name) override { return parent_.StartMx(name, check_); }
  Lookup<AddressAnswer> Addresses(const std::string& name) override {
    return parent_.StartAddresses(name, check_);
  }
  Lookup<TlsaAnswer> Tlsa(const std::string& name) override {
    return parent_.StartTlsa(name, check_);
  }
  std::unique_ptr<Resolver> ForCheck() override { return parent_.ForCheck(); }

 private:
  CaresResolver& parent_;
  std::shared_ptr<CheckChannel> check_;
};

CaresResolver::CaresResolver(const ResolverOptions& options)
    : channel_(std::make_unique<Channel>()) {
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
  int status = ares_init_options(&channel_->handle, &opts, mask);
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
    status = ares_set_servers_ports_csv(channel_->handle, csv.c_str());
    if (status != ARES_SUCCESS) {
      throw std::runtime_error("c-ares: cannot use DNS servers \"" + csv +
                               "\": " + ares_strerror(status));
    }
  }
  wake_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  loop_ = std::thread([this] { Loop(); });
}

CaresResolver::~CaresResolver() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  std::uint64_t one = 1;
  (void)!write(wake_fd_.get(), &one, sizeof one);
  loop_.join();
  // Queries handed over but never started: run them now so ares_destroy fails them cleanly.
  for (auto& start : waiting_) start();
  for (auto& start : pending_) start();
  channel_.reset();
  wake_fd_.reset();
}

void CaresResolver::Submit(std::function<void()> start_query) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(start_query));
  }
  Wake();
}

void CaresResolver::Wake() {
  // A wake already pending will make the loop see this one's query (or released check) too: the
  // loop clears the flag before it takes the queue and reaps.
  if (wake_pending_.exchange(true)) return;
  std::uint64_t one = 1;
  (void)!write(wake_fd_.get(), &one, sizeof one);
}

std::unique_ptr<Resolver> CaresResolver::ForCheck() {
  return std::make_unique<CheckView>(*this);
}

Lookup<TxtAnswer> CaresResolver::Txt(const std::string& name) {
  return StartTxt(name, nullptr);
}
Lookup<MxAnswer> CaresResolver::Mx(const std::string& name) {
  return StartMx(name, nullptr);
}
Lookup<AddressAnswer> CaresResolver::Addresses(const std::string& name) {
  return StartAddresses(name, nullptr);
}
Lookup<TlsaAnswer> CaresResolver::Tlsa(const std::string& name) {
  return StartTlsa(name, nullptr);
}

Lookup<TxtAnswer> CaresResolver::StartTxt(const std::string& name,
                                          std::shared_ptr<CheckChannel> check) {
  auto* pending = new Pending<TxtAnswer>{{}, "TXT " + name};
  auto future = pending->promise.get_future();
  Submit([this, name, pending, check = std::move(check)] {
    int status = ARES_SUCCESS;
    ares_channel channel = channel_->Acquire(check, status);
    if (channel == nullptr) return OnTxt(pending, status, 0, nullptr, 0);
    Query(channel, name, ns_t_txt, OnTxt, pending);
  });
  return future;
}

Lookup<MxAnswer> CaresResolver::StartMx(const std::string& name,
                                        std::shared_ptr<CheckChannel> check) {
  auto* pending = new Pending<MxAnswer>{{}, "MX " + name};
  auto future = pending->promise.get_future();
  Submit([this, name, pending, check = std::move(check)] {
    int status = ARES_SUCCESS;
    ares_channel channel = channel_->Acquire(check, status);
    if (channel == nullptr) return OnMx(pending, status, 0, nullptr, 0);
    Query(channel, name, ns_t_mx, OnMx, pending);
  });
  return future;
}

Lookup<AddressAnswer> CaresResolver::StartAddresses(const std::string& name,
                                                    std::shared_ptr<CheckChannel> check) {
  auto pair = std::make_shared<AddressPair>();
  pair->name = name;
  auto future = pair->promise.get_future();
  Submit([this, name, pair, check = std::move(check)] {
    // A and AAAA of one name share a channel: they stand or fall together anyway.
    int status = ARES_SUCCESS;
    ares_channel channel = channel_->Acquire(check, status);
    if (channel == nullptr) {
      OnAddress(new AddressQuery{pair, false}, status, 0, nullptr, 0);
      OnAddress(new AddressQuery{pair, true}, status, 0, nullptr, 0);
      return;
    }
    Query(channel, name, ns_t_a, OnAddress, new AddressQuery{pair, false});
    Query(channel, name, ns_t_aaaa, OnAddress, new AddressQuery{pair, true});
  });
  return future;
}

Lookup<TlsaAnswer> CaresResolver::StartTlsa(const std::string& name,
                                            std::shared_ptr<CheckChannel> check) {
  auto* pending = new Pending<TlsaAnswer>{{}, "TLSA " + name};
  auto future = pending->promise.get_future();
  Submit([this, name, pending, check = std::move(check)] {
    unsigned char* query = nullptr;
    int length = 0;
    constexpr int kTypeTlsa = 52;
    constexpr int kUdpSize = 1232;  // EDNS(0): the DNS flag day 2020 size
    int status =
        ares_create_query(name.c_str(), ns_c_in, kTypeTlsa, 0, 1, &query, &length, kUdpSize);
    if (status != ARES_SUCCESS || length < 12 + 11) {
      if (query != nullptr) ares_free_string(query);
      pending->promise.set_value(Error{pending->what + ": " + DescribeStatus(status)});
      delete pending;
      return;
    }
    // c-ares 1.18 has no API for these bits: AD in the header asks a validating resolver to
    // report validation (RFC 6840 §5.7); DO is the first bit of the OPT record's TTL, which
    // ares_create_query appends last (TTL, then RDLENGTH 0).
    query[3] |= 0x20;
    query[length - 4] |= 0x80;
    ares_channel channel = channel_->Acquire(check, status);
    if (channel == nullptr) {
      ares_free_string(query);
      return OnTlsa(pending, status, 0, nullptr, 0);
    }
    ++in_flight_;
    ares_send(channel, query, length, OnCounted, new Counted{OnTlsa, pending, &in_flight_});
    ares_free_string(query);
  });
  return future;
}

void CaresResolver::Query(ares_channel channel, const std::string& name, int type,
                          void (*callback)(void*, int, int, unsigned char*, int), void* arg) {
  ++in_flight_;
  ares_query(channel, name.c_str(), ns_c_in, type, OnCounted,
             new Counted{callback, arg, &in_flight_});
}

void CaresResolver::Loop() {
  for (;;) {
    wake_pending_.store(false);  // before the queue and the released flags are looked at
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      for (auto& start : pending_) waiting_.push_back(std::move(start));
      pending_.clear();
    }
    // At most about kMaxInFlight queries on the wire (an address lookup is two): a burst of
    // thousands on one UDP socket would overrun the server's and the kernel's buffers.
    while (!waiting_.empty() && in_flight_ < kMaxInFlight) {
      auto start = std::move(waiting_.front());
      waiting_.pop_front();
      start();
    }
    ReapFinished();

    // Every socket of every live channel, with the channel it belongs to.
    std::vector<pollfd> fds;
    std::vector<ares_channel> owners;
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    owners.push_back(nullptr);
    timeval max_wait{1, 0};
    for (const auto& l : channel_->live) {
      ares_channel channel = l.channel;
      std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> socks{};
      int bitmask = ares_getsock(channel, socks.data(), ARES_GETSOCK_MAXNUM);
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bitmask, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bitmask, i)) events |= POLLOUT;
        if (events == 0) continue;
        fds.push_back({socks[static_cast<std::size_t>(i)], events, 0});
        owners.push_back(channel);
      }
      timeval wait{};
      max_wait = *ares_timeout(channel, &max_wait, &wait);  // the earliest of all
    }
    int timeout_ms = static_cast<int>(max_wait.tv_sec * 1000 + max_wait.tv_usec / 1000);
    int ready = poll(fds.data(), fds.size(), std::max(timeout_ms, 1));
    if (ready < 0 && errno != EINTR)
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));

    if (fds[0].revents & POLLIN) {
      std::uint64_t count = 0;
      (void)!read(wake_fd_.get(), &count, sizeof count);
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      bool writable = (fds[i].revents & POLLOUT) != 0;
      ares_process_fd(owners[i], readable ? fds[i].fd : ARES_SOCKET_BAD,
                      writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
    // Timeouts and retries of every channel (cheap when nothing is due).
    for (const auto& l : channel_->live) {
      ares_process_fd(l.channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
    ReapFinished();
  }
}

void CaresResolver::ReapFinished() {
  auto& live = channel_->live;
  auto done = std::stable_partition(live.begin(), live.end(), [](const Channel::Live& l) {
    timeval wait{};
    if (ares_timeout(l.channel, nullptr, &wait) != nullptr) return true;  // a query pending
    return l.check != nullptr && !l.check->released;                      // its check may still ask
  });
  // Destroyed outside any c-ares callback: this closes the lookup's or the check's sockets.
  for (auto it = done; it != live.end(); ++it) {
    ares_destroy(it->channel);
    if (it->check != nullptr) it->check->handle = nullptr;
  }
  live.erase(done, live.end());
}

}  // namespace mtasts::dns
