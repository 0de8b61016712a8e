#include "server/tenant_slots.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace segmentd {
namespace {

TEST(TenantSlotsTest, EachTenantHoldsAtMostItsSlotsUntilOneIsGivenBack) {
  TenantSlots slots(2);
  std::vector<TenantSlots::Slot> held;
  held.push_back(slots.Take("a"));
  held.push_back(slots.Take("a"));
  EXPECT_TRUE(held[0].held());
  EXPECT_TRUE(held[1].held());
  EXPECT_FALSE(slots.Take("a").held());
  EXPECT_TRUE(slots.Take("b").held());  // another tenant's are its own
  held.pop_back();                      // given back
  TenantSlots::Slot again = slots.Take("a");
  EXPECT_TRUE(again.held());
  EXPECT_FALSE(slots.Take("a").held());
  // A refused slot gives nothing back.
  { TenantSlots::Slot refused = slots.Take("a"); }
  EXPECT_FALSE(slots.Take("a").held());
  TenantSlots::Slot moved = std::move(again);  // still one slot
  EXPECT_FALSE(slots.Take("a").held());
}

}  // namespace
}  // namespace segmentd
