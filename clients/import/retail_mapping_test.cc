#include "clients/import/retail_mapping.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

using ::testing::HasSubstr;

constexpr char kHeader[] =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

struct Result {
  std::vector<ImportedOrder> orders;
  std::vector<RowError> errors;  // AddLine errors and Finish errors, by line
  std::map<std::string, int64_t> skipped;
};

Result Map(const std::vector<std::string>& lines) {
  RetailMapping m;
  Result r;
  int64_t line = 0;
  for (const std::string& text : lines) {
    ++line;
    absl::Status s = m.AddLine(line, text, &r.orders);
    if (!s.ok()) r.errors.push_back({line, std::string(s.message())});
  }
  m.Finish(&r.orders, &r.errors);
  r.skipped = m.skipped();
  return r;
}

TEST(RetailMappingTest, GroupsInvoiceLinesIntoOneOrderSentAtFinish) {
  RetailMapping m;
  std::vector<ImportedOrder> out;
  ASSERT_TRUE(m.AddLine(1, kHeader, &out).ok());
  ASSERT_TRUE(m.AddLine(2, "569901,23256,CUTLERY ,2,2011-10-06 16:20:00,4.15,12923.0,United Kingdom", &out).ok());
  ASSERT_TRUE(m.AddLine(3, "565806,23275,OWLS,12,2011-09-07 10:51:00,1.25,15594.0,United Kingdom", &out).ok());
  ASSERT_TRUE(m.AddLine(4, R"(569901,22041,"RECORD FRAME 7"" SINGLE SIZE ",3,2011-10-06 16:19:00,0.333,12923.0,UK)", &out).ok());
  EXPECT_TRUE(out.empty()) << "an invoice may continue on any later line";
  std::vector<RowError> errors;
  m.Finish(&out, &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].order_id, "retail-569901");
  EXPECT_EQ(out[0].customer_id, "12923");
  // 2 * 4.15 + 3 * 0.333 = 9.299 -> 930 cents.
  EXPECT_EQ(out[0].amount, 930);
  // The earliest line's time, as UTC.
  EXPECT_EQ(out[0].placed_at, absl::FromCivil(absl::CivilSecond(2011, 10, 6, 16, 19, 0), absl::UTCTimeZone()));
  EXPECT_EQ(out[0].line, 2);
  EXPECT_EQ(out[1].order_id, "retail-565806");
  EXPECT_EQ(out[1].amount, 1500);
}

TEST(RetailMappingTest, SkipsRowsWithoutCustomerAndCancellationsWithCounts) {
  Result r = Map({kHeader,
                  "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,,United Kingdom",
                  "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom",
                  "C536383,35004C,LIGHTS,-1,2010-12-01 09:49:00,4.65,15311.0,United Kingdom",
                  "536384,82484,FRAME,6,2010-12-01 09:53:00,6.45,18074.0,United Kingdom"});
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].order_id, "retail-536384");
  EXPECT_EQ(r.orders[0].amount, 3870);
  EXPECT_EQ(r.skipped.at("row without CustomerID"), 1);
  EXPECT_EQ(r.skipped.at("cancellation (C invoice) row"), 2);
}

TEST(RetailMappingTest, ABadRowDropsItsWholeInvoiceAndNamesItsLine) {
  Result r = Map({kHeader,
                  "1001,A,x,2,2011-01-01 10:00:00,1.00,1.0,UK",
                  "1002,A,x,1,2011-01-02 10:00:00,1.00,2.0,UK",
                  "1001,B,x,two,2011-01-01 10:00:00,1.00,1.0,UK",
                  "1003,A,x,1,2011-13-02 10:00:00,1.00,3.0,UK",
                  "1004,A,x,1,2011-01-02 10:00:00,1.0.0,4.0,UK",
                  "1005,A,x,1,2011-01-02 10:00:00,1.00,5.0,UK",
                  "1005,A,x,1,2011-01-02 10:00:00,1.00,6.0,UK",
                  "1006,A,x,-3,2011-01-02 10:00:00,1.00,7.0,UK",
                  "1007,\"broken,UK"});
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].order_id, "retail-1002");
  ASSERT_EQ(r.errors.size(), 6u);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_THAT(r.errors[0].message, HasSubstr("Quantity"));
  EXPECT_EQ(r.errors[1].line, 5);
  EXPECT_THAT(r.errors[1].message, HasSubstr("InvoiceDate"));
  EXPECT_EQ(r.errors[2].line, 6);
  EXPECT_THAT(r.errors[2].message, HasSubstr("UnitPrice"));
  EXPECT_EQ(r.errors[3].line, 8);
  EXPECT_THAT(r.errors[3].message, HasSubstr("differs"));
  EXPECT_EQ(r.errors[4].line, 10);
  EXPECT_THAT(r.errors[4].message, HasSubstr("quoted"));
  EXPECT_EQ(r.errors[5].line, 9);  // from Finish: a negative non-cancellation invoice
  EXPECT_THAT(r.errors[5].message, HasSubstr("negative"));
  // 1007's too: its InvoiceNo reads before the quote that does not.
  EXPECT_EQ(r.skipped.at("invoice with a bad row"), 5);
}

