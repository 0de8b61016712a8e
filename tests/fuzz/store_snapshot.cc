#include "tests/fuzz/store_snapshot.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/profile.h"
#include "engine/segment.h"
#include "store/scan_pages.h"

namespace segmentd::fuzz {
namespace {

using store::AovIndex;
using store::CustomerState;
using store::CustomerStore;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int kPage = 7;         // small, so that every scan takes several pages
constexpr int kAll = 1'000'000;  // "no limit" for calls that take one
constexpr int64_t kDays = 3660;  // CustomerStore's longest DailyTotals range

// Binds `lhs` to the value of a StatusOr expression, or returns its error.
#define SNAPSHOT_ASSIGN(lhs, expr)              \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto& lhs = *lhs##_or

#define SNAPSHOT_RETURN_IF_ERROR(expr)    \
  if (absl::Status s = (expr); !s.ok()) { \
    return s;                             \
  }

std::string Escaped(absl::string_view s) { return absl::StrCat("\"", absl::CEscape(s), "\""); }

std::string Optional(const std::optional<int64_t>& v) {
  return v.has_value() ? absl::StrCat(*v) : "-";
}

// `names` escaped and joined, in their order.
std::string EscapedList(const std::vector<std::string>& names) {
  return absl::StrJoin(
      names, " ", [](std::string* out, const std::string& name) { out->append(Escaped(name)); });
}

// `ids` sorted, escaped and joined; `unique` drops repeats (paged scans may
// hand an id over twice).
std::string IdList(std::vector<std::string> ids, bool unique = false) {
  std::sort(ids.begin(), ids.end());
  if (unique) ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return EscapedList(ids);
}

// A sink that keeps every id handed over.
CustomerStore::IdPageSink Collect(std::vector<std::string>* ids) {
  return [ids](std::vector<std::string> page) {
    ids->insert(ids->end(), page.begin(), page.end());
    return absl::OkStatus();
  };
}

std::string StateLine(const CustomerState& s) {
  return absl::StrCat(
      "customer ", Escaped(s.customer_id), " v", s.version, " #", s.ordinal,
      " segments=", absl::StrJoin(s.segments, ","),
      " next=", s.next_change.has_value() ? absl::StrCat(absl::ToUnixMillis(*s.next_change)) : "-",
      " aov=", Optional(s.aov_milli[0]), "/", Optional(s.aov_milli[1]),
      " profile=", absl::CEscape(s.profile), " membership=", absl::CEscape(s.membership),
      " history=", absl::CEscape(s.history));
}

class Describer {
 public:
  Describer(CustomerStore& store, const std::string& tenant) : store_(store), tenant_(tenant) {}

  absl::Status Config() {
    SNAPSHOT_ASSIGN(config, store_.ReadConfig(tenant_));
    if (!config.has_value()) {
      Add("config none");
    } else {
      Add(absl::StrCat("config v", config->version, " pending=", config->reclassification_pending,
                       " at=", absl::ToUnixMillis(config->updated_at),
                       " bytes=", absl::CEscape(config->bytes)));
    }
    SNAPSHOT_ASSIGN(count, store_.RecheckCount(tenant_));
    SNAPSHOT_ASSIGN(rechecks, store_.Rechecks(tenant_, kAll));
    std::vector<std::string> lines;
    for (const auto& r : rechecks)
      lines.push_back(absl::StrCat(Escaped(r.customer_id), "@v", r.config_version));
    std::sort(lines.begin(), lines.end());
    Add(absl::StrCat("rechecks ", count, ": ", absl::StrJoin(lines, " ")));
    return absl::OkStatus();
  }

