// RetailMapping: the online-retail export (online_retail_30k.csv; the UCI
// "Online Retail" columns InvoiceNo, StockCode, Description, Quantity,
// InvoiceDate, UnitPrice, CustomerID, Country), found by name in the header.
//
// Rules:
// - The lines of one InvoiceNo form one order "retail-<InvoiceNo>", sent only
//   after the whole file is read (an export is not sorted by invoice), in the
//   order of each invoice's first line.
// - amount = sum of Quantity * UnitPrice over its lines, computed exactly
//   (UnitPrice to 1/10000, in 128 bits) and rounded half away from zero to
//   cents; an invoice whose total is negative, or above the largest amount an
//   order may have (10^12 cents), is a bad group.
// - placed_at = the earliest InvoiceDate of its lines, "YYYY-MM-DD HH:MM[:SS]"
//   read as UTC.
// - CustomerID "12923.0" becomes "12923" (a zero fraction is dropped). Rows
//   without a CustomerID cannot be attributed to anybody: skipped and counted
//   ("row without CustomerID"). An invoice with rows both with and without
//   one is a bad group (reported at its first row without): importing the
//   attributed rows alone would book part of the invoice.
// - Invoices starting with 'C' are credit notes (cancellations). In this export
//   a credit note does not name the invoice it reverses, and in the 30k-row
//   extract only 82 of its 616 attributable credit lines even share a
//   (customer, StockCode) with a purchase in the file, so any refund target
//   would be a guess: credit-note rows are skipped and counted ("cancellation
//   (C invoice) row"), never imported. Imported revenue is therefore gross
//   of returns.
// - Fields may be quoted, and a quoted field (a Description) may span lines.
// - A bad row (bad number, bad date, a CustomerID different from its invoice's
//   first one, too few fields, or quotes that cannot be read, as long as its
//   InvoiceNo can) is reported with its line and makes its whole invoice bad:
//   the invoice is not imported (counted once under "invoice with a bad
//   row"), so nothing is half-imported.
// - A first line that does not name the columns is reported once; the rows
//   after it are counted under "row after a bad header", not reported each.
//
// Not thread-safe.
#ifndef SEGMENTD_CLIENTS_IMPORT_RETAIL_MAPPING_H_
#define SEGMENTD_CLIENTS_IMPORT_RETAIL_MAPPING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/time/time.h"
#include "clients/import/order_mapping.h"

namespace segmentd::clients {

class RetailMapping : public OrderMapping {
 public:
  std::string name() const override { return "retail"; }
  absl::Status AddLine(int64_t line, absl::string_view text,
                       std::vector<ImportedOrder>* out) override;
  void Finish(std::vector<ImportedOrder>* out, std::vector<RowError>* errors) override;
  std::map<std::string, int64_t> skipped() const override { return skipped_; }
  std::optional<char> csv_delimiter() const override { return ','; }

 private:
  struct Invoice {
    std::string customer_id;
    int64_t first_line = 0;
    int64_t rows = 0;
    absl::Time placed_at = absl::InfiniteFuture();
    // Sum of Quantity * UnitPrice in 1/10000 units: 128 bits, as a line's
    // product alone may reach 10^21.
    absl::int128 amount_e4 = 0;
    bool bad = false;
  };

  // Counts a row of invoice `invoice_no` at `line` (its first line, if it is
  // the first); returns the invoice.
  Invoice& AddRow(const std::string& invoice_no, int64_t line);
  // Marks the invoice of a row that could not be read field by field bad,
  // when its InvoiceNo can still be read (the text before the delimiter that
  // ends its column, quotes stripped): its other rows must not be imported
  // without it.
  void MarkInvoiceOfUnreadableRow(int64_t line, absl::string_view text);

  // Column indexes, from the header.
  int invoice_ = -1, quantity_ = -1, date_ = -1, price_ = -1, customer_ = -1;
  bool header_seen_ = false;
  bool header_bad_ = false;
  absl::flat_hash_map<std::string, Invoice> invoices_;
  // InvoiceNo -> the first line of it without a CustomerID.
  absl::flat_hash_map<std::string, int64_t> unattributed_;
  std::map<std::string, int64_t> skipped_;
  std::vector<std::string> fields_;  // scratch
};

// Returns a CustomerID with a zero fraction dropped ("12923.0" -> "12923").
std::string NormalizeCustomerId(absl::string_view id);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_RETAIL_MAPPING_H_
