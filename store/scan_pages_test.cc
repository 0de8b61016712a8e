#include "store/scan_pages.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "store/memory_customer_store.h"

namespace segmentd::store {
namespace {

class ScanPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<CustomerWrite> writes;
    for (int i = 0; i < 100; ++i) {
      CustomerWrite w;
      w.customer_id = absl::StrCat("c", i);
      w.profile = "p";
      w.segments = {"ALL"};
      writes.push_back(w);
    }
    ASSERT_TRUE(store_.Write("acme", writes).ok());
  }

  absl::StatusOr<IdPage> Next(const std::string& cursor) {
    cursors_.push_back(cursor);
    return store_.ScanSegment("acme", "ALL", cursor, 7);
  }

  MemoryCustomerStore store_{MemoryCustomerStore::Options()};
  std::vector<std::string> cursors_;
};

TEST_F(ScanPagesTest, VisitsEveryPageOnceFromTheFirstCursor) {
  std::multiset<std::string> seen;
  int pages = 0;
  absl::Status s = ScanPages([&](const std::string& c) { return Next(c); },
                             [&](std::vector<std::string> ids) {
                               ++pages;
                               seen.insert(ids.begin(), ids.end());
                               return absl::OkStatus();
                             });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 100u);
  EXPECT_GE(pages, 15);  // 100 members in pages of ~7
  ASSERT_FALSE(cursors_.empty());
  EXPECT_EQ(cursors_.front(), "");
  EXPECT_EQ(static_cast<int>(cursors_.size()), pages);
}

TEST_F(ScanPagesTest, StopsAtTheFirstErrorOfEitherSide) {
  int pages = 0;
  absl::Status s = ScanPages([&](const std::string& c) { return Next(c); },
                             [&](std::vector<std::string>) {
                               return ++pages == 2 ? absl::CancelledError("enough")
                                                   : absl::OkStatus();
                             });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(cursors_.size(), 2u);

  s = ScanPages([&](const std::string&) -> absl::StatusOr<IdPage> {
                  return absl::UnavailableError("down");
                },
                [&](std::vector<std::string>) {
                  ADD_FAILURE() << "no page was read";
                  return absl::OkStatus();
                });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace segmentd::store
