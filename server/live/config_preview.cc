#include "server/live/config_preview.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/classify.h"
#include "server/live/membership_codec.h"
#include "server/live/page_workers.h"
#include "server/live/stored_profile.h"

namespace segmentd {
namespace {

// Threads classifying the pages: the store reads the next page while others
// are classified (as a config update's re-classification does,
// LiveMembership::Options::reevaluate_threads).
constexpr int kThreads = 3;

void Count(bool was, bool will, SegmentDelta& d) {
  d.current += was;
  d.proposed += will;
  d.entering += !was && will;
  d.leaving += was && !will;
}

void Merge(const SegmentDelta& from, SegmentDelta& into) {
  into.current += from.current;
  into.proposed += from.proposed;
  into.entering += from.entering;
  into.leaving += from.leaving;
}

// How membership moves, per fixed segment and per category id, tallied from
// the classifications themselves; named once, at the end (naming every
// customer's segments cost more than classifying them).
struct Tallies {
  SegmentDelta fixed[engine::kNumSegments];
  absl::flat_hash_map<engine::CategoryId, SegmentDelta> categories;

  void Add(const engine::Classification& before, const engine::Classification& after) {
    const uint32_t either = before.segments.bits() | after.segments.bits();
    for (int i = 0; i < engine::kNumSegments; ++i) {
      if ((either >> i & 1u) == 0) continue;
      const auto segment = static_cast<engine::Segment>(i);
      Count(before.segments.Contains(segment), after.segments.Contains(segment), fixed[i]);
    }
    // Both ascending: one merge.
    const std::vector<engine::CategoryId>& was = before.categories;
    const std::vector<engine::CategoryId>& will = after.categories;
    size_t a = 0, b = 0;
    while (a < was.size() || b < will.size()) {
      if (b == will.size() || (a < was.size() && was[a] < will[b])) {
        Count(true, false, categories[was[a++]]);
      } else if (a == was.size() || will[b] < was[a]) {
        Count(false, true, categories[will[b++]]);
      } else {
        Count(true, true, categories[was[a]]);
        ++a;
        ++b;
      }
    }
  }

  void MergeInto(Tallies& into) const {
    for (int i = 0; i < engine::kNumSegments; ++i) Merge(fixed[i], into.fixed[i]);
    for (const auto& [id, delta] : categories) Merge(delta, into.categories[id]);
  }
};

// The moves of the customers classified under `current` (`ctx`'s config)
// and `next` at `as_of`: everyone, or (`candidates_only`) those the change
// from `ctx`'s config to `proposed` can move. Their profiles (only) are read
// a page at a time and classified on kThreads threads while the next page is
// read. `exact_only`: a customer whose history before `as_of` is kept only as
// lifetime totals (under either config) fails the call OUT_OF_RANGE naming
// `as_of`, as a classification at that instant does, instead of counting it
// from an approximation.
absl::StatusOr<Tallies> TallyMoves(store::CustomerStore* store, LiveMembership* live,
                                   const std::string& tenant, const TenantSnapshot& ctx,
                                   const engine::Classifier& current,
                                   const engine::Classifier& next,
                                   const engine::SegmentConfig& proposed,
                                   const engine::PopulationStats& stats, absl::Time as_of,
                                   bool candidates_only, bool exact_only) {
  absl::Mutex mu;
  Tallies total;  // guarded by mu
  PageWorkers workers(kThreads, [&](std::vector<std::string> page) -> absl::Status {
    absl::StatusOr<std::vector<store::ProfileRead>> profiles = store->ReadProfiles(tenant, page);
    if (!profiles.ok()) return profiles.status();
    Tallies tallies;
    engine::Classification before, after;
    for (size_t i = 0; i < profiles->size(); ++i) {
      const store::ProfileRead& stored = (*profiles)[i];
      if (stored.profile.empty()) continue;  // removed between scan and read
      absl::StatusOr<engine::Profile> profile = DecodeStoredProfileBytes(stored.profile);
      if (!profile.ok()) return profile.status();
      if (exact_only) {
        // In no segment under either config (as LiveMembership::Classify).
        if (KnownNotACustomerYet(profile->view(), as_of, ctx.config) &&
            KnownNotACustomerYet(profile->view(), as_of, proposed)) {
          continue;
        }
        if (absl::Status s =
                CheckExactAt(profile->view(), {&ctx.config, &proposed}, as_of, page[i]);
            !s.ok()) {
          return s;
        }
      }
      // Sizes and moves only: no next change (its scan is most of a
      // classification at a past instant).
      current.ClassifyMembership(profile->view(), as_of, &before);
      next.ClassifyMembership(profile->view(), as_of, &after);
      tallies.Add(before, after);
    }
    absl::MutexLock lock(&mu);
    tallies.MergeInto(total);
    return absl::OkStatus();
  });
  TenantSnapshot proposal;  // what ScanCandidates reads of the new side
  proposal.config = proposed;
  proposal.stats = stats;
  // Without a previous snapshot, ScanCandidates hands over every customer.
  const absl::Status scan = live->ScanCandidates(
      tenant, candidates_only ? &ctx : nullptr, candidates_only ? &proposal : nullptr,
      [&](std::vector<std::string> ids) { return workers.HandOver(std::move(ids)); });
  if (absl::Status s = workers.Finish(scan); !s.ok()) return s;
  absl::MutexLock lock(&mu);
  return std::move(total);
}

// Everyone's moves, named: every fixed segment, even when empty under both
// configs, and every category someone is a member of under either.
std::map<std::string, SegmentDelta> Named(const Tallies& everyone,
                                          const std::vector<std::string>& names) {
  std::map<std::string, SegmentDelta> deltas;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    deltas[std::string(engine::SegmentName(static_cast<engine::Segment>(i)))] = everyone.fixed[i];
  }
  for (const auto& [id, delta] : everyone.categories) deltas[CategorySegment(id, names)] = delta;
  return deltas;
}

// The stored sizes of every fixed segment and every named category, moved by
// the candidates' tallies.
absl::StatusOr<std::map<std::string, SegmentDelta>> StoredSizesMoved(
    store::CustomerStore* store, const std::string& tenant, const Tallies& candidates,
    const std::vector<std::string>& names) {
  std::vector<std::string> segments;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    segments.emplace_back(engine::SegmentName(static_cast<engine::Segment>(i)));
  }
  for (size_t id = 0; id < names.size(); ++id) {
    segments.push_back(CategorySegment(static_cast<engine::CategoryId>(id), names));
  }
  absl::StatusOr<std::vector<int64_t>> sizes = store->SegmentSizes(tenant, segments);
  if (!sizes.ok()) return sizes.status();
  std::map<std::string, SegmentDelta> deltas;
  for (size_t k = 0; k < segments.size(); ++k) {
    SegmentDelta moved;
    if (k < engine::kNumSegments) {
      moved = candidates.fixed[k];
    } else if (auto it = candidates.categories.find(
                   static_cast<engine::CategoryId>(k - engine::kNumSegments));
               it != candidates.categories.end()) {
      moved = it->second;
    } else if ((*sizes)[k] == 0) {
      continue;  // a category nobody is a member of under either config
    }
    SegmentDelta& d = deltas[segments[k]];
    d.current = (*sizes)[k];
    d.proposed = d.current + moved.entering - moved.leaving;
    d.entering = moved.entering;
    d.leaving = moved.leaving;
  }
  return deltas;
}

}  // namespace

