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

// Names of the category segments, by id (as SegmentNames names them).
std::string CategorySegment(engine::CategoryId id, const std::vector<std::string>& names) {
  StoredMembership one;
  one.categories = {id};
  return SegmentNames(one, names).front();
}

}  // namespace

absl::StatusOr<std::map<std::string, SegmentDelta>> PreviewConfig(
    store::CustomerStore* store, TenantContexts* contexts, LiveMembership* live,
    const std::string& tenant, const engine::SegmentConfig& proposed, absl::Time as_of,
    bool at_now) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts->GetCurrent(tenant);
  if (!snapshot.ok()) return snapshot.status();
  const TenantSnapshot& ctx = **snapshot;
  absl::StatusOr<engine::PopulationStats> stats = contexts->ComputeStats(tenant, proposed, as_of);
  if (!stats.ok()) return stats.status();
  absl::StatusOr<engine::Classifier> next = engine::Classifier::Create(proposed, *stats);
  if (!next.ok()) return next.status();
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
  }

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
    auto hand_over = [&](std::vector<std::string> ids) { return workers.HandOver(std::move(ids)); };
    if (candidates_only) {
      TenantSnapshot proposal;  // what ScanCandidates reads of the new side
      proposal.config = proposed;
      proposal.stats = *stats;
      scan = live->ScanCandidates(tenant, &ctx, &proposal, hand_over);
    } else {
      scan = store::ScanPages(
          [&](const std::string& cursor) { return store->ScanCustomers(tenant, cursor, kPage); },
          [&](std::vector<std::string> ids) {
            return hand_over(std::move(ids)) ? absl::OkStatus()
                                             : absl::CancelledError("preview failed");
          });
    }
    scan = workers.Finish(scan);
  }
  if (!scan.ok()) return scan;

  const std::vector<std::string>& names = *ctx.category_names;
  std::map<std::string, SegmentDelta> deltas;
  if (!candidates_only) {
    // Every fixed segment is listed, even when empty under both configs.
    for (int i = 0; i < engine::kNumSegments; ++i) {
      deltas[std::string(engine::SegmentName(static_cast<engine::Segment>(i)))] = total.fixed[i];
    }
    for (const auto& [id, delta] : total.categories) deltas[CategorySegment(id, names)] = delta;
    return deltas;
  }
  // The stored sizes, moved by the candidates' tallies: every fixed segment
  // and every named category (a category id the snapshot cannot name has no
  // stored set to count from).
  std::vector<std::string> segments;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    segments.emplace_back(engine::SegmentName(static_cast<engine::Segment>(i)));
  }
  for (size_t id = 0; id < names.size(); ++id) {
    segments.push_back(CategorySegment(static_cast<engine::CategoryId>(id), names));
  }
  for (const auto& [id, delta] : total.categories) {
    if (id >= names.size()) {
      return absl::UnavailableError(
          absl::StrCat("category id ", id, " is not named yet in this replica's snapshot; retry"));
    }
  }
  absl::StatusOr<std::vector<int64_t>> sizes = store->SegmentSizes(tenant, segments);
  if (!sizes.ok()) return sizes.status();
  for (size_t k = 0; k < segments.size(); ++k) {
    SegmentDelta moved;
    if (k < engine::kNumSegments) {
      moved = total.fixed[k];
    } else if (auto it =
                   total.categories.find(static_cast<engine::CategoryId>(k - engine::kNumSegments));
               it != total.categories.end()) {
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

}  // namespace segmentd
