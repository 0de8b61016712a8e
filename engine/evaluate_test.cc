#include "engine/evaluate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/generator.h"

namespace segmentd::engine {
namespace {

// What one customer's classification is, comparable.
struct Answer {
  uint32_t segments = 0;
  std::vector<CategoryId> categories;
  std::vector<CategoryId> cart_categories;
  std::optional<absl::Time> next_change;
  bool operator==(const Answer& o) const {
    return segments == o.segments && categories == o.categories &&
           cart_categories == o.cart_categories && next_change == o.next_change;
  }
};

Answer AnswerOf(const Classification& c) {
  return {c.segments.bits(), c.categories, c.cart_categories, c.next_change};
}

struct World {
  GeneratorOptions options;
  SegmentConfig config;
  Population population;
  std::vector<Profile> profiles;  // the same customers, one profile each
};

std::unique_ptr<World> MakeWorld(int customers) {
  auto w = std::make_unique<World>();
  const absl::Time horizon = w->options.now - absl::Hours(24) * LongestWindowDays(w->config);
  for (int i = 0; i < customers; ++i) {
    absl::StatusOr<Profile> p = BuildProfile(GenerateCustomer(w->options, i), horizon);
    EXPECT_TRUE(p.ok()) << p.status();
    w->population.Add(p->view());
    w->profiles.push_back(*std::move(p));
  }
  return w;
}

// The one-thread answer: StatsBuilder in order, then Classify in order.
PopulationStats SequentialStats(const World& w, absl::Time as_of) {
  std::vector<ProfileView> views;
  for (const Profile& p : w.profiles) views.push_back(p.view());
  return ComputeStats(views, w.config, as_of);
}

TEST(EvaluatePopulation, EveryThreadAndChunkCountGivesTheOneThreadAnswer) {
  const std::unique_ptr<World> w = MakeWorld(3000);
  for (const absl::Time as_of : {w->options.now, w->options.now - absl::Hours(24) * 200}) {
    const PopulationStats want_stats = SequentialStats(*w, as_of);
    ASSERT_GT(want_stats.buyers, 1000);  // the generator's 70% buyers
    const Classifier k = *Classifier::Create(w->config, want_stats);
    std::vector<Answer> want;
    for (const Profile& p : w->profiles) want.push_back(AnswerOf(k.Classify(p.view(), as_of)));

    for (const int threads : {0, 1, 2, 3, 8}) {
      for (const size_t chunk : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}, size_t{5000}}) {
        SCOPED_TRACE(absl::StrCat("threads ", threads, ", chunk ", chunk));
        const EvaluateOptions options{threads, chunk};
        EXPECT_EQ(ComputePopulationStats(w->population, w->config, as_of, options), want_stats);

        std::vector<std::optional<Answer>> got(w->profiles.size());
        std::vector<std::atomic<int>> busy(std::max(threads, 1));
        std::atomic<int> visits{0}, out_of_range{0}, overlapping{0};
        absl::StatusOr<PopulationStats> stats = EvaluatePopulation(
            w->population, w->config, as_of, options,
            [&](int worker, size_t i, const Classification& c) {
              ++visits;
              if (worker < 0 || worker >= static_cast<int>(busy.size()) || i >= got.size()) {
                ++out_of_range;
                return;
              }
              // A worker's calls never overlap: they are its own accumulator.
              if (busy[worker].fetch_add(1) != 0) ++overlapping;
              got[i] = AnswerOf(c);
              busy[worker].fetch_sub(1);
            });
        ASSERT_TRUE(stats.ok()) << stats.status();
        EXPECT_EQ(*stats, want_stats);
        EXPECT_EQ(visits.load(), static_cast<int>(got.size()));  // each exactly once:
        EXPECT_EQ(out_of_range.load(), 0);
        EXPECT_EQ(overlapping.load(), 0);
        int differing = 0;
        for (size_t i = 0; i < got.size(); ++i) differing += !(got[i] && *got[i] == want[i]);
        EXPECT_EQ(differing, 0);  // ... and as one thread classifies it
      }
    }
  }
}

TEST(EvaluatePopulation, ChunksCoverTheRangeOnce) {
  for (const size_t n : {size_t{0}, size_t{1}, size_t{99}, size_t{100}, size_t{101}}) {
    std::vector<std::atomic<int>> seen(n);
    std::atomic<int> bad_worker{0};
    ForEachChunk(n, EvaluateOptions{4, 25}, [&](int worker, size_t begin, size_t end) {
      if (worker < 0 || worker >= 4) ++bad_worker;
      EXPECT_LT(begin, end);
      EXPECT_LE(end - begin, 25u);
      for (size_t i = begin; i < end && i < n; ++i) ++seen[i];
    });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(seen[i].load(), 1) << "n " << n << ", i " << i;
    EXPECT_EQ(bad_worker.load(), 0);
  }
}

TEST(EvaluatePopulation, EmptyPopulation) {
  const World w;
  int visits = 0;
  absl::StatusOr<PopulationStats> stats =
      EvaluatePopulation(w.population, w.config, w.options.now, EvaluateOptions{2, 10},
                         [&](int, size_t, const Classification&) { ++visits; });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->buyers, 0);
  EXPECT_FALSE(stats->vip_order_cutoff.has_value());
  EXPECT_EQ(visits, 0);
}

TEST(EvaluatePopulation, InvalidConfigVisitsNobody) {
  std::unique_ptr<World> w = MakeWorld(10);
  w->config.vip.top_percent = 101;
  int visits = 0;
  absl::StatusOr<PopulationStats> stats =
      EvaluatePopulation(w->population, w->config, w->options.now, EvaluateOptions{},
                         [&](int, size_t, const Classification&) { ++visits; });
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(visits, 0);
}

}  // namespace
}  // namespace segmentd::engine