  // Every customer in ordinal order, then each one's state.
  absl::Status Customers() {
    SNAPSHOT_ASSIGN(count, store_.CustomerCount(tenant_));
    SNAPSHOT_RETURN_IF_ERROR(segmentd::store::ScanPages(
        [&](const std::string& cursor) { return store_.ScanCustomers(tenant_, cursor, kPage); },
        Collect(&ids_)));
    Add(absl::StrCat("customers ", count, " in ordinal order: ", EscapedList(ids_)));
    SNAPSHOT_ASSIGN(states, store_.Read(tenant_, ids_));
    for (const CustomerState& s : states) {
      Add(StateLine(s));
      for (const std::string& segment : s.segments) segments_.insert(segment);
      for (int i = 0; i < store::kNumAovIndexes; ++i) {
        if (s.aov_milli[i].has_value()) aov_values_[i].insert(*s.aov_milli[i]);
      }
    }
    SNAPSHOT_ASSIGN(profiles, store_.ReadProfiles(tenant_, ids_));
    for (size_t i = 0; i < profiles.size(); ++i) {
      Add(absl::StrCat("profile read ", Escaped(ids_[i]), " #", profiles[i].ordinal, " aov=",
                       Optional(profiles[i].aov_milli[0]), "/", Optional(profiles[i].aov_milli[1]),
                       " ", absl::CEscape(profiles[i].profile)));
    }
    return absl::OkStatus();
  }

  // Every fixed segment, every category segment of the dictionary and every
  // segment a customer's state names: size and members.
  absl::Status MemberSets() {
    SNAPSHOT_ASSIGN(categories, store_.CategoryNames(tenant_));
    Add(absl::StrCat("categories ", EscapedList(categories)));
    SNAPSHOT_ASSIGN(all, SegmentNames(store_, tenant_));
    segments_.insert(all.begin(), all.end());
    const std::vector<std::string> names(segments_.begin(), segments_.end());
    SNAPSHOT_ASSIGN(sizes, store_.SegmentSizes(tenant_, names));
    for (size_t i = 0; i < names.size(); ++i) {
      SNAPSHOT_ASSIGN(members, SegmentMembers(store_, tenant_, names[i]));
      Add(absl::StrCat("segment ", Escaped(names[i]), " size ", sizes[i], ": ", IdList(members)));
    }
    return absl::OkStatus();
  }

  absl::Status Schedule(absl::Time now) {
    SNAPSHOT_ASSIGN(next, store_.NextDue(tenant_));
    Add(absl::StrCat("next due ",
                     next.has_value() ? absl::StrCat(absl::ToUnixMillis(*next)) : "-"));
    // Due lists earliest first; customers due at one instant in any order.
    SNAPSHOT_ASSIGN(due, store_.Due(tenant_, now + absl::Hours(24 * 365 * 100), kAll));
    Add(absl::StrCat("due ", IdList(due)));
    return absl::OkStatus();
  }

