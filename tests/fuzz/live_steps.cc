#include "tests/fuzz/live_steps.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "server/config_convert.h"
#include "server/live/test_config_update.h"
#include "server/services/bulk_batch.h"
#include "tests/fuzz/exact_membership.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/generated_events.h"
#include "tests/fuzz/store_snapshot.h"

namespace segmentd::fuzz {
namespace {

constexpr int kMaxEvents = 64;

std::function<absl::StatusOr<std::vector<std::string>>()> Lister(const std::string* tenant) {
  return [tenant]() -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{*tenant};
  };
}
TenantContexts::Options ContextOptions(const absl::Time* clock) {
  TenantContexts::Options o;
  o.now = [clock] { return *clock; };
  // Snapshots are reloaded only when something says they must be (a write
  // refused for an older config version, a statistics pass, new category
  // names): days pass between steps on the target's clock, and a replica
  // holding a stale snapshot across them is what the store's version checks
  // and the movers are there for.
  o.max_age = absl::InfiniteDuration();
  return o;
}
LiveMembership::Options LiveOptions(const absl::Time* clock) {
  LiveMembership::Options o;
  o.now = [clock] { return *clock; };
  o.reevaluate_threads = 1;  // pages in one order: the same writes in both stores
  o.background_pipeline = 2;
  return o;
}
TransitionScheduler::Options SchedulerOptions(const absl::Time* clock) {
  TransitionScheduler::Options o;
  o.now = [clock] { return *clock; };
  o.batch = 3;
  o.recheck_slice = absl::Hours(1);  // a pass drains every recheck
  return o;
}
StatisticsMover::Options MoverOptions(const absl::Time* clock) {
  StatisticsMover::Options o;
  o.now = [clock] { return *clock; };
  return o;
}

// The config step's choice.
engine::SegmentConfig ChangedConfig(uint8_t choice) {
  switch (choice % 6) {
    case 0:
    case 1:
    case 2:
    case 3:
      return engine::PresetConfig(static_cast<engine::Preset>(choice % 6));
    case 4: {
      engine::SegmentConfig c;
      c.vip.top_percent = 1 + choice % 50;
      return c;
    }
    default: {
      engine::SegmentConfig c;
      c.lapsed.inactive_days = 1 + choice % 200;
      return c;
    }
  }
}

// An update as UpdateConfig makes it (ApplyConfigUpdate: from the replaced
// snapshot, or `in_full` every customer), then marked applied. Returns the
// customers moved.
int64_t UpdateConfig(Stack& stack, const std::string& tenant, const engine::SegmentConfig& config,
                     bool in_full, absl::Time now) {
  absl::StatusOr<int64_t> moved =
      ApplyConfigUpdate(*stack.store, stack.contexts, stack.live, tenant, config, !in_full, now);
  FUZZ_CHECK(moved.ok(), moved.status().ToString());
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> updated = stack.contexts.GetCurrent(tenant);
  FUZZ_CHECK(updated.ok(), updated.status().ToString());
  absl::Status applied = stack.store->ConfigApplied(tenant, (*updated)->config_version);
  FUZZ_CHECK(applied.ok(), applied.ToString());
  return *moved;
}

// Compares the sides after each step: their results, their stores, each
// replica's index; and that the first side's memberships are exact.
class Comparison {
 public:
  Comparison(absl::Span<const Side> sides, const std::string& tenant,
             const v1::BulkIngestRequest& request)
      : sides_(sides), tenant_(tenant) {
    for (const v1::Event& e : request.events()) {
      if (e.has_order_placed()) order_ids_.push_back(e.order_placed().order_id());
    }
  }

