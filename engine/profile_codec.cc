#include "engine/profile_codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace segmentd::engine {
namespace {

enum Flags : uint64_t {
  kRegistered = 1,
  kRegistrationExplicit = 2,
  kHasActivity = 4,
  kHasFold = 8,
  kHasCart = 16,
  kHasRefunds = 32,  // added after version 1 shipped; absent in older data
  // No message was ever dropped by folding. Added later still: older data
  // lacks it and so decodes as "dropped" (the safe reading).
  kNoMessageDropped = 64,
  // Opens or actions kept until their message's send arrives (2026-12-05).
  kHasEarlyEngagements = 128,
  // Cancellations and refunds with their instants (2026-12-05). Without
  // them, as before, every correction applies at every instant.
  kHasCorrections = 256,
  // Folded orders with their placements (2026-12-06): one varint per folded
  // order after them, 0 = unknown (folded by an older build), else
  // through_ms - placed_ms + 1.
  kHasFoldedPlacements = 512,
  // Folded orders with their categories (2026-12-06): per folded order after
  // the placements, 0 = unknown (folded by an older build), else its
  // categories as a live order's with their count plus one.
  kHasFoldedCategories = 1024,
  // Cancellations and refunds waiting for their orders (2026-12-06), after
  // the corrections: order fingerprint, instant, amount (0: a cancellation)
  // and, for a refund, its fingerprint.
  kHasAwaitedCorrections = 2048,
  // The earliest send among the dropped messages (2026-12-06), last: one
  // signed varint. A profile that dropped some without it decodes with
  // kDroppedAtUnknownInstants (the safe reading, as before it was recorded).
  kHasDroppedMessagesFrom = 4096,
  kAllFlags = 8191,
};

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

class Writer {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Signed(int64_t v) { Varint(ZigZag(v)); }
  void Fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  // Optional instant relative to a base: 0 = never, else zigzag(delta) + 1.
  void Relative(Millis t, Millis base) {
    Varint(t == kNeverMillis ? 0 : ZigZag(t - base) + 1);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) return false;
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool Signed(int64_t* v) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (in_.size() - pos_ < 8) return false;
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) {
      r |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += 8;
    *v = r;
    return true;
  }
  bool Byte(uint8_t* b) {
    if (pos_ >= in_.size()) return false;
    *b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool Relative(Millis base, Millis* t) {
    uint64_t u;
    if (!Varint(&u)) return false;
    if (u == 0) {
      *t = kNeverMillis;
      return true;
    }
    const int64_t d = UnZigZag(u - 1);
    if (!InRange(base) || d < -kMaxEventMillis || d > kMaxEventMillis) {
      return false;
    }
    *t = base + d;
    return InRange(*t);
  }
  // A count of items each taking at least `min_bytes`.
  bool Count(size_t min_bytes, uint64_t* n) {
    return Varint(n) && *n <= (in_.size() - pos_) / min_bytes;
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  static bool InRange(Millis t) { return t >= 0 && t <= kMaxEventMillis; }

 private:
  absl::string_view in_;
  size_t pos_ = 0;
};

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt profile encoding: ", what));
}

// Sorted, distinct categories: their count (plus `count_bias`), then the
// first and the deltas.
void WriteCategories(Writer& w, const CategoryId* c, size_t n, uint64_t count_bias = 0) {
  w.Varint(n + count_bias);
  CategoryId prev = 0;
  for (size_t i = 0; i < n; ++i) {
    w.Varint(i == 0 ? c[i] : c[i] - prev);  // sorted, distinct: deltas > 0
    prev = c[i];
  }
}

// Reads `n` categories written by WriteCategories after their count.
bool ReadCategoryIds(Reader& r, uint64_t n, std::vector<CategoryId>* out) {
  if (n > kMaxCategoriesPerOrder) return false;
  uint64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d;
    if (!r.Varint(&d)) return false;
    if (i > 0 && d == 0) return false;
    const uint64_t v = i == 0 ? d : prev + d;
    if (v > 0xFFFF) return false;
    out->push_back(static_cast<CategoryId>(v));
    prev = v;
  }
  return true;
}