  absl::Status Indexes() {
    SNAPSHOT_ASSIGN(buyers, store_.Buyers(tenant_));
    Add(absl::StrCat("buyers ", buyers));
    std::set<int64_t> orders, revenue;
    for (int64_t rank = 0; rank <= buyers + 1; ++rank) {
      SNAPSHOT_ASSIGN(o, store_.OrdersAtRank(tenant_, rank));
      SNAPSHOT_ASSIGN(r, store_.RevenueAtRank(tenant_, rank));
      Add(absl::StrCat("rank ", rank, " orders ", Optional(o), " revenue ", Optional(r)));
      if (o.has_value()) orders.insert(*o);
      if (r.has_value()) revenue.insert(*r);
    }
    // Whole ranges, then point by point at every value held.
    orders.insert(kMin);
    revenue.insert(kMin);
    for (int64_t lo : orders) {
      const int64_t hi = lo == kMin ? kMax : lo + 1;
      SNAPSHOT_ASSIGN(listed, store_.CustomersByOrders(tenant_, lo, hi));
      SNAPSHOT_ASSIGN(count, store_.CountCustomersByOrders(tenant_, lo, hi));
      std::vector<std::string> scanned;
      SNAPSHOT_RETURN_IF_ERROR(store_.ScanCustomersByOrders(tenant_, lo, hi, Collect(&scanned)));
      Add(absl::StrCat("orders [", lo, ",", hi, ") count ", count, ": ", IdList(listed),
                       " scanned: ", IdList(scanned, /*unique=*/true)));
    }
    for (int64_t lo : revenue) {
      const int64_t hi = lo == kMin ? kMax : lo + 1;
      SNAPSHOT_ASSIGN(listed, store_.CustomersByRevenue(tenant_, lo, hi));
      Add(absl::StrCat("revenue [", lo, ",", hi, "): ", IdList(listed)));
    }
    for (int i = 0; i < store::kNumAovIndexes; ++i) {
      const AovIndex index = static_cast<AovIndex>(i);
      aov_values_[i].insert(kMin);
      for (int64_t lo : aov_values_[i]) {
        const int64_t hi = lo == kMin ? kMax : lo + 1;
        SNAPSHOT_ASSIGN(listed, store_.CustomersByAov(tenant_, index, lo, hi));
        SNAPSHOT_ASSIGN(count, store_.CountCustomersByAov(tenant_, index, lo, hi));
        std::vector<std::string> scanned;
        SNAPSHOT_RETURN_IF_ERROR(
            store_.ScanCustomersByAov(tenant_, index, lo, hi, Collect(&scanned)));
        Add(absl::StrCat("aov", i, " [", lo, ",", hi, ") count ", count, ": ", IdList(listed),
                         " scanned: ", IdList(scanned, /*unique=*/true)));
      }
    }
    SNAPSHOT_ASSIGN(kept, store_.AovIndexesKeptFromStart(tenant_));
    Add(absl::StrCat("aov indexes kept from start ", kept));
    std::vector<std::string> registered;
    SNAPSHOT_RETURN_IF_ERROR(
        store_.ScanRegisteredNonBuyers(tenant_, kMin, kMax, Collect(&registered)));
    Add(absl::StrCat("registered non-buyers ", IdList(registered, /*unique=*/true)));
    SNAPSHOT_ASSIGN(unindexed, store_.RegistrationsUnindexedFrom(tenant_));
    SNAPSHOT_ASSIGN(unrecorded, store_.OrdersUnrecordedFrom(tenant_));
    Add(absl::StrCat(
        "registrations unindexed from ", unindexed.has_value() ? absl::StrCat(*unindexed) : "-",
        ", orders unrecorded from ", unrecorded.has_value() ? absl::StrCat(*unrecorded) : "-"));
    return absl::OkStatus();
  }

  absl::Status Totals(absl::Time now) {
    const int64_t today = absl::ToUnixSeconds(now) / 86400;
    for (int64_t first : {today - kDays + 1, today + 1}) {
      SNAPSHOT_ASSIGN(days, store_.DailyTotals(tenant_, first, first + kDays - 1));
      for (size_t i = 0; i < days.size(); ++i) {
        if (days[i].orders == 0 && days[i].revenue == 0) continue;
        Add(absl::StrCat("day ", first + static_cast<int64_t>(i), ": ", days[i].orders, " orders, ",
                         days[i].revenue));
      }
    }
    // Windows to the millisecond, ending now and at odd instants around it
    // (the Redis store sums whole days and its day logs' records).
    const int64_t now_ms = absl::ToUnixMillis(now);
    for (int64_t end : {now_ms, now_ms - 3'600'001, now_ms + 86'399'999}) {
      for (int64_t days : {1, 180, 365, 3650}) {
        SNAPSHOT_ASSIGN(window, store_.OrderTotalsIn(tenant_, end - days * store::kDayMillis, end));
        Add(absl::StrCat("window of ", days, " days to ", end, ": ", window.orders, " orders, ",
                         window.revenue));
      }
    }
    return absl::OkStatus();
  }