  // Compares the sides after `step`, and what the step returned on each
  // (`results`, one per side). The daily totals only after the steps that
  // write orders and the last.
  enum class Totals { kSkip, kCompare };
  void After(const std::string& step, absl::Time now, const std::vector<std::string>& results,
             Totals totals = Totals::kSkip) {
    DescribeOptions options;
    options.daily_totals = totals == Totals::kCompare;
    std::vector<std::string> first;
    for (size_t i = 0; i < sides_.size(); ++i) {
      const Side& side = sides_[i];
      FUZZ_CHECK(results[i] == results[0], absl::StrCat(step, ": ", sides_[0].name, " ", results[0],
                                                        "; ", side.name, " ", results[i]));
      // A side's replicas share its store: one describes it.
      absl::StatusOr<std::vector<std::string>> described =
          DescribeStore(*side.replicas[0]->store, tenant_, now, order_ids_, options);
      FUZZ_CHECK(described.ok(),
                 absl::StrCat(step, ": ", side.name, " ", described.status().ToString()));
      if (i == 0) {
        first = *std::move(described);
      } else {
        const std::string difference = FirstDifference(first, *described);
        FUZZ_CHECK(difference.empty(),
                   absl::StrCat("after ", step, ", ", sides_[0].name, " (first) and ", side.name,
                                " (second), ", difference));
      }
      // Each replica's index against its store's member sets, read once.
      const StoredMembers stored = ReadMembers(*side.replicas[0]->store, tenant_);
      // Replica 0's index is read as the sync queries read it, replica 1's as
      // fully consistent checks do.
      for (int r = 0; r < 2; ++r) {
        CheckIndex(side.replicas[r]->index, stored, tenant_,
                   absl::StrCat("after ", step, ", ", side.name, ", replica ", r),
                   r == 0 ? FreshRead::kRead : FreshRead::kAwaitThenReadNow);
      }
    }
  }

  // After `step`, every stored membership is what a full re-evaluation under
  // `config` computes at `now` (the stores being equal, the first is read).
  void Exact(const std::string& step, const engine::SegmentConfig& config, absl::Time now) {
    absl::StatusOr<std::string> inexact =
        FirstInexactMembership(*sides_[0].replicas[0]->store, tenant_, config, now);
    FUZZ_CHECK(inexact.ok(), absl::StrCat(step, ": ", inexact.status().ToString()));
    FUZZ_CHECK(inexact->empty(), absl::StrCat("after ", step, ", ", *inexact));
  }

 private:
  const absl::Span<const Side> sides_;
  const std::string& tenant_;
  std::vector<std::string> order_ids_;
};

std::string Moved(const absl::StatusOr<int64_t>& moved) {
  return moved.ok() ? absl::StrCat(*moved, " moved") : moved.status().ToString();
}

// Both replicas' statistics passes, `first`'s first (each corrects what its
// own writes used); the customers they moved together.
std::string BothMovers(Stack& first, Stack& second) {
  const absl::StatusOr<int64_t> a = first.mover.RunOnce();
  if (!a.ok()) return Moved(a);
  const absl::StatusOr<int64_t> b = second.mover.RunOnce();
  return b.ok() ? Moved(*a + *b) : Moved(b);
}

// Events [begin, end) of `request`, applied as one batch; its response or error.
std::string ApplyEvents(Stack& stack, const std::string& tenant,
                        const v1::BulkIngestRequest& request, int begin, int end) {
  v1::BulkIngestRequest part;
  for (int i = begin; i < end; ++i) *part.add_events() = request.events(i);
  v1::BulkIngestResponse response;
  absl::Status applied =
      ApplyBulkBatch(&stack.contexts, &stack.live, nullptr, tenant, part, &response);
  return applied.ok() ? response.ShortDebugString() : applied.ToString();
}

// `request` as new events: every order, refund and message id renamed (the
// references between them kept), so that none is a duplicate of the first.
v1::BulkIngestRequest Renamed(const v1::BulkIngestRequest& request) {
  v1::BulkIngestRequest out = request;
  const std::string suffix = "+again";
  for (v1::Event& e : *out.mutable_events()) {
    if (e.has_order_placed()) e.mutable_order_placed()->mutable_order_id()->append(suffix);
    if (e.has_order_cancelled()) e.mutable_order_cancelled()->mutable_order_id()->append(suffix);
    if (e.has_order_refunded()) {
      e.mutable_order_refunded()->mutable_order_id()->append(suffix);
      e.mutable_order_refunded()->mutable_refund_id()->append(suffix);
    }
    if (e.has_cart_converted()) e.mutable_cart_converted()->mutable_order_id()->append(suffix);
    if (e.has_engagement()) e.mutable_engagement()->mutable_message_id()->append(suffix);
  }
  return out;
}

// FNV-1a of the input: the plan of StepsInput.
uint64_t Hash(const uint8_t* data, size_t size) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

}  // namespace

Stack::Stack(store::CustomerStore* store, store::CustomerStore* tail_store,
             const std::string* tenant, const absl::Time* clock)
    : store(store),
      contexts(store, ContextOptions(clock)),
      live(store, &contexts, LiveOptions(clock)),
      scheduler(store, &live, Lister(tenant), SchedulerOptions(clock)),
      mover(store, &contexts, &live, Lister(tenant), MoverOptions(clock)),
      index(store, tail_store, IndexOptions()) {}

