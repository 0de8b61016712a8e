#ifndef SEGMENTD_SERVER_LIVE_LIVE_TEST_FIXTURE_H_
#define SEGMENTD_SERVER_LIVE_LIVE_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "store/memory_customer_store.h"
#include "store/redis_customer_store.h"
#include "testing/redis_test_client.h"

namespace segmentd {

// An in-memory store that counts the writes it commits, by kind.
class CountingStore : public store::MemoryCustomerStore {
 public:
  absl::StatusOr<std::vector<store::WriteResult>> WriteWithResults(
      absl::string_view tenant, absl::Span<const store::CustomerWrite> writes) override;

  // Records the ids asked for (config updates read their candidates so).
  absl::StatusOr<std::vector<store::ProfileRead>> ReadProfiles(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) override;
  // The ids ReadProfiles was asked for since the last call, sorted.
  std::vector<std::string> TakeProfilesRead();
  // The most ids one ReadProfiles call was asked for since the last call.
  size_t TakeMostProfilesPerRead();
  // UNAVAILABLE while `config_unavailable` is set, as when Redis is down.
  absl::StatusOr<std::optional<store::VersionedBlob>> ReadConfig(absl::string_view tenant) override;
  // UNAVAILABLE while `scan_unavailable` is set (Redis gone mid-way).
  absl::StatusOr<store::IdPage> ScanCustomers(absl::string_view tenant, absl::string_view cursor,
                                              int count) override;
  // Counts the calls (re-classifications read under their writes).
  absl::StatusOr<std::vector<store::WriteResult>> ReadAndWrite(
      absl::string_view tenant, absl::Span<const std::string> customer_ids,
      WritesOf decide) override;

  std::atomic<int64_t> write_calls{0};  // WriteWithResults() calls (round trips)
  std::atomic<int64_t> read_and_write_calls{0};
  // ReadAndWrite() calls running now, and the most seen at once; each call
  // first sleeps this long (set before the calls), so that calls made at
  // once overlap.
  std::atomic<int> read_and_write_running{0};
  std::atomic<int> most_read_and_write_running{0};
  absl::Duration read_and_write_delay = absl::ZeroDuration();
  std::atomic<int64_t> full_writes{0};
  std::atomic<int64_t> bookkeeping_writes{0};  // CustomerWrite::bookkeeping_only
  // Full writes with CustomerWrite::measures_as_stored.
  std::atomic<int64_t> measures_kept_writes{0};
  std::atomic<bool> config_unavailable{false};
  std::atomic<bool> scan_unavailable{false};

  // Record the tenant each call asks about (a scheduler pass should ask only
  // the tenants with something to do).
  absl::StatusOr<std::vector<std::string>> Due(absl::string_view tenant, absl::Time now,
                                               int limit) override;
  absl::StatusOr<std::vector<Recheck>> Rechecks(absl::string_view tenant, int limit) override;
  // The tenants Due and Rechecks were asked about since the last call, in
  // order, each once.
  std::vector<std::string> TakeTenantsAsked();

 private:
  void NoteAsked(absl::string_view tenant) ABSL_LOCKS_EXCLUDED(read_mu_);

  absl::Mutex read_mu_;
  std::vector<std::string> tenants_asked_ ABSL_GUARDED_BY(read_mu_);
  std::vector<std::string> profiles_read_ ABSL_GUARDED_BY(read_mu_);
  size_t most_profiles_per_read_ ABSL_GUARDED_BY(read_mu_) = 0;
};

// A test's own redis-server with a RedisCustomerStore (default options) over
// it, for the cases that must run against real Redis, with tenant "acme"
// registered (a store refuses writes for an unregistered tenant). The store
// is declared last so that it is destroyed first, while its client still
// works.
struct RedisStoreForTest {
  testing::RedisWithClient redis;
  std::unique_ptr<store::RedisCustomerStore> store;
};
absl::StatusOr<RedisStoreForTest> StartRedisStore();

// LiveTestFixture: live membership over an in-memory store, for tests.
// TenantContexts and LiveMembership both read the fixture's clock `now_`,
// which moves only when the test sets it, so every classification and every
// due transition happens at an instant the test chose.
class LiveTestFixture : public ::testing::Test {
 protected:
  // Starts the clock at `start`. `context_options.now` is replaced by the
  // fixture's clock; the other options are the caller's.
  explicit LiveTestFixture(absl::Time start, TenantContexts::Options context_options = {});

  // Stores `config` for `tenant` as ConfigService::Store does and
  // re-classifies: from the replaced snapshot (`by_profile`, as an update
  // does) or fully. Returns how many customers moved (-1 on a failure, also
  // reported to gtest) and sets `*deferred` to the rechecks it left.
  int64_t StoreConfigAndReevaluate(const std::string& tenant, const engine::SegmentConfig& config,
                                   bool by_profile, int64_t* deferred);

  // Declared in dependency order, so destruction runs the other way: live_,
  // then contexts_, then the store both point at.
  absl::Time now_;
  CountingStore store_;
  std::unique_ptr<TenantContexts> contexts_;
  std::unique_ptr<LiveMembership> live_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_LIVE_TEST_FIXTURE_H_
