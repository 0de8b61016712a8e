#include "store/scan_pages.h"

#include <utility>

namespace segmentd::store {

absl::Status ScanPages(const std::function<absl::StatusOr<IdPage>(const std::string& cursor)>& next,
                       const CustomerStore::IdPageSink& page) {
  std::string cursor;
  do {
    absl::StatusOr<IdPage> read = next(cursor);
    if (!read.ok()) return read.status();
    cursor = std::move(read->next_cursor);
    if (absl::Status s = page(std::move(read->ids)); !s.ok()) return s;
  } while (!cursor.empty());
  return absl::OkStatus();
}

}  // namespace segmentd::store
