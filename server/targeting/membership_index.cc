#include "server/targeting/membership_index.h"

#include <algorithm>
#include <atomic>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/segment.h"
#include "server/coalesced_read.h"
#include "server/log.h"
#include "server/steady_clock.h"
#include "server/targeting/customer_ids.h"
#include "store/scan_pages.h"

namespace segmentd::targeting {
namespace {

using Position = MembershipIndex::Position;

absl::StatusOr<Position> ParsePosition(absl::string_view text) {
  const size_t dash = text.find('-');
  Position p;
  if (dash == absl::string_view::npos || !absl::SimpleAtoi(text.substr(0, dash), &p.first) ||
      !absl::SimpleAtoi(text.substr(dash + 1), &p.second)) {
    return absl::InternalError(absl::StrCat("not a change-stream position: \"", text, "\""));
  }
  return p;
}

// Returns what a fresh read of `tenant` must wait for, as the store stands.
absl::StatusOr<MembershipIndex::Head> ReadNewest(store::CustomerStore& store,
                                                 const std::string& tenant) {
  absl::StatusOr<store::ChangeHead> head = store.ReadChangeHead(tenant);
  if (!head.ok()) return head.status();
  absl::StatusOr<Position> position = ParsePosition(head->position);
  if (!position.ok()) return position.status();
  if (head->customers < 0 || head->customers > std::numeric_limits<uint32_t>::max()) {
    return absl::InternalError(
        absl::StrCat("tenant ", tenant, " counts ", head->customers, " customers"));
  }
  return MembershipIndex::Head{*position, static_cast<uint32_t>(head->customers)};
}

// Returns UNAVAILABLE saying why the tenant's membership cannot be known.
absl::Status Unavailable(absl::string_view tenant, absl::string_view what) {
  return absl::UnavailableError(
      absl::StrCat("membership of tenant ", tenant, " cannot be known now: ", what));
}

}  // namespace

std::vector<uint32_t> Bitmap::After(uint32_t after, size_t limit) const {
  std::vector<uint32_t> out;
  if (after == std::numeric_limits<uint32_t>::max() || limit == 0) return out;
  roaring_uint32_iterator_t it;
  roaring_init_iterator(bits_, &it);
  if (!roaring_move_uint32_iterator_equalorlarger(&it, after + 1)) return out;
  out.resize(limit);
  out.resize(roaring_read_uint32_iterator(&it, out.data(), static_cast<uint32_t>(limit)));
  return out;
}

struct MembershipIndex::View::Data {
  // Which build of the tenant's index this is (View::generation).
  uint64_t generation = 0;
  // Segment name -> member ordinals. Segments never seen have no entry.
  absl::flat_hash_map<std::string, Bitmap> segments;
  // Ordinals are dense from 1.
  CustomerIds ids;

  // Adds the customers of ordinals first_ordinal, first_ordinal + 1, ... as
  // fetched, but those known already (another fetch may have added them).
  // Nothing when they would leave a gap (a rebuild knows fewer: its own
  // fetches follow).
  void AddCustomers(uint32_t first_ordinal, const std::vector<std::string>& fetched) {
    const size_t next = ids.size() + 1;
    if (first_ordinal == 0 || first_ordinal > next) return;
    for (size_t i = next - first_ordinal; i < fetched.size(); ++i) ids.Add(fetched[i]);
  }
};

struct MembershipIndex::Tenant {
  Tenant(std::string tenant_id, store::CustomerStore* store)
      : id(std::move(tenant_id)),
        newest([this, store] { return ReadNewest(*store, id); }) {}

  const std::string id;
  // When a query last asked for this tenant (SteadyNow, in nanoseconds; kept
  // to `granularity`: TouchedAt), for the tail's wait.
  std::atomic<int64_t> used_ns{std::numeric_limits<int64_t>::min() / 2};
  // Notes a query at `now`: a store at most once per `granularity`, so that
  // the hot path's many threads do not all write one cache line.
  void TouchedAt(absl::Duration now, absl::Duration granularity) {
    const int64_t ns = absl::ToInt64Nanoseconds(now);
    if (ns - used_ns.load(std::memory_order_relaxed) >= absl::ToInt64Nanoseconds(granularity)) {
      used_ns.store(ns, std::memory_order_relaxed);
    }
  }
  // What fresh reads wait for (the newest change position in the store and
  // its customer count), one read shared by concurrent fresh queries (each
  // still waits for a read that began after it).
  CoalescedRead<Head> newest;
  absl::Mutex mu;
  // A complete index was built (data holds it).
  bool loaded ABSL_GUARDED_BY(mu) = false;
  // The last load or stream read succeeded.
  bool healthy ABSL_GUARDED_BY(mu) = false;
  // Why the index cannot answer, when it cannot.
  std::string problem ABSL_GUARDED_BY(mu) = "index loading";
  // The position of the last change applied.
  std::string applied ABSL_GUARDED_BY(mu) = "0-0";
  Position applied_position ABSL_GUARDED_BY(mu) = {0, 0};

