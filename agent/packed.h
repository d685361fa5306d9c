#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "agent/webhooks/posture.h"
#include "collectors/history/history.h"
#include "collectors/report/report.h"

namespace mtasts::agent {

/// A value the daemon keeps for every watched domain, encoded in one block of bytes (README
/// "Memory"): a `DomainReport` spreads over dozens of allocations, most of its 900-odd inline
/// bytes optional parts that a report without a policy never fills; packed, it costs one
/// allocation of about its text's size. Readers (`/metrics`, the state file, the pipeline)
/// unpack what they read, one domain at a time. Copies share the bytes; immutable, so readers
/// on any thread need no lock. Defined for `DomainReport`, `webhooks::TrackerState` and
/// `history::PolicyHistory`.
/// One immutable block of bytes shared by its copies: a reference count and the size sit in
/// front of the bytes, in the same allocation (8 bytes, where a shared_ptr to an array costs a
/// control block and an inline size). Copies on any thread; the last one frees it.
class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(const unsigned char* data, std::uint32_t size);  // copies the bytes
  SharedBytes(const SharedBytes& other) noexcept;
  SharedBytes(SharedBytes&& other) noexcept : header_(std::exchange(other.header_, nullptr)) {}
  SharedBytes& operator=(SharedBytes other) noexcept {
    std::swap(header_, other.header_);
    return *this;
  }
  ~SharedBytes();

  explicit operator bool() const { return header_ != nullptr; }
  const unsigned char* Data() const;
  std::uint32_t size() const;

 private:
  struct Header;
  Header* header_ = nullptr;
};

template <typename T>
class Packed {
 public:
  Packed() = default;  // empty: nothing kept yet
  explicit Packed(const T& value);

  explicit operator bool() const { return static_cast<bool>(bytes_); }
  /// The value as it was packed, field for field; a default-constructed T when empty.
  T Unpack() const;
  /// Bytes of the encoding (0 when empty).
  std::size_t size() const { return bytes_ ? bytes_.size() : 0; }

 private:
  SharedBytes bytes_;
};

/// A watched domain's latest report; empty until the domain was checked.
using PackedReport = Packed<DomainReport>;

extern template class Packed<DomainReport>;
extern template class Packed<webhooks::TrackerState>;
extern template class Packed<history::PolicyHistory>;

}  // namespace mtasts::agent
