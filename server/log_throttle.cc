#include "server/log_throttle.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/log.h"

namespace segmentd {

std::optional<int64_t> LogThrottle::Admit(absl::string_view message, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = seen_.find(message);
  if (it != seen_.end() && now - it->second.logged_at < period_) {
    ++it->second.withheld;
    return std::nullopt;
  }
  if (it == seen_.end()) {
    if (seen_.size() >= max_messages_) seen_.clear();
    seen_.emplace(std::string(message), Seen{now, 0});
    return 0;
  }
  const int64_t withheld = it->second.withheld;
  it->second = Seen{now, 0};
  return withheld;
}

void LogErrorThrottled(absl::string_view message) {
  static LogThrottle* const throttle = new LogThrottle();
  const std::optional<int64_t> withheld = throttle->Admit(message, absl::Now());
  if (!withheld.has_value()) return;
  if (*withheld == 0) {
    LogError(message);
  } else {
    LogError(absl::StrCat(message, " (", *withheld, " more times since it was last logged)"));
  }
}

}  // namespace segmentd
