// Redis key names of the customer store (docs/redis-keys.md). `t` is a
// validated tenant id (ValidateTenant); customer ids and segment names are
// only ever appended after a fixed prefix, so no id can address another
// tenant's keys or another kind of key. Internal to RedisCustomerStore and
// its tests.
#ifndef SEGMENTD_STORE_REDIS_CUSTOMER_KEYS_H_
#define SEGMENTD_STORE_REDIS_CUSTOMER_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "store/customer_store.h"

namespace segmentd::store {

std::string CustomerKey(absl::string_view t, absl::string_view id);
std::string SegmentPrefix(absl::string_view t);
std::string SegmentKey(absl::string_view t, absl::string_view segment);
std::string OrdinalsKey(absl::string_view t);
std::string OrdinalCounterKey(absl::string_view t);
std::string ScheduleKey(absl::string_view t);
std::string ChangesKey(absl::string_view t);
std::string MeasureKey(absl::string_view t, absl::string_view measure);
std::string ConfigKey(absl::string_view t);
std::string DailyKey(absl::string_view t);
// The day logs (order_log.h): sd:{t}:dl:<day>.
std::string DayLogPrefix(absl::string_view t);
std::string AovKey(absl::string_view t, AovIndex index);
std::string CategoryIdsKey(absl::string_view t);
std::string CategoryNamesKey(absl::string_view t);
std::string RechecksKey(absl::string_view t);
std::string StatsInUseKey(absl::string_view t);
std::string RegistrationKey(absl::string_view t);
// The order-owner hash holding order `order` (an id fingerprint): orders are
// spread over 2^16 small hashes by the fingerprint's top bits, so that each
// stays a compact listpack (at 5M orders, ~76 fields each) where one hash
// of every order would cost Redis ~70 bytes per order.
std::string OrderOwnersKey(absl::string_view t, uint64_t order);
// The field of `order` in its hash: the fingerprint's 8 bytes, big-endian.
std::string OrderField(uint64_t order);
// Set with the tenant's first customer, or by the backfill of a tenant stored
// before the index: every customer of the tenant has its registration index
// entry (CustomerStore::RegistrationsUnindexedFrom).
std::string RegistrationCompleteKey(absl::string_view t);
// Set with the tenant's first customer, or by the backfill of a tenant stored
// before the record: the order record holds every order of the tenant
// (CustomerStore::OrdersUnrecordedFrom).
std::string OrderRecordCompleteKey(absl::string_view t);
// Set with the tenant's first customer: every write of the tenant's
// customers kept both AOV indexes (CustomerStore::AovIndexesKeptFromStart).
std::string AovIndexesKeptKey(absl::string_view t);
// In a tenant without that marker: the first ordinal whose orders may not be
// recorded yet (absent: 1).
std::string OrderRecordNextKey(absl::string_view t);
// In a tenant without `m:reg:complete`: the first ordinal whose registration
// index entries may not be stored yet (absent: 1).
std::string RegistrationNextKey(absl::string_view t);
// Not per tenant: one key per replica, whatever tenants it serves.
std::string ReplicaKey(absl::string_view replica);

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_REDIS_CUSTOMER_KEYS_H_
