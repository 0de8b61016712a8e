#include "server/targeting/disabled_segments.h"

#include <gtest/gtest.h>

#include "google/protobuf/text_format.h"

namespace segmentd::targeting {
namespace {

v1::TargetExpression Parse(const std::string& text) {
  v1::TargetExpression e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

TEST(DisabledSegmentsTest, NamesEachDisabledSegmentOnceInOrder) {
  engine::SegmentConfig config;
  const v1::TargetExpression e = Parse(R"(any_of {
    children { segment: "HIGH_VALUE" }
    children { none_of { children { segment: "VIP" } } }
    children { segment: "category:shoes" }
    children { segment: "REPEAT_CUSTOMER" }
    children { segment: "VIP" }
  })");
  EXPECT_TRUE(DisabledSegmentWarnings(e, config).empty());  // the defaults enable all
  config.vip.enabled = false;
  config.value_tiers.enabled = false;
  config.category_affinity.enabled = false;
  const std::vector<std::string> warnings = DisabledSegmentWarnings(e, config);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0],
            "HIGH_VALUE is disabled in the tenant's config: it has no members while disabled");
  EXPECT_EQ(warnings[1].substr(0, 4), "VIP ");
  EXPECT_EQ(warnings[2].substr(0, 15), "category:shoes ");
}

}  // namespace
}  // namespace segmentd::targeting
