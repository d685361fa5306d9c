#include "agent/packed.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mtasts::agent {
namespace {

// The encoding: each field in declaration order; integers and enums as LEB128 varints (signed
// ones zigzagged), a bool as one byte, a double as its 8 bytes, a string as its length and
// bytes, an optional as a presence byte and the value, a vector as its length and elements.
// It lives only in memory, never on disk or the wire, so it has no version: both directions
// are generated from the one field list per type below.
//
// A report names its domain again and again (the policy URL, the policy and MX host names, the
// certificate's names, the records, the issue messages): after the `domain` field, each string
// of a report stores it as two bytes, kEscape kDomainRef; a kEscape byte of the text itself as
// kEscape kLiteral. Only exact matches are replaced, so every string reads back byte for byte.
constexpr unsigned char kEscape = 0xFF;  // never in UTF-8, so rare in what a report holds
constexpr unsigned char kLiteral = 0x00;
constexpr unsigned char kDomainRef = 0x01;
constexpr std::size_t kShortestAbbreviated = 4;  // shorter names gain nothing

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsMap : std::false_type {};
template <typename K, typename V>
struct IsMap<std::map<K, V>> : std::true_type {};
template <typename T>
struct IsPair : std::false_type {};
template <typename A, typename B>
struct IsPair<std::pair<A, B>> : std::true_type {};

template <typename S, typename T>
concept Bare = std::is_same_v<std::remove_const_t<S>, T>;

// Hex(): a string that is usually lowercase hex (a SHA-256 digest) is stored as its bytes, half
// the size, after a flag byte; anything else as text.
bool IsLowerHex(std::string_view s) {
  if (s.size() % 2 != 0) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
int HexValue(char c) {
  return c <= '9' ? c - '0' : c - 'a' + 10;
}

// The field lists, one per type; `S` is the type or its const (packing reads, unpacking writes).
// A field added to a report type must be added here: the size checks below fail until it is.
template <typename Io, Bare<Issue> S>
void Fields(Io& io, S& s) {
  io(s.code, s.severity, s.message);
}
template <typename Io, Bare<StsRecordReport> S>
void Fields(Io& io, S& s) {
  io(s.found, s.valid, s.record, s.id, s.candidates);
}
template <typename Io, Bare<policy::Policy> S>
void Fields(Io& io, S& s) {
  io(s.version, s.mode, s.max_age, s.mx, s.extensions);
}
template <typename Io, Bare<net::CertificateInfo> S>
void Fields(Io& io, S& s) {
  io(s.verified, s.verify_error, s.verify_code, s.dns_names, s.subject, s.issuer, s.not_after);
}
template <typename Io, Bare<PolicyReport> S>
void Fields(Io& io, S& s) {
  io(s.found, s.valid, s.url, s.policy, s.http_status, s.content_type, s.address, s.error,
     s.certificate, s.body);
}
template <typename Io, Bare<TlsRptReport> S>
void Fields(Io& io, S& s) {
  io(s.found, s.valid, s.record, s.rua);
}
template <typename Io, Bare<MxProbe> S>
void Fields(Io& io, S& s) {
  io(s.host, s.address, s.refused, s.reachable, s.starttls, s.tls_version, s.cipher, s.cert_valid,
     s.cert_error, s.cert_not_after, s.cert_names, s.error);
}
template <typename Io, Bare<MxDane> S>
void Fields(Io& io, S& s) {
  io(s.host, s.tlsa_present, s.dnssec_validated, s.records, s.error);
}
template <typename Io, Bare<MxReport> S>
void Fields(Io& io, S& s) {
  io(s.hosts, s.uncovered, s.probed, s.probes, s.dane);
}
template <typename Io, Bare<HistoryReport> S>
void Fields(Io& io, S& s) {
  io(s.policy_first_seen_ms, s.previous_id, s.mode_downgraded_at_ms, s.mode_downgraded_until_ms);
}
template <typename Io, Bare<DomainReport> S>
void Fields(Io& io, S& s) {
  io(s.domain);
  io.Abbreviate(s.domain);
  io(s.enforced, s.issues, s.sts_record, s.policy, s.tls_rpt, s.mx, s.check_complete,
     s.checked_at_ms, s.duration_seconds, s.history);
}

template <typename Io, Bare<webhooks::Posture> S>
void Fields(Io& io, S& s) {
  io(s.enforced, s.mode, s.sts_id, s.mx, s.max_age, s.sts_record_present, s.policy_present,
     s.tls_rpt_present, s.issues);
}
template <typename Io, Bare<webhooks::TrackerState> S>
void Fields(Io& io, S& s) {
  io(s.committed, s.candidate, s.seen, s.sequence);
}
template <typename Io, Bare<history::PolicyHistory> S>
void Fields(Io& io, S& s) {
  io(s.id);
  io.Hex(s.digest);
  io(s.mode, s.max_age, s.first_seen_ms);
  io.Hex(s.id_digest);
  io(s.id_first_seen_ms, s.previous_id, s.id_bump_until_ms, s.downgraded_at_ms,
     s.downgraded_until_ms, s.downgraded_to);
}

#if defined(__x86_64__) && defined(__GLIBCXX__) && !defined(_GLIBCXX_DEBUG)
// The sizes of the types above on this platform: a new field changes one, and this fails to
// build until the field lists above (and these sizes) say it.
static_assert(sizeof(Issue) == 40);
static_assert(sizeof(StsRecordReport) == 112);
static_assert(sizeof(policy::Policy) == 88);
static_assert(sizeof(net::CertificateInfo) == 152);
static_assert(sizeof(PolicyReport) == 464);
static_assert(sizeof(TlsRptReport) == 72);
static_assert(sizeof(MxProbe) == 280);
static_assert(sizeof(MxDane) == 104);
static_assert(sizeof(MxReport) == 104);
static_assert(sizeof(HistoryReport) == 88);
static_assert(sizeof(DomainReport) == 936);
static_assert(sizeof(webhooks::Posture) == 168);
static_assert(sizeof(webhooks::TrackerState) == 368);
static_assert(sizeof(history::PolicyHistory) == 240);
#endif

template <typename E>
constexpr std::uint64_t EnumLimit() {
  if constexpr (std::is_same_v<E, IssueCode>) return static_cast<std::uint64_t>(kLastIssueCode);
  if constexpr (std::is_same_v<E, Severity>) return static_cast<std::uint64_t>(Severity::kInfo);
  if constexpr (std::is_same_v<E, policy::Mode>)
    return static_cast<std::uint64_t>(policy::Mode::kNone);
}

class Writer {
 public:
  template <typename... T>
  void operator()(const T&... values) {
    (Put(values), ...);
  }
  void Hex(std::string_view text) {
    const bool packed = IsLowerHex(text);
    bytes.push_back(packed ? 1 : 0);
    if (!packed) return PutText(text);
    Varint(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
      bytes.push_back(static_cast<char>(HexValue(text[i]) << 4 | HexValue(text[i + 1])));
    }
  }
  /// From here on, `domain` in a string is written as a reference.
  void Abbreviate(const std::string& domain) {
    if (domain.size() >= kShortestAbbreviated) domain_ = domain;
  }
  std::string bytes;

 private:
  void PutText(std::string_view text) {
    if (domain_.empty()) {
      Varint(text.size());
      bytes.append(text);
      return;
    }
    std::string& out = scratch_;
    out.clear();
    for (std::size_t i = 0; i < text.size();) {
      if (text.compare(i, domain_.size(), domain_) == 0) {
        out += static_cast<char>(kEscape);
        out += static_cast<char>(kDomainRef);
        i += domain_.size();
        continue;
      }
      const auto c = static_cast<unsigned char>(text[i++]);
      out += static_cast<char>(c);
      if (c == kEscape) out += static_cast<char>(kLiteral);
    }
    Varint(out.size());
    bytes.append(out);
  }
  void Varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    bytes.push_back(static_cast<char>(v));
  }
  template <typename T>
  void Put(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      bytes.push_back(v ? 1 : 0);
    } else if constexpr (std::is_enum_v<T>) {
      static_assert(EnumLimit<T>() > 0, "an enum of the report without a limit in EnumLimit");
      Varint(static_cast<std::uint64_t>(v));
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      const auto u = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      Varint((u << 1) ^ (v < 0 ? ~std::uint64_t{0} : 0));  // zigzag: small magnitudes, few bytes
    } else if constexpr (std::is_integral_v<T>) {
      Varint(v);
    } else if constexpr (std::is_same_v<T, double>) {
      char raw[sizeof(double)];
      std::memcpy(raw, &v, sizeof raw);
      bytes.append(raw, sizeof raw);
    } else if constexpr (std::is_same_v<T, std::string>) {
      PutText(v);
    } else if constexpr (IsOptional<T>::value) {
      bytes.push_back(v.has_value() ? 1 : 0);
      if (v) Put(*v);
    } else if constexpr (IsVector<T>::value) {
      Varint(v.size());
      for (const auto& item : v) Put(item);
    } else if constexpr (IsMap<T>::value) {
      Varint(v.size());
      for (const auto& [key, value] : v) {
        Put(key);
        Put(value);
      }
    } else if constexpr (IsPair<T>::value) {
      Put(v.first);
      Put(v.second);
    } else {
      Fields(*this, v);
    }
  }

