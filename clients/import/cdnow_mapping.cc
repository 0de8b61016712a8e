#include "clients/import/cdnow_mapping.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "clients/import/csv_line.h"
#include "clients/import/decimal.h"

namespace segmentd::clients {
namespace {

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::Status CdnowMapping::AddLine(int64_t line, absl::string_view text,
                                   std::vector<ImportedOrder>* out) {
  std::vector<absl::string_view> f = SplitWhitespace(text);
  if (f.empty()) {
    ++skipped_["empty line"];
    return absl::OkStatus();
  }
  if (line == 1 && !AllDigits(f[0])) {
    ++skipped_["header line"];
    return absl::OkStatus();
  }
  if (f.size() != 4 && f.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 4 fields (customer date cds dollars) or 5 (customer sample_id "
                     "date cds dollars), found ",
                     f.size()));
  }
  const size_t d = f.size() == 5 ? 2 : 1;  // index of the date
  absl::string_view customer = f[0];
  if (!AllDigits(customer)) {
    return absl::InvalidArgumentError(absl::StrCat("customer id \"", customer, "\" is not a number"));
  }
  absl::string_view date = f[d];
  absl::CivilDay day;
  if (date.size() != 8 || !AllDigits(date) || !absl::ParseCivilTime(
          absl::StrCat(date.substr(0, 4), "-", date.substr(4, 2), "-", date.substr(6, 2)), &day) ||
      absl::FormatCivilTime(day) !=
          absl::StrCat(date.substr(0, 4), "-", date.substr(4, 2), "-", date.substr(6, 2))) {
    return absl::InvalidArgumentError(absl::StrCat("date \"", date, "\" is not a yyyymmdd date"));
  }
  int64_t cds = 0;
  if (!absl::SimpleAtoi(f[d + 1], &cds) || cds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("number of CDs \"", f[d + 1], "\" is not a count >= 0"));
  }
  absl::StatusOr<int64_t> cents = ParseScaledDecimal(f[d + 2], 2);
  if (!cents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("dollar value: ", cents.status().message()));
  }
  if (*cents < 0) {
    return absl::InvalidArgumentError(absl::StrCat("dollar value ", f[d + 2], " is negative"));
  }
  const int n = ++rows_per_day_[absl::StrCat(customer, " ", date)];
  ImportedOrder order;
  order.customer_id = std::string(customer);
  order.order_id = absl::StrCat("cdnow-", customer, "-", date, "-", n);
  order.placed_at = absl::FromCivil(day, absl::UTCTimeZone());
  order.amount = *cents;
  order.line = line;
  out->push_back(std::move(order));
  return absl::OkStatus();
}

}  // namespace segmentd::clients
