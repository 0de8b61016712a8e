#include "clients/segctl/progress_bar.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace segmentd::segctl {
namespace {

std::string Thousands(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string ShortDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::ceil(seconds));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m", s % 60, "s");
  return absl::StrCat(s / 3600, "h", (s % 3600) / 60, "m");
}

}  // namespace

std::string RenderProgress(const clients::ImportProgress& p, absl::Duration elapsed,
                           bool finished) {
  const double seconds = std::max(absl::ToDoubleSeconds(elapsed), 1e-3);
  const double rate = static_cast<double>(p.rows) / seconds;
  std::string line;
  if (p.total_bytes > 0) {
    const double read =
        std::min(1.0, static_cast<double>(p.bytes_read) / static_cast<double>(p.total_bytes));
    // 100% means done, not read: orders may still be on their way.
    const double fraction = finished ? 1.0 : std::min(read, 0.99);
    const int filled = static_cast<int>(fraction * 20);
    line = absl::StrFormat("[%s%s] %3d%%  ", std::string(filled, '#'), std::string(20 - filled, '-'),
                           static_cast<int>(fraction * 100));
    absl::StrAppend(&line, Thousands(p.rows), " rows  ", Thousands(static_cast<int64_t>(rate)),
                    " rows/s");
    if (!finished && read >= 1) {
      absl::StrAppend(&line, "  file read, sending");
    } else if (!finished && read > 0) {
      absl::StrAppend(&line, "  ETA ", ShortDuration(seconds * (1 - read) / read));
    }
  } else {
    absl::StrAppend(&line, Thousands(p.rows), " rows  ", Thousands(static_cast<int64_t>(rate)), " rows/s");
  }
  absl::StrAppend(&line, "  ", Thousands(p.orders_acked), " orders acknowledged");
  return line;
}

}  // namespace segmentd::segctl
