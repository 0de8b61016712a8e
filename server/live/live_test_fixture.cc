#include "server/live/live_test_fixture.h"

#include <utility>

namespace segmentd {

absl::StatusOr<std::vector<bool>> CountingStore::Write(
    absl::string_view tenant, absl::Span<const store::CustomerWrite> writes) {
  ++write_calls;
  absl::StatusOr<std::vector<bool>> committed = MemoryCustomerStore::Write(tenant, writes);
  if (!committed.ok()) return committed;
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!(*committed)[i]) continue;
    ++(writes[i].bookkeeping_only ? bookkeeping_writes : full_writes);
    if (!writes[i].bookkeeping_only && writes[i].measures_as_stored) ++measures_kept_writes;
  }
  return committed;
}

LiveTestFixture::LiveTestFixture(absl::Time start, TenantContexts::Options context_options)
    : now_(start) {
  context_options.now = [this] { return now_; };
  contexts_ = std::make_unique<TenantContexts>(&store_, std::move(context_options));
  LiveMembership::Options options;
  options.now = [this] { return now_; };
  live_ = std::make_unique<LiveMembership>(&store_, contexts_.get(), options);
}

}  // namespace segmentd
