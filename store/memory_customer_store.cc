#include "store/memory_customer_store.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "store/customer_store_validation.h"
#include "store/tenant_keys.h"

namespace segmentd::store {
namespace {

absl::Status ValidateCount(int count, absl::string_view field) {
  if (count < 1) return absl::InvalidArgumentError(absl::StrCat(field, ": must be >= 1"));
  return absl::OkStatus();
}

}  // namespace

MemoryCustomerStore::MemoryCustomerStore(Options options) : options_(options) {}

MemoryCustomerStore::Tenant& MemoryCustomerStore::GetTenant(absl::string_view tenant) {
  return tenants_[tenant];
}

std::string MemoryCustomerStore::NewestPosition(const Tenant& t) {
  return t.changes.empty() ? std::string("0-0") : t.changes.back().change.position;
}

absl::StatusOr<std::vector<CustomerState>> MemoryCustomerStore::Read(
    absl::string_view tenant, absl::Span<const std::string> customer_ids) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  for (const std::string& id : customer_ids) {
    if (absl::Status s = ValidateCustomerId(id); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  std::vector<CustomerState> states;
  states.reserve(customer_ids.size());
  for (const std::string& id : customer_ids) {
    auto it = t.customers.find(id);
    if (it == t.customers.end()) {
      CustomerState absent;
      absent.customer_id = id;
      states.push_back(std::move(absent));
    } else {
      states.push_back(it->second.state);
    }
  }
  return states;
}

absl::StatusOr<std::vector<ProfileRead>> MemoryCustomerStore::ReadProfiles(
    absl::string_view tenant, absl::Span<const std::string> customer_ids) {
  absl::StatusOr<std::vector<CustomerState>> states = Read(tenant, customer_ids);
  if (!states.ok()) return states.status();
  std::vector<ProfileRead> profiles(states->size());
  for (size_t i = 0; i < states->size(); ++i) {
    profiles[i].profile = std::move((*states)[i].profile);
    profiles[i].ordinal = (*states)[i].ordinal;
    std::copy(std::begin((*states)[i].aov_milli), std::end((*states)[i].aov_milli),
              std::begin(profiles[i].aov_milli));
  }
  return profiles;
}

void MemoryCustomerStore::SetSchedule(Tenant& t, CustomerState& state,
                                      const CustomerWrite& write) {
  if (state.next_change.has_value()) {
    t.schedule.erase({absl::ToUnixMillis(*state.next_change), write.customer_id});
  }
  state.next_change.reset();
  if (write.next_change.has_value()) {
    state.next_change = TruncateToMillis(*write.next_change);
    t.schedule.insert({absl::ToUnixMillis(*state.next_change), write.customer_id});
  }
  for (int k = 0; k < kNumAovIndexes; ++k) {
    Measure& index = t.measures[kAov + k];
    if (state.aov_milli[k].has_value()) index.erase({*state.aov_milli[k], write.customer_id});
    state.aov_milli[k] = write.aov_milli[k];
    if (state.aov_milli[k].has_value()) index.insert({*state.aov_milli[k], write.customer_id});
  }
}

bool MemoryCustomerStore::PlacesForeignOrder(const Tenant& t, const CustomerWrite& write) {
  auto customer = t.customers.find(write.customer_id);
  const uint32_t ordinal = customer == t.customers.end() ? 0 : customer->second.state.ordinal;
  for (uint64_t order : write.placed_orders) {
    auto owner = t.order_owners.find(order);
    if (owner != t.order_owners.end() && owner->second != ordinal) return true;
  }
  return false;
}

void MemoryCustomerStore::Apply(Tenant& t, const CustomerWrite& write) {
  auto [it, inserted] = t.customers.try_emplace(write.customer_id);
  Customer& c = it->second;
  CustomerState& state = c.state;
  if (inserted) {
    t.by_ordinal.push_back(write.customer_id);
    state.customer_id = write.customer_id;
    state.ordinal = static_cast<uint32_t>(t.by_ordinal.size());
    // A tenant's first customer: its order record and registration index
    // are complete from here on (as the Redis write script's markers).
    if (state.ordinal == 1) {
      t.orders_unrecorded_from.reset();
      t.registrations_unindexed_from.reset();
    }
  }
  for (uint64_t order : write.placed_orders) t.order_owners[order] = state.ordinal;
  if (write.bookkeeping_only) {
    SetSchedule(t, state, write);
    state.version = write.expected_version + 1;
    state.membership = write.membership;
    return;
  }
  // Segments: left ones in stored order, then entered ones in the new order.
  const absl::flat_hash_set<std::string> now_in(write.segments.begin(), write.segments.end());
  const absl::flat_hash_set<std::string> was_in(state.segments.begin(), state.segments.end());
  const absl::Time at = TruncateToMillis(write.changed_at);
  // (The lambda runs under Apply's lock; clang's analysis needs telling.)
  auto append = [&](const std::string& segment, bool entered) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    StoredChange change{"", write.customer_id, segment, entered, at, write.cause};
    change.position = absl::StrCat("0-", ++last_seq_);
    t.changes.push_back(Change{last_seq_, std::move(change)});
  };
  for (const std::string& segment : state.segments) {
    if (now_in.contains(segment)) continue;
    auto members = t.segments.find(segment);
    members->second.erase(write.customer_id);
    if (members->second.empty()) t.segments.erase(members);
    append(segment, false);
  }
  for (const std::string& segment : write.segments) {
    if (was_in.contains(segment)) continue;
    t.segments[segment].insert(write.customer_id);
    append(segment, true);
  }
  while (static_cast<int64_t>(t.changes.size()) > options_.max_changes) {
    t.changes.pop_front();
    t.changes_dropped = true;
  }
  SetSchedule(t, state, write);
  // Measures: buyers only.
  if (!write.measures_as_stored) {
    t.measures[kOrders].erase({c.orders, write.customer_id});
    t.measures[kRevenue].erase({c.revenue, write.customer_id});
    c.orders = write.lifetime_orders;
    c.revenue = write.lifetime_revenue;
    if (c.orders >= 1) {
      t.measures[kOrders].insert({c.orders, write.customer_id});
      t.measures[kRevenue].insert({c.revenue, write.customer_id});
    }
  }
  if (c.registered_non_buyer_ms.has_value()) {
    t.measures[kRegistered].erase({*c.registered_non_buyer_ms, write.customer_id});
  }
  c.registered_non_buyer_ms = write.registered_non_buyer_ms;
  c.registration_indexed = true;
  if (c.registered_non_buyer_ms.has_value()) {
    t.measures[kRegistered].insert({*c.registered_non_buyer_ms, write.customer_id});
  }
  for (const OrderTotalsDelta& d : write.order_totals) {
    for (DayTotals* totals : {&t.daily[UtcDayOf(d.placed_ms)], &t.by_instant[d.placed_ms]}) {
      totals->orders += d.orders;
      totals->revenue += d.revenue;
    }
  }
  state.version = write.expected_version + 1;
  state.profile = write.profile;
  state.membership = write.membership;
  state.segments = write.segments;
  state.history = write.history;
}

absl::StatusOr<std::vector<WriteResult>> MemoryCustomerStore::WriteWithResults(
    absl::string_view tenant, absl::Span<const CustomerWrite> writes) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateWrites(writes); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  std::vector<WriteResult> committed;
  committed.reserve(writes.size());
  bool appended = false;
  for (const CustomerWrite& write : writes) {
    auto it = t.customers.find(write.customer_id);
    const int64_t version = it == t.customers.end() ? 0 : it->second.state.version;
    const int64_t config_version = t.config.has_value() ? t.config->version : 0;
    if (version != write.expected_version || config_version != write.config_version) {
      committed.push_back(WriteResult::kConflict);
      continue;
    }
    if (PlacesForeignOrder(t, write)) {
      committed.push_back(WriteResult::kOrderTaken);
      continue;
    }
    if (write.bookkeeping_only && it->second.state.segments != write.segments) {
      committed.push_back(WriteResult::Refused(OtherSegmentsThanStored(write)));
      continue;
    }
    const uint64_t seq = last_seq_;
    Apply(t, write);
    appended = appended || last_seq_ != seq;
    committed.push_back(WriteResult::kCommitted);
  }
  if (appended) changed_.SignalAll();
  return committed;
}

