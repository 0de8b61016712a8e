#include "engine/profile.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace segmentd::engine {
namespace {

absl::Status CheckId(absl::string_view what, absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": must be 1..", kMaxIdBytes, " bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Millis> CheckTime(absl::string_view what, absl::Time t) {
  if (t < absl::UnixEpoch() || t > FromMillis(kMaxEventMillis)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": instant out of range: ", absl::FormatTime(t)));
  }
  return ToMillis(t);
}

// CheckTime of an instant that may be absent (nullopt stays nullopt).
absl::StatusOr<std::optional<Millis>> CheckOptionalTime(absl::string_view what,
                                                        std::optional<absl::Time> t) {
  if (!t) return std::nullopt;
  absl::StatusOr<Millis> ms = CheckTime(what, *t);
  if (!ms.ok()) return ms.status();
  return std::optional<Millis>(*ms);
}

absl::Status CheckAmount(absl::string_view what, int64_t amount) {
  if (amount < 0 || amount > kMaxAmount) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": must be in [0, ", kMaxAmount, "], got ", amount));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CategoryId>> NormalizeCategories(
    absl::Span<const CategoryId> categories) {
  std::vector<CategoryId> out(categories.begin(), categories.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.size() > kMaxCategoriesPerOrder) {
    return absl::InvalidArgumentError(
        absl::StrCat("categories: at most ", kMaxCategoriesPerOrder,
                     " distinct categories, got ", out.size()));
  }
  return out;
}

// The first and last placements of the valid (not cancelled) orders of
// `folded`, which must all keep their placements; kNeverMillis and
// FoldedTotals::kNothingFolded when none is valid.
void SpanOfValid(absl::Span<const FoldedOrderFacts> folded, Millis* first, Millis* last) {
  *first = kNeverMillis;
  *last = FoldedTotals::kNothingFolded;
  for (const FoldedOrderFacts& o : folded) {
    if (o.cancelled) continue;
    *first = std::min(*first, o.placed_ms);
    *last = std::max(*last, o.placed_ms);
  }
}

}  // namespace

uint64_t IdFingerprint(absl::string_view id) {
  // FNV-1a 64 followed by a 64-bit finalising mix, so that ids differing in
  // one byte spread over all bits. Part of the storage format: never change.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t RefundFingerprint(absl::string_view order_id, absl::string_view refund_id) {
  // Refund ids are the merchant's per order (many number them 1, 2, ... in
  // each order), so the key is the pair. 0xff never begins UTF-8 text, so
  // the key is never a plain refund id's (the key before 2026-12-05).
  std::string key = "\xff";
  key.push_back(static_cast<char>(order_id.size()));  // <= kMaxIdBytes
  absl::StrAppend(&key, order_id, refund_id);
  return IdFingerprint(key);
}

std::optional<size_t> ProfileView::LiveOrder(uint64_t order_fp) const {
  const auto it = std::find(order_ids.begin(), order_ids.end(), order_fp);
  if (it == order_ids.end()) return std::nullopt;
  return static_cast<size_t>(it - order_ids.begin());
}

bool ProfileView::FoldedOrdersPlaced() const {
  int64_t valid = 0;
  for (const FoldedOrderFacts& o : folded_orders) {
    if (o.placed_ms == kNeverMillis) return false;
    valid += o.cancelled ? 0 : 1;
  }
  return valid == folded.orders;
}

Millis ProfileView::FirstKnownMs() const {
  // registered_ms is at most the first order's placement unless an explicit
  // registration came later. An order counts whether or not it is cancelled
  // (a cancellation may be later than an instant asked about): the live ones
  // and the folded ones by their placements. The folded first placement
  // bounds the valid ones folded by older builds, which keep none; a
  // cancelled one of those may be earlier than every fact kept.
  Millis first = std::min({registered_ms, last_activity_ms, folded.first_order_ms});
  for (const FoldedOrderFacts& o : folded_orders) {
    if (o.cancelled && o.placed_ms == kNeverMillis) return std::numeric_limits<Millis>::min();
    first = std::min(first, o.placed_ms);
  }
  if (!orders.empty()) first = std::min(first, orders.front().placed_ms);
  if (!messages.empty()) first = std::min(first, messages.front().sent_ms);
  if (has_cart) first = std::min(first, cart.updated_ms);
  return first;
}

