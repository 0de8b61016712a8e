#ifndef SEGMENTD_ENGINE_PROFILE_H_
#define SEGMENTD_ENGINE_PROFILE_H_

// A customer profile: the facts the segment rules need about one customer of
// one tenant, and the pure mutation functions that apply events to it.
//
// Layout. Orders are kept in ascending `placed_ms` order as flat 24-byte
// records; their categories live in one shared pool; string ids are kept only
// as 64-bit fingerprints (for idempotency). Orders placed at or before a fold
// horizon are folded into lifetime totals (FoldedTotals) and keep only their
// fingerprint, net amount, placement and categories, so a late cancel or
// refund stays exact, a re-sent old order is still recognised, and a window
// lengthened later counts them (UnfoldedOrders). Engagement is kept per message sent
// (sent/opened/acted instants); messages are dropped at the fold horizon. Only
// the latest cart is kept.
//
// Semantics chosen where SPEC.md is silent (details in docs/engine.md):
//  - Cancellations and refunds change the order from their own instant on
//    (kept as OrderCorrection): an evaluation at an earlier instant sees the
//    order as it was (SPEC: events later than as_of are ignored). Those
//    recorded without an instant apply at every instant.
//  - A refund larger than the order's remaining net amount is rejected
//    (InvalidArgument) and changes nothing; a fully refunded order still
//    counts as an order, with net amount 0.
//  - An order re-sent with a known order id is a no-op (kDuplicate), even if
//    its fields differ; the first version wins.
//  - A cancellation or refund arriving before its order waits for it
//    (AwaitedCorrection) and is applied when the order arrives, as if it
//    had come after it (but for a refund larger than what is left: capped;
//    and one dated after the cancellation: applied; see RefundOrder).
//  - Engagement is per message id: a message counts in the window by its sent
//    instant; it counts as opened if opened (or acted on: an action implies an
//    open) at or before the evaluation instant. Repeated opens/actions keep
//    the earliest instant. An open or action arriving before its message's
//    send waits for it (EarlyEngagement), so arrival order does not matter.
//  - A customer first seen through an order is registered at its earliest
//    order's time until Register() says otherwise; of several registrations
//    the earliest wins (a later one is kIgnored), in any arrival order.
//
// Thread-safety: a Profile is a value; const methods may be called
// concurrently, mutations need exclusive access.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/segment.h"
#include "engine/time_ms.h"

namespace segmentd::engine {

// Limits on event input (violations are InvalidArgument).
inline constexpr size_t kMaxIdBytes = 256;            // order / message ids
inline constexpr size_t kMaxCategoriesPerOrder = 64;  // also per cart
inline constexpr int64_t kMaxAmount = 1'000'000'000'000;  // minor units
// Accepted instants: [1970-01-01, kMaxEventMillis].
inline constexpr Millis kMaxEventMillis = 100'000'000'000'000;  // year ~5138

// One order as the rules see it.
struct OrderFacts {
  Millis placed_ms = 0;
  int64_t net_amount = 0;         // minor units, after refunds; >= 0
  uint32_t categories_begin = 0;  // index into ProfileView::order_categories
  uint16_t categories_count = 0;  // categories are sorted and distinct
  bool cancelled = false;         // a cancelled order counts for nothing
};

// One message sent to the customer. Absent instants are kNeverMillis.
struct MessageFacts {
  Millis sent_ms = 0;
  Millis opened_ms = kNeverMillis;  // <= acted_ms whenever acted
  Millis acted_ms = kNeverMillis;
};

// An open or action of a message whose send has not arrived yet (another
// pipeline may deliver it first), kept until the send does. Absent instants
// are kNeverMillis.
struct EarlyEngagement {
  uint64_t message_fp = 0;
  Millis opened_ms = kNeverMillis;  // <= acted_ms whenever acted
  Millis acted_ms = kNeverMillis;
};
// Most early engagements a profile keeps; more are kIgnored.
inline constexpr size_t kMaxEarlyEngagements = 64;

// The latest cart.
struct CartFacts {
  Millis updated_ms = 0;
  int64_t value = 0;  // minor units
  // When this cart was converted (never before updated_ms), if it was.
  Millis converted_ms = kNeverMillis;