absl::StatusOr<std::vector<uint32_t>> MemoryCustomerStore::OrderOwners(
    absl::string_view tenant, absl::Span<const uint64_t> orders) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  std::vector<uint32_t> owners;
  owners.reserve(orders.size());
  for (uint64_t order : orders) {
    auto owner = t.order_owners.find(order);
    owners.push_back(owner == t.order_owners.end() ? 0 : owner->second);
  }
  return owners;
}

absl::StatusOr<std::optional<uint32_t>> MemoryCustomerStore::UnfilledFrom(
    absl::string_view tenant, std::optional<uint32_t> Tenant::*from) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  if (t.by_ordinal.empty()) return 0;  // nothing stored: the first write keeps it
  return t.*from;
}

absl::StatusOr<std::optional<uint32_t>> MemoryCustomerStore::OrdersUnrecordedFrom(
    absl::string_view tenant) {
  return UnfilledFrom(tenant, &Tenant::orders_unrecorded_from);
}

absl::StatusOr<int64_t> MemoryCustomerStore::RecordOrders(absl::string_view tenant,
                                                          absl::Span<const RecordedOrder> orders,
                                                          uint32_t next_ordinal) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateRecordedOrders(orders); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  int64_t taken = 0;
  for (const RecordedOrder& o : orders) {
    auto [owner, inserted] = t.order_owners.try_emplace(o.order, o.ordinal);
    if (!inserted && owner->second != o.ordinal) ++taken;
  }
  MoveBackfillCursor(t, next_ordinal, t.orders_unrecorded_from);
  return taken;
}