  // Why a query cannot be answered now.
  std::string Problem() const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return problem.empty() ? "index behind the change stream" : problem;
  }
  // Whether the index has applied `head`'s change and knows its customers.
  bool Reached(const Head& head) const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return applied_position >= head.position && data.ids.size() >= head.customers;
  }
  // Every change committed before this instant (SteadyNow() time) has been
  // applied: a read of the stream sent then reached its head (a tail read
  // that returned less than a full batch, the load's start position, or
  // AwaitFresh's newest position once applied).
  absl::Duration fresh_as_of ABSL_GUARDED_BY(mu) = -absl::InfiniteDuration();
  View::Data data ABSL_GUARDED_BY(mu);
  std::thread thread;
};

static Bitmap EvaluateNode(const MembershipIndex::View& view,
                    const absl::flat_hash_map<std::string, Bitmap>& segments,
                    const v1::TargetExpression& e) {
  switch (e.node_case()) {
    case v1::TargetExpression::kSegment: {
      auto it = segments.find(e.segment());
      if (it == segments.end()) return Bitmap();
      return Bitmap(roaring_bitmap_copy(it->second.get()));
    }
    case v1::TargetExpression::kAllOf: {
      const auto& children = e.all_of().children();
      if (children.empty()) return Bitmap();
      Bitmap result = EvaluateNode(view, segments, children[0]);
      for (int i = 1; i < children.size() && !roaring_bitmap_is_empty(result.get()); ++i) {
        Bitmap child = EvaluateNode(view, segments, children[i]);
        roaring_bitmap_and_inplace(result.get(), child.get());
      }
      return result;
    }
    case v1::TargetExpression::kAnyOf:
    case v1::TargetExpression::kNoneOf: {
      const auto& children = e.node_case() == v1::TargetExpression::kAnyOf
                                 ? e.any_of().children()
                                 : e.none_of().children();
      Bitmap any;
      for (const v1::TargetExpression& child : children) {
        Bitmap c = EvaluateNode(view, segments, child);
        roaring_bitmap_or_inplace(any.get(), c.get());
      }
      if (e.node_case() == v1::TargetExpression::kAnyOf) return any;
      const uint32_t n = view.customers();
      if (n == 0) return Bitmap();
      Bitmap all(roaring_bitmap_from_range(1, uint64_t{n} + 1, 1));
      roaring_bitmap_andnot_inplace(all.get(), any.get());
      return all;
    }
    default:
      return Bitmap();
  }
}

Bitmap MembershipIndex::View::Evaluate(const v1::TargetExpression& expression) const {
  return EvaluateNode(*this, data_.segments, expression);
}

std::optional<uint32_t> MembershipIndex::View::OrdinalOf(absl::string_view customer_id) const {
  return data_.ids.OrdinalOf(customer_id);
}

absl::string_view MembershipIndex::View::IdOf(uint32_t ordinal) const {
  return data_.ids.IdOf(ordinal);
}

bool MembershipIndex::View::Contains(const std::string& segment, uint32_t ordinal) const {
  auto it = data_.segments.find(segment);
  return it != data_.segments.end() && it->second.Contains(ordinal);
}

uint64_t MembershipIndex::View::generation() const { return data_.generation; }

uint32_t MembershipIndex::View::customers() const {
  return static_cast<uint32_t>(data_.ids.size());
}

MembershipIndex::MembershipIndex(store::CustomerStore* store, store::CustomerStore* tail_store,
                                 Options options)
    : store_(store), tail_store_(tail_store), options_(options) {}

MembershipIndex::~MembershipIndex() {
  std::vector<std::thread*> threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, tenant] : tenants_) threads.push_back(&tenant->thread);
  }
  for (std::thread* t : threads) {
    if (t->joinable()) t->join();
  }
}

