#ifndef SEGMENTD_SERVER_FIELD_ERROR_H_
#define SEGMENTD_SERVER_FIELD_ERROR_H_

// Validation errors that name their field twice: in the message, for people
// ("event.amount: must be >= 0"), and as a status payload, for code that must
// report the field on its own (BulkIngest's ItemError.field).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace segmentd {

// Returns INVALID_ARGUMENT "<field>: <problem>" with `field` attached.
absl::Status FieldError(absl::string_view field, absl::string_view problem);

// Returns the field a status was created for by FieldError, or "".
std::string FieldOf(const absl::Status& status);

// Returns `status`, an error worded "<field>: <problem>" with the field
// relative to something smaller than the request (the engine words a refused
// event so: "order_id: unknown order"), with the field put under `prefix`
// ("event.", "events[3].order_refunded.") in its message and attached as
// FieldError attaches it; its code is kept. OK, and errors not worded so, are
// returned unchanged.
absl::Status ScopeFieldError(const absl::Status& status, absl::string_view prefix);

// Returns `value` for an error message, quoted and C-escaped, cut to its first
// 64 bytes (then followed by its length): a message must not echo an
// unbounded input back (gRPC clients refuse a status past their metadata
// limit, 8 kB by default, and report that instead).
std::string Excerpt(absl::string_view value);

// Joins `errors` with "; ", the first 20 of them, then "... and N more".
std::string JoinErrors(const std::vector<std::string>& errors);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_FIELD_ERROR_H_