// An invoice one of whose rows names no customer would be booked in part
// if only its attributed rows were imported: it is a bad group instead.
TEST(RetailMappingTest, AnInvoicePartlyWithoutCustomerIsNotImportedInPart) {
  Result r = Map({kHeader, "900009,A,x,1,2011-01-01 10:00:00,1.00,17.0,UK",
                  "900009,B,x,1,2011-01-01 10:00:00,1.00,,UK",
                  "900010,A,x,1,2011-01-01 10:00:00,2.00,18.0,UK"});
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].order_id, "retail-900010");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_THAT(r.errors[0].message, HasSubstr("invoice 900009 has rows without CustomerID"));
  EXPECT_EQ(r.skipped.at("row without CustomerID"), 1);
}

TEST(RetailMappingTest, RequiresTheHeaderColumns) {
  Result r = Map({"a,b,c", "1,2,3"});
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_THAT(r.errors[0].message, HasSubstr("InvoiceNo"));
}

TEST(RetailMappingTest, NormalizesCustomerIds) {
  EXPECT_EQ(NormalizeCustomerId("12923.0"), "12923");
  EXPECT_EQ(NormalizeCustomerId(" 12923.00 "), "12923");
  EXPECT_EQ(NormalizeCustomerId("12923"), "12923");
  EXPECT_EQ(NormalizeCustomerId("12923.5"), "12923.5");
  EXPECT_EQ(NormalizeCustomerId(""), "");
}

TEST(RetailMappingTest, SameInputSameOrders) {
  std::vector<std::string> lines = {kHeader, "2,A,x,1,2011-01-02 10:00:00,1.5,9.0,UK",
                                    "1,A,x,1,2011-01-01 10:00:00,2.5,8.0,UK",
                                    "2,B,x,1,2011-01-02 10:00:00,1.5,9.0,UK"};
  Result a = Map(lines), b = Map(lines);
  ASSERT_EQ(a.orders.size(), 2u);
  for (size_t i = 0; i < a.orders.size(); ++i) {
    EXPECT_EQ(a.orders[i].order_id, b.orders[i].order_id);
    EXPECT_EQ(a.orders[i].amount, b.orders[i].amount);
  }
  EXPECT_EQ(a.orders[0].order_id, "retail-2");  // by first line
  EXPECT_EQ(a.orders[0].amount, 300);
}

// A row whose fields cannot be read makes its invoice bad when its InvoiceNo
// can be read, whichever comes first; too few fields too.
TEST(RetailMappingTest, AnUnreadableRowMakesItsInvoiceBad) {
  Result r =
      Map({kHeader, "7,A,\"open,1,2011-01-01 10:00:00,1.00,42.0,UK",
           "7,B,x,10,2011-01-01 10:00:00,1.00,42.0,UK", "8,B,x,10,2011-01-01 10:00:00,1.00,43.0,UK",
           "8,A,x,1", "9,A,x,1,2011-01-01 10:00:00,1.00,44.0,UK"});
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].order_id, "retail-9");
  ASSERT_EQ(r.errors.size(), 2u);  // the two rows; no other row of 7 or 8
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].line, 5);
  EXPECT_THAT(r.errors[1].message, HasSubstr("expected at least"));
  EXPECT_EQ(r.skipped.at("invoice with a bad row"), 2);
}

// Quantity x UnitPrice is exact in 128 bits: products that wrapped around in
// 64 bits (and were stored as a few cents) now make the invoice bad, named
// as more than an order may have; a negative total past int64 too.
TEST(RetailMappingTest, AmountsBeyondAnOrdersLargestAreRefusedNotWrapped) {
  Result r = Map({kHeader, "1,A,x,536870912,2011-01-01 10:00:00,3435973.8368,42.0,UK",
                  "1,B,x,1,2011-01-01 10:00:00,12.34,42.0,UK",
                  "2,A,x,900000000,2011-01-01 10:00:00,10000000,43.0,UK",
                  "2,B,x,900000000,2011-01-01 10:00:00,10000000,43.0,UK",
                  "3,A,x,-900000000,2011-01-01 10:00:00,10000000,44.0,UK",
                  "4,A,x,100000,2011-01-01 10:00:00,10000000,45.0,UK",
                  "5,A,x,100,2011-01-01 10:00:00,100000000,46.0,UK"});
  // 10^5 x 10^7 = 10^14 cents is too much too; 100 x 10^8 = 10^12 cents is
  // the most an order may have.
  ASSERT_EQ(r.orders.size(), 1u);
  EXPECT_EQ(r.orders[0].order_id, "retail-5");
  EXPECT_EQ(r.orders[0].amount, 1'000'000'000'000);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("invoice 1 totals more than 10^12 cents"));
  EXPECT_THAT(r.errors[1].message, HasSubstr("invoice 2 totals more than 10^12 cents"));
  EXPECT_THAT(r.errors[2].message, HasSubstr("invoice 3 totals less than -10^12 cents"));
  EXPECT_THAT(r.errors[3].message, HasSubstr("invoice 4 totals more than 10^12 cents"));
}

// A first line that names no columns is reported once, not on every row.
TEST(RetailMappingTest, ABadHeaderIsReportedOnce) {
  Result r = Map({"Invoice,Code,Qty", "1,A,x,1,2011-01-01 10:00:00,1.00,42.0,UK",
                  "2,A,x,1,2011-01-01 10:00:00,1.00,42.0,UK"});
  EXPECT_TRUE(r.orders.empty());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("header must name the columns"));
  EXPECT_EQ(r.skipped.at("row after a bad header"), 2);
  // A header that cannot even be split, too.
  r = Map({"\"InvoiceNo,Quantity", "1,A,x,1,2011-01-01 10:00:00,1.00,42.0,UK"});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.skipped.at("row after a bad header"), 1);
}

}  // namespace
}  // namespace segmentd::clients