absl::StatusOr<std::optional<uint32_t>> MemoryCustomerStore::RegistrationsUnindexedFrom(
    absl::string_view tenant) {
  return UnfilledFrom(tenant, &Tenant::registrations_unindexed_from);
}

absl::StatusOr<int64_t> MemoryCustomerStore::IndexRegistrations(
    absl::string_view tenant, absl::Span<const IndexedRegistration> customers,
    uint32_t next_ordinal) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateIndexedRegistrations(customers); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  int64_t indexed = 0;
  for (const IndexedRegistration& r : customers) {
    auto c = t.customers.find(r.customer_id);
    if (c == t.customers.end() || c->second.registration_indexed) continue;
    c->second.registration_indexed = true;
    c->second.registered_non_buyer_ms = r.registered_non_buyer_ms;
    t.measures[kRegistered].insert({r.registered_non_buyer_ms, r.customer_id});
    ++indexed;
  }
  MoveBackfillCursor(t, next_ordinal, t.registrations_unindexed_from);
  return indexed;
}

void MemoryCustomerStore::ForgetRegistrationIndex(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  t.measures[kRegistered].clear();
  for (auto& [id, c] : t.customers) {
    c.registered_non_buyer_ms.reset();
    c.registration_indexed = false;
  }
  t.registrations_unindexed_from = 1;
}

void MemoryCustomerStore::MoveBackfillCursor(const Tenant& t, uint32_t next_ordinal,
                                             std::optional<uint32_t>& from) {
  // As the Redis cursor script: past the last ordinal completes it (an
  // empty tenant too); otherwise the cursor only moves forward.
  if (!from.has_value() || next_ordinal == 0) return;
  if (next_ordinal > t.by_ordinal.size()) {
    from.reset();
  } else if (next_ordinal > *from) {
    from = next_ordinal;
  }
}

void MemoryCustomerStore::ForgetOrderRecord(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  t.order_owners.clear();
  t.orders_unrecorded_from = 1;
}

