#include "engine/profile_codec.h"

#include <gtest/gtest.h>

#include "engine/generator.h"

namespace segmentd::engine {
namespace {

TEST(ProfileCodec, RoundTripsGeneratedProfiles) {
  GeneratorOptions opt;
  size_t total = 0, buyers_total = 0, buyers = 0;
  const int kN = 3000;
  for (int i = 0; i < kN; ++i) {
    const GeneratedCustomer c = GenerateCustomer(opt, i);
    const absl::Time horizon = opt.now - absl::Hours(24) * 365;
    for (bool fold : {false, true}) {
      Profile p = *BuildProfile(c, fold ? std::optional(horizon) : std::nullopt);
      const std::string bytes = EncodeProfile(p);
      absl::StatusOr<Profile> back = DecodeProfile(bytes);
      ASSERT_TRUE(back.ok()) << back.status();
      ASSERT_TRUE(*back == p) << i;
      ASSERT_EQ(EncodeProfile(*back), bytes);
      if (fold) {
        total += bytes.size();
        if (!c.orders.empty()) {
          buyers_total += bytes.size();
          ++buyers;
        }
      }
    }
  }
  // Well under the 400-byte budget per customer on average.
  EXPECT_LT(total / kN, 250u);
  EXPECT_LT(buyers_total / buyers, 300u);
}

// A profile with order "o1" (1000).
Profile WithOrder() {
  Profile p;
  OrderPlaced order;
  order.order_id = "o1";
  order.placed_at = absl::FromUnixSeconds(1'700'000'000);
  order.amount = 1000;
  EXPECT_TRUE(p.PlaceOrder(order).ok());
  return p;
}

// ... and its refund "r1" (100).
Profile WithRefund() {
  Profile p = WithOrder();
  EXPECT_TRUE(p.RefundOrder("o1", "r1", 100).ok());
  return p;
}

TEST(ProfileCodec, KeepsRefundIds) {
  Profile p = WithRefund();
  absl::StatusOr<Profile> back = DecodeProfile(EncodeProfile(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == p);
  EXPECT_EQ(*back->RefundOrder("o1", "r1", 100), EventOutcome::kDuplicate);
}

TEST(ProfileCodec, ARefundStoredUnderItsIdAloneIsStillADuplicate) {
  // Before 2026-12-05 a refund was kept under IdFingerprint(refund id): such
  // a stored profile, made here by swapping the stored key's bytes.
  Profile p = WithRefund();
  auto bytes_of = [](uint64_t v) {
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
    return out;
  };
  std::string stored = EncodeProfile(p);
  const size_t at = stored.find(bytes_of(RefundFingerprint("o1", "r1")));
  ASSERT_NE(at, std::string::npos);
  stored.replace(at, 8, bytes_of(IdFingerprint("r1")));
  absl::StatusOr<Profile> legacy = DecodeProfile(stored);
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ(*legacy->RefundOrder("o1", "r1", 100), EventOutcome::kDuplicate);
  EXPECT_EQ(legacy->orders()[0].net_amount, 900);
}

// Encodes `p`, checks that it decodes equal and that every truncation of its
// bytes is refused, and returns the decoded profile.
Profile RoundTripRefusingTruncations(const Profile& p) {
  const std::string bytes = EncodeProfile(p);
  absl::StatusOr<Profile> back = DecodeProfile(bytes);
  EXPECT_TRUE(back.ok()) << back.status();
  if (!back.ok()) return Profile();
  EXPECT_TRUE(*back == p);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeProfile(bytes.substr(0, n)).ok()) << n;
  }
  return *std::move(back);
}

TEST(ProfileCodec, KeepsEarlyEngagements) {
  Profile p;
  ASSERT_TRUE(p.MessageOpened("m1", absl::FromUnixSeconds(1'700'000'000)).ok());
  ASSERT_TRUE(p.MessageActed("m2", absl::FromUnixSeconds(1'700'000'500)).ok());
  ASSERT_EQ(p.early_engagements().size(), 2u);
  Profile back = RoundTripRefusingTruncations(p);
  ASSERT_EQ(back.early_engagements().size(), 2u);
  EXPECT_EQ(*back.MessageSent("m2", absl::FromUnixSeconds(1'699'999'000)), EventOutcome::kApplied);
  EXPECT_EQ(back.messages()[0].acted_ms, 1'700'000'500'000);
}

TEST(ProfileCodec, KeepsCorrectionsWithTheirInstants) {
  Profile p = WithOrder();
  ASSERT_TRUE(p.RefundOrder("o1", "r1", 250, absl::FromUnixSeconds(1'700'100'000)).ok());
  ASSERT_TRUE(p.CancelOrder("o1", absl::FromUnixSeconds(1'700'200'000)).ok());
  ASSERT_EQ(p.corrections().size(), 2u);
  const Profile back = RoundTripRefusingTruncations(p);
  ASSERT_EQ(back.corrections().size(), 2u);
  EXPECT_EQ(back.corrections()[0].refund, 250);
  EXPECT_EQ(back.corrections()[1].at_ms, 1'700'200'000'000);
}

TEST(ProfileCodec, KeepsCorrectionsAwaitingTheirOrders) {
  Profile p = WithOrder();
  ASSERT_TRUE(p.CancelOrder("later", absl::FromUnixSeconds(1'700'300'000)).ok());
  ASSERT_TRUE(p.RefundOrder("later", "r1", 70, absl::FromUnixSeconds(1'700'200'000)).ok());
  ASSERT_EQ(p.awaited_corrections().size(), 2u);
  Profile back = RoundTripRefusingTruncations(p);
  EXPECT_EQ(back, p);
  ASSERT_EQ(back.awaited_corrections().size(), 2u);
  EXPECT_EQ(back.awaited_corrections()[1].refund, 70);
  EXPECT_EQ(*back.RefundOrder("later", "r1", 70, absl::FromUnixSeconds(1'700'200'000)),
            EventOutcome::kDuplicate);
  OrderPlaced later;
  later.order_id = "later";
  later.placed_at = absl::FromUnixSeconds(1'700'100'000);
  later.amount = 100;
  ASSERT_EQ(*back.PlaceOrder(later), EventOutcome::kApplied);
  EXPECT_TRUE(back.orders().back().cancelled);
  EXPECT_EQ(back.orders().back().net_amount, 30);
}

TEST(ProfileCodec, KeepsWhetherMessagesWereDroppedAndAssumesSoForOlderData) {
  Profile kept;
  ASSERT_TRUE(kept.MessageSent("m1", absl::FromUnixSeconds(1'700'000'000)).ok());
  Profile dropped = kept;
  dropped.Fold(absl::FromUnixSeconds(1'800'000'000));
  ASSERT_TRUE(dropped.view().messages_dropped);
  for (const Profile& p : {kept, dropped}) {
    absl::StatusOr<Profile> back = DecodeProfile(EncodeProfile(p));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == p);
    EXPECT_EQ(back->view().messages_dropped, p.view().messages_dropped);
    EXPECT_EQ(back->view().messages_dropped_from_ms, p.view().messages_dropped_from_ms);
  }
  EXPECT_EQ(dropped.view().messages_dropped_from_ms,
            ToMillis(absl::FromUnixSeconds(1'700'000'000)));
  // Stored before the earliest dropped send was kept: neither flag 4096 nor
  // the instant's varint last (zigzag of 1.7e12 ms: 6 bytes).
  {
    const std::string bytes = EncodeProfile(dropped);
    ASSERT_EQ(static_cast<uint8_t>(bytes[1]) & 0x80, 0x80);  // flags: two varint bytes
    const uint64_t flags =
        (static_cast<uint8_t>(bytes[1]) & 0x7f) | (uint64_t{static_cast<uint8_t>(bytes[2])} << 7);
    ASSERT_EQ(flags & ~uint64_t{127}, 4096u);
    const std::string older =
        bytes.substr(0, 1) + static_cast<char>(flags & 127) + bytes.substr(3, bytes.size() - 9);
    absl::StatusOr<Profile> back = DecodeProfile(older);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(back->view().messages_dropped);
    EXPECT_EQ(back->view().messages_dropped_from_ms, kDroppedAtUnknownInstants);
  }
  // An earliest dropped send after the fold horizon is corrupt (every
  // dropped message was sent at or before it). The bytes, with the instant's
  // 6-byte varint (the last bytes) replaced:
  {
    const std::string bytes = EncodeProfile(dropped);
    auto with_instant = [&](int64_t ms) {
      std::string out = bytes.substr(0, bytes.size() - 6);
      uint64_t v = static_cast<uint64_t>(ms) << 1;  // zigzag of a positive value
      for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
      out += static_cast<char>(v);
      return out;
    };
    ASSERT_EQ(with_instant(1'700'000'000'000), bytes);                 // the varint as encoded
    EXPECT_TRUE(DecodeProfile(with_instant(1'800'000'000'000)).ok());  // at the horizon
    EXPECT_FALSE(DecodeProfile(with_instant(1'800'000'000'001)).ok());
  }
  // The flag without dropped messages is corrupt.
  {
    std::string bytes = EncodeProfile(kept);
    ASSERT_LT(static_cast<uint8_t>(bytes[1]), 128);
    const uint64_t flags = static_cast<uint8_t>(bytes[1]) | 4096;
    std::string bad = bytes.substr(0, 1) + static_cast<char>((flags & 0x7f) | 0x80) +
                      static_cast<char>(flags >> 7) + bytes.substr(2) + '\x02';
    EXPECT_FALSE(DecodeProfile(bad).ok());
  }
  // Data stored before the flag existed lacks it (version byte, then the
  // flags varint: one byte here): read as "dropped", the safe side.
  std::string older = EncodeProfile(kept);
  ASSERT_NE(older[1] & 64, 0);
  older[1] = static_cast<char>(older[1] & ~64);
  absl::StatusOr<Profile> back = DecodeProfile(older);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->view().messages_dropped);
}

TEST(ProfileCodec, KeepsFoldedOrdersPlacementsAndCategoriesAndReadsOlderDataWithoutThem) {
  Profile p;
  OrderPlaced order;
  order.order_id = "o1";
  order.placed_at = absl::FromUnixSeconds(1'700'000'000);
  order.amount = 1000;
  const std::vector<CategoryId> categories = {3, 7};
  order.categories = categories;
  ASSERT_TRUE(p.PlaceOrder(order).ok());
  ASSERT_EQ(p.Fold(absl::FromUnixSeconds(1'700'000'100)), 1);
  ASSERT_EQ(p.folded_orders().size(), 1u);
  EXPECT_EQ(p.folded_orders()[0].placed_ms, 1'700'000'000'000);
  const Profile back = RoundTripRefusingTruncations(p);
  EXPECT_EQ(back.folded_orders()[0].placed_ms, 1'700'000'000'000);
  ASSERT_TRUE(back.folded_orders()[0].categories_known);
  const Profile::FoldedOrder& f = back.folded_orders()[0];
  EXPECT_EQ(std::vector<CategoryId>(
                back.folded_category_pool().begin() + f.categories_begin,
                back.folded_category_pool().begin() + f.categories_begin + f.categories_count),
            (std::vector<CategoryId>{3, 7}));
  // An order without categories keeps that it has none.
  Profile none = WithOrder();
  ASSERT_EQ(none.Fold(absl::FromUnixSeconds(1'700'000'100)), 1);
  const Profile none_back = RoundTripRefusingTruncations(none);
  EXPECT_TRUE(none_back.folded_orders()[0].categories_known);
  EXPECT_EQ(none_back.folded_orders()[0].categories_count, 0);
  // Data stored before categories were kept: no flag 1024 (the flags
  // varint's second byte: 4 | 8) and no categories after the placement.
  std::string fp;
  for (int i = 0; i < 8; ++i) fp.push_back(static_cast<char>(IdFingerprint("o1") >> (8 * i)));
  std::string older = EncodeProfile(p);
  ASSERT_EQ(static_cast<uint8_t>(older[2]), 4 | 8);
  older[2] = 4;
  size_t at = older.find(fp);
  ASSERT_NE(at, std::string::npos);
  // After the fingerprint, its amount 1000 << 1 as a two-byte varint, then
  // the placement: through - placed + 1 = 100,001 ms, varint a1 8d 06; then
  // two categories (count + 1 = 3), 3 and 7 - 3.
  const size_t placement = at + 8 + 2;
  ASSERT_EQ(older.substr(placement, 3), "\xa1\x8d\x06");
  ASSERT_EQ(older.substr(placement + 3, 3), std::string("\x03\x03\x04"));
  older.erase(placement + 3, 3);
  absl::StatusOr<Profile> without_categories = DecodeProfile(older);
  ASSERT_TRUE(without_categories.ok()) << without_categories.status();
  EXPECT_FALSE(without_categories->folded_orders()[0].categories_known);
  EXPECT_EQ(without_categories->folded_orders()[0].placed_ms, 1'700'000'000'000);
  EXPECT_NE(*without_categories, p);
  EXPECT_EQ(EncodeProfile(*without_categories), older);
  // Data stored before placements were kept: no flag 512 either (so the
  // flags fit one byte) and no placement after the folded order.
  older[1] = static_cast<char>(older[1] & 0x7f);
  older.erase(2, 1);
  older.erase(placement - 1, 3);
  absl::StatusOr<Profile> legacy = DecodeProfile(older);
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ(legacy->folded_orders()[0].placed_ms, kNeverMillis);
  EXPECT_FALSE(legacy->folded_orders()[0].categories_known);
  EXPECT_EQ(legacy->folded().orders, 1);
  EXPECT_EQ(EncodeProfile(*legacy), older);
}

TEST(ProfileCodec, RejectsCorruptInputWithoutCrashing) {
  GeneratorOptions opt;
  Profile p = *BuildProfile(GenerateCustomer(opt, 7));
  const std::string good = EncodeProfile(p);
  EXPECT_EQ(DecodeProfile("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeProfile("\x02").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeProfile(good + "x").status().code(),
            absl::StatusCode::kDataLoss);
  // Every truncation fails; every single-byte corruption either fails or
  // decodes to something that re-encodes consistently.
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(DecodeProfile(good.substr(0, len)).ok()) << len;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] ^= static_cast<char>(1 << bit);
      absl::StatusOr<Profile> q = DecodeProfile(bad);
      if (q.ok()) {
        ASSERT_TRUE(DecodeProfile(EncodeProfile(*q)).ok());
      }
    }
  }
}

}  // namespace
}  // namespace segmentd::engine
