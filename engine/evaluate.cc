#include "engine/evaluate.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace segmentd::engine {

void ForEachChunk(size_t n, const EvaluateOptions& options,
                  absl::FunctionRef<void(int worker, size_t begin, size_t end)> chunk) {
  const size_t size = std::max<size_t>(options.chunk_customers, 1);
  const size_t chunks = n / size + (n % size != 0);
  // No thread without a chunk to take: spawning one costs more than a small
  // population's whole evaluation.
  const int threads =
      static_cast<int>(std::min<size_t>(std::max(options.threads, 1), std::max<size_t>(chunks, 1)));
  std::atomic<size_t> next{0};
  auto work = [&](int worker) {
    for (size_t c = next.fetch_add(1, std::memory_order_relaxed); c < chunks;
         c = next.fetch_add(1, std::memory_order_relaxed)) {
      chunk(worker, c * size, std::min(n, (c + 1) * size));
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (int worker = 1; worker < threads; ++worker) helpers.emplace_back(work, worker);
  work(0);
  for (std::thread& t : helpers) t.join();
}

PopulationStats ComputePopulationStats(const Population& population, const SegmentConfig& config,
                                       absl::Time as_of, const EvaluateOptions& options) {
  std::vector<StatsBuilder> builders(std::max(options.threads, 1), StatsBuilder(config, as_of));
  ForEachChunk(population.size(), options, [&](int worker, size_t begin, size_t end) {
    StatsBuilder& b = builders[worker];
    for (size_t i = begin; i < end; ++i) b.Add(population.view(i));
  });
  for (size_t w = 1; w < builders.size(); ++w) builders[0].Merge(builders[w]);
  return builders[0].Build();
}

}  // namespace segmentd::engine
