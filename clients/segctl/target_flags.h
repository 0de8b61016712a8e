// How segctl's command line names a voucher target: --voucher=ID, or
// --all_of/--any_of/--none_of lists of segments (combined with AND), and
// --arms=NAME:WEIGHT,... for a split; and how it prints one back.
#ifndef SEGMENTD_CLIENTS_SEGCTL_TARGET_FLAGS_H_
#define SEGMENTD_CLIENTS_SEGCTL_TARGET_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clients/segctl/command.h"
#include "segmentd/v1/targeting.pb.h"

namespace segmentd::segctl {

// The expression of the --all_of/--any_of/--none_of lists (AND of the lists
// given); INVALID_ARGUMENT naming the flag when a list is empty or none is.
absl::StatusOr<v1::TargetExpression> ExpressionFromFlags(const Context& ctx);

// The target of `check`/`targets`: --voucher=ID or the lists (not both).
absl::StatusOr<v1::TargetRef> TargetFromFlags(const Context& ctx);

// The arms of --arms="offer:90,holdout:10" (the weight after each name's
// last colon); INVALID_ARGUMENT naming --arms when one is not NAME:WEIGHT.
absl::StatusOr<std::vector<v1::Arm>> ArmsFromFlag(const std::string& text);

// The server names a bad segment of an expression ExpressionFromFlags built
// by its path in that expression
// ("target.expression.all_of.children[0].any_of.children[1].segment"), a
// wrapper the user never wrote: says which flag and which of its segments
// instead ("--any_of, segment 2: ..."). Other errors are returned as they are.
absl::Status InFlagTerms(const absl::Status& status);

// An expression on one line: "all_of(any_of(LAPSED,LOST_CUSTOMER),none_of(VIP))";
// the root AND of one list is printed as that list.
std::string FormatExpression(const v1::TargetExpression& e);

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_TARGET_FLAGS_H_
