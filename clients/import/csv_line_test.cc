#include "clients/import/csv_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

using ::testing::ElementsAre;

TEST(SplitCsvLineTest, PlainAndQuotedFields) {
  std::vector<std::string> f;
  ASSERT_TRUE(SplitCsvLine("a,b,,c", ',', &f).ok());
  EXPECT_THAT(f, ElementsAre("a", "b", "", "c"));
  ASSERT_TRUE(SplitCsvLine(R"(538522,22041,"RECORD FRAME 7"" SINGLE, SIZE ",48)", ',', &f).ok());
  EXPECT_THAT(f, ElementsAre("538522", "22041", "RECORD FRAME 7\" SINGLE, SIZE ", "48"));
  ASSERT_TRUE(SplitCsvLine("x;\"\";y\r", ';', &f).ok());
  EXPECT_THAT(f, ElementsAre("x", "", "y"));
  ASSERT_TRUE(SplitCsvLine("", ',', &f).ok());
  EXPECT_THAT(f, ElementsAre(""));
  ASSERT_TRUE(SplitCsvLine("a,", ',', &f).ok());
  EXPECT_THAT(f, ElementsAre("a", ""));
}

TEST(SplitCsvLineTest, RejectsBrokenQuotes) {
  std::vector<std::string> f;
  EXPECT_FALSE(SplitCsvLine("a,\"open", ',', &f).ok());
  EXPECT_FALSE(SplitCsvLine("a,\"x\"y,b", ',', &f).ok());
  EXPECT_FALSE(SplitCsvLine("a,x\"y,b", ',', &f).ok());
}

TEST(SplitWhitespaceTest, RunsOfSpacesAndTabs) {
  EXPECT_THAT(SplitWhitespace(" 00001 19970101  1   11.77\r"),
              ElementsAre("00001", "19970101", "1", "11.77"));
  EXPECT_TRUE(SplitWhitespace("  \t ").empty());
}

}  // namespace
}  // namespace segmentd::clients
