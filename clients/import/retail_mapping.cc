#include "clients/import/retail_mapping.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "clients/import/csv_line.h"
#include "clients/import/decimal.h"

namespace segmentd::clients {

std::string NormalizeCustomerId(absl::string_view id) {
  id = absl::StripAsciiWhitespace(id);
  const size_t dot = id.find('.');
  if (dot != absl::string_view::npos &&
      id.find_first_not_of('0', dot + 1) == absl::string_view::npos) {
    id = id.substr(0, dot);
  }
  return std::string(id);
}

absl::Status RetailMapping::AddLine(int64_t line, absl::string_view text,
                                    std::vector<ImportedOrder>* out) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    ++skipped_["empty line"];
    return absl::OkStatus();
  }
  if (header_bad_) {
    ++skipped_["row after a bad header"];
    return absl::OkStatus();
  }
  absl::Status split = SplitCsvLine(text, ',', &fields_);
  if (!split.ok()) {
    if (header_seen_) {
      MarkInvoiceOfUnreadableRow(line, text);
    } else {
      header_bad_ = true;  // reported once, as a header naming no columns is
    }
    return split;
  }
  if (!header_seen_) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      const std::string name(absl::StripAsciiWhitespace(fields_[i]));
      int* column = name == "InvoiceNo"     ? &invoice_
                    : name == "Quantity"    ? &quantity_
                    : name == "InvoiceDate" ? &date_
                    : name == "UnitPrice"   ? &price_
                    : name == "CustomerID"  ? &customer_
                                            : nullptr;
      if (column != nullptr) *column = static_cast<int>(i);
    }
    if (invoice_ < 0 || quantity_ < 0 || date_ < 0 || price_ < 0 || customer_ < 0) {
      header_bad_ = true;
      return absl::InvalidArgumentError(
          "header must name the columns InvoiceNo, Quantity, InvoiceDate, UnitPrice, CustomerID "
          "(the rows after it are not read)");
    }
    header_seen_ = true;
    ++skipped_["header line"];
    return absl::OkStatus();
  }
  const int needed = std::max({invoice_, quantity_, date_, price_, customer_}) + 1;
  if (static_cast<int>(fields_.size()) < needed) {
    MarkInvoiceOfUnreadableRow(line, text);
    return absl::InvalidArgumentError(
        absl::StrCat("expected at least ", needed, " fields, found ", fields_.size()));
  }
  const std::string invoice_no(absl::StripAsciiWhitespace(fields_[invoice_]));
  if (invoice_no.empty()) return absl::InvalidArgumentError("empty InvoiceNo");
  const std::string customer = NormalizeCustomerId(fields_[customer_]);
  if (customer.empty()) {
    ++skipped_["row without CustomerID"];
    unattributed_.try_emplace(invoice_no, line);
    return absl::OkStatus();
  }
  if (invoice_no[0] == 'C' || invoice_no[0] == 'c') {
    ++skipped_["cancellation (C invoice) row"];
    return absl::OkStatus();
  }
  Invoice& invoice = AddRow(invoice_no, line);
  // (Empty when an unreadable row came first.)
  if (invoice.customer_id.empty()) invoice.customer_id = customer;
  auto bad = [&](std::string message) {
    invoice.bad = true;
    return absl::InvalidArgumentError(std::move(message));
  };
  if (customer != invoice.customer_id) {
    return bad(absl::StrCat("CustomerID ", customer, " differs from ", invoice.customer_id,
                            " on line ", invoice.first_line, " of invoice ", invoice_no));
  }
  int64_t quantity = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(fields_[quantity_]), &quantity) ||
      quantity < -1000000000 || quantity > 1000000000) {
    return bad(absl::StrCat("Quantity \"", fields_[quantity_], "\" is not an integer"));
  }
  absl::StatusOr<int64_t> price = ParseScaledDecimal(fields_[price_], 4);
  if (!price.ok()) return bad(absl::StrCat("UnitPrice: ", price.status().message()));
  if (*price < 0) return bad(absl::StrCat("UnitPrice ", fields_[price_], " is negative"));
  if (*price > 1000000000000LL) return bad(absl::StrCat("UnitPrice ", fields_[price_], " is too large"));
  const std::string date(absl::StripAsciiWhitespace(fields_[date_]));
  absl::Time at;
  std::string ignored;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%S", date, absl::UTCTimeZone(), &at, &ignored) &&
      !absl::ParseTime("%Y-%m-%d %H:%M", date, absl::UTCTimeZone(), &at, &ignored)) {
    return bad(absl::StrCat("InvoiceDate \"", date,
                            "\" is not a valid date and time YYYY-MM-DD HH:MM[:SS]"));
  }
  invoice.amount_e4 += absl::int128(quantity) * *price;
  invoice.placed_at = std::min(invoice.placed_at, at);
  return absl::OkStatus();
}

