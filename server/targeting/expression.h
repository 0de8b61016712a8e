#ifndef SEGMENTD_SERVER_TARGETING_EXPRESSION_H_
#define SEGMENTD_SERVER_TARGETING_EXPRESSION_H_

// Target expressions (segmentd.v1.TargetExpression): validation with errors
// that name the bad node, the segment names an expression mentions, and
// evaluation against one customer's segments.
//
// An expression is a tree: a leaf names a segment (a canonical fixed segment
// name such as "LOYAL_CUSTOMER", or "category:<name>"); all_of / any_of /
// none_of nodes hold 1 or more children. Limits: depth <= kMaxExpressionDepth
// (a leaf alone has depth 1), at most kMaxExpressionNodes nodes in all.
//
// Plain functions over protos; thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "segmentd/v1/targeting.pb.h"

namespace segmentd::targeting {

inline constexpr int kMaxExpressionDepth = 8;
inline constexpr int kMaxExpressionNodes = 64;

// Returns OK when `name` is a canonical fixed segment name or
// "category:<name>" with a name of 1-kMaxCategoryNameBytes bytes; else
// INVALID_ARGUMENT naming `field`.
absl::Status ValidateSegmentName(absl::string_view name, absl::string_view field);

// Returns OK for a valid expression, else INVALID_ARGUMENT (a FieldError)
// naming the first bad node below `field`, e.g.
// "target.expression.all_of.children[1].segment: unknown segment ...".
absl::Status ValidateExpression(const v1::TargetExpression& expression, absl::string_view field);

// Returns the distinct segment names a (valid) expression mentions, in order
// of first appearance.
std::vector<std::string> MentionedSegments(const v1::TargetExpression& expression);

// Returns whether a customer for whom `has_segment(name)` says which segments
// they are in satisfies a (valid) expression.
bool Evaluate(const v1::TargetExpression& expression,
              const std::function<bool(const std::string&)>& has_segment);

// Evaluates a (valid) expression for a customer in exactly `segments`, and
// fills `matched` (when not null) with the mentioned segments the customer is
// in, in order of first mention.
bool EvaluateOnSegments(const v1::TargetExpression& expression,
                        const std::vector<std::string>& segments,
                        std::vector<std::string>* matched);

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_EXPRESSION_H_
