#include "server/config_convert.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

namespace segmentd {
namespace {

TEST(ConfigConvertTest, EmptyProtoIsTheDefaultConfig) {
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(v1::SegmentConfig(), "config.");
  ASSERT_TRUE(config.ok()) << config.status();
  const v1::SegmentConfig defaults = ConfigToProto(engine::SegmentConfig());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ConfigToProto(*config), defaults));
  EXPECT_EQ(defaults.frequent_buyer().min_orders(), 5u);
  EXPECT_EQ(defaults.big_spender().threshold_store_aov_multiple(), 2.0);
}

TEST(ConfigConvertTest, EveryPresetRoundTrips) {
  for (engine::Preset preset : {engine::Preset::kFastFood, engine::Preset::kFashion,
                                engine::Preset::kGrocery, engine::Preset::kElectronics}) {
    const v1::SegmentConfig proto = ConfigToProto(engine::PresetConfig(preset));
    absl::StatusOr<engine::SegmentConfig> back = ConfigFromProto(proto, "");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ConfigToProto(*back), proto))
        << engine::PresetName(preset);
  }
}

TEST(ConfigConvertTest, PresentFieldsOverrideDefaults) {
  v1::SegmentConfig proto;
  proto.mutable_frequent_buyer()->set_min_orders(8);
  proto.mutable_big_spender()->set_threshold_amount(15000);
  proto.mutable_engagement()->set_high_open_rate(0.7);
  proto.mutable_vip()->set_enabled(false);
  proto.add_primary_priority("VIP");
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(proto, "config.");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->frequent_buyer.min_orders, 8);
  EXPECT_EQ(config->frequent_buyer.window_days, 30);
  EXPECT_EQ(config->big_spender.threshold_amount, 15000);
  EXPECT_FALSE(config->big_spender.threshold_store_aov_multiple.has_value());
  EXPECT_EQ(config->engagement.high_open_rate, 0.7);
  EXPECT_FALSE(config->vip.enabled);
  EXPECT_EQ(config->primary_priority, std::vector<std::string>{"VIP"});
}

TEST(ConfigConvertTest, EveryViolationIsNamedWithThePrefix) {
  v1::SegmentConfig proto;
  proto.mutable_frequent_buyer()->set_min_orders(0);
  proto.mutable_vip()->set_top_percent(4'000'000'000u);  // beyond int32
  proto.mutable_value_tiers()->set_high_percent(50);   // sum != 100
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(proto, "config.");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_NE(message.find("config.frequent_buyer.min_orders"), std::string::npos) << message;
  // The value as sent, not the int32 it saturates to on the way in.
  EXPECT_NE(message.find("config.vip.top_percent: must be in [1, 50], got 4000000000"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("config.value_tiers"), std::string::npos) << message;
}

}  // namespace
}  // namespace segmentd
