#include "testing/redis_command_stats.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace segmentd::testing {

int64_t CommandCalls(store::redis::RedisClient& client, absl::string_view command) {
  absl::StatusOr<store::redis::RedisReply> info = client.Command({"INFO", "commandstats"});
  if (!info.ok() || !info->is_string()) return -1;
  const std::string prefix = absl::StrCat("cmdstat_", command, ":");
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(info->str(), "\r\n")) {
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    for (absl::string_view field : absl::StrSplit(line, ',')) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, '=');
      int64_t n = 0;
      if (kv.first == "calls" && absl::SimpleAtoi(kv.second, &n)) total += n;
    }
  }
  return total;
}

}  // namespace segmentd::testing
