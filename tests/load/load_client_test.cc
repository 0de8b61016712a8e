#include "tests/load/load_client.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace segmentd::load {
namespace {

TEST(ParseEventKinds, NamesAndLists) {
  EXPECT_EQ(*ParseEventKinds("order", "--event"), std::vector<EventKind>{EventKind::kOrder});
  EXPECT_EQ(*ParseEventKinds("order,activity,engagement,cart", "--event"),
            (std::vector<EventKind>{EventKind::kOrder, EventKind::kActivity, EventKind::kEngagement,
                                    EventKind::kCart}));
  EXPECT_EQ(*ParseEventKinds("cart,cart", "--event"),
            (std::vector<EventKind>{EventKind::kCart, EventKind::kCart}));
}

TEST(ParseEventKinds, UnknownOrEmptyNamesNameTheFlag) {
  for (const char* bad : {"", "oder", "order,", ",order", "Order", "order, cart"}) {
    absl::StatusOr<std::vector<EventKind>> kinds = ParseEventKinds(bad, "--background_event");
    EXPECT_EQ(kinds.status().code(), absl::StatusCode::kInvalidArgument) << "\"" << bad << "\"";
    EXPECT_TRUE(absl::StartsWith(kinds.status().message(), "--background_event: "))
        << kinds.status();
  }
}

// The customer's number in "cust-<n>", or -1.
int64_t CustomerNumber(const std::string& id) {
  int64_t n = -1;
  if (!absl::StartsWith(id, "cust-") || !absl::SimpleAtoi(id.substr(5), &n)) return -1;
  return n;
}

TEST(FillRandomEvent, EachKindIsItsEventForACustomerOfThePopulation) {
  std::mt19937_64 rng(7);
  const absl::Time at = absl::FromUnixSeconds(1795564800);
  const google::protobuf::Timestamp stamp = ToTimestamp(at);
  std::set<int64_t> customers;
  for (int i = 0; i < 200; ++i) {
    const std::string id = absl::StrCat("id-", i);
    for (EventKind kind :
         {EventKind::kOrder, EventKind::kActivity, EventKind::kEngagement, EventKind::kCart}) {
      v1::Event event;
      FillRandomEvent(kind, rng, 10, id, at, &event);
      switch (kind) {
        case EventKind::kOrder: {
          ASSERT_EQ(event.kind_case(), v1::Event::kOrderPlaced);
          const v1::OrderPlaced& o = event.order_placed();
          customers.insert(CustomerNumber(o.customer_id()));
          EXPECT_EQ(o.order_id(), id);
          EXPECT_EQ(o.placed_at().seconds(), stamp.seconds());
          EXPECT_GE(o.amount(), 500);
          EXPECT_LE(o.amount(), 20000);
          ASSERT_EQ(o.categories_size(), 1);
          EXPECT_TRUE(absl::StartsWith(o.categories(0), "cat")) << o.categories(0);
          break;
        }
        case EventKind::kActivity:
          ASSERT_EQ(event.kind_case(), v1::Event::kActivity);
          customers.insert(CustomerNumber(event.activity().customer_id()));
          EXPECT_EQ(event.activity().occurred_at().seconds(), stamp.seconds());
          break;
        case EventKind::kEngagement:
          ASSERT_EQ(event.kind_case(), v1::Event::kEngagement);
          customers.insert(CustomerNumber(event.engagement().customer_id()));
          EXPECT_EQ(event.engagement().message_id(), id);
          EXPECT_EQ(event.engagement().kind(), v1::ENGAGEMENT_KIND_SENT);
          EXPECT_EQ(event.engagement().occurred_at().seconds(), stamp.seconds());
          break;
        case EventKind::kCart:
          ASSERT_EQ(event.kind_case(), v1::Event::kCartUpdated);
          customers.insert(CustomerNumber(event.cart_updated().customer_id()));
          EXPECT_GE(event.cart_updated().value(), 500);
          EXPECT_LE(event.cart_updated().value(), 20000);
          EXPECT_EQ(event.cart_updated().categories_size(), 1);
          EXPECT_EQ(event.cart_updated().updated_at().seconds(), stamp.seconds());
          break;
      }
    }
  }
  // Customers 0-9 of the population, every one of them over 800 events.
  EXPECT_EQ(customers, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

}  // namespace
}  // namespace segmentd::load
