#ifndef SEGMENTD_SERVER_TARGETING_VOUCHER_STORE_H_
#define SEGMENTD_SERVER_TARGETING_VOUCHER_STORE_H_

// VoucherStore: the registered voucher targets of each tenant, in Redis.
//
// Keys (docs/redis-keys.md), per tenant t:
//   sd:{t}:vouchers   hash  voucher id -> serialized segmentd.v1.VoucherTarget
//   sd:{t}:voucherids zset  every voucher id, score 0 (lexicographic paging)
//   sd:{t}:vouchersv  string  bumped by every put and delete (cache check)
// Put and Delete are one Lua script each (hash, index and version change
// together). Every command touches O(1) or O(page) entries.
//
// Values are stored as given: the caller validates targets first. Voucher ids
// are 1-128 bytes (any bytes). A tenant holds at most `max_vouchers` targets.
//
// Thread-safe; the client must outlive the store. Errors: UNAVAILABLE when
// Redis cannot be reached, DATA_LOSS for stored bytes that do not parse,
// NOT_FOUND for an unknown voucher id, INVALID_ARGUMENT for bad input.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/coalesced_read.h"
#include "store/redis/redis_client.h"

namespace segmentd::targeting {

inline constexpr size_t kMaxVoucherIdBytes = 128;

// Returns INVALID_ARGUMENT naming `field` unless `voucher_id` is 1-128 bytes.
absl::Status ValidateVoucherId(absl::string_view voucher_id, absl::string_view field);

// Returns OK for a target that may be stored: a valid voucher id, expression
// and arms; else INVALID_ARGUMENT naming the first bad field below `field`,
// e.g. "target.arms[1].weight".
absl::Status ValidateVoucherTarget(const v1::VoucherTarget& target, absl::string_view field);

// Reads the target stored under `voucher_id`. DATA_LOSS when the bytes do not
// parse, or parse into a target stored under another id or one that
// ValidateVoucherTarget refuses: every target is validated before it is
// stored, so such bytes were damaged or written by something else, and
// evaluating them as they are (an expression nested deeper than evaluation
// allows, an arm of weight 0) must not happen.
absl::StatusOr<v1::VoucherTarget> DecodeStoredTarget(absl::string_view bytes,
                                                     absl::string_view voucher_id);

// One page of ListVoucherTargets.
struct VoucherPage {
  std::vector<v1::VoucherTarget> targets;
  // Empty on the last page.
  std::string next_page_token;
};

class VoucherStore {
 public:
  struct Options {
    // Most registered targets per tenant; a Put of a new id beyond it is
    // RESOURCE_EXHAUSTED. Default: 10,000.
    int64_t max_vouchers = 10'000;
    // Ids read per command when reading every target. Default: 500.
    int read_page = 500;
  };

  VoucherStore(store::redis::RedisClient* client, Options options);

  // Stores `target` under target.voucher_id(), replacing any previous one.
  absl::Status Put(absl::string_view tenant, const v1::VoucherTarget& target);
  // Returns the target of `voucher_id`, or NOT_FOUND. As fresh as a direct
  // read (every Put/Delete acknowledged before the call is seen), but served
  // from a per-tenant cache while the tenant's version is unchanged, so the
  // checkout hot path costs a shared version read (CoalescedRead), not a
  // round trip of its own.
  absl::StatusOr<v1::VoucherTarget> Get(absl::string_view tenant, absl::string_view voucher_id);
  // Get() as of a version the caller read with ReadVersion() after its call
  // began (for callers that batch that read, e.g. FreshnessGate).
  absl::StatusOr<v1::VoucherTarget> GetAt(absl::string_view tenant, absl::string_view voucher_id,
                                          const std::string& version);
  // Reads the tenant's version (bumped by every Put and Delete) now.
  absl::StatusOr<std::string> ReadVersion(absl::string_view tenant);
  // The version the newest ReadVersion() of `tenant` returned, when that read
  // was sent at most `max_age` ago (monotonic clock) and no Put or Delete
  // through this store has returned since it was sent; else nullopt (read it
  // then). No store read: for bounded-staleness callers
  // (CONSISTENCY_MINIMIZE_LATENCY), which so always see their own replica's
  // registrations.
  std::optional<std::string> VersionKnownWithin(absl::string_view tenant, absl::Duration max_age);
  // Removes `voucher_id`; NOT_FOUND when it was not registered.
  absl::Status Delete(absl::string_view tenant, absl::string_view voucher_id);
  // Returns up to `page_size` targets in voucher-id order after `page_token`
  // ("" = from the first); INVALID_ARGUMENT naming "page_token" for a token
  // List did not return.
  absl::StatusOr<VoucherPage> List(absl::string_view tenant, int page_size,
                                   absl::string_view page_token);
  // Returns every target of the tenant, in voucher-id order. Cached per
  // tenant: one (shared) GET of the version when nothing changed since the
  // last call.
  absl::StatusOr<std::shared_ptr<const std::vector<v1::VoucherTarget>>> All(
      absl::string_view tenant);

 private:
  // What is known of one tenant at one version.
  struct Cached {
    std::string version;
    // Every target, once All() has read them at `version` (else nullptr).
    std::shared_ptr<const std::vector<v1::VoucherTarget>> targets;
    // Targets Get() has read at `version`.
    absl::flat_hash_map<std::string, std::shared_ptr<const v1::VoucherTarget>> by_id;
  };

  // What the newest ReadVersion() learned of a tenant's version.
  struct KnownVersion {
    std::string version;
    // When that read was sent (SteadyNow()); nullopt after a local Put or
    // Delete.
    std::optional<absl::Duration> sent;
    // Put and Delete calls through this store that have returned.
    uint64_t local_writes = 0;
  };

  // Marks what ReadVersion() learned of `tenant` as out of date (after a
  // Put or Delete through this store).
  void ForgetKnownVersion(absl::string_view tenant) ABSL_LOCKS_EXCLUDED(mu_);
  // Returns the tenant's version, from a read that began after the call.
  absl::StatusOr<std::string> CurrentVersion(absl::string_view tenant);
  // Returns the tenant's cache entry for `version` (emptied when the version
  // differs from the cached one; never nullptr).
  Cached* CacheAt(absl::string_view tenant, const std::string& version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Reads the targets of `ids` (missing ones skipped).
  absl::StatusOr<std::vector<v1::VoucherTarget>> ReadTargets(absl::string_view tenant,
                                                             const std::vector<std::string>& ids);
  // Returns up to `limit` ids after `after` ("" = from the first).
  absl::StatusOr<std::vector<std::string>> IdsAfter(absl::string_view tenant,
                                                    absl::string_view after, int limit);

  store::redis::RedisClient* const client_;
  const Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<CoalescedRead<std::string>>> versions_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, KnownVersion> known_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_VOUCHER_STORE_H_
