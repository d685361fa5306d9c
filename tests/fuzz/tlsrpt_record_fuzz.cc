// libFuzzer target: the _smtp._tls TXT record parser and selection (RFC 8460 §3). NUL bytes
// split the input into several TXT records for SelectTlsRptRecord.
#include <cstddef>
#include <cstdint>

#include "collectors/tlsrpt/tlsrpt_record.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
  using namespace mtasts;
  const auto text = fuzz::AsText(data, size);
  if (auto record = tlsrpt::ParseTlsRptRecord(text)) {
    fuzz::Require(!record.value().rua.empty(), "a valid record has a rua URI");
  } else {
    fuzz::Require(!record.error().message.empty(), "a refusal says why");
  }
  const auto selection = tlsrpt::SelectTlsRptRecord(fuzz::SplitAtNul(text));
  fuzz::Require((selection.status == RecordStatus::kValid) == selection.record.has_value(),
                "a valid selection carries its record");
  return 0;
}