MembershipIndex::Tenant* MembershipIndex::GetOrStart(absl::string_view tenant) {
  const absl::Duration now = SteadyNow();
  {
    absl::ReaderMutexLock lock(&mu_);  // The common case: shared.
    auto it = tenants_.find(tenant);
    if (it != tenants_.end()) {
      it->second->TouchedAt(now, TouchGranularity());
      return it->second.get();
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(tenant);
  if (it != tenants_.end()) return it->second.get();
  auto owned = std::make_unique<Tenant>(std::string(tenant), store_);
  Tenant* t = owned.get();
  t->TouchedAt(now, TouchGranularity());
  tenants_.emplace(std::string(tenant), std::move(owned));
  if (!stopping_) t->thread = std::thread([this, t] { Run(t); });
  return t;
}

bool MembershipIndex::SleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return stopping_;
}

void MembershipIndex::Run(Tenant* tenant) {
  bool need_load = true;
  // The last failure logged, so that a failure repeating every retry is said
  // once (until the index works again), yet always said: a reviewer found
  // queries failing UNAVAILABLE with nothing in the log.
  std::string logged;
  while (!SleepUnlessStopping(absl::ZeroDuration())) {
    absl::Status status = need_load ? Load(tenant) : TailOnce(tenant);
    if (status.ok()) {
      need_load = false;
      logged.clear();
      continue;
    }
    if (std::string(status.message()) != logged) {
      logged = std::string(status.message());
      LogError(absl::StrCat("membership index of tenant ", tenant->id,
                            need_load ? " (loading): " : " (following the change stream): ", logged,
                            "; queries fail closed until it works again"));
    }
    {
      absl::MutexLock lock(&tenant->mu);
      tenant->healthy = false;
      tenant->problem = std::string(status.message());
    }
    // Anything but an unreachable store means the index cannot be trusted to
    // follow the stream: rebuild it.
    if (!absl::IsUnavailable(status)) need_load = true;
    if (SleepUnlessStopping(options_.retry)) break;
  }
}

static absl::StatusOr<std::vector<std::string>> FetchCustomers(store::CustomerStore* store,
                                                        absl::string_view tenant,
                                                        uint32_t first_ordinal, int page) {
  std::vector<std::string> ids;
  std::string cursor = absl::StrCat(first_ordinal);
  while (true) {
    absl::StatusOr<store::IdPage> p = store->ScanCustomers(tenant, cursor, page);
    if (!p.ok()) return p.status();
    uint64_t from = 0, to = 0;
    if (!absl::SimpleAtoi(cursor, &from) ||
        (!p->next_cursor.empty() &&
         (!absl::SimpleAtoi(p->next_cursor, &to) || to - from != p->ids.size()))) {
      // Ordinals are dense: a page that skips one breaks the ordinal mapping.
      return absl::DataLossError(
          absl::StrCat("customer ordinals of tenant ", tenant, " are not dense near ", cursor));
    }
    for (std::string& id : p->ids) ids.push_back(std::move(id));
    if (p->next_cursor.empty()) return ids;
    cursor = p->next_cursor;
  }
}

absl::Status MembershipIndex::ScanNewCustomers(absl::string_view tenant, View::Data& data) {
  const uint32_t first = static_cast<uint32_t>(data.ids.size() + 1);
  absl::StatusOr<std::vector<std::string>> ids =
      FetchCustomers(tail_store_, tenant, first, options_.scan_count);
  if (!ids.ok()) return ids.status();
  data.AddCustomers(first, *ids);
  return absl::OkStatus();
}

absl::Status MembershipIndex::Load(Tenant* tenant) {
  const std::string& t = tenant->id;
  const absl::Duration sent = SteadyNow();
  absl::StatusOr<std::string> start = tail_store_->LastChangePosition(t);
  if (!start.ok()) return start.status();
  absl::StatusOr<Position> start_position = ParsePosition(*start);
  if (!start_position.ok()) return start_position.status();
  View::Data data;
  static std::atomic<uint64_t> builds{0};
  data.generation = ++builds;
  if (absl::Status s = ScanNewCustomers(t, data); !s.ok()) return s;

  std::vector<std::string> segments;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    segments.emplace_back(engine::SegmentName(static_cast<engine::Segment>(i)));
  }
  absl::StatusOr<std::vector<std::string>> categories = tail_store_->CategoryNames(t);
  if (!categories.ok()) return categories.status();
  for (const std::string& name : *categories) {
    segments.push_back(engine::CategorySegmentName(name));
  }
  // Each segment's first page read with those of the next ones, in one round
  // trip: a tenant may have up to 65,536 categories, each a member set,
  // mostly small (read one by one, a reviewer's full dictionary took ~16 s
  // to load).
  constexpr size_t kFirstPagesPerRoundTrip = 256;
  std::vector<store::IdPage> first_pages;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& segment = segments[i];
    if (i % kFirstPagesPerRoundTrip == 0) {
      if (SleepUnlessStopping(absl::ZeroDuration())) return absl::CancelledError("stopping");
      absl::StatusOr<std::vector<store::IdPage>> pages = tail_store_->ScanSegmentsFirstPages(
          t, absl::MakeConstSpan(segments).subspan(i, kFirstPagesPerRoundTrip),
          options_.scan_count);
      if (!pages.ok()) return pages.status();
      first_pages = *std::move(pages);
    }
    Bitmap members;
    absl::Status scanned = store::ScanPages(
        [&](const std::string& cursor) -> absl::StatusOr<store::IdPage> {
          if (cursor.empty()) return std::move(first_pages[i % kFirstPagesPerRoundTrip]);
          if (SleepUnlessStopping(absl::ZeroDuration())) return absl::CancelledError("stopping");
          return tail_store_->ScanSegment(t, segment, cursor, options_.scan_count);
        },
        [&](std::vector<std::string> ids) {
          for (const std::string& id : ids) {
            std::optional<uint32_t> ordinal = data.ids.OrdinalOf(id);
            if (!ordinal.has_value()) {
              // A customer created since the ordinals were read.
              if (absl::Status s = ScanNewCustomers(t, data); !s.ok()) return s;
              ordinal = data.ids.OrdinalOf(id);
              if (!ordinal.has_value()) {
                return absl::DataLossError(absl::StrCat("member of ", segment, " of tenant ", t,
                                                        " has no ordinal"));
              }
            }
            roaring_bitmap_add(members.get(), *ordinal);
          }
          return absl::OkStatus();
        });
    if (!scanned.ok()) return scanned;
    if (!roaring_bitmap_is_empty(members.get())) {
      roaring_bitmap_run_optimize(members.get());
      data.segments.emplace(segment, std::move(members));
    }
  }

  absl::MutexLock lock(&tenant->mu);
  tenant->data = std::move(data);
  tenant->applied = *start;
  tenant->applied_position = *start_position;
  tenant->fresh_as_of = sent;
  tenant->loaded = true;
  tenant->healthy = true;
  tenant->problem.clear();
  return absl::OkStatus();
}

