#include "server/store_probe.h"

#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "server/log.h"
#include "server/tenants/redis_tenant_store.h"
#include "store/redis/redis_reply.h"

namespace segmentd {
namespace {

using store::redis::RedisCommand;
using store::redis::RedisReply;

std::string RandomMark() {
  absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

// UNAVAILABLE when ROLE says Redis is a replica; OK otherwise, including an
// error reply (a user not allowed ROLE): the pipeline's answer proves Redis
// reachable.
absl::Status CheckRole(const RedisReply& role) {
  if (role.is_array() && !role.elements().empty() && role.elements()[0].is_string() &&
      role.elements()[0].str() != "master") {
    return absl::UnavailableError(
        absl::StrCat("Redis is a replica (ROLE: ", role.elements()[0].str(), "): writes fail"));
  }
  return absl::OkStatus();
}

// The value of `field` in an INFO reply ("field:value" lines), or "".
std::string InfoField(absl::string_view info, absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    if (absl::ConsumePrefix(&line, field) && absl::ConsumePrefix(&line, ":")) {
      return std::string(line);
    }
  }
  return "";
}

// OK unless `INFO memory` says Redis may drop keys segmentd relies on
// (maxmemory with a policy other than noeviction: evicted customers, keys
// and marks vanish without an error, and everything built on them is
// silently wrong; a reviewer lost a quarter of a tenant so while health
// said SERVING) or refuses every write (over maxmemory). An error reply (a
// user not allowed INFO) or a field missing says nothing.
absl::Status CheckMemory(const RedisReply& info) {
  if (!info.is_string()) return absl::OkStatus();
  int64_t maxmemory = 0, used = 0;
  if (!absl::SimpleAtoi(InfoField(info.str(), "maxmemory"), &maxmemory) || maxmemory <= 0) {
    return absl::OkStatus();
  }
  const std::string policy = InfoField(info.str(), "maxmemory_policy");
  if (!policy.empty() && policy != "noeviction") {
    return absl::FailedPreconditionError(absl::StrCat(
        "Redis may evict segmentd's keys (maxmemory ", maxmemory, ", maxmemory-policy ", policy,
        "): evicted data is lost without an error; set maxmemory-policy noeviction"));
  }
  if (absl::SimpleAtoi(InfoField(info.str(), "used_memory"), &used) && used > maxmemory) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Redis is full (used_memory ", used, " > maxmemory ", maxmemory, "): every write fails"));
  }
  return absl::OkStatus();
}

}  // namespace

StoreProbe::StoreProbe(store::redis::RedisClient* redis)
    : redis_(redis), candidate_(RandomMark()) {}

absl::Status StoreProbe::Probe() {
  absl::MutexLock probing(&probe_mu_);
  std::string known;
  {
    absl::MutexLock lock(&mu_);
    known = mark_;
  }
  std::vector<RedisCommand> commands = {{"ROLE"}, {"INFO", "memory"}};
  // Until this process knows the mark it offers one (SET NX); once it does,
  // whether any tenant is stored tells a lost store from a lost mark.
  if (known.empty()) commands.push_back({"SET", kStoreMarkKey, candidate_, "NX"});
  commands.push_back({"GET", kStoreMarkKey});
  if (!known.empty()) commands.push_back({"SCARD", kTenantsKey});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  // A replica is unusable whatever it holds (and refuses the SET).
  if (absl::Status role = CheckRole((*replies)[0]); !role.ok()) return role;
  for (size_t i = 2; i < replies->size(); ++i) {
    // ROLE and INFO may be refused to a user (ACL); the rest may not, or
    // the mark could never be checked.
    if ((*replies)[i].is_error()) return store::redis::RedisErrorToStatus((*replies)[i]);
  }
  const RedisReply& mark = (*replies)[known.empty() ? 3 : 2];

  absl::Status lost;
  if (known.empty()) {
    known = mark.is_string() ? mark.str() : std::string();
    if (known == candidate_) {
      LogInfo(absl::StrCat("Redis held no segmentd store mark: marked it as this store (",
                           kStoreMarkKey, " = ", known, ")"));
    }
  } else if (mark.is_nil() && replies->back().is_integer() && replies->back().integer() > 0) {
    // Tenants but no mark: the data outlived the mark (a Redis saving
    // snapshots only, restarted before one held the mark; a copy from
    // before marks existed). Not a loss: marked again, as this process
    // knows it.
    absl::StatusOr<store::redis::RedisReply> set =
        redis_->Command({"SET", kStoreMarkKey, known, "NX"});
    if (!set.ok()) return set.status();
    LogError(absl::StrCat("Redis holds tenants but lost the store mark ", kStoreMarkKey,
                          ": marked it again (", known, ")"));
  } else if (!mark.is_string() || mark.str() != known) {
    lost = absl::DataLossError(absl::StrCat(
        "Redis no longer holds this segmentd's data: its mark ", kStoreMarkKey, " (", known,
        ") is ", mark.is_string() ? absl::StrCat("now ", mark.str()) : std::string("gone"),
        ", as after a FLUSHALL, a restart without persistence or another Redis at the address. "
        "Calls fail until the data is restored; restarting segmentd adopts the store as it is"));
  }
  {
    absl::MutexLock lock(&mu_);
    mark_ = known;
    lost_ = lost;
  }
  if (!lost.ok()) return lost;
  return CheckMemory((*replies)[1]);
}

absl::Status StoreProbe::Lost() const {
  absl::MutexLock lock(&mu_);
  return lost_;
}

}  // namespace segmentd
