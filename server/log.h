#ifndef SEGMENTD_SERVER_LOG_H_
#define SEGMENTD_SERVER_LOG_H_

#include "absl/strings/string_view.h"

namespace segmentd {

// Writes one line "<RFC3339 time> <level> <message>" to stderr. Thread-safe.
// (Debian's Abseil 20220623 predates absl/log.)
void LogInfo(absl::string_view message);
void LogError(absl::string_view message);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LOG_H_
