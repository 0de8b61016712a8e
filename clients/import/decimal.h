// Exact decimal parsing for money columns (no floating point).
#ifndef SEGMENTD_CLIENTS_IMPORT_DECIMAL_H_
#define SEGMENTD_CLIENTS_IMPORT_DECIMAL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace segmentd::clients {

// Returns `text` (e.g. "12.5", "-3", "0.125", "+7.") times 10^`scale`, rounded
// half away from zero when it has more than `scale` fraction digits. Leading
// and trailing spaces are ignored. INVALID_ARGUMENT for anything else (empty,
// exponents, thousands separators, more than 18 significant digits).
// `scale` is in [0, 9].
absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int scale);

// Returns `value` / 10^`digits` rounded half away from zero.
int64_t RoundDivPow10(int64_t value, int digits);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_DECIMAL_H_
