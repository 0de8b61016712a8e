// The import progress line segctl draws on stderr.
#ifndef SEGMENTD_CLIENTS_SEGCTL_PROGRESS_BAR_H_
#define SEGMENTD_CLIENTS_SEGCTL_PROGRESS_BAR_H_

#include <string>

#include "absl/time/time.h"
#include "clients/import/importer.h"

namespace segmentd::segctl {

// Returns one line such as
//   "[########------------]  40%  27,863 rows  9,120 rows/s  ETA 4s  27,000 orders acknowledged"
// for `progress` after `elapsed`. The percentage and ETA come from bytes read
// out of `total_bytes` (omitted when unknown); rows/s from rows over elapsed.
// Only a `finished` import (every order acknowledged) shows 100%: until then
// the bar stops at 99%, and once the file is read (a retail import sends most
// orders then: invoice lines are grouped at the end) the ETA gives way to
// "sending", the acknowledged count still growing.
std::string RenderProgress(const clients::ImportProgress& progress, absl::Duration elapsed,
                           bool finished);

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_PROGRESS_BAR_H_
