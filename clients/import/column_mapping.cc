#include "clients/import/column_mapping.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "clients/import/csv_line.h"
#include "clients/import/decimal.h"

namespace segmentd::clients {

absl::StatusOr<std::unique_ptr<ColumnMapping>> ColumnMapping::Create(const Options& options) {
  std::unique_ptr<ColumnMapping> m(new ColumnMapping());
  m->options_ = options;
  if (absl::StripAsciiWhitespace(options.columns).empty()) {
    return absl::InvalidArgumentError(
        "--columns is required, e.g. customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal");
  }
  for (absl::string_view item : absl::StrSplit(options.columns, ',', absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    const std::string key(absl::StripAsciiWhitespace(kv.first));
    std::pair<absl::string_view, absl::string_view> col_kind =
        absl::StrSplit(kv.second, absl::MaxSplits(':', 1));
    int column = 0;
    if (!absl::SimpleAtoi(col_kind.first, &column) || column < 1 || column > 1000) {
      return absl::InvalidArgumentError(
          absl::StrCat("--columns: \"", item, "\": expected KEY=COLUMN with COLUMN in 1..1000"));
    }
    const std::string kind(col_kind.second);
    int* target = key == "customer_id"  ? &m->customer_
                  : key == "order_id"   ? &m->order_
                  : key == "placed_at"  ? &m->placed_at_
                  : key == "amount"     ? &m->amount_
                  : key == "categories" ? &m->categories_
                                        : nullptr;
    if (target == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--columns: unknown key \"", key,
          "\" (known: customer_id, order_id, placed_at, amount, categories)"));
    }
    if (*target >= 0) return absl::InvalidArgumentError(absl::StrCat("--columns: ", key, " given twice"));
    *target = column - 1;
    if (key == "placed_at") {
      if (kind == "unix") {
        m->time_kind_ = TimeKind::kUnixSeconds;
      } else if (kind == "unix_ms") {
        m->time_kind_ = TimeKind::kUnixMillis;
      } else if (!kind.empty()) {
        m->time_format_ = kind;
      }
    } else if (key == "amount") {
      if (kind == "cents") {
        m->amount_in_cents_ = true;
      } else if (!kind.empty() && kind != "decimal") {
        return absl::InvalidArgumentError(
            absl::StrCat("--columns: amount kind \"", kind, "\" is not decimal or cents"));
      }
    } else if (key == "categories") {
      if (kind.size() > 1) {
        return absl::InvalidArgumentError("--columns: the categories separator is one character");
      }
      if (kind.size() == 1) m->category_separator_ = kind[0];
    } else if (!kind.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--columns: ", key, " takes no \":", kind, "\""));
    }
  }
  for (const auto& [key, column] : {std::pair<const char*, int>{"customer_id", m->customer_},
                                    {"placed_at", m->placed_at_},
                                    {"amount", m->amount_}}) {
    if (column < 0) return absl::InvalidArgumentError(absl::StrCat("--columns: ", key, "=N is required"));
  }
  return m;
}

absl::Status ColumnMapping::AddLine(int64_t line, absl::string_view text,
                                    std::vector<ImportedOrder>* out) {
  if (line == 1 && options_.header) {
    ++skipped_["header line"];
    return absl::OkStatus();
  }
  if (absl::StripAsciiWhitespace(text).empty()) {
    ++skipped_["empty line"];
    return absl::OkStatus();
  }
  absl::Status split = SplitCsvLine(text, options_.delimiter, &fields_);
  if (!split.ok()) return split;
  const int needed = std::max({customer_, order_, placed_at_, amount_, categories_}) + 1;
  if (static_cast<int>(fields_.size()) < needed) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected at least ", needed, " fields, found ", fields_.size()));
  }
  ImportedOrder order;
  order.line = line;
  order.customer_id = std::string(absl::StripAsciiWhitespace(fields_[customer_]));
  if (order.customer_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("customer_id (column ", customer_ + 1, ") is empty"));
  }
  const std::string when(absl::StripAsciiWhitespace(fields_[placed_at_]));
  if (time_kind_ == TimeKind::kFormat) {
    std::string error;
    if (!absl::ParseTime(time_format_, when, absl::UTCTimeZone(), &order.placed_at, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("placed_at \"", when, "\" does not match \"",
                                                     time_format_, "\": ", error));
    }
  } else {
    int64_t n = 0;
    if (!absl::SimpleAtoi(when, &n)) {
      return absl::InvalidArgumentError(absl::StrCat("placed_at \"", when, "\" is not an integer"));
    }
    order.placed_at =
        time_kind_ == TimeKind::kUnixSeconds ? absl::FromUnixSeconds(n) : absl::FromUnixMillis(n);
  }
  const absl::string_view amount_text = absl::StripAsciiWhitespace(fields_[amount_]);
  if (amount_in_cents_) {
    if (!absl::SimpleAtoi(amount_text, &order.amount)) {
      return absl::InvalidArgumentError(absl::StrCat("amount \"", amount_text, "\" is not an integer"));
    }
  } else {
    absl::StatusOr<int64_t> cents = ParseScaledDecimal(amount_text, 2);
    if (!cents.ok()) return absl::InvalidArgumentError(absl::StrCat("amount: ", cents.status().message()));
    order.amount = *cents;
  }
  if (order.amount < 0) {
    return absl::InvalidArgumentError(absl::StrCat("amount ", amount_text, " is negative"));
  }
  if (categories_ >= 0) {
    for (absl::string_view c : absl::StrSplit(fields_[categories_], category_separator_,
                                              absl::SkipWhitespace())) {
      order.categories.emplace_back(absl::StripAsciiWhitespace(c));
    }
  }
  if (order_ >= 0) {
    order.order_id = std::string(absl::StripAsciiWhitespace(fields_[order_]));
    if (order.order_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("order_id (column ", order_ + 1, ") is empty"));
    }
  } else {
    const int n = ++rows_per_instant_[absl::StrCat(order.customer_id, "\n", when)];
    order.order_id = absl::StrCat(order.customer_id, "@", when, "#", n);
  }
  out->push_back(std::move(order));
  return absl::OkStatus();
}

}  // namespace segmentd::clients
