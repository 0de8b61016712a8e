#include "server/store_probe.h"

#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
  // Until this process knows the mark it offers one; a replica refuses the
  // SET (READONLY), and the GET still reads a mark replicated to it.
  if (known.empty()) commands.push_back({"SET", kStoreMarkKey, candidate_, "NX"});
  commands.push_back({"GET", kStoreMarkKey});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  if (!replies.ok()) return replies.status();
  if (absl::Status role = CheckRole(replies->front()); !role.ok()) return role;
  const RedisReply& mark = replies->back();
  if (mark.is_error()) return store::redis::RedisErrorToStatus(mark);

  absl::Status lost;
  if (known.empty()) {
    if (mark.is_string()) known = mark.str();  // nil: a replica without one yet
  } else if (!mark.is_string() || mark.str() != known) {
    lost = absl::DataLossError(absl::StrCat(
        "Redis no longer holds this segmentd's data: its mark ", kStoreMarkKey, " (", known,
        ") is ", mark.is_string() ? absl::StrCat("now ", mark.str()) : std::string("gone"),
        ", as after a FLUSHALL, a restart without persistence or another Redis at the address. "
        "Tenant calls fail until the data is restored; restarting segmentd adopts the store "
        "as it is"));
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