absl::StatusOr<std::map<std::string, SegmentDelta>> PreviewConfig(
    store::CustomerStore* store, TenantContexts* contexts, LiveMembership* live,
    const std::string& tenant, const engine::SegmentConfig& proposed, absl::Time as_of, bool at_now,
    bool* reclassification_pending) {
  if (reclassification_pending != nullptr) *reclassification_pending = false;
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts->GetCurrent(tenant);
  if (!snapshot.ok()) return snapshot.status();
  const TenantSnapshot& ctx = **snapshot;
  absl::StatusOr<engine::PopulationStats> stats = contexts->ComputeStats(tenant, proposed, as_of);
  if (!stats.ok()) return stats.status();
  absl::StatusOr<engine::Classifier> next = engine::Classifier::Create(proposed, *stats);
  if (!next.ok()) return next.status();
  // The stored config is classified with statistics computed as the
  // proposed config's are, at the same instant: the snapshot's may be older
  // (or of another instant than an explicit `as_of`), and comparing with them
  // would report moves that only the statistics' moment makes (an unchanged
  // config moving customers).
  absl::StatusOr<engine::PopulationStats> current_stats =
      contexts->ComputeStats(tenant, ctx.config, as_of);
  if (!current_stats.ok()) return current_stats.status();
  absl::StatusOr<engine::Classifier> current =
      engine::Classifier::Create(ctx.config, *current_stats);
  if (!current.ok()) return current.status();
  // Read only the customers the change can move when the stored membership
  // is the stored config's (and the snapshot holds that config): then
  // everyone else is, and stays, as stored.
  bool candidates_only = false;
  if (at_now) {
    absl::StatusOr<std::optional<store::VersionedBlob>> stored = store->ReadConfig(tenant);
    if (!stored.ok()) return stored.status();
    candidates_only = stored->has_value() ? !(*stored)->reclassification_pending &&
                                                (*stored)->version == ctx.config_version
                                          : ctx.config_version == 0;
    if (reclassification_pending != nullptr) {
      *reclassification_pending = stored->has_value() && (*stored)->reclassification_pending;
    }
  }
  absl::StatusOr<Tallies> moves =
      TallyMoves(store, live, tenant, ctx, *current, *next, proposed, *stats, as_of,
                 candidates_only, /*exact_only=*/!at_now);
  if (!moves.ok()) return moves.status();
  const std::vector<std::string>& names = *ctx.category_names;
  if (candidates_only) {
    const bool all_named =
        std::all_of(moves->categories.begin(), moves->categories.end(),
                    [&](const auto& category) { return category.first < names.size(); });
    if (all_named) return StoredSizesMoved(store, tenant, *moves, names);
    // A category interned since this replica's snapshot was loaded has no
    // name here, so no stored set to count from: classify everyone.
    moves = TallyMoves(store, live, tenant, ctx, *current, *next, proposed, *stats, as_of, false,
                       /*exact_only=*/!at_now);
    if (!moves.ok()) return moves.status();
  }
  return Named(*moves, names);
}

}  // namespace segmentd
