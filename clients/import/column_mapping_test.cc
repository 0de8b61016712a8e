#include "clients/import/column_mapping.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<ColumnMapping> Make(const std::string& columns, char delimiter = ',',
                                    bool header = true) {
  ColumnMapping::Options o;
  o.columns = columns;
  o.delimiter = delimiter;
  o.header = header;
  absl::StatusOr<std::unique_ptr<ColumnMapping>> m = ColumnMapping::Create(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

TEST(ColumnMappingTest, TheDocumentedSpec) {
  auto m = Make("customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal,categories=5");
  std::vector<ImportedOrder> out;
  ASSERT_TRUE(m->AddLine(1, "customer,order,date,total,cats", &out).ok());
  ASSERT_TRUE(m->AddLine(2, "alice,o-1,2024-03-05,12.34,shoes|bags", &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].customer_id, "alice");
  EXPECT_EQ(out[0].order_id, "o-1");
  EXPECT_EQ(out[0].placed_at, absl::FromCivil(absl::CivilDay(2024, 3, 5), absl::UTCTimeZone()));
  EXPECT_EQ(out[0].amount, 1234);
  EXPECT_THAT(out[0].categories, ElementsAre("shoes", "bags"));
  EXPECT_EQ(out[0].line, 2);
}

TEST(ColumnMappingTest, DefaultsAndOtherKinds) {
  auto m = Make("placed_at=1,customer_id=2,amount=3:cents", ';', false);
  std::vector<ImportedOrder> out;
  ASSERT_TRUE(m->AddLine(1, "2024-03-05T10:00:00Z;bob;995", &out).ok());
  ASSERT_TRUE(m->AddLine(2, "2024-03-05T10:00:00Z;bob;5", &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].amount, 995);
  // Without an order id column, ids come from customer + placed_at + ordinal.
  EXPECT_EQ(out[0].order_id, "bob@2024-03-05T10:00:00Z#1");
  EXPECT_EQ(out[1].order_id, "bob@2024-03-05T10:00:00Z#2");
  auto unix = Make("customer_id=1,placed_at=2:unix,amount=3", ',', false);
  ASSERT_TRUE(unix->AddLine(1, "c,86400,1", &out).ok());
  EXPECT_EQ(out.back().placed_at, absl::FromUnixSeconds(86400));
  EXPECT_EQ(out.back().amount, 100);
}

TEST(ColumnMappingTest, BadSpecs) {
  for (const char* spec : {"", "customer_id=1,amount=2", "customer_id=0,placed_at=1,amount=2",
                           "customer_id=1,placed_at=2,amount=3:euros", "who=1",
                           "customer_id=1,customer_id=2,placed_at=3,amount=4",
                           "customer_id=x,placed_at=2,amount=3"}) {
    ColumnMapping::Options o;
    o.columns = spec;
    EXPECT_EQ(ColumnMapping::Create(o).status().code(), absl::StatusCode::kInvalidArgument) << spec;
  }
}

TEST(ColumnMappingTest, BadRows) {
  auto m = Make("customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4", ',', false);
  std::vector<ImportedOrder> out;
  EXPECT_THAT(std::string(m->AddLine(1, "a,o,2024-03-05", &out).message()), HasSubstr("found 3"));
  EXPECT_THAT(std::string(m->AddLine(2, ",o,2024-03-05,1", &out).message()), HasSubstr("customer_id"));
  EXPECT_THAT(std::string(m->AddLine(3, "a,o,05/03/2024,1", &out).message()), HasSubstr("placed_at"));
  EXPECT_THAT(std::string(m->AddLine(4, "a,o,2024-03-05,-1", &out).message()), HasSubstr("negative"));
  EXPECT_THAT(std::string(m->AddLine(5, "a,,2024-03-05,1", &out).message()), HasSubstr("order_id"));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace segmentd::clients
