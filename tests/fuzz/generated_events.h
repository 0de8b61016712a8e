#ifndef SEGMENTD_TESTS_FUZZ_GENERATED_EVENTS_H_
#define SEGMENTD_TESTS_FUZZ_GENERATED_EVENTS_H_

// Seeds for the targets that take a BulkIngest batch: generated customers'
// histories (engine/generator.h) as the API's events.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/generator.h"
#include "segmentd/v1/ingest.pb.h"

namespace segmentd::fuzz {

// Every event of `customer`: registration, orders (with their cancels and
// refunds), messages sent / opened / acted on, the cart and its conversion,
// activity. Category ids become names "c<id>".
v1::BulkIngestRequest EventsOf(const engine::GeneratedCustomer& customer);

// The serialized histories of customers 0 .. customers-1 of `options`, one
// request each, cut to their first `max_events` events.
std::vector<std::string> GeneratedHistories(const engine::GeneratorOptions& options, int customers,
                                            int max_events);

}  // namespace segmentd::fuzz

#endif  // SEGMENTD_TESTS_FUZZ_GENERATED_EVENTS_H_