targeting::MembershipIndex::Options Stack::IndexOptions() {
  targeting::MembershipIndex::Options o;
  o.scan_count = 3;
  o.change_batch = 4;
  o.tail_wait = absl::Milliseconds(1);  // the destructor waits for the tail's read
  return o;
}

std::optional<StepsInput> ParseStepsInput(const uint8_t* data, size_t size) {
  if (size < 2) return std::nullopt;
  StepsInput input;
  input.days = 1 + data[0];
  input.config_choice = data[1];
  if (!input.request.ParseFromArray(data + 2, static_cast<int>(size - 2))) return std::nullopt;
  if (input.request.events_size() > kMaxEvents) return std::nullopt;
  input.plan = Hash(data, size);
  return input;
}

void RunSteps(const StepsInput& input, absl::Span<const Side> sides, const std::string& tenant,
              absl::Time* clock) {
  const v1::BulkIngestRequest& request = input.request;
  Comparison compare(sides, tenant, request);
  // The replica taking step `i` on a side, and the other one.
  auto taking = [&input](const Side& side, int i) -> Stack& {
    return *side.replicas[(input.plan >> i) & 1];
  };
  auto other = [&input](const Side& side, int i) -> Stack& {
    return *side.replicas[1 - ((input.plan >> i) & 1)];
  };
  // What `step` returns on each side, run on one side after the other.
  auto each = [&sides](const std::function<std::string(const Side&)>& step) {
    std::vector<std::string> results;
    for (const Side& side : sides) results.push_back(step(side));
    return results;
  };

  const engine::SegmentConfig defaults;
  compare.After("the config", *clock, each([&](const Side& side) {
                  Stack& s = *side.replicas[0];
                  absl::StatusOr<int64_t> version = s.store->WriteConfig(
                      tenant, 0, ConfigToProto(defaults).SerializeAsString(), *clock);
                  FUZZ_CHECK(version.ok() && s.store->ConfigApplied(tenant, *version).ok(),
                             "store the config");
                  return std::string();
                }));

  // The batch in two parts, each through the replica its step picks: one
  // customer's events, the category dictionary's new names and an order's
  // placement and cancellation can reach the store through different
  // replicas, each with its own cached snapshot.
  const int events = request.events_size();
  const int split = static_cast<int>((input.plan >> 32) % (events + 1));
  compare.After(absl::StrCat("the batch, split after ", split, " of ", events, " events"), *clock,
                each([&](const Side& side) {
                  std::string first = ApplyEvents(taking(side, 0), tenant, request, 0, split);
                  return absl::StrCat(first, " | ",
                                      ApplyEvents(taking(side, 1), tenant, request, split, events));
                }),
                Comparison::Totals::kCompare);
  compare.After("a statistics pass", *clock, each([&](const Side& side) {
                  return BothMovers(taking(side, 2), other(side, 2));
                }));
  compare.Exact("a statistics pass", defaults, *clock);
  compare.After("the batch again", *clock, each([&](const Side& side) {
                  return ApplyEvents(taking(side, 3), tenant, request, 0, events);
                }),
                Comparison::Totals::kCompare);

  *clock += absl::Hours(24) * input.days;
  compare.After(absl::StrCat(input.days, " days later, a scheduler pass"), *clock,
                each([&](const Side& side) { return Moved(taking(side, 4).scheduler.RunOnce()); }));
  compare.After("a statistics pass after them", *clock, each([&](const Side& side) {
                  return BothMovers(taking(side, 5), other(side, 5));
                }));
  compare.Exact("a statistics pass after them", defaults, *clock);

  // When the next step's replica is the other one, its cached config is then
  // stale: its pass must notice the update, as any later call would.
  const engine::SegmentConfig changed = ChangedConfig(input.config_choice);
  const bool in_full = input.config_choice >= 128;
  compare.After(
      absl::StrCat("config change ", input.config_choice % 6, in_full ? " (in full)" : ""), *clock,
      each([&](const Side& side) {
        return absl::StrCat(UpdateConfig(taking(side, 6), tenant, changed, in_full, *clock));
      }));
  compare.After("the scheduler pass after it", *clock,
                each([&](const Side& side) { return Moved(taking(side, 7).scheduler.RunOnce()); }));
  compare.Exact("the scheduler pass after the config change", changed, *clock);
  // The batch's events as new ones, through the replica that did not update
  // the config: it still holds the old one, so its writes must be refused by
  // the store and redone under the new one.
  const v1::BulkIngestRequest renamed = Renamed(request);
  compare.After("the batch renamed, through the other replica", *clock, each([&](const Side& side) {
                  return ApplyEvents(other(side, 6), tenant, renamed, 0, events);
                }),
                Comparison::Totals::kCompare);

  // The days again, under the new config: the replica taking the scheduler
  // pass may still hold the old one.
  *clock += absl::Hours(24) * input.days;
  compare.After("the days again, a scheduler pass", *clock,
                each([&](const Side& side) { return Moved(taking(side, 8).scheduler.RunOnce()); }));
  compare.After("a statistics pass after the days again", *clock,
                each([&](const Side& side) { return BothMovers(taking(side, 9), other(side, 9)); }),
                Comparison::Totals::kCompare);
  compare.Exact("the last statistics pass", changed, *clock);
}