ProfileView OrdersAsOf::View(const ProfileView& v, Millis as_of_ms) {
  if (as_of_ms >= v.corrected_through_ms) return v;
  ProfileView out = v;
  out.corrections = {};
  out.corrected_through_ms = kNoCorrections;
  orders_.assign(v.orders.begin(), v.orders.end());
  out.orders = orders_;
  auto later = [&](const OrderCorrection& c) { return c.at_ms > as_of_ms; };
  const bool folded_placed = v.FoldedOrdersPlaced();
  bool folded_undone = false;
  for (const OrderCorrection& c : v.corrections) {
    if (!later(c)) continue;
    // The order as it was before `c`: a live order or a folded one.
    auto undo = [&c](auto& order) {
      if (c.refund == 0) {
        order.cancelled = false;
      } else {
        order.net_amount += c.refund;
      }
    };
    const std::optional<size_t> live = v.LiveOrder(c.order_fp);
    if (live.has_value()) {
      undo(orders_[*live]);
      continue;
    }
    // A folded order's correction is undone only when every folded order
    // keeps its placement (the totals are then theirs); otherwise it stays
    // applied, and EarliestExactInstant is never before it, so no exact
    // answer needs it undone.
    if (!folded_placed) continue;
    if (!folded_undone) {
      folded_orders_.assign(v.folded_orders.begin(), v.folded_orders.end());
      folded_undone = true;
    }
    for (FoldedOrderFacts& f : folded_orders_) {
      if (f.id_fingerprint != c.order_fp) continue;
      undo(f);
      break;
    }
  }
  if (folded_undone) {
    // The totals and the span of the valid ones, as Fold and a cancellation
    // (RefreshFoldedSpan) keep them for folded orders that keep placements.
    out.folded_orders = folded_orders_;
    FoldedTotals& t = out.folded;
    t.orders = 0;
    t.net_revenue = 0;
    for (const FoldedOrderFacts& f : folded_orders_) {
      if (f.cancelled) continue;
      ++t.orders;
      t.net_revenue += f.net_amount;
    }
    SpanOfValid(folded_orders_, &t.first_order_ms, &t.last_order_ms);
  }
  return out;
}

ProfileView UnfoldedOrders::View(const ProfileView& v, Millis window_start) {
  const FoldedTotals& folded = v.folded;
  if (folded.orders <= 0 || folded.last_order_ms <= window_start) return v;
  orders_.clear();
  categories_.clear();
  for (const FoldedOrderFacts& o : v.folded_orders) {
    if (o.cancelled) continue;
    if (o.placed_ms == kNeverMillis) return v;  // folded by an older build
    OrderFacts& u = orders_.emplace_back();
    u.placed_ms = o.placed_ms;
    u.net_amount = o.net_amount;
    if (o.categories_known) {  // else folded by a build that kept none: counts for no category
      u.categories_begin = static_cast<uint32_t>(categories_.size());
      u.categories_count = o.categories_count;
      categories_.insert(
          categories_.end(), v.folded_order_categories.begin() + o.categories_begin,
          v.folded_order_categories.begin() + o.categories_begin + o.categories_count);
    }
  }
  // A view whose source kept the totals but not the orders.
  if (static_cast<int64_t>(orders_.size()) != folded.orders) return v;
  auto earlier = [](const OrderFacts& a, const OrderFacts& b) { return a.placed_ms < b.placed_ms; };
  // Fold order is placement order but for orders folded on arrival.
  if (!std::is_sorted(orders_.begin(), orders_.end(), earlier)) {
    std::stable_sort(orders_.begin(), orders_.end(), earlier);
  }
  // The live orders are later than every folded one (folding moves the
  // oldest); merged all the same, so the order stays ascending whatever.
  const size_t n_folded = orders_.size();
  const uint32_t live_categories = static_cast<uint32_t>(categories_.size());
  for (const OrderFacts& o : v.orders) {
    orders_.push_back(o);
    orders_.back().categories_begin += live_categories;
  }
  categories_.insert(categories_.end(), v.order_categories.begin(), v.order_categories.end());
  std::inplace_merge(orders_.begin(), orders_.begin() + n_folded, orders_.end(), earlier);
  ProfileView out = v;
  out.orders = orders_;
  out.order_categories = categories_;
  out.folded = FoldedTotals{};
  out.folded_orders = {};
  out.folded_order_categories = {};
  out.order_ids = {};
  out.corrections = {};
  out.corrected_through_ms = kNoCorrections;
  return out;
}