  absl::Status OrderOwners(absl::Span<const std::string> order_ids) {
    std::vector<uint64_t> fingerprints;
    for (const std::string& id : order_ids) fingerprints.push_back(engine::IdFingerprint(id));
    SNAPSHOT_ASSIGN(owners, store_.OrderOwners(tenant_, fingerprints));
    for (size_t i = 0; i < owners.size(); ++i) {
      Add(absl::StrCat("order ", Escaped(order_ids[i]), " owner #", owners[i]));
    }
    return absl::OkStatus();
  }

  // Each customer's entries in order; customers in id order.
  absl::Status Changes() {
    SNAPSHOT_ASSIGN(changes, store_.ReadChanges(tenant_, "", kAll, absl::ZeroDuration()));
    std::map<std::string, std::vector<std::string>> by_customer;
    for (const store::StoredChange& c : changes) {
      by_customer[c.customer_id].push_back(absl::StrCat(c.entered ? "+" : "-", c.segment, "@",
                                                        absl::ToUnixMillis(c.changed_at), "/",
                                                        static_cast<int>(c.cause)));
    }
    Add(absl::StrCat("changes ", changes.size()));
    for (const auto& [id, entries] : by_customer) {
      Add(absl::StrCat("changes of ", Escaped(id), ": ", absl::StrJoin(entries, " ")));
    }
    return absl::OkStatus();
  }

  std::vector<std::string> lines;

 private:
  void Add(std::string line) { lines.push_back(std::move(line)); }

  CustomerStore& store_;
  const std::string& tenant_;
  std::vector<std::string> ids_;
  std::set<std::string> segments_;
  std::set<int64_t> aov_values_[store::kNumAovIndexes];
};

}  // namespace

absl::StatusOr<std::vector<std::string>> SegmentNames(store::CustomerStore& store,
                                                      const std::string& tenant) {
  SNAPSHOT_ASSIGN(categories, store.CategoryNames(tenant));
  std::vector<std::string> names;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    names.emplace_back(engine::SegmentName(static_cast<engine::Segment>(i)));
  }
  for (const std::string& c : categories) names.push_back(engine::CategorySegmentName(c));
  return names;
}

absl::StatusOr<std::vector<std::string>> SegmentMembers(store::CustomerStore& store,
                                                        const std::string& tenant,
                                                        const std::string& segment) {
  std::vector<std::string> members;
  SNAPSHOT_RETURN_IF_ERROR(segmentd::store::ScanPages(
      [&](const std::string& cursor) { return store.ScanSegment(tenant, segment, cursor, kPage); },
      Collect(&members)));
  // A member is handed over once if it stays a member during the scan.
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  return members;
}

absl::StatusOr<std::vector<std::string>> DescribeStore(store::CustomerStore& store,
                                                       const std::string& tenant, absl::Time now,
                                                       absl::Span<const std::string> order_ids,
                                                       const DescribeOptions& options) {
  Describer d(store, tenant);
  SNAPSHOT_RETURN_IF_ERROR(d.Config());
  SNAPSHOT_RETURN_IF_ERROR(d.Customers());
  SNAPSHOT_RETURN_IF_ERROR(d.MemberSets());
  SNAPSHOT_RETURN_IF_ERROR(d.Schedule(now));
  SNAPSHOT_RETURN_IF_ERROR(d.Indexes());
  if (options.daily_totals) SNAPSHOT_RETURN_IF_ERROR(d.Totals(now));
  SNAPSHOT_RETURN_IF_ERROR(d.OrderOwners(order_ids));
  SNAPSHOT_RETURN_IF_ERROR(d.Changes());
  return std::move(d.lines);
}

std::string FirstDifference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return "";
  const auto context = [i](const std::vector<std::string>& lines) {
    std::string out;
    for (size_t j = i; j < lines.size() && j < i + 3; ++j)
      absl::StrAppend(&out, "\n    ", lines[j]);
    return out.empty() ? "\n    (end)" : out;
  };
  return absl::StrCat("line ", i + 1, ":\n  first:", context(a), "\n  second:", context(b));
}

}  // namespace segmentd::fuzz
