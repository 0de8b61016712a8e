#include "server/live/live_test_fixture.h"

#include <algorithm>
#include <utility>

#include "server/live/test_config_update.h"

namespace segmentd {

absl::StatusOr<std::vector<store::WriteResult>> CountingStore::WriteWithResults(
    absl::string_view tenant, absl::Span<const store::CustomerWrite> writes) {
  ++write_calls;
  absl::StatusOr<std::vector<store::WriteResult>> committed =
      MemoryCustomerStore::WriteWithResults(tenant, writes);
  if (!committed.ok()) return committed;
  for (size_t i = 0; i < writes.size(); ++i) {
    if ((*committed)[i] != store::WriteResult::kCommitted) continue;
    ++(writes[i].bookkeeping_only ? bookkeeping_writes : full_writes);
    if (!writes[i].bookkeeping_only && writes[i].measures_as_stored) ++measures_kept_writes;
  }
  return committed;
}

absl::StatusOr<std::vector<store::ProfileRead>> CountingStore::ReadProfiles(
    absl::string_view tenant, absl::Span<const std::string> customer_ids) {
  {
    absl::MutexLock lock(&read_mu_);
    profiles_read_.insert(profiles_read_.end(), customer_ids.begin(), customer_ids.end());
    most_profiles_per_read_ = std::max(most_profiles_per_read_, customer_ids.size());
  }
  return MemoryCustomerStore::ReadProfiles(tenant, customer_ids);
}

absl::StatusOr<std::optional<store::VersionedBlob>> CountingStore::ReadConfig(
    absl::string_view tenant) {
  if (config_unavailable) return absl::UnavailableError("Redis is not connected (test)");
  return MemoryCustomerStore::ReadConfig(tenant);
}

absl::StatusOr<store::IdPage> CountingStore::ScanCustomers(absl::string_view tenant,
                                                           absl::string_view cursor, int count) {
  if (scan_unavailable) return absl::UnavailableError("Redis is not connected (test)");
  return MemoryCustomerStore::ScanCustomers(tenant, cursor, count);
}

size_t CountingStore::TakeMostProfilesPerRead() {
  absl::MutexLock lock(&read_mu_);
  return std::exchange(most_profiles_per_read_, 0);
}

void CountingStore::NoteAsked(absl::string_view tenant) {
  absl::MutexLock lock(&read_mu_);
  if (std::find(tenants_asked_.begin(), tenants_asked_.end(), tenant) == tenants_asked_.end()) {
    tenants_asked_.emplace_back(tenant);
  }
}

absl::StatusOr<std::vector<std::string>> CountingStore::Due(absl::string_view tenant,
                                                            absl::Time now, int limit) {
  NoteAsked(tenant);
  return MemoryCustomerStore::Due(tenant, now, limit);
}

absl::StatusOr<std::vector<store::CustomerStore::Recheck>> CountingStore::Rechecks(
    absl::string_view tenant, int limit) {
  NoteAsked(tenant);
  return MemoryCustomerStore::Rechecks(tenant, limit);
}

std::vector<std::string> CountingStore::TakeTenantsAsked() {
  absl::MutexLock lock(&read_mu_);
  return std::exchange(tenants_asked_, {});
}

std::vector<std::string> CountingStore::TakeProfilesRead() {
  absl::MutexLock lock(&read_mu_);
  std::vector<std::string> ids = std::exchange(profiles_read_, {});
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::vector<store::WriteResult>> CountingStore::ReadAndWrite(
    absl::string_view tenant, absl::Span<const std::string> customer_ids, WritesOf decide) {
  ++read_and_write_calls;
  const int running = ++read_and_write_running;
  int most = most_read_and_write_running.load();
  while (running > most && !most_read_and_write_running.compare_exchange_weak(most, running)) {
  }
  absl::SleepFor(read_and_write_delay);
  absl::StatusOr<std::vector<store::WriteResult>> results =
      MemoryCustomerStore::ReadAndWrite(tenant, customer_ids, decide);
  --read_and_write_running;
  return results;
}

absl::StatusOr<RedisStoreForTest> StartRedisStore() {
  absl::StatusOr<testing::RedisWithClient> redis = testing::StartRedisWithClient();
  if (!redis.ok()) return redis.status();
  if (absl::Status s = testing::RegisterTenant(redis->client.get(), "acme"); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<store::RedisCustomerStore>> store =
      store::RedisCustomerStore::Create(redis->client.get(), {});
  if (!store.ok()) return store.status();
  return RedisStoreForTest{*std::move(redis), *std::move(store)};
}

LiveTestFixture::LiveTestFixture(absl::Time start, TenantContexts::Options context_options)
    : now_(start) {
  context_options.now = [this] { return now_; };
  contexts_ = std::make_unique<TenantContexts>(&store_, std::move(context_options));
  LiveMembership::Options options;
  options.now = [this] { return now_; };
  live_ = std::make_unique<LiveMembership>(&store_, contexts_.get(), options);
}

int64_t LiveTestFixture::StoreConfigAndReevaluate(const std::string& tenant,
                                                  const engine::SegmentConfig& config,
                                                  bool by_profile, int64_t* deferred) {
  absl::StatusOr<int64_t> moved =
      ApplyConfigUpdate(store_, *contexts_, *live_, tenant, config, by_profile, now_, deferred);
  EXPECT_TRUE(moved.ok()) << moved.status();
  return moved.value_or(-1);
}

}  // namespace segmentd