  // Whether this cart was converted (at converted_ms).
  bool Converted() const { return converted_ms != kNeverMillis; }
};

// Orders folded out of the per-order list (placed at or before through_ms).
struct FoldedTotals {
  int64_t orders = 0;       // valid (not cancelled) folded orders
  int64_t net_revenue = 0;  // their net amounts
  // All folded orders were placed at or before this; kNothingFolded if none.
  Millis through_ms = kNothingFolded;
  // Earliest / latest placement among the valid folded orders (none when
  // every one is cancelled). After a folded order is cancelled, those of a
  // profile whose folded orders do not all keep their placements (folded
  // before 2026-12-06) are kept as they were (so they bound every folded
  // order's placement from outside).
  Millis first_order_ms = kNeverMillis;
  Millis last_order_ms = kNothingFolded;

  // Whether every valid folded order lies within the window (start, t]:
  // then a rule over that window counts these totals, exactly. Folding
  // keeps orders older than the longest window of the config at the time;
  // a window lengthened since can reach them. With their placements kept the
  // rules count them one by one (UnfoldedOrders); without (folded before
  // 2026-12-06), a window whose start falls among them cannot count them
  // exactly and counts none of them (EarliestExactInstant refuses an
  // explicit as_of there).
  bool AllWithin(Millis start, Millis t) const {
    return orders > 0 && first_order_ms > start && last_order_ms <= t;
  }

  static constexpr Millis kNothingFolded = std::numeric_limits<Millis>::min();
};

// A folded order: enough to apply a late cancel or refund exactly, to book
// it in the tenant's order totals at its instant, and to count it again in a
// window lengthened past the fold horizon (UnfoldedOrders).
struct FoldedOrderFacts {
  uint64_t id_fingerprint = 0;
  int64_t net_amount = 0;  // after every refund
  bool cancelled = false;
  // Whether its categories are kept (folded since 2026-12-06; a build before
  // dropped them).
  bool categories_known = false;
  uint16_t categories_count = 0;  // sorted and distinct
  uint32_t categories_begin = 0;  // index into ProfileView::folded_order_categories
  // When it was placed; kNeverMillis when unknown (folded by a build before
  // 2026-12-06, which did not keep it).
  Millis placed_ms = kNeverMillis;
};

// A cancellation or refund of an order, kept with the instant it happened:
// evaluated before that instant, the order is as it was then (SPEC: events
// later than as_of are ignored). Corrections received without an instant
// (tests, profiles stored before 2026-12-05) have none kept and apply at
// every instant. Kept for good, as refund ids are (one per cancellation or
// refund); one of a folded order is undone only when every folded order
// keeps its placement (ProfileView::FoldedOrdersPlaced), else
// EarliestExactInstant is never before it.
struct OrderCorrection {
  uint64_t order_fp = 0;  // IdFingerprint of the order id
  Millis at_ms = 0;
  int64_t refund = 0;  // the amount refunded; 0: the order was cancelled
};

// A cancellation or refund that arrived before its order (another pipeline
// may deliver it first), kept until the order arrives and then applied as
// if it had come after it. Kept only with an instant.
struct AwaitedCorrection {
  uint64_t order_fp = 0;  // IdFingerprint of the order id
  Millis at_ms = 0;
  int64_t refund = 0;      // the amount refunded; 0: a cancellation
  uint64_t refund_fp = 0;  // RefundFingerprint of a refund; 0 for a cancellation
};
// Most awaited corrections a profile keeps; more are refused (NotFound), so
// that none is acknowledged and then lost.
inline constexpr size_t kMaxAwaitedCorrections = 64;

// ProfileView::corrected_through_ms of a profile without corrections.
inline constexpr Millis kNoCorrections = std::numeric_limits<Millis>::min();

// A read-only view of one profile, the input of classification and stats.
// Cheap to copy; valid while the Profile (or Population) it came from is
// alive and unmodified.
// ProfileView::messages_dropped_from_ms of a profile whose dropped messages'
// instants are unknown (encoded before they were recorded): earlier than
// any instant, so no instant counts as before them.
inline constexpr Millis kDroppedAtUnknownInstants = std::numeric_limits<Millis>::min();

struct ProfileView {
  Millis registered_ms = kNeverMillis;  // kNeverMillis: never registered
  Millis last_activity_ms = kNeverMillis;
  FoldedTotals folded;
  absl::Span<const OrderFacts> orders;         // ascending placed_ms
  absl::Span<const CategoryId> order_categories;
  absl::Span<const MessageFacts> messages;     // ascending sent_ms
  bool has_cart = false;
  CartFacts cart;
  // Some message was dropped by folding (or ignored for being older than
  // the fold horizon), so engagement at an instant whose window reaches
  // before the horizon is unknown. True for profiles encoded before this was
  // recorded.
  bool messages_dropped = false;
  // While messages_dropped: the earliest send among the dropped messages
  // (at an instant before it, every one of them is ignored, so engagement
  // there is exact), or kDroppedAtUnknownInstants for profiles encoded
  // before it was recorded (2026-12-06). kNeverMillis while none is dropped.
  Millis messages_dropped_from_ms = kNeverMillis;
  absl::Span<const CategoryId> cart_categories;  // sorted, distinct
  // For OrdersAsOf: the orders' id fingerprints (parallel to `orders`) and
  // the corrections kept with their instants (the latest in
  // corrected_through_ms; an evaluation at or after it needs none of them:
  // `orders` and `folded` hold every correction).
  absl::Span<const uint64_t> order_ids;
  absl::Span<const OrderCorrection> corrections;
  Millis corrected_through_ms = kNoCorrections;
  // For UnfoldedOrders: the folded orders, in fold order (empty in a view
  // whose source does not keep them), and the pool of their categories.
  absl::Span<const FoldedOrderFacts> folded_orders;
  absl::Span<const CategoryId> folded_order_categories;

