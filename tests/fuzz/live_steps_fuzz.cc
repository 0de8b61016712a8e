// Fuzz target: the steps of live_steps.h (a batch, statistics passes, days
// passing, a config change, each through one of two replicas) over the
// in-memory store alone. redis_live_fuzz runs them over Redis and memory side
// by side, a few dozen inputs a second; this one explores the live path,
// scheduler, statistics movers and config updates of two replicas, and their
// targeting indexes, thousands a second: after each step each replica's index
// must hold the member sets, and after the statistics passes every
// membership must be what a full re-evaluation computes.
// Input: as live_steps.h says.
#include <string>

#include "absl/time/time.h"
#include "engine/generator.h"
#include "store/memory_customer_store.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/live_steps.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  const std::optional<fuzz::StepsInput> input = fuzz::ParseStepsInput(data, size);
  if (!input) return 0;
  const std::string tenant = "fuzz";
  absl::Time clock = engine::GeneratorOptions().now;
  store::MemoryCustomerStore store;
  fuzz::Stack replica_0(&store, &store, &tenant, &clock);
  fuzz::Stack replica_1(&store, &store, &tenant, &clock);
  const fuzz::Side sides[] = {{"in memory", {&replica_0, &replica_1}}};
  fuzz::RunSteps(*input, sides, tenant, &clock);
  return 0;
}
