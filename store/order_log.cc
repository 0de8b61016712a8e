#include "store/order_log.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "store/redis/redis_reply.h"

namespace segmentd::store {
namespace {

constexpr uint32_t kMsBits = 27;  // 86,400,000 ms in a day < 2^27
constexpr uint32_t kMsMask = (uint32_t{1} << kMsBits) - 1;

// Little-endian, whatever the host: the records outlive the process.
void StoreLittle(uint64_t value, int bytes, char* out) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
uint64_t LoadLittle(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}

absl::Status Malformed(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("order log: ", why));
}

}  // namespace

void AppendOrderLogRecord(const OrderTotalsDelta& delta, std::string& out) {
  const int64_t ms_of_day = delta.placed_ms - UtcDayOf(delta.placed_ms) * kDayMillis;
  const uint32_t word =
      static_cast<uint32_t>(ms_of_day) | (static_cast<uint32_t>(delta.orders + 1) << kMsBits);
  char bytes[kOrderLogRecordBytes];
  StoreLittle(word, 4, bytes);
  StoreLittle(static_cast<uint64_t>(delta.revenue), 8, bytes + 4);
  out.append(bytes, sizeof(bytes));
}

absl::StatusOr<DayTotals> SumOrderLog(absl::string_view log, int64_t after_ms_of_day,
                                      int64_t up_to_ms_of_day) {
  if (log.size() % kOrderLogRecordBytes != 0) {
    return Malformed(absl::StrCat(log.size(), " bytes is not whole records"));
  }
  DayTotals sum;
  for (size_t at = 0; at < log.size(); at += kOrderLogRecordBytes) {
    const uint32_t word = static_cast<uint32_t>(LoadLittle(log.data() + at, 4));
    const int64_t ms = word & kMsMask;
    const uint32_t orders = word >> kMsBits;
    if (ms >= kDayMillis || orders > 2) {
      return Malformed(absl::StrCat("record at byte ", at, " is not one segmentd writes"));
    }
    if (ms <= after_ms_of_day || ms > up_to_ms_of_day) continue;
    sum.orders += static_cast<int64_t>(orders) - 1;
    sum.revenue += static_cast<int64_t>(LoadLittle(log.data() + at + 4, 8));
  }
  return sum;
}

absl::StatusOr<DayTotals> OrderLogCache::Sum(redis::RedisClient& client, const std::string& key,
                                             int64_t after_ms_of_day, int64_t up_to_ms_of_day) {
  // The last records read are fetched again with what was appended since:
  // when they differ (or the log is shorter), the log was replaced (a Redis
  // restored from an older snapshot, written again) and is read afresh.
  // Another caller may extend, or the cache drop, the entry between the
  // read and the merge; then too the log is read afresh.
  constexpr size_t kOverlap = 8 * kOrderLogRecordBytes;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const bool afresh = attempt > 0;
    size_t have = 0;
    std::string known;  // the last bytes of what was read
    if (!afresh) {
      absl::MutexLock lock(&mu_);
      if (auto it = logs_.find(key); it != logs_.end()) {
        have = it->second.size();
        known = it->second.substr(have - std::min(have, kOverlap));
      }
    }
    const size_t from = have - known.size();
    absl::StatusOr<redis::RedisReply> reply =
        client.Command({"GETRANGE", key, absl::StrCat(from), "-1"});
    if (!reply.ok()) return reply.status();
    if (!reply->is_string()) {
      return absl::InternalError(absl::StrCat("order log ", key, ": unexpected reply"));
    }
    const std::string& read = reply->str();
    absl::MutexLock lock(&mu_);
    auto it = logs_.find(key);
    if (read.size() < known.size() || read.compare(0, known.size(), known) != 0 ||
        (it == logs_.end() ? have > 0 : it->second.size() < have)) {
      if (it != logs_.end()) {
        bytes_ -= Charge(it->first, it->second);
        logs_.erase(it);
      }
      continue;
    }
    if (afresh && it != logs_.end()) {  // what was read replaces whatever is kept
      bytes_ -= Charge(it->first, it->second);
      logs_.erase(it);
      it = logs_.end();
    }
    if (it == logs_.end()) {
      if (read.empty()) return DayTotals();  // nothing to keep
      it = logs_.emplace(key, read).first;
      bytes_ += Charge(key, read);
    } else if (const size_t end = from + read.size(); end > it->second.size()) {
      // What another caller appended meanwhile is kept; only the rest added.
      bytes_ += end - it->second.size();
      it->second.append(read, it->second.size() - from, std::string::npos);
    }
    if (bytes_ > max_bytes_) {  // start over, keeping this log
      std::string log = std::move(it->second);
      logs_.clear();
      bytes_ = Charge(key, log);
      it = logs_.emplace(key, std::move(log)).first;
    }
    return SumOrderLog(it->second, after_ms_of_day, up_to_ms_of_day);
  }
  return absl::UnavailableError(absl::StrCat("order log ", key, " kept changing while read"));
}

size_t OrderLogCache::Charge(absl::string_view key, absl::string_view log) {
  // The bytes, and roughly what an entry of the map costs besides.
  return key.size() + log.size() + 64;
}

}  // namespace segmentd::store