bool ReadCategories(Reader& r, std::vector<CategoryId>* out) {
  uint64_t n;
  return r.Count(1, &n) && ReadCategoryIds(r, n, out);
}

}  // namespace

std::string EncodeProfile(const Profile& profile) {
  return ProfileCodec::Encode(profile);
}

absl::StatusOr<Profile> DecodeProfile(absl::string_view bytes) {
  return ProfileCodec::Decode(bytes);
}

std::string ProfileCodec::Encode(const Profile& p) {
  Writer w;
  w.Byte(kProfileEncodingVersion);
  uint64_t flags = 0;
  if (p.registered_ms_ != kNeverMillis) flags |= kRegistered;
  if (p.registration_explicit_) flags |= kRegistrationExplicit;
  if (p.last_activity_ms_ != kNeverMillis) flags |= kHasActivity;
  if (p.folded_.through_ms != FoldedTotals::kNothingFolded) flags |= kHasFold;
  if (p.has_cart_) flags |= kHasCart;
  if (!p.refund_ids_.empty()) flags |= kHasRefunds;
  if (!p.messages_dropped_) flags |= kNoMessageDropped;
  if (!p.early_.empty()) flags |= kHasEarlyEngagements;
  if (!p.corrections_.empty()) flags |= kHasCorrections;
  if (!p.awaited_.empty()) flags |= kHasAwaitedCorrections;
  if (p.messages_dropped_ && p.messages_dropped_from_ms_ != kDroppedAtUnknownInstants) {
    flags |= kHasDroppedMessagesFrom;
  }
  if (std::any_of(p.folded_orders_.begin(), p.folded_orders_.end(),
                  [](const Profile::FoldedOrder& o) { return o.placed_ms != kNeverMillis; })) {
    flags |= kHasFoldedPlacements;
  }
  if (std::any_of(p.folded_orders_.begin(), p.folded_orders_.end(),
                  [](const Profile::FoldedOrder& o) { return o.categories_known; })) {
    flags |= kHasFoldedCategories;
  }
  w.Varint(flags);
  if (flags & kRegistered) w.Signed(p.registered_ms_);
  if (flags & kHasActivity) w.Signed(p.last_activity_ms_);
  if (flags & kHasFold) {
    const FoldedTotals& f = p.folded_;
    w.Signed(f.through_ms);
    w.Varint(f.orders);
    w.Varint(f.net_revenue);
    // first/last: 0 = unset, else through - t + 1 (folded orders are older).
    w.Varint(f.first_order_ms == kNeverMillis ? 0 : f.through_ms - f.first_order_ms + 1);
    w.Varint(f.last_order_ms == FoldedTotals::kNothingFolded
                 ? 0
                 : f.through_ms - f.last_order_ms + 1);
    w.Varint(p.folded_orders_.size());
    for (const Profile::FoldedOrder& o : p.folded_orders_) {
      w.Fixed64(o.id_fingerprint);
      w.Varint((static_cast<uint64_t>(o.net_amount) << 1) | (o.cancelled ? 1 : 0));
    }
    if (flags & kHasFoldedPlacements) {
      for (const Profile::FoldedOrder& o : p.folded_orders_) {
        w.Varint(o.placed_ms == kNeverMillis ? 0 : f.through_ms - o.placed_ms + 1);
      }
    }
    if (flags & kHasFoldedCategories) {
      for (const Profile::FoldedOrder& o : p.folded_orders_) {
        if (o.categories_known) {
          WriteCategories(w, p.folded_categories_.data() + o.categories_begin, o.categories_count,
                          /*count_bias=*/1);
        } else {
          w.Varint(0);
        }
      }
    }
  }
  w.Varint(p.orders_.size());
  Millis prev = 0;
  for (size_t i = 0; i < p.orders_.size(); ++i) {
    const OrderFacts& o = p.orders_[i];
    w.Varint(o.placed_ms - prev);  // ascending: non-negative delta
    prev = o.placed_ms;
    w.Varint((static_cast<uint64_t>(o.net_amount) << 1) | (o.cancelled ? 1 : 0));
    w.Fixed64(p.order_ids_[i]);
    WriteCategories(w, p.categories_.data() + o.categories_begin,
                    o.categories_count);
  }
  w.Varint(p.messages_.size());
  prev = 0;
  for (size_t i = 0; i < p.messages_.size(); ++i) {
    const MessageFacts& m = p.messages_[i];
    w.Varint(m.sent_ms - prev);
    prev = m.sent_ms;
    w.Relative(m.opened_ms, m.sent_ms);
    w.Relative(m.acted_ms, m.sent_ms);
    w.Fixed64(p.message_ids_[i]);
  }
  if (p.has_cart_) {
    w.Signed(p.cart_.updated_ms);
    w.Varint(p.cart_.value);
    w.Relative(p.cart_.converted_ms, p.cart_.updated_ms);
    WriteCategories(w, p.cart_categories_.data(), p.cart_categories_.size());
  }
  if (!p.refund_ids_.empty()) {
    w.Varint(p.refund_ids_.size());
    for (uint64_t id : p.refund_ids_) w.Fixed64(id);
  }
  if (!p.early_.empty()) {
    w.Varint(p.early_.size());
    for (const EarlyEngagement& e : p.early_) {
      w.Fixed64(e.message_fp);
      w.Signed(e.opened_ms);
      w.Relative(e.acted_ms, e.opened_ms);
    }
  }
  if (!p.corrections_.empty()) {
    w.Varint(p.corrections_.size());
    for (const OrderCorrection& c : p.corrections_) {
      w.Fixed64(c.order_fp);
      w.Signed(c.at_ms);
      w.Varint(c.refund);
    }
  }
  if (!p.awaited_.empty()) {
    w.Varint(p.awaited_.size());
    for (const AwaitedCorrection& c : p.awaited_) {
      w.Fixed64(c.order_fp);
      w.Signed(c.at_ms);
      w.Varint(c.refund);
      if (c.refund > 0) w.Fixed64(c.refund_fp);
    }
  }
  if (flags & kHasDroppedMessagesFrom) w.Signed(p.messages_dropped_from_ms_);
  return w.Take();
}