LifetimeTotals ComputeLifetime(const ProfileView& view, Millis as_of_ms) {
  OrdersAsOf as_of;
  UnfoldedOrders unfolded;
  // Folded orders placed after as_of count for nothing then: counted by
  // placement when they keep one (Evaluate counts them so too), else all
  // (the totals are all there is).
  const ProfileView p = unfolded.View(as_of.View(view, as_of_ms), as_of_ms);
  LifetimeTotals t;
  t.orders = p.folded.orders;
  t.net_revenue = p.folded.net_revenue;
  if (p.folded.orders > 0) {
    t.first_order_ms = p.folded.first_order_ms;
    t.last_order_ms = p.folded.last_order_ms;
  }
  for (const OrderFacts& o : p.orders) {
    if (o.placed_ms > as_of_ms) break;
    if (o.cancelled) continue;
    if (t.orders == 0) t.first_order_ms = o.placed_ms;
    t.last_order_ms = o.placed_ms;
    ++t.orders;
    t.net_revenue += o.net_amount;
  }
  return t;
}

ProfileView Profile::view() const {
  ProfileView v;
  v.registered_ms = registered_ms_;
  v.last_activity_ms = last_activity_ms_;
  v.folded = folded_;
  v.orders = orders_;
  v.order_categories = categories_;
  v.messages = messages_;
  v.has_cart = has_cart_;
  v.cart = cart_;
  v.cart_categories = cart_categories_;
  v.messages_dropped = messages_dropped_;
  v.messages_dropped_from_ms = messages_dropped_from_ms_;
  v.order_ids = order_ids_;
  v.corrections = corrections_;
  v.folded_orders = folded_orders_;
  v.folded_order_categories = folded_categories_;
  for (const OrderCorrection& c : corrections_) {
    v.corrected_through_ms = std::max(v.corrected_through_ms, c.at_ms);
  }
  return v;
}

void Profile::NoteDroppedMessage(Millis sent_ms) {
  // A profile that dropped messages at unknown instants keeps that bound.
  messages_dropped_from_ms_ =
      messages_dropped_ ? std::min(messages_dropped_from_ms_, sent_ms) : sent_ms;
  messages_dropped_ = true;
}

int Profile::FindOrder(uint64_t fp) const {
  for (size_t i = 0; i < order_ids_.size(); ++i) {
    if (order_ids_[i] == fp) return static_cast<int>(i);
  }
  return -1;
}

int Profile::FindFolded(uint64_t fp) const {
  for (size_t i = 0; i < folded_orders_.size(); ++i) {
    if (folded_orders_[i].id_fingerprint == fp) return static_cast<int>(i);
  }
  return -1;
}

int Profile::FindMessage(uint64_t fp) const {
  for (size_t i = 0; i < message_ids_.size(); ++i) {
    if (message_ids_[i] == fp) return static_cast<int>(i);
  }
  return -1;
}

std::vector<EarlyEngagement>::iterator Profile::FindEarly(uint64_t fp) {
  return std::find_if(early_.begin(), early_.end(),
                      [fp](const EarlyEngagement& e) { return e.message_fp == fp; });
}

