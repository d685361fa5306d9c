#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "collectors/report/txt_fields.h"

namespace mtasts::sts {

/// A parsed `_mta-sts` TXT record (RFC 8461 §3.1).
struct StsRecord {
  std::string id;         // 1-32 ASCII letters/digits
  Extensions extensions;  // unknown fields, in order
};

/// Parses one TXT record (character-strings already joined) under the exact ABNF of
/// RFC 8461 §3.1. The error message names what is wrong ("id \"a-b\" has a character other
/// than a letter or digit"). Total: never throws on any input.
Result<StsRecord> ParseStsRecord(std::string_view text);

/// The outcome of choosing the STS record among all TXT records at `_mta-sts.<domain>`.
struct StsRecordSelection {
  RecordStatus status = RecordStatus::kMissing;
  std::optional<StsRecord> record;  // set when status is kValid
  std::optional<std::string> raw;   // the record text when exactly one candidate was found
  std::string problem;              // why it is invalid, for the issue message
  std::size_t candidates = 0;       // records that begin with the v=STSv1 version
};

/// RFC 8461 §3.1: records that do not begin with the `v=STSv1` version are discarded; exactly
/// one must remain and parse. A record "begins with the version" when its text starts with
/// `v=STSv1` followed by the end, a space/tab, or ";" (so `v=STSv10` is not a candidate).
StsRecordSelection SelectStsRecord(const std::vector<std::string>& txt_records);

}  // namespace mtasts::sts
