#include "server/insights/redemption_store.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "store/redis/redis_reply.h"
#include "store/redis/redis_script.h"
#include "store/tenant_keys.h"
#include "store/tenant_presence.h"

namespace segmentd {
namespace {

using store::redis::ErrorReplyAsStatus;
using store::redis::RedisReply;
using store::redis::RedisScript;

// KEYS[1] redemptions hash, KEYS[2] counters hash, KEYS[3] the tenant's
// presence key (store/tenant_presence.h), KEYS[4] the latest redemption's
// instant. ARGV[1] order id, [2] record, [3] arm, [4] redeemed at (ms).
// Returns 1 when new, kTenantAbsentReply when the presence key is gone, else
// the record stored for the order (which already redeemed the voucher).
const RedisScript& RecordScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[3]) == 0 then return -4 end
    -- Read before writing: a key of the wrong type fails here, with nothing
    -- recorded (Redis does not undo a script's earlier commands).
    local latest = tonumber(redis.call('GET', KEYS[4]))
    if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
      return redis.call('HGET', KEYS[1], ARGV[1])
    end
    redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
    if not latest or tonumber(ARGV[4]) > latest then redis.call('SET', KEYS[4], ARGV[4]) end
    return 1
  )lua");
  return *script;
}

// Voucher ids are arbitrary bytes but only ever the last key component.
std::string RedeemedKey(absl::string_view tenant, absl::string_view voucher) {
  return absl::StrCat(store::TenantKeyPrefix(tenant), "redeemed:", voucher);
}
std::string CountKey(absl::string_view tenant, absl::string_view voucher) {
  return absl::StrCat(store::TenantKeyPrefix(tenant), "redeemcount:", voucher);
}
// A key of its own rather than a field of the counters: a build before it
// reads every counters field as an arm.
std::string LatestKey(absl::string_view tenant, absl::string_view voucher) {
  return absl::StrCat(store::TenantKeyPrefix(tenant), "redeemlatest:", voucher);
}

}  // namespace

absl::StatusOr<bool> RedemptionStore::Record(absl::string_view tenant,
                                             absl::string_view voucher_id,
                                             absl::string_view order_id,
                                             absl::string_view customer_id, absl::string_view arm,
                                             absl::Time at) {
  const std::vector<std::string> keys = {
      RedeemedKey(tenant, voucher_id), CountKey(tenant, voucher_id),
      store::TenantPresenceKey(tenant), LatestKey(tenant, voucher_id)};
  const std::vector<std::string> args = {
      std::string(order_id), absl::StrCat(absl::ToUnixMillis(at), " ", arm, "\n", customer_id),
      std::string(arm), absl::StrCat(absl::ToUnixMillis(at))};
  auto record = [&] { return ErrorReplyAsStatus(client_->Eval(RecordScript(), keys, args)); };
  absl::StatusOr<RedisReply> reply = store::UnlessTenantAbsent(record(), client_, tenant, record);
  if (!reply.ok()) return reply.status();
  if (reply->is_integer() && reply->integer() == 1) return true;
  if (!reply->is_string()) return absl::DataLossError("stored redemption is not a record");
  // "<ms> <arm>\n<customer id>": the same order sent again is a duplicate;
  // the order named for another customer is a conflict, not a duplicate.
  const size_t newline = reply->str().find('\n');
  if (newline == std::string::npos) return absl::DataLossError("stored redemption is not a record");
  if (absl::string_view(reply->str()).substr(newline + 1) != customer_id) {
    return absl::AlreadyExistsError(absl::StrCat("order_id: order ", order_id,
                                                 " already redeemed this voucher for another "
                                                 "customer"));
  }
  return false;
}

absl::StatusOr<std::map<std::string, int64_t>> RedemptionStore::CountsUntil(
    absl::string_view tenant, absl::string_view voucher_id, absl::Time until) {
  const std::string key = RedeemedKey(tenant, voucher_id);
  const int64_t until_ms = absl::ToUnixMillis(until);
  std::map<std::string, int64_t> counts;
  // HSCAN may return a field twice (while the hash is rehashed): count each
  // order once.
  absl::flat_hash_set<std::string> seen;
  std::string cursor = "0";
  do {
    absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(
        client_->Command({"HSCAN", key, cursor, "COUNT", absl::StrCat(kScanCount)}));
    if (!reply.ok()) return reply.status();
    if (reply->elements().size() != 2) return absl::DataLossError("HSCAN reply is not a page");
    cursor = reply->elements()[0].str();
    const std::vector<RedisReply>& e = reply->elements()[1].elements();
    for (size_t i = 0; i + 1 < e.size(); i += 2) {
      // "<ms> <arm>\n<customer id>", as Record stores it.
      const std::string& record = e[i + 1].str();
      const size_t space = record.find(' ');
      const size_t newline = record.find('\n');
      int64_t ms = 0;
      if (space == std::string::npos || newline == std::string::npos || newline < space ||
          !absl::SimpleAtoi(absl::string_view(record).substr(0, space), &ms)) {
        return absl::DataLossError("stored redemption is not a record");
      }
      if (ms <= until_ms && seen.insert(e[i].str()).second) {
        ++counts[record.substr(space + 1, newline - space - 1)];
      }
    }
  } while (cursor != "0");
  return counts;
}

absl::StatusOr<std::map<std::string, int64_t>> RedemptionStore::Counts(absl::string_view tenant,
                                                                       absl::string_view voucher_id,
                                                                       absl::Time now) {
  // The counters first: a redemption recorded between the two reads moved
  // both (one script), so one the counters hold shows in `latest` too.
  absl::StatusOr<std::vector<RedisReply>> replies = client_->Pipeline(
      {{"HGETALL", CountKey(tenant, voucher_id)}, {"GET", LatestKey(tenant, voucher_id)}});
  if (!replies.ok()) return replies.status();
  absl::StatusOr<RedisReply> latest = ErrorReplyAsStatus(std::move((*replies)[1]));
  if (!latest.ok()) return latest.status();
  int64_t latest_ms = 0;
  if (!latest->is_nil() && !absl::SimpleAtoi(latest->str(), &latest_ms)) {
    return absl::DataLossError("stored latest redemption instant is not a number");
  }
  // A redemption dated ahead (up to a day is accepted) counts from its
  // instant on, as at an explicit as_of.
  if (!latest->is_nil() && latest_ms > absl::ToUnixMillis(now)) {
    return CountsUntil(tenant, voucher_id, now);
  }
  absl::StatusOr<RedisReply> reply = ErrorReplyAsStatus(std::move((*replies)[0]));
  if (!reply.ok()) return reply.status();
  std::map<std::string, int64_t> counts;
  const std::vector<RedisReply>& e = reply->elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(e[i + 1].str(), &n)) {
      return absl::DataLossError("stored redemption count is not a number");
    }
    counts[e[i].str()] = n;
  }
  return counts;
}

}  // namespace segmentd