absl::Duration MembershipIndex::TouchGranularity() const {
  return std::min(absl::Seconds(1), options_.idle_after / 10);
}

absl::Duration MembershipIndex::TailWait(const Tenant& tenant) const {
  const absl::Duration used = absl::Nanoseconds(tenant.used_ns.load(std::memory_order_relaxed));
  return SteadyNow() - used < options_.idle_after ? options_.tail_wait : options_.idle_tail_wait;
}

absl::Status MembershipIndex::TailOnce(Tenant* tenant) {
  std::string after;
  Position applied;
  size_t known = 0;
  {
    absl::ReaderMutexLock lock(&tenant->mu);
    after = tenant->applied;
    applied = tenant->applied_position;
    known = tenant->data.ids.size();
  }
  const absl::Duration sent = SteadyNow();
  // One round trip: the changes, then what was dropped and how many
  // customers there are, both read after the changes.
  absl::StatusOr<store::ChangeTail> tail =
      tail_store_->ReadChangeTail(tenant->id, after, options_.change_batch, TailWait(*tenant));
  if (!tail.ok()) return tail.status();
  // The store's customer count and newest position never go back: if they
  // did, Redis lost data or was restored from an older copy, and this index
  // knows customers and changes the store no longer has (a restored copy's
  // later writes may even reuse their ordinals). Nothing is applied yet:
  // Run() marks the index unhealthy with this DATA_LOSS and rebuilds it;
  // queries fail closed meanwhile.
  absl::StatusOr<Position> newest = ParsePosition(tail->newest);
  if (!newest.ok()) return newest.status();
  if (tail->customers < static_cast<int64_t>(known) || *newest < applied) {
    LogError(absl::StrCat("tenant ", tenant->id, ": the store went back (", tail->customers,
                          " customers and newest change ", tail->newest, "; the index knew ", known,
                          " and applied ", after,
                          "): Redis lost data or was restored; rebuilding the index"));
    return absl::DataLossError(
        absl::StrCat("the store of tenant ", tenant->id,
                     " went back (Redis lost data or was restored): rebuilding the index"));
  }
  const std::vector<store::StoredChange>& changes = tail->changes;
  if (!changes.empty() && tail->retained_from.has_value()) {
    // The stream is capped: a tail that fell further behind than the cap
    // would skip the dropped changes and answer from wrong bitmaps. Read
    // after the changes, the oldest retained entry is past every entry
    // dropped before them, so a gap is never missed (at worst, a tail exactly
    // at the boundary rebuilds for nothing). DATA_LOSS makes Run() rebuild;
    // queries fail closed meanwhile.
    absl::StatusOr<Position> oldest = ParsePosition(*tail->retained_from);
    if (!oldest.ok()) return oldest.status();
    if (applied < *oldest) {
      return absl::DataLossError(absl::StrCat(
          "the membership index of tenant ", tenant->id, " fell behind the change stream's cap (",
          "applied up to ", after, ", oldest retained ", *tail->retained_from, "): rebuilding"));
    }
  }
  // Every customer the changes name has its ordinal by the count, read after
  // them; most passes there is no new one to fetch.
  absl::StatusOr<std::vector<std::string>> new_ids = std::vector<std::string>();
  if (tail->customers > static_cast<int64_t>(known)) {
    new_ids = FetchCustomers(tail_store_, tenant->id, static_cast<uint32_t>(known + 1),
                             options_.scan_count);
    if (!new_ids.ok()) return new_ids.status();
  }
  Position last;
  if (!changes.empty()) {
    absl::StatusOr<Position> p = ParsePosition(changes.back().position);
    if (!p.ok()) return p.status();
    last = *p;
  }

  absl::MutexLock lock(&tenant->mu);
  View::Data& data = tenant->data;
  data.AddCustomers(static_cast<uint32_t>(known + 1), *new_ids);
  for (const store::StoredChange& change : changes) {
    const std::optional<uint32_t> ordinal = data.ids.OrdinalOf(change.customer_id);
    if (!ordinal.has_value()) {
      // The bitmaps are half applied: unhealthy before the lock is released,
      // so that no query answers from them until the rebuild.
      tenant->healthy = false;
      tenant->problem = "index inconsistent with the change stream: rebuilding";
      return absl::DataLossError(absl::StrCat("changed customer of tenant ", tenant->id,
                                              " has no ordinal"));
    }
    Bitmap& members = data.segments[change.segment];
    if (change.entered) {
      roaring_bitmap_add(members.get(), *ordinal);
    } else {
      roaring_bitmap_remove(members.get(), *ordinal);
    }
  }
  if (!changes.empty()) {
    tenant->applied = changes.back().position;
    tenant->applied_position = last;
  }
  // Less than a full batch: the read reached the stream's head when served,
  // which was after it was sent.
  if (changes.size() < static_cast<size_t>(options_.change_batch)) {
    tenant->fresh_as_of = std::max(tenant->fresh_as_of, sent);
  }
  tenant->healthy = true;
  tenant->problem.clear();
  return absl::OkStatus();
}