absl::StatusOr<std::vector<std::string>> MemoryCustomerStore::Due(absl::string_view tenant,
                                                                  absl::Time now, int limit) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(limit, "limit"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  const int64_t now_ms = absl::ToUnixMillis(now);
  std::vector<std::string> due;
  for (auto it = t.schedule.begin();
       it != t.schedule.end() && it->first <= now_ms && static_cast<int>(due.size()) < limit;
       ++it) {
    due.push_back(it->second);
  }
  return due;
}

absl::StatusOr<std::optional<absl::Time>> MemoryCustomerStore::NextDueAfter(
    absl::string_view tenant, absl::Time after) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  auto it = t.schedule.begin();
  if (after != absl::InfinitePast()) {
    const int64_t after_ms = absl::ToUnixMillis(after);
    it = after_ms == std::numeric_limits<int64_t>::max()
             ? t.schedule.end()
             : t.schedule.lower_bound({after_ms + 1, std::string()});
  }
  if (it == t.schedule.end()) return std::optional<absl::Time>();
  return std::optional<absl::Time>(absl::FromUnixMillis(it->first));
}

absl::StatusOr<int64_t> MemoryCustomerStore::SegmentSize(absl::string_view tenant,
                                                         absl::string_view segment) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateSegment(segment); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  auto it = t.segments.find(std::string(segment));
  return it == t.segments.end() ? 0 : static_cast<int64_t>(it->second.size());
}

absl::StatusOr<IdPage> MemoryCustomerStore::ScanSegment(absl::string_view tenant,
                                                        absl::string_view segment,
                                                        absl::string_view cursor, int count) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateSegment(segment); !s.ok()) return s;
  if (absl::Status s = ValidateCount(count, "count"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  IdPage page;
  auto members = t.segments.find(std::string(segment));
  if (members == t.segments.end()) return page;
  auto it =
      cursor.empty() ? members->second.begin() : members->second.upper_bound(std::string(cursor));
  for (; it != members->second.end() && static_cast<int>(page.ids.size()) < count; ++it) {
    page.ids.push_back(*it);
  }
  if (it != members->second.end()) page.next_cursor = page.ids.back();
  return page;
}

absl::StatusOr<IdPage> MemoryCustomerStore::ScanCustomers(absl::string_view tenant,
                                                          absl::string_view cursor, int count) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(count, "count"); !s.ok()) return s;
  uint64_t next = 1;
  if (!cursor.empty() && (!absl::SimpleAtoi(cursor, &next) || next < 1)) {
    return absl::InvalidArgumentError("cursor: not a cursor ScanCustomers returned");
  }
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  IdPage page;
  const uint64_t end = next + static_cast<uint64_t>(count);  // exclusive
  for (uint64_t ordinal = next; ordinal < end && ordinal <= t.by_ordinal.size(); ++ordinal) {
    page.ids.push_back(t.by_ordinal[ordinal - 1]);
  }
  if (end <= t.by_ordinal.size()) page.next_cursor = absl::StrCat(end);
  return page;
}

absl::StatusOr<std::vector<std::string>> MemoryCustomerStore::ByMeasure(absl::string_view tenant,
                                                                        MeasureId id, int64_t lo,
                                                                        int64_t hi) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  const Measure& measure = t.measures[id];
  std::vector<std::string> ids;
  for (auto it = measure.lower_bound({lo, std::string()}); it != measure.end() && it->first < hi;
       ++it) {
    ids.push_back(it->second);
  }
  return ids;
}

