#include "server/targeting/expression.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/segment.h"
#include "server/field_error.h"

namespace segmentd::targeting {
namespace {

// Returns the list of an all_of / any_of / none_of node and its field name.
const v1::ExpressionList* ListOf(const v1::TargetExpression& e, absl::string_view* name) {
  switch (e.node_case()) {
    case v1::TargetExpression::kAllOf:
      *name = "all_of";
      return &e.all_of();
    case v1::TargetExpression::kAnyOf:
      *name = "any_of";
      return &e.any_of();
    case v1::TargetExpression::kNoneOf:
      *name = "none_of";
      return &e.none_of();
    default:
      return nullptr;
  }
}

absl::Status Validate(const v1::TargetExpression& e, const std::string& field, int depth,
                      int& nodes) {
  if (++nodes > kMaxExpressionNodes) {
    return FieldError(field, absl::StrCat("expression has more than ", kMaxExpressionNodes,
                                          " nodes"));
  }
  if (depth > kMaxExpressionDepth) {
    return FieldError(field, absl::StrCat("expression is deeper than ", kMaxExpressionDepth,
                                          " levels"));
  }
  if (e.node_case() == v1::TargetExpression::kSegment) {
    return ValidateSegmentName(e.segment(), absl::StrCat(field, ".segment"));
  }
  absl::string_view name;
  const v1::ExpressionList* list = ListOf(e, &name);
  if (list == nullptr) {
    return FieldError(field, "empty expression: set one of segment, all_of, any_of, none_of");
  }
  const std::string list_field = absl::StrCat(field, ".", name, ".children");
  if (list->children_size() == 0) return FieldError(list_field, "must not be empty");
  for (int i = 0; i < list->children_size(); ++i) {
    if (absl::Status s =
            Validate(list->children(i), absl::StrCat(list_field, "[", i, "]"), depth + 1, nodes);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void Collect(const v1::TargetExpression& e, absl::flat_hash_set<std::string>& seen,
             std::vector<std::string>& out) {
  if (e.node_case() == v1::TargetExpression::kSegment) {
    if (seen.insert(e.segment()).second) out.push_back(e.segment());
    return;
  }
  absl::string_view name;
  const v1::ExpressionList* list = ListOf(e, &name);
  if (list == nullptr) return;
  for (const v1::TargetExpression& child : list->children()) Collect(child, seen, out);
}

}  // namespace

absl::Status ValidateSegmentName(absl::string_view name, absl::string_view field) {
  if (engine::SegmentFromName(name).has_value()) return absl::OkStatus();
  const size_t prefix = engine::kCategorySegmentPrefix.size();
  if (absl::StartsWith(name, engine::kCategorySegmentPrefix) && name.size() > prefix &&
      name.size() - prefix <= engine::kMaxCategoryNameBytes) {
    return absl::OkStatus();
  }
  // A canonical name in the wrong case ("lapsed"): say which one.
  if (name.size() <= 64) {
    const std::string upper = absl::AsciiStrToUpper(name);
    if (engine::SegmentFromName(upper).has_value()) {
      return FieldError(field, absl::StrCat("unknown segment ", Excerpt(name), " (did you mean ",
                                            upper, "? segment names are upper case)"));
    }
  }
  // Excerpted: the name may be any size (a client's metadata limit would
  // refuse the whole status).
  return FieldError(field, absl::StrCat("unknown segment ", Excerpt(name),
                                        " (a canonical name such as LOYAL_CUSTOMER, or "
                                        "category:<name> of 1-",
                                        engine::kMaxCategoryNameBytes, " bytes)"));
}

absl::Status ValidateExpression(const v1::TargetExpression& expression, absl::string_view field) {
  int nodes = 0;
  return Validate(expression, std::string(field), 1, nodes);
}

std::vector<std::string> MentionedSegments(const v1::TargetExpression& expression) {
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> out;
  Collect(expression, seen, out);
  return out;
}

bool Evaluate(const v1::TargetExpression& e,
              const std::function<bool(const std::string&)>& has_segment) {
  if (e.node_case() == v1::TargetExpression::kSegment) return has_segment(e.segment());
  absl::string_view name;
  const v1::ExpressionList* list = ListOf(e, &name);
  if (list == nullptr) return false;
  auto child_true = [&](const v1::TargetExpression& c) { return Evaluate(c, has_segment); };
  switch (e.node_case()) {
    case v1::TargetExpression::kAllOf:
      return std::all_of(list->children().begin(), list->children().end(), child_true);
    case v1::TargetExpression::kAnyOf:
      return std::any_of(list->children().begin(), list->children().end(), child_true);
    default:
      return std::none_of(list->children().begin(), list->children().end(), child_true);
  }
}

bool EvaluateOnSegments(const v1::TargetExpression& expression,
                        const std::vector<std::string>& segments,
                        std::vector<std::string>* matched) {
  const absl::flat_hash_set<std::string> in(segments.begin(), segments.end());
  if (matched != nullptr) {
    matched->clear();
    for (std::string& name : MentionedSegments(expression)) {
      if (in.contains(name)) matched->push_back(std::move(name));
    }
  }
  return Evaluate(expression, [&in](const std::string& name) { return in.contains(name); });
}

}  // namespace segmentd::targeting
