#include "server/targeting/expression.h"

#include <google/protobuf/text_format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/field_error.h"

namespace segmentd::targeting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

v1::TargetExpression Parse(const std::string& text) {
  v1::TargetExpression e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

v1::TargetExpression Leaf(const std::string& segment) {
  v1::TargetExpression e;
  e.set_segment(segment);
  return e;
}

TEST(ValidateExpressionTest, AcceptsEveryShape) {
  for (const char* text : {
           R"(segment: "VIP")",
           R"(segment: "category:shoes")",
           R"(all_of { children { segment: "LOYAL_CUSTOMER" } children { segment: "BIG_SPENDER" } })",
           R"(all_of { children { any_of { children { segment: "LAPSED" } children { segment: "LOST_CUSTOMER" } } }
                       children { none_of { children { segment: "VIP" } } } })",
           R"(none_of { children { segment: "category:bags and more" } })",
       }) {
    EXPECT_TRUE(ValidateExpression(Parse(text), "target.expression").ok()) << text;
  }
}

TEST(ValidateExpressionTest, NamesTheBadNode) {
  struct Case {
    const char* text;
    const char* field;
  } cases[] = {
      {R"(segment: "vip")", "e.segment"},
      {R"(segment: "category:")", "e.segment"},
      {R"(segment: "")", "e.segment"},
      {"", "e"},
      {R"(all_of {})", "e.all_of.children"},
      {R"(all_of { children { segment: "VIP" } children { segment: "NOPE" } })",
       "e.all_of.children[1].segment"},
      {R"(any_of { children { segment: "VIP" } children { none_of { } } })",
       "e.any_of.children[1].none_of.children"},
      {R"(none_of { children { all_of { children { } } } })", "e.none_of.children[0].all_of.children[0]"},
  };
  for (const Case& c : cases) {
    absl::Status s = ValidateExpression(Parse(c.text), "e");
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(FieldOf(s), c.field) << c.text << " -> " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.field));
  }
  // A canonical name in the wrong case is named in the right one.
  EXPECT_THAT(std::string(ValidateExpression(Parse(R"(segment: "lapsed")"), "e").message()),
              HasSubstr("did you mean LAPSED?"));
  EXPECT_THAT(std::string(ValidateExpression(Parse(R"(segment: "NOPE")"), "e").message()),
              Not(HasSubstr("did you mean")));
}

// Returns an all_of chain `depth` levels deep ending in a leaf.
v1::TargetExpression Chain(int depth) {
  v1::TargetExpression e = Leaf("VIP");
  for (int i = 1; i < depth; ++i) {
    v1::TargetExpression parent;
    *parent.mutable_all_of()->add_children() = e;
    e = parent;
  }
  return e;
}

TEST(ValidateExpressionTest, DepthLimit) {
  EXPECT_TRUE(ValidateExpression(Chain(kMaxExpressionDepth), "e").ok());
  absl::Status s = ValidateExpression(Chain(kMaxExpressionDepth + 1), "e");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("deeper than 8"));
  EXPECT_EQ(FieldOf(s), "e" + std::string(".all_of.children[0]").append("") +
                            ".all_of.children[0].all_of.children[0].all_of.children[0]"
                            ".all_of.children[0].all_of.children[0].all_of.children[0]"
                            ".all_of.children[0]");
}

TEST(ValidateExpressionTest, NodeLimit) {
  v1::TargetExpression e;
  for (int i = 0; i < kMaxExpressionNodes - 1; ++i) *e.mutable_any_of()->add_children() = Leaf("VIP");
  EXPECT_TRUE(ValidateExpression(e, "e").ok());
  *e.mutable_any_of()->add_children() = Leaf("VIP");
  absl::Status s = ValidateExpression(e, "e");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(s), "e.any_of.children[63]");
  EXPECT_THAT(std::string(s.message()), HasSubstr("more than 64 nodes"));
}

TEST(EvaluateTest, Semantics) {
  const v1::TargetExpression e = Parse(
      R"(all_of { children { any_of { children { segment: "LAPSED" } children { segment: "LOST_CUSTOMER" } } }
                  children { none_of { children { segment: "VIP" } } } })");
  std::vector<std::string> matched;
  EXPECT_TRUE(EvaluateOnSegments(e, {"LAPSED", "category:x"}, &matched));
  EXPECT_THAT(matched, ElementsAre("LAPSED"));
  EXPECT_FALSE(EvaluateOnSegments(e, {"LAPSED", "VIP", "LOST_CUSTOMER"}, &matched));
  EXPECT_THAT(matched, ElementsAre("LAPSED", "LOST_CUSTOMER", "VIP"));
  EXPECT_FALSE(EvaluateOnSegments(e, {}, &matched));
  EXPECT_TRUE(matched.empty());
  EXPECT_TRUE(EvaluateOnSegments(Parse(R"(none_of { children { segment: "VIP" } })"), {}, nullptr));
  EXPECT_TRUE(EvaluateOnSegments(Parse(R"(segment: "category:shoes")"), {"category:shoes"}, nullptr));
}

TEST(MentionedSegmentsTest, DistinctInOrder) {
  EXPECT_THAT(MentionedSegments(Parse(
                  R"(any_of { children { segment: "VIP" } children { all_of { children { segment: "LAPSED" }
                      children { segment: "VIP" } } } })")),
              ElementsAre("VIP", "LAPSED"));
}

}  // namespace
}  // namespace segmentd::targeting
