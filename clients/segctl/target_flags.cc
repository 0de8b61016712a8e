#include "clients/segctl/target_flags.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace segmentd::segctl {

absl::StatusOr<v1::TargetExpression> ExpressionFromFlags(const Context& ctx) {
  v1::TargetExpression root;
  v1::ExpressionList* parts = root.mutable_all_of();
  for (const char* kind : {"all_of", "any_of", "none_of"}) {
    if (!ctx.args->Has(kind)) continue;
    v1::TargetExpression* e = parts->add_children();
    v1::ExpressionList* list = std::string(kind) == "all_of"   ? e->mutable_all_of()
                               : std::string(kind) == "any_of" ? e->mutable_any_of()
                                                               : e->mutable_none_of();
    const std::string given = ctx.args->Get(kind);  // outlives the views of it
    const std::vector<absl::string_view> names = absl::StrSplit(given, ',');
    for (size_t i = 0; i < names.size(); ++i) {
      const absl::string_view s = absl::StripAsciiWhitespace(names[i]);
      // "A,,B" or a trailing comma: a name left out, not nothing.
      if (s.empty() && names.size() > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", kind, ", segment ", i + 1, ": empty (two commas in a row?)"));
      }
      if (!s.empty()) list->add_children()->set_segment(std::string(s));
    }
    if (list->children_size() == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", kind, ": name at least one segment"));
    }
  }
  if (parts->children_size() == 0) {
    return absl::InvalidArgumentError("give at least one of --all_of, --any_of, --none_of");
  }
  return root;
}

absl::StatusOr<v1::TargetRef> TargetFromFlags(const Context& ctx) {
  v1::TargetRef ref;
  const bool any_list =
      ctx.args->Has("all_of") || ctx.args->Has("any_of") || ctx.args->Has("none_of");
  if (ctx.args->Has("voucher")) {
    // Both would mean one of them is silently dropped.
    if (any_list) {
      return absl::InvalidArgumentError(
          "give either --voucher=ID or --all_of/--any_of/--none_of, not both");
    }
    ref.set_voucher_id(ctx.args->Get("voucher"));
    return ref;
  }
  if (!any_list) {
    return absl::InvalidArgumentError(
        "give --voucher=ID or at least one of --all_of, --any_of, --none_of");
  }
  absl::StatusOr<v1::TargetExpression> e = ExpressionFromFlags(ctx);
  if (!e.ok()) return e.status();
  *ref.mutable_expression() = *std::move(e);
  return ref;
}

absl::StatusOr<std::vector<v1::Arm>> ArmsFromFlag(const std::string& text) {
  std::vector<v1::Arm> arms;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const size_t colon = part.rfind(':');
    uint32_t weight = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(part.substr(colon + 1), &weight)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--arms: \"", part, "\" is not NAME:WEIGHT (e.g. offer:90,holdout:10)"));
    }
    v1::Arm& arm = arms.emplace_back();
    arm.set_name(std::string(part.substr(0, colon)));
    arm.set_weight(weight);
  }
  if (arms.empty()) return absl::InvalidArgumentError("--arms: name at least one NAME:WEIGHT");
  return arms;
}

absl::Status InFlagTerms(const absl::Status& status) {
  constexpr absl::string_view kRoot = "target.expression.all_of.children[";
  absl::string_view message = status.message();
  if (!absl::ConsumePrefix(&message, kRoot)) return status;
  const size_t close = message.find("].");
  if (close == absl::string_view::npos) return status;
  message.remove_prefix(close + 2);
  for (absl::string_view kind : {"all_of", "any_of", "none_of"}) {
    absl::string_view rest = message;
    int index = 0;
    if (!absl::ConsumePrefix(&rest, kind) || !absl::ConsumePrefix(&rest, ".children[")) continue;
    const size_t end = rest.find(']');
    if (end == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, end), &index)) {
      return status;
    }
    rest.remove_prefix(end + 1);
    absl::ConsumePrefix(&rest, ".segment");
    return absl::Status(status.code(), absl::StrCat("--", kind, ", segment ", index + 1, rest));
  }
  return status;
}

std::string FormatExpression(const v1::TargetExpression& e) {
  auto list = [](absl::string_view kind, const v1::ExpressionList& l) {
    std::vector<std::string> children;
    for (const v1::TargetExpression& c : l.children()) children.push_back(FormatExpression(c));
    return absl::StrCat(kind, "(", absl::StrJoin(children, ","), ")");
  };
  switch (e.node_case()) {
    case v1::TargetExpression::kSegment:
      return e.segment();
    case v1::TargetExpression::kAllOf: {
      // The root AND of one list (what the flags build for one flag).
      if (e.all_of().children_size() == 1 &&
          e.all_of().children(0).node_case() != v1::TargetExpression::kSegment) {
        return FormatExpression(e.all_of().children(0));
      }
      // An AND inside an AND is the same AND: all_of(A,all_of(B,C)) is
      // all_of(A,B,C) (what --all_of beside another list builds).
      v1::ExpressionList flat;
      for (const v1::TargetExpression& c : e.all_of().children()) {
        if (c.node_case() == v1::TargetExpression::kAllOf) {
          for (const v1::TargetExpression& g : c.all_of().children()) *flat.add_children() = g;
        } else {
          *flat.add_children() = c;
        }
      }
      return list("all_of", flat);
    }
    case v1::TargetExpression::kAnyOf:
      return list("any_of", e.any_of());
    case v1::TargetExpression::kNoneOf:
      return list("none_of", e.none_of());
    default:
      return "(empty)";
  }
}

}  // namespace segmentd::segctl
