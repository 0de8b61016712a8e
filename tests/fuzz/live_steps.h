#ifndef SEGMENTD_TESTS_FUZZ_LIVE_STEPS_H_
#define SEGMENTD_TESTS_FUZZ_LIVE_STEPS_H_

// The steps redis_live_fuzz and live_steps_fuzz drive: a tenant's batch of
// events, statistics passes, days passing, a config change, through two
// replicas of segmentd (what one process runs over a store) per store, on a
// clock the target moves. After each step each store's description
// (store_snapshot.h) and the step's results must agree across stores, every
// replica's targeting index must hold its store's member sets, and after the
// statistics passes every stored membership must be what a full
// re-evaluation computes (exact_membership.h).
//
// Input: one byte choosing how many days pass (1-256), one choosing the
// config change, then a serialized BulkIngestRequest (up to 64 events). A
// hash of the whole input picks the replica taking each step and where the
// batch is split, so inputs keep one format and every mutation can move them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "proto/segmentd/v1/ingest.pb.h"
#include "server/live/live_membership.h"
#include "server/live/statistics_mover.h"
#include "server/live/tenant_context.h"
#include "server/live/transition_scheduler.h"
#include "server/targeting/membership_index.h"
#include "store/customer_store.h"

namespace segmentd::fuzz {

// What a segmentd process runs over one store, on a clock the target moves.
struct Stack {
  // Every pointer must outlive the stack. The index's tail reads through
  // `tail_store` (a connection of its own over Redis: it blocks in XREAD).
  Stack(store::CustomerStore* store, store::CustomerStore* tail_store, const std::string* tenant,
        const absl::Time* clock);

  static targeting::MembershipIndex::Options IndexOptions();

  store::CustomerStore* store;
  TenantContexts contexts;
  LiveMembership live;
  TransitionScheduler scheduler;
  StatisticsMover mover;
  // What the voucher service's queries read: loaded from the store, then
  // following its change stream.
  targeting::MembershipIndex index;
};

// A store and the two replicas serving it.
struct Side {
  std::string name;  // in failure reports: "in memory", "in Redis"
  std::array<Stack*, 2> replicas;
};

struct StepsInput {
  int days = 1;  // 1-256
  uint8_t config_choice = 0;
  v1::BulkIngestRequest request;
  uint64_t plan = 0;  // bit i: the replica taking step i; bits 32-63: the split
};

// Nullopt for an input the targets skip (too short, not a request, too many
// events).
std::optional<StepsInput> ParseStepsInput(const uint8_t* data, size_t size);

// Runs every step over every side of `tenant` (each side's stores empty of it;
// `clock` is the stacks' clock, moved here), checking what the header says:
// the first side is described and checked exact, the others compared with it.
void RunSteps(const StepsInput& input, absl::Span<const Side> sides, const std::string& tenant,
              absl::Time* clock);

// What a store's member sets hold: every segment a customer can be in, and
// its members, sorted; and how many customers the store knows.
struct StoredMembers {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> members;  // per name
  int64_t customers = 0;
};
StoredMembers ReadMembers(store::CustomerStore& store, const std::string& tenant);

// How a query makes the index fresh: Read(fresh) (the sync queries), or
// AwaitFresh, then ReadNow (FreshnessGate: fully consistent checks).
enum class FreshRead { kRead, kAwaitThenReadNow };

// Each segment's members as `index` sees them, made fresh the `way` given,
// equal `stored`'s, and it knows every customer.
void CheckIndex(targeting::MembershipIndex& index, const StoredMembers& stored,
                const std::string& tenant, const std::string& where, FreshRead way);

// A target running the steps gets its Seeds() (fuzz_target.h) here:
// generated customers' histories, four per batch, with other days and config
// changes each.

}  // namespace segmentd::fuzz

#endif  // SEGMENTD_TESTS_FUZZ_LIVE_STEPS_H_