absl::Status MemoryCustomerStore::ScanMeasure(absl::string_view tenant, MeasureId id, int64_t lo,
                                              int64_t hi, const IdPageSink& page) {
  absl::StatusOr<std::vector<std::string>> ids = ByMeasure(tenant, id, lo, hi);
  if (!ids.ok()) return ids.status();
  // Pages of 100, so callers see more than one.
  for (size_t begin = 0; begin < ids->size(); begin += 100) {
    const size_t end = std::min(ids->size(), begin + 100);
    if (absl::Status s = page(std::vector<std::string>(ids->begin() + begin, ids->begin() + end));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status MemoryCustomerStore::ScanCustomersByOrders(absl::string_view tenant, int64_t lo,
                                                        int64_t hi, const IdPageSink& page) {
  return ScanMeasure(tenant, kOrders, lo, hi, page);
}

absl::Status MemoryCustomerStore::ScanRegisteredNonBuyers(absl::string_view tenant, int64_t lo,
                                                          int64_t hi, const IdPageSink& page) {
  return ScanMeasure(tenant, kRegistered, lo, hi, page);
}

absl::StatusOr<int64_t> MemoryCustomerStore::CountCustomersByOrders(absl::string_view tenant,
                                                                    int64_t lo, int64_t hi) {
  absl::StatusOr<std::vector<std::string>> ids = CustomersByOrders(tenant, lo, hi);
  if (!ids.ok()) return ids.status();
  return static_cast<int64_t>(ids->size());
}

absl::StatusOr<std::vector<std::string>> MemoryCustomerStore::CustomersByOrders(
    absl::string_view tenant, int64_t lo, int64_t hi) {
  return ByMeasure(tenant, kOrders, lo, hi);
}

absl::StatusOr<std::vector<std::string>> MemoryCustomerStore::CustomersByRevenue(
    absl::string_view tenant, int64_t lo, int64_t hi) {
  return ByMeasure(tenant, kRevenue, lo, hi);
}

absl::StatusOr<std::vector<std::string>> MemoryCustomerStore::CustomersByAov(
    absl::string_view tenant, AovIndex index, int64_t lo, int64_t hi) {
  return ByMeasure(tenant, static_cast<MeasureId>(kAov + static_cast<int>(index)), lo, hi);
}

absl::Status MemoryCustomerStore::ScanCustomersByAov(absl::string_view tenant, AovIndex index,
                                                     int64_t lo, int64_t hi,
                                                     const IdPageSink& page) {
  return ScanMeasure(tenant, static_cast<MeasureId>(kAov + static_cast<int>(index)), lo, hi, page);
}

absl::StatusOr<int64_t> MemoryCustomerStore::CountCustomersByAov(absl::string_view tenant,
                                                                 AovIndex index, int64_t lo,
                                                                 int64_t hi) {
  absl::StatusOr<std::vector<std::string>> ids = CustomersByAov(tenant, index, lo, hi);
  if (!ids.ok()) return ids.status();
  return static_cast<int64_t>(ids->size());
}

absl::StatusOr<bool> MemoryCustomerStore::AovIndexesKeptFromStart(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  return !t.by_ordinal.empty() && !t.aov_indexes_forgotten;
}

void MemoryCustomerStore::ForgetAovIndexesKept(absl::string_view tenant) {
  absl::MutexLock lock(&mu_);
  GetTenant(tenant).aov_indexes_forgotten = true;
}

absl::StatusOr<std::vector<DayTotals>> MemoryCustomerStore::DailyTotals(absl::string_view tenant,
                                                                       int64_t first_day,
                                                                       int64_t last_day) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateDayRange(first_day, last_day); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  std::vector<DayTotals> totals;
  for (int64_t day = first_day; day <= last_day; ++day) {
    auto it = t.daily.find(day);
    totals.push_back(it == t.daily.end() ? DayTotals() : it->second);
  }
  return totals;
}

absl::StatusOr<DayTotals> MemoryCustomerStore::OrderTotalsIn(absl::string_view tenant,
                                                             int64_t after_ms, int64_t up_to_ms) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateTotalsWindow(after_ms, up_to_ms); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  DayTotals sum;
  for (auto it = t.by_instant.upper_bound(after_ms);
       it != t.by_instant.end() && it->first <= up_to_ms; ++it) {
    sum.orders += it->second.orders;
    sum.revenue += it->second.revenue;
  }
  return sum;
}

absl::StatusOr<int64_t> MemoryCustomerStore::CustomerCount(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(GetTenant(tenant).by_ordinal.size());
}

absl::StatusOr<int64_t> MemoryCustomerStore::Buyers(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(GetTenant(tenant).measures[kOrders].size());
}

absl::StatusOr<std::optional<int64_t>> MemoryCustomerStore::AtRank(absl::string_view tenant,
                                                                   MeasureId id, int64_t rank) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  const Measure& measure = t.measures[id];
  if (rank < 1 || rank > static_cast<int64_t>(measure.size())) return std::optional<int64_t>();
  return std::optional<int64_t>(std::next(measure.rbegin(), rank - 1)->first);
}

