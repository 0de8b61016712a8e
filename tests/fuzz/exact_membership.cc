#include "tests/fuzz/exact_membership.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/classify.h"
#include "engine/profile.h"
#include "engine/stats.h"
#include "server/live/membership_codec.h"
#include "server/live/stored_profile.h"
#include "store/scan_pages.h"

namespace segmentd::fuzz {
namespace {

std::string Describe(const StoredMembership& m, const std::vector<std::string>& category_names) {
  return absl::StrCat(absl::StrJoin(SegmentNames(m, category_names), ","),
                      " primary=", m.primary ? engine::SegmentName(*m.primary) : "-",
                      " cart=", absl::StrJoin(m.cart_categories, ","), " next=",
                      m.next_change ? absl::FormatTime(*m.next_change, absl::UTCTimeZone()) : "-");
}

}  // namespace

absl::StatusOr<std::string> FirstInexactMembership(store::CustomerStore& store,
                                                   const std::string& tenant,
                                                   const engine::SegmentConfig& config,
                                                   absl::Time now) {
  std::vector<std::string> ids;
  absl::Status scanned = store::ScanPages(
      [&](const std::string& cursor) { return store.ScanCustomers(tenant, cursor, 100); },
      [&](std::vector<std::string> page) {
        ids.insert(ids.end(), page.begin(), page.end());
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  absl::StatusOr<std::vector<store::CustomerState>> states = store.Read(tenant, ids);
  if (!states.ok()) return states.status();
  absl::StatusOr<std::vector<std::string>> category_names = store.CategoryNames(tenant);
  if (!category_names.ok()) return category_names.status();

  std::vector<engine::Profile> profiles;
  std::vector<StoredMembership> stored;
  for (const store::CustomerState& state : *states) {
    absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(state);
    if (!profile.ok()) return profile.status();
    absl::StatusOr<StoredMembership> membership = DecodeMembership(state.membership);
    if (!membership.ok()) return membership.status();
    profiles.push_back(*std::move(profile));
    stored.push_back(*std::move(membership));
  }
  std::vector<engine::ProfileView> views;
  for (const engine::Profile& p : profiles) views.push_back(p.view());
  const engine::PopulationStats stats = engine::ComputeStats(views, config, now);
  for (size_t i = 0; i < views.size(); ++i) {
    absl::StatusOr<engine::Classification> c = engine::Classify(views[i], config, stats, now);
    if (!c.ok()) return c.status();
    const StoredMembership want = MembershipOf(*c);
    // The membership's own next change need not match: it was exact under
    // the statistics of its write, and a later statistics move that changes
    // none of the customer's segments leaves it (the mover re-classifies only
    // customers whose membership it moves), earlier or later than the one
    // now. What must hold is that the schedule wakes the customer no later
    // than its next change now: the scheduled instant is also every order's
    // exit from a spender lookback, where a moved threshold makes a change.
    StoredMembership same_next = stored[i];
    same_next.next_change = want.next_change;
    if (!(same_next == want)) {
      return absl::StrCat((*states)[i].customer_id, " is stored as ",
                          Describe(stored[i], *category_names), ", classified now as ",
                          Describe(want, *category_names));
    }
    const absl::Time woken = (*states)[i].next_change.value_or(absl::InfiniteFuture());
    if (woken > want.next_change.value_or(absl::InfiniteFuture())) {
      return absl::StrCat((*states)[i].customer_id, " is scheduled at ",
                          absl::FormatTime(woken, absl::UTCTimeZone()), ", classified now as ",
                          Describe(want, *category_names));
    }
  }
  return "";
}

}  // namespace segmentd::fuzz
