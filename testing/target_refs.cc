#include "testing/target_refs.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace segmentd::testing {

v1::TargetExpression ParseExpression(const std::string& text) {
  v1::TargetExpression e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

v1::TargetRef VoucherRef(const std::string& id) {
  v1::TargetRef ref;
  ref.set_voucher_id(id);
  return ref;
}

v1::TargetRef InlineRef(const v1::TargetExpression& e) {
  v1::TargetRef ref;
  *ref.mutable_expression() = e;
  return ref;
}

}  // namespace segmentd::testing
