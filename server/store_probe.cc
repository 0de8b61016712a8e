#include "server/store_probe.h"

#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

}  // namespace

StoreProbe::StoreProbe(store::redis::RedisClient* redis)
    : redis_(redis), candidate_(RandomMark()) {}

absl::Status StoreProbe::Probe() {
  std::string known;
  {
    absl::MutexLock lock(&mu_);
    known = mark_;
  }
  std::vector<RedisCommand> commands = {{"ROLE"}};
  // Until this process knows the mark it offers one (SET NX); once it does,
  // whether any tenant is stored tells a lost store from a lost mark.
  if (known.empty()) commands.push_back({"SET", kStoreMarkKey, candidate_, "NX"});
  commands.push_back({"GET", kStoreMarkKey});
  if (!known.empty()) commands.push_back({"SCARD", kTenantsKey});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  // A replica is unusable whatever it holds (and refuses the SET).
  if (absl::Status role = CheckRole(replies->front()); !role.ok()) return role;
  for (const RedisReply& reply : *replies) {
    // ROLE may be refused to a user (ACL); the rest may not, or the mark
    // could never be checked.
    if (&reply != &replies->front() && reply.is_error()) {
      return store::redis::RedisErrorToStatus(reply);
    }
  }
  const RedisReply& mark = (*replies)[known.empty() ? 2 : 1];

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
  absl::MutexLock lock(&mu_);
  mark_ = known;
  lost_ = lost;
  return lost;
}

absl::Status StoreProbe::Lost() const {
  absl::MutexLock lock(&mu_);
  return lost_;
}

}  // namespace segmentd