absl::StatusOr<std::optional<int64_t>> MemoryCustomerStore::OrdersAtRank(absl::string_view tenant,
                                                                         int64_t rank) {
  return AtRank(tenant, kOrders, rank);
}

absl::StatusOr<std::optional<int64_t>> MemoryCustomerStore::RevenueAtRank(absl::string_view tenant,
                                                                          int64_t rank) {
  return AtRank(tenant, kRevenue, rank);
}

absl::StatusOr<std::vector<StoredChange>> MemoryCustomerStore::ReadChanges(absl::string_view tenant,
                                                                           absl::string_view after,
                                                                           int limit,
                                                                           absl::Duration wait) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(limit, "limit"); !s.ok()) return s;
  absl::StatusOr<ChangePosition> from = ParseChangePosition(after);
  if (!from.ok()) return from.status();
  // Entries of this store are "0-<seq>": one after `after` has seq > bound.
  const uint64_t bound = from->first > 0 ? ~uint64_t{0} : from->second;
  const absl::Time deadline = absl::Now() + std::max(wait, absl::ZeroDuration());
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  while (t.changes.empty() || t.changes.back().seq <= bound) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) return std::vector<StoredChange>();
  }
  auto it = std::upper_bound(t.changes.begin(), t.changes.end(), bound,
                             [](uint64_t b, const Change& c) { return b < c.seq; });
  std::vector<StoredChange> changes;
  for (; it != t.changes.end() && static_cast<int>(changes.size()) < limit; ++it) {
    changes.push_back(it->change);
  }
  return changes;
}

absl::StatusOr<std::string> MemoryCustomerStore::LastChangePosition(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return NewestPosition(GetTenant(tenant));
}

absl::StatusOr<ChangeHead> MemoryCustomerStore::ReadChangeHead(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  return ChangeHead{NewestPosition(t), static_cast<int64_t>(t.by_ordinal.size())};
}

absl::StatusOr<std::optional<std::string>> MemoryCustomerStore::RetainedFrom(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const Tenant& t = GetTenant(tenant);
  if (!t.changes_dropped || t.changes.empty()) return std::optional<std::string>();
  return std::optional<std::string>(t.changes.front().change.position);
}

absl::StatusOr<std::optional<VersionedBlob>> MemoryCustomerStore::ReadConfig(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return GetTenant(tenant).config;
}

absl::StatusOr<int64_t> MemoryCustomerStore::WriteConfig(absl::string_view tenant,
                                                         int64_t expected_version,
                                                         absl::string_view bytes, absl::Time at) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  const int64_t version = t.config.has_value() ? t.config->version : 0;
  if (version != expected_version) {
    return absl::AbortedError(
        absl::StrCat("config: stored version is ", version, ", expected ", expected_version));
  }
  t.config = VersionedBlob{version + 1, std::string(bytes), TruncateToMillis(at),
                           /*reclassification_pending=*/true};
  return version + 1;
}

absl::StatusOr<bool> MemoryCustomerStore::ClaimReclassification(absl::string_view tenant,
                                                                int64_t version,
                                                                absl::string_view from,
                                                                absl::string_view replica) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateClaimant(replica); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  std::optional<VersionedBlob>& config = GetTenant(tenant).config;
  if (!config.has_value() || config->version != version || !config->reclassification_pending ||
      config->reclassifying_replica != from) {
    return false;
  }
  config->reclassifying_replica = std::string(replica);
  return true;
}

absl::Status MemoryCustomerStore::ConfigApplied(absl::string_view tenant, int64_t version) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  if (t.config.has_value() && t.config->version == version) {
    t.config->reclassification_pending = false;
    t.config->reclassifying_replica.clear();
  }
  return absl::OkStatus();
}

