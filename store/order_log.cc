#include "store/order_log.h"

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
  // Another caller may extend, or the cache drop, the entry between the read
  // and the merge: then read again (from the start if the entry shrank).
  for (int attempt = 0;; ++attempt) {
    size_t have = 0;
    if (attempt < 2) {
      absl::MutexLock lock(&mu_);
      if (auto it = logs_.find(key); it != logs_.end()) have = it->second.size();
    }
    absl::StatusOr<std::vector<redis::RedisReply>> replies =
        client.Pipeline({{"STRLEN", key}, {"GETRANGE", key, absl::StrCat(have), "-1"}});
    if (!replies.ok()) return replies.status();
    const redis::RedisReply& length = (*replies)[0];
    const redis::RedisReply& tail = (*replies)[1];
    if (!length.is_integer() || !tail.is_string()) {
      return absl::InternalError(absl::StrCat("order log ", key, ": unexpected reply"));
    }
    const bool shrank = static_cast<size_t>(length.integer()) < have;
    absl::MutexLock lock(&mu_);
    std::string& log = logs_[key];
    if (shrank || log.size() < have) {
      bytes_ -= log.size();
      logs_.erase(key);
      if (attempt < 2) continue;
      return absl::UnavailableError(absl::StrCat("order log ", key, " changed while read"));
    }
    const size_t end = have + tail.str().size();
    if (end > log.size()) {
      const size_t added = end - log.size();
      if (bytes_ + added > max_bytes_) {
        // Start over, keeping this key's bytes.
        std::string keep = std::move(log);
        logs_.clear();
        bytes_ = keep.size();
        logs_.emplace(key, std::move(keep));
      }
      std::string& kept = logs_[key];
      kept.append(tail.str(), kept.size() - have, std::string::npos);
      bytes_ += added;
    }
    return SumOrderLog(logs_[key], after_ms_of_day, up_to_ms_of_day);
  }
}

}  // namespace segmentd::store
