#ifndef SEGMENTD_STORE_SCAN_PAGES_H_
#define SEGMENTD_STORE_SCAN_PAGES_H_

// ScanPages: drives a cursor scan of the CustomerStore (ScanSegment,
// ScanCustomers) to its end, so callers write what to do with a page, not
// the cursor loop:
//
//   absl::Status s = store::ScanPages(
//       [&](const std::string& cursor) { return store->ScanSegment(t, "VIP", cursor, 250); },
//       [&](std::vector<std::string> ids) { ...; return absl::OkStatus(); });

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/customer_store.h"

namespace segmentd::store {

// Calls `next` with "" and then with each page's next_cursor until one is
// empty, handing every page's ids to `page` as it is read. Returns the first
// error of either (the scan stops there), else OK.
absl::Status ScanPages(const std::function<absl::StatusOr<IdPage>(const std::string& cursor)>& next,
                       const CustomerStore::IdPageSink& page);

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_SCAN_PAGES_H_
