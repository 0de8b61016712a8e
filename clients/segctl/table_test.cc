#include "clients/segctl/table.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace segmentd::segctl {
namespace {

TEST(EscapeCellTest, PlainTextIsKept) {
  EXPECT_EQ(EscapeCell(""), "");
  EXPECT_EQ(EscapeCell("alice-01 {:}"), "alice-01 {:}");
  EXPECT_EQ(EscapeCell("J\xc3\xbcrgen"), "J\xc3\xbcrgen");  // UTF-8 stays as is
}

TEST(EscapeCellTest, ControlCharactersAndBackslashAreEscaped) {
  EXPECT_EQ(EscapeCell("a\nb{:}\r\n"), "a\\nb{:}\\r\\n");
  EXPECT_EQ(EscapeCell("tab\there"), "tab\\there");
  EXPECT_EQ(EscapeCell("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeCell("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(EscapeCell(std::string("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(EscapeCell("del\x7f"), "del\\x7f");
  // An escaped \n and a literal backslash-n stay distinguishable.
  EXPECT_NE(EscapeCell("\n"), EscapeCell("\\n"));
}

TEST(EscapeCellTest, UnicodeLineBreaksAndC1ControlsAreEscaped) {
  EXPECT_EQ(EscapeCell(std::string("a\xc2\x85") + "b"), "a\\u0085b");  // NEXT LINE
  EXPECT_EQ(EscapeCell(std::string("\xc2\x9b") + "31m"), "\\u009b31m");  // CSI
  EXPECT_EQ(EscapeCell("x\xe2\x80\xa8y\xe2\x80\xa9z"), "x\\u2028y\\u2029z");
  // Their neighbours stay: U+00A0 and U+2027.
  EXPECT_EQ(EscapeCell("\xc2\xa0\xe2\x80\xa7"), "\xc2\xa0\xe2\x80\xa7");
  EXPECT_EQ(EscapeCell("\xc2"), "\xc2");  // a cut-off sequence is kept as it is
}

TEST(TableTest, AlignsColumnsByCodePoints) {
  Table t({"ID", "NAME"});
  t.AddRow({"J\xc3\xbcrgen", "x"});
  t.AddRow({"Bob", "y"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "ID      NAME\nJ\xc3\xbcrgen  x\nBob     y\n");
}

TEST(TableTest, AlignsColumns) {
  Table t({"ID", "NAME"});
  t.AddRow({"1", "one"});
  t.AddRow({"1000", "thousand"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "ID    NAME\n1     one\n1000  thousand\n");
}

TEST(TableTest, EveryRowIsOneLine) {
  Table t({"CUSTOMER", "PRIMARY"});
  t.AddRow({"a\nb{:}\r\n", "(unknown customer)"});
  t.AddRow({"bob", "LAPSED"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(),
            "CUSTOMER     PRIMARY\n"
            "a\\nb{:}\\r\\n  (unknown customer)\n"
            "bob          LAPSED\n");
}

}  // namespace
}  // namespace segmentd::segctl
