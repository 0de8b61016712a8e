#include "server/live/config_preview.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/classify.h"
#include "engine/profile_codec.h"
#include "server/live/membership_codec.h"
#include "server/live/page_workers.h"
#include "store/scan_pages.h"

namespace segmentd {
namespace {

// Customers per page read, and threads classifying the pages: the store reads
// the next page while others are classified (as a config update's
// re-classification does, LiveMembership::Options::reevaluate_threads).
constexpr int kPage = 500;
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

}  // namespace

absl::StatusOr<std::map<std::string, SegmentDelta>> PreviewConfig(
    store::CustomerStore* store, TenantContexts* contexts, const std::string& tenant,
    const engine::SegmentConfig& proposed, absl::Time as_of) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts->GetCurrent(tenant);
  if (!snapshot.ok()) return snapshot.status();
  const TenantSnapshot& ctx = **snapshot;
  absl::StatusOr<engine::PopulationStats> stats = contexts->ComputeStats(tenant, proposed, as_of);
  if (!stats.ok()) return stats.status();
  absl::StatusOr<engine::Classifier> next = engine::Classifier::Create(proposed, *stats);
  if (!next.ok()) return next.status();

  absl::Mutex mu;
  Tallies total;  // guarded by mu
  absl::Status scan;
  {
    // Each page read (the profile only, not the whole state) and classified
    // under both configs on one of the threads, its tallies added at the end.
    PageWorkers workers(kThreads, [&](std::vector<std::string> page) -> absl::Status {
      absl::StatusOr<std::vector<store::ProfileRead>> profiles = store->ReadProfiles(tenant, page);
      if (!profiles.ok()) return profiles.status();
      Tallies tallies;
      engine::Classification before, after;
      for (const store::ProfileRead& stored : *profiles) {
        if (stored.profile.empty()) continue;  // removed between scan and read
        absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(stored.profile);
        if (!profile.ok()) {
          return absl::DataLossError(
              absl::StrCat("stored profile is corrupt: ", profile.status().message()));
        }
        ctx.classifier->Classify(profile->view(), as_of, &before);
        next->Classify(profile->view(), as_of, &after);
        tallies.Add(before, after);
      }
      absl::MutexLock lock(&mu);
      tallies.MergeInto(total);
      return absl::OkStatus();
    });
    scan = store::ScanPages(
        [&](const std::string& cursor) { return store->ScanCustomers(tenant, cursor, kPage); },
        [&](std::vector<std::string> ids) {
          return workers.HandOver(std::move(ids)) ? absl::OkStatus()
                                                  : absl::CancelledError("preview failed");
        });
    scan = workers.Finish(scan);
  }
  if (!scan.ok()) return scan;

  std::map<std::string, SegmentDelta> deltas;
  // Every fixed segment is listed, even when empty under both configs.
  for (int i = 0; i < engine::kNumSegments; ++i) {
    deltas[std::string(engine::SegmentName(static_cast<engine::Segment>(i)))] = total.fixed[i];
  }
  for (const auto& [id, delta] : total.categories) {
    StoredMembership one;
    one.categories = {id};
    deltas[SegmentNames(one, *ctx.category_names).front()] = delta;
  }
  return deltas;
}

}  // namespace segmentd
