#include "collectors/dns/resolver.h"

namespace mtasts::dns {
namespace {

constexpr std::uint16_t kTypeTlsa = 52;
constexpr std::uint16_t kClassIn = 1;

/// Steps over a (possibly compressed) domain name at `pos`; false when it runs off the end.
bool SkipName(const std::uint8_t* message, std::size_t length, std::size_t& pos) {
  for (int labels = 0; labels < 128; ++labels) {
    if (pos >= length) return false;
    const std::uint8_t len = message[pos];
    if ((len & 0xC0) == 0xC0) {  // a compression pointer ends the name
      if (pos + 2 > length) return false;
      pos += 2;
      return true;
    }
    if ((len & 0xC0) != 0) return false;  // 0x40/0x80: reserved label types
    pos += 1 + len;
    if (len == 0) return true;
  }
  return false;
}

std::uint16_t Read16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

Result<TlsaAnswer> ParseTlsaResponse(const std::uint8_t* message, std::size_t length) {
  if (length < 12) return Error{"malformed DNS answer: shorter than its header"};
  const int rcode = message[3] & 0x0F;
  TlsaAnswer answer;
  answer.authenticated = (message[3] & 0x20) != 0;
  if (rcode == 3) {
    answer.presence = Presence::kNxDomain;
    return answer;
  }
  if (rcode != 0) return Error{"the DNS server answered rcode " + std::to_string(rcode)};
  if ((message[2] & 0x02) != 0) return Error{"the DNS answer was truncated (TC)"};
  const std::uint16_t questions = Read16(message + 4);
  const std::uint16_t answers = Read16(message + 6);
  std::size_t pos = 12;
  for (std::uint16_t i = 0; i < questions; ++i) {
    if (!SkipName(message, length, pos) || pos + 4 > length)
      return Error{"malformed DNS answer: bad question section"};
    pos += 4;
  }
  for (std::uint16_t i = 0; i < answers; ++i) {
    if (!SkipName(message, length, pos) || pos + 10 > length)
      return Error{"malformed DNS answer: bad resource record"};
    const std::uint16_t type = Read16(message + pos);
    const std::uint16_t klass = Read16(message + pos + 2);
    const std::uint16_t rdlength = Read16(message + pos + 8);
    pos += 10;
    if (pos + rdlength > length)
      return Error{"malformed DNS answer: record data runs past the end"};
    if (type == kTypeTlsa && klass == kClassIn) {
      if (rdlength < 3) return Error{"malformed TLSA record: shorter than 3 bytes"};
      TlsaRecord record;
      record.usage = message[pos];
      record.selector = message[pos + 1];
      record.matching_type = message[pos + 2];
      record.data.assign(message + pos + 3, message + pos + rdlength);
      answer.records.push_back(std::move(record));
    }
    pos += rdlength;  // CNAMEs (and anything else) on the way are stepped over
  }
  answer.presence = answer.records.empty() ? Presence::kNoData : Presence::kFound;
  return answer;
}

}  // namespace mtasts::dns
