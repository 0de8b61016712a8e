#ifndef SEGMENTD_STORE_REDIS_MEMBER_COMMANDS_H_
#define SEGMENTD_STORE_REDIS_MEMBER_COMMANDS_H_

// Gathers the commands of a transaction that take any number of members for
// one key (SADD, SREM, ZADD, ZREM), one command per command name and key,
// so that a batch moving many customers into the same segments and index
// entries sends one SADD per segment, not one per customer. Inside MULTI,
// Redis's cost is mostly per command (parsing, the QUEUED reply, dispatch,
// the reply in EXEC's array), little per member (docs/benchmarks.md,
// eighteenth pass).
//
// Grouping moves a member's command past other keys' commands, and past
// other members' commands on the same key; that leaves the result as it
// would be only if no member comes twice for one key (each customer is
// written at most once in a batch). A value type; thread-compatible.

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "store/redis/redis_client.h"

namespace segmentd::store::redis {

class MemberCommands {
 public:
  // Appends `args` (a member; for ZADD a score, then a member) to the
  // `command` gathered for `key`.
  void Add(absl::string_view command, absl::string_view key,
           std::initializer_list<absl::string_view> args);

  // Moves the gathered commands to the end of `out`, in the order each
  // command and key first came; leaves this empty.
  void AppendTo(std::vector<RedisCommand>& out);

  bool empty() const { return commands_.empty(); }

 private:
  std::vector<RedisCommand> commands_;
  // (command, key) -> its index in commands_.
  absl::flat_hash_map<std::pair<std::string, std::string>, size_t> index_;
};

}  // namespace segmentd::store::redis

#endif  // SEGMENTD_STORE_REDIS_MEMBER_COMMANDS_H_
