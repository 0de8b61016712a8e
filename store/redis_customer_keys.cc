#include "store/redis_customer_keys.h"

#include "absl/strings/str_cat.h"
#include "store/tenant_keys.h"

namespace segmentd::store {

std::string CustomerKey(absl::string_view t, absl::string_view id) {
  return absl::StrCat(TenantKeyPrefix(t), "c:", id);
}
std::string SegmentPrefix(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "s:"); }
std::string SegmentKey(absl::string_view t, absl::string_view segment) {
  return absl::StrCat(SegmentPrefix(t), segment);
}
std::string OrdinalsKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "ord"); }
std::string OrdinalCounterKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "ordseq");
}
std::string ScheduleKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "sched"); }
std::string ChangesKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "changes"); }
std::string MeasureKey(absl::string_view t, absl::string_view measure) {
  return absl::StrCat(TenantKeyPrefix(t), "m:", measure);
}
std::string ConfigKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "config"); }
std::string DailyKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "daily"); }
std::string DayLogPrefix(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "dl:"); }
std::string AovKey(absl::string_view t, AovIndex index) {
  return absl::StrCat(TenantKeyPrefix(t), "m:aov", static_cast<int>(index));
}
std::string CategoryIdsKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "cat"); }
std::string CategoryNamesKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "catn");
}
std::string RechecksKey(absl::string_view t) { return absl::StrCat(TenantKeyPrefix(t), "recheck"); }
std::string StatsInUseKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "stats:used");
}
std::string RegistrationKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "m:reg");
}
std::string OrderOwnersKey(absl::string_view t, uint64_t order) {
  return absl::StrCat(TenantKeyPrefix(t), "oid:", order >> 48);
}
std::string OrderField(uint64_t order) {
  std::string field(8, '\0');
  for (int i = 7; i >= 0; --i, order >>= 8) field[i] = static_cast<char>(order & 0xff);
  return field;
}
std::string RegistrationCompleteKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "m:reg:complete");
}
std::string OrderRecordCompleteKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "oid:complete");
}
std::string AovIndexesKeptKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "m:aov:kept");
}
std::string OrderRecordNextKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "oid:next");
}
std::string RegistrationNextKey(absl::string_view t) {
  return absl::StrCat(TenantKeyPrefix(t), "m:reg:next");
}
std::string ReplicaKey(absl::string_view replica) { return absl::StrCat("sd:replica:", replica); }

}  // namespace segmentd::store