absl::Status MemoryCustomerStore::AddRechecks(absl::string_view tenant,
                                              absl::Span<const std::string> customer_ids,
                                              int64_t config_version) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateRechecks(customer_ids, config_version); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  for (const std::string& id : customer_ids) {
    int64_t& version = t.rechecks[id];
    version = std::max(version, config_version);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CustomerStore::Recheck>> MemoryCustomerStore::Rechecks(
    absl::string_view tenant, int limit) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateCount(limit, "limit"); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  std::vector<Recheck> out;
  for (auto it = t.rechecks.begin(); it != t.rechecks.end() && static_cast<int>(out.size()) < limit;
       ++it) {
    out.push_back({it->first, it->second});
  }
  return out;
}

absl::Status MemoryCustomerStore::ClearRechecks(absl::string_view tenant,
                                                absl::Span<const std::string> customer_ids,
                                                int64_t done_version) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  if (absl::Status s = ValidateRechecks(customer_ids, done_version); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  for (const std::string& id : customer_ids) {
    auto it = t.rechecks.find(id);
    if (it != t.rechecks.end() && it->second <= done_version) t.rechecks.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MemoryCustomerStore::RecheckCount(absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(GetTenant(tenant).rechecks.size());
}

absl::Status MemoryCustomerStore::AddStatsInUse(absl::string_view tenant, absl::string_view field,
                                                absl::string_view value) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  GetTenant(tenant).stats_in_use[std::string(field)] = std::string(value);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> MemoryCustomerStore::StatsInUse(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const std::map<std::string, std::string>& entries = GetTenant(tenant).stats_in_use;
  return std::vector<std::pair<std::string, std::string>>(entries.begin(), entries.end());
}

absl::Status MemoryCustomerStore::RemoveStatsInUse(absl::string_view tenant,
                                                   absl::Span<const std::string> fields) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  for (const std::string& field : fields) GetTenant(tenant).stats_in_use.erase(field);
  return absl::OkStatus();
}

absl::StatusOr<bool> MemoryCustomerStore::MarkReplicaAlive(absl::string_view replica,
                                                           absl::Duration ttl) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  absl::Time& until = alive_until_[replica];
  const bool was = until > now;
  until = now + ttl;
  return was;
}

absl::StatusOr<std::vector<bool>> MemoryCustomerStore::ReplicasAlive(
    absl::Span<const std::string> replicas) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  std::vector<bool> alive;
  for (const std::string& replica : replicas) {
    auto it = alive_until_.find(replica);
    alive.push_back(it != alive_until_.end() && it->second > now);
  }
  return alive;
}

void MemoryCustomerStore::ExpireReplica(absl::string_view replica) {
  absl::MutexLock lock(&mu_);
  alive_until_.erase(replica);
}

absl::StatusOr<std::vector<uint16_t>> MemoryCustomerStore::InternCategories(
    absl::string_view tenant, absl::Span<const std::string> names) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  Tenant& t = GetTenant(tenant);
  absl::flat_hash_set<absl::string_view> fresh;
  for (const std::string& name : names) {
    if (!t.category_ids.contains(name)) fresh.insert(name);
  }
  if (static_cast<int64_t>(t.category_names.size() + fresh.size()) > kMaxCategoryId + 1) {
    return CategoryDictionaryFull();
  }
  std::vector<uint16_t> ids;
  ids.reserve(names.size());
  for (const std::string& name : names) {
    auto [it, inserted] =
        t.category_ids.try_emplace(name, static_cast<uint16_t>(t.category_names.size()));
    if (inserted) t.category_names.push_back(name);
    ids.push_back(it->second);
  }
  return ids;
}

absl::StatusOr<std::vector<std::string>> MemoryCustomerStore::CategoryNames(
    absl::string_view tenant) {
  if (absl::Status s = ValidateTenant(tenant); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  return GetTenant(tenant).category_names;
}

}  // namespace segmentd::store