  // The index in `orders` of the order with fingerprint `order_fp`, or
  // nullopt when it is not live (folded into the totals).
  std::optional<size_t> LiveOrder(uint64_t order_fp) const;

  // Whether `folded_orders` holds every folded order, each with its
  // placement (folded since 2026-12-06): then the folded totals are theirs,
  // and a folded order's correction can be undone at an earlier instant
  // (OrdersAsOf).
  bool FoldedOrdersPlaced() const;

  // The earliest instant of a fact the profile keeps (registration, an
  // order, a message, the cart's last update, the last activity), or
  // kNeverMillis for an empty profile: before it, as far as the profile
  // knows, the customer did not exist yet. Later than the true first fact
  // when an earlier cart update or activity was overwritten by a newer one,
  // or the first messages were dropped by folding. The lowest Millis when a
  // cancelled order folded by a build before 2026-12-06 kept no placement:
  // the first fact's instant is then unknown.
  Millis FirstKnownMs() const;
};

// A view's orders and folded totals as they were at an instant: with the
// cancellations and refunds made after it undone (those of folded orders
// only when FoldedOrdersPlaced; else they stay applied, and
// EarliestExactInstant is never before them). Holds what the views it
// returns point to (valid until its next View() call or destruction).
class OrdersAsOf {
 public:
  // `view` itself when no correction is after `as_of_ms` (nothing copied);
  // otherwise a view whose orders, folded orders and folded totals are those
  // at `as_of_ms` and which keeps no corrections. `view` must not itself
  // come from View().
  ProfileView View(const ProfileView& view, Millis as_of_ms);

