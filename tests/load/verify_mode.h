// Verify mode: compares the server's membership and reasons for a random
// sample of the imported customers with the engine's own classification of
// the events the bulk import sent.
#ifndef SEGMENTD_TESTS_LOAD_VERIFY_MODE_H_
#define SEGMENTD_TESTS_LOAD_VERIFY_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Rebuilds every profile of the population bulk mode sends (customers
// [0, options.customers), seed options.seed), computes the population
// statistics with the default config at T, as the server does, and
// compares, for
// options.verify_sample random customers, ClassifyCustomers(as_of = T,
// include_reasons) with the engine's Classify/Explain at T: segment set and
// the reason text of every member segment. The reasons carry the facts
// ("6 orders in the last 30 days"), so equal reasons mean the stored orders
// are exactly the sent ones. Assumes the tenant has the default config.
// Prints a summary (mismatches per segment) and one JSON line; returns an
// error when any sampled customer differs.
absl::Status RunVerify(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_VERIFY_MODE_H_
