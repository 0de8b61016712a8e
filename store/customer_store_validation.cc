#include "store/customer_store_validation.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace segmentd::store {

absl::Status OtherSegmentsThanStored(const CustomerWrite& write) {
  return absl::InternalError(
      absl::StrCat("bookkeeping-only write of customer ", write.customer_id,
                   " names other segments than are stored; nothing written"));
}

absl::Status ValidateCustomerId(absl::string_view customer_id) {
  if (customer_id.empty() || customer_id.size() > kMaxCustomerIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("customer_id: must be 1-", kMaxCustomerIdBytes,
                                                   " bytes, got ", customer_id.size()));
  }
  return absl::OkStatus();
}

absl::Status ValidateSegment(absl::string_view segment) {
  if (segment.empty()) return absl::InvalidArgumentError("segment: must not be empty");
  return absl::OkStatus();
}

absl::Status ValidateRechecks(absl::Span<const std::string> customer_ids,
                              int64_t config_version) {
  for (size_t i = 0; i < customer_ids.size(); ++i) {
    if (absl::Status s = ValidateCustomerId(customer_ids[i]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("customer_ids[", i, "]: ", s.message()));
    }
  }
  if (config_version < 0) return absl::InvalidArgumentError("config_version: must be >= 0");
  return absl::OkStatus();
}

absl::Status ValidateRecordedOrders(absl::Span<const CustomerStore::RecordedOrder> orders) {
  for (size_t i = 0; i < orders.size(); ++i) {
    if (orders[i].ordinal == 0) {
      return absl::InvalidArgumentError(absl::StrCat("orders[", i, "].ordinal: must be >= 1"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIndexedRegistrations(
    absl::Span<const CustomerStore::IndexedRegistration> customers) {
  for (size_t i = 0; i < customers.size(); ++i) {
    if (absl::Status s = ValidateCustomerId(customers[i].customer_id); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("customers[", i, "].", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWrites(absl::Span<const CustomerWrite> writes) {
  for (size_t i = 0; i < writes.size(); ++i) {
    const CustomerWrite& w = writes[i];
    const std::string where = absl::StrCat("writes[", i, "].");
    if (absl::Status s = ValidateCustomerId(w.customer_id); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, s.message()));
    }
    if (w.expected_version < 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, "expected_version: must be >= 0"));
    }
    const int cause = static_cast<int>(w.cause);
    if (cause < static_cast<int>(ChangeCause::kEvent) ||
        cause > static_cast<int>(ChangeCause::kStatistics)) {
      return absl::InvalidArgumentError(absl::StrCat(where, "cause: unknown value ", cause));
    }
    if (w.lifetime_orders < 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, "lifetime_orders: must be >= 0"));
    }
    if (w.config_version < 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, "config_version: must be >= 0"));
    }
    // Both flags say the facts are as stored.
    for (const auto& [set, flag] : {std::pair<bool, absl::string_view>{w.bookkeeping_only,
                                                                     "bookkeeping_only"},
                                    {w.measures_as_stored, "measures_as_stored"}}) {
      if (set && w.expected_version == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, flag, ": needs an existing customer (expected_version > 0)"));
      }
      if (set && !w.order_totals.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, flag, ": a write moving the order totals moves facts"));
      }
      if (set && !w.placed_orders.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, flag, ": a write placing orders moves facts"));
      }
    }
    for (const OrderTotalsDelta& d : w.order_totals) {
      if (d.orders < -1 || d.orders > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "order_totals: one order's change, orders -1, 0 or 1, not ", d.orders));
      }
    }
    if (absl::flat_hash_set<uint64_t>(w.placed_orders.begin(), w.placed_orders.end()).size() !=
        w.placed_orders.size()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "placed_orders: duplicate order"));
    }
    absl::flat_hash_set<absl::string_view> segments;
    for (const std::string& segment : w.segments) {
      if (segment.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(where, "segments: empty name"));
      }
      if (!segments.insert(segment).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "segments: duplicate name \"", segment, "\""));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ChangePosition> ParseChangePosition(absl::string_view position) {
  if (position.empty()) return ChangePosition{0, 0};
  const size_t dash = position.find('-');
  ChangePosition parsed;
  auto digits = [](absl::string_view s) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (dash == absl::string_view::npos || !digits(position.substr(0, dash)) ||
      !digits(position.substr(dash + 1)) ||
      !absl::SimpleAtoi(position.substr(0, dash), &parsed.first) ||
      !absl::SimpleAtoi(position.substr(dash + 1), &parsed.second)) {
    return absl::InvalidArgumentError("after: must be a change position \"<ms>-<seq>\" or empty");
  }
  return parsed;
}

absl::Status ValidateDayRange(int64_t first_day, int64_t last_day) {
  if (last_day < first_day || last_day - first_day >= kMaxDailyRange) {
    return absl::InvalidArgumentError(
        absl::StrCat("last_day: must be within ", kMaxDailyRange, " days after first_day"));
  }
  return absl::OkStatus();
}

absl::Status ValidateClaimant(absl::string_view replica) {
  if (replica.empty() || replica == kUnclaimed) {
    return absl::InvalidArgumentError(
        absl::StrCat("replica: must be a replica id (not empty, not \"", kUnclaimed, "\")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTotalsWindow(int64_t after_ms, int64_t up_to_ms) {
  if (up_to_ms <= after_ms || up_to_ms - after_ms > kMaxTotalsWindowDays * kDayMillis) {
    return absl::InvalidArgumentError(absl::StrCat("up_to_ms: must be after after_ms, by at most ",
                                                   kMaxTotalsWindowDays, " days"));
  }
  return absl::OkStatus();
}

absl::Status CategoryDictionaryFull() {
  return absl::ResourceExhaustedError(
      absl::StrCat("categories: names a category new to the tenant, whose dictionary is full (",
                   kMaxCategoryId + 1, " names: every category any event named, kept for good)"));
}

}  // namespace segmentd::store
