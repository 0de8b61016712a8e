#include "clients/import/decimal.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace segmentd::clients {
namespace {

int64_t Pow10(int n) {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

}  // namespace

int64_t RoundDivPow10(int64_t value, int digits) {
  if (digits <= 0) return value;
  const int64_t d = Pow10(digits);
  const int64_t q = value / d;
  const int64_t r = value % d;  // same sign as value
  if (r >= 0 ? 2 * r >= d : -2 * r >= d) return value >= 0 ? q + 1 : q - 1;
  return q;
}

absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int scale) {
  if (scale < 0 || scale > 9) return absl::InvalidArgumentError("scale out of range");
  absl::string_view s = absl::StripAsciiWhitespace(text);
  const std::string shown(s.substr(0, 40));
  auto bad = [&]() {
    return absl::InvalidArgumentError(absl::StrCat("not a decimal number: \"", shown, "\""));
  };
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int64_t mantissa = 0;
  int significant = 0;
  int fraction_digits = 0;  // fraction digits kept in `mantissa`
  bool seen_digit = false;
  bool seen_point = false;
  int extra_digits = 0;  // fraction digits beyond `scale`, kept for rounding
  for (char c : s) {
    if (c == '.') {
      if (seen_point) return bad();
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    seen_digit = true;
    if (seen_point && fraction_digits >= scale) {
      // Keep at most one digit beyond the scale for rounding, plus a sticky
      // bit is unnecessary for half-away-from-zero (only the first extra
      // digit decides).
      if (extra_digits == 0) {
        if (mantissa > (INT64_MAX - 9) / 10) return bad();
        mantissa = mantissa * 10 + (c - '0');
      }
      ++extra_digits;
      continue;
    }
    if (mantissa != 0 || c != '0') ++significant;
    if (significant > 18) return bad();
    mantissa = mantissa * 10 + (c - '0');
    if (seen_point) ++fraction_digits;
  }
  if (!seen_digit) return bad();
  // Scale up to `scale` fraction digits.
  for (int i = fraction_digits; i < scale; ++i) {
    if (mantissa > INT64_MAX / 10) return bad();
    mantissa *= 10;
  }
  if (extra_digits > 0) mantissa = RoundDivPow10(mantissa, 1);
  return negative ? -mantissa : mantissa;
}

}  // namespace segmentd::clients