  std::string_view domain_;
  std::string scratch_;
};

class Reader {
 public:
  Reader(const unsigned char* data, std::size_t size) : at_(data), end_(data + size) {}
  template <typename... T>
  void operator()(T&... values) {
    (Get(values), ...);
  }
  void Hex(std::string& text) {
    if (Byte() == 0) return Get(text);
    static constexpr char kDigits[] = "0123456789abcdef";
    const std::size_t n = Length();
    text.clear();
    text.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char b = Byte();
      text += kDigits[b >> 4];
      text += kDigits[b & 0x0F];
    }
  }
  void Abbreviate(const std::string& domain) {
    if (domain.size() >= kShortestAbbreviated) domain_ = domain;
  }
  bool Done() const { return at_ == end_; }

 private:
  // Only what Writer made is ever read: running short or out of range is a bug, not input.
  [[noreturn]] static void Corrupt() { throw std::logic_error("packed report: corrupt encoding"); }
  unsigned char Byte() {
    if (at_ == end_) Corrupt();
    return *at_++;
  }
  std::uint64_t Varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const unsigned char b = Byte();
      v |= std::uint64_t{b & 0x7FU} << shift;
      if ((b & 0x80U) == 0) return v;
    }
    Corrupt();
  }
  std::size_t Length() {
    const std::uint64_t n = Varint();
    if (n > static_cast<std::uint64_t>(end_ - at_)) Corrupt();  // every element takes a byte
    return static_cast<std::size_t>(n);
  }
  template <typename T>
  void Get(T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      v = Byte() != 0;
    } else if constexpr (std::is_enum_v<T>) {
      const std::uint64_t raw = Varint();
      if (raw > EnumLimit<T>()) Corrupt();
      v = static_cast<T>(raw);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      const std::uint64_t u = Varint();
      const auto wide = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
      if (wide < std::numeric_limits<T>::min() || wide > std::numeric_limits<T>::max()) Corrupt();
      v = static_cast<T>(wide);
    } else if constexpr (std::is_integral_v<T>) {
      const std::uint64_t u = Varint();
      if (u > std::numeric_limits<T>::max()) Corrupt();
      v = static_cast<T>(u);
    } else if constexpr (std::is_same_v<T, double>) {
      if (end_ - at_ < static_cast<std::ptrdiff_t>(sizeof(double))) Corrupt();
      std::memcpy(&v, at_, sizeof(double));
      at_ += sizeof(double);
    } else if constexpr (std::is_same_v<T, std::string>) {
      const std::size_t n = Length();
      const std::string_view text(reinterpret_cast<const char*>(at_), n);
      at_ += n;
      if (domain_.empty()) {
        v.assign(text);
        return;
      }
      v.clear();
      v.reserve(n);
      for (std::size_t i = 0; i < text.size();) {
        const std::size_t escape = text.find(static_cast<char>(kEscape), i);
        v.append(text.substr(i, escape - i));
        if (escape == std::string_view::npos) break;
        if (escape + 1 == text.size()) Corrupt();
        const auto kind = static_cast<unsigned char>(text[escape + 1]);
        if (kind == kDomainRef) {
          v.append(domain_);
        } else if (kind == kLiteral) {
          v += static_cast<char>(kEscape);
        } else {
          Corrupt();
        }
        i = escape + 2;
      }
    } else if constexpr (IsOptional<T>::value) {
      if (Byte() != 0) {
        Get(v.emplace());
      } else {
        v.reset();
      }
    } else if constexpr (IsVector<T>::value) {
      const std::size_t n = Length();
      v.clear();
      v.resize(n);
      for (auto& item : v) Get(item);
    } else if constexpr (IsMap<T>::value) {
      const std::size_t n = Length();
      v.clear();
      for (std::size_t i = 0; i < n; ++i) {
        typename T::key_type key;
        typename T::mapped_type value;
        Get(key);
        Get(value);
        v.emplace_hint(v.end(), std::move(key), std::move(value));  // written in key order
      }
    } else if constexpr (IsPair<T>::value) {
      Get(v.first);
      Get(v.second);
    } else {
      Fields(*this, v);
    }
  }

  const unsigned char* at_;
  const unsigned char* end_;
  std::string_view domain_;  // the report's own domain field, already read
};

}  // namespace