 private:
  std::vector<OrderFacts> orders_;
  std::vector<FoldedOrderFacts> folded_orders_;
};

// A view's folded orders as live orders again, for a window lengthened past
// the fold horizon (the server folds with the longest window of the config at
// the time; an update may lengthen one later). When some valid folded order
// may lie after `window_start` and every valid folded order keeps its
// placement (FoldedOrderFacts::placed_ms; orders folded before 2026-12-06 do
// not), the view's orders are the valid folded ones, in placement order and
// with their categories (none for those folded before 2026-12-06, which kept
// none), then the live ones (all placed later), and its folded totals are
// empty: every window then counts them exactly, and their exits from it are
// the next changes, as if they had never been folded. Otherwise
// `view` itself (the rules count the totals only in a window holding them all:
// FoldedTotals::AllWithin). Holds what the views it returns point to (valid
// until its next View() call or destruction). Corrections and order ids are
// not carried: apply OrdersAsOf first.
class UnfoldedOrders {
 public:
  ProfileView View(const ProfileView& view, Millis window_start);

 private:
  std::vector<OrderFacts> orders_;
  std::vector<CategoryId> categories_;
};

// Lifetime order totals at an instant: folded totals plus valid orders placed
// at or before it. A customer with orders > 0 is a "buyer".
struct LifetimeTotals {
  int64_t orders = 0;
  int64_t net_revenue = 0;
  Millis first_order_ms = kNeverMillis;  // kNeverMillis if no order
  Millis last_order_ms = kNeverMillis;   // kNeverMillis if no order

  friend bool operator==(const LifetimeTotals& a, const LifetimeTotals& b) {
    return a.orders == b.orders && a.net_revenue == b.net_revenue &&
           a.first_order_ms == b.first_order_ms &&
           a.last_order_ms == b.last_order_ms;
  }
};

// Returns the lifetime totals of `profile` counting orders placed <= as_of
// (folded orders too when they keep their placements; otherwise all of them).
LifetimeTotals ComputeLifetime(const ProfileView& profile, Millis as_of_ms);

// What an event did to a profile.
enum class EventOutcome {
  kApplied,    // the profile changed
  kDuplicate,  // already known (same order id, same message open, ...)
  kIgnored,    // valid but cannot affect any rule (e.g. stale cart update)
};

// An order placed, as received.
struct OrderPlaced {
  absl::string_view order_id;  // 1..kMaxIdBytes bytes
  absl::Time placed_at;
  int64_t amount = 0;  // minor units, [0, kMaxAmount]
  absl::Span<const CategoryId> categories;  // any order; duplicates merged
};

// Returns the stable 64-bit fingerprint the profile stores for a string id.
// The function is part of the storage format: it never changes.
uint64_t IdFingerprint(absl::string_view id);
// The fingerprint a refund is kept under: of its order and refund id
// together (refund ids are unique per order). Part of the storage format.
uint64_t RefundFingerprint(absl::string_view order_id, absl::string_view refund_id);

class Profile {
 public:
  Profile() = default;

  // Returns a view for classification and stats.
  ProfileView view() const;

  // Sets the registration (install / sign-up) instant. Overrides the
  // registration implied by orders. kDuplicate if already exactly that.
  absl::StatusOr<EventOutcome> Register(absl::Time registered_at);

  // Adds an order. kDuplicate if the order id is known (live or folded). An
  // order placed at or before the fold horizon goes straight into the folded
  // totals.
  absl::StatusOr<EventOutcome> PlaceOrder(const OrderPlaced& order);

  // Cancels an order: from `at` on it no longer counts anywhere (at every
  // instant without `at`; see OrderCorrection). kDuplicate if already
  // cancelled (the first cancellation's instant stays). For an order not
  // placed yet it waits (AwaitedCorrection; kDuplicate if one already does),
  // unless it has no `at` or kMaxAwaitedCorrections already wait: NotFound.
  absl::StatusOr<EventOutcome> CancelOrder(absl::string_view order_id,
                                           std::optional<absl::Time> at = std::nullopt);

