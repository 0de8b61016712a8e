#ifndef SEGMENTD_TESTS_FUZZ_CUSTOMER_CHECKS_H_
#define SEGMENTD_TESTS_FUZZ_CUSTOMER_CHECKS_H_

// What the engine promises of any one customer, checked by the config and
// event fuzz targets (a broken promise aborts, through FUZZ_CHECK).

#include <vector>

#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/profile.h"

namespace segmentd::fuzz {

// Checks `profile` under `classifier` at `as_of`:
//  - next_change is exact: membership is the same 1 ms before it and differs
//    at it (engine/classify.h);
//  - folding at as_of - LongestWindowDays changes neither membership nor
//    next_change at as_of (engine/profile.h, Fold);
//  - folded at half that (inside some windows), next_change is exact for the
//    folded profile, and membership is the full history's where every
//    windowed rule holds all folded orders or none (FoldedTotals::AllWithin);
//  - Explain says "member" for exactly the fixed segments Classify reports;
//  - the profile codec gives back an equal profile, and the same bytes.
void CheckCustomer(const engine::Classifier& classifier, const engine::Profile& profile,
                   absl::Time as_of);

// Instants worth classifying a profile at: `now`, and 1 ms before, at and
// after each of its orders, messages, cart update and registration (where
// rules' windows open and close).
std::vector<absl::Time> InstantsOf(const engine::Profile& profile, absl::Time now);

}  // namespace segmentd::fuzz

#endif  // SEGMENTD_TESTS_FUZZ_CUSTOMER_CHECKS_H_
