#ifndef SEGMENTD_TESTS_FUZZ_EXACT_MEMBERSHIP_H_
#define SEGMENTD_TESTS_FUZZ_EXACT_MEMBERSHIP_H_

// The promise the live path, the scheduler and the statistics movers keep
// together: once their passes have run, every stored membership is what a
// full re-evaluation of the tenant would compute now. The checks elsewhere
// compare one store with another (store_snapshot.h) or the live path with
// the engine for rules over a customer's own facts (live_fuzz); this one
// covers the rules over the population too (VIP, value tiers, relative
// spenders), whose statistics only the movers keep in step.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "store/customer_store.h"

namespace segmentd::fuzz {

// Classifies every stored customer of `tenant` with the engine under `config`
// and the statistics of all their stored profiles, at `now` (the store AOV
// over (now - lookback, now], to the millisecond). Returns "" when each stored
// membership (segments, primary, categories) equals its classification and
// the schedule wakes the customer no later than the classification's next
// change (the stored membership's own next change may differ:
// exact_membership.cc); otherwise the first customer that differs and how.
absl::StatusOr<std::string> FirstInexactMembership(store::CustomerStore& store,
                                                   const std::string& tenant,
                                                   const engine::SegmentConfig& config,
                                                   absl::Time now);

}  // namespace segmentd::fuzz

#endif  // SEGMENTD_TESTS_FUZZ_EXACT_MEMBERSHIP_H_
