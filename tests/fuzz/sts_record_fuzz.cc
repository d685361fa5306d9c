// libFuzzer target: the _mta-sts TXT record parser and the record selection (RFC 8461 §3.1).
// NUL bytes split the input into several TXT records for SelectStsRecord.
#include <cctype>
#include <cstddef>
#include <cstdint>

#include "collectors/sts/sts_record.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  const auto text = fuzz::AsText(data, size);
  if (auto record = sts::ParseStsRecord(text)) {
    const std::string& id = record.value().id;
    fuzz::Require(!id.empty() && id.size() <= 32, "id has 1-32 characters", id);
    for (unsigned char c : id) fuzz::Require(std::isalnum(c) != 0, "id is letters/digits", id);
  }
  const auto selection = sts::SelectStsRecord(fuzz::SplitAtNul(text));
  fuzz::Require((selection.status == RecordStatus::kValid) == selection.record.has_value(),
                "a valid selection carries its record");
  fuzz::Require(selection.status != RecordStatus::kMissing || selection.candidates == 0,
                "missing means no candidate");
  return 0;
}
