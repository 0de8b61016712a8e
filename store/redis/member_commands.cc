#include "store/redis/member_commands.h"

namespace segmentd::store::redis {

void MemberCommands::Add(absl::string_view command, absl::string_view key,
                         std::initializer_list<absl::string_view> args) {
  auto [at, added] =
      index_.try_emplace(std::make_pair(std::string(command), std::string(key)), commands_.size());
  if (added) commands_.push_back({std::string(command), std::string(key)});
  RedisCommand& gathered = commands_[at->second];
  for (absl::string_view arg : args) gathered.emplace_back(arg);
}

void MemberCommands::AppendTo(std::vector<RedisCommand>& out) {
  for (RedisCommand& command : commands_) out.push_back(std::move(command));
  commands_.clear();
  index_.clear();
}

}  // namespace segmentd::store::redis