StoredMembers ReadMembers(store::CustomerStore& store, const std::string& tenant) {
  StoredMembers out;
  absl::StatusOr<std::vector<std::string>> names = SegmentNames(store, tenant);
  FUZZ_CHECK(names.ok(), names.status().ToString());
  out.names = *std::move(names);
  for (const std::string& name : out.names) {
    absl::StatusOr<std::vector<std::string>> members = SegmentMembers(store, tenant, name);
    FUZZ_CHECK(members.ok(), members.status().ToString());
    out.members.push_back(*std::move(members));
  }
  absl::StatusOr<int64_t> count = store.CustomerCount(tenant);
  FUZZ_CHECK(count.ok(), count.status().ToString());
  out.customers = *count;
  return out;
}

// Each segment's members as `index` sees them equal `stored`'s, and it
// knows every customer.
void CheckIndex(targeting::MembershipIndex& index, const StoredMembers& stored,
                const std::string& tenant, const std::string& where, FreshRead way) {
  std::vector<std::vector<std::string>> indexed(stored.names.size());
  uint32_t customers = 0;
  const std::function<void(const targeting::MembershipIndex::View&)> read_view =
      [&](const targeting::MembershipIndex::View& view) {
        customers = view.customers();
        for (size_t i = 0; i < stored.names.size(); ++i) {
          v1::TargetExpression segment;
          segment.set_segment(stored.names[i]);
          for (uint32_t ordinal : view.Evaluate(segment).After(0, customers)) {
            indexed[i].emplace_back(view.IdOf(ordinal));
          }
          std::sort(indexed[i].begin(), indexed[i].end());
        }
      };
  absl::Status read;
  if (way == FreshRead::kRead) {
    read = index.Read(tenant, /*fresh=*/true, read_view);
  } else {
    read = index.AwaitFresh(tenant);
    if (read.ok()) read = index.ReadNow(tenant, read_view);
  }
  FUZZ_CHECK(read.ok(), absl::StrCat(where, ": ", read.ToString()));
  FUZZ_CHECK(stored.customers == customers,
             absl::StrCat(where, ": the index knows ", customers, " customers"));
  for (size_t i = 0; i < stored.names.size(); ++i) {
    FUZZ_CHECK(indexed[i] == stored.members[i],
               absl::StrCat(where, ": the index's ", stored.names[i], " is ",
                            absl::StrJoin(indexed[i], ","), ", the store's ",
                            absl::StrJoin(stored.members[i], ",")));
  }
}

// The seeds of both targets that run the steps (fuzz_target.h).
std::vector<std::string> Seeds() {
  // Long histories (the generator's defaults), and recent ones with few
  // orders, whose customers are new, frequent or returning buyers and move
  // by time alone within the days the input lets pass.
  engine::GeneratorOptions recent;
  recent.history_days = 60;
  recent.mean_extra_orders = 3;
  std::vector<std::string> seeds;
  int n = 0;
  for (const engine::GeneratorOptions& options : {engine::GeneratorOptions(), recent}) {
    const std::vector<std::string> histories = GeneratedHistories(options, 16, kMaxEvents / 4);
    // Four customers per batch, each seed with other days and config changes.
    for (size_t i = 0; i + 3 < histories.size(); i += 4, ++n) {
      v1::BulkIngestRequest batch;
      for (size_t j = i; j < i + 4; ++j) {
        v1::BulkIngestRequest one;
        one.ParseFromString(histories[j]);
        for (const v1::Event& e : one.events()) *batch.add_events() = e;
      }
      const char choices[2] = {static_cast<char>(7 + 37 * n),
                               static_cast<char>(n % 2 ? 128 + n : n)};
      seeds.push_back(std::string(choices, 2) + batch.SerializeAsString());
    }
  }
  return seeds;
}

}  // namespace segmentd::fuzz
