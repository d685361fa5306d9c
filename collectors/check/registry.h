#pragma once

#include <memory>
#include <vector>

#include "collectors/check/check.h"

namespace mtasts::check {

/// Every check, in the order they judge: a check that reads another's verdict comes after it.
const std::vector<std::unique_ptr<const Check>>& Registry();

/// What every check declares, in registry order: the catalogue /v1/meta shows.
std::vector<CheckInfo> Catalogue();

/// Judges one domain's observations with every check in registry order, then finishes the
/// report once (FinishReport).
void JudgeDomain(const Observations& seen, const JudgeContext& context, DomainReport& report);

}  // namespace mtasts::check

namespace mtasts {

/// Sorts the issues most severe first (stable) and sets `enforced` (README "What it checks"): a
/// single valid v=STSv1 record, and a valid policy in mode enforce fetched under the RFC 8461
/// rules, served as text/plain (§3.2).
void FinishReport(DomainReport& report);

}  // namespace mtasts
