#include "clients/segctl/command_line.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::segctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CommandLineTest, WordsAndFlagsAnywhere) {
  absl::StatusOr<CommandLine> l =
      CommandLine::Parse({"import", "--json", "cdnow", "--on_error=stop", "f.txt", "--", "--x"});
  ASSERT_TRUE(l.ok());
  EXPECT_THAT(l->positional(), ElementsAre("import", "cdnow", "f.txt", "--x"));
  EXPECT_EQ(l->Get("on_error"), "stop");
  EXPECT_TRUE(*l->GetBool("json"));
  EXPECT_FALSE(*l->GetBool("resume"));
  l->ConsumeWords(1);
  EXPECT_THAT(l->positional(), ElementsAre("cdnow", "f.txt", "--x"));
}

TEST(CommandLineTest, RepeatedFlagsAndChecks) {
  absl::StatusOr<CommandLine> l = CommandLine::Parse({"--segment=VIP", "--segment=LAPSED", "--limit"});
  ASSERT_TRUE(l.ok());
  EXPECT_THAT(l->GetAll("segment"), ElementsAre("VIP", "LAPSED"));
  EXPECT_THAT(std::string(l->CheckFlags({{"segment", "SEG", "", ""}}).message()), HasSubstr("--limit"));
  EXPECT_THAT(std::string(l->CheckFlags({{"segment", "SEG", "", ""}, {"limit", "N", "", ""}}).message()),
              HasSubstr("needs a value"));
  EXPECT_FALSE(CommandLine::Parse({"-x"}).ok());
  EXPECT_FALSE(CommandLine::Parse({"--bool=maybe"})->GetBool("bool").ok());
}

}  // namespace
}  // namespace segmentd::segctl