absl::Status MembershipIndex::RunApplied(absl::string_view tenant, std::optional<Head> target,
                                         std::optional<absl::Duration> wait_override,
                                         const std::function<void(const View&)>* fn) {
  Tenant* t = GetOrStart(tenant);
  struct Ready {
    Tenant* t;
    Position target;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return t->loaded && t->healthy && t->applied_position >= target;
    }
  } ready{t, target.has_value() ? target->position : Position{0, 0}};
  absl::Duration wait;
  {
    absl::ReaderMutexLock lock(&t->mu);
    wait = t->loaded ? options_.catch_up_wait : options_.load_wait;
  }
  if (wait_override.has_value()) wait = *wait_override;
  if (!t->mu.ReaderLockWhenWithTimeout(absl::Condition(&ready), wait)) {
    const std::string problem = t->Problem();
    t->mu.ReaderUnlock();
    return Unavailable(tenant, problem);
  }
  // With the change applied, the tail has fetched every customer a change
  // names; what can still be missing is a customer whose write entered no
  // segment, whom the tail learns of only after its next stream read (up to
  // tail_wait). Fetched here instead: after the wait, so that a read during
  // a flood of writes does not fetch what the tail is about to.
  if (target.has_value() && !t->Reached(*target)) {
    t->mu.ReaderUnlock();
    if (absl::Status s = FetchMissingCustomers(t, target->customers); !s.ok()) {
      return IndexStatus(tenant, s);
    }
    t->mu.ReaderLock();
    if (!t->loaded || !t->healthy || !t->Reached(*target)) {
      const std::string problem = t->Problem();
      t->mu.ReaderUnlock();
      return Unavailable(tenant, problem);
    }
  }
  if (fn != nullptr) (*fn)(View(t->data));
  t->mu.ReaderUnlock();
  return absl::OkStatus();
}