absl::StatusOr<EventOutcome> Profile::Register(absl::Time registered_at) {
  absl::StatusOr<Millis> ms = CheckTime("registered_at", registered_at);
  if (!ms.ok()) return ms.status();
  // The earliest registration told wins, whatever the order they arrive
  // in: a re-sent or re-imported older registration cannot undo a newer
  // one's effect, nor the reverse (a reinstall is not a new download).
  if (registration_explicit_ && registered_ms_ == *ms) {
    return EventOutcome::kDuplicate;
  }
  if (registration_explicit_ && registered_ms_ < *ms) return EventOutcome::kIgnored;
  registered_ms_ = *ms;
  registration_explicit_ = true;
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::PlaceOrder(const OrderPlaced& order) {
  if (absl::Status s = CheckId("order_id", order.order_id); !s.ok()) return s;
  absl::StatusOr<Millis> ms = CheckTime("placed_at", order.placed_at);
  if (!ms.ok()) return ms.status();
  if (absl::Status s = CheckAmount("amount", order.amount); !s.ok()) return s;
  absl::StatusOr<std::vector<CategoryId>> cats =
      NormalizeCategories(order.categories);
  if (!cats.ok()) return cats.status();

  const uint64_t fp = IdFingerprint(order.order_id);
  if (FindOrder(fp) >= 0 || FindFolded(fp) >= 0) {
    return EventOutcome::kDuplicate;
  }
  if (!registration_explicit_ && *ms < registered_ms_) registered_ms_ = *ms;

  if (*ms <= folded_.through_ms) {
    // Older than the fold horizon: straight into the lifetime totals.
    FoldedOrder& f = folded_orders_.emplace_back();
    f.id_fingerprint = fp;
    f.net_amount = order.amount;
    f.placed_ms = *ms;
    KeepFoldedCategories(*cats, &f);
    ++folded_.orders;
    folded_.net_revenue += order.amount;
    folded_.first_order_ms = std::min(folded_.first_order_ms, *ms);
    folded_.last_order_ms = std::max(folded_.last_order_ms, *ms);
    ApplyAwaited(fp);
    return EventOutcome::kApplied;
  }

  OrderFacts facts;
  facts.placed_ms = *ms;
  facts.net_amount = order.amount;
  facts.categories_begin = static_cast<uint32_t>(categories_.size());
  facts.categories_count = static_cast<uint16_t>(cats->size());
  categories_.insert(categories_.end(), cats->begin(), cats->end());
  // Insert after every order placed at or before it (stable for ties).
  const auto pos = std::upper_bound(
      orders_.begin(), orders_.end(), *ms,
      [](Millis t, const OrderFacts& o) { return t < o.placed_ms; });
  const size_t index = pos - orders_.begin();
  orders_.insert(pos, facts);
  order_ids_.insert(order_ids_.begin() + index, fp);
  ApplyAwaited(fp);
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::CancelOrder(absl::string_view order_id,
                                                  std::optional<absl::Time> at) {
  if (absl::Status s = CheckId("order_id", order_id); !s.ok()) return s;
  absl::StatusOr<std::optional<Millis>> at_ms = CheckOptionalTime("cancelled_at", at);
  if (!at_ms.ok()) return at_ms.status();
  const uint64_t fp = IdFingerprint(order_id);
  absl::StatusOr<EventOutcome> done = CancelKnown(fp, *at_ms);
  if (!absl::IsNotFound(done.status()) || !*at_ms) return done;
  return Await({fp, **at_ms, 0, 0});
}

absl::StatusOr<EventOutcome> Profile::CancelKnown(uint64_t fp, std::optional<Millis> at_ms) {
  if (const int i = FindOrder(fp); i >= 0) {
    if (orders_[i].cancelled) return EventOutcome::kDuplicate;
    orders_[i].cancelled = true;
  } else if (const int j = FindFolded(fp); j >= 0) {
    FoldedOrder& f = folded_orders_[j];
    if (f.cancelled) return EventOutcome::kDuplicate;
    f.cancelled = true;
    --folded_.orders;
    folded_.net_revenue -= f.net_amount;
    RefreshFoldedSpan();
  } else {
    return absl::NotFoundError("order_id: unknown order");
  }
  if (at_ms) corrections_.push_back({fp, *at_ms, 0});
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::RefundOrder(absl::string_view order_id,
                                                  absl::string_view refund_id, int64_t amount,
                                                  std::optional<absl::Time> at) {
  if (absl::Status s = CheckId("order_id", order_id); !s.ok()) return s;
  if (absl::Status s = CheckId("refund_id", refund_id); !s.ok()) return s;
  absl::StatusOr<std::optional<Millis>> at_ms = CheckOptionalTime("refunded_at", at);
  if (!at_ms.ok()) return at_ms.status();
  const uint64_t refund_fp = RefundFingerprint(order_id, refund_id);
  // A refund stored before refund ids were per order (its key the refund id
  // alone) is still a duplicate when re-sent.
  const uint64_t legacy_fp = IdFingerprint(refund_id);
  if (std::any_of(refund_ids_.begin(), refund_ids_.end(),
                  [&](uint64_t fp) { return fp == refund_fp || fp == legacy_fp; })) {
    return EventOutcome::kDuplicate;
  }
  if (amount <= 0 || amount > kMaxAmount) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount: refund must be in [1, ", kMaxAmount, "], got ", amount));
  }
  const uint64_t fp = IdFingerprint(order_id);
  absl::StatusOr<EventOutcome> done = RefundKnown(fp, refund_fp, amount, *at_ms);
  if (!absl::IsNotFound(done.status()) || !*at_ms) return done;
  return Await({fp, **at_ms, amount, refund_fp});
}

absl::StatusOr<EventOutcome> Profile::RefundKnown(uint64_t fp, uint64_t refund_fp, int64_t amount,
                                                  std::optional<Millis> at_ms) {
  int64_t* net = nullptr;
  bool cancelled = false;
  bool is_folded = false;
  if (const int i = FindOrder(fp); i >= 0) {
    net = &orders_[i].net_amount;
    cancelled = orders_[i].cancelled;
  } else if (const int j = FindFolded(fp); j >= 0) {
    net = &folded_orders_[j].net_amount;
    cancelled = folded_orders_[j].cancelled;
    is_folded = true;
  } else {
    return absl::NotFoundError("order_id: unknown order");
  }
  // A refund dated before the (recorded) cancellation of a live order
  // happened while the order counted: it is kept, whatever the arrival order.
  const bool before_cancel =
      cancelled && !is_folded && at_ms &&
      std::any_of(corrections_.begin(), corrections_.end(), [&](const OrderCorrection& c) {
        return c.order_fp == fp && c.refund == 0 && *at_ms < c.at_ms;
      });
  if (cancelled && !before_cancel) {
    return absl::FailedPreconditionError("order_id: order is cancelled");
  }
  if (amount > *net) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount: refund ", amount,
                     " exceeds the order's remaining net amount ", *net));
  }
  *net -= amount;
  refund_ids_.push_back(refund_fp);
  if (is_folded) folded_.net_revenue -= amount;
  if (at_ms) corrections_.push_back({fp, *at_ms, amount});
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::Await(const AwaitedCorrection& c) {
  if (std::any_of(awaited_.begin(), awaited_.end(), [&](const AwaitedCorrection& a) {
        return a.order_fp == c.order_fp && a.refund_fp == c.refund_fp;
      })) {
    return EventOutcome::kDuplicate;  // the same cancellation or refund waits already
  }
  if (awaited_.size() >= kMaxAwaitedCorrections) {
    return absl::NotFoundError(absl::StrCat("order_id: unknown order, and ", kMaxAwaitedCorrections,
                                            " cancellations and refunds already wait for theirs"));
  }
  awaited_.push_back(c);
  return EventOutcome::kApplied;
}