  // Lowers a known order's net amount by `amount` (> 0) from `at` on (at
  // every instant without `at`). Each `refund_id` (1..kMaxIdBytes bytes,
  // unique per order: another order may reuse it) is applied once: a re-sent
  // refund is kDuplicate. InvalidArgument if `amount` exceeds the remaining
  // net amount; FailedPrecondition if the order is cancelled (unless the
  // order is live and the refund is dated before its recorded cancellation).
  // For an order not placed yet it waits, as a cancellation does: when the
  // order arrives, its awaited refunds apply first (in arrival order, each
  // at most the net amount left), then its awaited cancellation.
  absl::StatusOr<EventOutcome> RefundOrder(absl::string_view order_id, absl::string_view refund_id,
                                           int64_t amount,
                                           std::optional<absl::Time> at = std::nullopt);

  // Engagement, per message id. A message sent at or before the fold horizon
  // is ignored (it can no longer be inside the engagement window). An open or
  // action may arrive before its message's send: it is kept (at most
  // kMaxEarlyEngagements; one at or before the fold horizon is kIgnored, and
  // so, once folding passes a kept open, are that message's later opens and
  // actions: folding keeps such an entry as a marker, the first to go when
  // room is needed) and applied when the send arrives, so the arrival order
  // does not matter.
  absl::StatusOr<EventOutcome> MessageSent(absl::string_view message_id,
                                           absl::Time at);
  absl::StatusOr<EventOutcome> MessageOpened(absl::string_view message_id,
                                             absl::Time at);
  // Acting (click, reply) on a message also counts as opening it.
  absl::StatusOr<EventOutcome> MessageActed(absl::string_view message_id,
                                            absl::Time at);

  // Replaces the cart with a newer version; an update older than the current
  // cart is kIgnored, and of two versions at one instant the greater (value,
  // then categories) is kept, whatever their arrival order.
  absl::StatusOr<EventOutcome> UpdateCart(
      absl::Time at, int64_t value, absl::Span<const CategoryId> categories);

  // Marks the current cart converted at `at` (an order placed after the last
  // update has the same effect without this call). kIgnored when `at` is
  // before the cart's last update (an older cart's). With no cart yet it is
  // kept (as an emptied cart converted at `at`) for the update that may
  // still arrive: events of one customer can arrive out of order. A cart
  // with contents keeps its earliest conversion, an emptied one its latest
  // (which converts the most of the updates still to come).
  absl::StatusOr<EventOutcome> ConvertCart(absl::Time at);

  // Moves every cancellation or refund dated after `latest` to `latest` (an
  // awaited one too, which then applies from there when its order comes): a
  // profile written as of `latest` (its membership, measures and totals
  // computed then) keeps none still to come, since nothing would wake it at
  // a later one. So a correction dated ahead takes effect when applied.
  void ClampCorrections(absl::Time latest);

  // Records app activity (open / browse); keeps the latest instant (an older
  // one is kIgnored).
  absl::StatusOr<EventOutcome> RecordActivity(absl::Time at);

  // Folds orders placed at or before `horizon` into lifetime totals and drops
  // messages sent at or before it. Use horizon = as_of - LongestWindowDays
  // (config) days; results at any instant >= horizon + that window are
  // unchanged by folding. A window raised later counts the folded orders
  // again, by the placements and categories they keep (UnfoldedOrders); the
  // dropped messages are gone. Returns the number of orders folded.
  int Fold(absl::Time horizon);

  // Accessors (mostly for tests and the codec).
  Millis registered_ms() const { return registered_ms_; }
  bool registration_explicit() const { return registration_explicit_; }
  const std::vector<OrderFacts>& orders() const { return orders_; }
  const std::vector<uint64_t>& order_ids() const { return order_ids_; }
  const std::vector<CategoryId>& category_pool() const { return categories_; }
  const std::vector<MessageFacts>& messages() const { return messages_; }
  const std::vector<uint64_t>& message_ids() const { return message_ids_; }
  const std::vector<EarlyEngagement>& early_engagements() const { return early_; }
  // Fingerprints of the refunds applied, in arrival order.
  const std::vector<uint64_t>& refund_ids() const { return refund_ids_; }
  const FoldedTotals& folded() const { return folded_; }

