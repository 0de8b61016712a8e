#ifndef SEGMENTD_ENGINE_EVALUATE_H_
#define SEGMENTD_ENGINE_EVALUATE_H_

// Full evaluation of a packed Population: its statistics from scratch, then
// every customer classified, on one thread or spread over several.
//
// Both passes hand out chunks of consecutive customers from a shared
// counter, so a thread slowed by other load on its core takes fewer chunks
// instead of holding up the rest (halves split in advance finish only as
// early as the slower core). Statistics are gathered per thread and merged;
// the answer is the one-thread answer whatever the threads and chunks.
//
// Usage (a counter per worker, each on its own cache line: counters side by
// side would bounce one line between the cores on every customer):
//   struct alignas(64) Count { int64_t n = 0; };
//   std::vector<Count> vips(std::max(options.threads, 1));
//   absl::StatusOr<PopulationStats> stats = EvaluatePopulation(
//       population, config, as_of, options,
//       [&](int worker, size_t index, const Classification& c) {
//         vips[worker].n += c.segments.Contains(Segment::kVip);
//       });
//
// Thread-safety: reads `population` and `config` only. The one `visit`
// object is called from up to `options.threads` threads at once (never
// twice at once with one worker number), so it must tolerate concurrent
// calls; one accumulator per worker needs no lock. Worker threads that
// cannot start, or a visitor that throws, end the process (std::terminate).

#include <cstddef>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "engine/population.h"
#include "engine/stats.h"

namespace segmentd::engine {

struct EvaluateOptions {
  // Threads to run on, the calling one included; values below 1 mean 1.
  int threads = 1;
  // Customers per chunk of work; 0 means 1.
  size_t chunk_customers = 16384;
};

// Runs `chunk(worker, begin, end)` over [0, n) in chunks of
// options.chunk_customers, on the calling thread (worker 0) and up to
// options.threads - 1 more (workers 1, 2, ...); returns when all are done.
void ForEachChunk(size_t n, const EvaluateOptions& options,
                  absl::FunctionRef<void(int worker, size_t begin, size_t end)> chunk);

// Returns the statistics of every customer of `population` at `as_of`:
// what StatsBuilder gives when each is added, in any order.
PopulationStats ComputePopulationStats(const Population& population, const SegmentConfig& config,
                                       absl::Time as_of, const EvaluateOptions& options);

// Computes the statistics, then classifies every customer at `as_of` under
// them, calling `visit(worker, index, classification)` once per customer
// (`classification` is valid during the call only). Returns the statistics,
// or Classifier::Create's error for an invalid config (nothing visited).
// A template so that the visitor inlines into the per-customer loop.
template <typename Visit>
absl::StatusOr<PopulationStats> EvaluatePopulation(const Population& population,
                                                   const SegmentConfig& config, absl::Time as_of,
                                                   const EvaluateOptions& options, Visit visit) {
  PopulationStats stats = ComputePopulationStats(population, config, as_of, options);
  absl::StatusOr<Classifier> classifier = Classifier::Create(config, stats);
  if (!classifier.ok()) return classifier.status();
  const Classifier& k = *classifier;
  ForEachChunk(population.size(), options, [&](int worker, size_t begin, size_t end) {
    Classification out;
    for (size_t i = begin; i < end; ++i) {
      k.Classify(population.view(i), as_of, &out);
      visit(worker, i, static_cast<const Classification&>(out));
    }
  });
  return stats;
}

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_EVALUATE_H_