void Profile::ApplyAwaited(uint64_t fp) {
  if (awaited_.empty()) return;
  const auto mine =
      std::stable_partition(awaited_.begin(), awaited_.end(),
                            [fp](const AwaitedCorrection& c) { return c.order_fp != fp; });
  std::vector<AwaitedCorrection> due(mine, awaited_.end());
  awaited_.erase(mine, awaited_.end());
  // Refunds first, each at most what is left (acknowledged when it arrived,
  // so never refused now), then the cancellation: a refund dated after the
  // cancellation changes nothing any instant sees (the order counts for
  // nothing from the cancellation on).
  std::stable_partition(due.begin(), due.end(),
                        [](const AwaitedCorrection& c) { return c.refund > 0; });
  for (const AwaitedCorrection& c : due) {
    if (c.refund == 0) {
      (void)CancelKnown(fp, c.at_ms);  // the order is known: it was just placed
      continue;
    }
    const int i = FindOrder(fp);
    const int64_t left = i >= 0 ? orders_[i].net_amount : folded_orders_[FindFolded(fp)].net_amount;
    if (left == 0) {
      refund_ids_.push_back(c.refund_fp);  // still a duplicate when re-sent
      continue;
    }
    (void)RefundKnown(fp, c.refund_fp, std::min(c.refund, left), c.at_ms);
  }
}