  using FoldedOrder = FoldedOrderFacts;
  const std::vector<FoldedOrder>& folded_orders() const {
    return folded_orders_;
  }
  const std::vector<CategoryId>& folded_category_pool() const { return folded_categories_; }
  // Cancellations and refunds kept with their instants, in arrival order.
  const std::vector<OrderCorrection>& corrections() const { return corrections_; }
  // Cancellations and refunds waiting for their orders, in arrival order.
  const std::vector<AwaitedCorrection>& awaited_corrections() const { return awaited_; }

  // Logical equality (same facts; category pool layout may differ).
  friend bool operator==(const Profile& a, const Profile& b);
  friend bool operator!=(const Profile& a, const Profile& b) {
    return !(a == b);
  }

 private:
  friend class ProfileCodec;

  int FindOrder(uint64_t fp) const;
  int FindFolded(uint64_t fp) const;
  // Records that a message sent at `sent_ms` was dropped (folded, or ignored
  // for being sent at or before the fold horizon).
  void NoteDroppedMessage(Millis sent_ms);
  // Keeps `categories` in the folded pool as `order`'s.
  void KeepFoldedCategories(absl::Span<const CategoryId> categories, FoldedOrder* order);
  // After a folded order's cancellation: the folded totals' first and last
  // placements become the valid folded orders' when every one keeps its
  // placement, so that the rules reading them (inactivity, NEW_CUSTOMER) and
  // a window counting the folded orders unfolded agree (else a lengthened
  // window's reach decided membership); otherwise they are kept as they were.
  void RefreshFoldedSpan();
  int FindMessage(uint64_t fp) const;
  // The early engagement of message `fp`, or early_.end().
  std::vector<EarlyEngagement>::iterator FindEarly(uint64_t fp);
  // Keeps an open (or an action: `acted`) of message `fp`, not sent yet.
  EventOutcome Early(uint64_t fp, Millis at, bool acted);
  // Cancel / refund order `fp` if it is known (NotFound otherwise): the
  // bodies of CancelOrder and RefundOrder after their checks.
  absl::StatusOr<EventOutcome> CancelKnown(uint64_t fp, std::optional<Millis> at_ms);
  absl::StatusOr<EventOutcome> RefundKnown(uint64_t fp, uint64_t refund_fp, int64_t amount,
                                           std::optional<Millis> at_ms);
  // Keeps `c` until its order arrives: kDuplicate when the same waits
  // already, NotFound when kMaxAwaitedCorrections do.
  absl::StatusOr<EventOutcome> Await(const AwaitedCorrection& c);
  // Applies the corrections awaiting order `fp`, which was just placed.
  void ApplyAwaited(uint64_t fp);

  Millis registered_ms_ = kNeverMillis;
  bool registration_explicit_ = false;
  Millis last_activity_ms_ = kNeverMillis;
  FoldedTotals folded_;
  std::vector<FoldedOrder> folded_orders_;  // in fold order
  std::vector<CategoryId> folded_categories_;  // pool for folded_orders_
  std::vector<OrderFacts> orders_;          // ascending placed_ms
  std::vector<uint64_t> order_ids_;         // parallel to orders_
  std::vector<CategoryId> categories_;      // pool for orders_
  std::vector<MessageFacts> messages_;      // ascending sent_ms
  std::vector<uint64_t> message_ids_;       // parallel to messages_
  std::vector<uint64_t> refund_ids_;        // refunds applied (idempotency)
  std::vector<EarlyEngagement> early_;      // in arrival order
  std::vector<OrderCorrection> corrections_;  // in arrival order
  std::vector<AwaitedCorrection> awaited_;    // in arrival order
  bool messages_dropped_ = false;           // see ProfileView::messages_dropped
  Millis messages_dropped_from_ms_ = kNeverMillis;  // ProfileView::messages_dropped_from_ms
  bool has_cart_ = false;
  CartFacts cart_;
  std::vector<CategoryId> cart_categories_;
};

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_PROFILE_H_