struct SharedBytes::Header {
  std::atomic<std::uint32_t> references;
  std::uint32_t size;
  unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this + 1); }
};

SharedBytes::SharedBytes(const unsigned char* data, std::uint32_t size) {
  void* block = ::operator new(sizeof(Header) + size);
  header_ = new (block) Header{{1}, size};
  std::memcpy(header_->bytes(), data, size);
}

SharedBytes::SharedBytes(const SharedBytes& other) noexcept : header_(other.header_) {
  if (header_ != nullptr) header_->references.fetch_add(1, std::memory_order_relaxed);
}

SharedBytes::~SharedBytes() {
  if (header_ == nullptr) return;
  // The last owner must see every write the others made before it frees (as shared_ptr does).
  if (header_->references.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  header_->~Header();
  ::operator delete(header_);
}

const unsigned char* SharedBytes::Data() const {
  return header_ == nullptr ? nullptr : header_->bytes();
}

std::uint32_t SharedBytes::size() const {
  return header_ == nullptr ? 0 : header_->size;
}

template <typename T>
Packed<T>::Packed(const T& value) {
  Writer writer;
  writer.bytes.reserve(512);
  writer(value);
  if (writer.bytes.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("packed value over 4 GiB");  // a policy body is capped at 64 KiB
  }
  // One allocation: exactly the encoding, after its count and size.
  bytes_ = SharedBytes(reinterpret_cast<const unsigned char*>(writer.bytes.data()),
                       static_cast<std::uint32_t>(writer.bytes.size()));
}

template <typename T>
T Packed<T>::Unpack() const {
  T value{};
  if (!bytes_) return value;
  Reader reader(bytes_.Data(), bytes_.size());
  reader(value);
  if (!reader.Done()) throw std::logic_error("packed value: bytes left over");
  return value;
}

template class Packed<DomainReport>;
template class Packed<webhooks::TrackerState>;
template class Packed<history::PolicyHistory>;

}  // namespace mtasts::agent