absl::StatusOr<EventOutcome> Profile::MessageSent(absl::string_view message_id,
                                                  absl::Time at) {
  if (absl::Status s = CheckId("message_id", message_id); !s.ok()) return s;
  absl::StatusOr<Millis> ms = CheckTime("sent_at", at);
  if (!ms.ok()) return ms.status();
  const uint64_t fp = IdFingerprint(message_id);
  if (FindMessage(fp) >= 0) return EventOutcome::kDuplicate;
  // An open or action that arrived first joins its message (or goes with it).
  MessageFacts m;
  m.sent_ms = *ms;
  if (auto e = FindEarly(fp); e != early_.end()) {
    if (e->opened_ms > folded_.through_ms) {  // not a marker (Early)
      m.opened_ms = e->opened_ms;
      m.acted_ms = e->acted_ms;
    }
    early_.erase(e);
  }
  if (*ms <= folded_.through_ms) {
    NoteDroppedMessage(*ms);
    return EventOutcome::kIgnored;
  }
  const auto pos = std::upper_bound(
      messages_.begin(), messages_.end(), *ms,
      [](Millis t, const MessageFacts& x) { return t < x.sent_ms; });
  const size_t index = pos - messages_.begin();
  messages_.insert(pos, m);
  message_ids_.insert(message_ids_.begin() + index, fp);
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::MessageOpened(
    absl::string_view message_id, absl::Time at) {
  if (absl::Status s = CheckId("message_id", message_id); !s.ok()) return s;
  absl::StatusOr<Millis> ms = CheckTime("opened_at", at);
  if (!ms.ok()) return ms.status();
  const uint64_t fp = IdFingerprint(message_id);
  const int i = FindMessage(fp);
  if (i < 0) return Early(fp, *ms, /*acted=*/false);
  MessageFacts& m = messages_[i];
  if (*ms >= m.opened_ms) return EventOutcome::kDuplicate;
  m.opened_ms = *ms;
  return EventOutcome::kApplied;
}

EventOutcome Profile::Early(uint64_t fp, Millis at, bool acted) {
  auto e = FindEarly(fp);
  // Its message was sent before it, so at or before the horizon too: that
  // send will be ignored. So are the message's later opens and actions once
  // one is known to be that old (an entry Fold kept as a marker), so that the
  // same events sent again change nothing.
  if (at <= folded_.through_ms) return EventOutcome::kIgnored;
  if (e != early_.end() && e->opened_ms <= folded_.through_ms) return EventOutcome::kIgnored;
  if (e == early_.end()) {
    if (early_.size() >= kMaxEarlyEngagements) {
      // Room is made by forgetting the oldest marker, if any.
      const auto marker = std::find_if(early_.begin(), early_.end(), [&](const EarlyEngagement& x) {
        return x.opened_ms <= folded_.through_ms;
      });
      if (marker == early_.end()) return EventOutcome::kIgnored;
      early_.erase(marker);
    }
    early_.push_back({fp, kNeverMillis, kNeverMillis});
    e = early_.end() - 1;
  }
  Millis& slot = acted ? e->acted_ms : e->opened_ms;
  if (at >= slot) return EventOutcome::kDuplicate;
  slot = at;
  e->opened_ms = std::min(e->opened_ms, e->acted_ms);  // an action implies an open
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::MessageActed(absl::string_view message_id,
                                                   absl::Time at) {
  if (absl::Status s = CheckId("message_id", message_id); !s.ok()) return s;
  absl::StatusOr<Millis> ms = CheckTime("acted_at", at);
  if (!ms.ok()) return ms.status();
  const uint64_t fp = IdFingerprint(message_id);
  const int i = FindMessage(fp);
  if (i < 0) return Early(fp, *ms, /*acted=*/true);
  MessageFacts& m = messages_[i];
  if (*ms >= m.acted_ms) return EventOutcome::kDuplicate;
  m.acted_ms = *ms;
  m.opened_ms = std::min(m.opened_ms, *ms);
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::UpdateCart(
    absl::Time at, int64_t value, absl::Span<const CategoryId> categories) {
  absl::StatusOr<Millis> ms = CheckTime("updated_at", at);
  if (!ms.ok()) return ms.status();
  if (absl::Status s = CheckAmount("value", value); !s.ok()) return s;
  absl::StatusOr<std::vector<CategoryId>> cats = NormalizeCategories(categories);
  if (!cats.ok()) return cats.status();
  if (has_cart_ && *ms < cart_.updated_ms) {
    // A conversion that arrived before any cart is kept as an emptied cart
    // converted then (ConvertCart): an update dated before it is the cart it
    // converted, which an explicit as_of between the two must see (until
    // 2026-12-06 it was ignored, and such an as_of saw no cart: an
    // out-of-order reviewer's finding).
    const bool emptied_and_converted = cart_.Converted() && cart_.value == 0 &&
                                       cart_categories_.empty() &&
                                       cart_.converted_ms == cart_.updated_ms;
    if (!emptied_and_converted) return EventOutcome::kIgnored;
    cart_.updated_ms = *ms;
    cart_.value = value;
    cart_categories_ = *std::move(cats);
    return EventOutcome::kApplied;
  }
  if (has_cart_ && *ms == cart_.updated_ms) {
    if (value == cart_.value && *cats == cart_categories_) return EventOutcome::kDuplicate;
    // Two versions at one instant (a second-granular clock): the greater
    // wins whichever arrives last, so re-deliveries change nothing.
    if (std::tie(value, *cats) < std::tie(cart_.value, cart_categories_)) {
      return EventOutcome::kIgnored;
    }
  }
  has_cart_ = true;
  cart_.updated_ms = *ms;
  cart_.value = value;
  // A conversion at or after this update (it arrived first: pipelines
  // reorder) converts this cart too; an earlier one was of a cart this one
  // replaces. So converted_ms is never before updated_ms, as older builds
  // expect.
  if (cart_.converted_ms != kNeverMillis && cart_.converted_ms < *ms) {
    cart_.converted_ms = kNeverMillis;
  }
  cart_categories_ = *std::move(cats);
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::ConvertCart(absl::Time at) {
  absl::StatusOr<Millis> ms = CheckTime("converted_at", at);
  if (!ms.ok()) return ms.status();
  if (!has_cart_) {
    // No cart yet: its update may still be on its way. Kept as an emptied
    // cart, converted at once, so that an update dated up to the conversion
    // is stale on arrival; a later one starts a cart it does not cover.
    has_cart_ = true;
    cart_ = CartFacts{*ms, 0, *ms};
    cart_categories_.clear();
    return EventOutcome::kApplied;
  }
  if (*ms < cart_.updated_ms) return EventOutcome::kIgnored;  // an older cart's
  if (cart_.Converted()) {
    // An emptied (or not yet seen) cart keeps the latest conversion: it
    // converts every update dated up to it that may still arrive.
    if (cart_.value == 0 && cart_categories_.empty() && *ms > cart_.converted_ms) {
      cart_.updated_ms = *ms;
      cart_.converted_ms = *ms;
      return EventOutcome::kApplied;
    }
    // A cart with contents was converted at its earliest conversion.
    if (*ms >= cart_.converted_ms) return EventOutcome::kDuplicate;
  }
  cart_.converted_ms = *ms;
  return EventOutcome::kApplied;
}

absl::StatusOr<EventOutcome> Profile::RecordActivity(absl::Time at) {
  absl::StatusOr<Millis> ms = CheckTime("active_at", at);
  if (!ms.ok()) return ms.status();
  // Only the latest activity counts: an older one is superseded, the same
  // one again a duplicate.
  if (last_activity_ms_ != kNeverMillis && *ms < last_activity_ms_) return EventOutcome::kIgnored;
  if (*ms == last_activity_ms_) return EventOutcome::kDuplicate;
  last_activity_ms_ = *ms;
  return EventOutcome::kApplied;
}

void Profile::ClampCorrections(absl::Time latest) {
  const Millis t = ToMillis(latest);
  for (OrderCorrection& c : corrections_) c.at_ms = std::min(c.at_ms, t);
  for (AwaitedCorrection& c : awaited_) c.at_ms = std::min(c.at_ms, t);
}

void Profile::RefreshFoldedSpan() {
  // One folded by an older build, cancelled or not: kept as they were, so
  // that they still bound every folded order's placement from outside.
  if (std::any_of(folded_orders_.begin(), folded_orders_.end(),
                  [](const FoldedOrder& o) { return o.placed_ms == kNeverMillis; })) {
    return;
  }
  // Else the valid ones' own, none when every one is cancelled (before
  // 2026-12-06 the cancelled ones' stayed, and orders folded later were
  // spanned with them: a reviewer's finding).
  SpanOfValid(folded_orders_, &folded_.first_order_ms, &folded_.last_order_ms);
}

void Profile::KeepFoldedCategories(absl::Span<const CategoryId> categories, FoldedOrder* order) {
  order->categories_known = true;
  order->categories_begin = static_cast<uint32_t>(folded_categories_.size());
  order->categories_count = static_cast<uint16_t>(categories.size());
  folded_categories_.insert(folded_categories_.end(), categories.begin(), categories.end());
}

int Profile::Fold(absl::Time horizon) {
  const Millis h = ToMillis(horizon);
  if (h <= folded_.through_ms) return 0;
  folded_.through_ms = h;
  size_t n = 0;
  while (n < orders_.size() && orders_[n].placed_ms <= h) {
    const OrderFacts& o = orders_[n];
    FoldedOrder& f = folded_orders_.emplace_back();
    f.id_fingerprint = order_ids_[n];
    f.net_amount = o.net_amount;
    f.cancelled = o.cancelled;
    f.placed_ms = o.placed_ms;
    KeepFoldedCategories(
        absl::MakeConstSpan(categories_.data() + o.categories_begin, o.categories_count), &f);
    if (!o.cancelled) {
      ++folded_.orders;
      folded_.net_revenue += o.net_amount;
      folded_.first_order_ms = std::min(folded_.first_order_ms, o.placed_ms);
      folded_.last_order_ms = std::max(folded_.last_order_ms, o.placed_ms);
    }
    ++n;
  }
  if (n > 0) {
    orders_.erase(orders_.begin(), orders_.begin() + n);
    order_ids_.erase(order_ids_.begin(), order_ids_.begin() + n);
    // Compact the category pool.
    std::vector<CategoryId> pool;
    pool.reserve(categories_.size());
    for (OrderFacts& o : orders_) {
      const uint32_t begin = static_cast<uint32_t>(pool.size());
      pool.insert(pool.end(), categories_.begin() + o.categories_begin,
                  categories_.begin() + o.categories_begin + o.categories_count);
      o.categories_begin = begin;
    }
    categories_ = std::move(pool);
  }
  size_t m = 0;
  while (m < messages_.size() && messages_[m].sent_ms <= h) ++m;
  if (m > 0) NoteDroppedMessage(messages_.front().sent_ms);  // the earliest: ascending
  messages_.erase(messages_.begin(), messages_.begin() + m);
  message_ids_.erase(message_ids_.begin(), message_ids_.begin() + m);
  // An early open or action at or before the horizon: its message, sent
  // before it, will be ignored when its send arrives. Kept as a marker
  // (Early): its later opens and actions, the same ones sent again included,
  // are ignored too, and it joins no message.
  return static_cast<int>(n);
}

bool operator==(const Profile& a, const Profile& b) {
  if (a.registered_ms_ != b.registered_ms_ ||
      a.registration_explicit_ != b.registration_explicit_ ||
      a.last_activity_ms_ != b.last_activity_ms_ || a.folded_.orders != b.folded_.orders ||
      a.folded_.net_revenue != b.folded_.net_revenue ||
      a.folded_.through_ms != b.folded_.through_ms ||
      a.folded_.first_order_ms != b.folded_.first_order_ms ||
      a.folded_.last_order_ms != b.folded_.last_order_ms ||
      a.folded_orders_.size() != b.folded_orders_.size() || a.orders_.size() != b.orders_.size() ||
      a.order_ids_ != b.order_ids_ || a.message_ids_ != b.message_ids_ ||
      a.refund_ids_ != b.refund_ids_ || a.messages_dropped_ != b.messages_dropped_ ||
      a.messages_dropped_from_ms_ != b.messages_dropped_from_ms_ ||
      !std::equal(a.corrections_.begin(), a.corrections_.end(), b.corrections_.begin(),
                  b.corrections_.end(),
                  [](const OrderCorrection& x, const OrderCorrection& y) {
                    return x.order_fp == y.order_fp && x.at_ms == y.at_ms && x.refund == y.refund;
                  }) ||
      !std::equal(a.awaited_.begin(), a.awaited_.end(), b.awaited_.begin(), b.awaited_.end(),
                  [](const AwaitedCorrection& x, const AwaitedCorrection& y) {
                    return x.order_fp == y.order_fp && x.at_ms == y.at_ms && x.refund == y.refund &&
                           x.refund_fp == y.refund_fp;
                  }) ||
      !std::equal(a.early_.begin(), a.early_.end(), b.early_.begin(), b.early_.end(),
                  [](const EarlyEngagement& x, const EarlyEngagement& y) {
                    return x.message_fp == y.message_fp && x.opened_ms == y.opened_ms &&
                           x.acted_ms == y.acted_ms;
                  }) ||
      a.messages_.size() != b.messages_.size() || a.has_cart_ != b.has_cart_) {
    return false;
  }
  for (size_t i = 0; i < a.folded_orders_.size(); ++i) {
    const auto& x = a.folded_orders_[i];
    const auto& y = b.folded_orders_[i];
    if (x.id_fingerprint != y.id_fingerprint || x.net_amount != y.net_amount ||
        x.cancelled != y.cancelled || x.placed_ms != y.placed_ms ||
        x.categories_known != y.categories_known || x.categories_count != y.categories_count ||
        !std::equal(a.folded_categories_.begin() + x.categories_begin,
                    a.folded_categories_.begin() + x.categories_begin + x.categories_count,
                    b.folded_categories_.begin() + y.categories_begin)) {
      return false;
    }
  }
  for (size_t i = 0; i < a.orders_.size(); ++i) {
    const OrderFacts& x = a.orders_[i];
    const OrderFacts& y = b.orders_[i];
    if (x.placed_ms != y.placed_ms || x.net_amount != y.net_amount ||
        x.cancelled != y.cancelled || x.categories_count != y.categories_count ||
        !std::equal(a.categories_.begin() + x.categories_begin,
                    a.categories_.begin() + x.categories_begin + x.categories_count,
                    b.categories_.begin() + y.categories_begin)) {
      return false;
    }
  }
  for (size_t i = 0; i < a.messages_.size(); ++i) {
    const MessageFacts& x = a.messages_[i];
    const MessageFacts& y = b.messages_[i];
    if (x.sent_ms != y.sent_ms || x.opened_ms != y.opened_ms ||
        x.acted_ms != y.acted_ms) {
      return false;
    }
  }
  if (a.has_cart_) {
    if (a.cart_.updated_ms != b.cart_.updated_ms ||
        a.cart_.value != b.cart_.value ||
        a.cart_.converted_ms != b.cart_.converted_ms ||
        a.cart_categories_ != b.cart_categories_) {
      return false;
    }
  }
  return true;
}

}  // namespace segmentd::engine
