#include "server/field_error.h"

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace segmentd {
namespace {

constexpr absl::string_view kFieldPayload = "type.segmentd.dev/field";

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

absl::Status ScopeFieldError(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  const absl::string_view message = status.message();
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return status;
  const absl::string_view field = message.substr(0, colon);
  for (char c : field) {
    const bool field_char = absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' ||
                            c == '.' || c == '[' || c == ']';
    if (!field_char) return status;
  }
  const std::string scoped = absl::StrCat(prefix, field);
  absl::Status out(status.code(), absl::StrCat(scoped, message.substr(colon)));
  out.SetPayload(kFieldPayload, absl::Cord(scoped));
  return out;
}

std::string FieldOf(const absl::Status& status) {
  absl::optional<absl::Cord> field = status.GetPayload(kFieldPayload);
  return field.has_value() ? std::string(*field) : std::string();
}

std::string Excerpt(absl::string_view value) {
  constexpr size_t kMost = 64;
  if (value.size() <= kMost) return absl::StrCat("\"", absl::CEscape(value), "\"");
  return absl::StrCat("\"", absl::CEscape(value.substr(0, kMost)), "...\" (", value.size(),
                      " bytes)");
}

std::string JoinErrors(const std::vector<std::string>& errors) {
  constexpr size_t kMost = 20;
  if (errors.size() <= kMost) return absl::StrJoin(errors, "; ");
  return absl::StrCat(absl::StrJoin(errors.begin(), errors.begin() + kMost, "; "), "; ... and ",
                      errors.size() - kMost, " more");
}

}  // namespace segmentd
