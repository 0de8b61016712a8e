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

// Open only inside a quoted field, by SplitCsvLine's rules: a quote opens a
// field only as its first character; "" inside is a quote.
TEST(CsvRecordScannerTest, OpenOnlyInsideAQuotedField) {
  auto open_after = [](std::vector<std::string> lines) {
    CsvRecordScanner scanner(',');
    for (const std::string& l : lines) scanner.Feed(l);
    return scanner.open();
  };
  EXPECT_FALSE(open_after({"a,b,c"}));
  EXPECT_TRUE(open_after({"1,\"TWO"}));
  EXPECT_FALSE(open_after({"1,\"TWO", "LINES\",3"}));
  EXPECT_FALSE(open_after({"1,12\" VINYL,3"}));  // a stray quote mid-field opens nothing
  // Nor does a quoted field after one: the row is bad whatever follows.
  EXPECT_FALSE(open_after({"1,12\" VINYL,\"open"}));
  EXPECT_FALSE(open_after({"1,\"a\"b,\"open"}));  // text after a closing quote
  EXPECT_FALSE(open_after({"1,\"say \"\"hi\"\"\",3"}));
  EXPECT_TRUE(open_after({"1,\"say \"\"", "hi"}));  // the "" is a quote, still inside
  EXPECT_FALSE(open_after({"1,\"a\r", "b\"\r"}));   // CRLF inside and after
  CsvRecordScanner tabs('\t');
  tabs.Feed("1\t\"open");
  EXPECT_TRUE(tabs.open());
  CsvRecordScanner not_at_start(',');
  not_at_start.Feed("1, \"x");  // after a space: not a quoted field
  EXPECT_FALSE(not_at_start.open());
}

}  // namespace
}  // namespace segmentd::clients