absl::Status MembershipIndex::FetchMissingCustomers(Tenant* tenant, uint32_t customers) {
  uint32_t known = 0;
  {
    absl::ReaderMutexLock lock(&tenant->mu);
    // Not loaded: the load reads every customer.
    if (!tenant->loaded) return absl::OkStatus();
    known = static_cast<uint32_t>(tenant->data.ids.size());
  }
  if (known >= customers) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> fetched =
      FetchCustomers(store_, tenant->id, known + 1, options_.scan_count);
  if (!fetched.ok()) return fetched.status();
  absl::MutexLock lock(&tenant->mu);
  tenant->data.AddCustomers(known + 1, *fetched);
  return absl::OkStatus();
}

absl::Status MembershipIndex::IndexStatus(absl::string_view tenant, absl::Status status) {
  if (absl::IsUnavailable(status)) return Unavailable(tenant, status.message());
  return status;
}

absl::Status MembershipIndex::Read(absl::string_view tenant, bool fresh,
                                   const std::function<void(const View&)>& fn) {
  std::optional<Head> target;
  if (fresh) {
    absl::StatusOr<Head> newest = GetOrStart(tenant)->newest.Get();
    if (!newest.ok()) return IndexStatus(tenant, newest.status());
    target = *newest;
  }
  return RunApplied(tenant, target, std::nullopt, &fn);
}

absl::Status MembershipIndex::ReadNow(absl::string_view tenant,
                                      const std::function<void(const View&)>& fn) {
  return RunApplied(tenant, std::nullopt, absl::ZeroDuration(), &fn);
}

absl::Status MembershipIndex::AwaitFresh(absl::string_view tenant) {
  const absl::Duration sent = SteadyNow();
  absl::StatusOr<Head> newest = ReadNewest(*store_, std::string(tenant));
  if (!newest.ok()) return IndexStatus(tenant, newest.status());
  if (absl::Status s = RunApplied(tenant, *newest, std::nullopt, nullptr); !s.ok()) return s;
  // Lets ReadIfFreshWithin answer without a read of its own for a while.
  Tenant* t = GetOrStart(tenant);
  absl::MutexLock lock(&t->mu);
  if (t->Reached(*newest)) t->fresh_as_of = std::max(t->fresh_as_of, sent);
  return absl::OkStatus();
}

std::optional<absl::Time> MembershipIndex::ReadIfFreshWithin(
    absl::string_view tenant, absl::Duration max_age, const std::function<void(const View&)>& fn) {
  Tenant* t = GetOrStart(tenant);
  absl::ReaderMutexLock lock(&t->mu);
  const absl::Duration now = SteadyNow();
  const absl::Duration age = now - t->fresh_as_of;
  if (!t->loaded || !t->healthy || age > max_age) return std::nullopt;
  fn(View(t->data));
  return absl::Now() - age;
}

absl::Status Walk(MembershipIndex& index, absl::string_view tenant, const Bitmap& members,
                  uint32_t after, size_t batch,
                  const std::function<bool(const std::vector<uint32_t>&,
                                           const std::vector<std::string>&)>& fn) {
  while (true) {
    std::vector<uint32_t> ordinals = members.After(after, batch);
    if (ordinals.empty()) return absl::OkStatus();
    std::vector<std::string> ids;
    ids.reserve(ordinals.size());
    absl::Status s = index.Read(tenant, /*fresh=*/false, [&](const MembershipIndex::View& view) {
      for (uint32_t ordinal : ordinals) ids.emplace_back(view.IdOf(ordinal));
    });
    if (!s.ok()) return s;
    if (!fn(ordinals, ids)) return absl::OkStatus();
    after = ordinals.back();
  }
}

}  // namespace segmentd::targeting
