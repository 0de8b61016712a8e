// Voucher targets as tests write them: an expression in protobuf text format,
// and the TargetRef of a stored voucher or of an inline expression.
#ifndef SEGMENTD_TESTING_TARGET_REFS_H_
#define SEGMENTD_TESTING_TARGET_REFS_H_

#include <string>

#include "segmentd/v1/targeting.pb.h"

namespace segmentd::testing {

// Parses `text`, e.g. R"(any_of { children { segment: "VIP" } })"; a text
// that does not parse fails the running test (and returns an empty one).
v1::TargetExpression ParseExpression(const std::string& text);

// The target of voucher `id`.
v1::TargetRef VoucherRef(const std::string& id);

// An inline target.
v1::TargetRef InlineRef(const v1::TargetExpression& e);

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_TARGET_REFS_H_
