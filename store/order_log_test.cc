#include "store/order_log.h"

#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/customer_store.h"

namespace segmentd::store {
namespace {

constexpr int64_t kDay = 20000;  // 2024-10-04

int64_t At(int64_t day, int64_t ms_of_day) { return day * kDayMillis + ms_of_day; }

TEST(OrderLogTest, SumsTheRecordsWithinARangeOfTheDay) {
  std::string log;
  AppendOrderLogRecord({At(kDay, 0), 1, 500}, log);                             // midnight
  AppendOrderLogRecord({At(kDay, 36'000'000), 1, 700}, log);                    // 10:00
  AppendOrderLogRecord({At(kDay, 36'000'000), -1, -700}, log);                  // cancelled
  AppendOrderLogRecord({At(kDay, 36'000'001), 0, -50}, log);                    // a refund
  AppendOrderLogRecord({At(kDay, kDayMillis - 1), 1, 9'000'000'000'000}, log);  // 23:59:59.999
  ASSERT_EQ(log.size(), 5 * kOrderLogRecordBytes);

  using P = std::pair<int64_t, int64_t>;
  auto sum = [&](int64_t after, int64_t up_to) {
    absl::StatusOr<DayTotals> s = SumOrderLog(log, after, up_to);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::pair(s->orders, s->revenue);
  };
  EXPECT_EQ(sum(-1, kDayMillis), P(2, 9'000'000'000'500 - 50));
  EXPECT_EQ(sum(0, kDayMillis), P(1, 9'000'000'000'000 - 50));
  EXPECT_EQ(sum(-1, 35'999'999), P(1, 500));
  EXPECT_EQ(sum(-1, 36'000'000), P(1, 500));  // +700 and -700
  EXPECT_EQ(sum(36'000'000, 36'000'001), P(0, -50));
  EXPECT_EQ(sum(kDayMillis - 1, kDayMillis), P(0, 0));
}

TEST(OrderLogTest, RecordsDaysBefore1970ByTheirTimeOfDay) {
  std::string log;
  AppendOrderLogRecord({-1, 1, 3}, log);  // 1969-12-31 23:59:59.999
  absl::StatusOr<DayTotals> last_ms = SumOrderLog(log, kDayMillis - 2, kDayMillis - 1);
  ASSERT_TRUE(last_ms.ok());
  EXPECT_EQ(last_ms->orders, 1);
  EXPECT_EQ(SumOrderLog(log, -1, kDayMillis - 2)->orders, 0);
}

TEST(OrderLogTest, RefusesBytesThatAreNotItsRecords) {
  std::string log;
  AppendOrderLogRecord({At(kDay, 5), 1, 1}, log);
  EXPECT_EQ(SumOrderLog(log.substr(0, 11), -1, kDayMillis).status().code(),
            absl::StatusCode::kDataLoss);
  std::string bad_orders = log;
  bad_orders[3] = static_cast<char>(0x18);  // order delta code 3
  EXPECT_EQ(SumOrderLog(bad_orders, -1, kDayMillis).status().code(), absl::StatusCode::kDataLoss);
  std::string bad_ms(kOrderLogRecordBytes, '\xff');
  bad_ms[3] = 0x07;  // 2^27 - 1 ms: past the day's end
  EXPECT_EQ(SumOrderLog(bad_ms, -1, kDayMillis).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace segmentd::store
