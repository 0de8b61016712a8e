#include "server/field_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace segmentd {
namespace {

constexpr absl::string_view kFieldPayload = "type.segmentd.dev/field";

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  absl::Status status = absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

std::string FieldOf(const absl::Status& status) {
  absl::optional<absl::Cord> field = status.GetPayload(kFieldPayload);
  return field.has_value() ? std::string(*field) : std::string();
}

}  // namespace segmentd