absl::StatusOr<Profile> ProfileCodec::Decode(absl::string_view bytes) {
  Reader r(bytes);
  Profile p;
  uint8_t version;
  if (!r.Byte(&version)) return Corrupt("empty");
  if (version != kProfileEncodingVersion) {
    return Corrupt(absl::StrCat("unknown version ", version));
  }
  uint64_t flags;
  if (!r.Varint(&flags) || (flags & ~uint64_t{kAllFlags}) != 0) {
    return Corrupt("flags");
  }
  if (flags & kRegistered) {
    if (!r.Signed(&p.registered_ms_) || !Reader::InRange(p.registered_ms_)) {
      return Corrupt("registration");
    }
  }
  p.registration_explicit_ = (flags & kRegistrationExplicit) != 0;
  p.messages_dropped_ = (flags & kNoMessageDropped) == 0;
  if (p.messages_dropped_) p.messages_dropped_from_ms_ = kDroppedAtUnknownInstants;
  if (flags & kHasActivity) {
    if (!r.Signed(&p.last_activity_ms_) ||
        !Reader::InRange(p.last_activity_ms_)) {
      return Corrupt("activity");
    }
  }
  if (flags & kHasFold) {
    FoldedTotals& f = p.folded_;
    uint64_t orders, revenue, first, last, n;
    if (!r.Signed(&f.through_ms) || f.through_ms < -kMaxEventMillis ||
        f.through_ms > kMaxEventMillis || !r.Varint(&orders) ||
        !r.Varint(&revenue) || !r.Varint(&first) || !r.Varint(&last) ||
        !r.Count(9, &n)) {
      return Corrupt("folded totals");
    }
    if (first > static_cast<uint64_t>(kMaxEventMillis) * 2 ||
        last > static_cast<uint64_t>(kMaxEventMillis) * 2 || orders > n) {
      return Corrupt("folded totals");
    }
    f.orders = static_cast<int64_t>(orders);
    f.first_order_ms = first == 0 ? kNeverMillis : f.through_ms - (static_cast<int64_t>(first) - 1);
    f.last_order_ms = last == 0 ? FoldedTotals::kNothingFolded
                                : f.through_ms - (static_cast<int64_t>(last) - 1);
    int64_t valid = 0, sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      Profile::FoldedOrder o;
      uint64_t v;
      if (!r.Fixed64(&o.id_fingerprint) || !r.Varint(&v) ||
          (v >> 1) > static_cast<uint64_t>(kMaxAmount)) {
        return Corrupt("folded order");
      }
      o.net_amount = static_cast<int64_t>(v >> 1);
      o.cancelled = v & 1;
      if (!o.cancelled) {
        ++valid;
        sum += o.net_amount;
      }
      p.folded_orders_.push_back(o);
    }
    if (valid != f.orders || revenue != static_cast<uint64_t>(sum)) {
      return Corrupt("folded totals disagree with folded orders");
    }
    if (flags & kHasFoldedPlacements) {
      for (Profile::FoldedOrder& o : p.folded_orders_) {
        uint64_t back;
        if (!r.Varint(&back) || back > static_cast<uint64_t>(kMaxEventMillis) * 2) {
          return Corrupt("folded order placement");
        }
        if (back == 0) continue;
        o.placed_ms = f.through_ms - (static_cast<int64_t>(back) - 1);
        if (!Reader::InRange(o.placed_ms)) return Corrupt("folded order placement");
      }
    }
    if (flags & kHasFoldedCategories) {
      std::vector<CategoryId> cats;
      for (Profile::FoldedOrder& o : p.folded_orders_) {
        uint64_t biased;  // 0: unknown, else the count plus one
        if (!r.Varint(&biased)) return Corrupt("folded order categories");
        if (biased == 0) continue;
        cats.clear();
        if (!ReadCategoryIds(r, biased - 1, &cats)) return Corrupt("folded order categories");
        p.KeepFoldedCategories(cats, &o);
      }
    }
    f.net_revenue = sum;
    // Repairs the span a build before 2026-12-06 stored when every folded
    // order was cancelled: the cancelled ones' placements.
    p.RefreshFoldedSpan();
  }
  uint64_t n;
  if (!r.Count(11, &n)) return Corrupt("order count");
  Millis prev = 0;
  std::vector<CategoryId> cats;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta, v, fp;
    if (!r.Varint(&delta) || delta > static_cast<uint64_t>(kMaxEventMillis) ||
        !r.Varint(&v) || (v >> 1) > static_cast<uint64_t>(kMaxAmount) ||
        !r.Fixed64(&fp)) {
      return Corrupt("order");
    }
    OrderFacts o;
    o.placed_ms = prev + static_cast<int64_t>(delta);
    if (!Reader::InRange(o.placed_ms) || o.placed_ms <= p.folded_.through_ms) {
      return Corrupt("order instant");
    }
    prev = o.placed_ms;
    o.net_amount = static_cast<int64_t>(v >> 1);
    o.cancelled = v & 1;
    cats.clear();
    if (!ReadCategories(r, &cats)) return Corrupt("order categories");
    o.categories_begin = static_cast<uint32_t>(p.categories_.size());
    o.categories_count = static_cast<uint16_t>(cats.size());
    p.categories_.insert(p.categories_.end(), cats.begin(), cats.end());
    p.orders_.push_back(o);
    p.order_ids_.push_back(fp);
  }
  if (!r.Count(11, &n)) return Corrupt("message count");
  prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t delta, fp;
    MessageFacts m;
    if (!r.Varint(&delta) || delta > static_cast<uint64_t>(kMaxEventMillis)) {
      return Corrupt("message");
    }
    m.sent_ms = prev + static_cast<int64_t>(delta);
    if (!Reader::InRange(m.sent_ms) || !r.Relative(m.sent_ms, &m.opened_ms) ||
        !r.Relative(m.sent_ms, &m.acted_ms) || !r.Fixed64(&fp) ||
        (m.acted_ms != kNeverMillis && m.opened_ms > m.acted_ms)) {
      return Corrupt("message");
    }
    prev = m.sent_ms;
    p.messages_.push_back(m);
    p.message_ids_.push_back(fp);
  }
  if (flags & kHasCart) {
    p.has_cart_ = true;
    uint64_t value;
    if (!r.Signed(&p.cart_.updated_ms) || !Reader::InRange(p.cart_.updated_ms) ||
        !r.Varint(&value) || value > static_cast<uint64_t>(kMaxAmount) ||
        !r.Relative(p.cart_.updated_ms, &p.cart_.converted_ms) ||
        !ReadCategories(r, &p.cart_categories_)) {
      return Corrupt("cart");
    }
    p.cart_.value = static_cast<int64_t>(value);
  }
  if (flags & kHasRefunds) {
    uint64_t n;
    if (!r.Varint(&n) || n == 0 || n > bytes.size() / 8) return Corrupt("refunds");
    p.refund_ids_.resize(n);
    for (uint64_t& id : p.refund_ids_) {
      if (!r.Fixed64(&id)) return Corrupt("refunds");
    }
  }
  if (flags & kHasEarlyEngagements) {
    uint64_t n;
    if (!r.Varint(&n) || n == 0 || n > kMaxEarlyEngagements) return Corrupt("early engagements");
    p.early_.resize(n);
    for (EarlyEngagement& e : p.early_) {
      if (!r.Fixed64(&e.message_fp) || !r.Signed(&e.opened_ms) || !Reader::InRange(e.opened_ms) ||
          !r.Relative(e.opened_ms, &e.acted_ms) ||
          (e.acted_ms != kNeverMillis && e.acted_ms < e.opened_ms)) {
        return Corrupt("early engagements");
      }
    }
  }
  if (flags & kHasCorrections) {
    uint64_t n;
    // Each takes at least 10 bytes.
    if (!r.Varint(&n) || n == 0 || n > bytes.size() / 10) return Corrupt("corrections");
    p.corrections_.resize(n);
    for (OrderCorrection& c : p.corrections_) {
      uint64_t refund;
      if (!r.Fixed64(&c.order_fp) || !r.Signed(&c.at_ms) || !Reader::InRange(c.at_ms) ||
          !r.Varint(&refund) || refund > static_cast<uint64_t>(kMaxAmount)) {
        return Corrupt("corrections");
      }
      c.refund = static_cast<int64_t>(refund);
    }
  }
  if (flags & kHasAwaitedCorrections) {
    uint64_t n;
    if (!r.Varint(&n) || n == 0 || n > kMaxAwaitedCorrections)
      return Corrupt("awaited corrections");
    p.awaited_.resize(n);
    for (AwaitedCorrection& c : p.awaited_) {
      uint64_t refund;
      if (!r.Fixed64(&c.order_fp) || !r.Signed(&c.at_ms) || !Reader::InRange(c.at_ms) ||
          !r.Varint(&refund) || refund > static_cast<uint64_t>(kMaxAmount) ||
          (refund > 0 && !r.Fixed64(&c.refund_fp))) {
        return Corrupt("awaited corrections");
      }
      c.refund = static_cast<int64_t>(refund);
    }
  }
  if (flags & kHasDroppedMessagesFrom) {
    // A dropped message was sent at or before the fold horizon.
    if (!p.messages_dropped_ || !r.Signed(&p.messages_dropped_from_ms_) ||
        !Reader::InRange(p.messages_dropped_from_ms_) ||
        p.folded_.through_ms == FoldedTotals::kNothingFolded ||
        p.messages_dropped_from_ms_ > p.folded_.through_ms) {
      return Corrupt("dropped messages");
    }
  }
  if (!r.AtEnd()) return Corrupt("trailing bytes");
  return p;
}

}  // namespace segmentd::engine
