#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

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
template <typename T>
class Packed {
 public:
  Packed() = default;  // empty: nothing kept yet
  explicit Packed(const T& value);

  explicit operator bool() const { return bytes_ != nullptr; }
  /// The value as it was packed, field for field; a default-constructed T when empty.
  T Unpack() const;
  /// Bytes of the encoding (0 when empty).
  std::size_t size() const { return size_; }

 private:
  std::shared_ptr<const unsigned char[]> bytes_;
  std::uint32_t size_ = 0;
};

/// A watched domain's latest report; empty until the domain was checked.
using PackedReport = Packed<DomainReport>;

extern template class Packed<DomainReport>;
extern template class Packed<webhooks::TrackerState>;
extern template class Packed<history::PolicyHistory>;

}  // namespace mtasts::agent