RetailMapping::Invoice& RetailMapping::AddRow(const std::string& invoice_no, int64_t line) {
  Invoice& invoice = invoices_[invoice_no];
  if (invoice.rows++ == 0) invoice.first_line = line;
  return invoice;
}

void RetailMapping::MarkInvoiceOfUnreadableRow(int64_t line, absl::string_view text) {
  if (invoice_ < 0) return;
  std::vector<absl::string_view> columns = absl::StrSplit(text, absl::MaxSplits(',', invoice_ + 1));
  if (static_cast<int>(columns.size()) <= invoice_) return;
  absl::string_view no = absl::StripAsciiWhitespace(columns[invoice_]);
  if (no.size() >= 2 && no.front() == '"' && no.back() == '"') no = no.substr(1, no.size() - 2);
  if (no.empty() || absl::StrContains(no, '"') || no[0] == 'C' || no[0] == 'c') return;
  AddRow(std::string(no), line).bad = true;
}

void RetailMapping::Finish(std::vector<ImportedOrder>* out, std::vector<RowError>* errors) {
  std::vector<std::pair<int64_t, const std::string*>> by_line;
  by_line.reserve(invoices_.size());
  for (const auto& [no, invoice] : invoices_) by_line.emplace_back(invoice.first_line, &no);
  std::sort(by_line.begin(), by_line.end());
  for (const auto& [line, no] : by_line) {
    const Invoice& invoice = invoices_.at(*no);
    if (invoice.bad) {
      // The bad rows were reported by AddLine; the rest of the invoice goes too.
      skipped_["invoice with a bad row"] += 1;
      continue;
    }
    if (auto it = unattributed_.find(*no); it != unattributed_.end()) {
      errors->push_back({it->second, absl::StrCat("invoice ", *no,
                                                  " has rows without CustomerID "
                                                  "as well as rows of customer ",
                                                  invoice.customer_id, " (line ", line,
                                                  "): not imported, rather than in part")});
      continue;
    }
    // 10^12 cents, the most an order may have (engine::kMaxAmount).
    constexpr int64_t kMaxAmountE4 = 100'000'000'000'000;
    if (invoice.amount_e4 < 0 || invoice.amount_e4 > kMaxAmountE4) {
      errors->push_back(
          {line, invoice.amount_e4 < -kMaxAmountE4
                     ? absl::StrCat("invoice ", *no,
                                    " totals less than -10^12 cents (negative) "
                                    "and is not a cancellation")
                 : invoice.amount_e4 < 0
                     ? absl::StrCat("invoice ", *no, " totals ",
                                    RoundDivPow10(static_cast<int64_t>(invoice.amount_e4), 2),
                                    " cents (negative) and is not a cancellation")
                     : absl::StrCat("invoice ", *no,
                                    " totals more than 10^12 cents, the most an "
                                    "order may have")});
      continue;
    }
    ImportedOrder order;
    order.customer_id = invoice.customer_id;
    order.order_id = absl::StrCat("retail-", *no);
    order.placed_at = invoice.placed_at;
    order.amount = RoundDivPow10(static_cast<int64_t>(invoice.amount_e4), 2);
    order.line = line;
    out->push_back(std::move(order));
  }
}

}  // namespace segmentd::clients
