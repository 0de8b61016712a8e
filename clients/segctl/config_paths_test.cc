#include "clients/segctl/config_paths.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::segctl {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ConfigPathsTest, SetsEveryKindAndFlattensBack) {
  v1::SegmentConfig c;
  ASSERT_TRUE(SetConfigPath("vip.enabled", "false", &c).ok());
  ASSERT_TRUE(SetConfigPath("frequent_buyer.min_orders", "3", &c).ok());
  ASSERT_TRUE(SetConfigPath("big_spender.threshold_amount", "15000", &c).ok());
  ASSERT_TRUE(SetConfigPath("engagement.high_open_rate", "0.6", &c).ok());
  ASSERT_TRUE(SetConfigPath("lapsed.display_name", "Gone quiet", &c).ok());
  ASSERT_TRUE(SetConfigPath("primary_priority", "VIP,LAPSED", &c).ok());
  EXPECT_FALSE(c.vip().enabled());
  EXPECT_EQ(c.frequent_buyer().min_orders(), 3u);
  EXPECT_EQ(c.big_spender().threshold_amount(), 15000);
  EXPECT_EQ(c.primary_priority_size(), 2);
  auto flat = FlattenConfig(c);
  EXPECT_THAT(flat, Contains(Pair("vip.enabled", "false")));
  EXPECT_THAT(flat, Contains(Pair("frequent_buyer.min_orders", "3")));
  EXPECT_THAT(flat, Contains(Pair("engagement.high_open_rate", "0.6")));
  EXPECT_THAT(flat, Contains(Pair("primary_priority", "VIP,LAPSED")));
}

TEST(ConfigPathsTest, ErrorsNameThePath) {
  v1::SegmentConfig c;
  EXPECT_THAT(std::string(SetConfigPath("vip.nope", "1", &c).message()), HasSubstr("vip.nope"));
  EXPECT_THAT(std::string(SetConfigPath("vip", "1", &c).message()), HasSubstr("group"));
  EXPECT_THAT(std::string(SetConfigPath("vip.top_percent", "-1", &c).message()),
              HasSubstr("vip.top_percent"));
  EXPECT_THAT(std::string(SetConfigPath("vip.enabled", "maybe", &c).message()), HasSubstr("true or false"));
  EXPECT_FALSE(SetConfigPath("vip.enabled.x", "1", &c).ok());
  // Too large for the field, said so (not "not a non-negative integer").
  EXPECT_THAT(std::string(SetConfigPath("frequent_buyer.min_orders", "4294967297", &c).message()),
              HasSubstr("at most 4294967295"));
  // Protobuf cannot send a string that is not UTF-8 (the server saw INTERNAL
  // with no message); refused here, naming the path, without echoing it.
  const absl::Status bytes = SetConfigPath("vip.display_name", "ab\xff\xfe", &c);
  EXPECT_EQ(bytes.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.message(), "vip.display_name: not valid UTF-8");
  EXPECT_FALSE(SetConfigPath("primary_priority", "VIP,\xc3", &c).ok());
  EXPECT_TRUE(SetConfigPath("vip.display_name", "\xc3\xa9t\xc3\xa9", &c).ok());  // "été"
}

TEST(ConfigPathsTest, AlternativesNameTheirGroup) {
  EXPECT_EQ(AlternativesOf("big_spender.threshold_amount"), "big_spender.threshold");
  EXPECT_EQ(AlternativesOf("big_spender.threshold_store_aov_multiple"), "big_spender.threshold");
  EXPECT_EQ(AlternativesOf("low_spender.threshold_amount"), "low_spender.threshold");
  EXPECT_EQ(AlternativesOf("big_spender.lookback_days"), "");
  EXPECT_EQ(AlternativesOf("vip"), "");
  EXPECT_EQ(AlternativesOf("nope.x"), "");
}

// Found by //clients/segctl:config_paths_fuzz: a third printed as 0.333333.
TEST(ConfigPathsTest, NumbersPrintAsTheExactValueTheyHold) {
  v1::SegmentConfig c;
  ASSERT_TRUE(
      SetConfigPath("low_spender.threshold_store_aov_multiple", "0.3333333333333333", &c).ok());
  ASSERT_TRUE(SetConfigPath("engagement.high_open_rate", "0.6", &c).ok());
  auto flat = FlattenConfig(c);
  EXPECT_THAT(flat,
              Contains(Pair("low_spender.threshold_store_aov_multiple", "0.3333333333333333")));
  EXPECT_THAT(flat, Contains(Pair("engagement.high_open_rate", "0.6")));
}

// Found by //clients/segctl:config_paths_fuzz: a refused value left an empty
// `vip {}` behind, which FlattenConfig cannot show.
TEST(ConfigPathsTest, ARefusedValueChangesNothing) {
  v1::SegmentConfig c;
  ASSERT_TRUE(SetConfigPath("frequent_buyer.min_orders", "5", &c).ok());
  const std::string before = c.SerializeAsString();
  EXPECT_FALSE(SetConfigPath("vip.top_percent", "", &c).ok());
  EXPECT_FALSE(SetConfigPath("engagement.nope", "1", &c).ok());
  EXPECT_FALSE(c.has_vip());
  EXPECT_FALSE(c.has_engagement());
  EXPECT_EQ(c.SerializeAsString(), before);
}

}  // namespace
}  // namespace segmentd::segctl
