#include "server/live/apply_batcher.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace segmentd {

ApplyBatcher::ApplyBatcher(LiveMembership* live, Options options)
    : live_(live), options_(options) {
  const int workers = std::max(1, options_.workers);
  for (int i = 0; i < workers; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    Shard* shard = shards_.back().get();
    shard->worker = std::thread([this, shard] { Run(shard); });
  }
}

ApplyBatcher::~ApplyBatcher() {
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mu);
    shard->stopping = true;
  }
  for (const auto& shard : shards_) shard->worker.join();
}

void ApplyBatcher::Submit(const std::string& tenant, CustomerEvents events, Done done) {
  // By customer: one customer's submissions stay in order on one worker,
  // while a tenant's batches run on every worker at once (disjoint
  // customers, so they never conflict), overlapping one batch's Redis round
  // trips with another's classification.
  Shard& shard = *shards_[absl::HashOf(tenant, events.customer_id) % shards_.size()];
  absl::Status refused = absl::UnavailableError("segmentd is shutting down");
  {
    absl::MutexLock lock(&shard.mu);
    if (!shard.stopping && shard.queue.size() < options_.max_queued) {
      shard.queue.push_back(Submission{tenant, std::move(events), std::move(done)});
      return;
    }
    if (!shard.stopping) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat(shard.queue.size(), " events are waiting to be committed; retry later"));
    }
  }
  done(refused);
}

void ApplyBatcher::Run(Shard* shard) {
  while (true) {
    std::vector<Submission> batch;
    bool stopping = false;
    {
      absl::MutexLock lock(&shard->mu);
      struct Wake {
        Shard* s;
        bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return s->stopping || !s->queue.empty();
        }
      } wake{shard};
      shard->mu.Await(absl::Condition(&wake));
      stopping = shard->stopping;
      const size_t n = stopping ? shard->queue.size()
                                : std::min(shard->queue.size(), options_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(shard->queue.front()));
        shard->queue.pop_front();
      }
    }
    if (stopping) {
      for (Submission& s : batch) s.done(absl::UnavailableError("segmentd is shutting down"));
      return;  // Submit queues nothing once stopping.
    }
    // Group by tenant, keeping submission order within each.
    std::vector<std::string> tenants;
    absl::flat_hash_map<std::string, std::vector<Submission*>> groups;
    for (Submission& s : batch) {
      std::vector<Submission*>& group = groups[s.tenant];
      if (group.empty()) tenants.push_back(s.tenant);
      group.push_back(&s);
    }
    for (const std::string& tenant : tenants) Commit(tenant, std::move(groups[tenant]));
  }
}

void ApplyBatcher::Commit(const std::string& tenant, std::vector<Submission*> group) {
  // One entry per customer, its submissions' events concatenated in order;
  // remember where each submission's events went.
  struct Slice {
    size_t customer;
    size_t first;
    size_t count;
  };
  std::vector<CustomerEvents> customers;
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<Slice> slices;
  slices.reserve(group.size());
  for (Submission* s : group) {
    auto [it, inserted] = index.try_emplace(s->events.customer_id, customers.size());
    if (inserted) customers.push_back(CustomerEvents{s->events.customer_id, {}});
    std::vector<ProfileMutation>& mutations = customers[it->second].mutations;
    slices.push_back(Slice{it->second, mutations.size(), s->events.mutations.size()});
    for (ProfileMutation& m : s->events.mutations) mutations.push_back(std::move(m));
  }
  absl::StatusOr<std::vector<CustomerOutcome>> applied = live_->Apply(tenant, std::move(customers));
  for (size_t i = 0; i < group.size(); ++i) {
    if (!applied.ok()) {
      group[i]->done(applied.status());
      continue;
    }
    const Slice& slice = slices[i];
    const CustomerOutcome& all = (*applied)[slice.customer];
    CustomerOutcome mine;
    mine.commit = all.commit;
    if (!mine.commit.ok()) {
      group[i]->done(std::move(mine));
      continue;
    }
    mine.events.assign(all.events.begin() + slice.first,
                       all.events.begin() + slice.first + slice.count);
    mine.after = all.after;
    group[i]->done(std::move(mine));
  }
}

}  // namespace segmentd
